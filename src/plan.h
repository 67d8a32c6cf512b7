/*
 * The plan: what one run does to each volume of each policy, and why.
 *
 * Planning is a pure function of a policy, its zone, the inventory of its
 * volumes and "now": no I/O, no clock, no global state.  Every snapshot of
 * a planned volume appears in the plan exactly once (keep, delete or
 * warn), next to at most one create or skip, so a reader sees everything
 * the run looked at.  Actions are compact records; the strings they show
 * (ids, names) belong to the policy and the inventory, and reasons are
 * formatted on demand, so a plan costs a few dozen bytes per snapshot.
 *
 * A volume gets a create unless a snapshot of the policy is pending, or
 * one (completed or recovering) already has today's day: the
 * ec2backup:date tag, else the start time's day in the policy's zone.
 *
 * The rules, in order of precedence for each snapshot of a volume:
 *  - not owned by the policy (tag ec2backup:policy; with adopt, untagged
 *    snapshots too, unless another policy adopts the volume as well):
 *    keep, never counted;
 *  - state error or unknown: warn, never deleted;
 *  - ec2backup:protect tag, or used by an AMI: keep, never counted;
 *  - pending and completed snapshots are the retention candidates, with
 *    today's new snapshot, ranked newest first by (day, start, id):
 *    keep = N keeps the newest N, retain
 *    keeps the newest of each of the last daily/weekly/monthly/yearly
 *    periods; the newest completed is never deleted; other completed
 *    candidates are deleted;
 *  - recoverable and recovering snapshots: keep, never counted.
 * Safety holds deletions back ("held"): a volume that no longer exists,
 * whose existence could not be checked, or whose listing is incomplete
 * deletes nothing (and creates nothing), and a policy whose
 * deletions exceed max_deletes deletes nothing; each case adds one warn.
 */
#ifndef EC2BACKUP_PLAN_H
#define EC2BACKUP_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inventory.h"
#include "policy.h"
#include "tz.h"

#define PLAN_REASON_MAX 256        /* bytes of a formatted reason */
#define PLAN_DESCRIPTION_MAX 256   /* EC2 allows 255 bytes */
#define PLAN_TAGS_MAX 50           /* EC2's limit of tags a resource */

struct plan;

/* One volume of a policy, as the run found it. */
struct plan_input {
	const struct inv_volume *volume; /* never NULL; a volume EC2 no
					    longer has is one with exists
					    false */
	int keep;                  /* the volume's keep; 0: the policy's */
	const char *description;   /* snapshot Description, or NULL */
	const char *shared_adopt;  /* the name of another policy that covers
				      the volume with adopt on, or NULL;
				      with adopt on here too, untagged
				      snapshots belong to neither */
	/* The hooks around its snapshot's creation (those with neither
	 * hook set are none), or NULL. */
	const struct policy_freeze *freeze;
	/* An instance (volume->kind INV_INSTANCE): what its sets leave
	 * out. */
	bool exclude_boot;
	const char (*exclude)[POLICY_VOLUME_ID_MAX + 1];
	size_t nexclude;
};

/* In the order actions of a volume are listed. */
enum plan_kind {
	PLAN_CREATE,
	PLAN_SKIP,
	PLAN_KEEP,
	PLAN_DELETE,
	PLAN_WARN
};

struct plan_action {
	const char *policy;        /* the policy's name */
	const char *volume;        /* the volume or instance; NULL on a
				      policy-wide warning */
	bool instance;             /* volume is an instance, and snapshot
				      a set */
	const char *snapshot;      /* NULL on create, skip and volume or
				      policy warnings */
	enum plan_kind kind;
	int32_t date;              /* local day, days since 1970-01-01; for
				      lines without a snapshot, today */
	int64_t start;             /* the snapshot's start, else the plan's
				      now */
	enum inv_state state;      /* meaningful only with a snapshot */
	bool needs_create;         /* a delete that must wait for the
				      create at create_index to succeed */
	size_t create_index;
	const struct policy_freeze *freeze; /* a create's hooks, or NULL */
	enum policy_pre_failure pre_failure;
	long hook_timeout_ms;      /* the policy's hook_timeout */
	bool copy_volume_tags;     /* the policy's */
	const char *held;          /* for a deletion held back (a keep):
				      why, as a metric label ("gone",
				      "unchecked", "incomplete",
				      "max_deletes", "create_only"); else
				      NULL */
};

struct plan_summary {
	size_t create, skip, keep, delete, warn;
};

/* A tag the executor writes on a new snapshot. */
struct plan_tag {
	const char *key;
	const char *value;
};

/* What a run may do: both (the default), or one of them, for split
 * schedules and for catching up. */
enum plan_mode {
	PLAN_MODE_ALL,
	PLAN_MODE_CREATE_ONLY,     /* deletions are held */
	PLAN_MODE_PRUNE_ONLY       /* no creates; deletions as if none */
};

/*
 * Starts an empty plan for a run at now (UTC seconds).  Returns NULL when
 * out of memory.  The caller frees the plan with plan_free.
 */
struct plan *plan_new(int64_t now);

/*
 * Plans the volumes of policy, with days in zone.  Actions come in the
 * order policies were added, then by volume id, kind, date (newest first)
 * and snapshot id; a policy-wide warning ends its policy.  Deletions that
 * max_deletes or a volume's state hold back are keeps whose reason starts
 * with "held".  The plan keeps pointers into policy, the inventory
 * volumes and their snapshots, and the inputs' descriptions: they must
 * outlive it; zone and the vols array itself need not.  Returns 0, or -1
 * with errno EINVAL (a volume listed twice, keep or retain out of
 * bounds, a NULL volume) or ENOMEM, leaving the plan as it was.
 */
int plan_add_policy(struct plan *plan, const struct policy *policy,
    const struct tz *zone, const struct plan_input *vols, size_t nvols);

/* Sets what the plan may do; call it before plan_add_policy. */
void plan_set_mode(struct plan *plan, enum plan_mode mode);

/* Frees plan; NULL is allowed. */
void plan_free(struct plan *plan);

int64_t plan_now(const struct plan *plan);

size_t plan_nactions(const struct plan *plan);

/* Fills out with action i (< plan_nactions); strings as documented. */
void plan_action_get(const struct plan *plan, size_t i,
    struct plan_action *out);

/*
 * Writes the reason of action i for people ("keep #2, daily #2") into
 * buf, truncated to len bytes; returns the untruncated length.
 */
size_t plan_action_reason(const struct plan *plan, size_t i, char *buf,
    size_t len);

/*
 * True when s belongs to policy: tagged ec2backup:policy with its name,
 * or, with adopt, not tagged for any policy — unless shared, when another
 * policy adopts the same volume.  The one rule of ownership, for every
 * command that shows or acts on it.
 */
bool plan_owns(const struct policy *policy, const struct inv_snapshot *s,
    bool shared);

/* The day of s in zone: its ec2backup:date tag, else the local day of its
 * start.  Snapshots rank by this day, then start, then id, newest first. */
int32_t plan_snapshot_day(const struct tz *zone, const struct inv_snapshot *s);

/* For a warning, what a person should do about it (static text);
 * NULL for other actions. */
const char *plan_action_advice(const struct plan *plan, size_t i);

/* The word for a kind: "create", "skip", "keep", "delete", "warn". */
const char *plan_kind_name(enum plan_kind kind);

void plan_summary(const struct plan *plan, struct plan_summary *out);

/*
 * Writes the tags for create action i into out (at most max, which
 * PLAN_TAGS_MAX always fits) and returns their number, 0 when i is not a
 * create: ec2backup:policy, ec2backup:date, Name (from snapshot_tags,
 * else the volume's when copy_tags names it, else "ec2backup POLICY
 * DATE"), the volume's tags that copy_tags names, then snapshot_tags
 * (which win over copied ones).  For an instance: ec2backup:instance and
 * ec2backup:set-size as well, and no Name when copy_volume_tags copies
 * the volumes' own.  The strings belong to the plan, the policy and the
 * inventory.
 */
size_t plan_create_tags(const struct plan *plan, size_t i,
    struct plan_tag *out, size_t max);

/* The same for a snapshot of volume that policy would create, whatever
 * this plan does with it (for trying the permission); 0 when the plan
 * has no such volume. */
size_t plan_volume_tags(const struct plan *plan, const char *policy,
    const char *volume, struct plan_tag *out, size_t max);

/*
 * The snapshots delete action i deletes: one for a volume, every snapshot
 * of the set for an instance.  Stores up to max ids in out and returns
 * how many there are; 0 for other actions.
 */
size_t plan_action_members(const struct plan *plan, size_t i,
    const char **out, size_t max);

/*
 * For create action i of an instance: the volumes its set will hold (the
 * attached ones that are not left out), stored in out (at most max), and
 * their number returned; 0 for other actions.  *exclude_boot and the
 * data volumes to name in ExcludeDataVolumeId (those left out that are
 * attached now; at most POLICY_EXCLUDE_MAX) are stored too.
 */
size_t plan_create_members(const struct plan *plan, size_t i,
    const struct inv_attachment **out, size_t max, bool *exclude_boot,
    const char **exclude, size_t *nexclude);

/*
 * Writes the Description for create action i into buf (the input's, else
 * "ec2backup POLICY VOLUME DATE"), truncated to len bytes at a character
 * boundary; returns -1 when i is not a create.
 */
int plan_create_description(const struct plan *plan, size_t i, char *buf,
    size_t len);

#endif

/*
 * The EC2 actions ec2backup needs, batched and run concurrently.
 *
 * Each function here queues the calls one step needs (say, listing the
 * snapshots of 10,000 volumes: 50 batches of 200 volumes, each paginated),
 * runs them up to `jobs` at a time, and returns when all have ended.
 * Underneath, every attempt is signed afresh, waits for a token from the
 * client-side bucket of its EC2 throttling category, and is retried when
 * the error code in the body (never the HTTP status alone) says a retry
 * can help.  Credentials come from a callback, so this module does not
 * know where they were found.
 *
 * Failures that concern one item (a volume's listing, one snapshot's
 * delete) are recorded on that item and the rest go on.  Failures that
 * make every further call pointless — credentials refused, EC2 not
 * reachable at all — make the module "fatal": later calls fail at once,
 * and ec2_fatal says why, so the run can stop before changing anything.
 */
#ifndef EC2BACKUP_EC2_H
#define EC2BACKUP_EC2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inventory.h"
#include "sigv4.h"

#define EC2_API_VERSION "2016-11-15"
/* Values per filter in one request: small enough for EC2's limits on
 * request size, large enough that a run makes few calls. */
#define EC2_BATCH 200

enum ec2_action {
	EC2_DESCRIBE_VOLUMES,
	EC2_DESCRIBE_SNAPSHOTS,
	EC2_DESCRIBE_IMAGES,
	EC2_CREATE_SNAPSHOT,
	EC2_DELETE_SNAPSHOT,
	EC2_DESCRIBE_INSTANCES,
	EC2_CREATE_SNAPSHOTS,
	EC2_NACTIONS
};

/* The action's name as EC2 spells it ("DescribeSnapshots"). */
const char *ec2_action_name(enum ec2_action action);

/*
 * Gives the credentials to sign with at time now (epoch seconds),
 * refreshing them first if they are about to expire.  The strings stay
 * valid until the next call.  Returns 0, or -1 with a reason in err.
 */
typedef int (*ec2_credentials_fn)(void *arg, int64_t now,
    struct sigv4_credentials *out, char *err, size_t errlen);

struct ec2_config {
	const char *endpoint;        /* "https://ec2.eu-west-1.amazonaws.com" */
	const char *region;          /* signing region */
	ec2_credentials_fn credentials;
	void *credentials_arg;
	const char *credentials_source; /* named in auth errors */
	const char *ca_bundle;       /* or NULL */
	int jobs;                    /* requests in flight; 0: 8 */
	long timeout_ms;             /* per attempt; 0: 60 s */
	int64_t deadline_ms;         /* whole run, monotonic; 0: none */
	int64_t lookup_ms;           /* how long to look for a snapshot whose
					CreateSnapshot answer was lost; 0:
					30 s */
	int max_attempts;            /* per call for transient errors; 0: 5 */
	double rate_scale;           /* multiplies the buckets' refill rate
					(accounts with raised limits); 0: 1 */
};

/* What an item's last call ended with. */
struct ec2_error {
	char code[128];              /* EC2's code, or our word for a
					transport or parse failure */
	char message[512];
	char request_id[128];
};

/* Writes "CODE: message (request ID)" for a log line; returns buf. */
const char *ec2_error_text(const struct ec2_error *e, char *buf,
    size_t len);

struct ec2_stats {
	unsigned long calls[EC2_NACTIONS];   /* attempts sent */
	unsigned long retries;
	unsigned long throttled;             /* RequestLimitExceeded seen */
	unsigned long long bytes;            /* response bytes parsed */
};

struct ec2;

/*
 * Returns a client, or NULL with a reason in err.  The configuration's
 * strings are copied.  The caller frees it with ec2_free.
 */
struct ec2 *ec2_new(const struct ec2_config *cfg, char *err, size_t errlen);

void ec2_free(struct ec2 *ec2);

/* NULL, or why nothing more can be done (credentials refused, ...). */
const char *ec2_fatal(const struct ec2 *ec2);

const struct ec2_stats *ec2_stats(const struct ec2 *ec2);

/*
 * Marks the inventory volumes named by ids that EC2 still has
 * (inv_volume.exists); the volumes are added to inv if missing.  Returns
 * 0 when every batch was answered, -1 when some were not (those volumes
 * keep exists false and complete false, and the reason was logged).
 */
int ec2_check_volumes(struct ec2 *ec2, struct inventory *inv,
    const char *const *ids, size_t n);

/*
 * Adds to inv every volume that carries all the given tags (and is not
 * deleted), marked as existing.  When out is not NULL, stores there a
 * malloc'd array of the found volumes (the caller frees the array only)
 * and its length in *nout.  Returns 0, or -1 when the listing failed.
 */
struct ec2_tag {
	const char *key;
	const char *value;
};

int ec2_select_volumes(struct ec2 *ec2, struct inventory *inv,
    const struct ec2_tag *tags, size_t ntags, struct inv_volume ***out,
    size_t *nout);

/*
 * Instances, as ec2_check_volumes and ec2_select_volumes do volumes: each
 * becomes an inventory entry of kind INV_INSTANCE with its state, root
 * volume and attached EBS volumes; one that is shutting down or
 * terminated does not exist.
 */
int ec2_check_instances(struct ec2 *ec2, struct inventory *inv,
    const char *const *ids, size_t n);

int ec2_select_instances(struct ec2 *ec2, struct inventory *inv,
    const struct ec2_tag *tags, size_t ntags, struct inv_volume ***out,
    size_t *nout);

/*
 * Lists the snapshots (Owner=self) tagged ec2backup:instance with each of
 * the given instances into them, and groups them into sets; as
 * ec2_list_snapshots otherwise.
 */
int ec2_list_instance_snapshots(struct ec2 *ec2, struct inventory *inv,
    struct inv_volume *const *instances, size_t n);

/*
 * Lists the snapshots (Owner=self) of the given inventory volumes into
 * them.  A volume whose pages were all read is marked complete; a volume
 * whose listing failed stays incomplete, its error logged.  Returns 0
 * when all were complete, -1 otherwise.
 */
int ec2_list_snapshots(struct ec2 *ec2, struct inventory *inv,
    struct inv_volume *const *vols, size_t n);

/*
 * Finds the AMIs (Owner=self) that use any of the given snapshots and
 * records one on each such snapshot (inv_snapshot.ami).  Returns 0, or -1
 * when the answer is incomplete: the caller must then not delete any of
 * them.
 */
int ec2_find_images(struct ec2 *ec2, struct inventory *inv,
    struct inv_snapshot *const *snaps, size_t n);

/*
 * Calls fn(arg, index) when create index of ec2_apply has its answer from
 * EC2 (or has failed without one), before any lookup for a lost answer:
 * the moment a snapshot's point in time is fixed, so a freeze may end.
 * fn runs inside the client's loop: it should not take long.  NULL turns
 * it off.
 */
void ec2_set_answered(struct ec2 *ec2, void (*fn)(void *arg, size_t index),
    void *arg);

/* Calls fn(arg, EC2_CREATE_SNAPSHOT or EC2_DELETE_SNAPSHOT, index) as
 * soon as a create or delete of ec2_apply has ended, its results filled
 * in (index into the arrays given to ec2_apply); fn NULL turns it off.
 * Creates of sets are reported as EC2_CREATE_SNAPSHOT too. */
void ec2_set_progress(struct ec2 *ec2, void (*fn)(void *arg,
    enum ec2_action action, size_t index), void *arg);

/* A snapshot of a set made by CreateSnapshots. */
struct ec2_set_member {
	char snapshot[INV_ID_MAX + 1];
	char volume[INV_ID_MAX + 1];
};

/* One CreateSnapshot, or with instance set one CreateSnapshots; filled in
 * by ec2_create_snapshots. */
struct ec2_create {
	const char *volume;          /* NULL for an instance */
	const char *instance;
	bool exclude_boot;           /* instance: ExcludeBootVolume */
	const char *const *exclude;  /* instance: ExcludeDataVolumeId.N */
	size_t nexclude;
	bool copy_volume_tags;       /* instance: CopyTagsFromSource=volume */
	const char *set_tag;         /* instance: its ec2backup:set value,
					which the lookup looks for */
	size_t set_size;             /* instance: the snapshots expected */
	struct ec2_set_member *members; /* instance: room for the results */
	size_t members_max;
	const char *description;
	const struct ec2_tag *tags;  /* written at creation, atomically */
	size_t ntags;
	/* Two of the tags that identify this snapshot, used to look for it
	 * after an ambiguous failure before trying again. */
	const char *owner_tag;       /* ec2backup:policy value */
	const char *date_tag;        /* ec2backup:date value */

	/* Results. */
	bool ok;
	bool found_by_lookup;        /* it was created by an attempt whose
					answer was lost */
	bool ambiguous;              /* failed after an answer was lost: it
					may yet appear */
	char snapshot[INV_ID_MAX + 1]; /* a volume's; an instance's first */
	size_t nmembers;             /* instance: the snapshots made (some
					may not fit in members) */
	int64_t answered_ms;         /* monotonic time of EC2's answer (or of
					the failure), before any lookup */
	struct ec2_error error;
};

/* A permission tried with DryRun=true: EC2 answers DryRunOperation when
 * the request would have been allowed, UnauthorizedOperation when not. */
enum ec2_permission {
	EC2_ALLOWED,
	EC2_DENIED,
	EC2_UNKNOWN               /* another answer: see error */
};

struct ec2_probe {
	enum ec2_action action;      /* CreateSnapshot(s), DeleteSnapshot, or
					a describe */
	const char *resource;        /* the volume, instance or snapshot, or
					NULL */
	const struct ec2_tag *tags;  /* CreateSnapshot: its tags */
	size_t ntags;
	/* Results. */
	enum ec2_permission result;
	struct ec2_error error;
};

/* Sends each probe as its action with DryRun=true, concurrently, and
 * records what EC2 answered.  Nothing is changed. */
void ec2_probe(struct ec2 *ec2, struct ec2_probe *probes, size_t n);

/*
 * How far this machine's clock is from EC2's, from the Date header of the
 * last answer (local minus EC2's, in seconds).  Returns 0, or -1 when no
 * answer carried a date yet.
 */
int ec2_clock_skew(const struct ec2 *ec2, int64_t *skew);

/* Runs the creates concurrently.  Returns how many failed. */
size_t ec2_create_snapshots(struct ec2 *ec2, struct ec2_create *creates,
    size_t n);

/* One DeleteSnapshot; filled in by ec2_delete_snapshots. */
struct ec2_delete {
	const char *snapshot;
	size_t after;                /* 1 + the index of the create it waits
					for (ec2_apply); 0: none */
	bool ok;                     /* deleted, or already gone */
	bool held;                   /* not tried: its create failed */
	bool gone;                   /* InvalidSnapshot.NotFound */
	bool in_use;                 /* InvalidSnapshot.InUse: an AMI uses it */
	struct ec2_error error;
};

/* Runs the deletes concurrently.  Returns how many failed (in_use
 * included). */
size_t ec2_delete_snapshots(struct ec2 *ec2, struct ec2_delete *deletes,
    size_t n);

/*
 * Runs creates and deletes together: CreateSnapshot and DeleteSnapshot
 * have separate EC2 buckets, so neither waits for the other, except that
 * a delete with `after` set starts only once that create has succeeded,
 * and is held (not tried) when it failed.  Returns how many of either
 * did not succeed (held and in_use included).
 */
size_t ec2_apply(struct ec2 *ec2, struct ec2_create *creates,
    size_t ncreates, struct ec2_delete *deletes, size_t ndeletes);

#endif

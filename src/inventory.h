/*
 * The inventory: what EC2 said about the volumes of a run and their
 * snapshots, in compact form.
 *
 * It is filled once by the describe calls and read-only afterwards.  A run
 * may list a million snapshots, so a snapshot keeps only what planning and
 * `list` need: fixed-size ids, times as integers, and the few tags the tool
 * acts on; repeated strings (policy names) are interned in the inventory's
 * string pool, so memory follows what is kept, not the bytes read.
 */
#ifndef EC2BACKUP_INVENTORY_H
#define EC2BACKUP_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The tags ec2backup writes on the snapshots it creates and reads back:
 * which policy owns one, the day it stands for, and "never delete". */
#define INV_TAG_OWNER "ec2backup:policy"
#define INV_TAG_DATE "ec2backup:date"
#define INV_TAG_PROTECT "ec2backup:protect"
/* On the snapshots of an instance set: the instance, the set (an id the
 * run makes up, shared by the set's snapshots) and how many snapshots the
 * set has; and, on a snapshot taken although its pre_snapshot hook
 * failed, "crash" (not quiesced). */
#define INV_TAG_INSTANCE "ec2backup:instance"
#define INV_TAG_SET "ec2backup:set"
#define INV_TAG_SET_SIZE "ec2backup:set-size"
#define INV_TAG_CONSISTENCY "ec2backup:consistency"
#define INV_SET_SIZE_MAX 64        /* EC2 attaches at most 40 volumes */

#define INV_ID_MAX 23              /* "snap-" + 17 hex is 22; room for NUL */
#define INV_NO_DATE INT32_MIN      /* no valid ec2backup:date tag */

enum inv_state {
	INV_PENDING,
	INV_COMPLETED,
	INV_ERROR,
	INV_RECOVERABLE,
	INV_RECOVERING,
	INV_UNKNOWN                /* a state this version does not know */
};

enum {
	INV_PROTECTED = 1 << 0,    /* carries the ec2backup:protect tag */
	INV_AMI_CHECKED = 1 << 1,  /* DescribeImages was asked about it */
	INV_AMI_UNKNOWN = 1 << 2,  /* ...and could not answer */
	INV_SET_BROKEN = 1 << 3    /* a set whose snapshots do not make a
				      whole: some missing, or their tags
				      or start times disagree */
};

struct inv_snapshot {
	char id[INV_ID_MAX + 1];
	int64_t start;             /* UTC seconds since the epoch */
	const char *owner;         /* ec2backup:policy value, or NULL */
	const char *description;   /* or NULL; not needed to plan */
	const char *ami;           /* an AMI that uses it, or NULL */
	int32_t date;              /* ec2backup:date as days since 1970-01-01,
				      or INV_NO_DATE */
	uint8_t state;             /* enum inv_state */
	uint8_t flags;             /* INV_PROTECTED */
};

/* A tag of a volume; both strings belong to the inventory. */
struct inv_tag {
	const char *key;
	const char *value;
};

/* A volume attached to an instance. */
struct inv_attachment {
	char volume[INV_ID_MAX + 1];
	const char *device;        /* "/dev/sdf"; belongs to the inventory */
};

/* What a snapshot of an instance set says about its set (its tags). */
struct inv_member {
	char volume[INV_ID_MAX + 1];
	char set[INV_ID_MAX + 1];  /* ec2backup:set, or "" */
	uint16_t size;             /* ec2backup:set-size, or 0 when missing
				      or not a number of 1 to
				      INV_SET_SIZE_MAX */
};

/* A set: its snapshots are members[order[first]] to
 * members[order[first + n - 1]]. */
struct inv_set {
	size_t first, n;
};

/* What a run backs up as one: a volume, or an instance whose volumes are
 * snapshotted together. */
enum inv_kind {
	INV_VOLUME,
	INV_INSTANCE
};

/*
 * A volume, or an instance.  For an instance, snapshots holds the
 * snapshots of its sets as listed (each with its member entry), and sets
 * one record per set, built by inventory_build_sets: the set's id, its
 * snapshots' common start, owner, day and state, and every flag of any of
 * them; these are what retention plans.
 */
struct inv_volume {
	char id[INV_ID_MAX + 1];
	enum inv_kind kind;
	bool exists;               /* EC2 still has the volume */
	bool unchecked;            /* whether EC2 still has it could not be
				      found out (exists is then false) */
	bool complete;             /* every page of its snapshots was read */
	bool conflict;             /* one of its snapshots was listed twice
				      with different details */
	size_t index;              /* position in the inventory */
	struct inv_tag *tags;      /* those inventory_keep_tags asked for */
	size_t ntags;
	struct inv_snapshot *snapshots;
	size_t nsnapshots;

	/* Instances only. */
	const char *state;         /* EC2's word ("running"), or NULL */
	char root[INV_ID_MAX + 1]; /* the root volume, or "" */
	struct inv_attachment *attached; /* EBS volumes attached now */
	size_t nattached;
	struct inv_member *members;/* parallel to snapshots */
	uint32_t *member_slots;    /* snapshot ids: open addressing, index
				      + 1, 0 = empty */
	size_t nmember_slots;
	struct inv_snapshot *sets; /* one per set, by inventory_build_sets */
	struct inv_set *set_members; /* parallel to sets */
	size_t nsets;
	size_t *order;             /* member indexes, grouped by set */
	size_t norder;
};

/*
 * The container: volumes in the order added, each with its snapshots.
 * Strings the snapshots point at (owner names, descriptions, AMI ids)
 * belong to the inventory and live until inventory_free.
 */
struct inventory;

/* Returns an empty inventory, or NULL when out of memory.  With
 * keep_descriptions false, snapshot descriptions are not stored (planning
 * does not need them; listing does). */
struct inventory *inventory_new(bool keep_descriptions);

void inventory_free(struct inventory *inv);

/* Adds a volume (exists and complete start false) or finds the one with
 * that id; returns it, or NULL when out of memory or id is too long.  The
 * pointer stays valid until inventory_free. */
struct inv_volume *inventory_volume(struct inventory *inv, const char *id);

/* The volume with that id, or NULL. */
struct inv_volume *inventory_find(const struct inventory *inv,
    const char *id);

size_t inventory_nvolumes(const struct inventory *inv);

/* Keeps, of the volume tags later given to inventory_volume_tag, those
 * with one of these keys (copied); the others are dropped.  Returns 0, or
 * -1 when out of memory. */
int inventory_keep_tags(struct inventory *inv, const char *const *keys,
    size_t n);

/* Records a tag of vol if its key is one inventory_keep_tags named
 * (replacing an earlier value).  Returns 0, or -1 when out of memory. */
int inventory_volume_tag(struct inventory *inv, struct inv_volume *vol,
    const char *key, const char *value);

/* The i-th volume added. */
struct inv_volume *inventory_volume_at(const struct inventory *inv,
    size_t i);

/* What inventory_add_snapshot did with a snapshot. */
enum inv_added {
	INV_ADDED,                 /* stored */
	INV_REPEATED,              /* its id was stored already, with the same
				      details: not stored again */
	INV_CONFLICT,              /* its id was stored already with other
				      details (volume, state, start, tags):
				      not stored; both volumes are marked
				      conflict */
	INV_NOMEM
};

/*
 * Adds a copy of snap to vol unless a snapshot with its id is in the
 * inventory already (one entry per id, whichever volume it is under),
 * copying description into the inventory (and interning owner and ami,
 * which may be NULL).  When out is not NULL, stores there the stored
 * snapshot, or on a repeat or conflict the copy stored first.
 */
enum inv_added inventory_add_snapshot(struct inventory *inv,
    struct inv_volume *vol, const struct inv_snapshot *snap,
    const char *owner, const char *description, struct inv_snapshot **out);

/*
 * For an instance: adds snap and what its tags say about its set, unless
 * a snapshot with its id is stored under the instance already (the same:
 * INV_REPEATED; other details: INV_CONFLICT, and the instance is marked
 * conflict).  The snapshots of an instance are its own: the same snapshot
 * may be stored under its volume too.  Use inventory_truncate to drop
 * the last ones.
 */
enum inv_added inventory_add_member(struct inventory *inv,
    struct inv_volume *instance, const struct inv_snapshot *snap,
    const char *owner, const char *description,
    const struct inv_member *member, struct inv_snapshot **out);

/* Records an EBS volume attached to an instance (device may be NULL);
 * root marks it as the root volume.  Returns 0, or -1 when out of
 * memory. */
int inventory_attach(struct inventory *inv, struct inv_volume *instance,
    const char *volume, const char *device, bool root);

/*
 * Groups an instance's snapshots into sets (again, after anything about
 * them changed, such as the AMIs that use them: with no snapshot added
 * or removed, the sets are updated in place, so a plan made on them stays
 * valid).  A set is broken
 * (INV_SET_BROKEN) when it has no set tag, when its number of snapshots
 * is not its set-size tag, or when its snapshots disagree on owner, day,
 * start time or set size.  Returns 0, or -1 when out of memory.
 */
int inventory_build_sets(struct inventory *inv, struct inv_volume *instance);

/*
 * What retention plans for v: its snapshots for a volume, its sets for an
 * instance.  Stores their number in *n.
 */
const struct inv_snapshot *inventory_backups(const struct inv_volume *v,
    size_t *n);

/* For backup i of inventory_backups(v), the snapshot of member k (k below
 * the set's n), and in *member what its tags say; for a volume, i itself
 * (k 0, member NULL). */
const struct inv_snapshot *inventory_set_member(const struct inv_volume *v,
    size_t i, size_t k, const struct inv_member **member);

/* How many snapshots backup i of v stands for (1 for a volume). */
size_t inventory_set_size(const struct inv_volume *v, size_t i);

/* Removes the snapshots of vol from index n on (a page read again); their
 * ids may then be added again. */
void inventory_truncate(struct inventory *inv, struct inv_volume *vol,
    size_t n);

/* The snapshot with that id, or NULL; stores the volume it is under in
 * *vol when vol is not NULL.  Valid until the next change. */
struct inv_snapshot *inventory_snapshot(const struct inventory *inv,
    const char *id, struct inv_volume **vol);

/* Returns a copy of s owned by the inventory, shared with equal strings
 * interned before; NULL when out of memory. */
const char *inventory_intern(struct inventory *inv, const char *s);

/* Bytes the inventory holds, for benchmarks. */
size_t inventory_bytes(const struct inventory *inv);

/* Parses a state word as EC2 spells it; unknown words give INV_UNKNOWN. */
enum inv_state inv_state_parse(const char *s);

/* The word for a state, as EC2 spells it. */
const char *inv_state_name(enum inv_state state);

/*
 * Parses "YYYY-MM-DD" (a real calendar date, exactly ten characters) to
 * days since 1970-01-01; returns INV_NO_DATE when s is not such a date.
 */
int32_t inv_parse_date(const char *s);

/*
 * Parses an EC2 timestamp ("2019-02-28T21:28:32.000Z", fraction optional,
 * UTC "Z" required) to seconds since the epoch; returns -1 and leaves *out
 * unchanged when s is not one.
 */
int inv_parse_time(const char *s, int64_t *out);

#endif

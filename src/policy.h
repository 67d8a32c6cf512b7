/*
 * Policy files: libconfig text -> validated struct policy.
 *
 * A policy says which volumes to back up and how many snapshots of each to
 * keep.  Loading validates everything it can offline and reports each
 * problem as FILE:LINE: error: MESSAGE, then keeps going, so one `check`
 * run lists every problem.  Nothing here knows about AWS types or the
 * network; later stages read the struct and never change it.
 */
#ifndef EC2BACKUP_POLICY_H
#define EC2BACKUP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define POLICY_NAME_MAX 64
#define POLICY_KEEP_MIN 1
#define POLICY_KEEP_MAX 1000
#define POLICY_RETAIN_MAX 1000
#define POLICY_TAG_KEY_MAX 128
#define POLICY_TAG_VALUE_MAX 256
#define POLICY_VOLUME_ID_MAX 21 /* "vol-" + 17 hex digits */
#define POLICY_INSTANCE_ID_MAX 19 /* "i-" + 17 hex digits */
#define POLICY_EXCLUDE_MAX 40   /* EC2's ExcludeDataVolumeId.N limit */
#define POLICY_DEFAULT_DIR "/etc/ec2backup/policies"
#define POLICY_DURATION_MAX (366L * 86400)
#define POLICY_MONITOR_WARN (28L * 3600)   /* sanoid's daily defaults */
#define POLICY_MONITOR_CRIT (32L * 3600)
#define POLICY_HOOK_TIMEOUT 60
#define POLICY_HOOK_TIMEOUT_MAX 3600


struct policy_tag {
	char *key;
	char *value;
	int line;
};

/* What runs around a snapshot's creation to make it consistent: the pre
 * hook just before the create call (to freeze or flush), the post hook
 * just after EC2 answers (to thaw).  argv lists, NULL-terminated; NULL
 * when not set. */
struct policy_freeze {
	char **pre;
	char **post;
};

/* When the pre hook fails: no snapshot (the default), or one anyway,
 * marked as not quiesced. */
enum policy_pre_failure {
	POLICY_PRE_SKIP,
	POLICY_PRE_SNAPSHOT
};

struct policy_volume {
	char id[POLICY_VOLUME_ID_MAX + 1];
	char *description; /* NULL when not set */
	int keep;          /* the volume's own keep, or the policy's */
	int line;
	struct policy_freeze freeze; /* its own hooks; else the policy's */
};

/* An instance whose volumes are snapshotted together, as one set. */
struct policy_instance {
	char id[POLICY_INSTANCE_ID_MAX + 1];
	char *description; /* NULL when not set */
	int keep;          /* the instance's own keep, or the policy's */
	int line;
	bool exclude_boot; /* its own, or the policy's */
	/* Data volumes left out: the policy's, then the instance's own. */
	char (*exclude)[POLICY_VOLUME_ID_MAX + 1];
	size_t nexclude;
	struct policy_freeze freeze;
};

/* What a policy backs up: volumes one by one, or instances, each as a set
 * of snapshots taken at one instant (CreateSnapshots). */
enum policy_resource {
	POLICY_VOLUMES,
	POLICY_INSTANCES
};

/* Calendar retention on top of keep; 0 means the rule is off. */
struct policy_retain {
	int daily;
	int weekly;
	int monthly;
	int yearly;
};

struct policy {
	char *name;
	char *file;        /* path as given on the command line */
	char *region;      /* NULL when not set */
	char *timezone;    /* IANA name, "UTC" by default */
	int keep;
	struct policy_retain retain;
	bool adopt;
	long max_deletes;  /* -1 when not set */

	enum policy_resource resource;
	struct policy_volume *volumes;
	size_t nvolumes;
	struct policy_instance *instances;
	size_t ninstances;
	/* Selection by tags: volumes, or instances with resource
	 * POLICY_INSTANCES; a resource matches when it has all. */
	struct policy_tag *select_tags;
	size_t nselect_tags;
	/* Instance policies: the root volume left out, and data volumes
	 * left out of every instance (each instance adds its own). */
	bool exclude_boot;
	char (*exclude)[POLICY_VOLUME_ID_MAX + 1];
	size_t nexclude;
	bool copy_volume_tags; /* instance policies: CopyTagsFromSource */
	struct policy_tag *snapshot_tags;
	size_t nsnapshot_tags;
	char **copy_tags;  /* volume tag keys written on new snapshots */
	size_t ncopy_tags;
	/* monitor: how old the newest snapshot may be, in seconds; 0: not
	 * checked. */
	struct {
		long warn, crit;
	} monitor;
	char **on_success; /* argv, NULL-terminated; NULL when not set */
	char **on_failure;
	struct policy_freeze freeze; /* for volumes and instances without
					their own */
	enum policy_pre_failure pre_failure;
	int hook_timeout;  /* seconds, for every hook of the policy */
};

/* Every policy of one run, in command-line order (directories sorted). */
struct policy_set {
	struct policy **policies;
	size_t npolicies;
	size_t nfiles;     /* policy files found, valid or not */
	size_t nerrors;    /* problems reported while loading */
	size_t nwarnings;
};

/*
 * Loads every policy named by paths (files, or directories meaning every
 * *.cfg in them, sorted); with npaths == 0, POLICY_DEFAULT_DIR.  Each
 * problem is written to diag as one FILE:LINE line and counted in the set.
 * Files with errors are left out of set->policies.  The caller frees the
 * returned set with policy_set_free; it returns NULL only when out of
 * memory.
 */
struct policy_set *policy_load_all(char *const *paths, size_t npaths,
    FILE *diag);

void policy_set_free(struct policy_set *set);

/* Total number of volumes listed by id across the set. */
size_t policy_set_nvolumes(const struct policy_set *set);

/* True when s is a well-formed EBS volume id (vol- and 8 or 17 hex). */
bool policy_valid_volume_id(const char *s);

/* True when s is a well-formed instance id (i- and 8 or 17 hex). */
bool policy_valid_instance_id(const char *s);

/* True when s is a valid policy name ([A-Za-z0-9_.-]{1,64}). */
bool policy_valid_name(const char *s);

/*
 * Every setting name the loader knows (some appear twice, in different
 * groups), NULL-terminated; static storage.  Tests compare it with the
 * manual page.
 */
const char *const *policy_setting_names(void);

#endif

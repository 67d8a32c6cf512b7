/*
 * Applying a plan: the creates and the deletes the plan allows, all at
 * once (up to the client's jobs, each action within its own EC2 rate
 * limit).  A delete that only happens because today's new snapshot takes
 * a slot waits for that create and is held back when it failed, so a
 * failed run never leaves a volume with fewer snapshots than before.  A failure does not stop the other
 * actions; each outcome is recorded for the report.
 */
#ifndef EC2BACKUP_EXECUTE_H
#define EC2BACKUP_EXECUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "ec2.h"
#include "freeze.h"
#include "plan.h"

enum execute_status {
	EXEC_NONE,          /* keep, skip, warn: nothing to do */
	EXEC_DONE,          /* created or deleted */
	EXEC_GONE,          /* a delete found the snapshot already gone */
	EXEC_FAILED,
	EXEC_IN_USE,        /* a delete refused: an AMI uses the snapshot */
	EXEC_HELD           /* a delete not tried: its create failed */
};

struct execute_outcome {
	enum execute_status status;
	char snapshot[INV_ID_MAX + 1];  /* the snapshot a create made; for an
					   instance, the set's id */
	size_t nmembers;    /* the snapshots of a set created or deleted */
	double frozen_s;    /* from the start of the pre_snapshot hook to
			       the end of the post_snapshot hook; -1 when
			       there were none */
	bool unquiesced;    /* made although the pre_snapshot hook failed */
	bool hook_failed;   /* a freeze hook failed */
	struct ec2_error error;
};

struct execute_summary {
	size_t created, deleted, skipped, failed, in_use, held;
	size_t hook_failures; /* freeze hooks that failed: a person looks */
	bool fatal;         /* the client stopped: credentials refused, ... */
};

/* The client that serves a policy (policies may be in different regions). */
typedef struct ec2 *(*execute_client_fn)(void *arg, const char *policy);

/*
 * Applies plan.  outcomes has plan_nactions(plan) entries and receives
 * each action's outcome.  With progress, a one-line counter is kept up to
 * date on standard error.  Failures are logged as they are found.
 *
 * Creates with freeze hooks go first, one at a time, each between its
 * hooks (run by freeze, which must then not be NULL): the pre hook just
 * before the request, the post hook as soon as EC2 has answered.  The
 * rest then go together.  Returns 0, or -1 when memory ran out before
 * anything was tried.
 */
int execute_plan(const struct plan *plan, execute_client_fn client,
    void *arg, struct freeze *freeze, bool progress,
    struct execute_outcome *outcomes, struct execute_summary *sum);

#endif

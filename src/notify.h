/*
 * What a finished run tells the world besides its output and exit status:
 * the Prometheus metrics file, and the on_success / on_failure hooks.
 * Neither changes what was backed up; their own failures are logged.
 */
#ifndef EC2BACKUP_NOTIFY_H
#define EC2BACKUP_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "ec2.h"
#include "execute.h"
#include "plan.h"
#include "policy.h"

/* One policy of the run. */
struct notify_policy {
	const struct policy *policy;
	bool succeeded;            /* every action done, nothing that needs
				      a person */
	const struct plan_input *vols; /* its volumes, as planned */
	size_t nvols;
};

struct notify_run {
	int64_t started;           /* UTC seconds */
	int64_t now;               /* for the ages of snapshots */
	double duration;           /* seconds */
	int status;                /* the exit status */
	const struct plan *plan;   /* NULL: stopped before planning */
	const struct execute_outcome *outcomes; /* NULL: nothing applied */
	const struct notify_policy *policies;
	size_t npolicies;
	struct ec2_stats stats;    /* all regions together */
};

/*
 * Writes the metrics of run to path atomically, keeping from the file it
 * replaces the last success time of the policies that did not succeed.
 * Returns 0, or -1 with the reason in err.
 */
int notify_metrics(const struct notify_run *run, const char *path,
    char *err, size_t errlen);

/*
 * Runs each policy's on_success or on_failure hook, then the run-wide
 * one (on_success and on_failure, argument lists, may be NULL), each with
 * a JSON document on its standard input and EC2BACKUP_* variables, within
 * its time limit.  Logs what failed.
 */
void notify_hooks(const struct notify_run *run, char *const *on_success,
    char *const *on_failure, int timeout_s);

#endif

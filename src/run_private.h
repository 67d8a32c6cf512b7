/*
 * What the steps of one run share: the regions with their clients and
 * inventories, each policy's state, the plan and the outcomes.  For
 * run.c and the commands built on its steps (doctor.c); nothing else
 * includes it.
 */
#ifndef EC2BACKUP_RUN_PRIVATE_H
#define EC2BACKUP_RUN_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "credentials.h"
#include "ec2.h"
#include "execute.h"
#include "freeze.h"
#include "inventory.h"
#include "plan.h"
#include "policy.h"
#include "run.h"
#include "tz.h"

#define ENDPOINT_MAX 512

struct region {
	char name[CREDENTIALS_REGION_MAX];
	char endpoint[ENDPOINT_MAX];
	struct ec2 *ec2;
	struct inventory *inv;
	/* Per inventory volume (by index): the first two policies that
	 * adopt it, or NULL. */
	const char *(*adopters)[2];
};

struct policy_state {
	const struct policy *p;
	struct region *r;
	struct tz *zone;
	struct inv_volume **selected;
	size_t nselected;
	bool select_failed;
};

struct run {
	const struct run_options *o;
	const struct policy_set *set;
	struct credentials *creds;
	struct region *regions;
	size_t nregions;
	struct policy_state *ps;
	struct plan *plan;
	int lock_fd;
	struct freeze *freeze;    /* runs the freeze hooks, when any */
	bool images_unknown;      /* a DescribeImages answer was missing */
	struct execute_outcome *out; /* what apply did, per plan action */
	struct execute_summary sum;
	int64_t started;          /* wall clock, UTC seconds */
	int64_t started_ms;       /* monotonic */
};

/* The volumes of one policy, listed ones first, as planner input (the
 * caller frees it), or NULL when out of memory. */
struct plan_input *run_policy_inputs(const struct policy_state *s,
    size_t *nout);

/* ec2backup doctor: the checks, after the run's discovery and plan.
 * Prints them; returns the exit status (0: a run would work). */
int doctor_report(struct run *r);

#endif

/*
 * The commands that talk to EC2: run (and its dry form, plan) and list.
 *
 * One run goes policy -> inventory -> plan -> execute -> report: it loads
 * nothing itself (the policies come validated), finds the credentials and
 * each policy's region, describes the volumes and their snapshots, plans,
 * checks which deletion candidates an AMI uses (and plans again if any
 * does), prints the plan, and applies it unless it is a dry run.
 */
#ifndef EC2BACKUP_RUN_H
#define EC2BACKUP_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "plan.h"
#include "policy.h"

enum run_mode { RUN_APPLY, RUN_PLAN, RUN_LIST, RUN_MONITOR, RUN_DOCTOR };

struct run_options {
	enum run_mode mode;
	bool json;
	int64_t now;              /* planning time, UTC seconds */
	bool now_given;           /* --now: refuse a time before snapshots
				     that exist */
	const char *region;       /* --region, or NULL */
	const char *profile;      /* --profile, or NULL */
	const char *endpoint_url; /* --endpoint-url, or NULL */
	const char *ca_bundle;    /* --ca-bundle, or NULL */
	const char *lock_file;    /* --lock-file, or NULL for the default */
	int jobs;
	long timeout_s;           /* whole run; 0: none */
	long lookup_s;            /* looking for a lost create's snapshot */
	double api_rate_scale;    /* multiplies EC2's refill rates; 0: 1 */
	bool progress;            /* a progress line on standard error */
	bool colour;              /* colour the text plan (a terminal) */
	enum plan_mode plan_mode; /* --create-only, --prune-only */
	const char *metrics_file; /* --metrics-file, or NULL */
	char *const *on_success;  /* --on-success: argv, or NULL */
	char *const *on_failure;
	int hook_timeout_s;
};

/* Runs the command for every policy of set; returns the exit status. */
int run_command(const struct policy_set *set, const struct run_options *o);

#endif

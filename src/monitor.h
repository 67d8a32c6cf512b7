/*
 * The health of the backups, for monitoring systems: for every volume of
 * every policy, how old its newest completed snapshot is and what else
 * needs a look, judged against the policy's monitor thresholds.
 *
 * Evaluation is pure, like planning: policies, the inventory, the plan
 * made from it and "now" in, states out.  The rendering follows the
 * Nagios plugin convention (one status line, performance data after '|',
 * the details on the lines after it; exit status 0 OK, 1 WARNING, 2
 * CRITICAL, 3 UNKNOWN), which Icinga, Zabbix and Sensu read too, or JSON
 * for programs.
 */
#ifndef EC2BACKUP_MONITOR_H
#define EC2BACKUP_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "plan.h"
#include "policy.h"
#include "tz.h"

/* Also the exit status of `ec2backup monitor`. */
enum monitor_state {
	MONITOR_OK,
	MONITOR_WARNING,
	MONITOR_CRITICAL,
	MONITOR_UNKNOWN
};

#define MONITOR_PROBLEM_MAX 256

struct monitor;

/* An empty report for a check at now (UTC seconds); NULL when out of
 * memory.  The caller frees it with monitor_free. */
struct monitor *monitor_new(int64_t now);

void monitor_free(struct monitor *m);

/*
 * Judges the volumes vols[0..n) of policy, with plan the run's plan (for
 * the policy's own warnings, such as max_deletes).  The report keeps
 * pointers to the policy's name and the volumes' ids: they must outlive
 * it.  Returns 0, or -1 when out of memory.
 */
int monitor_add_policy(struct monitor *m, const struct policy *policy,
    const struct plan *plan, const struct plan_input *vols, size_t n);

/* The worst state of all volumes (OK when there is none). */
enum monitor_state monitor_state(const struct monitor *m);

/* "OK", "WARNING", "CRITICAL", "UNKNOWN". */
const char *monitor_state_name(enum monitor_state state);

/*
 * Writes the Nagios output: "STATE: summary | perfdata", the worst
 * problems first in a summary of bounded length, then one line per
 * volume that is not OK.  Returns 0, or -1 when writing failed.
 */
int monitor_text(FILE *out, const struct monitor *m);

/*
 * Writes the members of the JSON document, without braces: "state",
 * "volumes": [{"policy", "volume", "state", "newest_snapshot",
 * "newest_age_seconds", "owned", "keep", "problem"}].  Returns 0, or -1
 * when writing failed.
 */
int monitor_json_members(FILE *out, const struct monitor *m);

/* A duration for people: "90m", "49h", "3d". */
void monitor_format_age(int64_t seconds, char *buf, size_t len);

#endif

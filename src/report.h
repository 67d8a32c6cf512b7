/*
 * Renderings of a plan: aligned text for people, JSON for programs.
 *
 * Both write one line per action, in the plan's order, then a summary;
 * neither changes the plan.  JSON is produced with json-c, one action
 * object at a time, so a plan of a million snapshots streams out in
 * constant memory.
 */
#ifndef EC2BACKUP_REPORT_H
#define EC2BACKUP_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "plan.h"

/* json-c's output flags for every document: compact, '/' as it is. */
#define REPORT_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | \
	JSON_C_TO_STRING_NOSLASHESCAPE)

/*
 * Writes plan to out as aligned columns (policy, volume, action,
 * snapshot, date, reason; "-" where there is none), then a line such as
 * "2 create, 1 skip, 10 keep, 2 delete, 1 warning".  Control and bidi
 * characters in names are escaped (see text.h).  With colour, the action
 * word is coloured for a terminal.  Flushes out; returns 0,
 * or -1 when writing failed.
 */
int report_plan_text(FILE *out, const struct plan *plan, bool colour);

/*
 * Writes plan to out as one JSON object:
 * {"now": "2026-11-17T03:00:00Z", "actions": [{"policy", "volume",
 * "action", "snapshot", "date", "state", "reason"}, ...], "summary":
 * {"create", "skip", "keep", "delete", "warnings"}}, with null for a
 * missing volume, snapshot or state, one action per line.  Flushes out;
 * returns 0, or -1 when writing failed or memory ran out.
 */
int report_plan_json(FILE *out, const struct plan *plan);

/* The same members without the braces, for a larger document. */
int report_plan_json_members(FILE *out, const struct plan *plan);

/*
 * The members every JSON document of a command ends with:
 * "status": the exit status, "warnings" and "errors": the messages the
 * log kept (log_keep), as written on standard error.  Flushes out;
 * returns 0, or -1 when writing failed.
 */
int report_json_status(FILE *out, int status);

#endif

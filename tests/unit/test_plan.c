/*
 * Tests of src/plan.c: a table of named cases (one per rule and edge, each
 * with the whole expected plan), time zone and calendar edges, and
 * properties over random inventories and long simulations of daily runs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inventory.h"
#include "plan.h"
#include "policy.h"
#include "tz.h"

#define MAX_SNAPS 40
#define MAX_LINES 48

static char policy_name[] = "prod";
static char other_name[] = "staging";
static char utc_name[] = "UTC";

static struct tz *zones[4];
static const char *const zone_names[] = {
	"UTC", "Europe/Helsinki", "America/New_York", "Australia/Lord_Howe"
};

static int
load_zones(void **state)
{
	char err[128];

	(void)state;
	for (size_t i = 0; i < 4; i++)
		if (tz_load(zone_names[i], &zones[i], err, sizeof(err)) != 0)
			return -1;
	return 0;
}

static int
free_zones(void **state)
{
	(void)state;
	for (size_t i = 0; i < 4; i++)
		tz_free(zones[i]);
	return 0;
}

static struct tz *
zone(const char *name)
{
	for (size_t i = 0; i < 4; i++)
		if (name == NULL ? i == 0 : strcmp(zone_names[i], name) == 0)
			return zones[i];
	fail_msg("zone %s not loaded", name);
	return NULL;
}

static int64_t
utc(const char *s)
{
	int64_t t = 0;

	if (inv_parse_time(s, &t) != 0)
		fail_msg("bad time %s", s);
	return t;
}

static int32_t
day_of(int y, int m, int d)
{
	return (int32_t)tz_days_from_civil(y, m, d);
}

static struct policy
make_policy(int keep)
{
	struct policy p;

	memset(&p, 0, sizeof(p));
	p.name = policy_name;
	p.timezone = utc_name;
	p.keep = keep;
	p.max_deletes = -1;
	return p;
}

/* "action snapshot date reason", as the table spells expectations. */
static void
action_line(const struct plan *p, size_t i, char *buf, size_t len)
{
	struct plan_action a;
	char date[TZ_DATE_MAX], reason[PLAN_REASON_MAX];

	plan_action_get(p, i, &a);
	plan_action_reason(p, i, reason, sizeof(reason));
	tz_format_date(a.date, date);
	snprintf(buf, len, "%s %s %s %s", plan_kind_name(a.kind),
	    a.snapshot != NULL ? a.snapshot : "-", date, reason);
}

/* --- the table of named cases --- */

struct snap_spec {
	const char *id;
	const char *start;         /* UTC */
	const char *state;         /* NULL: completed */
	const char *owner;         /* NULL: the policy; "": untagged */
	const char *date;          /* the ec2backup:date tag, or NULL */
	bool protect;
	const char *ami;
};

struct plan_case {
	const char *name;
	const char *zone;          /* NULL: UTC */
	const char *now;
	int keep;
	struct policy_retain retain;
	bool adopt;
	bool limited;              /* max_deletes is set */
	long max_deletes;
	bool missing, incomplete, unchecked;
	const char *shared;        /* another policy adopting the volume */
	struct snap_spec snaps[MAX_SNAPS];
	const char *expect[MAX_LINES]; /* the whole plan, in order */
};

#define NOW "2025-06-29T10:00:00Z"
#define C(id, start) { id, start, NULL, NULL, NULL, false, NULL }
#define CS(id, start, state) { id, start, state, NULL, NULL, false, NULL }
#define CO(id, start, owner) { id, start, NULL, owner, NULL, false, NULL }
#define CD(id, start, date) { id, start, NULL, NULL, date, false, NULL }
#define NO_RETAIN { 0, 0, 0, 0 }

static const struct plan_case cases[] = {
{
	.name = "empty inventory", .now = NOW, .keep = 3,
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
	},
},
{
	.name = "only pending", .now = NOW, .keep = 3,
	.snaps = { CS("snap-p", "2025-06-29T09:00:00Z", "pending") },
	.expect = {
		"skip - 2025-06-29 pending snapshot snap-p in progress",
		"keep snap-p 2025-06-29 keep #1",
	},
},
{
	.name = "pending and today's", .now = NOW, .keep = 2,
	.snaps = {
		C("snap-t", "2025-06-29T01:00:00Z"),
		CS("snap-p", "2025-06-29T09:00:00Z", "pending"),
		C("snap-y", "2025-06-28T01:00:00Z"),
	},
	.expect = {
		"skip - 2025-06-29 pending snapshot snap-p in progress",
		"keep snap-p 2025-06-29 keep #1",
		"keep snap-t 2025-06-29 keep #2",
		"delete snap-y 2025-06-28 beyond keep=2 (3rd newest), "
		    "no retain rule",
	},
},
{
	.name = "today's exists", .now = NOW, .keep = 2,
	.snaps = {
		C("snap-y", "2025-06-28T01:00:00Z"),
		C("snap-t", "2025-06-29T01:00:00Z"),
	},
	.expect = {
		"skip - 2025-06-29 today's snapshot snap-t exists",
		"keep snap-t 2025-06-29 keep #1",
		"keep snap-y 2025-06-28 keep #2",
	},
},
{
	.name = "today's in error", .now = NOW, .keep = 2,
	.snaps = {
		CS("snap-e", "2025-06-29T01:00:00Z", "error"),
		C("snap-y", "2025-06-28T01:00:00Z"),
	},
	.expect = {
		"create - 2025-06-29 today's snapshot snap-e failed "
		    "(state error); takes keep #1",
		"keep snap-y 2025-06-28 keep #2",
		"warn snap-e 2025-06-29 state error: not counted, never "
		    "deleted automatically",
	},
},
{
	.name = "keep=1", .now = NOW, .keep = 1,
	.snaps = {
		C("snap-2", "2025-06-27T01:00:00Z"),
		C("snap-1", "2025-06-28T01:00:00Z"),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-1 2025-06-28 newest completed snapshot, kept until "
		    "a newer one completes",
		"delete snap-2 2025-06-27 beyond keep=1 (3rd newest), "
		    "no retain rule",
	},
},
{
	.name = "more belonging than keep", .now = NOW, .keep = 3,
	.snaps = {
		C("snap-5", "2025-06-24T01:00:00Z"),
		C("snap-1", "2025-06-28T01:00:00Z"),
		C("snap-3", "2025-06-26T01:00:00Z"),
		C("snap-2", "2025-06-27T01:00:00Z"),
		C("snap-4", "2025-06-25T01:00:00Z"),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-1 2025-06-28 keep #2",
		"keep snap-2 2025-06-27 keep #3",
		"delete snap-3 2025-06-26 beyond keep=3 (4th newest), "
		    "no retain rule; waits for today's snapshot",
		"delete snap-4 2025-06-25 beyond keep=3 (5th newest), "
		    "no retain rule",
		"delete snap-5 2025-06-24 beyond keep=3 (6th newest), "
		    "no retain rule",
	},
},
{
	.name = "unmanaged snapshots mixed in", .now = NOW, .keep = 2,
	.snaps = {
		C("snap-m1", "2025-06-28T03:00:00Z"),
		CO("snap-u", "2025-06-28T05:00:00Z", ""),
		C("snap-m2", "2025-06-27T03:00:00Z"),
		CO("snap-o", "2025-06-27T05:00:00Z", "staging"),
		C("snap-m3", "2025-06-26T03:00:00Z"),
		CO("snap-u2", "2025-06-29T05:00:00Z", ""),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-u2 2025-06-29 not owned by policy prod (no "
		    "ec2backup:policy tag, adopt is off)",
		"keep snap-u 2025-06-28 not owned by policy prod (no "
		    "ec2backup:policy tag, adopt is off)",
		"keep snap-m1 2025-06-28 keep #2",
		"keep snap-o 2025-06-27 owned by policy staging",
		"delete snap-m2 2025-06-27 beyond keep=2 (3rd newest), "
		    "no retain rule; waits for today's snapshot",
		"delete snap-m3 2025-06-26 beyond keep=2 (4th newest), "
		    "no retain rule",
	},
},
{
	.name = "adopt", .now = NOW, .keep = 2, .adopt = true,
	.snaps = {
		CO("snap-u1", "2025-06-28T03:00:00Z", ""),
		CO("snap-u2", "2025-06-27T03:00:00Z", ""),
		CO("snap-o", "2025-06-26T03:00:00Z", "staging"),
		C("snap-m", "2025-06-25T03:00:00Z"),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-u1 2025-06-28 keep #2",
		"keep snap-o 2025-06-26 owned by policy staging",
		"delete snap-u2 2025-06-27 beyond keep=2 (3rd newest), "
		    "no retain rule; waits for today's snapshot",
		"delete snap-m 2025-06-25 beyond keep=2 (4th newest), "
		    "no retain rule",
	},
},
{
	.name = "adopted untagged today's", .now = NOW, .keep = 2,
	.adopt = true,
	.snaps = { CO("snap-u", "2025-06-29T03:00:00Z", "") },
	.expect = {
		"skip - 2025-06-29 today's snapshot snap-u exists",
		"keep snap-u 2025-06-29 keep #1",
	},
},
{
	.name = "AMI use could not be checked", .now = NOW, .keep = 1,
	.snaps = {
		C("snap-1", "2025-06-28T03:00:00Z"),
		{ "snap-u", "2025-06-27T03:00:00Z", NULL, NULL, NULL, false,
		    "?" },
		C("snap-2", "2025-06-26T03:00:00Z"),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-1 2025-06-28 newest completed snapshot, kept until "
		    "a newer one completes",
		"keep snap-u 2025-06-27 kept: whether an AMI uses it could "
		    "not be checked",
		"delete snap-2 2025-06-26 beyond keep=1 (3rd newest), no "
		    "retain rule",
	},
},
{
	.name = "protected and used by an AMI", .now = NOW, .keep = 2,
	.snaps = {
		{ "snap-p", "2025-06-28T03:00:00Z", NULL, NULL, NULL, true,
		    NULL },
		{ "snap-a", "2025-06-27T03:00:00Z", NULL, NULL, NULL, false,
		    "ami-0abc" },
		C("snap-1", "2025-06-26T03:00:00Z"),
		C("snap-2", "2025-06-25T03:00:00Z"),
		C("snap-3", "2025-06-24T03:00:00Z"),
		{ "snap-pa", "2025-06-20T03:00:00Z", NULL, NULL, NULL, true,
		    "ami-0def" },
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-p 2025-06-28 protected",
		"keep snap-a 2025-06-27 used by ami-0abc",
		"keep snap-1 2025-06-26 keep #2",
		"keep snap-pa 2025-06-20 protected",
		"delete snap-2 2025-06-25 beyond keep=2 (3rd newest), "
		    "no retain rule; waits for today's snapshot",
		"delete snap-3 2025-06-24 beyond keep=2 (4th newest), "
		    "no retain rule",
	},
},
{
	.name = "incomplete listing", .now = NOW, .keep = 1,
	.incomplete = true,
	.snaps = {
		C("snap-1", "2025-06-28T03:00:00Z"),
		C("snap-2", "2025-06-27T03:00:00Z"),
	},
	.expect = {
		"keep snap-1 2025-06-28 keep #1",
		"keep snap-2 2025-06-27 held (listing incomplete): beyond "
		    "keep=1 (2nd newest), no retain rule",
		"warn - 2025-06-29 snapshot listing incomplete: nothing "
		    "created or deleted",
	},
},
{
	.name = "missing volume", .now = NOW, .keep = 1, .missing = true,
	.snaps = {
		C("snap-1", "2025-06-28T03:00:00Z"),
		C("snap-2", "2025-06-27T03:00:00Z"),
		CS("snap-e", "2025-06-26T03:00:00Z", "error"),
	},
	.expect = {
		"keep snap-1 2025-06-28 keep #1",
		"keep snap-2 2025-06-27 held (volume not found): beyond "
		    "keep=1 (2nd newest), no retain rule",
		"warn - 2025-06-29 volume not found: nothing created or "
		    "deleted, 3 snapshots kept",
		"warn snap-e 2025-06-26 state error: not counted, never "
		    "deleted automatically",
	},
},
{
	.name = "max_deletes tripped", .now = NOW, .keep = 1,
	.limited = true, .max_deletes = 1,
	.snaps = {
		C("snap-1", "2025-06-28T03:00:00Z"),
		C("snap-2", "2025-06-27T03:00:00Z"),
		C("snap-3", "2025-06-26T03:00:00Z"),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-1 2025-06-28 newest completed snapshot, kept until "
		    "a newer one completes",
		"keep snap-2 2025-06-27 held (max_deletes=1 exceeded): beyond "
		    "keep=1 (3rd newest), no retain rule",
		"keep snap-3 2025-06-26 held (max_deletes=1 exceeded): beyond "
		    "keep=1 (4th newest), no retain rule",
		"warn - 2025-06-29 2 deletions exceed max_deletes=1: none "
		    "deleted",
	},
},
{
	.name = "max_deletes reached, not exceeded", .now = NOW, .keep = 1,
	.limited = true, .max_deletes = 2,
	.snaps = {
		C("snap-1", "2025-06-28T03:00:00Z"),
		C("snap-2", "2025-06-27T03:00:00Z"),
		C("snap-3", "2025-06-26T03:00:00Z"),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-1 2025-06-28 newest completed snapshot, kept until "
		    "a newer one completes",
		"delete snap-2 2025-06-27 beyond keep=1 (3rd newest), "
		    "no retain rule",
		"delete snap-3 2025-06-26 beyond keep=1 (4th newest), "
		    "no retain rule",
	},
},
{
	.name = "max_deletes=0", .now = NOW, .keep = 2,
	.limited = true, .max_deletes = 0,
	.snaps = {
		C("snap-1", "2025-06-28T03:00:00Z"),
		C("snap-2", "2025-06-27T03:00:00Z"),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-1 2025-06-28 keep #2",
		"keep snap-2 2025-06-27 held (max_deletes=0 exceeded): beyond "
		    "keep=2 (3rd newest), no retain rule",
		"warn - 2025-06-29 1 deletion exceeds max_deletes=0: none "
		    "deleted",
	},
},
{
	.name = "identical start times", .now = NOW, .keep = 2,
	.snaps = {
		C("snap-c", "2025-06-28T03:00:00Z"),
		C("snap-a", "2025-06-28T03:00:00Z"),
		C("snap-t", "2025-06-29T03:00:00Z"),
		C("snap-b", "2025-06-28T03:00:00Z"),
	},
	.expect = {
		"skip - 2025-06-29 today's snapshot snap-t exists",
		"keep snap-t 2025-06-29 keep #1",
		"keep snap-a 2025-06-28 keep #2",
		"delete snap-b 2025-06-28 beyond keep=2 (3rd newest), "
		    "no retain rule",
		"delete snap-c 2025-06-28 beyond keep=2 (4th newest), "
		    "no retain rule",
	},
},
{
	.name = "pending beyond keep", .now = NOW, .keep = 1,
	.snaps = {
		CS("snap-p2", "2025-06-29T07:00:00Z", "pending"),
		CS("snap-p1", "2025-06-29T08:00:00Z", "pending"),
		C("snap-c", "2025-06-28T03:00:00Z"),
		C("snap-d", "2025-06-27T03:00:00Z"),
	},
	.expect = {
		"skip - 2025-06-29 pending snapshot snap-p1 in progress",
		"keep snap-p1 2025-06-29 keep #1",
		"keep snap-p2 2025-06-29 pending, only completed snapshots "
		    "are deleted",
		"keep snap-c 2025-06-28 newest completed snapshot, kept until "
		    "a newer one completes",
		"delete snap-d 2025-06-27 beyond keep=1 (4th newest), "
		    "no retain rule",
	},
},
{
	.name = "other states", .now = NOW, .keep = 1,
	.snaps = {
		CS("snap-r", "2025-06-27T03:00:00Z", "recoverable"),
		CS("snap-g", "2025-06-29T03:00:00Z", "recovering"),
		CS("snap-x", "2025-06-28T03:00:00Z", "archived-someday"),
		C("snap-c", "2025-06-26T03:00:00Z"),
	},
	.expect = {
		"skip - 2025-06-29 today's snapshot snap-g exists",
		"keep snap-g 2025-06-29 recovering, not counted",
		"keep snap-r 2025-06-27 recoverable, not counted",
		"keep snap-c 2025-06-26 keep #1",
		"warn snap-x 2025-06-28 unknown state: not counted, never "
		    "deleted",
	},
},
{
	.name = "recoverable today does not count", .now = NOW, .keep = 1,
	.snaps = { CS("snap-r", "2025-06-29T03:00:00Z", "recoverable") },
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-r 2025-06-29 recoverable, not counted",
	},
},
{
	.name = "date tag wins over start time", .now = NOW, .keep = 2,
	.snaps = {
		CD("snap-s", "2025-06-29T01:00:00Z", "2025-06-28"),
		C("snap-o", "2025-06-27T01:00:00Z"),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-s 2025-06-28 keep #2",
		"delete snap-o 2025-06-27 beyond keep=2 (3rd newest), "
		    "no retain rule; waits for today's snapshot",
	},
},
{
	.name = "error snapshots count toward nothing", .now = NOW,
	.keep = 2,
	.snaps = {
		CS("snap-e", "2025-06-28T03:00:00Z", "error"),
		C("snap-1", "2025-06-27T03:00:00Z"),
		C("snap-2", "2025-06-26T03:00:00Z"),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-1 2025-06-27 keep #2",
		"delete snap-2 2025-06-26 beyond keep=2 (3rd newest), "
		    "no retain rule; waits for today's snapshot",
		"warn snap-e 2025-06-28 state error: not counted, never "
		    "deleted automatically",
	},
},
{
	.name = "retain daily", .now = NOW, .keep = 1,
	.retain = { 3, 0, 0, 0 },
	.snaps = {
		C("snap-t", "2025-06-29T01:00:00Z"),
		C("snap-a", "2025-06-28T15:00:00Z"),
		C("snap-b", "2025-06-28T03:00:00Z"),
		C("snap-c", "2025-06-27T03:00:00Z"),
		C("snap-d", "2025-06-26T03:00:00Z"),
	},
	.expect = {
		"skip - 2025-06-29 today's snapshot snap-t exists",
		"keep snap-t 2025-06-29 keep #1, daily #1",
		"keep snap-a 2025-06-28 daily #2",
		"keep snap-c 2025-06-27 daily #3",
		"delete snap-b 2025-06-28 beyond keep=1 (3rd newest), "
		    "not kept by daily=3",
		"delete snap-d 2025-06-26 beyond keep=1 (5th newest), "
		    "not kept by daily=3",
	},
},
{
	/* 2024-12-30 (Monday) is in ISO week 2025-W01 with 2025-01-05. */
	.name = "retain weekly across the ISO year end",
	.now = "2025-01-06T10:00:00Z", .keep = 1, .retain = { 0, 3, 0, 0 },
	.snaps = {
		C("snap-0106", "2025-01-06T01:00:00Z"),
		C("snap-0105", "2025-01-05T01:00:00Z"),
		C("snap-0101", "2025-01-01T01:00:00Z"),
		C("snap-1230", "2024-12-30T01:00:00Z"),
		C("snap-1229", "2024-12-29T01:00:00Z"),
		C("snap-1228", "2024-12-28T01:00:00Z"),
	},
	.expect = {
		"skip - 2025-01-06 today's snapshot snap-0106 exists",
		"keep snap-0106 2025-01-06 keep #1, weekly #1",
		"keep snap-0105 2025-01-05 weekly #2",
		"keep snap-1229 2024-12-29 weekly #3",
		"delete snap-0101 2025-01-01 beyond keep=1 (3rd newest), "
		    "not kept by weekly=3",
		"delete snap-1230 2024-12-30 beyond keep=1 (4th newest), "
		    "not kept by weekly=3",
		"delete snap-1228 2024-12-28 beyond keep=1 (6th newest), "
		    "not kept by weekly=3",
	},
},
{
	.name = "retain monthly with 29 February",
	.now = "2024-03-02T10:00:00Z", .keep = 1, .retain = { 0, 0, 2, 0 },
	.snaps = {
		C("snap-0302", "2024-03-02T01:00:00Z"),
		C("snap-0301", "2024-03-01T01:00:00Z"),
		C("snap-0229", "2024-02-29T01:00:00Z"),
		C("snap-0228", "2024-02-28T01:00:00Z"),
		C("snap-0131", "2024-01-31T01:00:00Z"),
	},
	.expect = {
		"skip - 2024-03-02 today's snapshot snap-0302 exists",
		"keep snap-0302 2024-03-02 keep #1, monthly #1",
		"keep snap-0229 2024-02-29 monthly #2",
		"delete snap-0301 2024-03-01 beyond keep=1 (2nd newest), "
		    "not kept by monthly=2",
		"delete snap-0228 2024-02-28 beyond keep=1 (4th newest), "
		    "not kept by monthly=2",
		"delete snap-0131 2024-01-31 beyond keep=1 (5th newest), "
		    "not kept by monthly=2",
	},
},
{
	.name = "retain yearly at the year end",
	.now = "2025-01-01T10:00:00Z", .keep = 1, .retain = { 0, 0, 0, 2 },
	.snaps = {
		C("snap-t", "2025-01-01T08:00:00Z"),
		C("snap-late", "2024-12-31T23:30:00Z"),
		C("snap-early", "2024-12-31T00:30:00Z"),
		C("snap-june", "2024-06-01T00:30:00Z"),
		C("snap-2023", "2023-12-31T00:30:00Z"),
	},
	.expect = {
		"skip - 2025-01-01 today's snapshot snap-t exists",
		"keep snap-t 2025-01-01 keep #1, yearly #1",
		"keep snap-late 2024-12-31 yearly #2",
		"delete snap-early 2024-12-31 beyond keep=1 (3rd newest), "
		    "not kept by yearly=2",
		"delete snap-june 2024-06-01 beyond keep=1 (4th newest), "
		    "not kept by yearly=2",
		"delete snap-2023 2023-12-31 beyond keep=1 (5th newest), "
		    "not kept by yearly=2",
	},
},
{
	/* 00:30 on 1 January in Helsinki is still 2024 in UTC. */
	.name = "retain yearly at the local year end",
	.zone = "Europe/Helsinki", .now = "2025-01-01T10:00:00Z", .keep = 1,
	.retain = { 0, 0, 0, 2 },
	.snaps = {
		C("snap-t", "2025-01-01T08:00:00Z"),
		C("snap-x", "2024-12-31T22:30:00Z"),
		C("snap-y", "2024-12-31T21:30:00Z"),
		C("snap-z", "2024-06-01T00:30:00Z"),
	},
	.expect = {
		"skip - 2025-01-01 today's snapshot snap-t exists",
		"keep snap-t 2025-01-01 keep #1, yearly #1",
		"keep snap-y 2024-12-31 yearly #2",
		"delete snap-x 2025-01-01 beyond keep=1 (2nd newest), "
		    "not kept by yearly=2",
		"delete snap-z 2024-06-01 beyond keep=1 (4th newest), "
		    "not kept by yearly=2",
	},
},
{
	.name = "retain combined", .now = NOW, .keep = 2,
	.retain = { 2, 2, 2, 2 },
	.snaps = {
		C("snap-0628", "2025-06-28T01:00:00Z"),
		C("snap-0627", "2025-06-27T01:00:00Z"),
		C("snap-0622", "2025-06-22T01:00:00Z"),
		C("snap-0615", "2025-06-15T01:00:00Z"),
		C("snap-0531", "2025-05-31T01:00:00Z"),
		C("snap-0430", "2025-04-30T01:00:00Z"),
		C("snap-1231", "2024-12-31T01:00:00Z"),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1, "
		    "daily #1, weekly #1, monthly #1, yearly #1",
		"keep snap-0628 2025-06-28 keep #2, daily #2",
		"keep snap-0622 2025-06-22 weekly #2",
		"keep snap-0531 2025-05-31 monthly #2",
		"keep snap-1231 2024-12-31 yearly #2",
		"delete snap-0627 2025-06-27 beyond keep=2 (3rd newest), "
		    "not kept by daily=2, weekly=2, monthly=2, yearly=2; "
		    "waits for today's snapshot",
		"delete snap-0615 2025-06-15 beyond keep=2 (5th newest), "
		    "not kept by daily=2, weekly=2, monthly=2, yearly=2",
		"delete snap-0430 2025-04-30 beyond keep=2 (7th newest), "
		    "not kept by daily=2, weekly=2, monthly=2, yearly=2",
	},
},
/* Time: the local day, not the UTC day, around DST changes. */
{
	/* Spring forward 2025-03-30 03:00 EET -> 04:00 EEST. */
	.name = "Helsinki 23:30 and 00:30 around spring DST",
	.zone = "Europe/Helsinki", .now = "2025-03-30T02:00:00Z", .keep = 2,
	.snaps = {
		C("snap-a", "2025-03-29T21:30:00Z"),
		C("snap-b", "2025-03-29T22:30:00Z"),
	},
	.expect = {
		"skip - 2025-03-30 today's snapshot snap-b exists",
		"keep snap-b 2025-03-30 keep #1",
		"keep snap-a 2025-03-29 keep #2",
	},
},
{
	.name = "the same in UTC creates",
	.now = "2025-03-30T02:00:00Z", .keep = 2,
	.snaps = {
		C("snap-a", "2025-03-29T21:30:00Z"),
		C("snap-b", "2025-03-29T22:30:00Z"),
	},
	.expect = {
		"create - 2025-03-30 no snapshot for today yet; takes keep #1",
		"keep snap-b 2025-03-29 keep #2",
		"delete snap-a 2025-03-29 beyond keep=2 (3rd newest), "
		    "no retain rule; waits for today's snapshot",
	},
},
{
	/* Fall back 2025-10-26 04:00 EEST -> 03:00 EET; now is 23:59:59
	 * local on the 26th, one second before local midnight. */
	.name = "Helsinki around autumn DST, before midnight",
	.zone = "Europe/Helsinki", .now = "2025-10-26T21:59:59Z", .keep = 2,
	.snaps = {
		C("snap-a", "2025-10-25T20:30:00Z"),
		C("snap-b", "2025-10-25T21:30:00Z"),
	},
	.expect = {
		"skip - 2025-10-26 today's snapshot snap-b exists",
		"keep snap-b 2025-10-26 keep #1",
		"keep snap-a 2025-10-25 keep #2",
	},
},
{
	.name = "Helsinki around autumn DST, after midnight",
	.zone = "Europe/Helsinki", .now = "2025-10-26T22:00:00Z", .keep = 2,
	.snaps = {
		C("snap-a", "2025-10-25T20:30:00Z"),
		C("snap-b", "2025-10-25T21:30:00Z"),
	},
	.expect = {
		"create - 2025-10-27 no snapshot for today yet; takes keep #1",
		"keep snap-b 2025-10-26 keep #2",
		"delete snap-a 2025-10-25 beyond keep=2 (3rd newest), "
		    "no retain rule; waits for today's snapshot",
	},
},
{
	/* Spring forward 2025-03-09 02:00 EST -> 03:00 EDT. */
	.name = "New York 23:30 and 00:30 around spring DST",
	.zone = "America/New_York", .now = "2025-03-10T03:30:00Z", .keep = 3,
	.snaps = {
		C("snap-a", "2025-03-09T04:30:00Z"),
		C("snap-b", "2025-03-09T05:30:00Z"),
		C("snap-c", "2025-03-09T07:30:00Z"),
	},
	.expect = {
		"skip - 2025-03-09 today's snapshot snap-c exists",
		"keep snap-c 2025-03-09 keep #1",
		"keep snap-b 2025-03-09 keep #2",
		"keep snap-a 2025-03-08 keep #3",
	},
},
{
	/* Fall back 2025-11-02 02:00 EDT -> 01:00 EST: 01:30 happens
	 * twice, both on the 2nd; 23:59:59 EST is still the 2nd. */
	.name = "New York around autumn DST, before midnight",
	.zone = "America/New_York", .now = "2025-11-03T04:59:59Z",
	.keep = 4,
	.snaps = {
		C("snap-a", "2025-11-02T03:30:00Z"),
		C("snap-b", "2025-11-02T04:30:00Z"),
		C("snap-edt", "2025-11-02T05:30:00Z"),
		C("snap-est", "2025-11-02T06:30:00Z"),
	},
	.expect = {
		"skip - 2025-11-02 today's snapshot snap-est exists",
		"keep snap-est 2025-11-02 keep #1",
		"keep snap-edt 2025-11-02 keep #2",
		"keep snap-b 2025-11-02 keep #3",
		"keep snap-a 2025-11-01 keep #4",
	},
},
{
	.name = "New York around autumn DST, after midnight",
	.zone = "America/New_York", .now = "2025-11-03T05:00:00Z",
	.keep = 1, .retain = { 2, 0, 0, 0 },
	.snaps = {
		C("snap-a", "2025-11-02T03:30:00Z"),
		C("snap-b", "2025-11-02T04:30:00Z"),
		C("snap-edt", "2025-11-02T05:30:00Z"),
		C("snap-est", "2025-11-02T06:30:00Z"),
	},
	.expect = {
		"create - 2025-11-03 no snapshot for today yet; takes keep #1, "
		    "daily #1",
		"keep snap-est 2025-11-02 daily #2",
		"delete snap-edt 2025-11-02 beyond keep=1 (3rd newest), "
		    "not kept by daily=2",
		"delete snap-b 2025-11-02 beyond keep=1 (4th newest), "
		    "not kept by daily=2",
		"delete snap-a 2025-11-01 beyond keep=1 (5th newest), "
		    "not kept by daily=2; waits for today's snapshot",
	},
},
/* The one order: day (tag, else local day), then start, then id. */
{
	/* Start times disagree with the days (a copy, a clock problem):
	 * keep = 3 keeps the three newest days, not the three newest
	 * starts. */
	.name = "days rank before start times", .now = NOW, .keep = 3,
	.snaps = {
		CD("snap-d1", "2025-06-28T05:00:00Z", "2025-06-25"),
		CD("snap-d2", "2025-06-20T05:00:00Z", "2025-06-26"),
		CD("snap-d3", "2025-06-27T05:00:00Z", "2025-06-27"),
		CD("snap-d4", "2025-06-19T05:00:00Z", "2025-06-28"),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-d4 2025-06-28 keep #2",
		"keep snap-d3 2025-06-27 keep #3",
		"delete snap-d2 2025-06-26 beyond keep=3 (4th newest), "
		    "no retain rule; waits for today's snapshot",
		"delete snap-d1 2025-06-25 beyond keep=3 (5th newest), "
		    "no retain rule",
	},
},
{
	/* A pending snapshot of an older day ranks by its day too. */
	.name = "pending ranks by its day", .now = NOW, .keep = 2,
	.snaps = {
		CS("snap-p", "2025-06-20T05:00:00Z", "pending"),
		C("snap-t", "2025-06-29T01:00:00Z"),
		C("snap-y", "2025-06-28T01:00:00Z"),
	},
	.expect = {
		"skip - 2025-06-29 pending snapshot snap-p in progress",
		"keep snap-t 2025-06-29 keep #1",
		"keep snap-y 2025-06-28 keep #2",
		"keep snap-p 2025-06-20 pending, only completed snapshots are "
		    "deleted",
	},
},
{
	/* Tagged with a later day than today: the new one ranks after. */
	.name = "a snapshot of a later day ranks first", .now = NOW,
	.keep = 2,
	.snaps = {
		CD("snap-f", "2025-06-20T05:00:00Z", "2025-07-01"),
		C("snap-y", "2025-06-28T01:00:00Z"),
		C("snap-o", "2025-06-27T01:00:00Z"),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #2",
		"keep snap-f 2025-07-01 keep #1",
		"delete snap-y 2025-06-28 beyond keep=2 (3rd newest), "
		    "no retain rule; waits for today's snapshot",
		"delete snap-o 2025-06-27 beyond keep=2 (4th newest), "
		    "no retain rule",
	},
},
{
	/* EC2 could not be asked whether the volume exists. */
	.name = "volume not checked", .now = NOW, .keep = 1,
	.unchecked = true,
	.snaps = {
		C("snap-2", "2025-06-27T01:00:00Z"),
		C("snap-1", "2025-06-28T01:00:00Z"),
	},
	.expect = {
		"keep snap-1 2025-06-28 keep #1",
		"keep snap-2 2025-06-27 held (volume not checked): beyond "
		    "keep=1 (2nd newest), no retain rule",
		"warn - 2025-06-29 could not check whether the volume exists: "
		    "nothing created or deleted",
	},
},
{
	/* Two policies adopt the volume: its untagged snapshots belong
	 * to neither; its own tagged ones are planned as usual. */
	.name = "two policies adopt one volume", .now = NOW, .keep = 1,
	.adopt = true, .shared = "staging",
	.snaps = {
		CO("snap-u1", "2025-06-20T01:00:00Z", ""),
		CO("snap-u2", "2025-06-21T01:00:00Z", ""),
		C("snap-2", "2025-06-27T01:00:00Z"),
		C("snap-1", "2025-06-28T01:00:00Z"),
	},
	.expect = {
		"create - 2025-06-29 no snapshot for today yet; takes keep #1",
		"keep snap-1 2025-06-28 newest completed snapshot, kept until "
		    "a newer one completes",
		"keep snap-u2 2025-06-21 not owned: no ec2backup:policy tag, "
		    "and policies prod and staging both adopt this volume",
		"keep snap-u1 2025-06-20 not owned: no ec2backup:policy tag, "
		    "and policies prod and staging both adopt this volume",
		"delete snap-2 2025-06-27 beyond keep=1 (3rd newest), "
		    "no retain rule",
		"warn - 2025-06-29 policies prod and staging both adopt this "
		    "volume: its untagged snapshots belong to neither; leave "
		    "adopt on in one of them",
	},
},
{
	.name = "month end in the policy's zone",
	.zone = "Australia/Lord_Howe", .now = "2025-06-30T20:00:00Z",
	.keep = 1, .retain = { 0, 0, 2, 0 },
	.snaps = {
		/* 2025-07-01 06:30 at UTC+10:30 */
		C("snap-jul", "2025-06-30T20:00:00Z"),
		C("snap-jun", "2025-06-29T20:00:00Z"),
		C("snap-jun2", "2025-06-28T20:00:00Z"),
	},
	.expect = {
		"skip - 2025-07-01 today's snapshot snap-jul exists",
		"keep snap-jul 2025-07-01 keep #1, monthly #1",
		"keep snap-jun 2025-06-30 monthly #2",
		"delete snap-jun2 2025-06-29 beyond keep=1 (3rd newest), "
		    "not kept by monthly=2",
	},
},
};

static void
build_case(const struct plan_case *c, struct inv_volume *vol,
    struct inv_snapshot *snaps)
{
	size_t n = 0;

	memset(vol, 0, sizeof(*vol));
	snprintf(vol->id, sizeof(vol->id), "vol-1");
	vol->exists = !c->missing && !c->unchecked;
	vol->unchecked = c->unchecked;
	vol->complete = !c->incomplete;
	for (; n < MAX_SNAPS && c->snaps[n].id != NULL; n++) {
		const struct snap_spec *s = &c->snaps[n];
		struct inv_snapshot *o = &snaps[n];

		memset(o, 0, sizeof(*o));
		snprintf(o->id, sizeof(o->id), "%s", s->id);
		o->start = utc(s->start);
		o->state = (uint8_t)inv_state_parse(s->state != NULL ?
		    s->state : "completed");
		o->owner = s->owner == NULL ? "prod" :
		    s->owner[0] == '\0' ? NULL : s->owner;
		o->date = s->date != NULL ? inv_parse_date(s->date) :
		    INV_NO_DATE;
		o->flags = s->protect ? INV_PROTECTED : 0;
		o->ami = s->ami;
		/* "?" stands for an AMI check that got no answer. */
		if (s->ami != NULL && strcmp(s->ami, "?") == 0) {
			o->flags |= INV_AMI_UNKNOWN;
			o->ami = NULL;
		}
	}
	vol->snapshots = snaps;
	vol->nsnapshots = n;
}

static void
test_case(void **state)
{
	const struct plan_case *c = *state;
	struct inv_snapshot snaps[MAX_SNAPS];
	struct inv_volume vol;
	struct policy pol = make_policy(c->keep);
	struct plan_input in = { .volume = &vol,
	    .shared_adopt = c->shared };
	struct plan *p;
	size_t nexpect = 0;
	char line[512];

	build_case(c, &vol, snaps);
	pol.retain = c->retain;
	pol.adopt = c->adopt;
	pol.max_deletes = c->limited ? c->max_deletes : -1;
	p = plan_new(utc(c->now));
	assert_non_null(p);
	assert_int_equal(plan_add_policy(p, &pol, zone(c->zone), &in, 1), 0);
	while (nexpect < MAX_LINES && c->expect[nexpect] != NULL)
		nexpect++;
	for (size_t i = 0; i < plan_nactions(p) || i < nexpect; i++) {
		if (i < plan_nactions(p))
			action_line(p, i, line, sizeof(line));
		else
			snprintf(line, sizeof(line), "(nothing)");
		if (i >= nexpect || strcmp(line, c->expect[i]) != 0) {
			for (size_t k = 0; k < plan_nactions(p); k++) {
				char l[512];
				action_line(p, k, l, sizeof(l));
				print_message("  plan[%zu]: %s\n", k, l);
			}
			fail_msg("%s: line %zu is\n  \"%s\"\n"
			    "expected\n  \"%s\"", c->name, i, line,
			    i < nexpect ? c->expect[i] : "(nothing)");
		}
	}
	/* The dependency flag agrees with the reason, and points at the
	 * volume's create. */
	for (size_t i = 0; i < plan_nactions(p); i++) {
		struct plan_action a, cr;
		char reason[PLAN_REASON_MAX];

		plan_action_get(p, i, &a);
		plan_action_reason(p, i, reason, sizeof(reason));
		assert_int_equal(a.needs_create,
		    strstr(reason, "waits for") != NULL);
		if (a.needs_create) {
			assert_int_equal(a.kind, PLAN_DELETE);
			plan_action_get(p, a.create_index, &cr);
			assert_int_equal(cr.kind, PLAN_CREATE);
			assert_string_equal(cr.volume, a.volume);
		}
	}
	plan_free(p);
}

/* --- the worked example of the documentation --- */

static void
test_worked_example(void **state)
{
	struct inv_snapshot snaps[30];
	struct inv_volume vol = { .id = "vol-0abc", .exists = true,
	    .complete = true, .snapshots = snaps, .nsnapshots = 30 };
	struct policy pol = make_policy(1);
	struct plan_input in = { .volume = &vol };
	struct plan_summary sum;
	int32_t last = day_of(2025, 6, 29);
	struct plan *p;

	(void)state;
	/* One snapshot a day at 12:00 for the 30 days ending Sunday
	 * 2025-06-29; keep = 1; retain = { daily = 7; weekly = 2; }. */
	for (int i = 0; i < 30; i++) {
		memset(&snaps[i], 0, sizeof(snaps[i]));
		snprintf(snaps[i].id, sizeof(snaps[i].id), "snap-%02d", i);
		snaps[i].start = (int64_t)(last - i) * 86400 + 12 * 3600;
		snaps[i].state = INV_COMPLETED;
		snaps[i].owner = "prod";
		snaps[i].date = INV_NO_DATE;
	}
	pol.retain.daily = 7;
	pol.retain.weekly = 2;
	p = plan_new((int64_t)last * 86400 + 13 * 3600);
	assert_non_null(p);
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), &in, 1), 0);
	plan_summary(p, &sum);
	assert_int_equal(sum.create, 0);
	assert_int_equal(sum.skip, 1);
	assert_int_equal(sum.keep, 8);
	assert_int_equal(sum.delete, 22);
	assert_int_equal(sum.warn, 0);
	for (size_t i = 0; i < plan_nactions(p); i++) {
		struct plan_action a;
		plan_action_get(p, i, &a);
		if (a.kind == PLAN_KEEP)
			assert_true(a.date >= day_of(2025, 6, 22) &&
			    a.date <= last);
		if (a.kind == PLAN_DELETE)
			assert_true(a.date < day_of(2025, 6, 22));
	}
	char line[512];
	action_line(p, 1, line, sizeof(line));
	assert_string_equal(line, "keep snap-00 2025-06-29 keep #1, daily #1, "
	    "weekly #1");
	action_line(p, 8, line, sizeof(line));
	assert_string_equal(line, "keep snap-07 2025-06-22 weekly #2");
	plan_free(p);
}

/* --- the API around the rules --- */

static void
test_api(void **state)
{
	struct inv_snapshot s = { .id = "snap-1", .start = 1000,
	    .owner = "prod", .date = INV_NO_DATE, .state = INV_COMPLETED };
	struct inv_volume v1 = { .id = "vol-b", .exists = true,
	    .complete = true, .snapshots = &s, .nsnapshots = 1 };
	struct inv_volume v2 = { .id = "vol-a", .exists = true,
	    .complete = true };
	struct plan_input in[3] = { { .volume = &v1 },
	    { .volume = &v2, .keep = 5 }, { .volume = &v1 } };
	struct policy pol = make_policy(2);
	struct plan_action a;
	struct plan_summary sum;
	struct plan *p;
	char buf[PLAN_REASON_MAX];

	(void)state;
	p = plan_new(86400 * 20000);
	assert_non_null(p);
	/* A volume listed twice is refused, and the plan stays empty. */
	errno = 0;
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), in, 3), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(plan_nactions(p), 0);
	in[2].keep = -1;
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), in, 3), -1);
	pol.keep = 0;
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), in, 2), -1);
	pol.keep = 2;
	pol.retain.weekly = POLICY_RETAIN_MAX + 1;
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), in, 2), -1);
	pol.retain.weekly = 0;
	plan_summary(p, &sum);
	assert_int_equal(sum.create + sum.keep + sum.warn, 0);

	/* Volumes by id, whatever the input order; policies as added. */
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), in, 2), 0);
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), in, 0), 0);
	struct policy other = make_policy(1);
	other.name = other_name;
	assert_int_equal(plan_add_policy(p, &other, zone(NULL), in + 1, 1),
	    0);
	assert_int_equal(plan_nactions(p), 4);
	plan_action_get(p, 0, &a);
	assert_string_equal(a.policy, "prod");
	assert_string_equal(a.volume, "vol-a");
	assert_int_equal(a.kind, PLAN_CREATE);
	assert_null(a.snapshot);
	assert_int_equal(a.start, 86400 * 20000);
	assert_int_equal(a.date, 20000);
	plan_action_get(p, 1, &a);
	assert_string_equal(a.volume, "vol-b");
	plan_action_get(p, 2, &a);
	assert_string_equal(a.snapshot, "snap-1");
	assert_int_equal(a.state, INV_COMPLETED);
	assert_int_equal(a.start, 1000);
	plan_action_get(p, 3, &a);
	assert_string_equal(a.policy, "staging");

	/* Reasons report their full length and truncate safely. */
	size_t n = plan_action_reason(p, 0, buf, sizeof(buf));
	assert_int_equal(n,
	    strlen("no snapshot for today yet; takes keep #1"));
	assert_int_equal(plan_action_reason(p, 0, buf, 5), n);
	assert_string_equal(buf, "no s");
	assert_int_equal(plan_action_reason(p, 0, NULL, 0), n);

	assert_string_equal(plan_kind_name(PLAN_CREATE), "create");
	assert_string_equal(plan_kind_name(PLAN_SKIP), "skip");
	assert_string_equal(plan_kind_name(PLAN_KEEP), "keep");
	assert_string_equal(plan_kind_name(PLAN_DELETE), "delete");
	assert_string_equal(plan_kind_name(PLAN_WARN), "warn");
	assert_int_equal(plan_now(p), 86400 * 20000);
	plan_summary(p, &sum);
	assert_int_equal(sum.create, 3);
	assert_int_equal(sum.keep, 1);
	plan_free(p);
	plan_free(NULL);
}

static void
test_create_tags(void **state)
{
	struct inv_volume v = { .id = "vol-0abc", .exists = true,
	    .complete = true };
	static char k1[] = "team", v1[] = "storage", k2[] = "ec2backup:policy",
	    v2[] = "evil", k3[] = "Name", v3[] = "db backup";
	struct policy_tag tags[3] = { { k1, v1, 1 }, { k2, v2, 2 },
	    { k3, v3, 3 } };
	struct policy pol = make_policy(3);
	struct plan_input in = { .volume = &v };
	struct plan_tag t[PLAN_TAGS_MAX];
	char desc[PLAN_DESCRIPTION_MAX];
	size_t n;
	struct plan *p;

	(void)state;
	p = plan_new(utc("2026-11-17T03:00:00Z"));
	assert_non_null(p);
	pol.snapshot_tags = tags;
	pol.nsnapshot_tags = 1;
	assert_int_equal(plan_add_policy(p, &pol, zone("Europe/Helsinki"),
	    &in, 1), 0);
	n = plan_create_tags(p, 0, t, PLAN_TAGS_MAX);
	assert_int_equal(n, 4);
	assert_string_equal(t[0].key, "ec2backup:policy");
	assert_string_equal(t[0].value, "prod");
	assert_string_equal(t[1].key, "ec2backup:date");
	assert_string_equal(t[1].value, "2026-11-17");
	assert_string_equal(t[2].key, "Name");
	assert_string_equal(t[2].value, "ec2backup prod 2026-11-17");
	assert_string_equal(t[3].key, "team");
	assert_string_equal(t[3].value, "storage");
	assert_int_equal(plan_create_description(p, 0, desc, sizeof(desc)),
	    0);
	assert_string_equal(desc, "ec2backup prod vol-0abc 2026-11-17");
	plan_free(p);

	/* The policy's Name wins; its ec2backup: keys never do. */
	pol.nsnapshot_tags = 3;
	in.description = "\xc3\xa9t\xc3\xa9 backup";
	p = plan_new(utc("2026-11-17T03:00:00Z"));
	assert_non_null(p);
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), &in, 1), 0);
	n = plan_create_tags(p, 0, t, PLAN_TAGS_MAX);
	assert_int_equal(n, 4);
	assert_string_equal(t[0].value, "prod");
	assert_string_equal(t[2].key, "team");
	assert_string_equal(t[3].key, "Name");
	assert_string_equal(t[3].value, "db backup");
	assert_int_equal(plan_create_description(p, 0, desc, sizeof(desc)),
	    0);
	assert_string_equal(desc, "\xc3\xa9t\xc3\xa9 backup");
	/* Truncation never splits a UTF-8 sequence. */
	assert_int_equal(plan_create_description(p, 0, desc, 5), 0);
	assert_string_equal(desc, "\xc3\xa9t");
	assert_int_equal(plan_create_description(p, 0, desc, 4), 0);
	assert_string_equal(desc, "\xc3\xa9t");
	assert_int_equal(plan_create_description(p, 0, desc, 2), 0);
	assert_string_equal(desc, "");
	plan_free(p);

	/* Not a create: no tags, no description. */
	struct inv_snapshot s = { .id = "snap-t", .owner = "prod",
	    .date = INV_NO_DATE, .state = INV_PENDING };
	v.snapshots = &s;
	v.nsnapshots = 1;
	p = plan_new(0);
	assert_non_null(p);
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), &in, 1), 0);
	assert_int_equal(plan_create_tags(p, 0, t, PLAN_TAGS_MAX), 0);
	assert_int_equal(plan_create_description(p, 0, desc, sizeof(desc)),
	    -1);
	plan_free(p);
}

/* copy_tags: the volume's tags go on its snapshots; snapshot_tags win. */
static void
test_copied_tags(void **state)
{
	static char kn[] = "Name", kc[] = "CostCenter", km[] = "Missing",
	    vc[] = "ops";
	struct inv_tag vt[3] = { { "Name", "orders db" }, { "CostCenter",
	    "1234" }, { "Owner", "ann" } };
	struct inv_volume v = { .id = "vol-0abc", .exists = true,
	    .complete = true, .tags = vt, .ntags = 3 };
	char *copy[3] = { kn, kc, km };
	struct policy_tag st[1] = { { kc, vc, 1 } };
	struct policy pol = make_policy(3);
	struct plan_input in = { .volume = &v };
	struct plan_tag t[PLAN_TAGS_MAX];
	struct plan *p;
	size_t n;

	(void)state;
	pol.copy_tags = copy;
	pol.ncopy_tags = 3;
	p = plan_new(utc("2026-11-17T03:00:00Z"));
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), &in, 1), 0);
	n = plan_create_tags(p, 0, t, PLAN_TAGS_MAX);
	assert_int_equal(n, 4);
	assert_string_equal(t[2].key, "Name");
	assert_string_equal(t[2].value, "orders db");
	assert_string_equal(t[3].key, "CostCenter");
	assert_string_equal(t[3].value, "1234");
	plan_free(p);

	pol.snapshot_tags = st;
	pol.nsnapshot_tags = 1;
	p = plan_new(utc("2026-11-17T03:00:00Z"));
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), &in, 1), 0);
	n = plan_create_tags(p, 0, t, PLAN_TAGS_MAX);
	assert_int_equal(n, 4);
	assert_string_equal(t[2].value, "orders db");
	assert_string_equal(t[3].key, "CostCenter");
	assert_string_equal(t[3].value, "ops");
	plan_free(p);
}

/* --- properties over random inventories --- */

static uint64_t
rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned
pick(uint64_t *s, unsigned n)
{
	return (unsigned)(rng(s) % n);
}

struct world {
	struct policy pol;
	struct tz *zone;
	int64_t now;
	struct inv_volume vols[3];
	struct plan_input in[3];
	size_t nvols;
	unsigned next_id;
};

static bool
belongs(const struct policy *pol, const struct inv_snapshot *s)
{
	return s->owner == NULL ? pol->adopt : strcmp(s->owner, pol->name) == 0;
}

static bool
candidate(const struct policy *pol, const struct inv_snapshot *s)
{
	return belongs(pol, s) && !(s->flags & INV_PROTECTED) &&
	    s->ami == NULL && (s->state == INV_PENDING ||
	    s->state == INV_COMPLETED);
}

static void
world_free(struct world *w)
{
	for (size_t v = 0; v < w->nvols; v++)
		free(w->vols[v].snapshots);
}

static void
gen_world(uint64_t *seed, struct world *w)
{
	static const char *const owners[] = { "prod", "prod", "prod", "prod",
	    "prod", "staging", NULL, NULL };
	static const uint8_t states[] = { INV_COMPLETED, INV_COMPLETED,
	    INV_COMPLETED, INV_COMPLETED, INV_COMPLETED, INV_COMPLETED,
	    INV_COMPLETED, INV_PENDING, INV_ERROR, INV_RECOVERABLE,
	    INV_RECOVERING, INV_UNKNOWN };

	memset(w, 0, sizeof(*w));
	w->pol = make_policy(1 + (int)pick(seed, 6));
	if (pick(seed, 2)) {
		w->pol.retain.daily = (int)pick(seed, 5);
		w->pol.retain.weekly = (int)pick(seed, 4);
		w->pol.retain.monthly = (int)pick(seed, 4);
		w->pol.retain.yearly = (int)pick(seed, 3);
	}
	w->pol.adopt = pick(seed, 4) == 0;
	w->pol.max_deletes = pick(seed, 5) == 0 ? (long)pick(seed, 6) : -1;
	w->zone = zones[pick(seed, 4)];
	w->now = utc("2025-01-01T00:00:00Z") + (int64_t)pick(seed, 400 * 86400);
	w->nvols = 1 + pick(seed, 3);
	for (size_t v = 0; v < w->nvols; v++) {
		struct inv_volume *vol = &w->vols[v];
		size_t n = pick(seed, 31);

		snprintf(vol->id, sizeof(vol->id), "vol-%u", pick(seed, 1000) *
		    3 + (unsigned)v);
		vol->exists = pick(seed, 10) != 0;
		vol->complete = pick(seed, 10) != 0;
		vol->snapshots = calloc(n ? n : 1, sizeof(*vol->snapshots));
		assert_non_null(vol->snapshots);
		vol->nsnapshots = n;
		for (size_t i = 0; i < n; i++) {
			struct inv_snapshot *s = &vol->snapshots[i];

			snprintf(s->id, sizeof(s->id), "snap-%08x",
			    w->next_id++ * 2654435761u);
			/* Same start as the previous one now and then. */
			if (i > 0 && pick(seed, 5) == 0)
				s->start = s[-1].start;
			else
				s->start = w->now - 1 -
				    (int64_t)pick(seed, 60 * 86400);
			s->owner = owners[pick(seed, 8)];
			s->state = states[pick(seed, sizeof(states))];
			s->flags = pick(seed, 20) == 0 ? INV_PROTECTED : 0;
			s->ami = pick(seed, 20) == 0 ? "ami-0123" : NULL;
			s->date = INV_NO_DATE;
			if (pick(seed, 2))
				s->date = (int32_t)tz_local_day(w->zone,
				    s->start) - (pick(seed, 10) == 0);
		}
		w->in[v].volume = vol;
		w->in[v].keep = pick(seed, 3) == 0 ? 1 + (int)pick(seed, 4) : 0;
	}
}

/* The inventory snapshot an action shows, found by address. */
static const struct inv_snapshot *
snap_of(const struct world *w, const char *id, size_t *vol, size_t *idx)
{
	const struct inv_snapshot *s = (const struct inv_snapshot *)
	    (const void *)(id - offsetof(struct inv_snapshot, id));

	for (size_t v = 0; v < w->nvols; v++) {
		const struct inv_volume *iv = &w->vols[v];
		if (iv->nsnapshots > 0 && s >= iv->snapshots &&
		    s < iv->snapshots + iv->nsnapshots) {
			*vol = v;
			*idx = (size_t)(s - iv->snapshots);
			return s;
		}
	}
	fail_msg("action names a snapshot outside the inventory");
	return NULL;
}

static const struct inv_snapshot *
newest_completed(const struct world *w, const struct inv_volume *vol)
{
	const struct inv_snapshot *best = NULL;
	int64_t bday = 0;

	/* Newest by day (tag, else local day of the start), start, id. */
	for (size_t i = 0; i < vol->nsnapshots; i++) {
		const struct inv_snapshot *s = &vol->snapshots[i];
		int64_t day = s->date != INV_NO_DATE ? s->date :
		    tz_local_day(w->zone, s->start);
		if (!candidate(&w->pol, s) || s->state != INV_COMPLETED)
			continue;
		if (best == NULL || day > bday || (day == bday &&
		    (s->start > best->start || (s->start == best->start &&
		    strcmp(s->id, best->id) < 0)))) {
			best = s;
			bday = day;
		}
	}
	return best;
}

static int
cmp_actions(const struct plan_action *a, const struct plan_action *b)
{
	int c;

	if ((a->volume == NULL) != (b->volume == NULL))
		return a->volume == NULL ? 1 : -1;
	if (a->volume != NULL && (c = strcmp(a->volume, b->volume)) != 0)
		return c;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if ((a->snapshot == NULL) != (b->snapshot == NULL))
		return a->snapshot == NULL ? -1 : 1;
	if (a->snapshot == NULL)
		return 0;
	if (a->date != b->date)
		return a->date > b->date ? -1 : 1;
	if (a->start != b->start)
		return a->start > b->start ? -1 : 1;
	return strcmp(a->snapshot, b->snapshot) > 0 ? 1 : 0;
}

/* What one plan does, as the checks and apply() need it. */
struct outcome {
	bool *del[3];              /* per snapshot of each volume */
	bool created[3];
	size_t ncreate, ndelete;
	/* Ids the plan keeps only as the newest completed. */
	char newest[3][INV_ID_MAX + 1];
};

static void
outcome_free(struct outcome *o)
{
	for (size_t v = 0; v < 3; v++)
		free(o->del[v]);
}

/* Checks the safety and shape rules of p over w and fills o. */
static void
check_plan(const struct world *w, const struct plan *p, struct outcome *o)
{
	size_t *seen[3], volume_lines[3] = { 0, 0, 0 };
	struct plan_action a, prev = { 0 };

	memset(o, 0, sizeof(*o));
	for (size_t v = 0; v < 3; v++) {
		size_t n = v < w->nvols ? w->vols[v].nsnapshots : 0;
		o->del[v] = calloc(n + 1, sizeof(bool));
		seen[v] = calloc(n + 1, sizeof(size_t));
		assert_true(o->del[v] != NULL && seen[v] != NULL);
	}
	for (size_t i = 0; i < plan_nactions(p); i++) {
		const struct inv_snapshot *s;
		char reason[PLAN_REASON_MAX];
		size_t v = 0, k = 0;

		plan_action_get(p, i, &a);
		plan_action_reason(p, i, reason, sizeof(reason));
		if (i > 0 && cmp_actions(&prev, &a) > 0)
			fail_msg("action %zu out of order", i);
		prev = a;
		assert_string_equal(a.policy, "prod");
		if (a.volume == NULL) {
			/* Only max_deletes speaks for the whole policy. */
			assert_int_equal(a.kind, PLAN_WARN);
			assert_true(w->pol.max_deletes >= 0);
			continue;
		}
		if (a.snapshot == NULL) {
			while (v < w->nvols &&
			    strcmp(w->vols[v].id, a.volume) != 0)
				v++;
			assert_true(v < w->nvols);
			if (a.kind == PLAN_CREATE || a.kind == PLAN_SKIP ||
			    strstr(reason, "volume not found") != NULL)
				volume_lines[v]++;
			if (a.kind == PLAN_CREATE) {
				/* Never on a listing that may hide today's. */
				assert_true(w->vols[v].exists &&
				    w->vols[v].complete);
				o->created[v] = true;
				o->ncreate++;
			}
			continue;
		}
		s = snap_of(w, a.snapshot, &v, &k);
		assert_string_equal(a.volume, w->vols[v].id);
		assert_int_equal(a.state, s->state);
		seen[v][k]++;
		if (!belongs(&w->pol, s))
			assert_int_equal(a.kind, PLAN_KEEP);
		if (a.kind == PLAN_DELETE) {
			/* Never a non-belonging, pending, protected,
			 * AMI-used or newest completed snapshot. */
			o->del[v][k] = true;
			o->ndelete++;
			assert_true(belongs(&w->pol, s));
			assert_int_equal(s->state, INV_COMPLETED);
			assert_false(s->flags & INV_PROTECTED);
			assert_null(s->ami);
			assert_true(w->vols[v].exists && w->vols[v].complete);
			assert_ptr_not_equal(s,
			    newest_completed(w, &w->vols[v]));
		} else {
			assert_true(a.kind == PLAN_KEEP || a.kind == PLAN_WARN);
			if (strncmp(reason, "newest completed", 16) == 0)
				snprintf(o->newest[v], sizeof(o->newest[v]),
				    "%s", s->id);
		}
	}
	if (w->pol.max_deletes >= 0)
		assert_true(o->ndelete <= (size_t)w->pol.max_deletes);
	for (size_t v = 0; v < w->nvols; v++) {
		/* Every snapshot exactly once; one create, skip or
		 * volume-not-found line per volume, except that an
		 * incomplete listing creates nothing. */
		for (size_t k = 0; k < w->vols[v].nsnapshots; k++)
			assert_int_equal(seen[v][k], 1);
		if (w->vols[v].exists && !w->vols[v].complete)
			assert_true(volume_lines[v] <= 1);
		else
			assert_int_equal(volume_lines[v], 1);
	}
	for (size_t v = 0; v < 3; v++)
		free(seen[v]);
}

/*
 * Applies a plan as the executor does when everything succeeds: deleted
 * snapshots go, and each create becomes a completed snapshot started at
 * now, tagged with today's date (or, every other time, untagged, as an
 * older version would leave it).
 */
static void
apply(struct world *w, const struct outcome *o)
{
	int32_t today = (int32_t)tz_local_day(w->zone, w->now);

	for (size_t v = 0; v < w->nvols; v++) {
		struct inv_volume *vol = &w->vols[v];
		struct inv_snapshot *n = calloc(vol->nsnapshots + 1,
		    sizeof(*n));
		size_t m = 0;

		assert_non_null(n);
		for (size_t k = 0; k < vol->nsnapshots; k++)
			if (!o->del[v][k])
				n[m++] = vol->snapshots[k];
		if (o->created[v]) {
			snprintf(n[m].id, sizeof(n[m].id), "snap-new%08u",
			    w->next_id++);
			n[m].start = w->now;
			n[m].owner = "prod";
			n[m].state = INV_COMPLETED;
			n[m].date = w->next_id % 2 ? today : INV_NO_DATE;
			m++;
		}
		free(vol->snapshots);
		vol->snapshots = n;
		vol->nsnapshots = m;
	}
}

static struct plan *
plan_world(const struct world *w)
{
	struct plan *p = plan_new(w->now);

	assert_non_null(p);
	assert_int_equal(plan_add_policy(p, &w->pol, w->zone, w->in,
	    w->nvols), 0);
	return p;
}

static size_t
count_candidates(const struct world *w, size_t v)
{
	size_t n = 0;

	for (size_t k = 0; k < w->vols[v].nsnapshots; k++)
		n += candidate(&w->pol, &w->vols[v].snapshots[k]);
	return n;
}

static void
test_properties(void **state)
{
	uint64_t seed = 0x5eed;
	size_t ndeletes = 0, ncreates = 0, nheld = 0;

	(void)state;
	for (int iter = 0; iter < 4000; iter++) {
		struct outcome o1, o2, o3;
		struct world w;
		size_t ncand[3];
		struct plan *p, *q;

		gen_world(&seed, &w);
		for (size_t v = 0; v < w.nvols; v++)
			ncand[v] = count_candidates(&w, v);

		p = plan_world(&w);
		check_plan(&w, p, &o1);
		ndeletes += o1.ndelete;
		ncreates += o1.ncreate;
		for (size_t v = 0; v < w.nvols; v++)
			nheld += o1.newest[v][0] != '\0';

		/* Determinism: the same plan from reordered inputs. */
		{
			struct world w2 = w;
			char a[512], b[512];

			for (size_t v = 0; v < w.nvols; v++)
				w2.in[v] = w.in[w.nvols - 1 - v];
			q = plan_world(&w2);
			assert_int_equal(plan_nactions(q), plan_nactions(p));
			for (size_t i = 0; i < plan_nactions(p); i++) {
				action_line(p, i, a, sizeof(a));
				action_line(q, i, b, sizeof(b));
				assert_string_equal(a, b);
			}
			plan_free(q);
		}
		plan_free(p);

		/* After applying, each volume holds at least
		 * min(keep, candidates), the create among them. */
		apply(&w, &o1);
		for (size_t v = 0; v < w.nvols; v++) {
			size_t keep = (size_t)(w.in[v].keep > 0 ?
			    w.in[v].keep : w.pol.keep);
			size_t want = ncand[v] + o1.created[v];

			assert_true(count_candidates(&w, v) >=
			    (want < keep ? want : keep));
		}

		/*
		 * Planning again at the same now: no create, and no delete
		 * but of what the first plan kept only as the newest
		 * completed (the new snapshot has completed since).
		 */
		p = plan_world(&w);
		check_plan(&w, p, &o2);
		plan_free(p);
		assert_int_equal(o2.ncreate, 0);
		for (size_t v = 0; v < w.nvols; v++) {
			for (size_t k = 0; k < w.vols[v].nsnapshots; k++) {
				if (!o2.del[v][k])
					continue;
				assert_string_equal(w.vols[v].snapshots[k].id,
				    o1.newest[v]);
				assert_true(o1.created[v]);
			}
		}
		apply(&w, &o2);

		/* And a third plan changes nothing. */
		p = plan_world(&w);
		check_plan(&w, p, &o3);
		plan_free(p);
		assert_int_equal(o3.ncreate, 0);
		assert_int_equal(o3.ndelete, 0);

		outcome_free(&o1);
		outcome_free(&o2);
		outcome_free(&o3);
		world_free(&w);
	}
	/* The generator reaches the interesting cases. */
	assert_true(ndeletes > 5000);
	assert_true(ncreates > 2000);
	assert_true(nheld > 200);
}

/* --- long simulations of daily runs --- */

static void
sim_world(struct world *w, struct tz *z, int keep)
{
	memset(w, 0, sizeof(*w));
	w->pol = make_policy(keep);
	w->zone = z;
	w->nvols = 1;
	snprintf(w->vols[0].id, sizeof(w->vols[0].id), "vol-sim");
	w->vols[0].exists = true;
	w->vols[0].complete = true;
	w->in[0].volume = &w->vols[0];
}

/* Around 03:00 local on day, give or take the hour of a DST change. */
static int64_t
run_time(const struct world *w, int32_t day, uint64_t *seed)
{
	struct tz_tm tm;
	int64_t now;

	tz_to_local(w->zone, (int64_t)day * 86400 + 12 * 3600, &tm);
	now = (int64_t)day * 86400 + 3 * 3600 - tm.gmtoff +
	    (int64_t)pick(seed, 3600);
	assert_int_equal(tz_local_day(w->zone, now), day);
	return now;
}

static int32_t
snap_day(const struct world *w, const struct inv_snapshot *s)
{
	return s->date != INV_NO_DATE ? s->date :
	    (int32_t)tz_local_day(w->zone, s->start);
}

/* Runs one day: plan, check, apply; returns the outcome's counts. */
static void
sim_run(struct world *w, struct outcome *o)
{
	struct plan *p = plan_world(w);

	check_plan(w, p, o);
	plan_free(p);
	apply(w, o);
}

static int
cmp_day_desc(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x < y) - (x > y);
}

static size_t
sim_days(const struct world *w, int32_t *days)
{
	size_t n = w->vols[0].nsnapshots;

	for (size_t k = 0; k < n; k++)
		days[k] = snap_day(w, &w->vols[0].snapshots[k]);
	qsort(days, n, sizeof(*days), cmp_day_desc);
	return n;
}

static void
test_simulation_keep(void **state)
{
	static const int keeps[] = { 1, 2, 3, 7, 30 };
	uint64_t seed = 400;
	int32_t first = day_of(2024, 1, 1), days[64];

	(void)state;
	for (size_t z = 0; z < 4; z++) {
		for (size_t ki = 0; ki < sizeof(keeps) / sizeof(keeps[0]);
		    ki++) {
			int keep = keeps[ki];
			struct world w;
			struct outcome o;

			sim_world(&w, zones[z], keep);
			for (int32_t d = 0; d < 400; d++) {
				size_t want = (size_t)(keep == 1 ? 2 : keep);

				w.now = run_time(&w, first + d, &seed);
				sim_run(&w, &o);
				assert_int_equal(o.ncreate, 1);
				outcome_free(&o);
				if (want > (size_t)d + 1)
					want = (size_t)d + 1;
				assert_int_equal(w.vols[0].nsnapshots, want);
			}
			/* Once the last snapshot has completed, a run at the
			 * same time leaves exactly keep, the last keep days. */
			sim_run(&w, &o);
			assert_int_equal(o.ncreate, 0);
			outcome_free(&o);
			assert_int_equal(sim_days(&w, days), (size_t)keep);
			for (int i = 0; i < keep; i++)
				assert_int_equal(days[i], first + 399 - i);
			world_free(&w);
		}
	}
}

/* ISO 8601 week as year * 100 + week, from the Thursday of the week. */
static int64_t
iso_week(int32_t day)
{
	int wd = (int)(((day + 4) % 7 + 7) % 7);   /* 0 = Sunday */
	int32_t thursday = day - (wd + 6) % 7 + 3;
	int y, m, d;

	tz_civil_from_days(thursday, &y, &m, &d);
	return (int64_t)y * 100 +
	    (thursday - tz_days_from_civil(y, 1, 1)) / 7 + 1;
}

static int64_t
period(int32_t day, int rule)
{
	int y, m, d;

	tz_civil_from_days(day, &y, &m, &d);
	switch (rule) {
	case 0: return day;
	case 1: return iso_week(day);
	case 2: return (int64_t)y * 100 + m;
	default: return y;
	}
}

/*
 * The obvious reading of the rules on the whole history (distinct days,
 * newest first): the newest keep days, and for each rule the newest day
 * of each of its newest count periods.
 */
static void
reference_kept(const int32_t *days, size_t n, int keep,
    const struct policy_retain *r, bool *kept)
{
	const int count[4] = { r->daily, r->weekly, r->monthly, r->yearly };

	for (size_t i = 0; i < n; i++)
		kept[i] = i < (size_t)keep;
	for (int k = 0; k < 4; k++) {
		int periods = 0;
		for (size_t i = 0; i < n; i++) {
			bool newest_of_period = i == 0 ||
			    period(days[i], k) != period(days[i - 1], k);
			periods += newest_of_period;
			if (newest_of_period && periods <= count[k])
				kept[i] = true;
		}
	}
}

static void
test_simulation_retain(void **state)
{
	static const int counts[] = { 0, 1, 2, 3, 4, 7, 12 };
	uint64_t seed = 800;
	int32_t first = day_of(2023, 6, 1);
	int32_t *history = calloc(800, sizeof(int32_t));
	int32_t *have = calloc(801, sizeof(int32_t));
	bool *kept = calloc(800, sizeof(bool));

	(void)state;
	assert_true(history != NULL && have != NULL && kept != NULL);
	for (int config = 0; config < 24; config++) {
		struct world w;
		struct outcome o;
		size_t nhist = 0;

		sim_world(&w, zones[config % 4], 1 + (int)pick(&seed, 3));
		w.pol.retain.daily = counts[pick(&seed, 7)];
		w.pol.retain.weekly = counts[pick(&seed, 7)];
		w.pol.retain.monthly = counts[pick(&seed, 7)];
		w.pol.retain.yearly = counts[pick(&seed, 4)];
		for (int32_t d = 0; d < 800; d++) {
			/* Cron misses a day now and then. */
			if (d > 0 && pick(&seed, 10) == 0)
				continue;
			w.now = run_time(&w, first + d, &seed);
			sim_run(&w, &o);
			outcome_free(&o);
			memmove(history + 1, history, nhist * sizeof(*history));
			history[0] = first + d;
			nhist++;

			/* Everything the reference keeps is there; besides
			 * it, at most the previous run's snapshot, held as
			 * the newest completed. */
			reference_kept(history, nhist, w.pol.keep,
			    &w.pol.retain, kept);
			size_t n = sim_days(&w, have), j = 0;
			for (size_t i = 0; i < nhist; i++) {
				while (j < n && have[j] > history[i])
					j++;
				bool present = j < n && have[j] == history[i];
				if (kept[i])
					assert_true(present);
				else if (present)
					assert_int_equal(i, 1);
			}
		}
		/* Once the last snapshot has completed: exactly the
		 * reference. */
		sim_run(&w, &o);
		outcome_free(&o);
		reference_kept(history, nhist, w.pol.keep, &w.pol.retain,
		    kept);
		size_t n = sim_days(&w, have), j = 0;
		for (size_t i = 0; i < nhist; i++) {
			if (!kept[i])
				continue;
			assert_true(j < n);
			assert_int_equal(have[j], history[i]);
			j++;
		}
		assert_int_equal(j, n);
		world_free(&w);
	}
	free(history);
	free(have);
	free(kept);
}


/* --- instance sets: the same engine --- */

/* s with every word that names a snapshot or a volume as the set and
 * instance words would, so the two plans' reasons compare. */
static void
normalize(const char *in, char *out, size_t len)
{
	static const char *const from[] = { "set-", "instance not found or "
	    "terminated", "instance", "today's set", "completed sets",
	    "completed set", " sets kept", " set kept", "pending set",
	    NULL };
	static const char *const to[] = { "snap-", "volume not found",
	    "volume", "today's snapshot", "completed snapshots",
	    "completed snapshot", " snapshots kept", " snapshot kept",
	    "pending snapshot", NULL };
	size_t o = 0;

	while (*in != '\0' && o + 1 < len) {
		size_t k;
		for (k = 0; from[k] != NULL; k++)
			if (strncmp(in, from[k], strlen(from[k])) == 0)
				break;
		if (from[k] != NULL) {
			size_t n = strlen(to[k]);
			if (o + n >= len)
				break;
			memcpy(out + o, to[k], n);
			o += n;
			in += strlen(from[k]);
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = '\0';
}

/*
 * Every volume of a random world becomes an instance whose sets stand
 * for its snapshots (one to three snapshots each, all with the
 * snapshot's state, start, day, owner and flags): the plan must do to
 * each set what it does to the snapshot.  Retention has one engine.
 */
static void
test_sets_plan_as_snapshots(void **state)
{
	uint64_t seed = 0x5e75;
	size_t nsets = 0, ndel = 0;

	(void)state;
	for (int iter = 0; iter < 1500; iter++) {
		struct world w;
		struct inventory *inv = inventory_new(false);
		struct plan_input in[3];
		struct plan *p, *q;

		assert_non_null(inv);
		gen_world(&seed, &w);
		for (size_t v = 0; v < w.nvols; v++) {
			const struct inv_volume *vol = &w.vols[v];
			char id[32];
			struct inv_volume *iv;

			snprintf(id, sizeof(id), "i-%s", vol->id + 4);
			iv = inventory_volume(inv, id);
			assert_non_null(iv);
			iv->kind = INV_INSTANCE;
			iv->exists = vol->exists;
			iv->complete = vol->complete;
			memcpy(iv->root, "vol-root", 9);
			assert_int_equal(inventory_attach(inv, iv, "vol-root",
			    "/dev/xvda", true), 0);
			assert_int_equal(inventory_attach(inv, iv, "vol-data",
			    "/dev/sdf", false), 0);
			for (size_t k = 0; k < vol->nsnapshots; k++) {
				const struct inv_snapshot *s =
				    &vol->snapshots[k];
				unsigned m = 1 + pick(&seed, 3);
				struct inv_member mem = { 0 };

				snprintf(mem.set, sizeof(mem.set), "set-%s",
				    s->id + 5);
				mem.size = (uint16_t)m;
				for (unsigned j = 0; j < m; j++) {
					struct inv_snapshot ms = *s;
					snprintf(ms.id, sizeof(ms.id),
					    "snap-%s-%u", s->id + 5, j);
					snprintf(mem.volume, sizeof(mem.volume),
					    "vol-%u", j);
					assert_int_equal(inventory_add_member(
					    inv, iv, &ms, s->owner, NULL, &mem,
					    NULL), INV_ADDED);
				}
				nsets++;
			}
			assert_int_equal(inventory_build_sets(inv, iv), 0);
			in[v] = w.in[v];
			in[v].volume = iv;
		}
		p = plan_world(&w);
		q = plan_new(w.now);
		assert_non_null(q);
		assert_int_equal(plan_add_policy(q, &w.pol, w.zone, in,
		    w.nvols), 0);
		assert_int_equal(plan_nactions(p), plan_nactions(q));
		for (size_t i = 0; i < plan_nactions(p); i++) {
			struct plan_action a, b;
			char ra[PLAN_REASON_MAX], rb[PLAN_REASON_MAX];
			char na[PLAN_REASON_MAX], nb[PLAN_REASON_MAX];

			plan_action_get(p, i, &a);
			plan_action_get(q, i, &b);
			assert_int_equal(a.kind, b.kind);
			assert_int_equal(a.date, b.date);
			assert_int_equal(a.start, b.start);
			assert_int_equal(a.needs_create, b.needs_create);
			assert_int_equal(b.instance, b.volume != NULL);
			assert_false(a.instance);
			if (a.snapshot != NULL) {
				normalize(b.snapshot, nb, sizeof(nb));
				assert_string_equal(a.snapshot, nb);
			} else {
				assert_null(b.snapshot);
			}
			if (a.kind == PLAN_DELETE) {
				const char *ids[4];
				size_t m = plan_action_members(q, i, ids, 4);
				assert_true(m >= 1 && m <= 3);
				for (size_t j = 0; j < m; j++)
					assert_true(strncmp(ids[j] + 5,
					    a.snapshot + 5, strlen(a.snapshot)
					    - 5) == 0);
				assert_int_equal(plan_action_members(p, i, ids,
				    4), 1);
				ndel++;
			}
			if (a.kind == PLAN_CREATE)
				continue;   /* it names the set's volumes */
			plan_action_reason(p, i, ra, sizeof(ra));
			plan_action_reason(q, i, rb, sizeof(rb));
			normalize(ra, na, sizeof(na));
			normalize(rb, nb, sizeof(nb));
			assert_string_equal(na, nb);
		}
		plan_free(p);
		plan_free(q);
		world_free(&w);
		inventory_free(inv);
	}
	/* The test saw what it is about. */
	assert_true(nsets > 10000);
	assert_true(ndel > 1000);
}

/* The first warning about a volume or instance itself. */
static size_t
volume_warning(const struct plan *p)
{
	for (size_t i = 0; i < plan_nactions(p); i++) {
		struct plan_action a;
		plan_action_get(p, i, &a);
		if (a.kind == PLAN_WARN && a.snapshot == NULL)
			return i;
	}
	fail_msg("no warning");
	return 0;
}

/* What only instances have: broken sets, the volumes a set will hold,
 * and their tags. */
static void
test_instance_sets(void **state)
{
	struct inventory *inv = inventory_new(false);
	struct inv_volume *iv = inventory_volume(inv, "i-0a1b2c3d");
	struct policy pol = make_policy(1);
	static const char excl[2][POLICY_VOLUME_ID_MAX + 1] = { "vol-0c",
	    "vol-0z" };
	struct plan_input in = { .volume = iv, .exclude = excl,
	    .nexclude = 1, .exclude_boot = true };
	const struct inv_attachment *m[4];
	const char *ex[POLICY_EXCLUDE_MAX], *ids[4];
	struct plan_tag t[PLAN_TAGS_MAX];
	char line[PLAN_REASON_MAX + 64];
	size_t n, nex;
	bool boot;
	struct plan *p;

	(void)state;
	iv->kind = INV_INSTANCE;
	iv->exists = iv->complete = true;
	assert_int_equal(inventory_attach(inv, iv, "vol-0a", "/dev/xvda",
	    true), 0);
	assert_int_equal(inventory_attach(inv, iv, "vol-0b", "/dev/sdf",
	    false), 0);
	assert_int_equal(inventory_attach(inv, iv, "vol-0c", "/dev/sdg",
	    false), 0);
	assert_int_equal(inventory_attach(inv, iv, "vol-0d", "/dev/sdh",
	    false), 0);
	/* Yesterday's set lost a snapshot: kept, with a warning. */
	{
		struct inv_snapshot s = { .start = utc("2026-11-16T03:00:00Z"),
		    .date = INV_NO_DATE, .state = INV_COMPLETED };
		struct inv_member mem = { .volume = "vol-0a", .set = "set-1",
		    .size = 2 };
		memcpy(s.id, "snap-1a", 8);
		assert_int_equal(inventory_add_member(inv, iv, &s, "prod", NULL,
		    &mem, NULL), INV_ADDED);
		s.start -= 86400;
		memcpy(s.id, "snap-2a", 8);
		memcpy(mem.set, "set-2", 6);
		mem.size = 1;
		assert_int_equal(inventory_add_member(inv, iv, &s, "prod", NULL,
		    &mem, NULL), INV_ADDED);
		s.start -= 86400;
		memcpy(s.id, "snap-3a", 8);
		memcpy(mem.set, "set-3", 6);
		assert_int_equal(inventory_add_member(inv, iv, &s, "prod", NULL,
		    &mem, NULL), INV_ADDED);
	}
	assert_int_equal(inventory_build_sets(inv, iv), 0);
	p = plan_new(utc("2026-11-17T03:00:00Z"));
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), &in, 1), 0);
	assert_int_equal(plan_nactions(p), 4);
	action_line(p, 0, line, sizeof(line));
	assert_string_equal(line, "create - 2026-11-17 no set for today yet "
	    "(2 volumes); takes keep #1");
	/* Exclusions: the root by exclude_boot, vol-0c by id; only an
	 * attached volume is named to EC2. */
	n = plan_create_members(p, 0, m, 4, &boot, ex, &nex);
	assert_int_equal(n, 2);
	assert_string_equal(m[0]->volume, "vol-0b");
	assert_string_equal(m[0]->device, "/dev/sdf");
	assert_string_equal(m[1]->volume, "vol-0d");
	assert_true(boot);
	assert_int_equal(nex, 1);
	assert_string_equal(ex[0], "vol-0c");
	n = plan_create_tags(p, 0, t, PLAN_TAGS_MAX);
	assert_int_equal(n, 5);
	assert_string_equal(t[2].key, "ec2backup:instance");
	assert_string_equal(t[2].value, "i-0a1b2c3d");
	assert_string_equal(t[3].key, "ec2backup:set-size");
	assert_string_equal(t[3].value, "2");
	assert_string_equal(t[4].key, "Name");
	action_line(p, 1, line, sizeof(line));
	/* The newest whole set goes with keep = 1 only after today's. */
	assert_string_equal(line, "keep set-2 2026-11-15 newest completed "
	    "set, kept until a newer one completes");
	action_line(p, 2, line, sizeof(line));
	assert_string_equal(line, "delete set-3 2026-11-14 beyond keep=1 "
	    "(3rd newest), no retain rule");
	assert_int_equal(plan_action_members(p, 2, ids, 4), 1);
	assert_string_equal(ids[0], "snap-3a");
	action_line(p, 3, line, sizeof(line));
	assert_string_equal(line, "warn set-1 2026-11-16 set is not whole: 1 "
	    "of its 2 snapshots listed; kept, never deleted automatically");
	plan_free(p);

	/* With copy_volume_tags, EC2 copies each volume's Name. */
	pol.copy_volume_tags = true;
	p = plan_new(utc("2026-11-17T03:00:00Z"));
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), &in, 1), 0);
	assert_int_equal(plan_create_tags(p, 0, t, PLAN_TAGS_MAX), 4);
	plan_free(p);

	/* The root volume in exclude_volumes: EC2 refuses it. */
	in.exclude_boot = false;
	{
		static const char root[1][POLICY_VOLUME_ID_MAX + 1] = {
		    "vol-0a" };
		in.exclude = root;
		p = plan_new(utc("2026-11-17T03:00:00Z"));
		assert_int_equal(plan_add_policy(p, &pol, zone(NULL), &in, 1),
		    0);
		action_line(p, volume_warning(p), line, sizeof(line));
		assert_string_equal(line, "warn - 2026-11-17 exclude_volumes "
		    "names the root volume vol-0a, which EC2 refuses: nothing "
		    "created");
		plan_free(p);
	}
	/* Nothing left to snapshot. */
	iv->nattached = 1;
	in.exclude_boot = true;
	in.nexclude = 0;
	p = plan_new(utc("2026-11-17T03:00:00Z"));
	assert_int_equal(plan_add_policy(p, &pol, zone(NULL), &in, 1), 0);
	action_line(p, volume_warning(p), line, sizeof(line));
	assert_string_equal(line, "warn - 2026-11-17 no attached EBS volume is "
	    "left to snapshot (1 attached): nothing created");
	plan_free(p);
	inventory_free(inv);
}

int
main(void)
{
	const size_t ncases = sizeof(cases) / sizeof(cases[0]);
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_worked_example),
		cmocka_unit_test(test_api),
		cmocka_unit_test(test_create_tags),
		cmocka_unit_test(test_copied_tags),
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_simulation_keep),
		cmocka_unit_test(test_simulation_retain),
		cmocka_unit_test(test_sets_plan_as_snapshots),
		cmocka_unit_test(test_instance_sets),
	};
	const size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(ncases + nfixed, sizeof(*tests));
	int rc;

	if (tests == NULL)
		return 1;
	/* One cmocka test per named case, under the case's name. */
	for (size_t i = 0; i < ncases; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = test_case;
		tests[i].initial_state = (void *)(uintptr_t)&cases[i];
	}
	memcpy(tests + ncases, fixed, sizeof(fixed));
	/* The function behind cmocka_run_group_tests, which needs an array
	 * whose size is known at compile time. */
	rc = _cmocka_run_group_tests("plan", tests, ncases + nfixed,
	    load_zones, free_zones);
	free(tests);
	return rc;
}

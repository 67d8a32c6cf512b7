/*
 * Tests of src/report.c: the text layout of a small plan, the JSON read
 * back with json-c, and write errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json.h>

#include "inventory.h"
#include "plan.h"
#include "policy.h"
#include "report.h"
#include "tz.h"

/* 2026-11-17 03:00 UTC */
#define NOW ((int64_t)20774 * 86400 + 3 * 3600)

static char prod_name[] = "production", qa_name[] = "qa",
    utc_name[] = "UTC";

struct fixture {
	struct tz *zone;
	struct inv_snapshot a[4], b[2], c[3];
	struct inv_volume va, vb, vc;
	struct policy prod, qa;
	struct plan *plan;
};

static void
snap(struct inv_snapshot *s, const char *id, int32_t day,
    const char *owner)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->start = (int64_t)day * 86400 + 3 * 3600;
	s->owner = owner;
	s->date = INV_NO_DATE;
	s->state = INV_COMPLETED;
}

/*
 * production: vol-0abc with three of its snapshots (keep = 2) and one of
 * another owner whose name needs escaping; vol-0def, gone.  qa: vol-0123,
 * whose two deletions exceed max_deletes = 1.
 */
static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[64];

	if (f == NULL || tz_load("UTC", &f->zone, err, sizeof(err)) != 0)
		return -1;
	snap(&f->a[0], "snap-0a1", 20773, "production");
	snap(&f->a[1], "snap-0a2", 20772, "production");
	snap(&f->a[2], "snap-0a3", 20771, "production");
	snap(&f->a[3], "snap-0a4", 20771, "we\"ird\\\n/name");
	f->va = (struct inv_volume){ .id = "vol-0abc", .exists = true,
	    .complete = true, .snapshots = f->a, .nsnapshots = 4 };
	snap(&f->b[0], "snap-0b1", 20773, "production");
	snap(&f->b[1], "snap-0b2", 20772, "production");
	f->b[1].state = INV_PENDING;
	f->vb = (struct inv_volume){ .id = "vol-0def", .exists = false,
	    .complete = true, .snapshots = f->b, .nsnapshots = 2 };
	snap(&f->c[0], "snap-0c1", 20774, "qa");
	snap(&f->c[1], "snap-0c2", 20773, "qa");
	snap(&f->c[2], "snap-0c3", 20772, "qa");
	f->vc = (struct inv_volume){ .id = "vol-0123", .exists = true,
	    .complete = true, .snapshots = f->c, .nsnapshots = 3 };

	f->prod.name = prod_name;
	f->prod.timezone = utc_name;
	f->prod.keep = 2;
	f->prod.max_deletes = -1;
	f->qa = f->prod;
	f->qa.name = qa_name;
	f->qa.keep = 1;
	f->qa.max_deletes = 1;

	struct plan_input pin[2] = { { .volume = &f->vb },
	    { .volume = &f->va } };
	struct plan_input qin = { .volume = &f->vc };
	f->plan = plan_new(NOW);
	if (f->plan == NULL ||
	    plan_add_policy(f->plan, &f->prod, f->zone, pin, 2) != 0 ||
	    plan_add_policy(f->plan, &f->qa, f->zone, &qin, 1) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	plan_free(f->plan);
	tz_free(f->zone);
	free(f);
	return 0;
}

static int
plain_text(FILE *out, const struct plan *plan)
{
	return report_plan_text(out, plan, false);
}

static int
colour_text(FILE *out, const struct plan *plan)
{
	return report_plan_text(out, plan, true);
}

/* Renders with fn into a string the caller frees. */
static char *
render(int (*fn)(FILE *, const struct plan *), const struct plan *plan)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(f, plan), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static const char expected_text[] =
"production  vol-0abc  create  -         2026-11-17  no snapshot for today yet; takes keep #1\n"
"production  vol-0abc  keep    snap-0a1  2026-11-16  keep #2\n"
"production  vol-0abc  keep    snap-0a4  2026-11-14  owned by policy we\"ird\\\\\\n/name\n"
"production  vol-0abc  delete  snap-0a2  2026-11-15  beyond keep=2 (3rd newest), no retain rule; waits for today's snapshot\n"
"production  vol-0abc  delete  snap-0a3  2026-11-14  beyond keep=2 (4th newest), no retain rule\n"
"production  vol-0def  keep    snap-0b1  2026-11-16  keep #1\n"
"production  vol-0def  keep    snap-0b2  2026-11-15  keep #2\n"
"production  vol-0def  warn    -         2026-11-17  volume not found: nothing created or deleted, 2 snapshots kept\n"
"qa          vol-0123  skip    -         2026-11-17  today's snapshot snap-0c1 exists\n"
"qa          vol-0123  keep    snap-0c1  2026-11-17  keep #1\n"
"qa          vol-0123  keep    snap-0c2  2026-11-16  held (max_deletes=1 exceeded): beyond keep=1 (2nd newest), no retain rule\n"
"qa          vol-0123  keep    snap-0c3  2026-11-15  held (max_deletes=1 exceeded): beyond keep=1 (3rd newest), no retain rule\n"
"qa          -         warn    -         2026-11-17  2 deletions exceed max_deletes=1: none deleted\n"
"1 create, 1 skip, 7 keep, 2 delete, 2 warnings\n";

static void
test_text(void **state)
{
	struct fixture *f = *state;
	char *text = render(plain_text, f->plan);

	if (strcmp(text, expected_text) != 0) {
		print_message("%s", text);
		fail_msg("the text above differs from the expected text");
	}
	free(text);
}

/* On a terminal the action word is coloured, and only it. */
static void
test_text_colour(void **state)
{
	struct fixture *f = *state;
	char *text = render(colour_text, f->plan);

	assert_non_null(strstr(text, "production  vol-0abc  \033[32mcreate"
	    "\033[0m  -         2026-11-17  no snapshot for today yet"));
	assert_non_null(strstr(text, "\033[31mdelete\033[0m  snap-0a2"));
	assert_non_null(strstr(text, "\033[1;33mwarn\033[0m    -  "));
	assert_non_null(strstr(text, "vol-0abc  keep    snap-0a1"));
	free(text);
}

static void
test_text_columns(void **state)
{
	struct fixture *f = *state;
	char *text = render(plain_text, f->plan);
	size_t col[5] = { 0 }, nlines = 0;

	/* Every line but the summary starts its columns at the same
	 * offsets. */
	for (char *line = text, *nl; (nl = strchr(line, '\n')) != NULL;
	    line = nl + 1) {
		if (strncmp(line, "1 create, ", 10) == 0)
			break;
		size_t pos = 0, k = 0;
		for (char *p = line; p < nl && k < 5; p++, pos++) {
			if (p[0] == ' ' && p[1] == ' ' && p[2] != ' ') {
				if (nlines == 0)
					col[k] = pos + 2;
				else
					assert_int_equal(col[k], pos + 2);
				k++;
			}
		}
		assert_int_equal(k, 5);
		nlines++;
	}
	assert_int_equal(nlines, plan_nactions(f->plan));
	free(text);
}

static void
test_text_empty(void **state)
{
	struct plan *p = plan_new(0);
	char *text;

	(void)state;
	assert_non_null(p);
	text = render(plain_text, p);
	assert_string_equal(text, "0 create, 0 skip, 0 keep, 0 delete\n");
	free(text);
	text = render(report_plan_json, p);
	assert_string_equal(text, "{\"now\":\"1970-01-01T00:00:00Z\","
	    "\"actions\":[\n],\"summary\":{\"create\":0,\"skip\":0,"
	    "\"keep\":0,\"delete\":0,\"warnings\":0}}\n");
	free(text);
	plan_free(p);
}

static const char *
field(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		fail_msg("no field %s", key);
	if (v == NULL)
		return NULL;
	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static int64_t
count(struct json_object *obj, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(obj, key, &v));
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

static void
test_json(void **state)
{
	struct fixture *f = *state;
	char *text = render(report_plan_json, f->plan);
	struct json_object *root = json_tokener_parse(text), *actions, *sum;
	char reason[PLAN_REASON_MAX], date[TZ_DATE_MAX];

	assert_non_null(root);
	assert_int_equal(json_object_object_length(root), 3);
	assert_string_equal(field(root, "now"), "2026-11-17T03:00:00Z");
	assert_true(json_object_object_get_ex(root, "actions", &actions));
	assert_true(json_object_is_type(actions, json_type_array));
	assert_int_equal(json_object_array_length(actions),
	    plan_nactions(f->plan));
	for (size_t i = 0; i < plan_nactions(f->plan); i++) {
		struct json_object *o = json_object_array_get_idx(actions, i);
		struct plan_action a;

		plan_action_get(f->plan, i, &a);
		plan_action_reason(f->plan, i, reason, sizeof(reason));
		tz_format_date(a.date, date);
		assert_int_equal(json_object_object_length(o), 7);
		assert_string_equal(field(o, "policy"), a.policy);
		if (a.volume == NULL)
			assert_null(field(o, "volume"));
		else
			assert_string_equal(field(o, "volume"), a.volume);
		assert_string_equal(field(o, "action"),
		    plan_kind_name(a.kind));
		if (a.snapshot == NULL) {
			assert_null(field(o, "snapshot"));
			assert_null(field(o, "state"));
		} else {
			assert_string_equal(field(o, "snapshot"), a.snapshot);
			assert_string_equal(field(o, "state"),
			    inv_state_name(a.state));
		}
		assert_string_equal(field(o, "date"), date);
		assert_string_equal(field(o, "reason"), reason);
	}
	/* The owner's quote, backslash, newline and slash survive. */
	assert_string_equal(field(json_object_array_get_idx(actions, 2),
	    "reason"), "owned by policy we\"ird\\\n/name");
	assert_string_equal(field(json_object_array_get_idx(actions, 5),
	    "state"), "completed");
	assert_string_equal(field(json_object_array_get_idx(actions, 6),
	    "state"), "pending");
	assert_true(json_object_object_get_ex(root, "summary", &sum));
	assert_int_equal(json_object_object_length(sum), 5);
	assert_int_equal(count(sum, "create"), 1);
	assert_int_equal(count(sum, "skip"), 1);
	assert_int_equal(count(sum, "keep"), 7);
	assert_int_equal(count(sum, "delete"), 2);
	assert_int_equal(count(sum, "warnings"), 2);
	/* One action per line, for grep. */
	size_t lines = 0;
	for (const char *p = text; *p != '\0'; p++)
		lines += *p == '\n';
	assert_int_equal(lines, plan_nactions(f->plan) + 2);
	json_object_put(root);
	free(text);
}

static void
test_write_error(void **state)
{
	struct fixture *f = *state;
	FILE *full = fopen("/dev/full", "w");

	if (full == NULL)
		skip();
	assert_int_equal(report_plan_text(full, f->plan, false), -1);
	clearerr(full);
	assert_int_equal(report_plan_json(full, f->plan), -1);
	fclose(full);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_colour),
		cmocka_unit_test(test_text_columns),
		cmocka_unit_test(test_text_empty),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

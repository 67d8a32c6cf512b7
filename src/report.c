/*
 * Plan renderings.  Text is aligned in two passes: the first measures the
 * columns, the second prints, with the reason last so that long reasons
 * never push other columns out of line.  JSON goes through json-c one
 * action at a time; only the fixed punctuation between them is written
 * here, so memory stays flat however long the plan.
 */
#include "report.h"

#include <string.h>

#include "log.h"
#include "text.h"

#include <json.h>

#define REPORT_NONE "-"

/* A line assembled in memory and written at once; stdio's locking per
 * character would cost more than the whole plan. */
struct report_line {
	FILE *out;
	size_t n;
	char buf[512];
};

static void
report_putc(struct report_line *l, char c)
{
	if (l->n == sizeof(l->buf)) {
		fwrite(l->buf, 1, l->n, l->out);
		l->n = 0;
	}
	l->buf[l->n++] = c;
}

/*
 * Adds s (or "-") padded to width; what could break the line or reorder
 * it (a tag value from EC2 may hold anything) is escaped.
 */
static void
report_field(struct report_line *l, const char *s, size_t width)
{
	char safe[PLAN_REASON_MAX * TEXT_ESCAPE_GROWTH];
	size_t n = 0;

	if (s == NULL)
		s = REPORT_NONE;
	if (!text_plain(s)) {
		text_escape(s, safe, sizeof(safe));
		s = safe;
	}
	for (; *s != '\0'; s++, n++)
		report_putc(l, *s);
	for (; n < width; n++)
		report_putc(l, ' ');
}

static size_t
report_width(const char *s)
{
	return strlen(s != NULL ? s : REPORT_NONE);
}

/* Terminal colours for the action column: what changes things stands
 * out, warnings most. */
static const char *
report_tint(enum plan_kind kind)
{
	switch (kind) {
	case PLAN_CREATE: return "\033[32m";
	case PLAN_DELETE: return "\033[31m";
	case PLAN_WARN: return "\033[1;33m";
	default: return NULL;
	}
}

int
report_plan_text(FILE *out, const struct plan *plan, bool colour)
{
	size_t n = plan_nactions(plan);
	size_t wpol = 0, wvol = 0, wact = 0, wsnap = 0;
	struct plan_summary sum;
	struct plan_action a;
	char date[TZ_DATE_MAX], reason[PLAN_REASON_MAX];
	struct report_line line;

	line.out = out;
	for (size_t i = 0; i < n; i++) {
		size_t w;

		plan_action_get(plan, i, &a);
		if ((w = report_width(a.policy)) > wpol)
			wpol = w;
		if ((w = report_width(a.volume)) > wvol)
			wvol = w;
		if ((w = strlen(plan_kind_name(a.kind))) > wact)
			wact = w;
		if ((w = report_width(a.snapshot)) > wsnap)
			wsnap = w;
	}
	for (size_t i = 0; i < n; i++) {
		plan_action_get(plan, i, &a);
		plan_action_reason(plan, i, reason, sizeof(reason));
		tz_format_date(a.date, date);
		line.n = 0;
		report_field(&line, a.policy, wpol + 2);
		report_field(&line, a.volume, wvol + 2);
		if (colour && report_tint(a.kind) != NULL) {
			const char *t = report_tint(a.kind);
			while (*t != '\0')
				report_putc(&line, *t++);
			report_field(&line, plan_kind_name(a.kind), 0);
			for (t = "\033[0m"; *t != '\0'; t++)
				report_putc(&line, *t);
			for (size_t k = strlen(plan_kind_name(a.kind));
			    k < wact + 2; k++)
				report_putc(&line, ' ');
		} else {
			report_field(&line, plan_kind_name(a.kind), wact + 2);
		}
		report_field(&line, a.snapshot, wsnap + 2);
		report_field(&line, date, strlen(date) + 2);
		report_field(&line, reason, 0);
		report_putc(&line, '\n');
		fwrite(line.buf, 1, line.n, out);
	}
	plan_summary(plan, &sum);
	fprintf(out, "%zu create, %zu skip, %zu keep, %zu delete", sum.create,
	    sum.skip, sum.keep, sum.delete);
	if (sum.warn > 0)
		fprintf(out, ", %zu warning%s", sum.warn,
		    sum.warn == 1 ? "" : "s");
	fputc('\n', out);
	/* Flushed here so that a full disk is this call's failure. */
	return fflush(out) == EOF || ferror(out) ? -1 : 0;
}

/* Adds key: string-or-null to obj; -1 when out of memory. */
static int
report_add_string(struct json_object *obj, const char *key, const char *s)
{
	struct json_object *v = NULL;

	if (s != NULL && (v = json_object_new_string(s)) == NULL)
		return -1;
	if (json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* Writes obj with json-c; -1 on failure. */
static int
report_write(FILE *out, struct json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj,
	    REPORT_JSON_FLAGS);

	return s != NULL && fputs(s, out) != EOF ? 0 : -1;
}

/* Sets the fields of action i in obj, which is reused from one action
 * to the next (adding a key again replaces its value). */
static int
report_action(struct json_object *obj, const struct plan *plan, size_t i)
{
	struct plan_action a;
	char date[TZ_DATE_MAX], reason[PLAN_REASON_MAX];

	plan_action_get(plan, i, &a);
	plan_action_reason(plan, i, reason, sizeof(reason));
	tz_format_date(a.date, date);
	if (report_add_string(obj, "policy", a.policy) == -1 ||
	    report_add_string(obj, "volume", a.volume) == -1 ||
	    report_add_string(obj, "action", plan_kind_name(a.kind)) == -1 ||
	    report_add_string(obj, "snapshot", a.snapshot) == -1 ||
	    report_add_string(obj, "date", date) == -1 ||
	    report_add_string(obj, "state", a.snapshot != NULL ?
	    inv_state_name(a.state) : NULL) == -1 ||
	    report_add_string(obj, "reason", reason) == -1)
		return -1;
	return 0;
}

static struct json_object *
report_summary(const struct plan *plan)
{
	static const char *const keys[] = { "create", "skip", "keep",
	    "delete", "warnings" };
	struct json_object *obj = json_object_new_object();
	struct plan_summary sum;

	if (obj == NULL)
		return NULL;
	plan_summary(plan, &sum);
	const size_t counts[] = { sum.create, sum.skip, sum.keep, sum.delete,
	    sum.warn };
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		struct json_object *v = json_object_new_int64(
		    (int64_t)counts[k]);

		if (v == NULL || json_object_object_add(obj, keys[k], v) != 0) {
			json_object_put(v);
			json_object_put(obj);
			return NULL;
		}
	}
	return obj;
}

int
report_plan_json_members(FILE *out, const struct plan *plan)
{
	size_t n = plan_nactions(plan);
	struct json_object *obj = NULL;
	char iso[TZ_TIME_MAX];
	int rc = -1;

	tz_format_time(plan_now(plan), iso);
	if ((obj = json_object_new_string(iso)) == NULL)
		goto fail;
	fputs("\"now\":", out);
	if (report_write(out, obj) == -1)
		goto fail;
	json_object_put(obj);
	if ((obj = json_object_new_object()) == NULL)
		goto fail;
	fputs(",\"actions\":[", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i == 0 ? "\n" : ",\n", out);
		if (report_action(obj, plan, i) == -1 ||
		    report_write(out, obj) == -1)
			goto fail;
	}
	json_object_put(obj);
	if ((obj = report_summary(plan)) == NULL)
		goto fail;
	fputs("\n],\"summary\":", out);
	if (report_write(out, obj) == -1)
		goto fail;
	if (fflush(out) != EOF && !ferror(out))
		rc = 0;
fail:
	json_object_put(obj);
	return rc;
}

int
report_plan_json(FILE *out, const struct plan *plan)
{
	fputc('{', out);
	if (report_plan_json_members(out, plan) != 0)
		return -1;
	fputs("}\n", out);
	return fflush(out) == EOF || ferror(out) ? -1 : 0;
}

/* "key":["line", ...] for the warnings or errors the log kept. */
static int
report_kept(FILE *out, const char *key, enum log_level level)
{
	size_t n, dropped;
	const char *const *lines = log_kept(level, &n, &dropped);
	struct json_object *arr = json_object_new_array();
	int rc = -1;

	if (arr == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (json_object_array_add(arr, json_object_new_string(
		    lines[i])) != 0)
			goto fail;
	if (dropped > 0 && json_object_array_add(arr, json_object_new_string(
	    "(more not shown)")) != 0)
		goto fail;
	fprintf(out, "\"%s\":", key);
	rc = report_write(out, arr);
fail:
	json_object_put(arr);
	return rc;
}

int
report_json_status(FILE *out, int status)
{
	fprintf(out, "\"status\":%d,", status);
	if (report_kept(out, "warnings", LOG_LEVEL_WARNING) != 0)
		return -1;
	fputc(',', out);
	if (report_kept(out, "errors", LOG_LEVEL_ERROR) != 0)
		return -1;
	return fflush(out) == EOF || ferror(out) ? -1 : 0;
}

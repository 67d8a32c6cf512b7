/*
 * Monitoring: one record per (policy, volume), its state and its worst
 * problem.  The order of concern, worst first: CRITICAL (no fresh
 * snapshot), then WARNING (a snapshot in error, a volume gone, fewer
 * snapshots than keep, deletions held back), then UNKNOWN (a volume that
 * could not be seen whole: nothing can be said of it).
 */
#include <json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"
#include "report.h"
#include "text.h"

#define SUMMARY_PROBLEMS 3        /* named on the status line */

struct mon_vol {
	const char *policy;
	const char *volume;
	const char *newest;        /* id of the newest completed, or NULL */
	int64_t age;               /* its age, -1 when there is none */
	size_t owned;
	int keep;
	long warn, crit;
	enum monitor_state state;
	char problem[MONITOR_PROBLEM_MAX];
};

struct monitor {
	int64_t now;
	struct mon_vol *vols;
	size_t n, cap;
	size_t npolicies;
};

static const char *const state_names[] = {
	[MONITOR_OK] = "OK", [MONITOR_WARNING] = "WARNING",
	[MONITOR_CRITICAL] = "CRITICAL", [MONITOR_UNKNOWN] = "UNKNOWN",
};

const char *
monitor_state_name(enum monitor_state state)
{
	return (unsigned)state <= MONITOR_UNKNOWN ? state_names[state] : "?";
}

/* How bad a state is, for choosing the worst: UNKNOWN after WARNING. */
static int
severity(enum monitor_state s)
{
	static const int rank[] = { [MONITOR_OK] = 0, [MONITOR_UNKNOWN] = 1,
	    [MONITOR_WARNING] = 2, [MONITOR_CRITICAL] = 3 };
	return rank[s];
}

struct monitor *
monitor_new(int64_t now)
{
	struct monitor *m = calloc(1, sizeof(*m));

	if (m != NULL)
		m->now = now;
	return m;
}

void
monitor_free(struct monitor *m)
{
	if (m == NULL)
		return;
	free(m->vols);
	free(m);
}

void
monitor_format_age(int64_t s, char *buf, size_t len)
{
	if (s < 2 * 3600)
		snprintf(buf, len, "%lldm", (long long)(s / 60));
	else if (s < 4 * 86400)
		snprintf(buf, len, "%lldh", (long long)(s / 3600));
	else
		snprintf(buf, len, "%lldd", (long long)(s / 86400));
}

/* Sets v's state to s with problem text, if it is worse than what v has. */
static void
worse(struct mon_vol *v, enum monitor_state s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
worse(struct mon_vol *v, enum monitor_state s, const char *fmt, ...)
{
	va_list ap;

	if (severity(s) <= severity(v->state))
		return;
	v->state = s;
	va_start(ap, fmt);
	vsnprintf(v->problem, sizeof(v->problem), fmt, ap);
	va_end(ap);
}

/* The policy's own warning (max_deletes), from the plan, or NULL. */
static bool
policy_warning(const struct plan *plan, const char *name, char *buf,
    size_t len)
{
	for (size_t i = 0; plan != NULL && i < plan_nactions(plan); i++) {
		struct plan_action a;
		plan_action_get(plan, i, &a);
		if (a.kind == PLAN_WARN && a.volume == NULL &&
		    strcmp(a.policy, name) == 0) {
			plan_action_reason(plan, i, buf, len);
			return true;
		}
	}
	return false;
}

static void
judge(struct mon_vol *v, const struct policy *policy,
    const struct plan_input *in, int64_t now, const char *held)
{
	const struct inv_volume *iv = in->volume;
	const struct inv_snapshot *newest = NULL, *oldest = NULL;
	const struct inv_snapshot *failed = NULL, *broken = NULL;
	bool shared = in->shared_adopt != NULL;
	bool inst = iv->kind == INV_INSTANCE;
	char age[32], limit[32];
	size_t nb;
	const struct inv_snapshot *backups = inventory_backups(iv, &nb);

	for (size_t i = 0; i < nb; i++) {
		const struct inv_snapshot *s = &backups[i];
		if (!plan_owns(policy, s, shared))
			continue;
		if (s->flags & INV_SET_BROKEN) {
			broken = s;
			continue;
		}
		if (s->state == INV_ERROR)
			failed = s;
		if (s->state != INV_COMPLETED)
			continue;
		v->owned++;
		if (newest == NULL || s->start > newest->start)
			newest = s;
		if (oldest == NULL || s->start < oldest->start)
			oldest = s;
	}
	v->newest = newest != NULL ? newest->id : NULL;
	v->age = newest != NULL ? now - newest->start : -1;
	if (v->age < -1)
		v->age = 0;

	if (iv->unchecked) {
		worse(v, MONITOR_UNKNOWN, "could not check whether the %s "
		    "exists", inst ? "instance" : "volume");
		return;
	}
	if (!iv->exists) {
		worse(v, MONITOR_WARNING, "%s not found (%zu %s kept)",
		    inst ? "instance" : "volume", v->owned, inst ? "sets" :
		    "snapshots");
		return;
	}
	if (!iv->complete) {
		worse(v, MONITOR_UNKNOWN, "snapshot listing incomplete");
		return;
	}
	monitor_format_age(v->age, age, sizeof(age));
	if (newest == NULL && (v->crit > 0 || v->warn > 0))
		worse(v, v->crit > 0 ? MONITOR_CRITICAL : MONITOR_WARNING,
		    "no completed %s", inst ? "set" : "snapshot");
	else if (v->crit > 0 && v->age > v->crit) {
		monitor_format_age(v->crit, limit, sizeof(limit));
		worse(v, MONITOR_CRITICAL, "newest %s is %s old (crit %s)",
		    inst ? "set" : "snapshot", age, limit);
	} else if (v->warn > 0 && v->age > v->warn) {
		monitor_format_age(v->warn, limit, sizeof(limit));
		worse(v, MONITOR_WARNING, "newest %s is %s old (warn %s)",
		    inst ? "set" : "snapshot", age, limit);
	}
	if (failed != NULL)
		worse(v, MONITOR_WARNING, "%s %s is in state error",
		    inst ? "set" : "snapshot", failed->id);
	if (broken != NULL)
		worse(v, MONITOR_WARNING, "set %s is not whole", broken->id);
	/* Fewer than keep, once there has been time to make keep of them. */
	if (v->owned < (size_t)v->keep && oldest != NULL &&
	    now - oldest->start >= (int64_t)v->keep * 86400)
		worse(v, MONITOR_WARNING, "only %zu of keep=%d %s", v->owned,
		    v->keep, inst ? "sets" : "snapshots");
	if (held != NULL)
		worse(v, MONITOR_WARNING, "%s", held);
}

int
monitor_add_policy(struct monitor *m, const struct policy *policy,
    const struct plan *plan, const struct plan_input *vols, size_t n)
{
	char held[PLAN_REASON_MAX];
	bool has_held = policy_warning(plan, policy->name, held, sizeof(held));

	if (m->n + n > m->cap) {
		size_t cap = m->cap ? m->cap : 64;
		struct mon_vol *grown;
		while (cap < m->n + n)
			cap *= 2;
		if ((grown = realloc(m->vols, cap * sizeof(*grown))) == NULL)
			return -1;
		m->vols = grown;
		m->cap = cap;
	}
	for (size_t i = 0; i < n; i++) {
		struct mon_vol *v = &m->vols[m->n++];

		memset(v, 0, sizeof(*v));
		v->policy = policy->name;
		v->volume = vols[i].volume->id;
		v->keep = vols[i].keep > 0 ? vols[i].keep : policy->keep;
		v->warn = policy->monitor.warn;
		v->crit = policy->monitor.crit;
		judge(v, policy, &vols[i], m->now, has_held ? held : NULL);
	}
	m->npolicies++;
	return 0;
}

enum monitor_state
monitor_state(const struct monitor *m)
{
	enum monitor_state worst = MONITOR_OK;

	for (size_t i = 0; i < m->n; i++)
		if (severity(m->vols[i].state) > severity(worst))
			worst = m->vols[i].state;
	return worst;
}

/* Volumes in the order they are shown: worst first, then as added. */
static int
cmp_shown(const void *a, const void *b)
{
	const struct mon_vol *const *x = a, *const *y = b;
	int d = severity((*y)->state) - severity((*x)->state);

	if (d != 0)
		return d;
	return (*x < *y) ? -1 : (*x > *y);
}

static const struct mon_vol **
sorted(const struct monitor *m)
{
	const struct mon_vol **order = malloc((m->n + 1) * sizeof(*order));

	if (order == NULL)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		order[i] = &m->vols[i];
	qsort(order, m->n, sizeof(*order), cmp_shown);
	return order;
}

int
monitor_text(FILE *out, const struct monitor *m)
{
	enum monitor_state worst = monitor_state(m);
	const struct mon_vol **order = sorted(m);
	size_t count[4] = { 0, 0, 0, 0 }, bad = 0, shown = 0;
	const struct mon_vol *oldest = NULL;
	char safe[MONITOR_PROBLEM_MAX * TEXT_ESCAPE_GROWTH];

	if (order == NULL)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		const struct mon_vol *v = &m->vols[i];
		count[v->state]++;
		if (v->state != MONITOR_OK)
			bad++;
		if (v->age >= 0 && (oldest == NULL || v->age > oldest->age))
			oldest = v;
	}
	fprintf(out, "%s: ", monitor_state_name(worst));
	if (bad == 0) {
		fprintf(out, "%zu volume%s in %zu polic%s ha%s fresh snapshots",
		    m->n, m->n == 1 ? "" : "s", m->npolicies,
		    m->npolicies == 1 ? "y" : "ies", m->n == 1 ? "s" : "ve");
	} else {
		for (size_t i = 0; i < m->n && shown < SUMMARY_PROBLEMS; i++) {
			const struct mon_vol *v = order[i];
			if (v->state == MONITOR_OK)
				break;
			text_escape(v->problem, safe, sizeof(safe));
			fprintf(out, "%s%s %s: %s", shown ? "; " : "", v->policy,
			    v->volume, safe);
			shown++;
		}
		if (bad > shown)
			fprintf(out, "; and %zu more", bad - shown);
	}
	fprintf(out, " | 'volumes'=%zu;;;0 'critical'=%zu;;;0 'warning'=%zu;;;0 "
	    "'unknown'=%zu;;;0", m->n, count[MONITOR_CRITICAL],
	    count[MONITOR_WARNING], count[MONITOR_UNKNOWN]);
	if (oldest != NULL) {
		fprintf(out, " 'oldest_age'=%llds;", (long long)oldest->age);
		if (oldest->warn > 0)
			fprintf(out, "%ld", oldest->warn);
		fputc(';', out);
		if (oldest->crit > 0)
			fprintf(out, "%ld", oldest->crit);
		fputs(";0", out);
	}
	fputc('\n', out);
	for (size_t i = 0; i < m->n; i++) {
		const struct mon_vol *v = order[i];
		if (v->state == MONITOR_OK)
			break;
		text_escape(v->problem, safe, sizeof(safe));
		fprintf(out, "%s: %s %s: %s\n", monitor_state_name(v->state),
		    v->policy, v->volume, safe);
	}
	free(order);
	return fflush(out) == EOF || ferror(out) ? -1 : 0;
}

int
monitor_json_members(FILE *out, const struct monitor *m)
{
	json_object *arr = json_object_new_array();

	if (arr == NULL)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		const struct mon_vol *v = &m->vols[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "policy",
		    json_object_new_string(v->policy));
		json_object_object_add(o, "volume",
		    json_object_new_string(v->volume));
		json_object_object_add(o, "state", json_object_new_string(
		    monitor_state_name(v->state)));
		json_object_object_add(o, "newest_snapshot", v->newest ?
		    json_object_new_string(v->newest) : NULL);
		json_object_object_add(o, "newest_age_seconds", v->age >= 0 ?
		    json_object_new_int64(v->age) : NULL);
		json_object_object_add(o, "owned",
		    json_object_new_int64((int64_t)v->owned));
		json_object_object_add(o, "keep", json_object_new_int(v->keep));
		json_object_object_add(o, "problem", v->problem[0] ?
		    json_object_new_string(v->problem) : NULL);
		json_object_array_add(arr, o);
	}
	fprintf(out, "\"state\":\"%s\",\"volumes\":%s",
	    monitor_state_name(monitor_state(m)),
	    json_object_to_json_string_ext(arr, REPORT_JSON_FLAGS));
	json_object_put(arr);
	return ferror(out) ? -1 : 0;
}

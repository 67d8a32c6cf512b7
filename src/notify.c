/*
 * After the run.  The metrics are built from the plan (what was listed
 * and held) and the outcomes (what was done); a policy's hook gets the
 * same facts about that policy as a JSON document, the run-wide hook all
 * of them.
 */
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "report.h"
#include "tz.h"

static const char *const outcome_names[] = {
	[EXEC_NONE] = "none", [EXEC_DONE] = "done", [EXEC_GONE] = "gone",
	[EXEC_FAILED] = "failed", [EXEC_IN_USE] = "in-use",
	[EXEC_HELD] = "held",
};

/* The samples of one policy: its snapshots by state and each volume's
 * newest completed snapshot's age. */
static int
policy_metrics(struct metrics *m, const struct notify_run *run,
    const struct notify_policy *np)
{
	const char *name = np->policy->name;
	size_t count[INV_UNKNOWN + 1] = { 0 };

	for (size_t v = 0; v < np->nvols; v++) {
		const struct inv_volume *iv = np->vols[v].volume;
		const struct inv_snapshot *newest = NULL;
		bool shared = np->vols[v].shared_adopt != NULL;

		for (size_t k = 0; k < iv->nsnapshots; k++) {
			const struct inv_snapshot *s = &iv->snapshots[k];
			if (!plan_owns(np->policy, s, shared))
				continue;
			count[s->state <= INV_UNKNOWN ? s->state : INV_UNKNOWN]++;
			if (s->state == INV_COMPLETED && (newest == NULL ||
			    s->start > newest->start))
				newest = s;
		}
		if (newest != NULL) {
			const char *l[] = { "policy", name, "volume", iv->id };
			if (metrics_set(m, "ec2backup_newest_snapshot_age_seconds",
			    (double)(run->now - newest->start), 2, l) != 0)
				return -1;
		}
	}
	for (int st = 0; st <= INV_UNKNOWN; st++) {
		const char *l[] = { "policy", name, "state",
		    inv_state_name((enum inv_state)st) };
		if (metrics_set(m, "ec2backup_snapshots", (double)count[st], 2,
		    l) != 0)
			return -1;
	}
	if (np->succeeded) {
		const char *l[] = { "policy", name };
		if (metrics_set(m, "ec2backup_last_success_timestamp_seconds",
		    (double)run->started, 1, l) != 0)
			return -1;
	}
	return 0;
}

/* Creates and deletes by outcome, and the deletions held back. */
static int
action_metrics(struct metrics *m, const struct notify_run *run)
{
	for (size_t i = 0; run->plan != NULL && i < plan_nactions(run->plan);
	    i++) {
		struct plan_action a;
		plan_action_get(run->plan, i, &a);
		if (a.kind == PLAN_KEEP && a.held != NULL) {
			const char *l[] = { "policy", a.policy, "reason",
			    a.held };
			if (metrics_add(m, "ec2backup_held_deletions", 1, 2, l)
			    != 0)
				return -1;
		}
		if (run->outcomes != NULL &&
		    run->outcomes[i].status != EXEC_NONE) {
			const char *l[] = { "policy", a.policy, "action",
			    plan_kind_name(a.kind), "outcome",
			    outcome_names[run->outcomes[i].status] };
			if (metrics_add(m, "ec2backup_actions_total", 1, 3, l)
			    != 0)
				return -1;
		}
		if (run->outcomes != NULL && run->outcomes[i].frozen_s >= 0) {
			const char *l[] = { "policy", a.policy, "volume",
			    a.volume };
			const char *f[] = { "policy", a.policy };
			if (metrics_set(m, "ec2backup_hook_seconds",
			    run->outcomes[i].frozen_s, 2, l) != 0 ||
			    metrics_add(m, "ec2backup_hook_failures",
			    run->outcomes[i].hook_failed ? 1 : 0, 1, f) != 0)
				return -1;
		}
	}
	return 0;
}

int
notify_metrics(const struct notify_run *run, const char *path, char *err,
    size_t errlen)
{
	struct metrics *m = metrics_new();
	int rc = -1;

	if (m == NULL)
		goto oom;
	if (metrics_set(m, "ec2backup_last_run_timestamp_seconds",
	    (double)run->started, 0, NULL) != 0 ||
	    metrics_set(m, "ec2backup_run_duration_seconds", run->duration, 0,
	    NULL) != 0 ||
	    metrics_set(m, "ec2backup_run_exit_status", run->status, 0, NULL)
	    != 0)
		goto oom;
	for (size_t i = 0; i < run->npolicies; i++)
		if (policy_metrics(m, run, &run->policies[i]) != 0)
			goto oom;
	if (action_metrics(m, run) != 0)
		goto oom;
	for (int a = 0; a < EC2_NACTIONS; a++) {
		const char *l[] = { "action",
		    ec2_action_name((enum ec2_action)a) };
		if (metrics_set(m, "ec2backup_requests_total",
		    (double)run->stats.calls[a], 1, l) != 0)
			goto oom;
	}
	if (metrics_set(m, "ec2backup_retries_total",
	    (double)run->stats.retries, 0, NULL) != 0 ||
	    metrics_set(m, "ec2backup_throttled_total",
	    (double)run->stats.throttled, 0, NULL) != 0)
		goto oom;
	/* A policy that did not succeed keeps its last success time. */
	if (metrics_carry(m, path, "ec2backup_last_success_timestamp_seconds")
	    != 0)
		goto oom;
	rc = metrics_write(m, path, err, errlen);
	metrics_free(m);
	return rc;
oom:
	metrics_free(m);
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* --- hooks --- */

/* What a hook of one policy is told about it. */
static json_object *
policy_doc(const struct notify_run *run, const struct notify_policy *np,
    size_t *created, size_t *deleted, size_t *failed)
{
	json_object *o = json_object_new_object();
	json_object *outcomes = json_object_new_array();
	json_object *warnings = json_object_new_array();

	*created = *deleted = *failed = 0;
	for (size_t i = 0; run->plan != NULL && i < plan_nactions(run->plan);
	    i++) {
		struct plan_action a;
		const struct execute_outcome *out;
		json_object *e;

		plan_action_get(run->plan, i, &a);
		if (strcmp(a.policy, np->policy->name) != 0)
			continue;
		if (a.kind == PLAN_WARN) {
			char reason[PLAN_REASON_MAX];
			plan_action_reason(run->plan, i, reason, sizeof(reason));
			json_object_array_add(warnings,
			    json_object_new_string(reason));
		}
		if (run->outcomes == NULL ||
		    run->outcomes[i].status == EXEC_NONE)
			continue;
		out = &run->outcomes[i];
		if (out->status == EXEC_DONE || out->status == EXEC_GONE)
			*(a.kind == PLAN_CREATE ? created : deleted) += 1;
		else if (out->status == EXEC_FAILED || out->status == EXEC_HELD)
			(*failed)++;
		e = json_object_new_object();
		json_object_object_add(e, "volume", a.volume ?
		    json_object_new_string(a.volume) : NULL);
		json_object_object_add(e, "action",
		    json_object_new_string(plan_kind_name(a.kind)));
		json_object_object_add(e, "snapshot", a.snapshot ?
		    json_object_new_string(a.snapshot) : out->snapshot[0] ?
		    json_object_new_string(out->snapshot) : NULL);
		json_object_object_add(e, "outcome",
		    json_object_new_string(outcome_names[out->status]));
		json_object_object_add(e, "error", out->error.code[0] ?
		    json_object_new_string(out->error.code) : NULL);
		json_object_array_add(outcomes, e);
	}
	json_object_object_add(o, "policy",
	    json_object_new_string(np->policy->name));
	json_object_object_add(o, "succeeded",
	    json_object_new_boolean(np->succeeded));
	json_object_object_add(o, "created",
	    json_object_new_int64((int64_t)*created));
	json_object_object_add(o, "deleted",
	    json_object_new_int64((int64_t)*deleted));
	json_object_object_add(o, "failed",
	    json_object_new_int64((int64_t)*failed));
	json_object_object_add(o, "warnings", warnings);
	json_object_object_add(o, "outcomes", outcomes);
	return o;
}

static void
run_hook(char *const *argv, const char *what, const char *json,
    char *const *env, int timeout_s)
{
	struct hook_result res;
	char err[256], how[128];

	if (hook_run(argv, env, json, strlen(json), (long)timeout_s * 1000,
	    &res, err, sizeof(err)) != 0) {
		log_error("%s hook %s: %s", what, argv[0], err);
		return;
	}
	if (res.timed_out || res.signal != 0 || res.status != 0) {
		hook_describe(&res, (long)timeout_s * 1000, how, sizeof(how));
		log_error("%s hook %s: %s; what was backed up is as reported",
		    what, argv[0], how);
	} else {
		log_debug("%s hook %s: done", what, argv[0]);
	}
}

void
notify_hooks(const struct notify_run *run, char *const *on_success,
    char *const *on_failure, int timeout_s)
{
	json_object *all = json_object_new_array();
	char started[TZ_TIME_MAX], vstatus[32], vpolicy[96], vok[32],
	    vcreated[48], vdeleted[48], vfailed[48];
	size_t tc = 0, td = 0, tf = 0;
	bool everything = run->status == 0;

	tz_format_time(run->started, started);
	snprintf(vstatus, sizeof(vstatus), "EC2BACKUP_STATUS=%d", run->status);
	for (size_t i = 0; i < run->npolicies; i++) {
		const struct notify_policy *np = &run->policies[i];
		char *const *argv = np->succeeded ? np->policy->on_success :
		    np->policy->on_failure;
		size_t c, d, f;
		json_object *doc = policy_doc(run, np, &c, &d, &f);

		tc += c;
		td += d;
		tf += f;
		json_object_object_add(doc, "started",
		    json_object_new_string(started));
		json_object_object_add(doc, "status",
		    json_object_new_int(run->status));
		if (argv != NULL) {
			char *env[] = { vstatus, vpolicy, vok, vcreated, vdeleted,
			    vfailed, NULL };
			snprintf(vpolicy, sizeof(vpolicy), "EC2BACKUP_POLICY=%s",
			    np->policy->name);
			snprintf(vok, sizeof(vok), "EC2BACKUP_SUCCEEDED=%d",
			    np->succeeded);
			snprintf(vcreated, sizeof(vcreated),
			    "EC2BACKUP_CREATED=%zu", c);
			snprintf(vdeleted, sizeof(vdeleted),
			    "EC2BACKUP_DELETED=%zu", d);
			snprintf(vfailed, sizeof(vfailed), "EC2BACKUP_FAILED=%zu",
			    f);
			run_hook(argv, np->succeeded ? "on_success" :
			    "on_failure", json_object_to_json_string_ext(doc,
			    REPORT_JSON_FLAGS), env, np->policy->hook_timeout);
		}
		json_object_array_add(all, doc);
	}
	if ((everything ? on_success : on_failure) != NULL) {
		json_object *doc = json_object_new_object();
		char *env[] = { vstatus, vok, vcreated, vdeleted, vfailed, NULL };

		json_object_object_add(doc, "succeeded",
		    json_object_new_boolean(everything));
		json_object_object_add(doc, "status",
		    json_object_new_int(run->status));
		json_object_object_add(doc, "started",
		    json_object_new_string(started));
		json_object_object_add(doc, "policies", json_object_get(all));
		snprintf(vok, sizeof(vok), "EC2BACKUP_SUCCEEDED=%d", everything);
		snprintf(vcreated, sizeof(vcreated), "EC2BACKUP_CREATED=%zu", tc);
		snprintf(vdeleted, sizeof(vdeleted), "EC2BACKUP_DELETED=%zu", td);
		snprintf(vfailed, sizeof(vfailed), "EC2BACKUP_FAILED=%zu", tf);
		run_hook(everything ? on_success : on_failure, everything ?
		    "on_success" : "on_failure", json_object_to_json_string_ext(
		    doc, REPORT_JSON_FLAGS), env, timeout_s);
		json_object_put(doc);
	}
	json_object_put(all);
}

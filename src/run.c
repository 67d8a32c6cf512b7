/*
 * run, plan and list: the steps of a run, in the order data flows.
 *
 * Policies may name different regions; each region gets its own client
 * and inventory, and a plan holds the actions of all of them.  Every step
 * that cannot be sure of something makes the plan keep more, never less:
 * a volume whose existence could not be confirmed or whose listing is
 * incomplete is planned with no deletions, and a deletion candidate whose
 * AMI use could not be checked is kept.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "credentials.h"
#include "ec2.h"
#include "ec2xml.h"
#include "execute.h"
#include "exitcode.h"
#include "http.h"
#include "inventory.h"
#include "lock.h"
#include "log.h"
#include "monitor.h"
#include "notify.h"
#include "plan.h"
#include "report.h"
#include "run.h"
#include "run_private.h"
#include "secure.h"
#include "text.h"
#include "tz.h"

#define AMI_ROUNDS 4

static bool
quiet(const struct run_options *o)
{
	return !o->json && log_get_level() >= LOG_LEVEL_WARNING;
}

static int
take_lock(struct run *r)
{
	char path[512], err[600];
	long holder;
	const char *file = r->o->lock_file;

	if (file == NULL)
		file = lock_default_path(path, sizeof(path));
	r->lock_fd = lock_acquire(file, &holder, err, sizeof(err));
	if (r->lock_fd == -1) {
		if (holder > 0)
			log_error("another run (pid %ld) holds the lock %s; "
			    "nothing was done", holder, file);
		else
			log_error("another run holds the lock %s; nothing was "
			    "done", file);
		return EXIT_LOCKED;
	}
	if (r->lock_fd < 0) {
		log_error("%s (choose another with --lock-file)", err);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static struct region *
region_for(struct run *r, const char *name, const char *endpoint)
{
	struct region *grown;

	for (size_t i = 0; i < r->nregions; i++)
		if (strcmp(r->regions[i].name, name) == 0 &&
		    strcmp(r->regions[i].endpoint, endpoint) == 0)
			return &r->regions[i];
	/* Policies point into the array: it is sized for all of them up
	 * front, so it never moves. */
	grown = &r->regions[r->nregions++];
	memset(grown, 0, sizeof(*grown));
	snprintf(grown->name, sizeof(grown->name), "%s", name);
	snprintf(grown->endpoint, sizeof(grown->endpoint), "%s", endpoint);
	return grown;
}

static int
open_clients(struct run *r)
{
	const struct run_options *o = r->o;
	char err[600], source[256], ca[1024];
	struct ec2_config cfg = { 0 };
	int rc;

	if (o->ca_bundle != NULL)
		snprintf(ca, sizeof(ca), "%s", o->ca_bundle);
	else if (credentials_ca_bundle(o->profile, ca, sizeof(ca), err,
	    sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	credentials_set_ca_bundle(ca[0] != '\0' ? ca : NULL);
	/* No core file may hold the secrets about to be read. */
	if (secure_no_core_dumps() != 0)
		log_warning("cannot turn core dumps off; a crash could write "
		    "the credentials to a core file");
	if ((rc = credentials_resolve(o->profile, &r->creds, err,
	    sizeof(err))) != 0) {
		log_error("%s; nothing was done", err);
		/* A configuration to fix is a usage error; a source that
		 * did not answer is like EC2 not answering. */
		return rc == -2 ? EXIT_USAGE : EXIT_EC2;
	}
	log_debug("credentials from %s", credentials_source(r->creds));
	for (size_t i = 0; i < r->set->npolicies; i++) {
		const struct policy *p = r->set->policies[i];
		struct policy_state *s = &r->ps[i];
		char region[CREDENTIALS_REGION_MAX], endpoint[ENDPOINT_MAX];

		s->p = p;
		if (credentials_region(o->region, p->region, o->profile, region,
		    sizeof(region), source, sizeof(source), err,
		    sizeof(err)) != 0) {
			log_error("policy %s: %s", p->name, err);
			return EXIT_EC2;
		}
		if (credentials_endpoint(o->endpoint_url, region, o->profile,
		    endpoint, sizeof(endpoint), source, sizeof(source), err,
		    sizeof(err)) != 0) {
			log_error("policy %s: %s", p->name, err);
			return EXIT_USAGE;
		}
		if (tz_load(p->timezone, &s->zone, err, sizeof(err)) != 0) {
			log_error("policy %s: time zone %s: %s", p->name,
			    p->timezone, err);
			return EXIT_USAGE;
		}
		s->r = region_for(r, region, endpoint);
		log_debug("policy %s: region %s, endpoint %s", p->name, region,
		    endpoint);
	}
	cfg.credentials = credentials_get;
	cfg.credentials_arg = r->creds;
	cfg.credentials_source = credentials_source(r->creds);
	cfg.ca_bundle = ca[0] != '\0' ? ca : NULL;
	cfg.jobs = o->jobs;
	cfg.deadline_ms = o->timeout_s > 0 ? http_now_ms() +
	    (int64_t)o->timeout_s * 1000 : 0;
	if (o->timeout_s > 0)
		log_debug("the run stops at the latest after %ld s (--timeout)",
		    o->timeout_s);
	cfg.rate_scale = o->api_rate_scale;
	cfg.lookup_ms = (int64_t)o->lookup_s * 1000;
	for (size_t i = 0; i < r->nregions; i++) {
		struct region *g = &r->regions[i];

		cfg.endpoint = g->endpoint;
		cfg.region = g->name;
		if ((g->ec2 = ec2_new(&cfg, err, sizeof(err))) == NULL) {
			log_error("region %s: %s", g->name, err);
			return EXIT_USAGE;
		}
		if ((g->inv = inventory_new(o->mode == RUN_LIST)) == NULL) {
			log_error("out of memory");
			return EXIT_PARTIAL;
		}
		/* The volume tags some policy copies onto its snapshots. */
		for (size_t k = 0; k < r->set->npolicies; k++) {
			const struct policy *p = r->set->policies[k];
			if (r->ps[k].r == g && inventory_keep_tags(g->inv,
			    (const char *const *)p->copy_tags, p->ncopy_tags)
			    != 0) {
				log_error("out of memory");
				return EXIT_PARTIAL;
			}
		}
	}
	return EXIT_OK;
}

static int
fatal_status(const struct region *g)
{
	if (ec2_fatal(g->ec2) == NULL)
		return EXIT_OK;
	log_error("region %s: %s; nothing was done", g->name,
	    ec2_fatal(g->ec2));
	return EXIT_EC2;
}

/* Finds the volumes (by id and by tag) and lists their snapshots. */
static int
discover(struct run *r)
{
	for (size_t gi = 0; gi < r->nregions; gi++) {
		struct region *g = &r->regions[gi];
		const char **ids = NULL;
		size_t nids = 0, cap = 0, nvol;
		struct inv_volume **vols;
		int rc;

		for (size_t i = 0; i < r->set->npolicies; i++) {
			const struct policy *p = r->ps[i].p;
			if (r->ps[i].r != g)
				continue;
			for (size_t v = 0; v < p->nvolumes; v++) {
				const char **grown;
				if (inventory_find(g->inv, p->volumes[v].id))
					continue;
				if (inventory_volume(g->inv, p->volumes[v].id)
				    == NULL)
					goto oom;
				if (nids == cap) {
					cap = cap ? cap * 2 : 64;
					grown = realloc(ids, cap * sizeof(*ids));
					if (grown == NULL)
						goto oom;
					ids = grown;
				}
				ids[nids++] = p->volumes[v].id;
			}
		}
		if (nids > 0)
			ec2_check_volumes(g->ec2, g->inv, ids, nids);
		free(ids);
		ids = NULL;
		if ((rc = fatal_status(g)) != EXIT_OK)
			return rc;
		/* Instances listed by id, the same way. */
		nids = cap = 0;
		for (size_t i = 0; i < r->set->npolicies; i++) {
			const struct policy *p = r->ps[i].p;
			if (r->ps[i].r != g)
				continue;
			for (size_t v = 0; v < p->ninstances; v++) {
				const char **grown;
				if (inventory_find(g->inv, p->instances[v].id))
					continue;
				if (nids == cap) {
					cap = cap ? cap * 2 : 64;
					grown = realloc(ids, cap * sizeof(*ids));
					if (grown == NULL)
						goto oom;
					ids = grown;
				}
				ids[nids++] = p->instances[v].id;
				if (inventory_volume(g->inv, p->instances[v].id)
				    == NULL)
					goto oom;
			}
		}
		if (nids > 0)
			ec2_check_instances(g->ec2, g->inv, ids, nids);
		free(ids);
		ids = NULL;
		if ((rc = fatal_status(g)) != EXIT_OK)
			return rc;
		for (size_t i = 0; i < r->set->npolicies; i++) {
			struct policy_state *s = &r->ps[i];
			struct ec2_tag *tags;
			bool instances = s->p->resource == POLICY_INSTANCES;
			if (s->r != g || s->p->nselect_tags == 0)
				continue;
			if ((tags = calloc(s->p->nselect_tags,
			    sizeof(*tags))) == NULL)
				goto oom;
			for (size_t t = 0; t < s->p->nselect_tags; t++) {
				tags[t].key = s->p->select_tags[t].key;
				tags[t].value = s->p->select_tags[t].value;
			}
			if ((instances ? ec2_select_instances :
			    ec2_select_volumes)(g->ec2, g->inv, tags,
			    s->p->nselect_tags, &s->selected, &s->nselected)
			    != 0) {
				s->select_failed = true;
				log_error("policy %s: the %s selected by tag "
				    "are left alone this run", s->p->name,
				    instances ? "instances" : "volumes");
			}
			free(tags);
		}
		if ((rc = fatal_status(g)) != EXIT_OK)
			return rc;
		/* Volumes by their volume id, instances by their tag. */
		nvol = inventory_nvolumes(g->inv);
		if ((vols = malloc((nvol ? nvol : 1) * sizeof(*vols))) == NULL)
			goto oom;
		for (int kind = INV_VOLUME; kind <= INV_INSTANCE; kind++) {
			size_t n = 0;
			for (size_t i = 0; i < nvol; i++) {
				struct inv_volume *v = inventory_volume_at(
				    g->inv, i);
				if ((int)v->kind == kind)
					vols[n++] = v;
			}
			if (n == 0)
				continue;
			if (kind == INV_VOLUME)
				ec2_list_snapshots(g->ec2, g->inv, vols, n);
			else
				ec2_list_instance_snapshots(g->ec2, g->inv,
				    vols, n);
		}
		free(vols);
		if ((rc = fatal_status(g)) != EXIT_OK)
			return rc;
		continue;
oom:
		free(ids);
		log_error("out of memory");
		return EXIT_PARTIAL;
	}
	return EXIT_OK;
}

/* Another policy that adopts v too (the plan then lets neither adopt its
 * untagged snapshots), or NULL. */
static const char *
shared_adopter(const struct policy_state *s, const struct inv_volume *v)
{
	const char *const *a;

	if (!s->p->adopt || s->r->adopters == NULL)
		return NULL;
	a = s->r->adopters[v->index];
	if (a[1] == NULL)
		return NULL;
	return strcmp(a[0], s->p->name) == 0 ? a[1] : a[0];
}

static void
note_adopter(struct region *g, const struct inv_volume *v, const char *name)
{
	const char **a = g->adopters[v->index];

	if (a[0] == NULL)
		a[0] = name;
	else if (a[1] == NULL && strcmp(a[0], name) != 0)
		a[1] = name;
}

/* Which volumes two policies adopt, before planning. */
static int
find_adopters(struct run *r)
{
	for (size_t gi = 0; gi < r->nregions; gi++) {
		struct region *g = &r->regions[gi];
		size_t n = inventory_nvolumes(g->inv);
		if ((g->adopters = calloc(n ? n : 1, sizeof(*g->adopters))) ==
		    NULL)
			return -1;
	}
	for (size_t i = 0; i < r->set->npolicies; i++) {
		const struct policy_state *s = &r->ps[i];
		if (!s->p->adopt)
			continue;
		for (size_t v = 0; v < s->p->nvolumes; v++)
			note_adopter(s->r, inventory_find(s->r->inv,
			    s->p->volumes[v].id), s->p->name);
		for (size_t v = 0; v < s->nselected; v++)
			note_adopter(s->r, s->selected[v], s->p->name);
	}
	return 0;
}

/*
 * --now before a snapshot that exists plans a past that is gone: today's
 * snapshot would look like one of the future and the counts would be
 * wrong.  Refused, naming the newest such snapshot.
 */
static int
check_now(const struct run *r)
{
	const struct inv_snapshot *newest = NULL;
	const struct inv_volume *at = NULL;

	for (size_t gi = 0; gi < r->nregions; gi++) {
		const struct inventory *inv = r->regions[gi].inv;
		for (size_t v = 0; v < inventory_nvolumes(inv); v++) {
			const struct inv_volume *iv = inventory_volume_at(inv,
			    v);
			for (size_t k = 0; k < iv->nsnapshots; k++) {
				const struct inv_snapshot *s =
				    &iv->snapshots[k];
				if (s->start > r->o->now && (newest == NULL ||
				    s->start > newest->start)) {
					newest = s;
					at = iv;
				}
			}
		}
	}
	if (newest == NULL)
		return EXIT_OK;
	{
		char now[TZ_TIME_MAX], start[TZ_TIME_MAX];
		tz_format_time(r->o->now, now);
		tz_format_time(newest->start, start);
		log_error("--now %s is before %s of %s, which started at %s: "
		    "plan for a time after the snapshots that exist", now,
		    newest->id, at->id, start);
	}
	return EXIT_USAGE;
}

static bool
freeze_set(const struct policy_freeze *f)
{
	return f->pre != NULL || f->post != NULL;
}

/* Whether any volume or instance of the set has freeze hooks. */
static bool
has_freeze_hooks(const struct policy_set *set)
{
	for (size_t i = 0; i < set->npolicies; i++) {
		const struct policy *p = set->policies[i];
		if (freeze_set(&p->freeze))
			return true;
		for (size_t v = 0; v < p->nvolumes; v++)
			if (freeze_set(&p->volumes[v].freeze))
				return true;
		for (size_t v = 0; v < p->ninstances; v++)
			if (freeze_set(&p->instances[v].freeze))
				return true;
	}
	return false;
}

/* The volumes of one policy, listed ones first, as planner input (the
 * caller frees it), or NULL when out of memory. */
struct plan_input *
run_policy_inputs(const struct policy_state *s, size_t *nout)
{
	const struct policy *p = s->p;
	size_t n = 0;
	struct plan_input *in = calloc(p->nvolumes + p->ninstances +
	    s->nselected + 1, sizeof(*in));

	if (in == NULL)
		return NULL;
	for (size_t v = 0; v < p->nvolumes; v++) {
		const struct policy_volume *pv = &p->volumes[v];
		in[n].volume = inventory_find(s->r->inv, pv->id);
		in[n].keep = pv->keep;
		in[n].description = pv->description;
		in[n].freeze = pv->freeze.pre != NULL ||
		    pv->freeze.post != NULL ? &pv->freeze : &p->freeze;
		n++;
	}
	for (size_t v = 0; v < p->ninstances; v++) {
		const struct policy_instance *pi = &p->instances[v];
		in[n].volume = inventory_find(s->r->inv, pi->id);
		in[n].keep = pi->keep;
		in[n].description = pi->description;
		in[n].freeze = pi->freeze.pre != NULL ||
		    pi->freeze.post != NULL ? &pi->freeze : &p->freeze;
		in[n].exclude_boot = pi->exclude_boot;
		in[n].exclude = (const char (*)[POLICY_VOLUME_ID_MAX + 1])
		    pi->exclude;
		in[n].nexclude = pi->nexclude;
		n++;
	}
	for (size_t v = 0; v < s->nselected; v++) {
		bool listed = false;
		for (size_t k = 0; k < p->nvolumes && !listed; k++)
			listed = strcmp(p->volumes[k].id, s->selected[v]->id)
			    == 0;
		for (size_t k = 0; k < p->ninstances && !listed; k++)
			listed = strcmp(p->instances[k].id,
			    s->selected[v]->id) == 0;
		if (listed)
			continue;
		in[n].volume = s->selected[v];
		in[n].freeze = &p->freeze;
		in[n].exclude_boot = p->exclude_boot;
		in[n].exclude = (const char (*)[POLICY_VOLUME_ID_MAX + 1])
		    p->exclude;
		in[n].nexclude = p->nexclude;
		n++;
	}
	for (size_t i = 0; i < n; i++)
		in[i].shared_adopt = shared_adopter(s, in[i].volume);
	*nout = n;
	return in;
}

static int
plan_policy(struct plan *plan, const struct policy_state *s)
{
	size_t n;
	struct plan_input *in = run_policy_inputs(s, &n);
	int rc;

	if (in == NULL)
		return -1;
	rc = plan_add_policy(plan, s->p, s->zone, in, n);
	free(in);
	return rc;
}

/*
 * monitor: the plan (without asking DescribeImages: a check made every
 * few minutes stays light), judged per volume.  Prints the Nagios text
 * or the JSON members; returns the monitoring state, which is the exit
 * status.
 */
static int
monitor(struct run *r)
{
	struct monitor *m = monitor_new(r->o->now);
	enum monitor_state state;

	if (m == NULL)
		goto oom;
	for (size_t i = 0; i < r->set->npolicies; i++) {
		size_t n;
		struct plan_input *in = run_policy_inputs(&r->ps[i], &n);
		int rc = in != NULL ? monitor_add_policy(m, r->ps[i].p, r->plan,
		    in, n) : -1;
		free(in);
		if (rc != 0)
			goto oom;
	}
	state = monitor_state(m);
	if (r->o->json)
		monitor_json_members(stdout, m);
	else
		monitor_text(stdout, m);
	monitor_free(m);
	return (int)state;
oom:
	monitor_free(m);
	log_error("out of memory");
	return MONITOR_UNKNOWN;
}

static struct policy_state *
state_of(struct run *r, const char *policy)
{
	for (size_t i = 0; i < r->set->npolicies; i++)
		if (strcmp(r->ps[i].p->name, policy) == 0)
			return &r->ps[i];
	return NULL;
}

static struct inv_snapshot *
find_snapshot(struct inventory *inv, const char *volume, const char *id)
{
	struct inv_volume *v = inventory_find(inv, volume);

	for (size_t i = 0; v != NULL && i < v->nsnapshots; i++)
		if (strcmp(v->snapshots[i].id, id) == 0)
			return &v->snapshots[i];
	return NULL;
}

static struct inv_snapshot **
grow_candidates(struct inv_snapshot **cand, size_t *cap)
{
	struct inv_snapshot **grown = realloc(cand, *cap * 2 *
	    sizeof(*grown));

	if (grown == NULL) {
		free(cand);
		return NULL;
	}
	*cap *= 2;
	return grown;
}

/* Adds the snapshots of set id of instance to the candidates not asked
 * about yet; returns their new number (*cand NULL when out of memory). */
static size_t
set_candidates(struct inventory *inv, const char *instance, const char *id,
    struct inv_snapshot ***cand, size_t *cap, size_t n)
{
	struct inv_volume *iv = inventory_find(inv, instance);
	size_t nb;
	const struct inv_snapshot *sets;

	if (iv == NULL)
		return n;
	sets = inventory_backups(iv, &nb);
	for (size_t i = 0; i < nb; i++) {
		if (strcmp(sets[i].id, id) != 0)
			continue;
		for (size_t k = 0; k < inventory_set_size(iv, i); k++) {
			/* The inventory's own snapshot, hence not const. */
			struct inv_snapshot *s = (struct inv_snapshot *)
			    inventory_set_member(iv, i, k, NULL);
			if (s->flags & INV_AMI_CHECKED)
				continue;
			s->flags |= INV_AMI_CHECKED;
			if (n == *cap && (*cand = grow_candidates(*cand,
			    cap)) == NULL)
				return 0;
			(*cand)[n++] = s;
		}
		break;
	}
	return n;
}

/*
 * Asks which AMIs use the deletion candidates not asked about yet.
 * Returns true when the plan must be made again: an AMI uses one, or
 * the answer was incomplete (then the volumes concerned are marked
 * incomplete, which holds back their deletions).
 */
static bool
check_images(struct run *r)
{
	bool replan = false;

	for (size_t gi = 0; gi < r->nregions; gi++) {
		struct region *g = &r->regions[gi];
		size_t n = 0, total = plan_nactions(r->plan);
		size_t cap = total ? total : 1;
		struct inv_snapshot **cand = malloc(cap * sizeof(*cand));

		if (cand == NULL) {
			log_error("out of memory");
			return false;
		}
		for (size_t i = 0; i < total; i++) {
			struct plan_action a;
			struct inv_snapshot *s;

			plan_action_get(r->plan, i, &a);
			if (a.kind != PLAN_DELETE ||
			    state_of(r, a.policy)->r != g)
				continue;
			if (a.instance) {
				n = set_candidates(g->inv, a.volume,
				    a.snapshot, &cand, &cap, n);
				if (cand == NULL) {
					log_error("out of memory");
					return false;
				}
				continue;
			}
			s = find_snapshot(g->inv, a.volume, a.snapshot);
			if (s == NULL || (s->flags & INV_AMI_CHECKED))
				continue;
			s->flags |= INV_AMI_CHECKED;
			if (n == cap && (cand = grow_candidates(cand, &cap)) ==
			    NULL) {
				log_error("out of memory");
				return false;
			}
			cand[n++] = s;
		}
		if (n > 0 && ec2_find_images(g->ec2, g->inv, cand, n) != 0) {
			/* Not knowing which are in use, delete none of them;
			 * the planner keeps them and the run ends with 1. */
			for (size_t i = 0; i < n; i++)
				cand[i]->flags |= INV_AMI_UNKNOWN;
			r->images_unknown = true;
			replan = true;
		}
		for (size_t i = 0; i < n; i++)
			replan |= cand[i]->ami != NULL;
		free(cand);
		/* A set is what its snapshots are. */
		for (size_t v = 0; v < inventory_nvolumes(g->inv); v++) {
			struct inv_volume *iv = inventory_volume_at(g->inv, v);
			if (iv->kind == INV_INSTANCE &&
			    inventory_build_sets(g->inv, iv) != 0) {
				log_error("out of memory");
				iv->complete = false;
				replan = true;
			}
		}
	}
	return replan;
}

/*
 * Plans, asks which deletion candidates AMIs use, and plans again while
 * that changes anything.  Rounds are bounded; a candidate the last round
 * did not ask about is still safe to try, as EC2 refuses to delete a
 * snapshot an AMI uses (InvalidSnapshot.InUse is reported, not fatal).
 */
static int
make_plan(struct run *r)
{
	for (int round = 0;; round++) {
		plan_free(r->plan);
		if ((r->plan = plan_new(r->o->now)) == NULL)
			goto oom;
		plan_set_mode(r->plan, r->o->plan_mode);
		for (size_t i = 0; i < r->set->npolicies; i++)
			if (plan_policy(r->plan, &r->ps[i]) != 0)
				goto oom;
		if (round == AMI_ROUNDS || r->o->mode == RUN_MONITOR ||
		    r->o->mode == RUN_DOCTOR || !check_images(r))
			return EXIT_OK;
		for (size_t gi = 0; gi < r->nregions; gi++)
			if (ec2_fatal(r->regions[gi].ec2) != NULL)
				return fatal_status(&r->regions[gi]);
	}
oom:
	log_error("cannot plan: out of memory");
	return EXIT_PARTIAL;
}

/*
 * Every warning of the plan, once, on standard error: with -q (cron) the
 * plan itself is not printed, and these are what the operator is mailed.
 */
static void
log_plan_warnings(const struct plan *plan)
{
	for (size_t i = 0; i < plan_nactions(plan); i++) {
		struct plan_action a;
		char reason[PLAN_REASON_MAX];
		const char *advice;

		plan_action_get(plan, i, &a);
		if (a.kind != PLAN_WARN)
			continue;
		plan_action_reason(plan, i, reason, sizeof(reason));
		advice = plan_action_advice(plan, i);
		log_warning("policy %s: %s%s%s%s%s%s%s", a.policy,
		    a.volume != NULL ? a.volume : "", a.volume != NULL ? ": " :
		    "", a.snapshot != NULL ? a.snapshot : "", a.snapshot !=
		    NULL ? ": " : "", reason, advice != NULL ? "; " : "",
		    advice != NULL ? advice : "");
	}
}

/*
 * What needs a person makes the run end with 1: volumes that could not be
 * seen whole, and every warning of the plan (a volume gone, a snapshot in
 * error, max_deletes tripped, two policies adopting one volume).
 */
static bool
volume_problems(const struct run *r)
{
	bool bad = r->images_unknown;

	if (r->plan != NULL) {
		struct plan_summary sum;
		plan_summary(r->plan, &sum);
		bad |= sum.warn > 0;
	}

	for (size_t i = 0; i < r->set->npolicies; i++) {
		const struct policy_state *s = &r->ps[i];
		bad |= s->select_failed;
		for (size_t v = 0; v < s->p->nvolumes; v++) {
			struct inv_volume *iv = inventory_find(s->r->inv,
			    s->p->volumes[v].id);
			bad |= iv == NULL || !iv->exists || !iv->complete;
		}
		for (size_t v = 0; v < s->p->ninstances; v++) {
			struct inv_volume *iv = inventory_find(s->r->inv,
			    s->p->instances[v].id);
			bad |= iv == NULL || !iv->exists || !iv->complete;
		}
		for (size_t v = 0; v < s->nselected; v++)
			bad |= !s->selected[v]->complete;
	}
	return bad;
}

static struct ec2 *
client_for(void *arg, const char *policy)
{
	return state_of(arg, policy)->r->ec2;
}

static const char *const status_names[] = {
	[EXEC_NONE] = NULL, [EXEC_DONE] = "done", [EXEC_GONE] = "gone",
	[EXEC_FAILED] = "failed", [EXEC_IN_USE] = "in-use",
	[EXEC_HELD] = "held",
};

static void
result_json(const struct plan *plan, const struct execute_outcome *out,
    const struct execute_summary *sum)
{
	json_object *res = json_object_new_object();
	json_object *list = json_object_new_array();

	json_object_object_add(res, "created",
	    json_object_new_int64((int64_t)sum->created));
	json_object_object_add(res, "deleted",
	    json_object_new_int64((int64_t)sum->deleted));
	json_object_object_add(res, "skipped",
	    json_object_new_int64((int64_t)sum->skipped));
	json_object_object_add(res, "failed",
	    json_object_new_int64((int64_t)sum->failed));
	json_object_object_add(res, "in_use",
	    json_object_new_int64((int64_t)sum->in_use));
	json_object_object_add(res, "held",
	    json_object_new_int64((int64_t)sum->held));
	json_object_object_add(res, "hook_failures",
	    json_object_new_int64((int64_t)sum->hook_failures));
	for (size_t i = 0; i < plan_nactions(plan); i++) {
		struct plan_action a;
		json_object *o;

		if (out[i].status == EXEC_NONE)
			continue;
		plan_action_get(plan, i, &a);
		o = json_object_new_object();
		json_object_object_add(o, "policy",
		    json_object_new_string(a.policy));
		json_object_object_add(o, "volume", a.volume ?
		    json_object_new_string(a.volume) : NULL);
		json_object_object_add(o, "action",
		    json_object_new_string(plan_kind_name(a.kind)));
		json_object_object_add(o, "snapshot", a.snapshot ?
		    json_object_new_string(a.snapshot) : out[i].snapshot[0] ?
		    json_object_new_string(out[i].snapshot) : NULL);
		json_object_object_add(o, "outcome",
		    json_object_new_string(status_names[out[i].status]));
		json_object_object_add(o, "error", out[i].error.code[0] ?
		    json_object_new_string(out[i].error.code) : NULL);
		json_object_object_add(o, "message", out[i].error.message[0] ?
		    json_object_new_string(out[i].error.message) : NULL);
		if (a.instance)
			json_object_object_add(o, "snapshots",
			    json_object_new_int64((int64_t)out[i].nmembers));
		if (out[i].frozen_s >= 0) {
			json_object_object_add(o, "hooks_seconds",
			    json_object_new_double(out[i].frozen_s));
			json_object_object_add(o, "hook_failed",
			    json_object_new_boolean(out[i].hook_failed));
		}
		if (out[i].unquiesced)
			json_object_object_add(o, "consistency",
			    json_object_new_string("crash"));
		json_object_array_add(list, o);
	}
	json_object_object_add(res, "outcomes", list);
	fputs(json_object_to_json_string_ext(res, REPORT_JSON_FLAGS),
	    stdout);
	json_object_put(res);
}

static int
apply(struct run *r)
{
	size_t n = plan_nactions(r->plan);
	struct execute_outcome *out = calloc(n ? n : 1, sizeof(*out));
	struct execute_summary sum;
	int rc;

	if (out == NULL || execute_plan(r->plan, client_for, r, r->freeze,
	    r->o->progress, out, &sum) != 0) {
		free(out);
		log_error("out of memory; nothing was done");
		return EXIT_PARTIAL;
	}
	r->out = out;
	r->sum = sum;
	if (r->o->json) {
		fputs(",\"result\":", stdout);
		result_json(r->plan, out, &sum);
	} else if (!quiet(r->o)) {
		printf("created %zu, deleted %zu, skipped %zu, failed %zu",
		    sum.created, sum.deleted, sum.skipped, sum.failed);
		if (sum.in_use > 0)
			printf(", %zu in use by an AMI", sum.in_use);
		if (sum.held > 0)
			printf(", %zu kept for a failed create", sum.held);
		if (sum.hook_failures > 0)
			printf(", %zu freeze hook%s failed", sum.hook_failures,
			    sum.hook_failures == 1 ? "" : "s");
		putchar('\n');
	}
	if (sum.fatal) {
		for (size_t i = 0; i < r->nregions; i++)
			if (ec2_fatal(r->regions[i].ec2) != NULL)
				log_error("region %s: %s", r->regions[i].name,
				    ec2_fatal(r->regions[i].ec2));
		rc = sum.created + sum.deleted == 0 ? EXIT_EC2 : EXIT_PARTIAL;
	} else {
		rc = sum.failed > 0 || sum.hook_failures > 0 ||
		    volume_problems(r) ? EXIT_PARTIAL : EXIT_OK;
	}
	return rc;
}

/* A snapshot as listed: its day, which orders it with start and id. */
struct listed {
	const struct inv_snapshot *s;
	int32_t day;
};

static int
newest_first(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;

	if (x->day != y->day)
		return x->day < y->day ? 1 : -1;
	if (x->s->start != y->s->start)
		return x->s->start < y->s->start ? 1 : -1;
	return strcmp(x->s->id, y->s->id);
}

/* The snapshots of set i of instance v, for JSON. */
static json_object *
list_members(const struct inv_volume *v, size_t i)
{
	json_object *arr = json_object_new_array();

	for (size_t k = 0; k < inventory_set_size(v, i); k++) {
		const struct inv_member *m;
		const struct inv_snapshot *ms = inventory_set_member(v, i, k,
		    &m);
		json_object *o = json_object_new_object();
		json_object_object_add(o, "snapshot",
		    json_object_new_string(ms->id));
		json_object_object_add(o, "volume",
		    json_object_new_string(m->volume));
		json_object_object_add(o, "state",
		    json_object_new_string(inv_state_name(ms->state)));
		json_object_array_add(arr, o);
	}
	return arr;
}

static void
list_volume(const struct policy_state *s, const struct inv_volume *v,
    const char *description, json_object *jvols)
{
	json_object *jv = NULL, *jsnaps = NULL;
	size_t nb;
	const struct inv_snapshot *backups = inventory_backups(v, &nb);
	struct listed *order = malloc((nb + 1) * sizeof(*order));
	bool shared = shared_adopter(s, v) != NULL;
	bool inst = v->kind == INV_INSTANCE;

	if (order == NULL) {
		log_error("out of memory");
		return;
	}
	for (size_t i = 0; i < nb; i++) {
		order[i].s = &backups[i];
		order[i].day = plan_snapshot_day(s->zone, order[i].s);
	}
	qsort(order, nb, sizeof(*order), newest_first);

	if (jvols != NULL) {
		jv = json_object_new_object();
		jsnaps = json_object_new_array();
		json_object_object_add(jv, "policy",
		    json_object_new_string(s->p->name));
		json_object_object_add(jv, inst ? "instance" : "volume",
		    json_object_new_string(v->id));
		json_object_object_add(jv, "description", description ?
		    json_object_new_string(description) : NULL);
		/* null: EC2 could not be asked. */
		json_object_object_add(jv, "exists", v->unchecked ? NULL :
		    json_object_new_boolean(v->exists));
		json_object_object_add(jv, "complete",
		    json_object_new_boolean(v->complete));
	} else {
		char desc[PLAN_DESCRIPTION_MAX * TEXT_ESCAPE_GROWTH];
		text_escape(description ? description : "", desc, sizeof(desc));
		printf("%s  %s%s%s%s%s\n", s->p->name, v->id, description ?
		    "  " : "", desc, v->unchecked ?
		    "  (could not check whether it exists)" : v->exists ? "" :
		    inst ? "  (the instance is gone or going)" :
		    "  (the volume no longer exists)", v->complete ? "" :
		    "  (listing incomplete)");
	}
	for (size_t i = 0; i < nb; i++) {
		const struct inv_snapshot *sn = order[i].s;
		size_t at = (size_t)(sn - backups);
		char day[TZ_DATE_MAX], start[TZ_TIME_MAX];

		tz_format_date(order[i].day, day);
		tz_format_time(sn->start, start);
		if (jsnaps != NULL) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "snapshot",
			    json_object_new_string(sn->id));
			json_object_object_add(o, "state",
			    json_object_new_string(inv_state_name(sn->state)));
			json_object_object_add(o, "day",
			    json_object_new_string(day));
			json_object_object_add(o, "start",
			    json_object_new_string(start));
			json_object_object_add(o, "owned",
			    json_object_new_boolean(plan_owns(s->p, sn, shared)));
			json_object_object_add(o, "protected",
			    json_object_new_boolean(sn->flags &
			    INV_PROTECTED));
			json_object_object_add(o, "description",
			    sn->description ? json_object_new_string(
			    sn->description) : NULL);
			if (inst)
				json_object_object_add(o, "set",
				    list_members(v, at));
			json_object_array_add(jsnaps, o);
		} else {
			char desc[EC2XML_DESCRIPTION_MAX * TEXT_ESCAPE_GROWTH];
			text_escape(sn->description ? sn->description : "", desc,
			    sizeof(desc));
			printf("  %-22s  %-11s  %s  %s  %-5s  %s%s\n", sn->id,
			    inv_state_name(sn->state), day, start,
			    plan_owns(s->p, sn, shared) ? "owned" : "-", desc,
			    sn->flags & INV_SET_BROKEN ? "(not a whole set)" :
			    "");
			for (size_t k = 0; inst && k < inventory_set_size(v,
			    at); k++) {
				const struct inv_member *m;
				const struct inv_snapshot *ms =
				    inventory_set_member(v, at, k, &m);
				printf("    %-22s  %-11s  %s\n", ms->id,
				    inv_state_name(ms->state), m->volume);
			}
		}
	}
	if (jv != NULL) {
		json_object_object_add(jv, "snapshots", jsnaps);
		json_object_array_add(jvols, jv);
	}
	free(order);
}

static int
list(struct run *r)
{
	json_object *jvols = r->o->json ? json_object_new_array() : NULL;

	for (size_t i = 0; i < r->set->npolicies; i++) {
		const struct policy_state *s = &r->ps[i];

		for (size_t v = 0; v < s->p->nvolumes; v++)
			list_volume(s, inventory_find(s->r->inv,
			    s->p->volumes[v].id), s->p->volumes[v].description,
			    jvols);
		for (size_t v = 0; v < s->p->ninstances; v++)
			list_volume(s, inventory_find(s->r->inv,
			    s->p->instances[v].id),
			    s->p->instances[v].description, jvols);
		for (size_t v = 0; v < s->nselected; v++)
			list_volume(s, s->selected[v], NULL, jvols);
	}
	if (jvols != NULL) {
		fputs("\"volumes\":", stdout);
		fputs(json_object_to_json_string_ext(jvols,
		    REPORT_JSON_FLAGS), stdout);
		json_object_put(jvols);
	}
	return volume_problems(r) ? EXIT_PARTIAL : EXIT_OK;
}

/* One line on what the run cost: calls by action, retries, bytes. */
static void
log_requests(const struct run *r)
{
	struct ec2_stats total = { { 0 }, 0, 0, 0 };
	unsigned long calls = 0;
	char by[256] = "";
	size_t len = 0;

	for (size_t i = 0; i < r->nregions; i++) {
		const struct ec2_stats *s;
		if (r->regions[i].ec2 == NULL)
			continue;
		s = ec2_stats(r->regions[i].ec2);
		for (int a = 0; a < EC2_NACTIONS; a++)
			total.calls[a] += s->calls[a];
		total.retries += s->retries;
		total.throttled += s->throttled;
		total.bytes += s->bytes;
	}
	for (int a = 0; a < EC2_NACTIONS; a++) {
		calls += total.calls[a];
		if (total.calls[a] > 0 && len < sizeof(by))
			len += (size_t)snprintf(by + len, sizeof(by) - len,
			    "%s%s %lu", len ? ", " : "", ec2_action_name(a),
			    total.calls[a]);
	}
	if (calls > 0)
		log_info("%lu requests (%s), %lu retries, %lu throttled, %llu "
		    "bytes read", calls, by, total.retries, total.throttled,
		    total.bytes);
}

/* Whether policy i's run succeeded: every action of it done, nothing that
 * needs a person. */
static bool
policy_succeeded(const struct run *r, size_t i)
{
	const char *name = r->set->policies[i]->name;

	if (r->plan == NULL || r->out == NULL || r->ps == NULL ||
	    r->sum.fatal || r->images_unknown || r->ps[i].select_failed)
		return false;
	for (size_t k = 0; k < plan_nactions(r->plan); k++) {
		struct plan_action a;
		plan_action_get(r->plan, k, &a);
		if (strcmp(a.policy, name) != 0)
			continue;
		if (a.kind == PLAN_WARN || r->out[k].status == EXEC_FAILED ||
		    r->out[k].status == EXEC_HELD)
			return false;
	}
	return true;
}

/* The metrics file and the hooks, after a run that may change things. */
static void
aftermath(struct run *r, int rc)
{
	const struct run_options *o = r->o;
	struct notify_policy *pol = calloc(r->set->npolicies + 1,
	    sizeof(*pol));
	struct notify_run nr = { 0 };
	char err[600];

	if (pol == NULL) {
		log_error("out of memory: no metrics or hooks");
		return;
	}
	nr.started = r->started;
	nr.now = r->started;
	nr.duration = (double)(http_now_ms() - r->started_ms) / 1000.0;
	nr.status = rc;
	nr.plan = r->plan;
	nr.outcomes = r->out;
	nr.policies = pol;
	nr.npolicies = r->set->npolicies;
	for (size_t g = 0; g < r->nregions && r->regions != NULL; g++) {
		const struct ec2_stats *st;
		if (r->regions[g].ec2 == NULL)
			continue;
		st = ec2_stats(r->regions[g].ec2);
		for (int a = 0; a < EC2_NACTIONS; a++)
			nr.stats.calls[a] += st->calls[a];
		nr.stats.retries += st->retries;
		nr.stats.throttled += st->throttled;
	}
	for (size_t i = 0; i < r->set->npolicies; i++) {
		pol[i].policy = r->set->policies[i];
		pol[i].succeeded = policy_succeeded(r, i);
		if (r->ps != NULL && r->ps[i].r != NULL &&
		    r->ps[i].r->inv != NULL && r->plan != NULL)
			pol[i].vols = run_policy_inputs(&r->ps[i], &pol[i].nvols);
	}
	if (o->metrics_file != NULL &&
	    notify_metrics(&nr, o->metrics_file, err, sizeof(err)) != 0)
		log_error("metrics: %s", err);
	notify_hooks(&nr, o->on_success, o->on_failure, o->hook_timeout_s);
	for (size_t i = 0; i < r->set->npolicies; i++)
		free((void *)pol[i].vols);
	free(pol);
}

static void
cleanup(struct run *r)
{
	/* Before the lock goes: no run starts while a thaw is owed. */
	freeze_stop(r->freeze);
	r->freeze = NULL;
	plan_free(r->plan);
	free(r->out);
	for (size_t i = 0; i < r->set->npolicies && r->ps != NULL; i++) {
		tz_free(r->ps[i].zone);
		free(r->ps[i].selected);
	}
	free(r->ps);
	for (size_t i = 0; i < r->nregions; i++) {
		ec2_free(r->regions[i].ec2);
		inventory_free(r->regions[i].inv);
		free(r->regions[i].adopters);
	}
	free(r->regions);
	credentials_free(r->creds);
	lock_release(r->lock_fd);
}

int
run_command(const struct policy_set *set, const struct run_options *o)
{
	struct run r = { 0 };
	bool monitored = false;
	bool opened = false;
	int rc;

	r.o = o;
	r.set = set;
	r.lock_fd = -1;
	r.started = (int64_t)time(NULL);
	r.started_ms = http_now_ms();
	r.ps = calloc(set->npolicies + 1, sizeof(*r.ps));
	r.regions = calloc(set->npolicies + 1, sizeof(*r.regions));
	if (r.ps == NULL || r.regions == NULL) {
		log_error("out of memory");
		rc = EXIT_PARTIAL;
		goto done;
	}
	if (o->mode == RUN_APPLY && (rc = take_lock(&r)) != EXIT_OK)
		goto done;
	/* Before any secret is read: the runner is a copy of this process,
	 * and should hold none. */
	if (o->mode == RUN_APPLY && o->plan_mode != PLAN_MODE_PRUNE_ONLY &&
	    has_freeze_hooks(set)) {
		char err[200];
		if ((r.freeze = freeze_start(r.lock_fd, err, sizeof(err))) ==
		    NULL)
			log_error("cannot start the process that runs the "
			    "freeze hooks: %s; the snapshots that need them "
			    "are not made", err);
	}
	if ((rc = open_clients(&r)) != EXIT_OK ||
	    (rc = discover(&r)) != EXIT_OK)
		goto done;
	if (o->now_given && (rc = check_now(&r)) != EXIT_OK)
		goto done;
	if (find_adopters(&r) != 0) {
		log_error("out of memory");
		rc = EXIT_PARTIAL;
		goto done;
	}
	if (o->mode == RUN_LIST) {
		if (o->json) {
			fputc('{', stdout);
			opened = true;
		}
		rc = list(&r);
		goto done;
	}
	if ((rc = make_plan(&r)) != EXIT_OK)
		goto done;
	if (o->mode == RUN_MONITOR || o->mode == RUN_DOCTOR) {
		if (o->json) {
			fputc('{', stdout);
			opened = true;
		}
		rc = o->mode == RUN_MONITOR ? monitor(&r) : doctor_report(&r);
		monitored = true;
		goto done;
	}
	log_plan_warnings(r.plan);
	/* JSON: {"plan": {...}, "result": ...} for run, the plan's members
	 * for plan; the status and messages end both (done:). */
	if (o->json) {
		fputs(o->mode == RUN_APPLY ? "{\"plan\":{" : "{", stdout);
		opened = true;
	}
	/* Quiet (cron): only what needs a person, so no plan in text. */
	if ((o->json ? report_plan_json_members(stdout, r.plan) : quiet(o) ?
	    0 : report_plan_text(stdout, r.plan, o->colour)) != 0) {
		log_error("cannot write the plan; nothing was done");
		rc = EXIT_PARTIAL;
		goto done;
	}
	if (o->json && o->mode == RUN_APPLY)
		fputc('}', stdout);
	fflush(stdout);
	if (o->mode == RUN_PLAN)
		rc = volume_problems(&r) ? EXIT_PARTIAL : EXIT_OK;
	else
		rc = apply(&r);
done:
	if (o->mode != RUN_MONITOR && o->mode != RUN_DOCTOR)
		log_requests(&r);
	if (o->mode == RUN_APPLY && rc != EXIT_LOCKED)
		aftermath(&r, rc);
	cleanup(&r);
	if (o->mode == RUN_DOCTOR && !monitored) {
		/* What stopped it is the problem to report. */
		size_t n;
		const char *const *errors = log_kept(LOG_LEVEL_ERROR, &n, NULL);
		for (size_t i = 0; i < n && !o->json; i++)
			printf("problem  %s\n", errors[i]);
		rc = EXIT_PARTIAL;
	}
	if (o->mode == RUN_MONITOR && !monitored) {
		/* Nothing could be judged: UNKNOWN, with the first error, on
		 * standard output where monitoring systems read it. */
		size_t n;
		const char *const *errors = log_kept(LOG_LEVEL_ERROR, &n, NULL);
		rc = MONITOR_UNKNOWN;
		if (!o->json)
			printf("UNKNOWN: %s\n", n > 0 ? errors[0] : "the check "
			    "could not run");
		else if (!opened) {
			fputs("{\"state\":\"UNKNOWN\"", stdout);
			opened = true;
		}
	}
	if (o->json) {
		/* Whatever happened, one JSON document: opened above, or
		 * here when the run stopped before anything was written. */
		if (!opened)
			fputc('{', stdout);
		else
			fputc(',', stdout);
		report_json_status(stdout, rc);
		fputs("}\n", stdout);
	}
	return rc;
}

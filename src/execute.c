/*
 * The executor turns plan actions into EC2 calls and calls back into
 * outcomes.  It batches per client (per region) and lets src/ec2.c run
 * each batch concurrently; everything about retries and rate limits lives
 * there.  A set (an instance's snapshots) is one action: one
 * CreateSnapshots, or one DeleteSnapshot per snapshot of it, reported as
 * one outcome.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "execute.h"
#include "http.h"
#include "log.h"

struct progress {
	bool on;
	size_t done, total;
	int64_t started, shown;    /* monotonic ms */
};

/* On a terminal: how far, how fast, how long still; redrawn at most ten
 * times a second, and at the end. */
static void
progress_tick(struct progress *p)
{
	int64_t now;
	double rate;

	p->done++;
	if (!p->on)
		return;
	now = http_now_ms();
	if (p->started == 0)
		p->started = now;
	if (p->done < p->total && now - p->shown < 100)
		return;
	p->shown = now;
	rate = now > p->started ? (double)p->done * 1000.0 /
	    (double)(now - p->started) : 0;
	if (rate > 0 && p->done < p->total)
		log_progress("applying %zu/%zu, %.1f a second, about %.0f s "
		    "left", p->done, p->total, rate,
		    (double)(p->total - p->done) / rate);
	else
		log_progress("applying %zu/%zu", p->done, p->total);
}

static void
progress_end(struct progress *p)
{
	if (p->on)
		log_progress_end();
}

/* The clients a plan's creates and deletes go to, in first-use order. */
static size_t
clients(const struct plan *plan, execute_client_fn client, void *arg,
    struct ec2 **out)
{
	size_t n = 0;

	for (size_t i = 0; i < plan_nactions(plan); i++) {
		struct plan_action a;
		struct ec2 *ec2;
		size_t j;

		plan_action_get(plan, i, &a);
		if (a.kind != PLAN_CREATE && a.kind != PLAN_DELETE)
			continue;
		ec2 = client(arg, a.policy);
		for (j = 0; j < n && out[j] != ec2; j++)
			;
		if (j == n)
			out[n++] = ec2;
	}
	return n;
}

/* One client's share of the plan, while it is applied.  Creates with
 * freeze hooks come first in cr ([0, nhooked)). */
struct batch {
	const struct plan *plan;
	struct ec2 *ec2;
	struct freeze *freeze;
	struct ec2_create *cr;
	size_t nc, nhooked;
	struct ec2_delete *del;
	size_t nd;
	size_t *ci;                /* create -> action */
	size_t *di;                /* delete -> action */
	size_t *left;              /* per action: deletes not yet ended */
	bool *reported;            /* per action */
	bool *del_ended;           /* per delete */
	struct execute_outcome *outcomes;
	struct execute_summary *sum;
	struct progress *pg;
	/* Per create: what the request carries. */
	char (*desc)[PLAN_DESCRIPTION_MAX];
	struct ec2_tag **tags;
	char (*set_id)[INV_ID_MAX + 1];
	const char *(*exclude)[POLICY_EXCLUDE_MAX];
	/* The phase running: creates from create_off on, deletes through
	 * del_map. */
	size_t create_off;
	size_t *del_map;
	struct ec2_delete *phase_del; /* the deletes given to the client */
};

static void
set_error(struct ec2_error *e, const char *code, const char *message)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->code, sizeof(e->code), "%s", code);
	snprintf(e->message, sizeof(e->message), "%s", message);
}

/* "NAME=value" in a fresh string, or NULL. */
static char *
env_pair(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 2;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s=%s", name, value);
	return s;
}

/* A made-up set id, "set-" and 17 hex digits as EC2's own ids. */
static void
new_set_id(char out[INV_ID_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	static uint64_t counter;
	unsigned char r[9];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && read(fd, r, sizeof(r)) == (ssize_t)sizeof(r);

	if (fd >= 0)
		close(fd);
	if (!ok) {
		/* Unique enough within a run: the set id is only ever
		 * compared with the snapshots of one instance. */
		uint64_t x = (uint64_t)time(NULL) * 1000003u ^
		    (uint64_t)getpid() << 20 ^ ++counter;
		for (size_t i = 0; i < sizeof(r); i++, x >>= 7)
			r[i] = (unsigned char)(x * 0x9E3779B97F4A7C15ULL >> 56);
	}
	memcpy(out, "set-", 4);
	for (size_t i = 0; i < 17; i++)
		out[4 + i] = hex[(i % 2 ? r[i / 2] : r[i / 2] >> 4) & 15];
	out[21] = '\0';
}

static void
create_outcome(struct batch *b, size_t k)
{
	const struct ec2_create *cr = &b->cr[k];
	struct execute_outcome *o = &b->outcomes[b->ci[k]];
	struct plan_action a;
	char text[800], frozen[48] = "";

	plan_action_get(b->plan, b->ci[k], &a);
	if (o->frozen_s >= 0)
		snprintf(frozen, sizeof(frozen), " (hooks held it %.1f s)",
		    o->frozen_s);
	if (cr->ok) {
		o->status = EXEC_DONE;
		o->nmembers = a.instance ? cr->nmembers : 1;
		snprintf(o->snapshot, sizeof(o->snapshot), "%s", a.instance ?
		    cr->set_tag : cr->snapshot);
		b->sum->created++;
		if (a.instance)
			log_info("policy %s: %s: created set %s of %zu "
			    "snapshots%s", a.policy, a.volume, cr->set_tag,
			    cr->nmembers, frozen);
		else
			log_info("policy %s: %s: created %s%s", a.policy,
			    a.volume, cr->snapshot, frozen);
		if (a.instance && cr->nmembers != cr->set_size)
			log_warning("policy %s: %s: set %s has %zu snapshots "
			    "where %zu volumes were attached when the run "
			    "listed them; it is kept, and the next runs warn "
			    "about it until a person looks", a.policy,
			    a.volume, cr->set_tag, cr->nmembers, cr->set_size);
		return;
	}
	o->status = EXEC_FAILED;
	o->error = cr->error;
	b->sum->failed++;
	if (strcmp(cr->error.code, "PreSnapshotFailed") == 0)
		return;              /* said when the hook failed */
	log_error("policy %s: %s: %s: %s%s%s", a.policy, a.volume,
	    a.instance ? "CreateSnapshots" : "CreateSnapshot",
	    ec2_error_text(&cr->error, text, sizeof(text)),
	    strcmp(cr->error.code, "UnauthorizedOperation") != 0 ? "" :
	    a.instance ? "; the credentials may not snapshot this instance "
	    "with the ec2backup tags: allow ec2:CreateSnapshots on the "
	    "instance, its volumes and snapshots, and ec2:CreateTags (see "
	    "the IAM policy in the documentation)" : "; the credentials may "
	    "not create snapshots of this volume with the ec2backup tags: "
	    "allow ec2:CreateSnapshot and ec2:CreateTags (see the IAM policy "
	    "in the documentation)", strcmp(cr->error.code,
	    "ConcurrentSnapshotLimitExceeded") == 0 ? "; too many snapshots "
	    "of one volume are pending (EC2 allows 5, 1 for st1 and sc1): "
	    "the next run tries again" : "");
}

/* One snapshot's delete has ended; the action's outcome is known when
 * every snapshot of it (one, or a set's) has. */
static void
delete_outcome(struct batch *b, size_t j)
{
	const struct ec2_delete *d = &b->del[j];
	size_t i = b->di[j];
	struct execute_outcome *o = &b->outcomes[i];
	struct plan_action a;
	char text[800];

	/* The worst of its snapshots is the action's. */
	if (d->ok && !d->gone && o->status != EXEC_FAILED &&
	    o->status != EXEC_IN_USE && o->status != EXEC_HELD)
		o->status = EXEC_DONE;
	else if (d->ok && d->gone && o->status == EXEC_NONE)
		o->status = EXEC_GONE;
	else if (d->held && o->status != EXEC_FAILED &&
	    o->status != EXEC_IN_USE)
		o->status = EXEC_HELD;
	else if (d->in_use && o->status != EXEC_FAILED)
		o->status = EXEC_IN_USE;
	else if (!d->ok && !d->held && !d->in_use)
		o->status = EXEC_FAILED;
	if (!d->ok && (o->error.code[0] == '\0' || !d->held))
		o->error = d->error;
	if (d->ok)
		o->nmembers++;
	if (--b->left[i] > 0)
		return;

	plan_action_get(b->plan, i, &a);
	switch (o->status) {
	case EXEC_DONE:
	case EXEC_GONE:
		b->sum->deleted++;
		if (a.instance)
			log_info("policy %s: %s: deleted set %s (%zu "
			    "snapshots)", a.policy, a.volume, a.snapshot,
			    o->nmembers);
		else
			log_info("policy %s: %s: deleted %s%s", a.policy,
			    a.volume, a.snapshot, o->status == EXEC_GONE ?
			    " (it was already gone)" : "");
		break;
	case EXEC_HELD:
		b->sum->held++;
		log_warning("policy %s: %s: %s kept: today's %s was not "
		    "created, so it still counts", a.policy, a.volume,
		    a.snapshot, a.instance ? "set" : "snapshot");
		break;
	case EXEC_IN_USE:
		b->sum->in_use++;
		log_warning("policy %s: %s: %s not deleted: an AMI uses %s "
		    "(InvalidSnapshot.InUse); deregister the AMI, or tag the "
		    "snapshot%s ec2backup:protect to keep it quietly", a.policy,
		    a.volume, a.snapshot, a.instance ? "one of its snapshots" :
		    "it", a.instance ? "s" : "");
		break;
	default:
		o->status = EXEC_FAILED;
		b->sum->failed++;
		log_error("policy %s: %s: DeleteSnapshot %s: %s%s%s", a.policy,
		    a.volume, a.snapshot, ec2_error_text(&o->error, text,
		    sizeof(text)), a.instance && o->nmembers > 0 ?
		    "; part of the set was deleted: the next runs warn about "
		    "the rest until a person deletes it" : "",
		    strcmp(o->error.code, "UnauthorizedOperation") == 0 ?
		    "; the credentials may not delete this snapshot: allow "
		    "ec2:DeleteSnapshot on it (see the IAM policy in the "
		    "documentation)" : "");
		break;
	}
}

/* An action has ended: its line is logged now, not when all have. */
static void
ended(struct batch *b, enum ec2_action action, size_t k)
{
	size_t i = action == EC2_CREATE_SNAPSHOT ? b->ci[k] : b->di[k];

	if (action == EC2_CREATE_SNAPSHOT) {
		if (b->reported[i])
			return;
		b->reported[i] = true;
		/* Counted first, so the progress line a message draws again
		 * under itself already counts this action. */
		progress_tick(b->pg);
		create_outcome(b, k);
		return;
	}
	if (b->del_ended[k] || b->reported[i] || b->left[i] == 0)
		return;
	b->del_ended[k] = true;
	if (b->left[i] == 1) {
		b->reported[i] = true;
		progress_tick(b->pg);
	}
	delete_outcome(b, k);
}

/* The client's progress callback, for the phase running. */
static void
phase_ended(void *arg, enum ec2_action action, size_t k)
{
	struct batch *b = arg;

	if (action == EC2_CREATE_SNAPSHOT) {
		ended(b, action, b->create_off + k);
		return;
	}
	/* The client filled in its copy. */
	b->del[b->del_map[k]] = b->phase_del[k];
	ended(b, action, b->del_map[k]);
}

/* --- freeze hooks --- */

/* The environment of k's hooks: EC2BACKUP_* strings, NULL-terminated. */
static char **
hook_env(struct batch *b, size_t k)
{
	struct plan_action a;
	const struct inv_attachment *m[INV_SET_SIZE_MAX];
	size_t nm = 0, lv = 16, ld = 16;
	char **env = calloc(6, sizeof(*env));
	char *vols, *devs;
	bool eb;
	const char *ex[POLICY_EXCLUDE_MAX];
	size_t nex;

	plan_action_get(b->plan, b->ci[k], &a);
	if (a.instance)
		nm = plan_create_members(b->plan, b->ci[k], m,
		    INV_SET_SIZE_MAX, &eb, ex, &nex);
	for (size_t i = 0; i < nm && i < INV_SET_SIZE_MAX; i++) {
		lv += strlen(m[i]->volume) + 1;
		ld += (m[i]->device != NULL ? strlen(m[i]->device) : 1) + 1;
	}
	lv += strlen(a.volume);
	vols = malloc(lv + 32);
	devs = malloc(ld + 32);
	if (env == NULL || vols == NULL || devs == NULL)
		goto fail;
	strcpy(vols, "EC2BACKUP_VOLUMES=");
	strcpy(devs, "EC2BACKUP_DEVICES=");
	if (!a.instance)
		strcat(vols, a.volume);
	for (size_t i = 0; i < nm && i < INV_SET_SIZE_MAX; i++) {
		strcat(vols, i > 0 ? " " : "");
		strcat(vols, m[i]->volume);
		strcat(devs, i > 0 ? " " : "");
		strcat(devs, m[i]->device != NULL ? m[i]->device : "-");
	}
	env[0] = env_pair("EC2BACKUP_POLICY", a.policy);
	env[1] = env_pair(a.instance ? "EC2BACKUP_INSTANCE" :
	    "EC2BACKUP_VOLUME", a.volume);
	if (env[0] == NULL || env[1] == NULL)
		goto fail;
	env[2] = vols;
	env[3] = devs;
	return env;
fail:
	free(vols);
	free(devs);
	for (size_t i = 0; env != NULL && i < 2; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void
free_env(char **env)
{
	for (char **e = env; e != NULL && *e != NULL; e++)
		free(*e);
	free(env);
}

/* The hooked create being applied, for the answered callback. */
struct hooked {
	struct batch *b;
	size_t k;
	unsigned id;
	bool post_done;
	int64_t started;           /* monotonic ms, before the pre hook */
	const char *what;
};

static void
run_post(struct hooked *h)
{
	struct execute_outcome *o = &h->b->outcomes[h->b->ci[h->k]];
	struct plan_action a;
	struct hook_result res;
	char err[200], how[80];
	bool ran;
	int rc;

	if (h->post_done)
		return;
	h->post_done = true;
	plan_action_get(h->b->plan, h->b->ci[h->k], &a);
	rc = freeze_post(h->b->freeze, h->id, &res, &ran, err, sizeof(err));
	o->frozen_s = (double)(http_now_ms() - h->started) / 1000.0;
	if (rc != 0) {
		o->hook_failed = true;
		h->b->sum->hook_failures++;
		log_error("policy %s: %s: post_snapshot hook could not be run: "
		    "%s; whatever the pre_snapshot hook did (a freeze?) is not "
		    "undone: undo it by hand", a.policy, a.volume, err);
	} else if (ran && (res.status != 0 || res.signal != 0 ||
	    res.timed_out)) {
		o->hook_failed = true;
		h->b->sum->hook_failures++;
		hook_describe(&res, a.hook_timeout_ms, how, sizeof(how));
		log_error("policy %s: %s: post_snapshot hook failed: %s; check "
		    "that what the pre_snapshot hook did (a freeze?) was "
		    "undone", a.policy, a.volume, how);
	} else if (ran) {
		log_debug("policy %s: %s: post_snapshot hook done", a.policy,
		    a.volume);
	}
}

static void
hooked_answered(void *arg, size_t index)
{
	(void)index;
	run_post(arg);
}

/* Applies create k between its hooks. */
static void
apply_hooked(struct batch *b, size_t k)
{
	struct ec2_create *cr = &b->cr[k];
	struct execute_outcome *o = &b->outcomes[b->ci[k]];
	struct plan_action a;
	struct hooked h = { b, k, 0, false, 0, NULL };
	struct freeze_hooks fh;
	struct hook_result res;
	char err[200], how[200], what[160];
	char **env;
	int rc;

	plan_action_get(b->plan, b->ci[k], &a);
	snprintf(what, sizeof(what), "policy %s, %s %s", a.policy,
	    a.instance ? "instance" : "volume", a.volume);
	if (b->freeze == NULL || (env = hook_env(b, k)) == NULL) {
		set_error(&cr->error, "PreSnapshotFailed", "the freeze hooks "
		    "cannot be run");
		log_error("policy %s: %s: no snapshot: its freeze hooks "
		    "cannot be run", a.policy, a.volume);
		ended(b, EC2_CREATE_SNAPSHOT, k);
		return;
	}
	fh = (struct freeze_hooks){ a.freeze->pre, a.freeze->post, env,
	    a.hook_timeout_ms, what };
	h.started = http_now_ms();
	rc = freeze_pre(b->freeze, &fh, &h.id, &res, err, sizeof(err));
	if (a.freeze->pre != NULL && (rc != 0 || res.status != 0 ||
	    res.signal != 0 || res.timed_out)) {
		if (rc == 0)
			hook_describe(&res, a.hook_timeout_ms, how, sizeof(how));
		else
			snprintf(how, sizeof(how), "%s", err);
		o->hook_failed = true;
		b->sum->hook_failures++;
		if (a.pre_failure == POLICY_PRE_SKIP) {
			log_error("policy %s: %s: pre_snapshot hook failed: %s; "
			    "no snapshot (pre_snapshot_failure = skip)",
			    a.policy, a.volume, how);
			set_error(&cr->error, "PreSnapshotFailed",
			    "the pre_snapshot hook failed");
			run_post(&h);
			free_env(env);
			ended(b, EC2_CREATE_SNAPSHOT, k);
			return;
		}
		log_error("policy %s: %s: pre_snapshot hook failed: %s; "
		    "snapshotting anyway (pre_snapshot_failure = snapshot), "
		    "tagged %s=crash", a.policy, a.volume, how,
		    INV_TAG_CONSISTENCY);
		o->unquiesced = true;
		b->tags[k][cr->ntags++] = (struct ec2_tag){ INV_TAG_CONSISTENCY,
		    "crash" };
	}
	ec2_set_answered(b->ec2, hooked_answered, &h);
	ec2_apply(b->ec2, cr, 1, NULL, 0);
	ec2_set_answered(b->ec2, NULL, NULL);
	run_post(&h);
	free_env(env);
	ended(b, EC2_CREATE_SNAPSHOT, k);
}

/* --- building and running a client's share --- */

/* Fills create k for action i; returns -1 when out of memory. */
static int
build_create(struct batch *b, size_t k, size_t i)
{
	struct ec2_create *cr = &b->cr[k];
	struct plan_action a;
	struct plan_tag tags[PLAN_TAGS_MAX];
	size_t ntags;
	struct ec2_tag *etags;

	plan_action_get(b->plan, i, &a);
	memset(cr, 0, sizeof(*cr));
	ntags = plan_create_tags(b->plan, i, tags, PLAN_TAGS_MAX);
	plan_create_description(b->plan, i, b->desc[k], sizeof(b->desc[k]));
	/* Room for the set's id and the consistency mark. */
	if ((etags = calloc(ntags + 2, sizeof(*etags))) == NULL)
		return -1;
	b->tags[k] = etags;
	for (size_t t = 0; t < ntags; t++)
		etags[t] = (struct ec2_tag){ tags[t].key, tags[t].value };
	cr->description = b->desc[k];
	cr->owner_tag = a.policy;
	for (size_t t = 0; t < ntags; t++)
		if (strcmp(tags[t].key, INV_TAG_DATE) == 0)
			cr->date_tag = tags[t].value;
	if (a.instance) {
		const struct inv_attachment *m[INV_SET_SIZE_MAX];
		bool exclude_boot;

		cr->instance = a.volume;
		cr->set_size = plan_create_members(b->plan, i, m,
		    INV_SET_SIZE_MAX, &exclude_boot, b->exclude[k],
		    &cr->nexclude);
		cr->exclude_boot = exclude_boot;
		cr->exclude = b->exclude[k];
		cr->copy_volume_tags = a.copy_volume_tags;
		new_set_id(b->set_id[k]);
		cr->set_tag = b->set_id[k];
		etags[ntags++] = (struct ec2_tag){ INV_TAG_SET, b->set_id[k] };
		if ((cr->members = calloc(INV_SET_SIZE_MAX,
		    sizeof(*cr->members))) == NULL)
			return -1;
		cr->members_max = INV_SET_SIZE_MAX;
	} else {
		cr->volume = a.volume;
	}
	cr->tags = etags;
	cr->ntags = ntags;
	b->ci[k] = i;
	return 0;
}

static void
batch_free(struct batch *b)
{
	for (size_t k = 0; b->tags != NULL && k < b->nc; k++)
		free(b->tags[k]);
	for (size_t k = 0; b->cr != NULL && k < b->nc; k++)
		free(b->cr[k].members);
	free(b->tags);
	free(b->cr);
	free(b->del);
	free(b->ci);
	free(b->di);
	free(b->left);
	free(b->reported);
	free(b->del_ended);
	free(b->desc);
	free(b->set_id);
	free(b->exclude);
	free(b->del_map);
}

/* Builds the requests for one client, runs them, records outcomes. */
static int
apply_client(const struct plan *plan, struct ec2 *ec2,
    execute_client_fn client, void *arg, struct freeze *freeze,
    struct progress *pg, struct execute_outcome *outcomes,
    struct execute_summary *sum)
{
	size_t n = plan_nactions(plan), nc = 0, nd = 0, nmem = 0;
	struct batch b = { 0 };
	size_t *local = calloc(n + 1, sizeof(*local)); /* action -> 1 + k */
	struct ec2_delete *del2 = NULL;
	size_t nd2 = 0;
	int rc = -1;

	b.plan = plan;
	b.ec2 = ec2;
	b.freeze = freeze;
	b.outcomes = outcomes;
	b.sum = sum;
	b.pg = pg;
	/* How many creates, and how many snapshot deletes. */
	for (size_t i = 0; i < n; i++) {
		struct plan_action a;

		plan_action_get(plan, i, &a);
		if ((a.kind != PLAN_CREATE && a.kind != PLAN_DELETE) ||
		    client(arg, a.policy) != ec2)
			continue;
		if (a.kind == PLAN_CREATE)
			nc++;
		else
			nmem += plan_action_members(plan, i, NULL, 0);
	}
	b.cr = calloc(nc + 1, sizeof(*b.cr));
	b.tags = calloc(nc + 1, sizeof(*b.tags));
	b.ci = calloc(nc + 1, sizeof(*b.ci));
	b.desc = calloc(nc + 1, sizeof(*b.desc));
	b.set_id = calloc(nc + 1, sizeof(*b.set_id));
	b.exclude = calloc(nc + 1, sizeof(*b.exclude));
	b.del = calloc(nmem + 1, sizeof(*b.del));
	b.di = calloc(nmem + 1, sizeof(*b.di));
	b.del_map = calloc(nmem + 1, sizeof(*b.del_map));
	b.left = calloc(n + 1, sizeof(*b.left));
	b.reported = calloc(n + 1, sizeof(*b.reported));
	b.del_ended = calloc(nmem + 1, sizeof(*b.del_ended));
	del2 = calloc(nmem + 1, sizeof(*del2));
	if (local == NULL || b.cr == NULL || b.tags == NULL || b.ci == NULL ||
	    b.desc == NULL || b.set_id == NULL || b.exclude == NULL ||
	    b.del == NULL || b.di == NULL || b.del_map == NULL ||
	    b.left == NULL || b.reported == NULL || b.del_ended == NULL ||
	    del2 == NULL)
		goto done;
	/* Creates with hooks first, then the others. */
	for (int hooked = 1; hooked >= 0; hooked--) {
		for (size_t i = 0; i < n; i++) {
			struct plan_action a;

			plan_action_get(plan, i, &a);
			if (a.kind != PLAN_CREATE || client(arg, a.policy) !=
			    ec2 || (a.freeze != NULL) != (hooked == 1))
				continue;
			if (build_create(&b, b.nc, i) != 0) {
				b.nc++;
				goto done;
			}
			local[i] = ++b.nc;
			b.nhooked += hooked == 1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct plan_action a;
		const char *ids[INV_SET_SIZE_MAX];
		size_t m;

		plan_action_get(plan, i, &a);
		if (a.kind != PLAN_DELETE || client(arg, a.policy) != ec2)
			continue;
		m = plan_action_members(plan, i, ids, INV_SET_SIZE_MAX);
		for (size_t j = 0; j < m && j < INV_SET_SIZE_MAX; j++) {
			b.del[nd].snapshot = ids[j];
			/* A delete that only the new snapshot's slot allows
			 * waits for it; its create is in this batch (same
			 * volume or instance). */
			b.del[nd].after = a.needs_create ?
			    local[a.create_index] : 0;
			b.di[nd++] = i;
			b.left[i]++;
		}
	}
	b.nd = nd;

	/* Phase 1: each hooked create alone, between its hooks. */
	for (size_t k = 0; k < b.nhooked; k++)
		apply_hooked(&b, k);

	/* Phase 2: the other creates and every delete, together.  A delete
	 * waiting for a hooked create goes now if it succeeded and is held
	 * if not. */
	for (size_t j = 0; j < nd; j++) {
		struct ec2_delete *d = &b.del[j];

		if (d->after > 0 && d->after <= b.nhooked) {
			if (!b.cr[d->after - 1].ok) {
				d->held = true;
				set_error(&d->error, "Held", "the snapshot it "
				    "made room for was not created");
				ended(&b, EC2_DELETE_SNAPSHOT, j);
				continue;
			}
			d->after = 0;
		} else if (d->after > 0) {
			d->after -= b.nhooked;
		}
		del2[nd2] = *d;
		b.del_map[nd2++] = j;
	}
	b.create_off = b.nhooked;
	b.phase_del = del2;
	ec2_set_progress(ec2, phase_ended, &b);
	ec2_apply(ec2, b.cr + b.nhooked, b.nc - b.nhooked, del2, nd2);
	ec2_set_progress(ec2, NULL, NULL);
	for (size_t j = 0; j < nd2; j++)
		b.del[b.del_map[j]] = del2[j];
	/* Anything the client did not report (it should report all). */
	for (size_t k = b.nhooked; k < b.nc; k++)
		ended(&b, EC2_CREATE_SNAPSHOT, k);
	for (size_t j = 0; j < nd2; j++)
		ended(&b, EC2_DELETE_SNAPSHOT, b.del_map[j]);
	sum->fatal |= ec2_fatal(ec2) != NULL;
	rc = 0;
done:
	batch_free(&b);
	free(del2);
	free(local);
	return rc;
}

int
execute_plan(const struct plan *plan, execute_client_fn client, void *arg,
    struct freeze *freeze, bool progress, struct execute_outcome *outcomes,
    struct execute_summary *sum)
{
	size_t n = plan_nactions(plan), nclients;
	struct ec2 **list = calloc(n + 1, sizeof(*list));
	struct progress pg = { progress, 0, 0, 0, 0 };
	struct plan_summary ps;
	int rc = 0;

	memset(sum, 0, sizeof(*sum));
	memset(outcomes, 0, n * sizeof(*outcomes));
	for (size_t i = 0; i < n; i++)
		outcomes[i].frozen_s = -1;
	if (list == NULL) {
		log_error("out of memory");
		return -1;
	}
	plan_summary(plan, &ps);
	sum->skipped = ps.skip;
	pg.total = ps.create + ps.delete;
	nclients = clients(plan, client, arg, list);
	for (size_t j = 0; j < nclients && rc == 0; j++)
		rc = apply_client(plan, list[j], client, arg, freeze, &pg,
		    outcomes, sum);
	if (rc != 0)
		log_error("out of memory");
	progress_end(&pg);
	free(list);
	return rc;
}

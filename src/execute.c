/*
 * The executor turns plan actions into EC2 calls and calls back into
 * outcomes.  It batches per client (per region) and lets src/ec2.c run
 * each batch concurrently; everything about retries and rate limits lives
 * there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One client's share of the plan, while it is applied. */
struct batch {
	const struct plan *plan;
	struct ec2_create *cr;
	struct ec2_delete *del;
	size_t *ci;                /* create -> action */
	size_t *di;                /* delete -> action */
	bool *reported;            /* per action */
	struct execute_outcome *outcomes;
	struct execute_summary *sum;
	struct progress *pg;
};

static void
create_outcome(struct batch *b, size_t k)
{
	const struct ec2_create *cr = &b->cr[k];
	struct execute_outcome *o = &b->outcomes[b->ci[k]];
	struct plan_action a;
	char text[800];

	plan_action_get(b->plan, b->ci[k], &a);
	if (cr->ok) {
		o->status = EXEC_DONE;
		memcpy(o->snapshot, cr->snapshot, sizeof(o->snapshot));
		b->sum->created++;
		log_info("policy %s: %s: created %s", a.policy, a.volume,
		    cr->snapshot);
		return;
	}
	o->status = EXEC_FAILED;
	o->error = cr->error;
	b->sum->failed++;
	log_error("policy %s: %s: CreateSnapshot: %s%s", a.policy, a.volume,
	    ec2_error_text(&cr->error, text, sizeof(text)),
	    strcmp(cr->error.code, "UnauthorizedOperation") == 0 ? "; the "
	    "credentials may not create snapshots of this volume with the "
	    "ec2backup tags: allow ec2:CreateSnapshot and ec2:CreateTags "
	    "(see the IAM policy in the documentation)" : "");
}

static void
delete_outcome(struct batch *b, size_t k)
{
	const struct ec2_delete *d = &b->del[k];
	struct execute_outcome *o = &b->outcomes[b->di[k]];
	struct plan_action a;
	char text[800];

	plan_action_get(b->plan, b->di[k], &a);
	o->error = d->error;
	if (d->ok) {
		o->status = d->gone ? EXEC_GONE : EXEC_DONE;
		b->sum->deleted++;
		log_info("policy %s: %s: deleted %s%s", a.policy, a.volume,
		    a.snapshot, d->gone ? " (it was already gone)" : "");
	} else if (d->held) {
		o->status = EXEC_HELD;
		b->sum->held++;
		log_warning("policy %s: %s: %s kept: today's snapshot was not "
		    "created, so it still counts", a.policy, a.volume,
		    a.snapshot);
	} else if (d->in_use) {
		o->status = EXEC_IN_USE;
		b->sum->in_use++;
		log_warning("policy %s: %s: %s not deleted: an AMI uses it "
		    "(InvalidSnapshot.InUse); deregister the AMI, or tag the "
		    "snapshot ec2backup:protect to keep it quietly", a.policy,
		    a.volume, a.snapshot);
	} else {
		o->status = EXEC_FAILED;
		b->sum->failed++;
		log_error("policy %s: %s: DeleteSnapshot %s: %s%s", a.policy,
		    a.volume, a.snapshot, ec2_error_text(&d->error, text,
		    sizeof(text)), strcmp(d->error.code,
		    "UnauthorizedOperation") == 0 ? "; the credentials may not "
		    "delete this snapshot: allow ec2:DeleteSnapshot on it (see "
		    "the IAM policy in the documentation)" : "");
	}
}

/* An action has ended: its line is logged now, not when all have. */
static void
ended(void *arg, enum ec2_action action, size_t k)
{
	struct batch *b = arg;
	size_t i = action == EC2_CREATE_SNAPSHOT ? b->ci[k] : b->di[k];

	if (b->reported[i])
		return;
	b->reported[i] = true;
	/* Counted first, so the progress line a message draws again under
	 * itself already counts this action. */
	progress_tick(b->pg);
	if (action == EC2_CREATE_SNAPSHOT)
		create_outcome(b, k);
	else
		delete_outcome(b, k);
}

/* Builds the requests for one client, runs them, records outcomes. */
static int
apply_client(const struct plan *plan, struct ec2 *ec2,
    execute_client_fn client, void *arg, struct progress *pg,
    struct execute_outcome *outcomes, struct execute_summary *sum)
{
	size_t n = plan_nactions(plan), nc = 0, nd = 0;
	struct batch b = { plan, calloc(n + 1, sizeof(*b.cr)),
	    calloc(n + 1, sizeof(*b.del)), calloc(n + 1, sizeof(size_t)),
	    calloc(n + 1, sizeof(size_t)), calloc(n + 1, sizeof(bool)),
	    outcomes, sum, pg };
	size_t *local = calloc(n + 1, sizeof(*local)); /* action -> create */
	char (*desc)[PLAN_DESCRIPTION_MAX] = calloc(n + 1, sizeof(*desc));
	struct ec2_tag *etags;
	int rc = -1;

	if (b.cr == NULL || b.del == NULL || b.ci == NULL || b.di == NULL ||
	    b.reported == NULL || local == NULL || desc == NULL)
		goto done;
	for (size_t i = 0; i < n; i++) {
		struct plan_action a;
		struct plan_tag tags[PLAN_TAGS_MAX];
		size_t ntags;

		plan_action_get(plan, i, &a);
		if (a.kind != PLAN_CREATE || client(arg, a.policy) != ec2)
			continue;
		ntags = plan_create_tags(plan, i, tags, PLAN_TAGS_MAX);
		plan_create_description(plan, i, desc[nc], sizeof(desc[nc]));
		b.cr[nc].volume = a.volume;
		b.cr[nc].description = desc[nc];
		if ((etags = calloc(ntags + 1, sizeof(*etags))) == NULL)
			goto done;
		for (size_t t = 0; t < ntags; t++)
			etags[t] = (struct ec2_tag){ tags[t].key, tags[t].value };
		b.cr[nc].tags = etags;
		b.cr[nc].ntags = ntags;
		b.cr[nc].owner_tag = a.policy;
		for (size_t t = 0; t < ntags; t++)
			if (strcmp(tags[t].key, INV_TAG_DATE) == 0)
				b.cr[nc].date_tag = tags[t].value;
		local[i] = nc + 1;
		b.ci[nc++] = i;
	}
	for (size_t i = 0; i < n; i++) {
		struct plan_action a;

		plan_action_get(plan, i, &a);
		if (a.kind != PLAN_DELETE || client(arg, a.policy) != ec2)
			continue;
		b.del[nd].snapshot = a.snapshot;
		/* A delete that only the new snapshot's slot allows waits
		 * for it; its create is in this batch (same volume). */
		b.del[nd].after = a.needs_create ? local[a.create_index] : 0;
		b.di[nd++] = i;
	}
	ec2_set_progress(ec2, ended, &b);
	ec2_apply(ec2, b.cr, nc, b.del, nd);
	ec2_set_progress(ec2, NULL, NULL);
	/* Anything the client did not report (it should report all). */
	for (size_t k = 0; k < nc; k++)
		ended(&b, EC2_CREATE_SNAPSHOT, k);
	for (size_t k = 0; k < nd; k++)
		ended(&b, EC2_DELETE_SNAPSHOT, k);
	sum->fatal |= ec2_fatal(ec2) != NULL;
	rc = 0;
done:
	for (size_t k = 0; b.cr != NULL && k < nc; k++)
		free((void *)b.cr[k].tags);
	free(b.cr);
	free(b.del);
	free(b.ci);
	free(b.di);
	free(b.reported);
	free(local);
	free(desc);
	return rc;
}

int
execute_plan(const struct plan *plan, execute_client_fn client, void *arg,
    bool progress, struct execute_outcome *outcomes,
    struct execute_summary *sum)
{
	size_t n = plan_nactions(plan), nclients;
	struct ec2 **list = calloc(n + 1, sizeof(*list));
	struct progress pg = { progress, 0, 0, 0, 0 };
	struct plan_summary ps;
	int rc = 0;

	memset(sum, 0, sizeof(*sum));
	memset(outcomes, 0, n * sizeof(*outcomes));
	if (list == NULL) {
		log_error("out of memory");
		return -1;
	}
	plan_summary(plan, &ps);
	sum->skipped = ps.skip;
	pg.total = ps.create + ps.delete;
	nclients = clients(plan, client, arg, list);
	for (size_t j = 0; j < nclients && rc == 0; j++)
		rc = apply_client(plan, list[j], client, arg, &pg, outcomes,
		    sum);
	if (rc != 0)
		log_error("out of memory");
	progress_end(&pg);
	free(list);
	return rc;
}

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
#include "log.h"

struct progress {
	bool on;
	size_t done, total;
};

static void
progress_tick(void *arg)
{
	struct progress *p = arg;

	p->done++;
	if (p->on)
		fprintf(stderr, "\rapplying %zu/%zu", p->done, p->total);
}

static void
progress_end(struct progress *p)
{
	if (p->on && p->total > 0)
		fprintf(stderr, "\r%*s\r", 40, "");
}

/* The actions of one kind that go to one client, as indexes. */
struct batch {
	struct ec2 *ec2;
	size_t *idx;
	size_t n;
};

static int
group(const struct plan *plan, enum plan_kind kind, execute_client_fn client,
    void *arg, struct batch **out, size_t *nout)
{
	size_t n = plan_nactions(plan);
	struct batch *b = NULL;
	size_t nb = 0;

	for (size_t i = 0; i < n; i++) {
		struct plan_action a;
		struct ec2 *ec2;
		size_t j;

		plan_action_get(plan, i, &a);
		if (a.kind != kind)
			continue;
		ec2 = client(arg, a.policy);
		for (j = 0; j < nb && b[j].ec2 != ec2; j++)
			;
		if (j == nb) {
			struct batch *grown = realloc(b, (nb + 1) * sizeof(*b));
			if (grown == NULL)
				goto oom;
			b = grown;
			b[nb].ec2 = ec2;
			b[nb].n = 0;
			if ((b[nb].idx = malloc(n * sizeof(size_t))) == NULL)
				goto oom;
			nb++;
		}
		b[j].idx[b[j].n++] = i;
	}
	*out = b;
	*nout = nb;
	return 0;
oom:
	for (size_t j = 0; j < nb; j++)
		free(b[j].idx);
	free(b);
	return -1;
}

static void
free_batches(struct batch *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(b[i].idx);
	free(b);
}

static void
run_creates(const struct plan *plan, struct batch *b, struct progress *pg,
    struct execute_outcome *outcomes, struct execute_summary *sum)
{
	struct ec2_create *cr = calloc(b->n ? b->n : 1, sizeof(*cr));
	char (*desc)[PLAN_DESCRIPTION_MAX] = calloc(b->n ? b->n : 1,
	    sizeof(*desc));
	char text[800];

	if (cr == NULL || desc == NULL) {
		log_error("out of memory");
		for (size_t k = 0; k < b->n; k++) {
			outcomes[b->idx[k]].status = EXEC_FAILED;
			sum->failed++;
		}
		goto done;
	}
	for (size_t k = 0; k < b->n; k++) {
		size_t i = b->idx[k], ntags;
		const struct plan_tag *tags = plan_create_tags(plan, i, &ntags);
		struct plan_action a;

		plan_action_get(plan, i, &a);
		plan_create_description(plan, i, desc[k], sizeof(desc[k]));
		cr[k].volume = a.volume;
		cr[k].description = desc[k];
		/* plan_tag and ec2_tag are both { key, value } pairs. */
		cr[k].tags = (const struct ec2_tag *)tags;
		cr[k].ntags = ntags;
		cr[k].owner_tag = a.policy;
		for (size_t t = 0; t < ntags; t++)
			if (strcmp(tags[t].key, "ec2backup:date") == 0)
				cr[k].date_tag = tags[t].value;
	}
	ec2_set_progress(b->ec2, progress_tick, pg);
	ec2_create_snapshots(b->ec2, cr, b->n);
	for (size_t k = 0; k < b->n; k++) {
		struct execute_outcome *o = &outcomes[b->idx[k]];
		struct plan_action a;

		plan_action_get(plan, b->idx[k], &a);
		if (cr[k].ok) {
			o->status = EXEC_DONE;
			memcpy(o->snapshot, cr[k].snapshot, sizeof(o->snapshot));
			sum->created++;
			log_info("policy %s: %s: created %s", a.policy, a.volume,
			    cr[k].snapshot);
			continue;
		}
		o->status = EXEC_FAILED;
		o->error = cr[k].error;
		sum->failed++;
		log_error("policy %s: %s: CreateSnapshot: %s", a.policy,
		    a.volume, ec2_error_text(&cr[k].error, text, sizeof(text)));
	}
done:
	free(cr);
	free(desc);
}

static void
run_deletes(const struct plan *plan, struct batch *b, struct progress *pg,
    struct execute_outcome *outcomes, struct execute_summary *sum)
{
	struct ec2_delete *del = calloc(b->n ? b->n : 1, sizeof(*del));
	size_t *which = calloc(b->n ? b->n : 1, sizeof(*which));
	size_t n = 0;
	char text[800];

	if (del == NULL || which == NULL) {
		log_error("out of memory");
		for (size_t k = 0; k < b->n; k++) {
			outcomes[b->idx[k]].status = EXEC_FAILED;
			sum->failed++;
		}
		goto done;
	}
	for (size_t k = 0; k < b->n; k++) {
		size_t i = b->idx[k];
		struct plan_action a;

		plan_action_get(plan, i, &a);
		if (a.needs_create &&
		    outcomes[a.create_index].status != EXEC_DONE) {
			outcomes[i].status = EXEC_HELD;
			sum->held++;
			pg->done++;
			log_warning("policy %s: %s: %s kept: today's snapshot "
			    "was not created, so it still counts", a.policy,
			    a.volume, a.snapshot);
			continue;
		}
		del[n].snapshot = a.snapshot;
		which[n++] = i;
	}
	ec2_set_progress(b->ec2, progress_tick, pg);
	ec2_delete_snapshots(b->ec2, del, n);
	for (size_t k = 0; k < n; k++) {
		struct execute_outcome *o = &outcomes[which[k]];
		struct plan_action a;

		plan_action_get(plan, which[k], &a);
		o->error = del[k].error;
		if (del[k].ok) {
			o->status = del[k].gone ? EXEC_GONE : EXEC_DONE;
			sum->deleted++;
			log_info("policy %s: %s: deleted %s%s", a.policy,
			    a.volume, a.snapshot, del[k].gone ?
			    " (it was already gone)" : "");
		} else if (del[k].in_use) {
			o->status = EXEC_IN_USE;
			sum->in_use++;
			log_warning("policy %s: %s: %s not deleted: an AMI uses "
			    "it (InvalidSnapshot.InUse); deregister the AMI, or "
			    "tag the snapshot ec2backup:protect to keep it "
			    "quietly", a.policy, a.volume, a.snapshot);
		} else {
			o->status = EXEC_FAILED;
			sum->failed++;
			log_error("policy %s: %s: DeleteSnapshot %s: %s",
			    a.policy, a.volume, a.snapshot, ec2_error_text(&del[k].error,
			    text, sizeof(text)));
		}
	}
done:
	free(del);
	free(which);
}

int
execute_plan(const struct plan *plan, execute_client_fn client, void *arg,
    bool progress, struct execute_outcome *outcomes,
    struct execute_summary *sum)
{
	struct batch *creates = NULL, *deletes = NULL;
	size_t ncreates = 0, ndeletes = 0;
	struct progress pg = { progress, 0, 0 };
	struct plan_summary ps;

	memset(sum, 0, sizeof(*sum));
	memset(outcomes, 0, plan_nactions(plan) * sizeof(*outcomes));
	plan_summary(plan, &ps);
	sum->skipped = ps.skip;
	pg.total = ps.create + ps.delete;
	if (group(plan, PLAN_CREATE, client, arg, &creates, &ncreates) != 0 ||
	    group(plan, PLAN_DELETE, client, arg, &deletes, &ndeletes) != 0) {
		free_batches(creates, ncreates);
		log_error("out of memory");
		return -1;
	}
	for (size_t j = 0; j < ncreates; j++)
		run_creates(plan, &creates[j], &pg, outcomes, sum);
	for (size_t j = 0; j < ndeletes; j++)
		run_deletes(plan, &deletes[j], &pg, outcomes, sum);
	for (size_t j = 0; j < ncreates; j++)
		sum->fatal |= ec2_fatal(creates[j].ec2) != NULL;
	for (size_t j = 0; j < ndeletes; j++)
		sum->fatal |= ec2_fatal(deletes[j].ec2) != NULL;
	progress_end(&pg);
	free_batches(creates, ncreates);
	free_batches(deletes, ndeletes);
	return 0;
}

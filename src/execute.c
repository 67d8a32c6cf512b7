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

/* Builds the requests for one client, runs them, records outcomes. */
static int
apply_client(const struct plan *plan, struct ec2 *ec2,
    execute_client_fn client, void *arg, struct progress *pg,
    struct execute_outcome *outcomes, struct execute_summary *sum)
{
	size_t n = plan_nactions(plan), nc = 0, nd = 0;
	struct ec2_create *cr = calloc(n + 1, sizeof(*cr));
	struct ec2_delete *del = calloc(n + 1, sizeof(*del));
	size_t *ci = calloc(n + 1, sizeof(*ci));  /* create -> action */
	size_t *di = calloc(n + 1, sizeof(*di));  /* delete -> action */
	size_t *local = calloc(n + 1, sizeof(*local)); /* action -> create */
	char (*desc)[PLAN_DESCRIPTION_MAX] = calloc(n + 1, sizeof(*desc));
	char text[800];
	struct ec2_tag *etags;
	int rc = -1;

	if (cr == NULL || del == NULL || ci == NULL || di == NULL ||
	    local == NULL || desc == NULL)
		goto done;
	for (size_t i = 0; i < n; i++) {
		struct plan_action a;
		const struct plan_tag *tags;
		size_t ntags;

		plan_action_get(plan, i, &a);
		if (a.kind != PLAN_CREATE || client(arg, a.policy) != ec2)
			continue;
		tags = plan_create_tags(plan, i, &ntags);
		plan_create_description(plan, i, desc[nc], sizeof(desc[nc]));
		cr[nc].volume = a.volume;
		cr[nc].description = desc[nc];
		if ((etags = calloc(ntags + 1, sizeof(*etags))) == NULL)
			goto done;
		for (size_t t = 0; t < ntags; t++)
			etags[t] = (struct ec2_tag){ tags[t].key, tags[t].value };
		cr[nc].tags = etags;
		cr[nc].ntags = ntags;
		cr[nc].owner_tag = a.policy;
		for (size_t t = 0; t < ntags; t++)
			if (strcmp(tags[t].key, INV_TAG_DATE) == 0)
				cr[nc].date_tag = tags[t].value;
		local[i] = nc + 1;
		ci[nc++] = i;
	}
	for (size_t i = 0; i < n; i++) {
		struct plan_action a;

		plan_action_get(plan, i, &a);
		if (a.kind != PLAN_DELETE || client(arg, a.policy) != ec2)
			continue;
		del[nd].snapshot = a.snapshot;
		/* A delete that only the new snapshot's slot allows waits
		 * for it; its create is in this batch (same volume). */
		del[nd].after = a.needs_create ? local[a.create_index] : 0;
		di[nd++] = i;
	}
	ec2_set_progress(ec2, progress_tick, pg);
	ec2_apply(ec2, cr, nc, del, nd);
	for (size_t k = 0; k < nc; k++) {
		struct execute_outcome *o = &outcomes[ci[k]];
		struct plan_action a;

		plan_action_get(plan, ci[k], &a);
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
	for (size_t k = 0; k < nd; k++) {
		struct execute_outcome *o = &outcomes[di[k]];
		struct plan_action a;

		plan_action_get(plan, di[k], &a);
		o->error = del[k].error;
		if (del[k].ok) {
			o->status = del[k].gone ? EXEC_GONE : EXEC_DONE;
			sum->deleted++;
			log_info("policy %s: %s: deleted %s%s", a.policy,
			    a.volume, a.snapshot, del[k].gone ?
			    " (it was already gone)" : "");
		} else if (del[k].held) {
			o->status = EXEC_HELD;
			sum->held++;
			log_warning("policy %s: %s: %s kept: today's snapshot "
			    "was not created, so it still counts", a.policy,
			    a.volume, a.snapshot);
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
			    a.policy, a.volume, a.snapshot, ec2_error_text(
			    &del[k].error, text, sizeof(text)));
		}
	}
	sum->fatal |= ec2_fatal(ec2) != NULL;
	rc = 0;
done:
	for (size_t k = 0; cr != NULL && k < nc; k++)
		free((void *)cr[k].tags);
	free(cr);
	free(del);
	free(ci);
	free(di);
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
	struct progress pg = { progress, 0, 0 };
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

/*
 * The planner: policy + inventory + now -> actions with reasons.
 *
 * Each volume is planned on its own.  Its snapshots are sorted into the
 * ones the policy does not count (kept or warned about, with the reason)
 * and the retention candidates: the snapshot this run creates, then the
 * pending ones, then the completed ones, newest first.  The rules walk
 * the candidates once; a candidate no rule keeps is deleted, unless it is
 * not completed or is the newest completed, or safety holds deletions
 * back.  Planning the candidates a second time without the new snapshot
 * tells which deletions happen only because the new one takes a slot:
 * those wait for the create.
 *
 * An action is a 40-byte record pointing into the inventory; its reason
 * is rebuilt from the record when asked for, so a plan of a million
 * snapshots stays small.
 */
#include "plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define PLAN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PLAN_PRINTF(a, b)
#endif

#define PLAN_NRULES 5              /* keep, daily, weekly, monthly, yearly */
#define PLAN_NAME_TAG_MAX (16 + POLICY_NAME_MAX + TZ_DATE_MAX)

/* Why an action is what it is; the reason text is built from this. */
enum plan_why {
	WHY_CREATE_NEW,            /* no snapshot for today */
	WHY_CREATE_FAILED,         /* today's (snap) is in error */
	WHY_SKIP_PENDING,          /* snap is pending */
	WHY_SKIP_TODAY,            /* snap is today's */
	WHY_SKIP_PRUNE_ONLY,       /* --prune-only: nothing is created */
	WHY_RULES,                 /* kept by keep or retain (rank) */
	WHY_NEWEST,                /* the newest completed */
	WHY_PENDING,               /* pending, no rule keeps it */
	WHY_UNTAGGED,              /* no owner tag, adopt is off */
	WHY_SHARED_UNTAGGED,       /* no owner tag, two policies adopt */
	WHY_OTHER_OWNER,           /* another policy's */
	WHY_PROTECTED,
	WHY_AMI,
	WHY_AMI_UNKNOWN,           /* DescribeImages failed for it */
	WHY_STATE,                 /* recoverable or recovering */
	WHY_ERROR,
	WHY_UNKNOWN_STATE,
	WHY_EXPIRED,               /* no rule keeps it: delete, or held */
	WHY_VOLUME_GONE,
	WHY_UNCHECKED,             /* whether it exists is not known */
	WHY_INCOMPLETE,
	WHY_ADOPT_CONFLICT,        /* another policy adopts it too */
	WHY_MAX_DELETES,
	WHY_SET_BROKEN,            /* a set that is not whole */
	WHY_EXCLUDE_ROOT,          /* exclude_volumes names the root */
	WHY_NO_VOLUMES             /* nothing left to snapshot */
};

enum {
	F_NEEDS_CREATE = 1 << 0,
	F_HELD_GONE = 1 << 1,      /* held: the volume no longer exists */
	F_HELD_INCOMPLETE = 1 << 2,/* held: the listing is incomplete */
	F_HELD_MAX = 1 << 3,       /* held: max_deletes exceeded */
	F_HELD_UNCHECKED = 1 << 4, /* held: existence not known */
	F_HELD_MODE = 1 << 5       /* held: --create-only */
};

struct plan_rec {
	const struct inv_snapshot *snap; /* for create and skip: the one
					    named in the reason */
	uint32_t vol;              /* index into plan->vols */
	int32_t date;
	uint32_t pos;              /* 1-based rank among the candidates */
	uint16_t rank[PLAN_NRULES];/* 1-based rank in each rule, or 0 */
	uint8_t kind;
	uint8_t why;
	uint8_t flags;
};

struct plan_vol {
	const struct inv_volume *volume; /* NULL: the policy's own line */
	const char *description;
	const char *shared_adopt;  /* another policy adopting it, or NULL */
	size_t first;              /* index of its first action */
	uint32_t pol;
	int keep;
	const struct policy_freeze *freeze;
	/* Instances. */
	bool exclude_boot;
	const char (*exclude)[POLICY_VOLUME_ID_MAX + 1];
	size_t nexclude;
	uint16_t nmembers;         /* volumes today's set will hold */
	char size_tag[8];          /* nmembers as text */
};

struct plan_pol {
	const struct policy *policy;
	int32_t today;
	size_t ndeletes;           /* planned before max_deletes applied */
	char date[TZ_DATE_MAX];
	char name_tag[PLAN_NAME_TAG_MAX];
};

struct plan {
	int64_t now;
	enum plan_mode mode;
	struct plan_rec *recs;
	size_t nrecs, caprecs;
	struct plan_vol *vols;
	size_t nvols, capvols;
	struct plan_pol **pols;
	size_t npols, cappols;
	struct plan_summary sum;
};

/* A retention candidate while one volume is planned. */
struct plan_cand {
	const struct inv_snapshot *snap; /* NULL: the snapshot to create */
	int32_t day;
	int64_t start;
	uint16_t rank[PLAN_NRULES];
	bool kept_alone;           /* kept were nothing created */
};

static const char *const kind_names[] = {
	[PLAN_CREATE] = "create",
	[PLAN_SKIP] = "skip",
	[PLAN_KEEP] = "keep",
	[PLAN_DELETE] = "delete",
	[PLAN_WARN] = "warn",
};

const char *
plan_kind_name(enum plan_kind kind)
{
	if ((unsigned)kind > PLAN_WARN)
		return "?";
	return kind_names[kind];
}

struct plan *
plan_new(int64_t now)
{
	struct plan *p = calloc(1, sizeof(*p));

	if (p != NULL)
		p->now = now;
	return p;
}

void
plan_free(struct plan *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->npols; i++)
		free(p->pols[i]);
	free(p->pols);
	free(p->vols);
	free(p->recs);
	free(p);
}

void
plan_set_mode(struct plan *p, enum plan_mode mode)
{
	p->mode = mode;
}

int64_t
plan_now(const struct plan *p)
{
	return p->now;
}

size_t
plan_nactions(const struct plan *p)
{
	return p->nrecs;
}

void
plan_summary(const struct plan *p, struct plan_summary *out)
{
	*out = p->sum;
}

/* Grows *arr to hold need more elements of size sz; 0 or -1 (ENOMEM). */
static int
plan_reserve(void **arr, size_t *cap, size_t n, size_t need, size_t sz)
{
	size_t want;
	void *q;

	if (need > SIZE_MAX / sz - n)
		goto nomem;
	if (n + need <= *cap)
		return 0;
	want = n + need;
	if (*cap > 0 && want < *cap + *cap / 2 && *cap + *cap / 2 <
	    SIZE_MAX / sz)
		want = *cap + *cap / 2;
	q = realloc(*arr, want * sz);
	if (q == NULL)
		goto nomem;
	*arr = q;
	*cap = want;
	return 0;
nomem:
	errno = ENOMEM;
	return -1;
}

static int32_t
plan_clamp_day(int64_t day)
{
	/* INT32_MIN is INV_NO_DATE. */
	if (day <= INT32_MIN)
		return INT32_MIN + 1;
	if (day > INT32_MAX)
		return INT32_MAX;
	return (int32_t)day;
}

/* Rule 2: the ec2backup:date tag, else the start time's local day. */
static int32_t
plan_day(const struct tz *zone, const struct inv_snapshot *s)
{
	if (s->date != INV_NO_DATE)
		return s->date;
	return plan_clamp_day(tz_local_day(zone, s->start));
}

int32_t
plan_snapshot_day(const struct tz *zone, const struct inv_snapshot *s)
{
	return plan_day(zone, s);
}

bool
plan_owns(const struct policy *policy, const struct inv_snapshot *s,
    bool shared)
{
	if (s->owner == NULL)
		return policy->adopt && !shared;
	return strcmp(s->owner, policy->name) == 0;
}

/* Newest first by start, ties by id; the address keeps duplicates in
 * order.  Callers compare days first. */
static int
plan_cmp_snap(const struct inv_snapshot *a, const struct inv_snapshot *b)
{
	int c;

	if (a->start != b->start)
		return a->start > b->start ? -1 : 1;
	c = strcmp(a->id, b->id);
	if (c != 0)
		return c;
	return a < b ? -1 : a > b;
}

/* The one order of candidates: day, then start, then id; newest first. */
static int
plan_cmp_cand(const void *va, const void *vb)
{
	const struct plan_cand *a = va, *b = vb;

	if (a->day != b->day)
		return a->day > b->day ? -1 : 1;
	return plan_cmp_snap(a->snap, b->snap);
}

/* The snapshot an action shows: create and skip only name theirs. */
static const struct inv_snapshot *
plan_shown(const struct plan_rec *r)
{
	return r->kind == PLAN_CREATE || r->kind == PLAN_SKIP ? NULL : r->snap;
}

static int
plan_cmp_rec(const void *va, const void *vb)
{
	const struct plan_rec *a = va, *b = vb;
	const struct inv_snapshot *sa = plan_shown(a), *sb = plan_shown(b);

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if ((sa == NULL) != (sb == NULL))
		return sa == NULL ? -1 : 1;
	if (sa == NULL)
		return (a->why > b->why) - (a->why < b->why);
	if (a->date != b->date)
		return a->date > b->date ? -1 : 1;
	return plan_cmp_snap(sa, sb);
}

static int
plan_cmp_input(const void *va, const void *vb)
{
	const struct plan_input *a = *(const struct plan_input *const *)va;
	const struct plan_input *b = *(const struct plan_input *const *)vb;

	return strcmp(a->volume->id, b->volume->id);
}

/*
 * Applies keep and the retain rules to c[0..n), newest first, storing each
 * candidate's rank in every rule that keeps it.  A period rule keeps a
 * candidate whose period differs from the last one that rule kept, while
 * it has count left (restic's forget).
 */
static void
plan_retain(struct plan_cand *c, size_t n, int keep,
    const struct policy_retain *r)
{
	const int count[4] = { r->daily, r->weekly, r->monthly, r->yearly };
	bool calendar = r->monthly > 0 || r->yearly > 0;
	int64_t last[4] = { 0, 0, 0, 0 };
	int used[4] = { 0, 0, 0, 0 };

	for (size_t i = 0; i < n; i++) {
		int64_t key[4];
		int y = 0, m = 0, d;

		if (calendar)
			tz_civil_from_days(c[i].day, &y, &m, &d);
		key[0] = c[i].day;
		/* ISO weeks start on Monday; 1970-01-01 was a Thursday. */
		key[1] = c[i].day - ((c[i].day % 7 + 7 + 3) % 7);
		key[2] = (int64_t)y * 12 + m;
		key[3] = y;
		c[i].rank[0] = i < (size_t)keep ? (uint16_t)(i + 1) : 0;
		for (int k = 0; k < 4; k++) {
			c[i].rank[k + 1] = 0;
			if (used[k] == count[k] ||
			    (used[k] > 0 && key[k] == last[k]))
				continue;
			last[k] = key[k];
			c[i].rank[k + 1] = (uint16_t)++used[k];
		}
	}
}

static bool
plan_ranked(const uint16_t rank[PLAN_NRULES])
{
	for (int k = 0; k < PLAN_NRULES; k++)
		if (rank[k] != 0)
			return true;
	return false;
}

/* Appends a record; the caller reserved room for it. */
static struct plan_rec *
plan_push(struct plan *p, uint32_t vol, enum plan_kind kind,
    enum plan_why why, const struct inv_snapshot *snap, int32_t date)
{
	struct plan_rec *r = &p->recs[p->nrecs++];

	memset(r, 0, sizeof(*r));
	r->snap = snap;
	r->vol = vol;
	r->date = date;
	r->kind = (uint8_t)kind;
	r->why = (uint8_t)why;
	return r;
}

static bool
plan_excluded(const struct plan_vol *v, const char *volume)
{
	for (size_t k = 0; k < v->nexclude; k++)
		if (strcmp(v->exclude[k], volume) == 0)
			return true;
	return false;
}

/*
 * The volumes a set of instance v would hold now: those attached, less
 * the root volume with exclude_boot and the data volumes excluded.
 * Stores up to max in out and returns how many there are; *root_excluded
 * tells whether exclude_volumes names the root volume, which EC2 refuses.
 */
static size_t
plan_members(const struct plan_vol *v, const struct inv_attachment **out,
    size_t max, bool *root_excluded)
{
	const struct inv_volume *iv = v->volume;
	size_t n = 0;

	*root_excluded = false;
	for (size_t k = 0; k < iv->nattached; k++) {
		const struct inv_attachment *a = &iv->attached[k];
		bool root = strcmp(a->volume, iv->root) == 0;
		if (plan_excluded(v, a->volume)) {
			*root_excluded |= root;
			continue;
		}
		if (root && v->exclude_boot)
			continue;
		if (n < max)
			out[n] = a;
		n++;
	}
	return n;
}

/* Plans one volume or instance: appends its records, unsorted. */
static void
plan_volume(struct plan *p, uint32_t volx, const struct tz *zone,
    struct plan_cand *cand)
{
	struct plan_vol *v = &p->vols[volx];
	struct plan_pol *pol = p->pols[v->pol];
	const struct policy *policy = pol->policy;
	const struct inv_volume *iv = v->volume;
	const struct inv_snapshot *pending = NULL, *today = NULL;
	const struct inv_snapshot *failed = NULL, *newest = NULL;
	uint8_t hold = iv->unchecked ? F_HELD_UNCHECKED :
	    !iv->exists ? F_HELD_GONE : !iv->complete ? F_HELD_INCOMPLETE : 0;
	size_t ncand = 0, at = 0, nbackups, nmembers = 0;
	const struct inv_snapshot *backups = inventory_backups(iv, &nbackups);
	bool creating = false, root_excluded = false;

	if (iv->kind == INV_INSTANCE) {
		nmembers = plan_members(v, NULL, 0, &root_excluded);
		v->nmembers = (uint16_t)(nmembers < UINT16_MAX ? nmembers :
		    UINT16_MAX);
		snprintf(v->size_tag, sizeof(v->size_tag), "%u",
		    (unsigned)v->nmembers);
	}
	for (size_t i = 0; i < nbackups; i++) {
		const struct inv_snapshot *s = &backups[i];
		int32_t day = plan_day(zone, s);
		bool mine = plan_owns(policy, s, v->shared_adopt != NULL);
		enum plan_kind kind = PLAN_KEEP;
		enum plan_why why;

		/* Rule 3: what exists for today, or is still running. */
		if (mine && s->state == INV_PENDING &&
		    (pending == NULL || plan_cmp_snap(s, pending) < 0))
			pending = s;
		if (mine && day == pol->today &&
		    (s->state == INV_COMPLETED ||
		    s->state == INV_RECOVERING) &&
		    (today == NULL || plan_cmp_snap(s, today) < 0))
			today = s;
		if (mine && day == pol->today && s->state == INV_ERROR &&
		    (failed == NULL || plan_cmp_snap(s, failed) < 0))
			failed = s;

		if (!mine) {
			why = s->owner != NULL ? WHY_OTHER_OWNER :
			    policy->adopt ? WHY_SHARED_UNTAGGED : WHY_UNTAGGED;
		} else if (s->flags & INV_SET_BROKEN) {
			/* Never half of a set: it is kept whole or not at
			 * all, and a person decides. */
			kind = PLAN_WARN;
			why = WHY_SET_BROKEN;
		} else if (s->state == INV_ERROR) {
			kind = PLAN_WARN;
			why = WHY_ERROR;
		} else if (s->state != INV_PENDING &&
		    s->state != INV_COMPLETED &&
		    s->state != INV_RECOVERABLE &&
		    s->state != INV_RECOVERING) {
			kind = PLAN_WARN;
			why = WHY_UNKNOWN_STATE;
		} else if (s->flags & INV_PROTECTED) {
			why = WHY_PROTECTED;
		} else if (s->ami != NULL) {
			why = WHY_AMI;
		} else if (s->flags & INV_AMI_UNKNOWN) {
			why = WHY_AMI_UNKNOWN;
		} else if (s->state == INV_PENDING ||
		    s->state == INV_COMPLETED) {
			cand[ncand].snap = s;
			cand[ncand].day = day;
			cand[ncand].start = s->start;
			ncand++;
			continue;
		} else {
			why = WHY_STATE;
		}
		plan_push(p, volx, kind, why, s, day);
	}

	if (v->shared_adopt != NULL && policy->adopt)
		plan_push(p, volx, PLAN_WARN, WHY_ADOPT_CONFLICT, NULL,
		    pol->today);
	if (iv->unchecked) {
		plan_push(p, volx, PLAN_WARN, WHY_UNCHECKED, NULL, pol->today);
	} else if (!iv->exists) {
		plan_push(p, volx, PLAN_WARN, WHY_VOLUME_GONE, NULL,
		    pol->today);
	} else {
		if (pending != NULL)
			plan_push(p, volx, PLAN_SKIP, WHY_SKIP_PENDING,
			    pending, pol->today);
		else if (today != NULL)
			plan_push(p, volx, PLAN_SKIP, WHY_SKIP_TODAY, today,
			    pol->today);
		else if (iv->complete && p->mode == PLAN_MODE_PRUNE_ONLY)
			plan_push(p, volx, PLAN_SKIP, WHY_SKIP_PRUNE_ONLY, NULL,
			    pol->today);
		else if (iv->complete && root_excluded)
			plan_push(p, volx, PLAN_WARN, WHY_EXCLUDE_ROOT, NULL,
			    pol->today);
		else if (iv->complete && iv->kind == INV_INSTANCE &&
		    nmembers == 0)
			plan_push(p, volx, PLAN_WARN, WHY_NO_VOLUMES, NULL,
			    pol->today);
		else if (iv->complete)
			creating = true;
		/* Incomplete: today's snapshot may be on a page not read,
		 * and a second snapshot a day is not ours to make. */
		if (!iv->complete)
			plan_push(p, volx, PLAN_WARN, WHY_INCOMPLETE, NULL,
			    pol->today);
	}

	qsort(cand, ncand, sizeof(*cand), plan_cmp_cand);
	for (size_t i = 0; i < ncand; i++) {
		if (cand[i].snap->state == INV_COMPLETED) {
			newest = cand[i].snap;
			break;
		}
	}
	if (creating) {
		/* First without the new snapshot, to tell which deletions
		 * only its place causes; then with it, where its day and
		 * start put it (first, unless a snapshot claims a later
		 * day). */
		plan_retain(cand, ncand, v->keep, &policy->retain);
		for (size_t i = 0; i < ncand; i++)
			cand[i].kept_alone = plan_ranked(cand[i].rank);
		while (at < ncand && (cand[at].day > pol->today ||
		    (cand[at].day == pol->today && cand[at].start > p->now)))
			at++;
		memmove(cand + at + 1, cand + at, (ncand - at) *
		    sizeof(*cand));
		cand[at] = (struct plan_cand){ .snap = NULL,
		    .day = pol->today, .start = p->now };
		ncand++;
	}
	plan_retain(cand, ncand, v->keep, &policy->retain);

	for (size_t i = 0; i < ncand; i++) {
		const struct plan_cand *c = &cand[i];
		struct plan_rec *r;
		enum plan_kind kind = PLAN_KEEP;
		enum plan_why why = WHY_EXPIRED;
		uint8_t flags = 0;

		if (c->snap == NULL) {
			r = plan_push(p, volx, PLAN_CREATE, failed != NULL ?
			    WHY_CREATE_FAILED : WHY_CREATE_NEW, failed,
			    pol->today);
			r->pos = (uint32_t)(i + 1);
			memcpy(r->rank, c->rank, sizeof(r->rank));
			continue;
		}
		if (plan_ranked(c->rank))
			why = WHY_RULES;
		else if (c->snap->state == INV_PENDING)
			why = WHY_PENDING;
		else if (c->snap == newest)
			why = WHY_NEWEST;
		else if (hold != 0)
			flags = hold;
		else if (p->mode == PLAN_MODE_CREATE_ONLY)
			flags = F_HELD_MODE;
		else {
			kind = PLAN_DELETE;
			if (creating && c->kept_alone)
				flags = F_NEEDS_CREATE;
			pol->ndeletes++;
		}
		r = plan_push(p, volx, kind, why, c->snap, c->day);
		r->pos = (uint32_t)(i + 1);
		r->flags = flags;
		memcpy(r->rank, c->rank, sizeof(r->rank));
	}
}

static bool
plan_valid(const struct policy *policy, const struct plan_input *vols,
    size_t nvols)
{
	const struct policy_retain *r = &policy->retain;

	if (policy->name == NULL || (vols == NULL && nvols > 0) ||
	    policy->keep < POLICY_KEEP_MIN || policy->keep > POLICY_KEEP_MAX)
		return false;
	if (r->daily < 0 || r->daily > POLICY_RETAIN_MAX || r->weekly < 0 ||
	    r->weekly > POLICY_RETAIN_MAX || r->monthly < 0 ||
	    r->monthly > POLICY_RETAIN_MAX || r->yearly < 0 ||
	    r->yearly > POLICY_RETAIN_MAX)
		return false;
	for (size_t i = 0; i < nvols; i++) {
		size_t n;
		if (vols[i].volume == NULL || vols[i].keep < 0 ||
		    vols[i].keep > POLICY_KEEP_MAX ||
		    (inventory_backups(vols[i].volume, &n) == NULL && n > 0) ||
		    (vols[i].exclude == NULL && vols[i].nexclude > 0))
			return false;
	}
	return true;
}

/*
 * Plans the volumes (sorted by id) of the policy just added as pols[polx]
 * into room reserved beforehand, then applies max_deletes, sorts each
 * volume's actions and counts them.  Cannot fail.
 */
static void
plan_fill(struct plan *p, uint32_t polx, const struct tz *zone,
    const struct plan_input *const *order, size_t nvols,
    struct plan_cand *cand)
{
	struct plan_pol *pol = p->pols[polx];
	const struct policy *policy = pol->policy;
	size_t rec0 = p->nrecs, vol0 = p->nvols;

	for (size_t i = 0; i < nvols; i++) {
		struct plan_vol *v = &p->vols[p->nvols];

		v->volume = order[i]->volume;
		v->description = order[i]->description;
		v->shared_adopt = order[i]->shared_adopt;
		v->keep = order[i]->keep > 0 ? order[i]->keep : policy->keep;
		v->freeze = order[i]->freeze != NULL &&
		    (order[i]->freeze->pre != NULL ||
		    order[i]->freeze->post != NULL) ? order[i]->freeze : NULL;
		v->exclude_boot = order[i]->exclude_boot;
		v->exclude = order[i]->exclude;
		v->nexclude = order[i]->nexclude;
		v->nmembers = 0;
		v->size_tag[0] = '\0';
		v->pol = polx;
		v->first = p->nrecs;
		plan_volume(p, (uint32_t)p->nvols++, zone, cand);
	}
	if (policy->max_deletes >= 0 &&
	    pol->ndeletes > (unsigned long)policy->max_deletes) {
		/* So many deletions suggest a mistake somewhere (a wrong
		 * keep, a changed zone): none of the policy's happen. */
		for (size_t i = rec0; i < p->nrecs; i++) {
			if (p->recs[i].kind != PLAN_DELETE)
				continue;
			p->recs[i].kind = PLAN_KEEP;
			p->recs[i].flags = F_HELD_MAX;
		}
		p->vols[p->nvols] = (struct plan_vol){ .volume = NULL,
		    .first = p->nrecs, .pol = polx };
		plan_push(p, (uint32_t)p->nvols++, PLAN_WARN,
		    WHY_MAX_DELETES, NULL, pol->today);
	}
	for (size_t v = vol0; v < p->nvols; v++) {
		size_t end = v + 1 < p->nvols ? p->vols[v + 1].first :
		    p->nrecs;
		qsort(p->recs + p->vols[v].first, end - p->vols[v].first,
		    sizeof(*p->recs), plan_cmp_rec);
	}
	for (size_t i = rec0; i < p->nrecs; i++) {
		switch ((enum plan_kind)p->recs[i].kind) {
		case PLAN_CREATE: p->sum.create++; break;
		case PLAN_SKIP: p->sum.skip++; break;
		case PLAN_KEEP: p->sum.keep++; break;
		case PLAN_DELETE: p->sum.delete++; break;
		case PLAN_WARN: p->sum.warn++; break;
		}
	}
}

int
plan_add_policy(struct plan *p, const struct policy *policy,
    const struct tz *zone, const struct plan_input *vols, size_t nvols)
{
	const struct plan_input **order = NULL;
	struct plan_cand *cand = NULL;
	struct plan_pol *pol = NULL;
	size_t nsnaps = 0, maxsnaps = 0;
	int err = EINVAL;

	if (!plan_valid(policy, vols, nvols))
		goto fail;
	err = ENOMEM;
	for (size_t i = 0; i < nvols; i++) {
		size_t n;
		inventory_backups(vols[i].volume, &n);
		if (n > SIZE_MAX / 4 - nsnaps || n >= UINT32_MAX)
			goto fail;
		nsnaps += n;
		if (n > maxsnaps)
			maxsnaps = n;
	}
	if (nvols >= UINT32_MAX - 1 - p->nvols || p->npols >= UINT32_MAX)
		goto fail;

	/* Volumes by id; a volume listed twice would be planned twice. */
	order = malloc((nvols ? nvols : 1) * sizeof(*order));
	if (order == NULL)
		goto fail;
	for (size_t i = 0; i < nvols; i++)
		order[i] = &vols[i];
	qsort(order, nvols, sizeof(*order), plan_cmp_input);
	for (size_t i = 1; i < nvols; i++) {
		if (strcmp(order[i]->volume->id, order[i - 1]->volume->id) ==
		    0) {
			err = EINVAL;
			goto fail;
		}
	}

	pol = calloc(1, sizeof(*pol));
	cand = malloc((maxsnaps + 1) * sizeof(*cand));
	if (pol == NULL || cand == NULL)
		goto fail;
	pol->policy = policy;
	pol->today = plan_clamp_day(tz_local_day(zone, p->now));
	tz_format_date(pol->today, pol->date);
	snprintf(pol->name_tag, sizeof(pol->name_tag), "ec2backup %s %s",
	    policy->name, pol->date);
	/* Every snapshot once; per volume a create or skip and up to two
	 * warnings; one policy warning: once this is reserved nothing can
	 * fail. */
	if (plan_reserve((void **)&p->recs, &p->caprecs, p->nrecs,
	    nsnaps + 3 * nvols + 1, sizeof(*p->recs)) == -1 ||
	    plan_reserve((void **)&p->vols, &p->capvols, p->nvols, nvols + 1,
	    sizeof(*p->vols)) == -1 ||
	    plan_reserve((void **)&p->pols, &p->cappols, p->npols, 1,
	    sizeof(*p->pols)) == -1)
		goto fail;

	p->pols[p->npols++] = pol;
	plan_fill(p, (uint32_t)(p->npols - 1), zone, order, nvols, cand);
	free(order);
	free(cand);
	return 0;
fail:
	free(pol);
	free(cand);
	free(order);
	errno = err;
	return -1;
}

void
plan_action_get(const struct plan *p, size_t i, struct plan_action *out)
{
	const struct plan_rec *r = &p->recs[i];
	const struct plan_vol *v = &p->vols[r->vol];
	const struct inv_snapshot *s = plan_shown(r);

	out->policy = p->pols[v->pol]->policy->name;
	out->volume = v->volume != NULL ? v->volume->id : NULL;
	out->instance = v->volume != NULL && v->volume->kind == INV_INSTANCE;
	out->freeze = r->kind == PLAN_CREATE ? v->freeze : NULL;
	out->pre_failure = p->pols[v->pol]->policy->pre_failure;
	out->hook_timeout_ms = (long)p->pols[v->pol]->policy->hook_timeout *
	    1000;
	out->copy_volume_tags = p->pols[v->pol]->policy->copy_volume_tags;
	out->snapshot = s != NULL ? s->id : NULL;
	out->kind = (enum plan_kind)r->kind;
	out->date = r->date;
	out->start = s != NULL ? s->start : p->now;
	out->state = s != NULL ? (enum inv_state)s->state : INV_UNKNOWN;
	out->needs_create = (r->flags & F_NEEDS_CREATE) != 0;
	out->create_index = out->needs_create ? v->first : 0;
	out->held = r->flags & F_HELD_GONE ? "gone" : r->flags &
	    F_HELD_UNCHECKED ? "unchecked" : r->flags & F_HELD_INCOMPLETE ?
	    "incomplete" : r->flags & F_HELD_MAX ? "max_deletes" : r->flags &
	    F_HELD_MODE ? "create_only" : NULL;
}

/* --- reasons --- */

struct plan_buf {
	char *buf;
	size_t len;                /* room in buf */
	size_t n;                  /* untruncated length so far */
};

static void PLAN_PRINTF(2, 3)
plan_buf_add(struct plan_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(b->n < b->len ? b->buf + b->n : NULL,
	    b->n < b->len ? b->len - b->n : 0, fmt, ap);
	va_end(ap);
	if (r > 0)
		b->n += (size_t)r;
}

static const char *
plan_ordinal(unsigned long n)
{
	if (n % 100 >= 11 && n % 100 <= 13)
		return "th";
	switch (n % 10) {
	case 1: return "st";
	case 2: return "nd";
	case 3: return "rd";
	default: return "th";
	}
}

static const char *const rule_names[PLAN_NRULES] = {
	"keep", "daily", "weekly", "monthly", "yearly"
};

/* "keep #2, daily #2, weekly #1" */
static void
plan_why_rules(struct plan_buf *b, const struct plan_rec *r)
{
	const char *sep = "";

	for (int k = 0; k < PLAN_NRULES; k++) {
		if (r->rank[k] == 0)
			continue;
		plan_buf_add(b, "%s%s #%u", sep, rule_names[k],
		    (unsigned)r->rank[k]);
		sep = ", ";
	}
}

static void
plan_why_expired(struct plan_buf *b, const struct plan_rec *r,
    const struct plan_vol *v, const struct plan_pol *pol)
{
	const struct policy *policy = pol->policy;
	const int count[4] = { policy->retain.daily, policy->retain.weekly,
	    policy->retain.monthly, policy->retain.yearly };
	bool any = false;

	const char *what = v->volume->kind == INV_INSTANCE ? "instance" :
	    "volume";

	if (r->flags & F_HELD_GONE)
		plan_buf_add(b, "held (%s not found): ", what);
	else if (r->flags & F_HELD_UNCHECKED)
		plan_buf_add(b, "held (%s not checked): ", what);
	else if (r->flags & F_HELD_INCOMPLETE)
		plan_buf_add(b, "held (listing incomplete): ");
	else if (r->flags & F_HELD_MAX)
		plan_buf_add(b, "held (max_deletes=%ld exceeded): ",
		    policy->max_deletes);
	else if (r->flags & F_HELD_MODE)
		plan_buf_add(b, "held (--create-only): ");
	plan_buf_add(b, "beyond keep=%d (%lu%s newest)", v->keep,
	    (unsigned long)r->pos, plan_ordinal(r->pos));
	for (int k = 0; k < 4; k++) {
		if (count[k] == 0)
			continue;
		plan_buf_add(b, "%s%s=%d", any ? ", " : ", not kept by ",
		    rule_names[k + 1], count[k]);
		any = true;
	}
	if (!any)
		plan_buf_add(b, ", no retain rule");
	if (r->flags & F_NEEDS_CREATE)
		plan_buf_add(b, "; waits for today's %s", v->volume->kind ==
		    INV_INSTANCE ? "set" : "snapshot");
}

/* "; runs pre_snapshot /sbin/fsfreeze, post_snapshot /sbin/fsfreeze" */
static void
plan_why_hooks(struct plan_buf *b, const struct plan_vol *v,
    const struct policy *policy)
{
	if (v->freeze == NULL)
		return;
	plan_buf_add(b, "; runs");
	if (v->freeze->pre != NULL)
		plan_buf_add(b, " pre_snapshot %s%s", v->freeze->pre[0],
		    v->freeze->post != NULL ? "," : "");
	if (v->freeze->post != NULL)
		plan_buf_add(b, " post_snapshot %s", v->freeze->post[0]);
	if (v->freeze->pre != NULL && policy->pre_failure == POLICY_PRE_SNAPSHOT)
		plan_buf_add(b, " (snapshots even if pre_snapshot fails)");
}

/* "set set-0a1b...: 2 of its 3 snapshots listed" and the like. */
static void
plan_why_broken(struct plan_buf *b, const struct plan_rec *r,
    const struct plan_vol *v)
{
	size_t nb, idx, n;
	const struct inv_snapshot *backups = inventory_backups(v->volume, &nb);
	const struct inv_member *m;

	idx = (size_t)(r->snap - backups);
	n = inventory_set_size(v->volume, idx);
	inventory_set_member(v->volume, idx, 0, &m);
	if (m == NULL || m->set[0] == '\0')
		plan_buf_add(b, "snapshot of the instance without an %s tag",
		    INV_TAG_SET);
	else if (m->size == 0)
		plan_buf_add(b, "set is not whole: %zu snapshot%s listed, and "
		    "no valid %s tag", n, n == 1 ? "" : "s", INV_TAG_SET_SIZE);
	else if (m->size != n)
		plan_buf_add(b, "set is not whole: %zu of its %u snapshots "
		    "listed", n, (unsigned)m->size);
	else
		plan_buf_add(b, "set is not whole: its %zu snapshots disagree "
		    "on start time, day, owner or size, or two are of one "
		    "volume", n);
	plan_buf_add(b, "; kept, never deleted automatically");
}

size_t
plan_action_reason(const struct plan *p, size_t i, char *buf, size_t len)
{
	const struct plan_rec *r = &p->recs[i];
	const struct plan_vol *v = &p->vols[r->vol];
	const struct plan_pol *pol = p->pols[v->pol];
	struct plan_buf b = { buf, len, 0 };
	bool inst = v->volume != NULL && v->volume->kind == INV_INSTANCE;
	const char *unit = inst ? "set" : "snapshot";
	size_t nb = 0;

	if (v->volume != NULL)
		inventory_backups(v->volume, &nb);
	if (len > 0)
		buf[0] = '\0';
	switch ((enum plan_why)r->why) {
	case WHY_CREATE_NEW:
		if (inst)
			plan_buf_add(&b, "no set for today yet (%u volume%s); "
			    "takes ", (unsigned)v->nmembers,
			    v->nmembers == 1 ? "" : "s");
		else
			plan_buf_add(&b, "no snapshot for today yet; takes ");
		plan_why_rules(&b, r);
		plan_why_hooks(&b, v, pol->policy);
		break;
	case WHY_CREATE_FAILED:
		plan_buf_add(&b, "today's %s %s failed (state error); takes ",
		    unit, r->snap->id);
		plan_why_rules(&b, r);
		plan_why_hooks(&b, v, pol->policy);
		break;
	case WHY_SKIP_PENDING:
		plan_buf_add(&b, "pending %s %s in progress", unit,
		    r->snap->id);
		break;
	case WHY_SKIP_TODAY:
		plan_buf_add(&b, "today's %s %s exists", unit, r->snap->id);
		break;
	case WHY_SKIP_PRUNE_ONLY:
		plan_buf_add(&b, "no %s for today, but --prune-only creates "
		    "none", unit);
		break;
	case WHY_RULES:
		plan_why_rules(&b, r);
		break;
	case WHY_NEWEST:
		plan_buf_add(&b, "newest completed %s, kept until a newer one "
		    "completes", unit);
		break;
	case WHY_PENDING:
		plan_buf_add(&b, "pending, only completed %ss are deleted",
		    unit);
		break;
	case WHY_SET_BROKEN:
		plan_why_broken(&b, r, v);
		break;
	case WHY_EXCLUDE_ROOT:
		plan_buf_add(&b, "exclude_volumes names the root volume %s, "
		    "which EC2 refuses: nothing created", v->volume->root);
		break;
	case WHY_NO_VOLUMES:
		plan_buf_add(&b, "no attached EBS volume is left to snapshot "
		    "(%zu attached): nothing created", v->volume->nattached);
		break;
	case WHY_UNTAGGED:
		plan_buf_add(&b, "not owned by policy %s (no %s tag, adopt "
		    "is off)", pol->policy->name, INV_TAG_OWNER);
		break;
	case WHY_SHARED_UNTAGGED:
		plan_buf_add(&b, "not owned: no %s tag, and policies %s and %s "
		    "both adopt this volume", INV_TAG_OWNER, pol->policy->name,
		    v->shared_adopt);
		break;
	case WHY_OTHER_OWNER:
		plan_buf_add(&b, "owned by policy %s", r->snap->owner);
		break;
	case WHY_PROTECTED:
		plan_buf_add(&b, "protected");
		break;
	case WHY_AMI:
		plan_buf_add(&b, "used by %s", r->snap->ami);
		break;
	case WHY_AMI_UNKNOWN:
		plan_buf_add(&b, "kept: whether an AMI uses it could not be "
		    "checked");
		break;
	case WHY_STATE:
		plan_buf_add(&b, "%s, not counted",
		    inv_state_name((enum inv_state)r->snap->state));
		break;
	case WHY_ERROR:
		plan_buf_add(&b, "state error: not counted, never deleted "
		    "automatically");
		break;
	case WHY_UNKNOWN_STATE:
		plan_buf_add(&b, "unknown state: not counted, never deleted");
		break;
	case WHY_EXPIRED:
		plan_why_expired(&b, r, v, pol);
		break;
	case WHY_VOLUME_GONE:
		plan_buf_add(&b, "%s: nothing created or deleted, %zu %s%s "
		    "kept", inst ? "instance not found or terminated" :
		    "volume not found", nb, unit, nb == 1 ? "" : "s");
		break;
	case WHY_INCOMPLETE:
		plan_buf_add(&b, "snapshot listing incomplete: nothing "
		    "created or deleted");
		break;
	case WHY_UNCHECKED:
		plan_buf_add(&b, "could not check whether the %s exists: "
		    "nothing created or deleted", inst ? "instance" :
		    "volume");
		break;
	case WHY_ADOPT_CONFLICT:
		plan_buf_add(&b, "policies %s and %s both adopt this volume: "
		    "its untagged snapshots belong to neither; leave adopt on "
		    "in one of them", pol->policy->name, v->shared_adopt);
		break;
	case WHY_MAX_DELETES:
		plan_buf_add(&b, "%zu %s max_deletes=%ld: none deleted",
		    pol->ndeletes, pol->ndeletes == 1 ? "deletion exceeds" :
		    "deletions exceed", pol->policy->max_deletes);
		break;
	}
	return b.n;
}

const char *
plan_action_advice(const struct plan *p, size_t i)
{
	const struct plan_rec *r = &p->recs[i];

	if (r->kind != PLAN_WARN)
		return NULL;
	switch ((enum plan_why)r->why) {
	case WHY_ERROR:
		return "look at it (aws ec2 describe-snapshots), then delete it "
		    "by hand, or tag it ec2backup:protect to keep it";
	case WHY_UNKNOWN_STATE:
		return "look at it with aws ec2 describe-snapshots; a newer "
		    "ec2backup may know the state";
	case WHY_VOLUME_GONE:
		return p->vols[r->vol].volume->kind == INV_INSTANCE ?
		    "if the instance was terminated on purpose, take it out of "
		    "the policy; its sets stay until you delete them" :
		    "if the volume was deleted on purpose, take it out of "
		    "the policy; its snapshots stay until you delete them";
	case WHY_UNCHECKED:
	case WHY_INCOMPLETE:
		return "see the errors above, and run again";
	case WHY_ADOPT_CONFLICT:
		return "set adopt in one of the policies only";
	case WHY_SET_BROKEN:
		return "look at its snapshots (ec2backup list), then delete "
		    "them by hand, or tag them ec2backup:protect to keep them";
	case WHY_EXCLUDE_ROOT:
		return "take the root volume out of exclude_volumes and set "
		    "exclude_boot_volume = true";
	case WHY_NO_VOLUMES:
		return "check exclude_volumes and exclude_boot_volume, and the "
		    "instance's volumes";
	case WHY_MAX_DELETES:
		return "if so many deletions are intended, raise max_deletes "
		    "for one run";
	default:
		return NULL;
	}
}

/* --- creates --- */

/* The value of tag key among the volume's, or NULL. */
static const char *
plan_volume_tag(const struct inv_volume *v, const char *key)
{
	for (size_t i = 0; i < v->ntags; i++)
		if (strcmp(v->tags[i].key, key) == 0)
			return v->tags[i].value;
	return NULL;
}

static bool
plan_has_tag(const struct policy *policy, const char *key)
{
	for (size_t i = 0; i < policy->nsnapshot_tags; i++)
		if (strcmp(policy->snapshot_tags[i].key, key) == 0)
			return true;
	return false;
}

/* The tags a snapshot of v made by this plan gets. */
static size_t
plan_tags(const struct plan *p, const struct plan_vol *v,
    struct plan_tag *out, size_t max)
{
	const struct plan_pol *pol;
	const struct policy *policy;
	const char *name;
	size_t n = 0;

	if (max < 3 || v->volume == NULL)
		return 0;
	pol = p->pols[v->pol];
	policy = pol->policy;
	out[n++] = (struct plan_tag){ INV_TAG_OWNER, policy->name };
	out[n++] = (struct plan_tag){ INV_TAG_DATE, pol->date };
	if (v->volume->kind == INV_INSTANCE && max >= 5) {
		/* The set's own id is the executor's to make up. */
		out[n++] = (struct plan_tag){ INV_TAG_INSTANCE, v->volume->id };
		out[n++] = (struct plan_tag){ INV_TAG_SET_SIZE, v->size_tag };
	}
	/* Name: the policy's snapshot_tags, else the volume's when copied,
	 * else ec2backup's own. */
	if (v->volume->kind == INV_INSTANCE && policy->copy_volume_tags) {
		/* EC2 copies each volume's own Name. */
	} else if (!plan_has_tag(policy, "Name")) {
		name = NULL;
		for (size_t k = 0; k < policy->ncopy_tags && name == NULL; k++)
			if (strcmp(policy->copy_tags[k], "Name") == 0)
				name = plan_volume_tag(v->volume, "Name");
		out[n++] = (struct plan_tag){ "Name", name != NULL ? name :
		    pol->name_tag };
	}
	for (size_t k = 0; k < policy->ncopy_tags && n < max; k++) {
		const char *key = policy->copy_tags[k];
		const char *value = plan_volume_tag(v->volume, key);
		if (value != NULL && strcmp(key, "Name") != 0 &&
		    !plan_has_tag(policy, key))
			out[n++] = (struct plan_tag){ key, value };
	}
	for (size_t k = 0; k < policy->nsnapshot_tags && n < max; k++) {
		const struct policy_tag *t = &policy->snapshot_tags[k];
		/* Ownership and date are the tool's; never overridden. */
		if (strcmp(t->key, INV_TAG_OWNER) == 0 ||
		    strcmp(t->key, INV_TAG_DATE) == 0)
			continue;
		out[n++] = (struct plan_tag){ t->key, t->value };
	}
	return n;
}

size_t
plan_create_tags(const struct plan *p, size_t i, struct plan_tag *out,
    size_t max)
{
	const struct plan_rec *r = &p->recs[i];

	if (r->kind != PLAN_CREATE)
		return 0;
	return plan_tags(p, &p->vols[r->vol], out, max);
}

size_t
plan_volume_tags(const struct plan *p, const char *policy,
    const char *volume, struct plan_tag *out, size_t max)
{
	for (size_t v = 0; v < p->nvols; v++)
		if (p->vols[v].volume != NULL &&
		    strcmp(p->vols[v].volume->id, volume) == 0 &&
		    strcmp(p->pols[p->vols[v].pol]->policy->name, policy) == 0)
			return plan_tags(p, &p->vols[v], out, max);
	return 0;
}

size_t
plan_action_members(const struct plan *p, size_t i, const char **out,
    size_t max)
{
	const struct plan_rec *r = &p->recs[i];
	const struct inv_volume *iv = p->vols[r->vol].volume;
	const struct inv_snapshot *backups;
	size_t nb, idx, n;

	if (r->kind != PLAN_DELETE || iv == NULL)
		return 0;
	backups = inventory_backups(iv, &nb);
	idx = (size_t)(r->snap - backups);
	n = inventory_set_size(iv, idx);
	for (size_t k = 0; k < n && k < max; k++)
		out[k] = inventory_set_member(iv, idx, k, NULL)->id;
	return n;
}

size_t
plan_create_members(const struct plan *p, size_t i,
    const struct inv_attachment **out, size_t max, bool *exclude_boot,
    const char **exclude, size_t *nexclude)
{
	const struct plan_rec *r = &p->recs[i];
	const struct plan_vol *v = &p->vols[r->vol];
	bool root_excluded;

	*exclude_boot = false;
	*nexclude = 0;
	if (r->kind != PLAN_CREATE || v->volume->kind != INV_INSTANCE)
		return 0;
	*exclude_boot = v->exclude_boot;
	/* EC2 refuses a volume that is not attached as well. */
	for (size_t k = 0; k < v->volume->nattached; k++) {
		const char *id = v->volume->attached[k].volume;
		if (plan_excluded(v, id) && *nexclude < POLICY_EXCLUDE_MAX)
			exclude[(*nexclude)++] = id;
	}
	return plan_members(v, out, max, &root_excluded);
}

int
plan_create_description(const struct plan *p, size_t i, char *buf,
    size_t len)
{
	const struct plan_rec *r = &p->recs[i];
	const struct plan_vol *v = &p->vols[r->vol];
	const struct plan_pol *pol = p->pols[v->pol];
	int n;

	if (r->kind != PLAN_CREATE || len == 0)
		return -1;
	if (v->description != NULL)
		n = snprintf(buf, len, "%s", v->description);
	else
		n = snprintf(buf, len, "ec2backup %s %s %s",
		    pol->policy->name, v->volume->id, pol->date);
	if (n > 0 && (size_t)n >= len) {
		/* Cut before a UTF-8 sequence the truncation split. */
		size_t end = len - 1, k = 0;
		while (k < 3 && end > 0 &&
		    ((unsigned char)buf[end - 1] & 0xc0) == 0x80) {
			end--;
			k++;
		}
		if (end > 0) {
			unsigned char lead = (unsigned char)buf[end - 1];
			size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 :
			    lead >= 0xc0 ? 2 : 1;
			if (need > k + 1)
				buf[end - 1] = '\0';
		}
	}
	return 0;
}

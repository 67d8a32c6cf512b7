/*
 * Parsing the few value forms the inventory stores: snapshot states, EC2
 * timestamps and ec2backup:date tags.  Strict on purpose: a value we cannot
 * read exactly is reported as unknown, never guessed, so the planner can
 * fall back to the safe choice.
 */
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "tz.h"

static const char *const state_names[] = {
	[INV_PENDING] = "pending",
	[INV_COMPLETED] = "completed",
	[INV_ERROR] = "error",
	[INV_RECOVERABLE] = "recoverable",
	[INV_RECOVERING] = "recovering",
	[INV_UNKNOWN] = "unknown",
};

enum inv_state
inv_state_parse(const char *s)
{
	for (int i = 0; i < INV_UNKNOWN; i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum inv_state)i;
	return INV_UNKNOWN;
}

const char *
inv_state_name(enum inv_state state)
{
	if ((unsigned)state > INV_UNKNOWN)
		state = INV_UNKNOWN;
	return state_names[state];
}

/* Reads exactly n decimal digits; -1 when any is not a digit. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
days_in_month(int year, int month)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : mdays[month - 1];
}

/* Parses YYYY-MM-DD at s; returns days since the epoch or INV_NO_DATE. */
static int32_t
parse_ymd(const char *s)
{
	int y = digits(s, 4), m, d;

	if (y < 1970 || s[4] != '-' || s[7] != '-')
		return INV_NO_DATE;
	m = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return INV_NO_DATE;
	return (int32_t)tz_days_from_civil(y, m, d);
}

int32_t
inv_parse_date(const char *s)
{
	if (s == NULL || strlen(s) != 10)
		return INV_NO_DATE;
	return parse_ymd(s);
}

int
inv_parse_time(const char *s, int64_t *out)
{
	int32_t days;
	int hh, mm, ss;
	size_t i;

	if (s == NULL || strlen(s) < 20)
		return -1;
	days = parse_ymd(s);
	if (days == INV_NO_DATE || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	hh = digits(s + 11, 2);
	mm = digits(s + 14, 2);
	ss = digits(s + 17, 2);
	if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
		return -1;
	i = 19;
	if (s[i] == '.') {
		/* Milliseconds as EC2 sends them; a fraction of a second
		 * never changes the day, so it is read and dropped. */
		size_t start = ++i;
		while (s[i] >= '0' && s[i] <= '9' && i - start < 9)
			i++;
		if (i == start)
			return -1;
	}
	if (s[i] != 'Z' || s[i + 1] != '\0')
		return -1;
	*out = (int64_t)days * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}

/*
 * The container.  Snapshots sit in one growing array per volume; strings
 * go into a bump arena (descriptions are unique, so interning them would
 * only cost a lookup) or, when few and repeated (policy names, AMI ids),
 * into an interning table.
 */
#define ARENA_CHUNK (64 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	char data[];
};

struct inventory {
	bool keep_descriptions;
	struct inv_volume **volumes;
	size_t nvolumes, cap;
	size_t *slots;            /* open addressing: index + 1, 0 = empty */
	size_t nslots;
	/* Every snapshot by id, so that an id listed twice is stored once:
	 * open addressing, (volume index + 1) << 32 | snapshot index, 0 =
	 * empty; linear probing with backward-shift deletion. */
	uint64_t *snaps;
	size_t nsnaps, nsnap_slots;
	const char **interned;    /* open addressing */
	size_t ninterned, ninterned_slots;
	struct arena_chunk *arena;
	size_t bytes;
	const char **keep_keys;   /* interned; volume tags worth keeping */
	size_t nkeep_keys;
};

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static char *
arena_copy(struct inventory *inv, const char *s)
{
	size_t n = strlen(s) + 1;
	struct arena_chunk *c = inv->arena;
	char *p;

	if (c == NULL || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		if ((c = malloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->next = inv->arena;
		c->used = 0;
		c->size = size;
		inv->arena = c;
		inv->bytes += sizeof(*c) + size;
	}
	p = c->data + c->used;
	memcpy(p, s, n);
	c->used += n;
	return p;
}

struct inventory *
inventory_new(bool keep_descriptions)
{
	struct inventory *inv = calloc(1, sizeof(*inv));

	if (inv != NULL)
		inv->keep_descriptions = keep_descriptions;
	return inv;
}

void
inventory_free(struct inventory *inv)
{
	if (inv == NULL)
		return;
	for (size_t i = 0; i < inv->nvolumes; i++) {
		struct inv_volume *v = inv->volumes[i];
		free(v->snapshots);
		free(v->tags);
		free(v->attached);
		free(v->members);
		free(v->member_slots);
		free(v->sets);
		free(v->set_members);
		free(v->order);
		free(v);
	}
	free(inv->keep_keys);
	free(inv->volumes);
	free(inv->slots);
	free(inv->snaps);
	free(inv->interned);
	while (inv->arena != NULL) {
		struct arena_chunk *next = inv->arena->next;
		free(inv->arena);
		inv->arena = next;
	}
	free(inv);
}

static int
rehash_volumes(struct inventory *inv)
{
	size_t n = inv->nslots ? inv->nslots * 2 : 64;
	size_t *slots = calloc(n, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < inv->nvolumes; i++) {
		size_t j = hash_str(inv->volumes[i]->id) & (n - 1);
		while (slots[j] != 0)
			j = (j + 1) & (n - 1);
		slots[j] = i + 1;
	}
	free(inv->slots);
	inv->slots = slots;
	inv->nslots = n;
	return 0;
}

struct inv_volume *
inventory_find(const struct inventory *inv, const char *id)
{
	size_t j;

	if (inv->nslots == 0)
		return NULL;
	for (j = hash_str(id) & (inv->nslots - 1); inv->slots[j] != 0;
	    j = (j + 1) & (inv->nslots - 1))
		if (strcmp(inv->volumes[inv->slots[j] - 1]->id, id) == 0)
			return inv->volumes[inv->slots[j] - 1];
	return NULL;
}

struct inv_volume *
inventory_volume(struct inventory *inv, const char *id)
{
	struct inv_volume *v = inventory_find(inv, id);
	size_t j;

	if (v != NULL)
		return v;
	if (strlen(id) > INV_ID_MAX)
		return NULL;
	if ((inv->nvolumes + 1) * 2 > inv->nslots && rehash_volumes(inv) != 0)
		return NULL;
	if (inv->nvolumes == inv->cap) {
		size_t cap = inv->cap ? inv->cap * 2 : 16;
		struct inv_volume **grown = realloc(inv->volumes,
		    cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		inv->volumes = grown;
		inv->cap = cap;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	memcpy(v->id, id, strlen(id) + 1);
	v->index = inv->nvolumes;
	inv->volumes[inv->nvolumes++] = v;
	inv->bytes += sizeof(*v) + sizeof(v);
	for (j = hash_str(id) & (inv->nslots - 1); inv->slots[j] != 0;
	    j = (j + 1) & (inv->nslots - 1))
		;
	inv->slots[j] = inv->nvolumes;
	return v;
}

int
inventory_keep_tags(struct inventory *inv, const char *const *keys,
    size_t n)
{
	const char **grown = realloc(inv->keep_keys, (inv->nkeep_keys + n + 1) *
	    sizeof(*grown));

	if (grown == NULL)
		return -1;
	inv->keep_keys = grown;
	for (size_t i = 0; i < n; i++) {
		const char *k = inventory_intern(inv, keys[i]);
		bool known = false;
		if (k == NULL)
			return -1;
		for (size_t j = 0; j < inv->nkeep_keys && !known; j++)
			known = inv->keep_keys[j] == k;
		if (!known)
			inv->keep_keys[inv->nkeep_keys++] = k;
	}
	return 0;
}

int
inventory_volume_tag(struct inventory *inv, struct inv_volume *vol,
    const char *key, const char *value)
{
	const char *k = NULL, *v;
	struct inv_tag *grown;

	for (size_t j = 0; j < inv->nkeep_keys && k == NULL; j++)
		if (strcmp(inv->keep_keys[j], key) == 0)
			k = inv->keep_keys[j];
	if (k == NULL)
		return 0;
	if ((v = inventory_intern(inv, value)) == NULL)
		return -1;
	for (size_t j = 0; j < vol->ntags; j++) {
		if (vol->tags[j].key == k) {
			vol->tags[j].value = v;
			return 0;
		}
	}
	if ((grown = realloc(vol->tags, (vol->ntags + 1) * sizeof(*grown))) ==
	    NULL)
		return -1;
	vol->tags = grown;
	vol->tags[vol->ntags++] = (struct inv_tag){ k, v };
	return 0;
}

size_t
inventory_nvolumes(const struct inventory *inv)
{
	return inv->nvolumes;
}

struct inv_volume *
inventory_volume_at(const struct inventory *inv, size_t i)
{
	return i < inv->nvolumes ? inv->volumes[i] : NULL;
}

const char *
inventory_intern(struct inventory *inv, const char *s)
{
	size_t j, n;

	if (inv->ninterned_slots > 0)
		for (j = hash_str(s) & (inv->ninterned_slots - 1);
		    inv->interned[j] != NULL;
		    j = (j + 1) & (inv->ninterned_slots - 1))
			if (strcmp(inv->interned[j], s) == 0)
				return inv->interned[j];
	if ((inv->ninterned + 1) * 2 > inv->ninterned_slots) {
		const char **slots;
		n = inv->ninterned_slots ? inv->ninterned_slots * 2 : 16;
		if ((slots = calloc(n, sizeof(*slots))) == NULL)
			return NULL;
		for (size_t i = 0; i < inv->ninterned_slots; i++) {
			if (inv->interned[i] == NULL)
				continue;
			for (j = hash_str(inv->interned[i]) & (n - 1);
			    slots[j] != NULL; j = (j + 1) & (n - 1))
				;
			slots[j] = inv->interned[i];
		}
		free(inv->interned);
		inv->interned = slots;
		inv->ninterned_slots = n;
	}
	for (j = hash_str(s) & (inv->ninterned_slots - 1);
	    inv->interned[j] != NULL; j = (j + 1) & (inv->ninterned_slots - 1))
		;
	if ((inv->interned[j] = arena_copy(inv, s)) == NULL)
		return NULL;
	inv->ninterned++;
	return inv->interned[j];
}

/* --- the snapshot index --- */

static struct inv_snapshot *
slot_snapshot(const struct inventory *inv, uint64_t slot)
{
	return &inv->volumes[(slot >> 32) - 1]->snapshots[slot & 0xffffffffu];
}

/* The slot holding id, or the empty slot where it would go. */
static size_t
snap_probe(const struct inventory *inv, const char *id)
{
	size_t mask = inv->nsnap_slots - 1, j;

	for (j = hash_str(id) & mask; inv->snaps[j] != 0; j = (j + 1) & mask)
		if (strcmp(slot_snapshot(inv, inv->snaps[j])->id, id) == 0)
			break;
	return j;
}

static int
snap_rehash(struct inventory *inv)
{
	size_t n = inv->nsnap_slots ? inv->nsnap_slots * 2 : 256;
	uint64_t *old = inv->snaps;
	size_t nold = inv->nsnap_slots;

	if ((inv->snaps = calloc(n, sizeof(*inv->snaps))) == NULL) {
		inv->snaps = old;
		return -1;
	}
	inv->nsnap_slots = n;
	for (size_t i = 0; i < nold; i++)
		if (old[i] != 0)
			inv->snaps[snap_probe(inv, slot_snapshot(inv,
			    old[i])->id)] = old[i];
	free(old);
	return 0;
}

/* Removes the entry at slot j, moving later entries of its probe run
 * back so that every entry stays reachable from its home slot. */
static void
snap_unlink(struct inventory *inv, size_t j)
{
	size_t mask = inv->nsnap_slots - 1, k = j;

	inv->snaps[j] = 0;
	for (;;) {
		size_t home;

		k = (k + 1) & mask;
		if (inv->snaps[k] == 0)
			break;
		home = hash_str(slot_snapshot(inv, inv->snaps[k])->id) & mask;
		/* Stays put when its home lies cyclically in (j, k]. */
		if (j <= k ? (home > j && home <= k) : (home > j || home <= k))
			continue;
		inv->snaps[j] = inv->snaps[k];
		inv->snaps[k] = 0;
		j = k;
	}
	inv->nsnaps--;
}

struct inv_snapshot *
inventory_snapshot(const struct inventory *inv, const char *id,
    struct inv_volume **vol)
{
	size_t j;

	if (inv->nsnap_slots == 0)
		return NULL;
	j = snap_probe(inv, id);
	if (inv->snaps[j] == 0)
		return NULL;
	if (vol != NULL)
		*vol = inv->volumes[(inv->snaps[j] >> 32) - 1];
	return slot_snapshot(inv, inv->snaps[j]);
}

static bool
same_text(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether a second listing of a stored snapshot says the same. */
static bool
same_snapshot(const struct inv_snapshot *a, const struct inv_snapshot *b)
{
	return a->start == b->start && a->state == b->state &&
	    a->date == b->date && a->flags == b->flags &&
	    same_text(a->owner, b->owner) && same_text(a->description,
	    b->description);
}

enum inv_added
inventory_add_snapshot(struct inventory *inv, struct inv_volume *vol,
    const struct inv_snapshot *snap, const char *owner,
    const char *description, struct inv_snapshot **out)
{
	struct inv_snapshot *s, *first;
	struct inv_volume *at;
	size_t j;

	if (vol->nsnapshots >= UINT32_MAX || vol->index >= UINT32_MAX - 1)
		return INV_NOMEM;
	if ((inv->nsnaps + 1) * 4 > inv->nsnap_slots * 3 &&
	    snap_rehash(inv) != 0)
		return INV_NOMEM;
	/* Capacity is the next power of two, so it is not stored. */
	if ((vol->nsnapshots & (vol->nsnapshots - 1)) == 0) {
		size_t cap = vol->nsnapshots ? vol->nsnapshots * 2 : 4;
		struct inv_snapshot *grown = realloc(vol->snapshots,
		    cap * sizeof(*grown));
		if (grown == NULL)
			return INV_NOMEM;
		inv->bytes += (cap - vol->nsnapshots) * sizeof(*grown);
		vol->snapshots = grown;
	}
	/* Built in place, past the end, and only counted when it is new. */
	s = &vol->snapshots[vol->nsnapshots];
	*s = *snap;
	s->owner = NULL;
	s->description = NULL;
	if (owner != NULL && *owner != '\0' &&
	    (s->owner = inventory_intern(inv, owner)) == NULL)
		return INV_NOMEM;
	if (snap->ami != NULL && (s->ami = inventory_intern(inv, snap->ami))
	    == NULL)
		return INV_NOMEM;
	j = snap_probe(inv, s->id);
	if (inv->snaps[j] != 0) {
		first = slot_snapshot(inv, inv->snaps[j]);
		at = inv->volumes[(inv->snaps[j] >> 32) - 1];
		if (out != NULL)
			*out = first;
		/* Descriptions are compared only when they are kept. */
		if (inv->keep_descriptions && !same_text(first->description,
		    description != NULL && *description != '\0' ?
		    description : NULL))
			goto conflict;
		s->description = first->description;
		if (at == vol && same_snapshot(first, s))
			return INV_REPEATED;
conflict:
		at->conflict = true;
		vol->conflict = true;
		return INV_CONFLICT;
	}
	if (inv->keep_descriptions && description != NULL &&
	    *description != '\0' &&
	    (s->description = arena_copy(inv, description)) == NULL)
		return INV_NOMEM;
	inv->snaps[j] = (uint64_t)(vol->index + 1) << 32 | vol->nsnapshots;
	inv->nsnaps++;
	vol->nsnapshots++;
	if (out != NULL)
		*out = s;
	return INV_ADDED;
}

static int member_rehash(struct inv_volume *v, size_t slots);

void
inventory_truncate(struct inventory *inv, struct inv_volume *vol, size_t n)
{
	if (vol->kind == INV_INSTANCE) {
		/* Its snapshots are not in the inventory's index. */
		if (vol->nsnapshots > n) {
			vol->nsnapshots = n;
			if (vol->nmember_slots > 0 &&
			    member_rehash(vol, vol->nmember_slots) != 0)
				vol->conflict = true; /* cannot trust it */
		}
		return;
	}
	/* The array is larger than needed afterwards, never smaller, so the
	 * power-of-two growth rule in inventory_add_snapshot still holds. */
	while (vol->nsnapshots > n) {
		size_t j = snap_probe(inv, vol->snapshots[vol->nsnapshots -
		    1].id);
		if (inv->snaps[j] != 0)
			snap_unlink(inv, j);
		vol->nsnapshots--;
	}
}

size_t
inventory_bytes(const struct inventory *inv)
{
	return inv->bytes + sizeof(*inv) + inv->nslots * sizeof(size_t) +
	    inv->nsnap_slots * sizeof(uint64_t) +
	    inv->ninterned_slots * sizeof(char *) +
	    inv->cap * sizeof(struct inv_volume *);
}

/* --- instances and their sets --- */

/* The slot of id among an instance's snapshots, or the empty one where
 * it would go. */
static size_t
member_probe(const struct inv_volume *v, const char *id)
{
	size_t mask = v->nmember_slots - 1, j;

	for (j = hash_str(id) & mask; v->member_slots[j] != 0;
	    j = (j + 1) & mask)
		if (strcmp(v->snapshots[v->member_slots[j] - 1].id, id) == 0)
			break;
	return j;
}

/* Rebuilds the id slots of an instance's first n snapshots. */
static int
member_rehash(struct inv_volume *v, size_t slots)
{
	uint32_t *fresh = calloc(slots, sizeof(*fresh));

	if (fresh == NULL)
		return -1;
	free(v->member_slots);
	v->member_slots = fresh;
	v->nmember_slots = slots;
	for (size_t i = 0; i < v->nsnapshots; i++)
		v->member_slots[member_probe(v, v->snapshots[i].id)] =
		    (uint32_t)(i + 1);
	return 0;
}

enum inv_added
inventory_add_member(struct inventory *inv, struct inv_volume *v,
    const struct inv_snapshot *snap, const char *owner,
    const char *description, const struct inv_member *member,
    struct inv_snapshot **out)
{
	size_t n = v->nsnapshots, j;
	struct inv_snapshot *s;

	if (n >= UINT32_MAX - 1)
		return INV_NOMEM;
	if ((n + 1) * 2 > v->nmember_slots && member_rehash(v,
	    v->nmember_slots ? v->nmember_slots * 2 : 64) != 0)
		return INV_NOMEM;
	/* Both arrays grow together: the power-of-two rule. */
	if ((n & (n - 1)) == 0) {
		size_t cap = n ? n * 2 : 4;
		struct inv_member *gm = realloc(v->members, cap * sizeof(*gm));
		struct inv_snapshot *gs;
		if (gm == NULL)
			return INV_NOMEM;
		v->members = gm;
		if ((gs = realloc(v->snapshots, cap * sizeof(*gs))) == NULL)
			return INV_NOMEM;
		v->snapshots = gs;
		inv->bytes += (cap - n) * (sizeof(*gm) + sizeof(*gs));
	}
	s = &v->snapshots[n];
	*s = *snap;
	s->owner = NULL;
	s->description = NULL;
	if (owner != NULL && *owner != '\0' &&
	    (s->owner = inventory_intern(inv, owner)) == NULL)
		return INV_NOMEM;
	if (snap->ami != NULL && (s->ami = inventory_intern(inv, snap->ami))
	    == NULL)
		return INV_NOMEM;
	if (inv->keep_descriptions && description != NULL &&
	    *description != '\0' &&
	    (s->description = inventory_intern(inv, description)) == NULL)
		return INV_NOMEM;
	j = member_probe(v, s->id);
	if (v->member_slots[j] != 0) {
		size_t k = v->member_slots[j] - 1;
		struct inv_snapshot *first = &v->snapshots[k];
		const struct inv_member *m = &v->members[k];
		if (out != NULL)
			*out = first;
		if (same_snapshot(first, s) && strcmp(m->volume,
		    member->volume) == 0 && strcmp(m->set, member->set) == 0 &&
		    m->size == member->size)
			return INV_REPEATED;
		v->conflict = true;
		return INV_CONFLICT;
	}
	v->members[n] = *member;
	v->member_slots[j] = (uint32_t)(n + 1);
	v->nsnapshots++;
	if (out != NULL)
		*out = s;
	return INV_ADDED;
}

int
inventory_attach(struct inventory *inv, struct inv_volume *instance,
    const char *volume, const char *device, bool root)
{
	struct inv_attachment *grown;
	struct inv_attachment *a;

	if (strlen(volume) > INV_ID_MAX)
		return 0;
	grown = realloc(instance->attached, (instance->nattached + 1) *
	    sizeof(*grown));
	if (grown == NULL)
		return -1;
	instance->attached = grown;
	a = &grown[instance->nattached];
	memcpy(a->volume, volume, strlen(volume) + 1);
	a->device = NULL;
	if (device != NULL && (a->device = inventory_intern(inv, device)) ==
	    NULL)
		return -1;
	if (root)
		memcpy(instance->root, volume, strlen(volume) + 1);
	instance->nattached++;
	return 0;
}

/* Members by set, then by volume and id, so a set is one run. */
static const struct inv_volume *sort_instance;

static int
cmp_member(const void *va, const void *vb)
{
	size_t a = *(const size_t *)va, b = *(const size_t *)vb;
	const struct inv_member *ma = &sort_instance->members[a];
	const struct inv_member *mb = &sort_instance->members[b];
	int c = strcmp(ma->set, mb->set);

	if (c == 0)
		c = strcmp(ma->volume, mb->volume);
	if (c == 0)
		c = strcmp(sort_instance->snapshots[a].id,
		    sort_instance->snapshots[b].id);
	return c;
}

/* The state a set is in: error or unknown if any snapshot is, else
 * pending if any is, else archived if any is, else completed. */
static uint8_t
set_state(uint8_t a, uint8_t b)
{
	static const uint8_t rank[] = {
		[INV_PENDING] = 3, [INV_COMPLETED] = 0, [INV_ERROR] = 5,
		[INV_RECOVERABLE] = 1, [INV_RECOVERING] = 2,
		[INV_UNKNOWN] = 4,
	};

	if (a > INV_UNKNOWN)
		a = INV_UNKNOWN;
	if (b > INV_UNKNOWN)
		b = INV_UNKNOWN;
	return rank[b] > rank[a] ? b : a;
}

int
inventory_build_sets(struct inventory *inv, struct inv_volume *v)
{
	size_t n = v->nsnapshots, nsets = 0;
	size_t *order = malloc((n ? n : 1) * sizeof(*order));
	struct inv_snapshot *sets = malloc((n ? n : 1) * sizeof(*sets));
	struct inv_set *ranges = malloc((n ? n : 1) * sizeof(*ranges));

	(void)inv;
	if (order == NULL || sets == NULL || ranges == NULL) {
		free(order);
		free(sets);
		free(ranges);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	sort_instance = v;
	qsort(order, n, sizeof(*order), cmp_member);
	sort_instance = NULL;
	for (size_t i = 0; i < n;) {
		const struct inv_member *m0 = &v->members[order[i]];
		const struct inv_snapshot *s0 = &v->snapshots[order[i]];
		struct inv_snapshot *set = &sets[nsets];
		size_t j = i + 1;

		/* A snapshot without a set tag is a set of its own. */
		while (j < n && m0->set[0] != '\0' &&
		    strcmp(v->members[order[j]].set, m0->set) == 0)
			j++;
		*set = *s0;
		if (m0->set[0] != '\0')
			memcpy(set->id, m0->set, sizeof(set->id));
		set->description = NULL;
		set->flags &= (uint8_t)~INV_AMI_CHECKED;
		if (m0->set[0] == '\0' || m0->size != j - i)
			set->flags |= INV_SET_BROKEN;
		for (size_t k = i + 1; k < j; k++) {
			const struct inv_snapshot *s = &v->snapshots[order[k]];
			const struct inv_member *m = &v->members[order[k]];
			if (s->start != s0->start || s->date != s0->date ||
			    s->owner != s0->owner || m->size != m0->size ||
			    strcmp(m->volume, v->members[order[k - 1]].volume)
			    == 0)
				set->flags |= INV_SET_BROKEN;
			set->state = set_state(set->state, s->state);
			set->flags |= s->flags & (INV_PROTECTED |
			    INV_AMI_UNKNOWN);
			if (set->ami == NULL)
				set->ami = s->ami;
		}
		ranges[nsets] = (struct inv_set){ i, j - i };
		nsets++;
		i = j;
	}
	if (v->sets != NULL && v->nsets == nsets && v->norder == n) {
		/* The same snapshots, grouped the same way (what changed is
		 * what is known about them, such as AMIs): updated in place,
		 * as a plan may point at the sets. */
		memcpy(v->order, order, n * sizeof(*order));
		memcpy(v->sets, sets, nsets * sizeof(*sets));
		memcpy(v->set_members, ranges, nsets * sizeof(*ranges));
		free(order);
		free(sets);
		free(ranges);
		return 0;
	}
	free(v->order);
	free(v->sets);
	free(v->set_members);
	v->order = order;
	v->sets = sets;
	v->set_members = ranges;
	v->nsets = nsets;
	v->norder = n;
	return 0;
}

const struct inv_snapshot *
inventory_backups(const struct inv_volume *v, size_t *n)
{
	if (v->kind == INV_INSTANCE) {
		*n = v->nsets;
		return v->sets;
	}
	*n = v->nsnapshots;
	return v->snapshots;
}

const struct inv_snapshot *
inventory_set_member(const struct inv_volume *v, size_t i, size_t k,
    const struct inv_member **member)
{
	size_t at;

	if (v->kind != INV_INSTANCE) {
		if (member != NULL)
			*member = NULL;
		return &v->snapshots[i];
	}
	at = v->order[v->set_members[i].first + k];
	if (member != NULL)
		*member = &v->members[at];
	return &v->snapshots[at];
}

size_t
inventory_set_size(const struct inv_volume *v, size_t i)
{
	return v->kind == INV_INSTANCE ? v->set_members[i].n : 1;
}

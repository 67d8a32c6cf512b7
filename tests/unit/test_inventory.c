/*
 * The inventory: strict parsing of EC2 values, and the container that
 * holds a run's volumes and snapshots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "tz.h"

static void
test_states(void **state)
{
	(void)state;
	assert_int_equal(inv_state_parse("pending"), INV_PENDING);
	assert_int_equal(inv_state_parse("completed"), INV_COMPLETED);
	assert_int_equal(inv_state_parse("error"), INV_ERROR);
	assert_int_equal(inv_state_parse("recoverable"), INV_RECOVERABLE);
	assert_int_equal(inv_state_parse("recovering"), INV_RECOVERING);
	assert_int_equal(inv_state_parse("Completed"), INV_UNKNOWN);
	assert_int_equal(inv_state_parse(""), INV_UNKNOWN);
	assert_int_equal(inv_state_parse("archived"), INV_UNKNOWN);
	assert_string_equal(inv_state_name(INV_COMPLETED), "completed");
	assert_string_equal(inv_state_name(INV_UNKNOWN), "unknown");
	assert_string_equal(inv_state_name((enum inv_state)99), "unknown");
}

static void
test_dates(void **state)
{
	(void)state;
	assert_int_equal(inv_parse_date("1970-01-01"), 0);
	assert_int_equal(inv_parse_date("2024-02-29"),
	    tz_days_from_civil(2024, 2, 29));
	assert_int_equal(inv_parse_date("2026-11-22"),
	    tz_days_from_civil(2026, 11, 22));
	assert_int_equal(inv_parse_date("2025-02-29"), INV_NO_DATE);
	assert_int_equal(inv_parse_date("1900-02-29"), INV_NO_DATE);
	assert_int_equal(inv_parse_date("2026-13-01"), INV_NO_DATE);
	assert_int_equal(inv_parse_date("2026-04-31"), INV_NO_DATE);
	assert_int_equal(inv_parse_date("2026-4-01"), INV_NO_DATE);
	assert_int_equal(inv_parse_date("2026-04-01 "), INV_NO_DATE);
	assert_int_equal(inv_parse_date("2026/04/01"), INV_NO_DATE);
	assert_int_equal(inv_parse_date(""), INV_NO_DATE);
	assert_int_equal(inv_parse_date(NULL), INV_NO_DATE);
	assert_int_equal(inv_parse_date("+026-04-01"), INV_NO_DATE);
}

static void
test_times(void **state)
{
	int64_t t = 42;

	(void)state;
	assert_int_equal(inv_parse_time("2019-02-28T21:28:32.000Z", &t), 0);
	assert_int_equal(t, 1551389312);
	assert_int_equal(inv_parse_time("2019-02-28T21:28:32Z", &t), 0);
	assert_int_equal(t, 1551389312);
	assert_int_equal(inv_parse_time("1970-01-01T00:00:00.5Z", &t), 0);
	assert_int_equal(t, 0);
	t = 42;
	assert_int_equal(inv_parse_time("2019-02-28T21:28:32.000", &t), -1);
	assert_int_equal(inv_parse_time("2019-02-28T21:28:32+02:00", &t), -1);
	assert_int_equal(inv_parse_time("2019-02-28 21:28:32Z", &t), -1);
	assert_int_equal(inv_parse_time("2019-02-28T24:00:00Z", &t), -1);
	assert_int_equal(inv_parse_time("2019-02-29T10:00:00Z", &t), -1);
	assert_int_equal(inv_parse_time("2019-02-28T21:28:32.Z", &t), -1);
	assert_int_equal(inv_parse_time("2019-02-28T21:28:32.000Zjunk", &t),
	    -1);
	assert_int_equal(inv_parse_time("", &t), -1);
	assert_int_equal(t, 42);
}

static void
test_container(void **state)
{
	struct inventory *inv = inventory_new(true);
	struct inv_snapshot snap = { .state = INV_COMPLETED, .date =
	    INV_NO_DATE };
	char id[32];

	(void)state;
	assert_non_null(inv);
	/* Enough volumes to grow the hash table several times. */
	for (int i = 0; i < 1000; i++) {
		struct inv_volume *v;
		snprintf(id, sizeof(id), "vol-%08x", i);
		v = inventory_volume(inv, id);
		assert_non_null(v);
		assert_string_equal(v->id, id);
		assert_false(v->exists);
		assert_false(v->complete);
		assert_ptr_equal(inventory_volume(inv, id), v);
	}
	assert_int_equal(inventory_nvolumes(inv), 1000);
	assert_string_equal(inventory_volume_at(inv, 7)->id, "vol-00000007");
	assert_null(inventory_volume_at(inv, 1000));
	assert_null(inventory_find(inv, "vol-ffffffff"));
	assert_null(inventory_volume(inv, "vol-0123456789abcdef0123"));

	struct inv_volume *v = inventory_find(inv, "vol-000003e7");
	assert_non_null(v);
	for (int i = 0; i < 300; i++) {
		struct inv_snapshot *s;
		char desc[64];
		snprintf(snap.id, sizeof(snap.id), "snap-%08x", i);
		snap.start = 1000 + i;
		snprintf(desc, sizeof(desc), "description %d", i);
		assert_int_equal(inventory_add_snapshot(inv, v, &snap,
		    i % 2 ? "prod" : NULL, desc, &s), INV_ADDED);
		assert_non_null(s);
	}
	assert_int_equal(v->nsnapshots, 300);
	assert_string_equal(v->snapshots[299].id, "snap-0000012b");
	assert_int_equal(v->snapshots[299].start, 1299);
	assert_string_equal(v->snapshots[5].description, "description 5");
	assert_null(v->snapshots[4].owner);
	/* Owner names are shared, not copied per snapshot. */
	assert_ptr_equal(v->snapshots[1].owner, v->snapshots[3].owner);
	assert_string_equal(v->snapshots[1].owner, "prod");
	assert_ptr_equal(inventory_intern(inv, "prod"), v->snapshots[1].owner);

	/* A page read again is dropped, then re-added. */
	inventory_truncate(inv, v, 250);
	assert_int_equal(v->nsnapshots, 250);
	for (int i = 250; i < 400; i++) {
		snprintf(snap.id, sizeof(snap.id), "snap-%08x", i);
		assert_int_equal(inventory_add_snapshot(inv, v, &snap, NULL,
		    NULL, NULL), INV_ADDED);
	}
	assert_int_equal(v->nsnapshots, 400);
	assert_string_equal(v->snapshots[399].id, "snap-0000018f");
	assert_string_equal(v->snapshots[249].description, "description 249");
	assert_null(v->snapshots[250].description);
	assert_true(inventory_bytes(inv) > 400 * sizeof(struct inv_snapshot));
	inventory_free(inv);
}

static void
test_descriptions_can_be_dropped(void **state)
{
	struct inventory *inv = inventory_new(false);
	struct inv_snapshot snap = { .id = "snap-0a1b2c3d", .ami =
	    "ami-0a1b2c3d" };
	struct inv_volume *v;
	struct inv_snapshot *s;

	(void)state;
	v = inventory_volume(inv, "vol-0a1b2c3d");
	assert_int_equal(inventory_add_snapshot(inv, v, &snap, "p",
	    "long text", &s), INV_ADDED);
	assert_null(s->description);
	assert_string_equal(s->ami, "ami-0a1b2c3d");
	assert_ptr_not_equal(s->ami, snap.ami); /* copied into the inventory */
	inventory_free(inv);
	inventory_free(NULL);
}

/* One entry per snapshot id, whichever volume and page it came on. */
static void
test_repeated_ids(void **state)
{
	struct inventory *inv = inventory_new(true);
	struct inv_volume *a = inventory_volume(inv, "vol-0000000a");
	struct inv_volume *b = inventory_volume(inv, "vol-0000000b");
	struct inv_snapshot s1 = { .id = "snap-00000001", .start = 100,
	    .state = INV_COMPLETED, .date = 5 };
	struct inv_snapshot other, *first = NULL;

	(void)state;
	assert_int_equal(inventory_add_snapshot(inv, a, &s1, "prod", "d",
	    &first), INV_ADDED);
	/* The same again: not stored twice, and no harm done. */
	assert_int_equal(inventory_add_snapshot(inv, a, &s1, "prod", "d",
	    &first), INV_REPEATED);
	assert_int_equal(a->nsnapshots, 1);
	assert_ptr_equal(first, &a->snapshots[0]);
	assert_false(a->conflict);
	assert_ptr_equal(inventory_snapshot(inv, "snap-00000001", NULL),
	    &a->snapshots[0]);

	/* Each way a second listing can disagree marks the volumes. */
	other = s1;
	other.state = INV_PENDING;
	assert_int_equal(inventory_add_snapshot(inv, a, &other, "prod", "d",
	    NULL), INV_CONFLICT);
	assert_true(a->conflict);
	a->conflict = false;
	assert_int_equal(inventory_add_snapshot(inv, a, &s1, "test", "d",
	    NULL), INV_CONFLICT);
	a->conflict = false;
	assert_int_equal(inventory_add_snapshot(inv, a, &s1, NULL, "d",
	    NULL), INV_CONFLICT);
	a->conflict = false;
	other = s1;
	other.start = 101;
	assert_int_equal(inventory_add_snapshot(inv, a, &other, "prod", "d",
	    NULL), INV_CONFLICT);
	a->conflict = false;
	other = s1;
	other.date = INV_NO_DATE;
	assert_int_equal(inventory_add_snapshot(inv, a, &other, "prod", "d",
	    NULL), INV_CONFLICT);
	a->conflict = false;
	other = s1;
	other.flags = INV_PROTECTED;
	assert_int_equal(inventory_add_snapshot(inv, a, &other, "prod", "d",
	    NULL), INV_CONFLICT);
	a->conflict = false;
	assert_int_equal(inventory_add_snapshot(inv, a, &s1, "prod", "e",
	    NULL), INV_CONFLICT);
	a->conflict = false;
	/* Under another volume: both are marked, and it stays under a. */
	assert_int_equal(inventory_add_snapshot(inv, b, &s1, "prod", "d",
	    NULL), INV_CONFLICT);
	assert_true(a->conflict);
	assert_true(b->conflict);
	assert_int_equal(a->nsnapshots, 1);
	assert_int_equal(b->nsnapshots, 0);

	/* Dropped with its page, the id can come again. */
	inventory_truncate(inv, a, 0);
	assert_null(inventory_snapshot(inv, "snap-00000001", NULL));
	assert_int_equal(inventory_add_snapshot(inv, b, &s1, "prod", "d",
	    NULL), INV_ADDED);
	assert_int_equal(b->nsnapshots, 1);
	inventory_free(inv);
}

/* The id index against a plain model, through growth and truncation
 * (backward-shift deletion must keep every id findable). */
static void
test_id_index_model(void **state)
{
	enum { NVOL = 7, NID = 3000 };
	struct inventory *inv = inventory_new(false);
	struct inv_volume *vols[NVOL];
	int where[NID];            /* volume of id i, or -1 */
	unsigned seed = 12345;

	(void)state;
	for (int v = 0; v < NVOL; v++) {
		char id[32];
		snprintf(id, sizeof(id), "vol-%08x", v);
		vols[v] = inventory_volume(inv, id);
	}
	for (int i = 0; i < NID; i++)
		where[i] = -1;
	for (int step = 0; step < 40000; step++) {
		struct inv_snapshot s = { .state = INV_COMPLETED };
		int i, v;
		enum inv_added r;

		seed = seed * 1103515245 + 12345;
		i = (int)((seed >> 8) % NID);
		v = (int)((seed >> 20) % NVOL);
		if ((seed >> 4) % 50 == 0) {
			/* Drop the last few of a volume, as a retried page. */
			size_t keep = vols[v]->nsnapshots / 2;
			for (size_t k = keep; k < vols[v]->nsnapshots; k++) {
				int id = (int)strtol(vols[v]->snapshots[k].id +
				    5, NULL, 16);
				where[id] = -1;
			}
			inventory_truncate(inv, vols[v], keep);
			continue;
		}
		snprintf(s.id, sizeof(s.id), "snap-%08x", i);
		r = inventory_add_snapshot(inv, vols[v], &s, NULL, NULL, NULL);
		if (where[i] == -1) {
			assert_int_equal(r, INV_ADDED);
			where[i] = v;
		} else {
			assert_int_equal(r, where[i] == v ? INV_REPEATED :
			    INV_CONFLICT);
		}
	}
	for (int i = 0; i < NID; i++) {
		char id[32];
		struct inv_volume *at = NULL;
		struct inv_snapshot *s;
		snprintf(id, sizeof(id), "snap-%08x", i);
		s = inventory_snapshot(inv, id, &at);
		if (where[i] == -1) {
			assert_null(s);
			continue;
		}
		assert_non_null(s);
		assert_string_equal(s->id, id);
		assert_ptr_equal(at, vols[where[i]]);
	}
	inventory_free(inv);
}


/* --- instance sets --- */

/* Adds a snapshot of an instance's set; returns what the inventory did. */
static enum inv_added
member(struct inventory *inv, struct inv_volume *in, const char *id,
    const char *volume, const char *set, int size, int64_t start,
    enum inv_state st, uint8_t flags)
{
	struct inv_snapshot s = { 0 };
	struct inv_member m = { 0 };

	snprintf(s.id, sizeof(s.id), "%s", id);
	s.start = start;
	s.state = (uint8_t)st;
	s.flags = flags;
	s.date = INV_NO_DATE;
	snprintf(m.volume, sizeof(m.volume), "%s", volume);
	snprintf(m.set, sizeof(m.set), "%s", set);
	m.size = (uint16_t)size;
	return inventory_add_member(inv, in, &s, "db", NULL, &m, NULL);
}

static const struct inv_snapshot *
set_named(const struct inv_volume *v, const char *id, size_t *at)
{
	size_t n;
	const struct inv_snapshot *sets = inventory_backups(v, &n);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(sets[i].id, id) == 0) {
			*at = i;
			return &sets[i];
		}
	}
	fail_msg("no set %s", id);
	return NULL;
}

static void
test_sets(void **state)
{
	struct inventory *inv = inventory_new(false);
	struct inv_volume *in, *vol;
	const struct inv_snapshot *s;
	const struct inv_member *m;
	size_t n, at;

	(void)state;
	assert_non_null(inv);
	in = inventory_volume(inv, "i-0a1b2c3d");
	vol = inventory_volume(inv, "vol-0a");
	assert_non_null(in);
	in->kind = INV_INSTANCE;
	/* A whole set, listed in any order. */
	assert_int_equal(member(inv, in, "snap-a2", "vol-0b", "set-a", 2, 100,
	    INV_COMPLETED, 0), INV_ADDED);
	assert_int_equal(member(inv, in, "snap-a1", "vol-0a", "set-a", 2, 100,
	    INV_PENDING, INV_PROTECTED), INV_ADDED);
	/* One of three snapshots. */
	assert_int_equal(member(inv, in, "snap-b1", "vol-0a", "set-b", 3, 200,
	    INV_COMPLETED, 0), INV_ADDED);
	/* Start times that disagree. */
	assert_int_equal(member(inv, in, "snap-c1", "vol-0a", "set-c", 2, 300,
	    INV_COMPLETED, 0), INV_ADDED);
	assert_int_equal(member(inv, in, "snap-c2", "vol-0b", "set-c", 2, 301,
	    INV_COMPLETED, 0), INV_ADDED);
	/* No set tag, no size tag, two of one volume, an error. */
	assert_int_equal(member(inv, in, "snap-d1", "vol-0a", "", 1, 400,
	    INV_COMPLETED, 0), INV_ADDED);
	assert_int_equal(member(inv, in, "snap-e1", "vol-0a", "set-e", 0, 500,
	    INV_COMPLETED, 0), INV_ADDED);
	assert_int_equal(member(inv, in, "snap-f1", "vol-0a", "set-f", 2, 600,
	    INV_COMPLETED, 0), INV_ADDED);
	assert_int_equal(member(inv, in, "snap-f2", "vol-0a", "set-f", 2, 600,
	    INV_COMPLETED, 0), INV_ADDED);
	assert_int_equal(member(inv, in, "snap-g1", "vol-0a", "set-g", 2, 700,
	    INV_COMPLETED, 0), INV_ADDED);
	assert_int_equal(member(inv, in, "snap-g2", "vol-0b", "set-g", 2, 700,
	    INV_ERROR, 0), INV_ADDED);
	/* Listed again: the same is a repeat, anything else a conflict. */
	assert_int_equal(member(inv, in, "snap-g2", "vol-0b", "set-g", 2, 700,
	    INV_ERROR, 0), INV_REPEATED);
	assert_false(in->conflict);
	/* The instance's snapshots are its own: the volume may hold the
	 * same ids. */
	{
		struct inv_snapshot dup = { .id = "snap-a1", .start = 100,
		    .date = INV_NO_DATE };
		assert_int_equal(inventory_add_snapshot(inv, vol, &dup, "db",
		    NULL, NULL), INV_ADDED);
	}
	assert_int_equal(inventory_build_sets(inv, in), 0);
	inventory_backups(in, &n);
	assert_int_equal(n, 7);

	s = set_named(in, "set-a", &at);
	assert_int_equal(s->flags & INV_SET_BROKEN, 0);
	assert_int_equal(s->state, INV_PENDING);    /* the least done */
	assert_true(s->flags & INV_PROTECTED);      /* any protects all */
	assert_int_equal(s->start, 100);
	assert_int_equal(inventory_set_size(in, at), 2);
	assert_string_equal(inventory_set_member(in, at, 0, &m)->id,
	    "snap-a1");
	assert_string_equal(m->volume, "vol-0a");
	assert_string_equal(inventory_set_member(in, at, 1, &m)->id,
	    "snap-a2");
	assert_true(set_named(in, "set-b", &at)->flags & INV_SET_BROKEN);
	assert_true(set_named(in, "set-c", &at)->flags & INV_SET_BROKEN);
	assert_true(set_named(in, "snap-d1", &at)->flags & INV_SET_BROKEN);
	assert_true(set_named(in, "set-e", &at)->flags & INV_SET_BROKEN);
	assert_true(set_named(in, "set-f", &at)->flags & INV_SET_BROKEN);
	s = set_named(in, "set-g", &at);
	assert_int_equal(s->flags & INV_SET_BROKEN, 0);
	assert_int_equal(s->state, INV_ERROR);

	/* An AMI found later on one snapshot marks its set once rebuilt. */
	{
		struct inv_snapshot *g1 = (struct inv_snapshot *)
		    inventory_set_member(in, at, 0, NULL);
		g1->ami = inventory_intern(inv, "ami-1");
		assert_int_equal(inventory_build_sets(inv, in), 0);
		assert_string_equal(set_named(in, "set-g", &at)->ami, "ami-1");
	}

	/* A second listing with other details is a conflict. */
	assert_int_equal(member(inv, in, "snap-g2", "vol-0b", "set-g", 2, 700,
	    INV_COMPLETED, 0), INV_CONFLICT);
	assert_true(in->conflict);

	/* A page read again: the last snapshots go, and may come back. */
	inventory_truncate(inv, in, 2);
	assert_int_equal(in->nsnapshots, 2);
	assert_int_equal(member(inv, in, "snap-b1", "vol-0a", "set-b", 3, 200,
	    INV_COMPLETED, 0), INV_ADDED);
	assert_int_equal(member(inv, in, "snap-a1", "vol-0a", "set-a", 2, 100,
	    INV_PENDING, INV_PROTECTED), INV_REPEATED);
	inventory_free(inv);
}

/* Many snapshots: the id slots grow and still find every one. */
static void
test_many_members(void **state)
{
	struct inventory *inv = inventory_new(false);
	struct inv_volume *in = inventory_volume(inv, "i-0a1b2c3d");
	char id[32], set[32];
	size_t n;

	(void)state;
	in->kind = INV_INSTANCE;
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "snap-%08x", i);
		snprintf(set, sizeof(set), "set-%05d", i / 3);
		assert_int_equal(member(inv, in, id, i % 3 == 0 ? "vol-0a" :
		    i % 3 == 1 ? "vol-0b" : "vol-0c", set, 3, 1000 + i / 3,
		    INV_COMPLETED, 0), INV_ADDED);
	}
	for (int i = 2999; i >= 0; i -= 7) {
		snprintf(id, sizeof(id), "snap-%08x", i);
		snprintf(set, sizeof(set), "set-%05d", i / 3);
		assert_int_equal(member(inv, in, id, i % 3 == 0 ? "vol-0a" :
		    i % 3 == 1 ? "vol-0b" : "vol-0c", set, 3, 1000 + i / 3,
		    INV_COMPLETED, 0), INV_REPEATED);
	}
	assert_int_equal(inventory_build_sets(inv, in), 0);
	inventory_backups(in, &n);
	assert_int_equal(n, 1000);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(in->sets[i].flags & INV_SET_BROKEN, 0);
	inventory_free(inv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_container),
		cmocka_unit_test(test_descriptions_can_be_dropped),
		cmocka_unit_test(test_repeated_ids),
		cmocka_unit_test(test_id_index_model),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_many_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

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
		s = inventory_add_snapshot(inv, v, &snap,
		    i % 2 ? "prod" : NULL, desc);
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
	inventory_truncate(v, 250);
	assert_int_equal(v->nsnapshots, 250);
	for (int i = 250; i < 400; i++) {
		snprintf(snap.id, sizeof(snap.id), "snap-%08x", i);
		assert_non_null(inventory_add_snapshot(inv, v, &snap, NULL,
		    NULL));
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
	s = inventory_add_snapshot(inv, v, &snap, "p", "long text");
	assert_null(s->description);
	assert_string_equal(s->ami, "ami-0a1b2c3d");
	assert_ptr_not_equal(s->ami, snap.ami); /* copied into the inventory */
	inventory_free(inv);
	inventory_free(NULL);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

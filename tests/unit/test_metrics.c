/*
 * Tests of src/metrics.c: the exposition format (HELP and TYPE once per
 * metric, labels escaped, no timestamps), carrying samples over from the
 * file a run replaces, and an atomic replace.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"

static char dir[] = "/tmp/ec2backup-metrics-XXXXXX";

static char *
slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
test_format(void **state)
{
	struct metrics *m = metrics_new();
	const char *p1[] = { "policy", "prod" };
	const char *p2[] = { "policy", "we\"ird\\\nname" };
	const char *a[] = { "policy", "prod", "action", "create", "outcome",
	    "done" };
	char path[128], err[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m.prom", dir);
	assert_int_equal(metrics_set(m, "ec2backup_last_run_timestamp_seconds",
	    1772334000, 0, NULL), 0);
	assert_int_equal(metrics_add(m, "ec2backup_actions_total", 1, 3, a), 0);
	assert_int_equal(metrics_add(m, "ec2backup_actions_total", 2, 3, a), 0);
	assert_int_equal(metrics_set(m, "ec2backup_run_duration_seconds", 0.008,
	    0, NULL), 0);
	assert_int_equal(metrics_set(m,
	    "ec2backup_last_success_timestamp_seconds", 1, 1, p1), 0);
	assert_int_equal(metrics_set(m,
	    "ec2backup_last_success_timestamp_seconds", 2, 1, p2), 0);
	assert_int_equal(metrics_set(m, "no_such_metric", 1, 0, NULL), -1);
	assert_int_equal(metrics_write(m, path, err, sizeof(err)), 0);
	assert_string_equal(slurp(path),
	    "# HELP ec2backup_last_success_timestamp_seconds When a run of the "
	    "policy last succeeded (every action done, nothing that needs a "
	    "person), in seconds since the epoch.\n"
	    "# TYPE ec2backup_last_success_timestamp_seconds gauge\n"
	    "ec2backup_last_success_timestamp_seconds{policy=\"prod\"} 1\n"
	    "ec2backup_last_success_timestamp_seconds{policy=\"we\\\"ird\\\\"
	    "\\nname\"} 2\n"
	    "# HELP ec2backup_last_run_timestamp_seconds When the last run "
	    "started, in seconds since the epoch.\n"
	    "# TYPE ec2backup_last_run_timestamp_seconds gauge\n"
	    "ec2backup_last_run_timestamp_seconds 1772334000\n"
	    "# HELP ec2backup_run_duration_seconds How long the last run took.\n"
	    "# TYPE ec2backup_run_duration_seconds gauge\n"
	    "ec2backup_run_duration_seconds 0.008\n"
	    "# HELP ec2backup_actions_total Creates and deletes of the last run, "
	    "by policy, action and outcome (done, gone, failed, in-use, held)."
	    "\n# TYPE ec2backup_actions_total counter\n"
	    "ec2backup_actions_total{policy=\"prod\",action=\"create\","
	    "outcome=\"done\"} 3\n");
	metrics_free(m);

	/* Next time prod did not succeed: its last success is carried. */
	m = metrics_new();
	assert_int_equal(metrics_set(m,
	    "ec2backup_last_success_timestamp_seconds", 5, 1, p2), 0);
	assert_int_equal(metrics_carry(m, path,
	    "ec2backup_last_success_timestamp_seconds"), 0);
	assert_int_equal(metrics_carry(m, "/nonexistent/m.prom",
	    "ec2backup_last_success_timestamp_seconds"), 0);
	assert_int_equal(metrics_write(m, path, err, sizeof(err)), 0);
	assert_non_null(strstr(slurp(path),
	    "ec2backup_last_success_timestamp_seconds{policy=\"we\\\"ird\\\\"
	    "\\nname\"} 5\n"
	    "ec2backup_last_success_timestamp_seconds{policy=\"prod\"} 1\n"));
	metrics_free(m);

	/* A directory that cannot be written: an error, the old file stays. */
	m = metrics_new();
	assert_int_equal(metrics_write(m, "/nonexistent/dir/m.prom", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot write"));
	metrics_free(m);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

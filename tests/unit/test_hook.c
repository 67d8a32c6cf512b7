/*
 * Tests of src/hook.c: input on stdin, variables, exit status and
 * signals, the time limit for the whole process group, and a program
 * that cannot be started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"

static char dir[] = "/tmp/ec2backup-hook-XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *
slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
test_input_and_variables(void **state)
{
	char out[128], script[512], err[256];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	char *env[] = { "EC2BACKUP_POLICY=prod", NULL };
	struct hook_result res;

	(void)state;
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(script, sizeof(script), "cat > %s; echo \"$EC2BACKUP_POLICY\" "
	    ">> %s; exit 3", out, out);
	assert_int_equal(hook_run(argv, env, "{\"a\":1}\n", 8, 10000, &res, err,
	    sizeof(err)), 0);
	assert_int_equal(res.status, 3);
	assert_int_equal(res.signal, 0);
	assert_int_equal(res.timed_out, 0);
	assert_string_equal(slurp(out), "{\"a\":1}\nprod\n");
	/* Our own environment is not changed by the hook's variables. */
	assert_null(getenv("EC2BACKUP_POLICY"));
}

/* A hook that does not read its (large) input still finishes. */
static void
test_input_not_read(void **state)
{
	char *argv[] = { "/bin/true", NULL };
	static char big[1 << 20];
	struct hook_result res;
	char err[256];

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(hook_run(argv, NULL, big, sizeof(big), 10000, &res,
	    err, sizeof(err)), 0);
	assert_int_equal(res.status, 0);
}

static void
test_time_limit_takes_the_group(void **state)
{
	char pidfile[128], script[512], err[256], how[128];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct hook_result res;
	struct timespec t0, t1;
	char stat[64];
	long pid;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	/* A child that ignores SIGTERM, and a parent that waits for it. */
	snprintf(script, sizeof(script), "sh -c 'trap \"\" TERM; sleep 300' & "
	    "echo $! > %s; wait", pidfile);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(hook_run(argv, NULL, "", 0, 500, &res, err,
	    sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(res.timed_out, 1);
	/* SIGTERM, then SIGKILL after the grace period: well before 300 s. */
	assert_true(t1.tv_sec - t0.tv_sec < 10);
	pid = strtol(slurp(pidfile), NULL, 10);
	assert_true(pid > 0);
	snprintf(stat, sizeof(stat), "/proc/%ld/stat", pid);
	/* It was killed: within moments it is a zombie waiting for its
	 * reaper, or gone.  (Its files close a little before that.) */
	for (int i = 0; i < 200 && access(stat, F_OK) == 0; i++) {
		char *s = strrchr(slurp(stat), ')');
		struct timespec ms = { 0, 10 * 1000 * 1000 };
		assert_non_null(s);
		assert_true(s[2] != 'S');
		if (s[2] == 'Z')
			break;
		nanosleep(&ms, NULL);
	}
	if (access(stat, F_OK) == 0)
		assert_int_equal(strrchr(slurp(stat), ')')[2], 'Z');
	hook_describe(&res, 500, how, sizeof(how));
	assert_string_equal(how, "stopped after 0 s, its time limit");
}

static void
test_signal_and_missing_program(void **state)
{
	char *killed[] = { "/bin/sh", "-c", "kill -9 $$", NULL };
	char *missing[] = { "/nonexistent/hook", NULL };
	char *relative[] = { "hook", NULL };
	struct hook_result res;
	char err[256], how[128];

	(void)state;
	assert_int_equal(hook_run(killed, NULL, "", 0, 10000, &res, err,
	    sizeof(err)), 0);
	assert_int_equal(res.signal, SIGKILL);
	hook_describe(&res, 10000, how, sizeof(how));
	assert_string_equal(how, "killed by signal 9");
	/* exec fails in the child: status 127, as a shell says. */
	assert_int_equal(hook_run(missing, NULL, "", 0, 10000, &res, err,
	    sizeof(err)), 0);
	assert_int_equal(res.status, 127);
	assert_int_equal(hook_run(relative, NULL, "", 0, 10000, &res, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "absolute path"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_input_and_variables),
		cmocka_unit_test(test_input_not_read),
		cmocka_unit_test(test_time_limit_takes_the_group),
		cmocka_unit_test(test_signal_and_missing_program),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Tests of src/freeze.c: the pre and post hooks run in order with their
 * phase; a post hook owed runs when its caller dies, even by SIGKILL,
 * and once only; when the runner itself is lost the caller runs it; a
 * failed pre hook still owes its post hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "freeze.h"

static char dir[] = "/tmp/ec2backup-freeze-XXXXXX";
static char log_path[128];
static char pre_script[256], post_script[256], fail_script[256];
static char *pre_argv[] = { "/bin/sh", "-c", pre_script, NULL };
static char *post_argv[] = { "/bin/sh", "-c", post_script, NULL };
static char *fail_argv[] = { "/bin/sh", "-c", fail_script, NULL };
static char env_volume[] = "EC2BACKUP_VOLUME=vol-0a";
static char *env[] = { env_volume, NULL };

static int
setup(void **state)
{
	(void)state;
	/* Orphans (a runner whose caller died) come back to this process. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0 || mkdtemp(dir) == NULL)
		return -1;
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	snprintf(pre_script, sizeof(pre_script), "echo \"$EC2BACKUP_PHASE "
	    "$EC2BACKUP_VOLUME\" >> %s", log_path);
	snprintf(post_script, sizeof(post_script), "echo \"$EC2BACKUP_PHASE "
	    "$EC2BACKUP_VOLUME\" >> %s", log_path);
	snprintf(fail_script, sizeof(fail_script), "echo \"$EC2BACKUP_PHASE "
	    "failing\" >> %s; exit 3", log_path);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *
slurp(void)
{
	static char buf[4096];
	FILE *f = fopen(log_path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	unlink(log_path);
	return buf;
}

static const struct freeze_hooks hooks = { pre_argv, post_argv, env, 10000,
    "policy prod, volume vol-0a" };

static void
test_in_order(void **state)
{
	struct freeze *f;
	struct hook_result res;
	char err[200];
	unsigned id, id2;
	bool ran;

	(void)state;
	f = freeze_start(-1, err, sizeof(err));
	assert_non_null(f);
	assert_int_equal(freeze_pre(f, &hooks, &id, &res, err, sizeof(err)),
	    0);
	assert_int_equal(res.status, 0);
	assert_string_equal(slurp(), "pre vol-0a\n");
	assert_int_equal(freeze_post(f, id, &res, &ran, err, sizeof(err)), 0);
	assert_true(ran);
	assert_int_equal(res.status, 0);
	assert_string_equal(slurp(), "post vol-0a\n");
	/* Once only. */
	assert_int_equal(freeze_post(f, id, &res, &ran, err, sizeof(err)), 0);
	assert_false(ran);
	/* A failed pre hook says so, and still owes its post hook. */
	{
		struct freeze_hooks h = hooks;
		h.pre = fail_argv;
		assert_int_equal(freeze_pre(f, &h, &id2, &res, err,
		    sizeof(err)), 0);
		assert_int_equal(res.status, 3);
		assert_int_equal(freeze_post(f, id2, &res, &ran, err,
		    sizeof(err)), 0);
		assert_true(ran);
		assert_string_equal(slurp(), "pre failing\npost vol-0a\n");
	}
	/* Owed at the end: paid by freeze_stop. */
	assert_int_equal(freeze_pre(f, &hooks, &id, &res, err, sizeof(err)),
	    0);
	freeze_stop(f);
	assert_string_equal(slurp(), "pre vol-0a\npost vol-0a\n");
}

/* The caller dies after the pre hook; its runner pays. */
static void
die_after_pre(int sig)
{
	pid_t pid;
	int status;
	int ready[2];
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[200];
		struct hook_result res;
		unsigned id;
		struct freeze *f = freeze_start(-1, err, sizeof(err));

		close(ready[0]);
		if (f == NULL || freeze_pre(f, &hooks, &id, &res, err,
		    sizeof(err)) != 0)
			_exit(1);
		(void)!write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	kill(pid, sig);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	/* The runner, an orphan now, is this process's (a subreaper): it
	 * exits once it has run the post hook. */
	assert_true(waitpid(-1, &status, 0) > 0);
	assert_true(WIFEXITED(status));
	assert_string_equal(slurp(), "pre vol-0a\npost vol-0a\n");
}

static void
test_sigkill(void **state)
{
	(void)state;
	die_after_pre(SIGKILL);
}

static void
test_sigterm(void **state)
{
	(void)state;
	die_after_pre(SIGTERM);
}

/* The runner is lost: the caller runs what is owed. */
static void
test_runner_lost(void **state)
{
	struct freeze *f;
	struct hook_result res;
	char err[200];
	unsigned id;
	bool ran;

	(void)state;
	f = freeze_start(-1, err, sizeof(err));
	assert_non_null(f);
	assert_int_equal(freeze_pre(f, &hooks, &id, &res, err, sizeof(err)),
	    0);
	assert_string_equal(slurp(), "pre vol-0a\n");
	kill(freeze_runner_pid(f), SIGKILL);
	assert_int_equal(freeze_post(f, id, &res, &ran, err, sizeof(err)), 0);
	assert_true(ran);
	assert_string_equal(slurp(), "post vol-0a\n");
	/* No runner to ask: no pre hook runs, so no post hook is owed. */
	assert_int_equal(freeze_pre(f, &hooks, &id, &res, err, sizeof(err)),
	    -1);
	freeze_stop(f);
	assert_string_equal(slurp(), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_sigkill),
		cmocka_unit_test(test_sigterm),
		cmocka_unit_test(test_runner_lost),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Running the operator's commands: notification hooks after a run (and,
 * later, freeze hooks around a snapshot).
 *
 * A hook is an argument list executed directly, never through a shell
 * unless the list names one.  It runs in a process group of its own, gets
 * its input on standard input and a few variables in its environment, and
 * is stopped with everything it started (the whole group, SIGTERM then
 * SIGKILL) when its time is up.  Its output goes to ec2backup's standard
 * error, so cron mails it with the rest.
 */
#ifndef EC2BACKUP_HOOK_H
#define EC2BACKUP_HOOK_H

#include <stddef.h>

/* How a hook ended. */
struct hook_result {
	int status;                /* exit status, or -1 */
	int signal;                /* the signal that ended it, or 0 */
	int timed_out;             /* it was stopped at its time limit */
};

/*
 * Runs argv (argv[0] an absolute path) with env (NULL-terminated
 * "NAME=value" strings added to ec2backup's environment) and input
 * (len bytes, may be empty) on its standard input, waiting at most
 * timeout_ms for it and everything in its process group.  Fills *res.
 * Returns 0 when it ran (whatever its status), or -1 with the reason in
 * err when it could not be started.
 */
int hook_run(char *const *argv, char *const *env, const char *input,
    size_t len, long timeout_ms, struct hook_result *res, char *err,
    size_t errlen);

/* "exit status 3", "killed by signal 9", "stopped after 60 s" for a log. */
void hook_describe(const struct hook_result *res, long timeout_ms, char *buf,
    size_t len);

#endif

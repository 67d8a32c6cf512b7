/*
 * Freeze hooks: pre_snapshot just before a create, post_snapshot just
 * after EC2 answers it.
 *
 * A post hook usually thaws something (a filesystem, a database), so it
 * must run once for every pre hook that ran, whatever happens to
 * ec2backup: an API failure, a timeout, a signal, even SIGKILL.  Both
 * hooks are therefore run by a separate process, the runner, started
 * before the first of them.  ec2backup asks it over a socket to run a pre
 * hook (which also makes the post hook owed) and later the post hook; the
 * runner runs each, in its own process group and with its time limit (see
 * hook.h), and answers.  When the socket closes with post hooks still
 * owed (ec2backup ended without asking for them), the runner runs them
 * and then exits.  It lives in a session of its own and ignores SIGINT,
 * SIGTERM and SIGHUP, so that what stops ec2backup does not stop the
 * thaw.  Should the runner itself be lost, ec2backup runs the post hooks
 * owed.
 */
#ifndef EC2BACKUP_FREEZE_H
#define EC2BACKUP_FREEZE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "hook.h"

/* Bounds on what one request may carry. */
#define FREEZE_ARGS_MAX 256
#define FREEZE_STRING_MAX 4096
#define FREEZE_MESSAGE_MAX (256 * 1024)

/* The hooks around one create.  Everything must stay valid until the
 * post hook has run (or freeze_stop). */
struct freeze_hooks {
	char *const *pre;          /* argv, or NULL */
	char *const *post;         /* argv, or NULL */
	char *const *env;          /* "NAME=value" strings, NULL-terminated */
	long timeout_ms;           /* for each of the two */
	const char *what;          /* "policy db, instance i-0abc", for the
				      runner's own messages */
};

struct freeze;

/*
 * Starts the runner.  It keeps keep_fd open (the run's lock, say, so no
 * other run starts while it thaws; -1 for none) and closes every other
 * descriptor but standard error.  Returns NULL with the reason in err.
 */
struct freeze *freeze_start(int keep_fd, char *err, size_t errlen);

/*
 * Runs h->pre (when there is one) and makes h->post owed under a new id
 * stored in *id.  Fills *res with how the pre hook ended (status 0 when
 * there is none).  Returns 0 when the pre hook ran, or -1 with the reason
 * in err when it could not (it may still have run: its post hook stays
 * owed either way).
 */
int freeze_pre(struct freeze *f, const struct freeze_hooks *h,
    unsigned *id, struct hook_result *res, char *err, size_t errlen);

/*
 * Runs the post hook owed under id, if any (*ran tells).  Returns 0, or
 * -1 with the reason in err when it could not be run.
 */
int freeze_post(struct freeze *f, unsigned id, struct hook_result *res,
    bool *ran, char *err, size_t errlen);

/* The runner's process id. */
pid_t freeze_runner_pid(const struct freeze *f);

/*
 * Ends the runner: post hooks still owed run now (none, normally), and
 * the runner is waited for.  NULL is allowed.
 */
void freeze_stop(struct freeze *f);

#endif

/*
 * Hooks: fork, a process group of its own, exec without a shell.  The
 * parent feeds standard input and waits on a pipe that the hook and
 * everything it starts inherit: when the last of them has exited the pipe
 * reads end-of-file, so "done" means the whole group, not just the first
 * process.  At the time limit the group gets SIGTERM, then SIGKILL two
 * seconds later.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"

#define GRACE_MS 2000

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child: never returns. */
static void
child(char *const *argv, char *const *env, int in, int done)
{
	setpgid(0, 0);
	if (dup2(in, STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		_exit(127);
	for (char *const *e = env; e != NULL && *e != NULL; e++)
		if (putenv(*e) != 0)
			_exit(127);
	/* Everything else closed, but the pipe that tells the parent when
	 * the last process of the group is gone. */
	for (int fd = 3; fd < 1024; fd++)
		if (fd != done)
			close(fd);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], argv);
	dprintf(STDERR_FILENO, "ec2backup: hook %s: %s\n", argv[0],
	    strerror(errno));
	_exit(127);
}

/* Waits for EOF on done (or the deadline), feeding input meanwhile.
 * Returns 1 when the group is gone, 0 at the deadline. */
static int
wait_group(int done, int *inp, const char *input, size_t len,
    long long until)
{
	size_t off = 0;

	for (;;) {
		int in = inp != NULL ? *inp : -1;
		struct pollfd p[2] = { { done, POLLIN, 0 }, { in, POLLOUT, 0 } };
		long long left = until - now_ms();
		char buf[256];
		int n;

		if (left <= 0)
			return 0;
		n = poll(p, in >= 0 ? 2 : 1, (int)(left > 1000 ? 1000 : left));
		if (n < 0 && errno != EINTR)
			return 0;
		if (n <= 0)
			continue;
		if (p[0].revents & (POLLIN | POLLHUP)) {
			ssize_t r = read(done, buf, sizeof(buf));
			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
				return 1;
		}
		if (in >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = off < len ? write(in, input + off, len - off) :
			    0;
			if (w > 0)
				off += (size_t)w;
			/* All written, or the hook does not read: done. */
			if (off >= len || w < 0) {
				close(in);
				*inp = -1;
			}
		}
	}
}

int
hook_run(char *const *argv, char *const *env, const char *input, size_t len,
    long timeout_ms, struct hook_result *res, char *err, size_t errlen)
{
	int in[2] = { -1, -1 }, done[2] = { -1, -1 }, wstatus = 0;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	long long until;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	if (argv == NULL || argv[0] == NULL || argv[0][0] != '/') {
		snprintf(err, errlen, "a hook must start with an absolute path");
		return -1;
	}
	if (pipe(in) != 0 || pipe(done) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(in[i], F_SETFD, FD_CLOEXEC);
		fcntl(done[i], F_SETFD, FD_CLOEXEC);
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		/* The "done" end the child keeps must survive exec. */
		fcntl(done[1], F_SETFD, 0);
		child(argv, env, in[0], done[1]);
	}
	setpgid(pid, pid);              /* whichever of us gets there first */
	close(in[0]);
	close(done[1]);
	in[0] = done[1] = -1;
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	/* A hook that does not read its input must not kill us. */
	sigaction(SIGPIPE, &ign, &old);
	until = now_ms() + timeout_ms;
	if (!wait_group(done[0], &in[1], input, len, until)) {
		res->timed_out = 1;
		kill(-pid, SIGTERM);
		if (!wait_group(done[0], NULL, NULL, 0, now_ms() + GRACE_MS)) {
			kill(-pid, SIGKILL);
			/* Gone once the last of them has closed the pipe. */
			wait_group(done[0], NULL, NULL, 0, now_ms() + GRACE_MS);
		}
	}
	if (in[1] >= 0)
		close(in[1]);
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	/* Anything of the group still there (it closed the pipe) goes. */
	kill(-pid, SIGKILL);
	sigaction(SIGPIPE, &old, NULL);
	if (WIFEXITED(wstatus))
		res->status = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		res->signal = WTERMSIG(wstatus);
	close(done[0]);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (done[i] >= 0)
			close(done[i]);
	}
	return -1;
}

void
hook_describe(const struct hook_result *res, long timeout_ms, char *buf,
    size_t len)
{
	if (res->timed_out)
		snprintf(buf, len, "stopped after %ld s, its time limit",
		    timeout_ms / 1000);
	else if (res->signal != 0)
		snprintf(buf, len, "killed by signal %d", res->signal);
	else
		snprintf(buf, len, "exit status %d", res->status);
}

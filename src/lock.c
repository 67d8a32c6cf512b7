/*
 * The run lock.  flock() rather than a pid file alone: a pid file
 * outlives a crash and then blocks every later run, where an flock dies
 * with its process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lock.h"

const char *
lock_default_path(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		snprintf(buf, len, "/run/lock/ec2backup.lock");
	else if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, len, "%s/ec2backup.lock", xdg);
	else
		snprintf(buf, len, "/tmp/ec2backup-%lu.lock",
		    (unsigned long)geteuid());
	return buf;
}

static long
read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int
lock_acquire(const char *path, long *holder, char *err, size_t errlen)
{
	char pid[32];
	int fd, n;

	*holder = 0;
	/* O_NOFOLLOW: in a shared directory, a planted symlink must not
	 * make us truncate someone else's file. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open lock file %s: %s", path,
		    strerror(errno));
		return -2;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		if (e == EWOULDBLOCK) {
			*holder = read_pid(fd);
			close(fd);
			return -1;
		}
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
		close(fd);
		return -2;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		snprintf(err, errlen, "cannot write lock file %s: %s", path,
		    strerror(errno));
		close(fd);
		return -2;
	}
	return fd;
}

void
lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}

/*
 * The run lock.  flock() rather than a pid file alone: a pid file
 * outlives a crash and then blocks every later run, where an flock dies
 * with its process.
 *
 * Whoever can create or hold the lock file can stop every backup, so the
 * default lives in a directory only the user who runs ec2backup can write
 * (created on first use), and a lock file owned by another user is
 * refused rather than waited for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock.h"

const char *
lock_default_path(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		snprintf(buf, len, "%s/ec2backup.lock", LOCK_ROOT_DIR);
	else if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, len, "%s/ec2backup.lock", xdg);
	else
		snprintf(buf, len, "/tmp/ec2backup-%lu/ec2backup.lock",
		    (unsigned long)geteuid());
	return buf;
}

/*
 * The directory of path: created (mode 0755 for root's, 0700 otherwise)
 * when it is the default one and missing, and refused when someone else
 * owns it or others may write to it.
 */
static int
check_dir(const char *path, char *err, size_t errlen)
{
	char dir[1024];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (lstat(dir, &st) != 0 && errno == ENOENT) {
		char deflt[1024];
		lock_default_path(deflt, sizeof(deflt));
		if (strcmp(deflt, path) == 0 && mkdir(dir, geteuid() == 0 ?
		    0755 : 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", dir,
			    strerror(errno));
			return -1;
		}
	}
	if (lstat(dir, &st) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return -1;
	}
	/* A shared directory (sticky, like /tmp) is fine for an explicit
	 * path; the file's owner is checked below. */
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen, "%s belongs to user %lu, not to this "
		    "user", dir, (unsigned long)st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen, "%s can be written by other users, who "
		    "could take the lock away", dir);
		return -1;
	}
	return 0;
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
	struct stat st;
	char pid[32];
	int fd, n;

	*holder = 0;
	if (check_dir(path, err, errlen) != 0)
		return -2;
	/* O_NOFOLLOW: in a shared directory, a planted symlink must not
	 * make us truncate someone else's file. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
	    0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open lock file %s: %s", path,
		    strerror(errno));
		return -2;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid()) {
		snprintf(err, errlen, "lock file %s is %s; remove it, or choose "
		    "another with --lock-file", path, !S_ISREG(st.st_mode) ?
		    "not a regular file" : "owned by another user");
		close(fd);
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

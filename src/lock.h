/*
 * One run at a time: an advisory lock (flock) on a small file that also
 * records the holder's pid, so a second run can say who holds it.  The
 * kernel drops the lock when the holder exits, however it exits, so a
 * killed run never leaves a stale lock behind.
 */
#ifndef EC2BACKUP_LOCK_H
#define EC2BACKUP_LOCK_H

#include <stddef.h>

/* Root's lock directory: only root can write it (the systemd unit's
 * RuntimeDirectory). */
#define LOCK_ROOT_DIR "/run/ec2backup"

/*
 * The default lock file: /run/ec2backup/ec2backup.lock for root, else
 * $XDG_RUNTIME_DIR/ec2backup.lock, else /tmp/ec2backup-UID/ec2backup.lock
 * (the directory made private to the user).  Writes it into buf and
 * returns buf.
 */
const char *lock_default_path(char *buf, size_t len);

/*
 * Takes the lock at path without waiting, creating the default directory
 * when it is missing.  Refuses a directory another user owns or may write
 * to (unless sticky) and a lock file that is not a regular file owned by
 * this user.  Returns a descriptor (>= 0) that holds it until
 * lock_release; -1 when another process holds it (its pid in *holder, or
 * 0 if unknown); -2 on another error, with the reason in err.
 */
int lock_acquire(const char *path, long *holder, char *err, size_t errlen);

void lock_release(int fd);

#endif

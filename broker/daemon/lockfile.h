/*
 * lockfile.h -- one daemon per data directory.
 *
 * The lock is an flock(2) on <data_dir>/LOCK, which also records the
 * holder's pid for the message the next daemon prints.  The kernel drops the
 * lock when the process exits however it exits (kill -9 included), so a
 * stale file never blocks a restart; the file itself stays.
 */
#ifndef VANE_DAEMON_LOCKFILE_H
#define VANE_DAEMON_LOCKFILE_H

#define LOCKFILE_NAME "LOCK"

/*
 * Takes the lock of dir.  Returns a file descriptor (>= 0) to hand to
 * lockfile_release(), or VANE_ELOCKED (another process holds it) or -errno,
 * with *errmsg (freed by the caller) saying what and who.
 */
int lockfile_acquire(const char *dir, char **errmsg);

void lockfile_release(int fd);

#endif

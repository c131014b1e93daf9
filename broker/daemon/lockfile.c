/*
 * lockfile.c -- the data directory's lock (see lockfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "daemon/lockfile.h"

/* Reads the pid the holder wrote, or 0 when there is none to read. */
static long read_holder(int fd)
{
    char text[32];
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

    if (n <= 0)
        return 0;
    text[n] = '\0';
    return strtol(text, NULL, 10);
}

static int write_pid(int fd)
{
    char text[32];
    int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());

    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len)
        return -errno;
    return 0;
}

int lockfile_acquire(const char *dir, char **errmsg)
{
    char *path = vane_asprintf("%s/%s", dir, LOCKFILE_NAME);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int err;

    if (fd < 0) {
        err = -errno;
        *errmsg = vane_asprintf("cannot open lock file %s: %s", path, strerror(-err));
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        err = errno == EWOULDBLOCK ? VANE_ELOCKED : -errno;
        if (err == VANE_ELOCKED)
            *errmsg = vane_asprintf("data directory %s is in use by another vaned (pid %ld); "
                                    "lock file %s",
                                    dir, read_holder(fd), path);
        else
            *errmsg = vane_asprintf("cannot lock %s: %s", path, strerror(-err));
        close(fd);
        goto out;
    }
    if ((err = write_pid(fd)) != 0) {
        *errmsg = vane_asprintf("cannot write lock file %s: %s", path, strerror(-err));
        close(fd);
        goto out;
    }
    err = fd;
out:
    vane_free(path);
    return err;
}

void lockfile_release(int fd)
{
    if (fd >= 0)
        close(fd);
}

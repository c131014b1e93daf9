/*
 * write_all.c -- a whole buffer to a file descriptor (see write_all.h).
 */
#include <errno.h>
#include <unistd.h>

#include "write_all.h"

int write_all(int fd, const void *bytes, size_t len)
{
    const char *next = bytes;

    while (len > 0) {
        ssize_t n = write(fd, next, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        next += n;
        len -= (size_t)n;
    }
    return 0;
}

int pwrite_all(int fd, const void *bytes, size_t len, off_t offset)
{
    const char *next = bytes;

    while (len > 0) {
        ssize_t n = pwrite(fd, next, len, offset);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        next += n;
        offset += n;
        len -= (size_t)n;
    }
    return 0;
}

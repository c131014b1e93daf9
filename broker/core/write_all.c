/*
 * write_all.c -- whole buffers to a file descriptor, at its offset or at
 * a given one (see write_all.h).
 */
#include <errno.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include "write_all.h"

#ifndef IOV_MAX /* limits.h names it only with _XOPEN_SOURCE */
#define IOV_MAX 1024
#endif

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

int pwritev_all(int fd, struct iovec *iov, int n, off_t offset)
{
    while (n > 0) {
        ssize_t done = pwritev(fd, iov, n > IOV_MAX ? IOV_MAX : n, offset);

        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0)
            return -errno;
        offset += done;
        while (n > 0 && (size_t)done >= iov->iov_len) {
            done -= (ssize_t)iov->iov_len;
            iov++, n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= (size_t)done;
        }
    }
    return 0;
}

int pwrite_all(int fd, const void *bytes, size_t len, off_t offset)
{
    struct iovec iov = {(void *)bytes, len};

    return pwritev_all(fd, &iov, 1, offset);
}

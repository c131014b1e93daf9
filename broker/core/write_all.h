/*
 * write_all.h -- writing a whole buffer to a file descriptor: the store's
 * segments and indexes, and the connectors that write files (sink-stdout's
 * lines, source-git's state), which compile this file into their common
 * library (it depends on nothing else of the broker).
 */
#ifndef VANE_CORE_WRITE_ALL_H
#define VANE_CORE_WRITE_ALL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Writes the len bytes to fd, again after a short write or EINTR, so a
 * line goes out with one write(2) whenever the kernel takes it whole.
 * Returns 0 or -errno.
 */
int write_all(int fd, const void *bytes, size_t len);

/* As write_all(), at offset in the file (the descriptor's own offset stays). */
int pwrite_all(int fd, const void *bytes, size_t len, off_t offset);

/* The n buffers at offset, again after short writes (iov is used up); 0 or -errno. */
struct iovec;
int pwritev_all(int fd, struct iovec *iov, int n, off_t offset);

#endif

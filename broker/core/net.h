/*
 * net.h -- socket address helpers shared by the configuration and the
 * listeners.
 */
#ifndef VANE_CORE_NET_H
#define VANE_CORE_NET_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Parses a numeric listen address, "127.0.0.1:8080" or "[::1]:8080", into
 * addr.  Port 0 asks the kernel for a free port.  Returns 0 or -EINVAL.
 */
int vane_net_parse_addr(const char *text, struct sockaddr_storage *addr);

/* Formats addr as "127.0.0.1:8080" or "[::1]:8080" into out. */
void vane_net_format_addr(const struct sockaddr *addr, char *out, size_t size);

#endif

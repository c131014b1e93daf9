/*
 * net.c -- parse and format "host:port" socket addresses (see net.h).
 *
 * Only numeric hosts are accepted: a broker's listen address should not
 * depend on name resolution at start.  The conversions are libuv's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "core/net.h"

static int parse_port(const char *text, int *port)
{
    char *end;
    long v;

    if (*text == '\0')
        return -EINVAL;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > 65535)
        return -EINVAL;
    *port = (int)v;
    return 0;
}

int vane_net_parse_addr(const char *text, struct sockaddr_storage *addr)
{
    char host[64];
    const char *colon;
    size_t hostlen;
    int port;

    memset(addr, 0, sizeof(*addr));
    if (text[0] == '[') {
        const char *close = strchr(text, ']');

        if (close == NULL || close[1] != ':')
            return -EINVAL;
        hostlen = (size_t)(close - text - 1);
        if (hostlen == 0 || hostlen >= sizeof(host))
            return -EINVAL;
        memcpy(host, text + 1, hostlen);
        host[hostlen] = '\0';
        if (parse_port(close + 2, &port) != 0)
            return -EINVAL;
        return uv_ip6_addr(host, port, (struct sockaddr_in6 *)addr) == 0 ? 0 : -EINVAL;
    }
    colon = strrchr(text, ':');
    if (colon == NULL)
        return -EINVAL;
    hostlen = (size_t)(colon - text);
    if (hostlen == 0 || hostlen >= sizeof(host))
        return -EINVAL;
    memcpy(host, text, hostlen);
    host[hostlen] = '\0';
    if (parse_port(colon + 1, &port) != 0)
        return -EINVAL;
    return uv_ip4_addr(host, port, (struct sockaddr_in *)addr) == 0 ? 0 : -EINVAL;
}

void vane_net_format_addr(const struct sockaddr *addr, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN];

    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;

        uv_ip6_name(in6, host, sizeof(host));
        snprintf(out, size, "[%s]:%d", host, ntohs(in6->sin6_port));
    } else {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;

        uv_ip4_name(in, host, sizeof(host));
        snprintf(out, size, "%s:%d", host, ntohs(in->sin_port));
    }
}

/*
 * query.c -- walking a query string (see query.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/percent.h"
#include "gateway/query.h"

/* Decodes into a C string; a NUL, encoded or not, is refused. */
static int decode(const char *in, size_t len, char *out, size_t cap)
{
    long n = vane_percent_decode(in, len, out, cap - 1);

    if (n < 0 || memchr(out, '\0', (size_t)n) != NULL)
        return -1;
    out[n] = '\0';
    return 0;
}

int query_next(const h2o_req_t *req, size_t *cursor, struct query_param *param)
{
    const char *start, *end, *p, *amp, *stop, *eq;

    if (req->query_at == SIZE_MAX)
        return 0;
    start = req->path.base + req->query_at + 1;
    end = req->path.base + req->path.len;
    p = start + *cursor;
    if (p >= end)
        return 0;
    amp = memchr(p, '&', (size_t)(end - p));
    stop = amp ? amp : end;
    eq = memchr(p, '=', (size_t)(stop - p));
    if (eq == NULL || decode(p, (size_t)(eq - p), param->name, sizeof(param->name)) != 0 ||
        decode(eq + 1, (size_t)(stop - eq - 1), param->value, sizeof(param->value)) != 0)
        return -1;
    *cursor = (size_t)(stop - start) + 1;
    return 1;
}

bool query_u64(const char *text, uint64_t max, uint64_t *out)
{
    char *end;

    errno = 0;
    *out = strtoull(text, &end, 10);
    return *text >= '0' && *text <= '9' && *end == '\0' && errno == 0 && *out <= max;
}

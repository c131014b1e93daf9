/*
 * buf.c -- vane_buf, a growable byte string (see buf.h).
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"

void vane_buf_reserve(struct vane_buf *buf, size_t extra)
{
    size_t need = buf->len + extra + 1;
    size_t cap;

    if (need <= buf->cap)
        return;
    cap = buf->cap ? buf->cap : 64;
    while (cap < need)
        cap *= 2;
    buf->data = vane_realloc(buf->data, cap);
    buf->data[buf->len] = '\0';
    buf->cap = cap;
}

void vane_buf_append(struct vane_buf *buf, const void *data, size_t len)
{
    vane_buf_reserve(buf, len);
    if (len > 0)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
}

void vane_buf_append_str(struct vane_buf *buf, const char *s)
{
    vane_buf_append(buf, s, strlen(s));
}

void vane_buf_vappendf(struct vane_buf *buf, const char *fmt, va_list ap)
{
    va_list again;
    int n;

    va_copy(again, ap);
    vane_buf_reserve(buf, 0);
    n = vsnprintf(buf->data + buf->len, buf->cap - buf->len, fmt, ap);
    if (n >= 0 && (size_t)n >= buf->cap - buf->len) {
        vane_buf_reserve(buf, (size_t)n);
        n = vsnprintf(buf->data + buf->len, buf->cap - buf->len, fmt, again);
    }
    va_end(again);
    if (n > 0)
        buf->len += (size_t)n;
}

void vane_buf_appendf(struct vane_buf *buf, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vane_buf_vappendf(buf, fmt, ap);
    va_end(ap);
}

void vane_buf_reset(struct vane_buf *buf)
{
    buf->len = 0;
    if (buf->data != NULL)
        buf->data[0] = '\0';
}

char *vane_buf_detach(struct vane_buf *buf)
{
    char *data;

    vane_buf_reserve(buf, 0);
    data = buf->data;
    buf->data = NULL;
    buf->len = buf->cap = 0;
    return data;
}

void vane_buf_free(struct vane_buf *buf)
{
    vane_free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

int vane_buf_feed(struct vane_buf *pending, const char *bytes, size_t len,
                  vane_buf_deliver_fn deliver, void *ctx)
{
    long used;

    if (pending->len == 0) {
        if ((used = deliver(ctx, bytes, len)) < 0)
            return (int)used;
        vane_buf_append(pending, bytes + used, len - (size_t)used);
        return 0;
    }
    vane_buf_append(pending, bytes, len);
    if ((used = deliver(ctx, pending->data, pending->len)) < 0)
        return (int)used;
    memmove(pending->data, pending->data + used, pending->len - (size_t)used);
    pending->len -= (size_t)used;
    return 0;
}

/*
 * strbuf.c -- a growable byte string for the shipped connectors (see strbuf.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static void out_of_memory(size_t size)
{
    fprintf(stderr, "vane connector: out of memory (%zu bytes)\n", size);
    abort();
}

void *strbuf_xmalloc(size_t size)
{
    void *p = malloc(size > 0 ? size : 1);

    if (p == NULL)
        out_of_memory(size);
    return p;
}

void *strbuf_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count > 0 ? count : 1, size > 0 ? size : 1);

    if (p == NULL)
        out_of_memory(count * size);
    return p;
}

char *strbuf_xstrdup(const char *s)
{
    size_t len = strlen(s) + 1;

    return memcpy(strbuf_xmalloc(len), s, len);
}

/* Room for extra more bytes and the NUL; capacity doubles. */
static void reserve(struct strbuf *buf, size_t extra)
{
    size_t need = buf->len + extra + 1, cap = buf->cap > 0 ? buf->cap : 64;
    char *grown;

    if (need <= buf->cap)
        return;
    while (cap < need)
        cap *= 2;
    grown = realloc(buf->data, cap);
    if (grown == NULL)
        out_of_memory(cap);
    buf->data = grown;
    buf->cap = cap;
}

void strbuf_append(struct strbuf *buf, const void *bytes, size_t len)
{
    reserve(buf, len);
    if (len > 0)
        memcpy(buf->data + buf->len, bytes, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
}

void strbuf_append_str(struct strbuf *buf, const char *s)
{
    strbuf_append(buf, s, strlen(s));
}

void strbuf_appendf(struct strbuf *buf, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    reserve(buf, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
}

void strbuf_reset(struct strbuf *buf)
{
    buf->len = 0;
    if (buf->data != NULL)
        buf->data[0] = '\0';
}

char *strbuf_detach(struct strbuf *buf)
{
    char *bytes = buf->data != NULL ? buf->data : strbuf_xstrdup("");

    buf->data = NULL;
    buf->len = buf->cap = 0;
    return bytes;
}

void strbuf_free(struct strbuf *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

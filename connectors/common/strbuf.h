/*
 * strbuf.h -- a growable byte string for the shipped connectors.
 *
 * Connectors link nothing of the broker (the SDK is their only interface),
 * so they carry this small buffer of their own.  The bytes are always
 * followed by a NUL that len does not count, so a buffer of text is also a
 * C string.  A zeroed struct (STRBUF_INIT) is empty; strbuf_free() returns
 * it to that state.  Running out of memory aborts the worker process, as
 * the broker's allocator does: a connector instance cannot go on without
 * memory, and the engine restarts it.
 */
#ifndef VANE_CONNECTORS_STRBUF_H
#define VANE_CONNECTORS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
    char *data;
    size_t len;
    size_t cap;
};

#define STRBUF_INIT {NULL, 0, 0}

void strbuf_append(struct strbuf *buf, const void *bytes, size_t len);
void strbuf_append_str(struct strbuf *buf, const char *s);
void strbuf_appendf(struct strbuf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer but keeps its memory. */
void strbuf_reset(struct strbuf *buf);
/* Hands the bytes (malloc'd, NUL-terminated) to the caller and empties buf. */
char *strbuf_detach(struct strbuf *buf);
void strbuf_free(struct strbuf *buf);

/* malloc/strdup that abort the process when memory runs out. */
void *strbuf_xmalloc(size_t size);
void *strbuf_xcalloc(size_t count, size_t size);
char *strbuf_xstrdup(const char *s);

#endif

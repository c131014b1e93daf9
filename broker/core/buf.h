/*
 * buf.h -- vane_buf, a growable byte string.
 *
 * Holds bytes (not necessarily text) with a length and a capacity; the bytes
 * are always followed by a NUL that is not counted in len, so a buffer that
 * holds text can be passed where a C string is expected.  A zeroed struct
 * (VANE_BUF_INIT) is an empty buffer; vane_buf_free() returns it to that
 * state.  Growth doubles, so appending n bytes one at a time is O(n).
 */
#ifndef VANE_CORE_BUF_H
#define VANE_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct vane_buf {
    char *data;
    size_t len;
    size_t cap;
};

#define VANE_BUF_INIT {NULL, 0, 0}

/* Makes room for at least extra more bytes (plus the trailing NUL). */
void vane_buf_reserve(struct vane_buf *buf, size_t extra);
void vane_buf_append(struct vane_buf *buf, const void *data, size_t len);
void vane_buf_append_str(struct vane_buf *buf, const char *s);
void vane_buf_appendf(struct vane_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void vane_buf_vappendf(struct vane_buf *buf, const char *fmt, va_list ap);
/* Empties the buffer but keeps its memory for reuse. */
void vane_buf_reset(struct vane_buf *buf);
/* Hands the bytes to the caller (who frees them with vane_free()) and empties buf. */
char *vane_buf_detach(struct vane_buf *buf);
void vane_buf_free(struct vane_buf *buf);

/*
 * Reassembling a stream's reads into whole messages (frames): deliver(ctx,
 * bytes, len) takes the whole messages at the start of bytes and returns
 * the bytes it used, or a negative error.  vane_buf_feed() hands it a read:
 * straight from bytes when pending is empty (no copy unless a message is
 * cut), else after the pending bytes; what deliver leaves stays in pending
 * for the next read.  Returns 0 or deliver's error.
 */
typedef long (*vane_buf_deliver_fn)(void *ctx, const char *bytes, size_t len);
int vane_buf_feed(struct vane_buf *pending, const char *bytes, size_t len,
                  vane_buf_deliver_fn deliver, void *ctx);

#endif

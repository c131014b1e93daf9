/*
 * wire.h -- the frames the broker and a connector worker process exchange
 * over their socket (engine.h has the whole picture).
 *
 * A frame is a 16-byte header and a payload:
 *
 *     0  u32 length   payload bytes that follow the header
 *     4  u8  type     enum wire_type
 *     5  u8  flags    0
 *     6  u16 zero
 *     8  u64 seq      pairs an answer with its request
 *
 * little-endian, as the store's records are.  Events travel in the store's
 * record format (store/record.h), so the worker and the broker encode and
 * decode them with the same code as the segments do; an EMIT or DELIVER
 * payload is exactly one record.  Other payloads are built from fields: a
 * u32 or u64, or bytes (a u32 length then the bytes), in a fixed order per
 * type, written by wire_put_* into a vane_buf and read back by wire_get_*
 * from a struct wire_cursor that reports running off the end instead of
 * reading past it.
 *
 * Frames are read from a libuv stream by struct wire_reader, which gathers
 * the bytes of partial reads and hands over whole frames; a frame longer
 * than WIRE_MAX_FRAME is refused (the peer is broken or hostile: the
 * caller closes the connection).
 */
#ifndef VANE_ENGINE_WIRE_H
#define VANE_ENGINE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/buf.h"
#include "vane/plugin.h"

#define WIRE_HEADER_SIZE 16
#define WIRE_MAX_FRAME (32u << 20)

/* Values travel between processes of one build; still, append only. */
enum wire_type {
    WIRE_INIT = 1,         /* b->w: u32 abi, bytes plugin file, bytes instance name, bytes options JSON */
    WIRE_READY = 2,        /* w->b: empty */
    WIRE_FAILED = 3,       /* w->b: bytes why; the worker exits after it */
    WIRE_EMIT = 4,         /* w->b: one record */
    WIRE_EMITTED = 5,      /* b->w: u32 status (as i32), u32 eventlog, u64 offset */
    WIRE_DELIVER = 6,      /* b->w: one record */
    WIRE_ACK = 7,          /* w->b: u32 status (as i32), bytes message */
    WIRE_HTTP_REQUEST = 8, /* b->w: wire_put_http_request() */
    WIRE_HTTP_REPLY = 9,   /* w->b: u32 status, u32 header count, bytes per header line, bytes body */
    WIRE_STOP = 10,        /* b->w: finish and exit */
    WIRE_METRIC = 11,      /* w->b: bytes name, u64 delta */
};

struct wire_frame {
    enum wire_type type;
    uint64_t seq;
    const uint8_t *payload; /* valid during the callback only */
    uint32_t length;
};

/* Appends a frame with the given payload to out. */
void wire_frame_append(struct vane_buf *out, enum wire_type type, uint64_t seq,
                       const void *payload, size_t length);

/* Fields of a payload. */
void wire_put_u32(struct vane_buf *out, uint32_t v);
void wire_put_u64(struct vane_buf *out, uint64_t v);
void wire_put_bytes(struct vane_buf *out, const void *bytes, size_t len);
void wire_put_str(struct vane_buf *out, const char *s);

struct wire_cursor {
    const uint8_t *at, *end;
    bool short_read; /* a read went past the end: every later read gives zero */
};

void wire_cursor_init(struct wire_cursor *c, const struct wire_frame *frame);
uint32_t wire_get_u32(struct wire_cursor *c);
uint64_t wire_get_u64(struct wire_cursor *c);
/* The bytes in place (not NUL-terminated); len 0 and NULL on a short read. */
const char *wire_get_bytes(struct wire_cursor *c, size_t *len);

/* An HTTP request: method, path, query, remote address, headers, body. */
void wire_put_http_request(struct vane_buf *out, const struct vane_http_request *req);
/*
 * Reads one back into req, whose strings point into the frame (method,
 * path, query and remote_addr are copied NUL-terminated into strings, 4 of
 * them, each freed by the caller with vane_free()); *headers is allocated
 * (vane_free()).  Returns 0 or -EPROTO.
 */
int wire_get_http_request(struct wire_cursor *c, struct vane_http_request *req,
                          struct vane_http_header **headers, char *strings[4]);

/* Called per whole frame; returning non-zero stops reading (the caller closes). */
typedef int (*wire_frame_cb)(void *arg, const struct wire_frame *frame);

struct wire_reader {
    struct vane_buf pending; /* bytes of a frame not yet whole */
    wire_frame_cb on_frame;
    void *arg;
};

void wire_reader_init(struct wire_reader *r, wire_frame_cb on_frame, void *arg);
/*
 * Feeds bytes read from the stream; calls on_frame per whole frame.
 * Returns 0, -EPROTO for a frame over WIRE_MAX_FRAME, or what on_frame
 * returned when it stopped.
 */
int wire_reader_feed(struct wire_reader *r, const char *bytes, size_t len);
void wire_reader_free(struct wire_reader *r);

/* libuv's alloc_cb for the streams a wire_reader reads: a fresh 64 KiB buffer. */
void wire_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);

/*
 * Writes out's bytes to stream and empties out (the bytes are handed to the
 * write, which frees them when done).  Returns 0 or a libuv error.
 */
int wire_write(uv_stream_t *stream, struct vane_buf *out);

#endif

/*
 * wire.c -- framing between the broker and connector workers (see wire.h).
 */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/endian.h"
#include "engine/wire.h"

#define READ_CHUNK (64u << 10)

void wire_frame_append(struct vane_buf *out, enum wire_type type, uint64_t seq,
                       const void *payload, size_t length)
{
    uint8_t header[WIRE_HEADER_SIZE] = {0};

    vane_put_le(header, length, 4);
    header[4] = (uint8_t)type;
    vane_put_le(header + 8, seq, 8);
    vane_buf_append(out, header, sizeof(header));
    if (length > 0)
        vane_buf_append(out, payload, length);
}

void wire_put_u32(struct vane_buf *out, uint32_t v)
{
    uint8_t b[4];

    vane_put_le(b, v, 4);
    vane_buf_append(out, b, 4);
}

void wire_put_u64(struct vane_buf *out, uint64_t v)
{
    uint8_t b[8];

    vane_put_le(b, v, 8);
    vane_buf_append(out, b, 8);
}

void wire_put_bytes(struct vane_buf *out, const void *bytes, size_t len)
{
    wire_put_u32(out, (uint32_t)len);
    if (len > 0)
        vane_buf_append(out, bytes, len);
}

void wire_put_str(struct vane_buf *out, const char *s)
{
    wire_put_bytes(out, s, s ? strlen(s) : 0);
}

void wire_cursor_init(struct wire_cursor *c, const struct wire_frame *frame)
{
    c->at = frame->payload;
    c->end = frame->payload + frame->length;
    c->short_read = false;
}

/* n bytes at the cursor, or NULL (and short_read) when fewer are left. */
static const uint8_t *take(struct wire_cursor *c, size_t n)
{
    const uint8_t *p = c->at;

    if (c->short_read || (size_t)(c->end - c->at) < n) {
        c->short_read = true;
        return NULL;
    }
    c->at += n;
    return p;
}

uint32_t wire_get_u32(struct wire_cursor *c)
{
    const uint8_t *p = take(c, 4);

    return p ? (uint32_t)vane_get_le(p, 4) : 0;
}

uint64_t wire_get_u64(struct wire_cursor *c)
{
    const uint8_t *p = take(c, 8);

    return p ? vane_get_le(p, 8) : 0;
}

const char *wire_get_bytes(struct wire_cursor *c, size_t *len)
{
    uint32_t n = wire_get_u32(c);
    const uint8_t *p = take(c, n);

    *len = p ? n : 0;
    return (const char *)p;
}

void wire_put_http_request(struct vane_buf *out, const struct vane_http_request *req)
{
    wire_put_str(out, req->method);
    wire_put_str(out, req->path);
    wire_put_str(out, req->query);
    wire_put_str(out, req->remote_addr);
    wire_put_u32(out, (uint32_t)req->header_count);
    for (size_t i = 0; i < req->header_count; i++) {
        wire_put_bytes(out, req->headers[i].name, req->headers[i].name_len);
        wire_put_bytes(out, req->headers[i].value, req->headers[i].value_len);
    }
    wire_put_bytes(out, req->body, req->body_len);
}

int wire_get_http_request(struct wire_cursor *c, struct vane_http_request *req,
                          struct vane_http_header **headers, char *strings[4])
{
    size_t len, count;
    const char *p;

    for (int i = 0; i < 4; i++) {
        p = wire_get_bytes(c, &len);
        strings[i] = vane_strndup(p ? p : "", len);
    }
    count = wire_get_u32(c);
    if (count > (size_t)(c->end - c->at) / 8) /* each header takes 8 bytes at least */
        count = 0, c->short_read = true;
    *headers = vane_calloc(count + 1, sizeof(**headers));
    for (size_t i = 0; i < count; i++) {
        (*headers)[i].name = wire_get_bytes(c, &(*headers)[i].name_len);
        (*headers)[i].value = wire_get_bytes(c, &(*headers)[i].value_len);
    }
    *req = (struct vane_http_request){.method = strings[0], .path = strings[1],
                                      .query = strings[2], .remote_addr = strings[3],
                                      .headers = *headers, .header_count = count};
    req->body = wire_get_bytes(c, &req->body_len);
    return c->short_read ? -EPROTO : 0;
}

void wire_reader_init(struct wire_reader *r, wire_frame_cb on_frame, void *arg)
{
    memset(r, 0, sizeof(*r));
    r->on_frame = on_frame;
    r->arg = arg;
}

/* Hands over every whole frame at the start of bytes; returns the bytes used,
 * or < 0 (a vane_buf_deliver_fn). */
static long deliver_frames(void *ctx, const char *chars, size_t len)
{
    struct wire_reader *r = ctx;
    const uint8_t *bytes = (const uint8_t *)chars;
    size_t used = 0;

    while (len - used >= WIRE_HEADER_SIZE) {
        const uint8_t *h = bytes + used;
        uint32_t length = (uint32_t)vane_get_le(h, 4);
        struct wire_frame frame;
        int rc;

        if (length > WIRE_MAX_FRAME)
            return -EPROTO;
        if (len - used - WIRE_HEADER_SIZE < length)
            break;
        frame = (struct wire_frame){(enum wire_type)h[4], vane_get_le(h + 8, 8),
                                    h + WIRE_HEADER_SIZE, length};
        used += WIRE_HEADER_SIZE + length;
        if ((rc = r->on_frame(r->arg, &frame)) != 0)
            return rc;
    }
    return (long)used;
}

int wire_reader_feed(struct wire_reader *r, const char *bytes, size_t len)
{
    return vane_buf_feed(&r->pending, bytes, len, deliver_frames, r);
}

void wire_reader_free(struct wire_reader *r)
{
    vane_buf_free(&r->pending);
}

void wire_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    (void)suggested;
    buf->base = vane_malloc(READ_CHUNK);
    buf->len = READ_CHUNK;
}

struct wire_write_req {
    uv_write_t req;
    char *bytes;
};

static void on_written(uv_write_t *req, int status)
{
    struct wire_write_req *w = (struct wire_write_req *)req;

    (void)status; /* a failed write shows as the peer's end: the reader handles it */
    vane_free(w->bytes);
    vane_free(w);
}

int wire_write(uv_stream_t *stream, struct vane_buf *out)
{
    struct wire_write_req *w;
    uv_buf_t buf;
    size_t len = out->len;
    int rc;

    if (len == 0)
        return 0;
    w = VANE_NEW(w);
    w->bytes = vane_buf_detach(out);
    buf = uv_buf_init(w->bytes, (unsigned)len);
    if ((rc = uv_write(&w->req, stream, &buf, 1, on_written)) != 0) {
        vane_free(w->bytes);
        vane_free(w);
    }
    return rc;
}

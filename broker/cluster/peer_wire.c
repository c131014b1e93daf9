/*
 * peer_wire.c -- the peer port's hello and frames, encoded and read back
 * (the layout is in peer_wire.h).
 *
 * The reader copies nothing in the common case: whole frames are handed
 * over straight from the bytes just read, and only the tail of a frame cut
 * by the end of a read is kept until the rest arrives (as the engine's
 * wire_reader does).  A frame's header is checked as soon as it is whole,
 * so a length over the limit is refused before its payload is gathered.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "cluster/peer_wire.h"
#include "core/endian.h"

const char *peer_frame_type_name(enum peer_frame_type type)
{
    switch (type) {
    case PEER_OPEN: return "OPEN";
    case PEER_OPENED: return "OPENED";
    case PEER_REFUSED: return "REFUSED";
    case PEER_DATA: return "DATA";
    case PEER_CLOSE: return "CLOSE";
    }
    return "?";
}

size_t peer_wire_hello(char *out, uint64_t node_id, const char *address)
{
    size_t len = strlen(address);

    if (len == 0 || len > PEER_ADDRESS_MAX)
        return 0;
    memcpy(out, PEER_MAGIC, PEER_MAGIC_SIZE);
    vane_put_le(out + 8, PEER_VERSION, 2);
    vane_put_le(out + 10, node_id, 8);
    vane_put_le(out + 18, len, 2);
    memcpy(out + PEER_HELLO_FIXED, address, len);
    return PEER_HELLO_FIXED + len;
}

void peer_wire_header(char *out, uint32_t channel, enum peer_frame_type type, uint32_t length)
{
    vane_put_le(out, channel, 4);
    out[4] = (char)type;
    out[5] = out[6] = out[7] = 0;
    vane_put_le(out + 8, length, 4);
}

void peer_reader_init(struct peer_reader *r, peer_hello_cb on_hello, peer_frame_cb on_frame,
                      void *arg)
{
    memset(r, 0, sizeof(*r));
    r->on_hello = on_hello;
    r->on_frame = on_frame;
    r->arg = arg;
}

static int refuse(struct peer_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Says why the bytes break the protocol; returns -EPROTO. */
static int refuse(struct peer_reader *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
    return -EPROTO;
}

/*
 * Reads the hello at the start of bytes: returns its length once whole and
 * handed over, 0 while incomplete, or < 0.
 */
static ssize_t read_hello(struct peer_reader *r, const char *bytes, size_t len)
{
    struct peer_hello hello;
    size_t address_len;
    int rc;

    if (len >= PEER_MAGIC_SIZE && memcmp(bytes, PEER_MAGIC, PEER_MAGIC_SIZE) != 0)
        return refuse(r, "hello: magic is not \"%s\"", PEER_MAGIC);
    if (len < PEER_HELLO_FIXED)
        return 0;
    if (vane_get_le(bytes + 8, 2) != PEER_VERSION)
        return refuse(r, "hello: protocol version %u, expected %d",
                      (unsigned)vane_get_le(bytes + 8, 2), PEER_VERSION);
    address_len = (size_t)vane_get_le(bytes + 18, 2);
    if (address_len == 0 || address_len > PEER_ADDRESS_MAX)
        return refuse(r, "hello: address of %zu bytes, expected 1 to %d", address_len,
                      PEER_ADDRESS_MAX);
    if (len < PEER_HELLO_FIXED + address_len)
        return 0;
    hello.node_id = vane_get_le(bytes + 10, 8);
    memcpy(hello.address, bytes + PEER_HELLO_FIXED, address_len);
    hello.address[address_len] = '\0';
    if (strlen(hello.address) != address_len)
        return refuse(r, "hello: the address holds a NUL byte");
    r->hello_seen = true;
    if ((rc = r->on_hello(r->arg, &hello)) != 0)
        return rc;
    return (ssize_t)(PEER_HELLO_FIXED + address_len);
}

/* Checks a whole header; 0 or -EPROTO with r->why. */
static int check_header(struct peer_reader *r, const char *h)
{
    unsigned type = (uint8_t)h[4];
    uint64_t length = vane_get_le(h + 8, 4);

    if (type < PEER_OPEN || type > PEER_CLOSE)
        return refuse(r, "frame type %u unknown, expected 1 to 5", type);
    if (h[5] != 0 || h[6] != 0 || h[7] != 0)
        return refuse(r, "frame header: bytes 5 to 7 are not zero");
    if (length > PEER_MAX_PAYLOAD)
        return refuse(r, "frame payload of %llu bytes, over the limit of %u",
                      (unsigned long long)length, PEER_MAX_PAYLOAD);
    return 0;
}

/* Hands over the hello and every whole frame at the start of bytes; returns
 * the bytes used, or < 0 (a vane_buf_deliver_fn). */
static long deliver(void *ctx, const char *bytes, size_t len)
{
    struct peer_reader *r = ctx;
    size_t used = 0;
    ssize_t n;
    int rc;

    if (!r->hello_seen) {
        if ((n = read_hello(r, bytes, len)) <= 0)
            return n;
        used = (size_t)n;
    }
    while (len - used >= PEER_HEADER_SIZE) {
        const char *h = bytes + used;
        struct peer_frame frame;

        if ((rc = check_header(r, h)) != 0)
            return rc;
        frame = (struct peer_frame){(uint32_t)vane_get_le(h, 4),
                                    (enum peer_frame_type)(uint8_t)h[4], h + PEER_HEADER_SIZE,
                                    (uint32_t)vane_get_le(h + 8, 4)};
        if (len - used - PEER_HEADER_SIZE < frame.length)
            break;
        used += PEER_HEADER_SIZE + frame.length;
        if ((rc = r->on_frame(r->arg, &frame)) != 0)
            return rc;
    }
    return (long)used;
}

int peer_reader_feed(struct peer_reader *r, const char *bytes, size_t len)
{
    return vane_buf_feed(&r->pending, bytes, len, deliver, r);
}

void peer_reader_free(struct peer_reader *r)
{
    vane_buf_free(&r->pending);
}

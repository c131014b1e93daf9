/*
 * peer_wire.h -- the bytes of the peer port's protocol (peer.h, peer.c):
 * the hello and the frames, their encoding, and a reader that turns the
 * bytes of a TCP connection back into them.
 *
 * A connection starts, in each direction, with one hello:
 *
 *     0   8 bytes  magic "VANEPEER"
 *     8   u16      protocol version, 1
 *     10  u64      the sender's node id
 *     18  u16      n, the length of its peer address (1..PEER_ADDRESS_MAX)
 *     20  n bytes  its peer address, "host:port", no NUL
 *
 * then frames, each a 12-byte header and a payload:
 *
 *     0   u32      channel id (chosen by the node that opened the channel)
 *     4   u8       type: 1 OPEN, 2 OPENED, 3 REFUSED, 4 DATA, 5 CLOSE
 *     5   3 bytes  zero
 *     8   u32      payload length, at most PEER_MAX_PAYLOAD
 *     12  payload  OPEN: the service's name (1..PEER_SERVICE_MAX-1 bytes,
 *                  no NUL); REFUSED: why, as text; DATA: the channel's
 *                  bytes; OPENED and CLOSE: nothing
 *
 * Integers are little-endian, as the store's records and the engine's
 * frames are.  The reader refuses, with a message naming what was wrong, a
 * hello with another magic, version or an address of a bad length, and a
 * frame of an unknown type, with non-zero reserved bytes or a payload over
 * the limit: the connection is then broken or hostile and is closed.  What
 * the frames mean, and which side may send which, is peer.c's business.
 */
#ifndef VANE_CLUSTER_PEER_WIRE_H
#define VANE_CLUSTER_PEER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define PEER_MAGIC "VANEPEER"
#define PEER_MAGIC_SIZE 8
#define PEER_VERSION 1
#define PEER_HELLO_FIXED 20  /* the hello's bytes before the address */
#define PEER_ADDRESS_MAX 255 /* bytes of a peer address */
#define PEER_HELLO_MAX (PEER_HELLO_FIXED + PEER_ADDRESS_MAX)
#define PEER_HEADER_SIZE 12
#define PEER_MAX_PAYLOAD (16u << 20)

/* Values are on the wire: append only. */
enum peer_frame_type {
    PEER_OPEN = 1,
    PEER_OPENED = 2,
    PEER_REFUSED = 3,
    PEER_DATA = 4,
    PEER_CLOSE = 5,
};

struct peer_hello {
    uint64_t node_id;
    char address[PEER_ADDRESS_MAX + 1]; /* NUL-terminated */
};

struct peer_frame {
    uint32_t channel;
    enum peer_frame_type type;
    const char *payload; /* valid during the callback only */
    uint32_t length;
};

/* The name of a frame type ("OPEN"), for messages; "?" for another value. */
const char *peer_frame_type_name(enum peer_frame_type type);

/*
 * Writes the hello of node_id at address into out (PEER_HELLO_MAX bytes)
 * and returns its length, or 0 when address is empty or longer than
 * PEER_ADDRESS_MAX.
 */
size_t peer_wire_hello(char *out, uint64_t node_id, const char *address);

/* Writes a frame header into out (PEER_HEADER_SIZE bytes). */
void peer_wire_header(char *out, uint32_t channel, enum peer_frame_type type, uint32_t length);

/* The reader's callbacks; returning a negative error stops the reader (the
 * caller is closing the connection), and peer_reader_feed() returns it. */
typedef int (*peer_hello_cb)(void *arg, const struct peer_hello *hello);
typedef int (*peer_frame_cb)(void *arg, const struct peer_frame *frame);

struct peer_reader {
    struct vane_buf pending; /* bytes of a hello or frame not yet whole */
    bool hello_seen;
    peer_hello_cb on_hello;
    peer_frame_cb on_frame;
    void *arg;
    char why[128]; /* what was wrong, after peer_reader_feed() returned -EPROTO */
};

void peer_reader_init(struct peer_reader *r, peer_hello_cb on_hello, peer_frame_cb on_frame,
                      void *arg);

/*
 * Feeds bytes read from the connection: calls on_hello once, then on_frame
 * per whole frame.  Returns 0; -EPROTO with r->why when the bytes break the
 * protocol; or what a callback returned when it stopped the reader.
 */
int peer_reader_feed(struct peer_reader *r, const char *bytes, size_t len);

void peer_reader_free(struct peer_reader *r);

#endif

/*
 * record.h -- the on-disk form of one stored CloudEvent.
 *
 * Version 1, little-endian, no padding (doc/storage.md has the table):
 *
 *     0  u32 size        whole record in bytes, this header included
 *     4  u32 crc         CRC-32C of bytes [8, size)
 *     8  u8  version     1
 *     9  u8  flags       bit 0: the event has data (possibly empty)
 *    10  u16 attr_count
 *    12  u32 data_len
 *    16  u64 offset      the event's offset in its eventlog
 *    24  i64 stored_at   store time, nanoseconds since the Unix epoch
 *    32  u64 raft_index  the raft entry the record was applied from
 *    40  u32 entry_pos   its place among that entry's records, from 0
 *    44  attributes, each: u8 type, u8 name_len, u32 value_len, name, value
 *        then data_len bytes of data
 *
 * A boolean value is one byte (0 or 1), an integer eight (i64); every other
 * type is its bytes (a timestamp as the RFC 3339 text it arrived as), so the
 * event comes back exactly as it went in.
 *
 * raft_index and entry_pos let recovery tell how much of the last raft
 * entry reached the segment, so that replaying the entry adds only the rest.
 *
 * Writing is two steps so that a batch can be encoded once by the proposer
 * and completed in place when it is applied: record_encode() lays out the
 * event with offset, time and raft index zero, and record_seal() fills them
 * in and computes the CRC.  Reading never copies: record_decode() checks the
 * whole record (bounds, version, every attribute, CRC) and returns a view
 * whose pointers are into the caller's buffer; record_to_event() turns a
 * view into a struct event that points into the same bytes.
 *
 * Records that never reach a disk -- the trigger's deliveries to a sink
 * connector, handed over in memory and then down the local socket to the
 * connector's worker process -- are only encoded, not sealed: their CRC
 * field is 0 and record_decode_unsealed() reads them, checking all but the
 * CRC.  A CRC guards against damage at rest; there it cost a pass over
 * every byte of every event delivered, and the reader still refuses a
 * record whose lengths do not hold together.
 */
#ifndef VANE_STORE_RECORD_H
#define VANE_STORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

#define RECORD_VERSION 1
#define RECORD_HEADER_SIZE 44
#define RECORD_ATTR_HEADER_SIZE 6
/* Larger records are refused: no event the gateway takes comes near it. */
#define RECORD_MAX_SIZE (16u << 20)
#define RECORD_FLAG_DATA 0x01

struct record_view {
    const uint8_t *base;
    uint32_t size;
    uint8_t flags;
    uint16_t attr_count;
    uint32_t data_len;
    uint64_t offset;
    int64_t stored_at;
    uint64_t raft_index;
    uint32_t entry_pos;
    const uint8_t *attrs; /* first attribute */
    const uint8_t *data;  /* data_len bytes */
};

/*
 * Bytes record_encode() will write for event, or 0 when the event cannot be
 * stored (an attribute name longer than 255 bytes, more than 65535
 * attributes, or a record over RECORD_MAX_SIZE).
 */
size_t record_size(const struct event *event);

/* Writes event into out (record_size() bytes); returns the bytes written. */
size_t record_encode(const struct event *event, void *out);

/* Fills in the position fields of an encoded record and computes its CRC. */
void record_seal(void *record, uint64_t offset, int64_t stored_at, uint64_t raft_index,
                 uint32_t entry_pos);

/* Reads the header fields of a sealed record without checking it (the
 * writer's own records, just sealed). */
void record_peek_header(const void *record, struct record_view *view);

/* The size field of the record at buf, or 0 when fewer than 4 bytes are there. */
uint32_t record_peek_size(const void *buf, size_t avail);

/*
 * Checks the record at the start of buf (avail bytes there) and fills view.
 * Returns 0; -ENODATA when avail holds only part of it (a torn tail, or read
 * more); VANE_ECORRUPT when it is damaged, with *why (static text) saying how.
 */
int record_decode(const void *buf, size_t avail, struct record_view *view, const char **why);

/* As record_decode(), for a record encoded but not sealed: every check but the CRC's. */
int record_decode_unsealed(const void *buf, size_t avail, struct record_view *view,
                           const char **why);

/* Fills event (reset first) with the view's attributes and data, pointing into the record. */
void record_to_event(const struct record_view *view, struct event *event);

#endif

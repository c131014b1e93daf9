/*
 * fuzz-record.c -- libFuzzer target for the stored-record decoder.
 *
 * record_decode() reads bytes from segment files, which a crash, a full
 * disk or a bad copy can leave in any state, so it is a parser of outside
 * input and must refuse anything, never crash on it.  This target walks the
 * input as a segment scan does: record after record, from the start, until
 * the first one record_decode() does not accept.  The first record is
 * therefore the input decoded as one record.  It then walks a copy of the
 * input whose records have their CRC computed again: a fuzzer rarely guesses
 * a CRC, and without this its mutations would stop at the CRC check and
 * never reach the checks after it.
 *
 * For every record accepted it checks, and abort()s (naming the invariant
 * on stderr) when one fails:
 *   - record_decode() returns only 0, -ENODATA or VANE_ECORRUPT; -ENODATA
 *     only when the record really runs past the bytes given; VANE_ECORRUPT
 *     always with a reason;
 *   - an accepted record lies inside the input and is at least a header;
 *   - record_to_event() gives the header's attribute count, and every name,
 *     value and the data lie inside the record (so inside the input): the
 *     event points into the caller's bytes, never past them.  An empty value
 *     or empty data may point just past the record's last byte;
 *   - re-encoding the event gives record_size() bytes, and sealing them with
 *     the record's offset, store time, raft index and entry position gives
 *     back the input record byte for byte.  This is what "the event comes
 *     back exactly as it went in" (record.h) means for a decoder: it accepts
 *     only what record_encode() can write.
 *
 * The record encoded again is allocated at exactly record_size() bytes so that the
 * sanitizers catch an encoder that writes past it.
 *
 * Built with tests/fuzz/replay.c into tests/fuzz/replay-record, which runs
 * tests/fuzz/corpus/record/ in make check; make fuzz-record builds it with
 * clang's libFuzzer (tests/fuzz/local.mk).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/crc32c.h"
#include "core/error.h"
#include "store/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run, saying which invariant failed: libFuzzer and the replay
 * both treat the abort as a crash and keep the input. */
#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz-record: invariant failed: %s (%s:%d)\n", #cond,      \
                    __FILE__, __LINE__);                                               \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* Whether the len bytes at ptr lie inside [lo, lo + span).  Compared as
 * integers, since the pointers may come from anywhere when the decoder is wrong. */
static int inside(const void *ptr, size_t len, const uint8_t *lo, size_t span)
{
    uintptr_t p = (uintptr_t)ptr, start = (uintptr_t)lo;

    return p >= start && p - start <= span && len <= span - (p - start);
}

/* Checks that the event decoded from view points only into the record. */
static void check_pointers(const struct record_view *view, const struct event *event)
{
    CHECK(event->attr_count == view->attr_count);
    for (size_t i = 0; i < event->attr_count; i++) {
        const struct event_attr *attr = &event->attrs[i];
        const struct event_value *value = &attr->value;

        CHECK(attr->name.len > 0);
        CHECK(inside(attr->name.ptr, attr->name.len, view->base, view->size));
        CHECK(value->type >= EVENT_BOOLEAN && value->type <= EVENT_TIMESTAMP);
        if (value->type != EVENT_BOOLEAN && value->type != EVENT_INTEGER)
            CHECK(inside(value->u.bytes.ptr, value->u.bytes.len, view->base, view->size));
    }
    CHECK(event->has_data == ((view->flags & RECORD_FLAG_DATA) != 0));
    if (event->has_data)
        CHECK(inside(event->data.ptr, event->data.len, view->base, view->size));
}

/* Checks that encoding the event again gives back the record it came from. */
static void check_round_trip(const struct record_view *view, const struct event *event)
{
    size_t size = record_size(event);
    uint8_t *encoded;

    CHECK(size == view->size);
    encoded = vane_malloc(size);
    CHECK(record_encode(event, encoded) == size);
    record_seal(encoded, view->offset, view->stored_at, view->raft_index, view->entry_pos);
    CHECK(memcmp(encoded, view->base, size) == 0);
    vane_free(encoded);
}

/* Checks what record_decode() said about the avail bytes at p when it refused them. */
static void check_refusal(const uint8_t *p, size_t avail, int rc, const char *why)
{
    CHECK(rc == -ENODATA || rc == VANE_ECORRUPT);
    if (rc == -ENODATA)
        CHECK(avail < 8 || record_peek_size(p, avail) > avail);
    else
        CHECK(why != NULL && why[0] != '\0');
}

/* Gives the record at p (avail bytes there) the CRC its size field calls
 * for, when that size is plausible and all there. */
static void fix_crc(uint8_t *p, size_t avail)
{
    uint32_t size = record_peek_size(p, avail), crc;

    if (size < 8 || size > avail)
        return;
    crc = vane_crc32c(0, p + 8, size - 8);
    for (int i = 0; i < 4; i++)
        p[4 + i] = (uint8_t)(crc >> (8 * i));
}

/* Decodes and checks the records at data (size bytes) one after the other,
 * as a segment scan does, until the first one refused.  fix is NULL, or
 * data itself, writable: then each record is given a correct CRC first. */
static void walk(const uint8_t *data, size_t size, uint8_t *fix, struct event *event)
{
    size_t used = 0;

    while (used < size) {
        const uint8_t *p = data + used;
        struct record_view view;
        const char *why = NULL;
        int rc;

        if (fix != NULL)
            fix_crc(fix + used, size - used);
        rc = record_decode(p, size - used, &view, &why);
        if (rc != 0) {
            check_refusal(p, size - used, rc, why);
            break;
        }
        CHECK(view.base == p);
        CHECK(view.size >= RECORD_HEADER_SIZE && view.size <= size - used);
        record_to_event(&view, event);
        check_pointers(&view, event);
        check_round_trip(&view, event);
        used += view.size;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct event event = EVENT_INIT;
    uint8_t *copy = vane_malloc(size);

    walk(data, size, NULL, &event);
    if (size > 0)
        memcpy(copy, data, size);
    walk(copy, size, copy, &event);
    vane_free(copy);
    event_free(&event);
    return 0;
}

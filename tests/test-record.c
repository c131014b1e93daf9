/*
 * test-record.c -- the stored record format: every attribute type, binary
 * and empty data, absent data, the CRC, and every way a damaged record must
 * be refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/crc32c.h"
#include "core/error.h"
#include "store/record.h"
#include "tap.h"

uint32_t vane_crc32c_sw(uint32_t crc, const void *data, size_t len);

static void test_crc32c(void)
{
    /* Around the hardware path's block sizes (3 x 128 and 3 x 2048 bytes), at odd addresses. */
    static const size_t lengths[] = {0, 1, 7, 8, 9, 383, 384, 385, 767, 768, 1000, 1249,
                                     6143, 6144, 6145, 12288 + 400, 20000};
    static uint8_t big[20001];
    bool agree = true;

    is_int(vane_crc32c(0, "123456789", 9), 0xE3069283, "CRC-32C check value");
    is_int(vane_crc32c_sw(0, "123456789", 9), 0xE3069283, "table path gives the check value");
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + (i >> 8));
    is_int(vane_crc32c(0, big, 1000), vane_crc32c_sw(0, big, 1000),
           "hardware and table agree on 1000 bytes");
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
        if (vane_crc32c(5, big + 1, lengths[i]) != vane_crc32c_sw(5, big + 1, lengths[i])) {
            tap_diag("they differ on %zu bytes", lengths[i]);
            agree = false;
        }
    ok(agree, "and on lengths around every block size, from an odd address");
    is_int(vane_crc32c(vane_crc32c(0, big, 333), big + 333, 667), vane_crc32c(0, big, 1000),
           "CRC extends across pieces");
}

/* An event with one attribute of every type, and binary data with NULs. */
static void full_event(struct event *e)
{
    static const char binary[] = {0, 1, 2, (char)0xff};
    static const char data[] = {'a', 0, 'b', (char)0x80};
    struct event_value v;

    event_add_string(e, "specversion", EVENT_STRING, "1.0");
    event_add_string(e, "id", EVENT_STRING, "id-1");
    event_add_string(e, "source", EVENT_URI_REF, "/sensors/1");
    event_add_string(e, "type", EVENT_STRING, "com.example.reading");
    event_add_string(e, "dataschema", EVENT_URI, "https://example.com/schema");
    event_add_string(e, "time", EVENT_TIMESTAMP, "2026-11-26T16:32:28.123456789+01:00");
    event_add_string(e, "subject", EVENT_STRING, "h\xc3\xa9llo");
    v = (struct event_value){.type = EVENT_BOOLEAN, .u.boolean = true};
    event_add(e, "flag", 4, &v);
    v = (struct event_value){.type = EVENT_INTEGER, .u.integer = -2147483648LL};
    event_add(e, "count", 5, &v);
    v = (struct event_value){.type = EVENT_BINARY, .u.bytes = {binary, sizeof(binary)}};
    event_add(e, "blob", 4, &v);
    v = (struct event_value){.type = EVENT_STRING, .u.bytes = {"", 0}};
    event_add(e, "empty", 5, &v);
    event_set_data(e, data, sizeof(data));
}

/* Encodes and seals e, decodes it back; returns the decoded event's equality. */
static int round_trip(const struct event *e, const char *what)
{
    size_t size = record_size(e);
    uint8_t *buf = vane_malloc(size);
    struct event back = EVENT_INIT;
    struct record_view view;
    int equal;

    is_int(record_encode(e, buf), size, "%s: record_encode writes record_size bytes", what);
    record_seal(buf, 42, 1700000000123456789LL, 7, 3);
    is_int(record_decode(buf, size, &view, NULL), 0, "%s: decodes", what);
    is_int(view.offset, 42, "%s: offset", what);
    is_int(view.stored_at, 1700000000123456789LL, "%s: store time", what);
    is_int(view.raft_index, 7, "%s: raft index", what);
    is_int(view.entry_pos, 3, "%s: entry position", what);
    record_to_event(&view, &back);
    equal = event_equal(e, &back);
    ok(equal, "%s: the event round-trips exactly", what);
    ok(back.attr_count == 0 || (const uint8_t *)back.attrs[0].name.ptr > buf,
       "%s: decoded names point into the record (no copy)", what);
    event_free(&back);
    vane_free(buf);
    return equal;
}

static void test_round_trips(void)
{
    struct event e = EVENT_INIT;

    full_event(&e);
    round_trip(&e, "every attribute type");
    e.data.len = 0;
    round_trip(&e, "empty data");
    e.has_data = false;
    round_trip(&e, "no data");
    event_reset(&e);
    round_trip(&e, "no attributes at all");
    event_free(&e);
}

static void test_limits(void)
{
    struct event e = EVENT_INIT;
    char name[300];
    struct event_value v = {.type = EVENT_STRING, .u.bytes = {"x", 1}};

    memset(name, 'a', sizeof(name));
    event_add(&e, name, 256, &v);
    is_int(record_size(&e), 0, "a 256-byte attribute name cannot be stored");
    event_reset(&e);
    event_add(&e, name, 255, &v);
    ok(record_size(&e) > 0, "a 255-byte name can");
    event_set_data(&e, name, RECORD_MAX_SIZE);
    is_int(record_size(&e), 0, "a record over RECORD_MAX_SIZE cannot be stored");
    event_free(&e);
}

/* Decodes a copy of a valid record changed by edit; returns the error and why. */
static int decode_edited(void (*edit)(uint8_t *rec, size_t *len), const char **why)
{
    struct event e = EVENT_INIT;
    size_t size;
    uint8_t *buf;
    struct record_view view;
    int rc;

    full_event(&e);
    size = record_size(&e);
    buf = vane_malloc(size);
    record_encode(&e, buf);
    record_seal(buf, 1, 2, 3, 0);
    edit(buf, &size);
    *why = NULL;
    rc = record_decode(buf, size, &view, why);
    vane_free(buf);
    event_free(&e);
    return rc;
}

static void cut_short(uint8_t *rec, size_t *len) { (void)rec; *len -= 1; }
static void flip_data(uint8_t *rec, size_t *len) { rec[*len - 1] ^= 0x10; }
static void zero_size(uint8_t *rec, size_t *len) { (void)len; memset(rec, 0, 4); }
static void huge_size(uint8_t *rec, size_t *len) { (void)len; rec[3] = 0x7f; }

/* Changes a byte and recomputes the CRC, so only the structure check can catch it. */
static void resealed(uint8_t *rec, size_t len, size_t at, uint8_t value)
{
    uint32_t crc;

    rec[at] = value;
    crc = vane_crc32c(0, rec + 8, len - 8);
    memcpy(rec + 4, &crc, 4);
}
static void bad_version(uint8_t *rec, size_t *len) { resealed(rec, *len, 8, 9); }
static void bad_type(uint8_t *rec, size_t *len) { resealed(rec, *len, RECORD_HEADER_SIZE, 99); }
static void long_name(uint8_t *rec, size_t *len) { resealed(rec, *len, RECORD_HEADER_SIZE + 1, 250); }
static void no_data_flag(uint8_t *rec, size_t *len) { resealed(rec, *len, 9, 0); }
static void unknown_flag(uint8_t *rec, size_t *len) { resealed(rec, *len, 9, 0x03); }

/* The Boolean attribute "flag" of full_event(): find its value byte. */
static void boolean_two(uint8_t *rec, size_t *len)
{
    for (size_t i = RECORD_HEADER_SIZE; i + RECORD_ATTR_HEADER_SIZE + 5 < *len; i++)
        if (rec[i] == EVENT_BOOLEAN && rec[i + 1] == 4 &&
            memcmp(rec + i + RECORD_ATTR_HEADER_SIZE, "flag", 4) == 0) {
            resealed(rec, *len, i + RECORD_ATTR_HEADER_SIZE + 4, 2);
            return;
        }
}

static void test_damage(void)
{
    const char *why;

    is_int(decode_edited(cut_short, &why), -ENODATA, "a record cut short asks for more bytes");
    is_int(decode_edited(flip_data, &why), VANE_ECORRUPT, "a flipped data bit is caught");
    is_str(why, "CRC mismatch", "by the CRC");
    is_int(decode_edited(zero_size, &why), VANE_ECORRUPT, "a zero size is refused");
    is_str(why, "impossible record size", "as impossible");
    is_int(decode_edited(huge_size, &why), VANE_ECORRUPT, "a size over the maximum is refused");
    is_int(decode_edited(bad_version, &why), VANE_ECORRUPT, "an unknown version is refused");
    is_str(why, "unknown record version", "saying so");
    is_int(decode_edited(bad_type, &why), VANE_ECORRUPT, "an unknown attribute type is refused");
    is_str(why, "unknown attribute type", "saying so");
    is_int(decode_edited(long_name, &why), VANE_ECORRUPT, "a name running past the record is refused");
    is_int(decode_edited(no_data_flag, &why), VANE_ECORRUPT, "data without the flag is refused");
    is_str(why, "data without the data flag", "saying so");
    is_int(decode_edited(unknown_flag, &why), VANE_ECORRUPT, "an unknown flag bit is refused");
    is_str(why, "unknown flags", "saying so");
    is_int(decode_edited(boolean_two, &why), VANE_ECORRUPT, "a Boolean of 2 is refused");
    is_str(why, "Boolean value other than 0 or 1", "saying so");
}

int main(void)
{
    test_crc32c();
    test_round_trips();
    test_limits();
    test_damage();
    return tap_done();
}

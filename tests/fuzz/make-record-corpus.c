/*
 * make-record-corpus.c -- writes the seed corpus of the record fuzz target,
 * tests/fuzz/corpus/record/, from the real encoder.
 *
 * The seeds are what a segment file can hold: valid records of every shape
 * the broker writes (every attribute type, empty data, no data, no
 * attributes, records back to back) and every kind of damage record_decode()
 * must refuse.  A damaged seed that changes a field after the CRC is
 * resealed, so that the decoder gets past the CRC check to the check the
 * seed is about; the fuzzer starts from there.
 *
 * Not built by make or make check (an EXTRA program).  Run it again only
 * when the record format changes:
 *     make tests/fuzz/make-record-corpus
 *     tests/fuzz/make-record-corpus $(srcdir)/tests/fuzz/corpus/record
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/crc32c.h"
#include "store/record.h"

static const char *out_dir;
static int failures;

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void write_seed(const char *name, const uint8_t *bytes, size_t len)
{
    char *path = vane_asprintf("%s/%s", out_dir, name);
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make-record-corpus: %s: %s\n", path, strerror(errno));
        failures++;
    }
    vane_free(path);
}

/* Encodes and seals e into a new buffer of *len bytes. */
static uint8_t *sealed(const struct event *e, uint64_t offset, size_t *len)
{
    uint8_t *rec;

    *len = record_size(e);
    rec = vane_malloc(*len);
    record_encode(e, rec);
    record_seal(rec, offset, 1764171148000000000LL + (int64_t)offset, 7 + offset, 0);
    return rec;
}

/* Computes the CRC again after an edit, for the buffer's own length. */
static void reseal(uint8_t *rec, size_t len) { put32(rec + 4, vane_crc32c(0, rec + 8, len - 8)); }

static void add_value(struct event *e, const char *name, enum event_type type, const void *bytes,
                      size_t len)
{
    struct event_value v = {.type = type, .u.bytes = {bytes, len}};

    event_add(e, name, strlen(name), &v);
}

/* The required attributes and one of every other type, with binary data. */
static void every_type(struct event *e)
{
    static const char binary[] = {0, 1, 2, (char)0xff};
    static const char data[] = {'{', 0, '}', (char)0x80};
    struct event_value v;

    event_add_string(e, "specversion", EVENT_STRING, "1.0");
    event_add_string(e, "id", EVENT_STRING, "id-1");
    event_add_string(e, "source", EVENT_URI_REF, "/sensors/1");
    event_add_string(e, "type", EVENT_STRING, "com.example.reading");
    event_add_string(e, "dataschema", EVENT_URI, "https://example.com/schema");
    event_add_string(e, "time", EVENT_TIMESTAMP, "2026-11-26T16:32:28.123456789+01:00");
    v = (struct event_value){.type = EVENT_BOOLEAN, .u.boolean = true};
    event_add(e, "flag", 4, &v);
    v = (struct event_value){.type = EVENT_INTEGER, .u.integer = -2147483648LL};
    event_add(e, "count", 5, &v);
    add_value(e, "blob", EVENT_BINARY, binary, sizeof(binary));
    event_set_data(e, data, sizeof(data));
}

/* The four attributes every CloudEvent has, and nothing else. */
static void required_only(struct event *e)
{
    event_add_string(e, "specversion", EVENT_STRING, "1.0");
    event_add_string(e, "id", EVENT_STRING, "42");
    event_add_string(e, "source", EVENT_URI_REF, "urn:vane:fuzz");
    event_add_string(e, "type", EVENT_STRING, "t");
}

static void write_event(const char *name, const struct event *e)
{
    size_t len;
    uint8_t *rec = sealed(e, 0, &len);

    write_seed(name, rec, len);
    vane_free(rec);
}

static void valid_seeds(void)
{
    static char long_name[UINT8_MAX];
    struct event e = EVENT_INIT;
    struct event_value v;

    memset(long_name, 'n', sizeof(long_name));
    every_type(&e);
    write_event("valid-every-type", &e);
    e.data.len = 0;
    write_event("valid-empty-data", &e);
    e.has_data = false;
    write_event("valid-no-data", &e);
    event_reset(&e);
    write_event("valid-no-attributes", &e);
    event_set_data(&e, "only data", 9);
    write_event("valid-data-only", &e);
    event_reset(&e);
    /* Empty values last, no data: the last value ends at the record's end. */
    required_only(&e);
    add_value(&e, "empty", EVENT_BINARY, "", 0);
    add_value(&e, "blank", EVENT_STRING, "", 0);
    write_event("valid-empty-values", &e);
    event_reset(&e);
    add_value(&e, "x", EVENT_STRING, "x", 1);
    event_add(&e, long_name, sizeof(long_name),
              &(struct event_value){.type = EVENT_URI, .u.bytes = {"u:", 2}});
    v = (struct event_value){.type = EVENT_INTEGER, .u.integer = INT64_MAX};
    event_add(&e, "max", 3, &v);
    v = (struct event_value){.type = EVENT_BOOLEAN, .u.boolean = false};
    event_add(&e, "off", 3, &v);
    write_event("valid-longest-name", &e);
    event_free(&e);
}

/* Two records, then whatever tail follows them in a segment. */
static void sequence_seeds(void)
{
    struct event e = EVENT_INIT;
    struct vane_buf buf = VANE_BUF_INIT;
    size_t len1, len2;
    uint8_t *one, *two;

    required_only(&e);
    event_set_data(&e, "1", 1);
    one = sealed(&e, 0, &len1);
    every_type(&e);
    two = sealed(&e, 1, &len2);
    vane_buf_append(&buf, one, len1);
    vane_buf_append(&buf, two, len2);
    write_seed("valid-two-records", (uint8_t *)buf.data, buf.len);
    write_seed("two-records-torn-tail", (uint8_t *)buf.data, buf.len - 5);
    vane_buf_append(&buf, (const uint8_t[16]){0}, 16);
    write_seed("two-records-zero-tail", (uint8_t *)buf.data, buf.len);
    vane_buf_free(&buf);
    vane_free(one);
    vane_free(two);
    event_free(&e);
}

/* A copy of a valid record with one field set to value; see damaged_seeds(). */
struct damage {
    const char *name;
    size_t at;      /* the field's first byte */
    int width;      /* 1 or 4 bytes, little-endian */
    uint32_t value;
    int reseal;     /* compute the CRC again, to reach the check after it */
};

static void write_damaged(const struct damage *d, const uint8_t *good, size_t len)
{
    uint8_t *rec = vane_malloc(len);
    uint8_t *p;

    memcpy(rec, good, len);
    p = rec + d->at;
    if (d->width == 4)
        put32(p, d->value);
    else
        p[0] = (uint8_t)d->value;
    if (d->reseal)
        reseal(rec, len);
    write_seed(d->name, rec, len);
    vane_free(rec);
}

static void damaged_seeds(void)
{
    /* every_type() has 9 attributes; the first, "specversion" = "1.0",
     * starts at byte 44, the second ("id", a string) at 44 + 6 + 11 + 3. */
    static const struct damage damages[] = {
        {"bad-crc", 20, 1, 0xee, 0},
        {"bad-version", 8, 1, RECORD_VERSION + 1, 1},
        {"zero-size", 0, 4, 0, 0},
        {"size-below-header", 0, 4, RECORD_HEADER_SIZE - 1, 0},
        {"size-over-limit", 0, 4, RECORD_MAX_SIZE + 1, 0},
        {"data-without-flag", 9, 1, 0, 1},
        {"data-length-overrun", 12, 4, 0x10000, 1},
        {"attr-count-overrun", 10, 1, 10, 1},
        {"attr-count-short", 10, 1, 8, 1},
        {"attr-value-overrun", 44 + 2, 4, 0x1000, 1},
        {"attr-unknown-type", 44, 1, EVENT_TIMESTAMP + 1, 1},
        {"attr-empty-name", 44 + 1, 1, 0, 1},
        {"attr-value-wrong-size", 64, 1, EVENT_BOOLEAN, 1},
    };
    struct event e = EVENT_INIT;
    size_t len;
    uint8_t *good;

    every_type(&e);
    good = sealed(&e, 3, &len);
    for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]); i++)
        write_damaged(&damages[i], good, len);
    write_seed("truncated-record", good, len - 1);
    write_seed("truncated-header", good, 20);
    write_seed("truncated-size-field", good, 3);
    write_seed("empty-file", good, 0);
    vane_free(good);
    event_free(&e);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make-record-corpus DIRECTORY\n");
        return 2;
    }
    out_dir = argv[1];
    valid_seeds();
    sequence_seeds();
    damaged_seeds();
    return failures > 0 ? 1 : 0;
}

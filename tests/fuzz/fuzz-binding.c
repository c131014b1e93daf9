/*
 * fuzz-binding.c -- libFuzzer target for the CloudEvents HTTP binding,
 * binding_parse() (gateway/binding.h): the parser every published request
 * goes through, in its three modes, with the JSON format, percent-decoding
 * and validation behind it.
 *
 * The input is one HTTP request, framed as text lines:
 *
 *     <Content-Type value>\n          the first line; "!" alone means the
 *                                     request has no Content-Type at all
 *     <name>: <value>\n               zero or more header lines (at most
 *     ...                             MAX_HEADERS are read; a line without
 *                                     ':' is a name with an empty value; one
 *                                     space after the ':' is skipped)
 *     \n                              an empty line ends the headers
 *     <body>                          every byte after it, to the end
 *
 * An input without any newline is a Content-Type alone.  Each part is copied
 * into a buffer of exactly its size, so that the sanitizers see a read past
 * any of them.  For example (tests/fuzz/corpus/binding/ has more):
 *
 *     text/plain
 *     ce-specversion: 1.0
 *     ce-id: 1
 *     ce-source: /s
 *     ce-type: t
 *
 *     hello
 *
 * For every input it checks, and abort()s (naming the invariant on stderr)
 * when one fails:
 *   - binding_parse() returns 0 or -EINVAL; a refusal has status 400 or
 *     415, a reason and a message, and an error index only in batch mode
 *     (and then below the number of elements);
 *   - every event accepted passes event_check() again;
 *   - written out in structured mode (event_to_json(), what the read API
 *     answers) each event is valid JSON, and parsing that JSON as a
 *     structured request gives the same event back: the same attributes
 *     with the same types in the same order, and the same data (JSON data
 *     compared without the white space around it, which the JSON format
 *     does not keep);
 *   - all the events written as one batch parse back as a batch of as
 *     many events.
 *
 * Built with tests/fuzz/replay.c into tests/fuzz/replay-binding, which runs
 * tests/fuzz/corpus/binding/ in make check; make fuzz-binding builds it with
 * clang's libFuzzer (tests/fuzz/local.mk).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "event/event.h"
#include "event/event_check.h"
#include "event/event_json.h"
#include "gateway/binding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 16

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz-binding: invariant failed: %s (%s:%d)\n", #cond,     \
                    __FILE__, __LINE__);                                               \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* The request the input describes; every part in its own exact-size buffer. */
struct framed {
    struct binding_request req;
    struct binding_header headers[MAX_HEADERS];
    char *parts[2 * MAX_HEADERS + 2];
    size_t part_count;
};

static char *copy_part(struct framed *f, const uint8_t *p, size_t len)
{
    char *copy = vane_malloc(len > 0 ? len : 1);

    if (len > 0)
        memcpy(copy, p, len);
    f->parts[f->part_count++] = copy;
    return copy;
}

/* The next line of [*p, end) without its '\n'; *p moves past it.  false at the end. */
static bool next_line(const uint8_t **p, const uint8_t *end, const uint8_t **line, size_t *len)
{
    const uint8_t *nl;

    if (*p >= end)
        return false;
    nl = memchr(*p, '\n', (size_t)(end - *p));
    *line = *p;
    *len = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    *p = nl ? nl + 1 : end;
    return true;
}

static void add_header(struct framed *f, const uint8_t *line, size_t len)
{
    const uint8_t *colon = memchr(line, ':', len);
    size_t name_len = colon ? (size_t)(colon - line) : len;
    const uint8_t *value = colon ? colon + 1 : line + len;
    size_t value_len = (size_t)(line + len - value);
    struct binding_header *h = &f->headers[f->req.header_count++];

    if (value_len > 0 && *value == ' ')
        value++, value_len--;
    h->name = copy_part(f, line, name_len);
    h->name_len = name_len;
    h->value = copy_part(f, value, value_len);
    h->value_len = value_len;
}

static void frame(struct framed *f, const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size, *line;
    size_t len;

    memset(f, 0, sizeof(*f));
    f->req.headers = f->headers;
    if (next_line(&p, end, &line, &len) && !(len == 1 && line[0] == '!')) {
        f->req.content_type = copy_part(f, line, len);
        f->req.content_type_len = len;
    }
    while (next_line(&p, end, &line, &len) && len > 0)
        if (f->req.header_count < MAX_HEADERS)
            add_header(f, line, len);
    f->req.body = copy_part(f, p, (size_t)(end - p));
    f->req.body_len = (size_t)(end - p);
}

static void framed_free(struct framed *f)
{
    for (size_t i = 0; i < f->part_count; i++)
        vane_free(f->parts[i]);
}

/* ---- comparing an event with its structured-mode copy ------------------ */

static bool is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* bytes without the JSON white space around them. */
static struct event_bytes trimmed(struct event_bytes b)
{
    while (b.len > 0 && is_json_space(b.ptr[0]))
        b.ptr++, b.len--;
    while (b.len > 0 && is_json_space(b.ptr[b.len - 1]))
        b.len--;
    return b;
}

static bool same_bytes(struct event_bytes a, struct event_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool same_value(const struct event_value *a, const struct event_value *b)
{
    if (a->type != b->type)
        return false;
    if (a->type == EVENT_BOOLEAN)
        return a->u.boolean == b->u.boolean;
    if (a->type == EVENT_INTEGER)
        return a->u.integer == b->u.integer;
    return same_bytes(a->u.bytes, b->u.bytes);
}

static bool data_is_json(const struct event *event)
{
    const struct event_attr *ct = event_get(event, "datacontenttype");

    return ct != NULL && ct->value.type == EVENT_STRING &&
           event_content_type_is_json(ct->value.u.bytes.ptr, ct->value.u.bytes.len);
}

static void check_same_event(const struct event *a, const struct event *b)
{
    CHECK(a->attr_count == b->attr_count);
    for (size_t i = 0; i < a->attr_count; i++) {
        CHECK(same_bytes(a->attrs[i].name, b->attrs[i].name));
        CHECK(same_value(&a->attrs[i].value, &b->attrs[i].value));
    }
    CHECK(a->has_data == b->has_data);
    if (!a->has_data)
        return;
    if (data_is_json(a))
        CHECK(same_bytes(trimmed(a->data), trimmed(b->data)) || same_bytes(a->data, b->data));
    else
        CHECK(same_bytes(a->data, b->data));
}

/* Parses body (a structured event or a batch) as a request of content_type. */
static int parse_json_request(const char *content_type, const struct vane_buf *body,
                              struct binding_events *out)
{
    struct binding_request req = {content_type, strlen(content_type), NULL, 0, body->data,
                                  body->len};

    return binding_parse(&req, out);
}

static void check_valid_json(const struct vane_buf *text)
{
    json_error_t error;
    json_t *parsed = json_loadb(text->data, text->len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
                               &error);

    if (parsed == NULL)
        fprintf(stderr, "fuzz-binding: not JSON (%s): %.*s\n", error.text, (int)text->len,
                text->data);
    CHECK(parsed != NULL);
    json_decref(parsed);
}

/* Each event written out comes back the same, alone and as a batch. */
static void check_written(const struct binding_events *in)
{
    struct vane_buf batch = VANE_BUF_INIT, one = VANE_BUF_INIT;
    struct binding_events back;

    vane_buf_append(&batch, "[", 1);
    for (size_t i = 0; i < in->count; i++) {
        struct event_error err;

        CHECK(event_check(&in->events[i], &err) == 0);
        vane_buf_reset(&one);
        event_to_json(&in->events[i], &one);
        check_valid_json(&one);
        if (parse_json_request("application/cloudevents+json", &one, &back) != 0)
            fprintf(stderr, "fuzz-binding: written event refused: %s: %s\n%.*s\n",
                    back.error.field, back.error.message, (int)one.len, one.data);
        CHECK(back.status == 0 && back.count == 1);
        check_same_event(&in->events[i], &back.events[0]);
        binding_events_free(&back);
        if (i > 0)
            vane_buf_append(&batch, ",", 1);
        vane_buf_append(&batch, one.data, one.len);
    }
    vane_buf_append(&batch, "]", 1);
    CHECK(parse_json_request("application/cloudevents-batch+json", &batch, &back) == 0);
    CHECK(back.count == in->count);
    binding_events_free(&back);
    vane_buf_free(&one);
    vane_buf_free(&batch);
}

static void check_refusal(const struct binding_events *out)
{
    CHECK(out->status == 400 || out->status == 415);
    CHECK(out->error.reason != NULL && out->error.reason[0] != '\0');
    CHECK(out->error.message[0] != '\0');
    CHECK(memchr(out->error.field, '\0', sizeof(out->error.field)) != NULL);
    if (out->mode == BINDING_BATCH && out->status == 400 && out->doc != NULL &&
        json_is_array(out->doc))
        CHECK(out->error_index >= -1 && out->error_index < (long)json_array_size(out->doc));
    else
        CHECK(out->error_index == -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct binding_events out;
    struct framed f;
    int rc;

    frame(&f, data, size);
    rc = binding_parse(&f.req, &out);
    CHECK(rc == 0 || rc == -EINVAL);
    if (rc == 0) {
        CHECK(out.status == 0 && out.error_index == -1);
        CHECK(out.count <= out.slots || (out.count == 0 && out.slots == 0));
        CHECK(out.mode != BINDING_BINARY || out.count == 1);
        check_written(&out);
    } else {
        check_refusal(&out);
    }
    binding_events_free(&out);
    framed_free(&f);
    return 0;
}

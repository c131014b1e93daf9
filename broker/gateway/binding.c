/*
 * binding.c -- HTTP request to CloudEvents (see binding.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/percent.h"
#include "event/event_json.h"
#include "gateway/binding.h"

#define MEDIA_BATCH "application/cloudevents-batch"
#define MEDIA_STRUCTURED "application/cloudevents"

/* true when the media type (parameters aside) of ct starts with prefix. */
static bool media_has_prefix(const char *ct, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);

    return len >= n && strncasecmp(ct, prefix, n) == 0;
}

/* The media type of ct without parameters or trailing space. */
static size_t media_len(const char *ct, size_t len)
{
    const char *semi = memchr(ct, ';', len);
    size_t n = semi ? (size_t)(semi - ct) : len;

    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return n;
}

static int fail(struct binding_events *out, int status, const char *reason, const char *field,
                const char *message)
{
    out->status = status;
    return event_fail(&out->error, reason, field, "%s", message);
}

/* RFC 7230 quoted-string: strips the quotes and the backslashes of quoted pairs. */
static size_t unquote(const char *in, size_t len, char *out)
{
    size_t n = 0;

    if (len < 2 || in[0] != '"' || in[len - 1] != '"') {
        memcpy(out, in, len);
        return len;
    }
    for (size_t i = 1; i + 1 < len; i++) {
        if (in[i] == '\\' && i + 2 < len)
            i++;
        out[n++] = in[i];
    }
    return n;
}

/* A ce-* header as an attribute of the event. */
static int add_header(struct binding_events *out, struct event *event,
                      const struct binding_header *h)
{
    size_t name_len = h->name_len - 3;
    char *name = vane_arena_strndup(&out->arena, h->name + 3, name_len);
    char *value = vane_arena_alloc(&out->arena, h->value_len + 1);
    struct event_value v;
    long len;

    for (size_t i = 0; i < name_len; i++)
        if (name[i] >= 'A' && name[i] <= 'Z')
            name[i] = (char)(name[i] - 'A' + 'a');
    if (strcmp(name, "datacontenttype") == 0)
        return fail(out, 400, "bad_attribute_name", "datacontenttype",
                    "ce-datacontenttype must not be sent in binary mode: the Content-Type "
                    "header is the datacontenttype");
    len = unquote(h->value, h->value_len, value);
    len = vane_percent_decode(value, (size_t)len, value, (size_t)len);
    if (len < 0) {
        out->status = 400;
        return event_fail(&out->error, "bad_attribute_value", name,
                          "header ce-%s: bad percent-encoding (expected %%XX with two hex "
                          "digits)",
                          name);
    }
    v.type = event_attr_type(name, name_len);
    v.u.bytes.ptr = value;
    v.u.bytes.len = (size_t)len;
    event_add(event, name, name_len, &v);
    return 0;
}

static bool is_ce_header(const struct binding_header *h)
{
    return h->name_len > 3 && strncasecmp(h->name, "ce-", 3) == 0;
}

static void allocate_events(struct binding_events *out, size_t count)
{
    out->slots = count;
    out->events = vane_calloc(count ? count : 1, sizeof(*out->events));
}

static int parse_binary(const struct binding_request *req, struct binding_events *out)
{
    struct event *event = &out->events[0];
    size_t ce_headers = 0;
    int rc;

    for (size_t i = 0; i < req->header_count; i++) {
        if (!is_ce_header(&req->headers[i]))
            continue;
        ce_headers++;
        if ((rc = add_header(out, event, &req->headers[i])) != 0)
            return rc;
    }
    if (ce_headers == 0)
        return fail(out, 415, "unsupported_media_type", "Content-Type",
                    "not a CloudEvent: expected binary mode (ce-* headers, such as "
                    "ce-specversion), or Content-Type application/cloudevents+json or "
                    "application/cloudevents-batch+json");
    if (req->content_type != NULL && req->content_type_len > 0) {
        struct event_value v = {.type = EVENT_STRING,
                                .u.bytes = {req->content_type, req->content_type_len}};

        event_add(event, "datacontenttype", strlen("datacontenttype"), &v);
    }
    if (req->body_len > 0 || req->content_type != NULL)
        event_set_data(event, req->body, req->body_len);
    out->count = 1;
    return 0;
}

static int parse_document(const struct binding_request *req, struct binding_events *out)
{
    json_error_t jerr;

    /* NUL may be escaped in data; attribute values refuse it (event_check). */
    size_t flags = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;

    out->doc = json_loadb(req->body, req->body_len, flags, &jerr);
    /* Data may hold integers past 64 bits: they are kept as sent, so only
     * their parse needs to succeed (event_json.c reads the others' text). */
    if (out->doc == NULL && strstr(jerr.text, "too big") != NULL)
        out->doc = json_loadb(req->body, req->body_len, flags | JSON_DECODE_INT_AS_REAL, &jerr);
    if (out->doc != NULL)
        return 0;
    out->status = 400;
    return event_fail(&out->error, "malformed_json", "",
                      "malformed JSON at line %d, column %d: %s", jerr.line, jerr.column,
                      jerr.text);
}

static int parse_structured(const struct binding_request *req, struct binding_events *out)
{
    struct json_span text = {req->body, req->body_len};
    int rc;

    if ((rc = parse_document(req, out)) != 0)
        return rc;
    out->count = 1;
    if ((rc = event_from_json(out->doc, text, &out->events[0], &out->arena, &out->error)) != 0)
        out->status = 400;
    return rc;
}

static int parse_batch(const struct binding_request *req, struct binding_events *out)
{
    struct json_span text = {req->body, req->body_len}, *elems;
    size_t count;
    int rc;

    if ((rc = parse_document(req, out)) != 0)
        return rc;
    if (!json_is_array(out->doc))
        return fail(out, 400, "malformed", "", "a batch is a JSON array of CloudEvents");
    count = json_array_size(out->doc);
    elems = vane_arena_alloc(&out->arena, (count ? count : 1) * sizeof(*elems));
    if (json_span_elements(text, elems, count) != (long)count)
        elems = NULL;
    allocate_events(out, count);
    for (size_t i = 0; i < count; i++, out->count++) {
        struct json_span elem = elems ? elems[i] : (struct json_span){NULL, 0};

        rc = event_from_json(json_array_get(out->doc, i), elem, &out->events[i], &out->arena,
                             &out->error);
        if (rc != 0) {
            out->status = 400;
            out->error_index = (long)i;
            return rc;
        }
    }
    return 0;
}

static int check_events(struct binding_events *out)
{
    for (size_t i = 0; i < out->count; i++) {
        if (event_check(&out->events[i], &out->error) != 0) {
            out->status = 400;
            out->error_index = out->mode == BINDING_BATCH ? (long)i : -1;
            return -EINVAL;
        }
    }
    return 0;
}

static int parse_mode(const struct binding_request *req, struct binding_events *out)
{
    const char *ct = req->content_type;
    size_t len = ct ? media_len(ct, req->content_type_len) : 0;

    if (ct != NULL && media_has_prefix(ct, len, MEDIA_BATCH)) {
        out->mode = BINDING_BATCH;
        if (len != strlen(MEDIA_BATCH "+json") || !event_content_type_is_json(ct, len))
            return fail(out, 415, "unsupported_media_type", "Content-Type",
                        "unsupported batch format: expected application/cloudevents-batch+json");
        return parse_batch(req, out);
    }
    if (ct != NULL && media_has_prefix(ct, len, MEDIA_STRUCTURED)) {
        out->mode = BINDING_STRUCTURED;
        if (len != strlen(MEDIA_STRUCTURED "+json"))
            return fail(out, 415, "unsupported_media_type", "Content-Type",
                        "unsupported event format: expected application/cloudevents+json");
        allocate_events(out, 1);
        return parse_structured(req, out);
    }
    out->mode = BINDING_BINARY;
    allocate_events(out, 1);
    return parse_binary(req, out);
}

int binding_parse(const struct binding_request *req, struct binding_events *out)
{
    int rc;

    memset(out, 0, sizeof(*out));
    out->error_index = -1;
    if ((rc = parse_mode(req, out)) != 0)
        return rc;
    return check_events(out);
}

void binding_events_free(struct binding_events *events)
{
    for (size_t i = 0; i < events->slots; i++)
        event_free(&events->events[i]);
    vane_free(events->events);
    json_decref(events->doc);
    vane_arena_free(&events->arena);
    memset(events, 0, sizeof(*events));
}

/*
 * fuzz-github.c -- libFuzzer target for the GitHub connector's payload
 * mapper (connectors/source-github/github_map.h): the body decoder for
 * both content types GitHub sends, and the mapping of any payload to
 * CloudEvents attributes -- the code every verified delivery goes through.
 *
 * The input is one delivery, framed as text lines:
 *
 *     <Content-Type value>\n    "!" alone: the request has none
 *     <X-GitHub-Event value>\n
 *     <body>                    every byte after it, to the end
 *
 * For example (tests/fuzz/corpus/github/ has more, some of them GitHub's
 * own example payloads):
 *
 *     application/json
 *     push
 *     {"ref": "refs/heads/main", "repository": {"url": "https://github.com/o/r"}}
 *
 * For every input it checks, and abort()s (naming the invariant on stderr)
 * when one fails:
 *   - github_body_parse() returns 0 with a JSON object and the JSON text
 *     (for application/json, the body byte for byte), or -EINVAL with a
 *     message and the field at fault;
 *   - for a valid event name, github_map() gives a type that starts with
 *     com.github.<event>, a source that is never empty, and attributes
 *     that the broker's own check (event_check, as the gateway runs it)
 *     accepts in an event with that id, type, source and subject -- and a
 *     time of RFC 3339's shape, which, when the broker's stricter parser
 *     also takes it, still passes.
 *
 * Built with tests/fuzz/replay.c into tests/fuzz/replay-github, which runs
 * tests/fuzz/corpus/github/ in make check; make fuzz-github builds it with
 * clang's libFuzzer (tests/fuzz/local.mk).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../connectors/source-github/github_map.h"
#include "event/event.h"
#include "event/event_check.h"
#include "event/timestamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz-github: invariant failed: %s (%s:%d)\n", #cond,      \
                    __FILE__, __LINE__);                                               \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* A copy of len bytes in a buffer of exactly that size (one byte for none). */
static char *exact_copy(const uint8_t *p, size_t len)
{
    char *copy = malloc(len > 0 ? len : 1);

    CHECK(copy != NULL);
    if (len > 0)
        memcpy(copy, p, len);
    return copy;
}

/* The next line of [*p, end) without its '\n'; *p moves past it. */
static void next_line(const uint8_t **p, const uint8_t *end, const uint8_t **line, size_t *len)
{
    const uint8_t *nl = *p < end ? memchr(*p, '\n', (size_t)(end - *p)) : NULL;

    *line = *p;
    *len = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    *p = nl ? nl + 1 : end;
}

static void check_body(int rc, const struct github_body *body, const char *content_type,
                       size_t content_type_len, const char *bytes, size_t len, const char *field,
                       const struct strbuf *err)
{
    if (rc != 0) {
        CHECK(rc == -EINVAL);
        CHECK(err->len > 0 && field != NULL);
        CHECK(body->payload == NULL);
        return;
    }
    CHECK(json_is_object(body->payload));
    CHECK(content_type != NULL);
    if (content_type_len >= 16 && memcmp(content_type, "application/json", 16) == 0)
        CHECK(body->json.len == len && memcmp(body->json.data, bytes, len) == 0);
}

static void check_attrs(const char *event, const struct github_attrs *a)
{
    struct event ev = EVENT_INIT;
    struct event_error err;
    int64_t ns;
    const char *why;
    size_t prefix = strlen("com.github.") + strlen(event);

    CHECK(a->type.len >= prefix && strncmp(a->type.data, "com.github.", 11) == 0 &&
          strncmp(a->type.data + 11, event, strlen(event)) == 0);
    CHECK(a->type.len == prefix || a->type.data[prefix] == '.');
    CHECK(a->source.len > 0);
    event_add_string(&ev, "specversion", EVENT_STRING, "1.0");
    event_add_string(&ev, "id", EVENT_STRING, "fuzz-delivery");
    event_add_string(&ev, "type", EVENT_STRING, a->type.data);
    event_add_string(&ev, "source", EVENT_URI_REF, a->source.data);
    if (a->subject.len > 0)
        event_add_string(&ev, "subject", EVENT_STRING, a->subject.data);
    CHECK(event_check(&ev, &err) == 0);
    if (a->time.len > 0) {
        CHECK(github_time_valid(a->time.data, a->time.len));
        if (timestamp_parse(a->time.data, a->time.len, &ns, &why) == 0) {
            event_add_string(&ev, "time", EVENT_TIMESTAMP, a->time.data);
            CHECK(event_check(&ev, &err) == 0);
        }
    }
    event_free(&ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size, *line;
    size_t len, event_len;
    char *content_type = NULL, *event, *bytes;
    struct github_body body;
    struct github_attrs attrs = GITHUB_ATTRS_INIT;
    struct strbuf err = STRBUF_INIT;
    const char *field = NULL;
    size_t content_type_len = 0;
    int rc;

    next_line(&p, end, &line, &len);
    if (!(len == 1 && line[0] == '!')) {
        content_type = exact_copy(line, len);
        content_type_len = len;
    }
    next_line(&p, end, &line, &event_len);
    event = exact_copy(line, event_len);
    bytes = exact_copy(p, (size_t)(end - p));
    rc = github_body_parse(content_type, content_type_len, bytes, (size_t)(end - p), &body,
                           &field, &err);
    check_body(rc, &body, content_type, content_type_len, bytes, (size_t)(end - p), field, &err);
    if (rc == 0 && github_event_name_valid(event, event_len)) {
        char *name = strndup(event, event_len);

        github_map(name, body.payload, &attrs);
        check_attrs(name, &attrs);
        free(name);
    }
    if (rc == 0)
        github_body_free(&body);
    github_attrs_free(&attrs);
    strbuf_free(&err);
    free(content_type);
    free(event);
    free(bytes);
    return 0;
}

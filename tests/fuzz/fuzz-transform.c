/*
 * fuzz-transform.c -- libFuzzer target for Vanus's transformer
 * (transform/transform.h): any bytes as a subscription's "transformer"
 * JSON, compiled, and when it compiles, applied to fixed events.
 *
 * The input is the transformer's JSON text, nothing else; an input that is
 * not JSON is refused by jansson before the transformer sees it (the seeds
 * in tests/fuzz/corpus/transform/ are all JSON, so mutations stay close).
 * The events it is applied to are fixed: one with nested JSON data and
 * extensions of each type, one with text/plain data, one with no data.
 *
 * For every input it checks, and abort()s (naming the invariant on stderr)
 * when one fails:
 *   - transformer_compile() returns 0, -EINVAL or -ENOTSUP; a refusal makes
 *     no transformer and says why; -ENOTSUP only for the lua/plugin forms;
 *   - transformer_apply() returns 0 or -EINVAL, and a failure names where
 *     (a path in the spec) and why;
 *   - an output event is valid (event_check(), but for names starting
 *     "xvanus", which only clients are refused) and its JSON data parses;
 *   - applying twice gives the same output (no hidden state, no reads of
 *     uninitialized memory that would differ between runs).
 *
 * Built with tests/fuzz/replay.c into tests/fuzz/replay-transform, which
 * runs tests/fuzz/corpus/transform/ in make check; make fuzz-transform
 * builds it with clang's libFuzzer (tests/fuzz/local.mk).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/json_span.h"
#include "event/event.h"
#include "event/event_check.h"
#include "event/event_json.h"
#include "transform/transform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, what)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz-transform: invariant failed: %s\n", what);               \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

static const char *const event_texts[] = {
    "{\"specversion\":\"1.0\",\"id\":\"id-1\",\"source\":\"/src\",\"type\":\"t.x\","
    "\"subject\":\"sub\",\"time\":\"2022-11-15T15:41:25.5Z\",\"ext\":\"abc\",\"num\":7,"
    "\"flag\":true,\"datacontenttype\":\"application/json\",\"data\":{\"a\":{\"b\":[1,2.5,"
    "\"three\",null,{\"c\":\"x y\"}]},\"s\":\"Hello, World!\",\"n\":1668498285,\"t\":"
    "\"2022-02-21T07:32:44.190Z\",\"arr\":[{\"name\":\"n1\",\"number\":1},{\"name\":\"n2\","
    "\"number\":\"2\"}],\"e\":\"\",\"u\":\"d\\u00e9j\\u00e0\"}}",
    "{\"specversion\":\"1.0\",\"id\":\"id-2\",\"source\":\"/src\",\"type\":\"t.y\","
    "\"datacontenttype\":\"text/plain\",\"data\":\"plain text\"}",
    "{\"specversion\":\"1.0\",\"id\":\"id-3\",\"source\":\"/src\",\"type\":\"t.z\","
    "\"xvanusdeliverytime\":\"2022-11-15T15:41:25Z\"}",
};

#define NEVENTS (sizeof(event_texts) / sizeof(event_texts[0]))

static struct event events[NEVENTS];
static json_t *docs[NEVENTS];
static struct vane_arena events_arena;

static void load_events(void)
{
    static int loaded;
    struct event_error err;

    if (loaded)
        return;
    loaded = 1;
    for (size_t i = 0; i < NEVENTS; i++) {
        struct json_span text = {event_texts[i], strlen(event_texts[i])};

        docs[i] = json_loads(event_texts[i], 0, NULL);
        CHECK(docs[i] != NULL, "the fixed events parse");
        CHECK(event_from_json(docs[i], text, &events[i], &events_arena, &err) == 0 &&
                  event_check(&events[i], &err) == 0,
              "the fixed events are valid");
    }
}

static void check_output(const struct event *out)
{
    const struct event_attr *type = event_get(out, "datacontenttype");
    struct event_error err;
    json_t *parsed;

    if (event_check(out, &err) != 0)
        CHECK(err.reason != NULL && strcmp(err.reason, "reserved_extension") == 0,
              "the output event is valid");
    if (out->has_data && type != NULL && type->value.type == EVENT_STRING &&
        event_content_type_is_json(type->value.u.bytes.ptr, type->value.u.bytes.len) &&
        out->data.len > 0) {
        parsed = json_loadb(out->data.ptr, out->data.len,
                            JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
        CHECK(parsed != NULL, "JSON data parses");
        json_decref(parsed);
    }
}

static void apply(const struct transformer *t, const struct event *in)
{
    struct vane_arena arena = VANE_ARENA_INIT;
    struct event first = EVENT_INIT, second = EVENT_INIT;
    struct transform_error err, err2;
    int rc = transformer_apply(t, in, &first, &arena, &err);
    int rc2 = transformer_apply(t, in, &second, &arena, &err2);

    CHECK(rc == 0 || rc == -EINVAL, "apply returns 0 or -EINVAL");
    CHECK(rc == rc2, "applying twice gives the same answer");
    if (rc != 0) {
        CHECK(err.path[0] != '\0' && err.message[0] != '\0', "a failure says where and why");
        CHECK(strcmp(err.path, err2.path) == 0 && strcmp(err.message, err2.message) == 0,
              "a failure is the same twice");
    } else {
        check_output(&first);
        CHECK(event_equal(&first, &second), "applying twice gives the same event");
    }
    event_free(&first);
    event_free(&second);
    vane_arena_free(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct transformer *t = NULL;
    struct transform_error err;
    json_t *spec;
    int rc;

    load_events();
    spec = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (spec == NULL)
        return 0;
    rc = transformer_compile(spec, &t, &err);
    CHECK(rc == 0 || rc == -EINVAL || rc == -ENOTSUP, "compile returns 0, -EINVAL or -ENOTSUP");
    if (rc != 0) {
        CHECK(t == NULL, "a refusal makes no transformer");
        CHECK(err.message[0] != '\0', "a refusal says why");
        CHECK(rc != -ENOTSUP || json_object_get(spec, "lua") != NULL ||
                  json_object_get(spec, "plugin") != NULL,
              "-ENOTSUP only for lua and plugin");
    } else {
        for (size_t i = 0; i < NEVENTS; i++)
            apply(t, &events[i]);
    }
    transformer_free(t);
    json_decref(spec);
    return 0;
}

/*
 * transform_work.c -- the working form of an event while a transformer runs
 * (see transform_internal.h), and the output event built from it.
 *
 * Attributes keep pointing at the input's values until an action writes
 * them; then they hold a JSON value and the CloudEvents type it maps to.
 * Writing follows Vanus's SetAttribute: specversion and datacontenttype
 * cannot be changed; id, source, type, subject, dataschema and time take
 * strings (time an RFC 3339 one); extensions take strings, booleans and
 * 32-bit integers (a whole real counts as an integer).  Deleting refuses
 * the four required attributes.  Whatever an action writes keeps the event
 * valid: no empty core attribute, no control characters.
 *
 * Data is parsed only when a path first reaches into it, so a transformer
 * that only touches attributes never parses (nor rewrites) the data.  Data
 * is JSON when the datacontenttype says so or there is none; other data can
 * be carried but not reached by paths.  Integers too large for 64 bits are
 * read as reals rather than refused.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/alloc.h"
#include "event/event_check.h"
#include "event/event_json.h"
#include "event/timestamp.h"
#include "transform/transform_internal.h"

#define CONTENT_TYPE "datacontenttype"

static bool name_is(const char *name, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(name, *list) == 0)
            return true;
    return false;
}

static const char *const required_attrs[] = {"specversion", "id", "source", "type", NULL};
static const char *const string_attrs[] = {"id", "source", "type", "subject", "dataschema",
                                           "time", NULL};

/* The data state an input with data starts in, from its datacontenttype. */
static enum tf_data_state initial_data_state(const struct event *in)
{
    const struct event_attr *type;

    if (!in->has_data || in->data.len == 0)
        return TF_DATA_ABSENT;
    type = event_get(in, CONTENT_TYPE);
    if (type == NULL || type->value.type == EVENT_BOOLEAN || type->value.type == EVENT_INTEGER)
        return TF_DATA_RAW;
    return event_content_type_is_json(type->value.u.bytes.ptr, type->value.u.bytes.len)
               ? TF_DATA_RAW : TF_DATA_OPAQUE;
}

void transform_work_init(struct tf_work *work, const struct event *in)
{
    memset(work, 0, sizeof(*work));
    work->in = in;
    work->attr_cap = in->attr_count + 4;
    work->attrs = vane_calloc(work->attr_cap, sizeof(*work->attrs));
    for (size_t i = 0; i < in->attr_count; i++) {
        struct tf_attr *attr = &work->attrs[work->nattrs++];

        attr->name = vane_strndup(in->attrs[i].name.ptr, in->attrs[i].name.len);
        attr->orig = in->attrs[i].value;
        attr->type = attr->orig.type;
    }
    work->data_state = initial_data_state(in);
}

void transform_work_init_data(struct tf_work *work, json_t *root, json_t **vars, size_t nvars)
{
    memset(work, 0, sizeof(*work));
    work->data_state = TF_DATA_JSON;
    work->data = root;
    work->vars = vars;
    work->nvars = nvars;
}

void transform_work_free(struct tf_work *work)
{
    for (size_t i = 0; i < work->nattrs; i++) {
        vane_free(work->attrs[i].name);
        json_decref(work->attrs[i].value);
    }
    vane_free(work->attrs);
    json_decref(work->data);
    memset(work, 0, sizeof(*work));
}

/* ---- data ------------------------------------------------------------------ */

static int parse_data(struct tf_work *work, struct transform_error *err)
{
    json_error_t jerr;
    const size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;

    work->data = json_loadb(work->in->data.ptr, work->in->data.len, flags, &jerr);
    if (work->data == NULL && json_error_code(&jerr) == json_error_numeric_overflow)
        work->data = json_loadb(work->in->data.ptr, work->in->data.len,
                                flags | JSON_DECODE_INT_AS_REAL, &jerr);
    if (work->data == NULL)
        return transform_why(err, "the event's data is not valid JSON: %s (at offset %d)",
                             jerr.text, jerr.position);
    work->data_state = TF_DATA_JSON;
    return 0;
}

int transform_work_data(struct tf_work *work, json_t ***root, struct transform_error *err)
{
    const struct event_attr *type;
    int rc;

    switch (work->data_state) {
    case TF_DATA_RAW:
        if ((rc = parse_data(work, err)) != 0)
            return rc;
        break;
    case TF_DATA_OPAQUE:
        type = event_get(work->in, CONTENT_TYPE);
        return transform_why(err, "the event's data is %.*s, not JSON: paths into $.data "
                                  "need JSON data",
                             (int)type->value.u.bytes.len, type->value.u.bytes.ptr);
    case TF_DATA_ABSENT:
    case TF_DATA_JSON:
        break;
    }
    *root = &work->data;
    return 0;
}

/* ---- attributes -------------------------------------------------------- */

struct tf_attr *transform_work_attr(struct tf_work *work, const char *name)
{
    for (size_t i = 0; i < work->nattrs; i++)
        if (strcmp(work->attrs[i].name, name) == 0)
            return &work->attrs[i];
    return NULL;
}

static json_t *base64_json(const struct event_bytes *bytes)
{
    size_t n = (bytes->len + 2) / 3 * 4;
    char *text = vane_malloc(n + 1);
    json_t *value;

    EVP_EncodeBlock((unsigned char *)text, (const unsigned char *)bytes->ptr, (int)bytes->len);
    value = json_stringn(text, n);
    vane_free(text);
    return value;
}

json_t *transform_work_attr_json(const struct tf_attr *attr)
{
    if (attr->value != NULL)
        return json_incref(attr->value);
    switch (attr->orig.type) {
    case EVENT_BOOLEAN: return json_boolean(attr->orig.u.boolean);
    case EVENT_INTEGER: return json_integer(attr->orig.u.integer);
    case EVENT_BINARY: return base64_json(&attr->orig.u.bytes);
    default: return transform_value_stringn(attr->orig.u.bytes.ptr, attr->orig.u.bytes.len);
    }
}

/* A string value for one of the spec's string attributes. */
static int check_spec_string(const char *name, const json_t *value, struct transform_error *err)
{
    const char *s = json_string_value(value);
    size_t len = json_string_length(value);
    int64_t ns;
    const char *why;

    if (s == NULL)
        return transform_why(err, "$.%s takes a string, not %s", name,
                             transform_value_kind(value));
    if (len == 0)
        return transform_why(err, "$.%s cannot be empty", name);
    if (strcmp(name, "time") == 0 && timestamp_parse(s, len, &ns, &why) != 0)
        return transform_why(err, "$.time takes an RFC 3339 time: %s", why);
    return 0;
}

/* The value (a new reference) and type an extension takes from value. */
static int extension_value(const char *name, json_t *value, json_t **out, enum event_type *type,
                           struct transform_error *err)
{
    double d = json_real_value(value); /* 0 unless a real */

    if (json_is_string(value)) {
        *type = EVENT_STRING;
        *out = json_incref(value);
    } else if (json_is_boolean(value)) {
        *type = EVENT_BOOLEAN;
        *out = json_incref(value);
    } else if (json_is_integer(value) && json_integer_value(value) >= INT32_MIN &&
               json_integer_value(value) <= INT32_MAX) {
        *type = EVENT_INTEGER;
        *out = json_incref(value);
    } else if (json_is_real(value) && d >= INT32_MIN && d <= INT32_MAX && d == (int32_t)d) {
        *type = EVENT_INTEGER;
        *out = json_integer((json_int_t)d);
    } else {
        return transform_why(err, "$.%s takes a string, a boolean or a 32-bit integer, not %s",
                             name, transform_value_kind(value));
    }
    return 0;
}

int transform_work_attr_set(struct tf_work *work, const char *name, json_t *value,
                            struct transform_error *err)
{
    struct tf_attr *attr;
    enum event_type type = EVENT_STRING;
    json_t *stored = NULL;
    int rc;

    if (work->in == NULL)
        return transform_why(err, "inside array_foreach only the element's data can be "
                                  "written, not $.%s", name);
    if (strcmp(name, "specversion") == 0 || strcmp(name, CONTENT_TYPE) == 0)
        return transform_why(err, "$.%s cannot be changed", name);
    if (value == NULL || json_is_null(value))
        return transform_why(err, "$.%s cannot be set to null", name);
    if (name_is(name, string_attrs)) {
        if ((rc = check_spec_string(name, value, err)) != 0)
            return rc;
        type = event_attr_type(name, strlen(name));
        stored = json_incref(value);
    } else if ((rc = extension_value(name, value, &stored, &type, err)) != 0) {
        return rc;
    }
    if (type != EVENT_BOOLEAN && type != EVENT_INTEGER &&
        !event_text_valid(json_string_value(stored), json_string_length(stored))) {
        json_decref(stored);
        return transform_why(err, "$.%s cannot hold control characters", name);
    }
    if ((attr = transform_work_attr(work, name)) == NULL) {
        if (work->nattrs == work->attr_cap) {
            work->attr_cap = work->attr_cap * 2 + 4;
            work->attrs = vane_realloc(work->attrs, work->attr_cap * sizeof(*work->attrs));
        }
        attr = &work->attrs[work->nattrs++];
        memset(attr, 0, sizeof(*attr));
        attr->name = vane_strdup(name);
    }
    json_decref(attr->value);
    attr->value = stored;
    attr->type = type;
    return 0;
}

int transform_work_attr_delete(struct tf_work *work, const char *name,
                               struct transform_error *err)
{
    struct tf_attr *attr;
    size_t i;

    if (name_is(name, required_attrs))
        return transform_why(err, "$.%s is required: it cannot be deleted", name);
    if (strcmp(name, CONTENT_TYPE) == 0)
        return transform_why(err, "$.%s follows the data: it cannot be deleted", name);
    if ((attr = transform_work_attr(work, name)) == NULL)
        return 0;
    i = (size_t)(attr - work->attrs);
    vane_free(attr->name);
    json_decref(attr->value);
    memmove(attr, attr + 1, (work->nattrs - i - 1) * sizeof(*attr));
    work->nattrs--;
    return 0;
}

/* ---- the output event ------------------------------------------------------ */

static struct event_bytes arena_bytes(struct vane_arena *arena, const char *s, size_t len)
{
    return (struct event_bytes){vane_arena_strndup(arena, s != NULL ? s : "", len), len};
}

/* The attribute's final value, its bytes copied into arena. */
static struct event_value output_value(const struct tf_attr *attr, struct vane_arena *arena)
{
    struct event_value v = {.type = attr->type};

    if (attr->value == NULL) {
        v = attr->orig;
        if (v.type != EVENT_BOOLEAN && v.type != EVENT_INTEGER)
            v.u.bytes = arena_bytes(arena, v.u.bytes.ptr, v.u.bytes.len);
    } else if (attr->type == EVENT_BOOLEAN) {
        v.u.boolean = json_is_true(attr->value);
    } else if (attr->type == EVENT_INTEGER) {
        v.u.integer = json_integer_value(attr->value);
    } else {
        v.u.bytes = arena_bytes(arena, json_string_value(attr->value),
                                json_string_length(attr->value));
    }
    return v;
}

static void add_attr(struct event *out, struct vane_arena *arena, const char *name,
                     const struct event_value *value)
{
    size_t len = strlen(name);

    event_add(out, vane_arena_strndup(arena, name, len), len, value);
}

void transform_work_output(struct tf_work *work, const struct vane_buf *rendered,
                           const char *content_type, struct event *out,
                           struct vane_arena *arena)
{
    struct vane_buf json = VANE_BUF_INIT;
    const char *new_type = NULL;
    bool typed = false;

    if (rendered != NULL)
        new_type = content_type;
    else if (work->data_changed && work->data != NULL)
        new_type = "application/json";
    event_reset(out);
    for (size_t i = 0; i < work->nattrs; i++) {
        struct event_value v = output_value(&work->attrs[i], arena);

        if (new_type != NULL && strcmp(work->attrs[i].name, CONTENT_TYPE) == 0) {
            v.type = EVENT_STRING;
            v.u.bytes = arena_bytes(arena, new_type, strlen(new_type));
            typed = true;
        }
        add_attr(out, arena, work->attrs[i].name, &v);
    }
    if (new_type != NULL && !typed) {
        struct event_value v = {.type = EVENT_STRING,
                                .u.bytes = arena_bytes(arena, new_type, strlen(new_type))};

        add_attr(out, arena, CONTENT_TYPE, &v);
    }
    if (rendered != NULL) {
        event_set_data(out, arena_bytes(arena, rendered->data ? rendered->data : "",
                                        rendered->len).ptr, rendered->len);
    } else if (work->data_changed && work->data != NULL) {
        transform_value_json(&json, work->data);
        event_set_data(out, arena_bytes(arena, json.data, json.len).ptr, json.len);
    } else if (work->in->has_data) {
        event_set_data(out, arena_bytes(arena, work->in->data.ptr, work->in->data.len).ptr,
                       work->in->data.len);
    }
    vane_buf_free(&json);
}

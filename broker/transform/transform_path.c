/*
 * transform_path.c -- event paths: their syntax, and reading, writing and
 * deleting through them (see transform_internal.h).
 *
 * A path is "$." and an attribute name ("$.id", "$.xvanusfoo"), or "$.data"
 * and segments into the data: ".name", "['name']" or "[\"name\"]" for a
 * member, "[3]" for an element ("[-1]" counts from the end, for reading),
 * ".*" or "[*]" for every member or element and "[start:end:step]" for a
 * slice of an array (reading only: "$.data.items[:].name" is the names of
 * all items).  In pipeline arguments "@.name" is short for "$.data.name",
 * as in Vanus.  Attribute names are taken in lower case, as Vanus does, and
 * must be valid CloudEvents names.  Filters, unions and ".." of full
 * JSONPath are refused by name: Vanus's own template paths refuse them too.
 *
 * Writing makes what is missing on the way: an object before a name, an
 * array (padded with nulls) before an index, also in place of a null, as
 * Vanus's SetData does; a value of another kind on the way is an error.
 * Deleting what is not there is no error (Vanus's DeleteData), and deleting
 * "$.data" itself leaves an empty object.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "event/event_check.h"
#include "transform/transform_internal.h"

/* ---- syntax -------------------------------------------------------------- */

struct scan {
    const char *text;
    size_t len, pos;
    bool in_template;
};

static int peek(const struct scan *s)
{
    return s->pos < s->len ? (unsigned char)s->text[s->pos] : -1;
}

static void skip_spaces(struct scan *s)
{
    while (peek(s) == ' ' || peek(s) == '\t')
        s->pos++;
}

static void add_seg(struct tf_path *path, const struct tf_seg *seg)
{
    path->segs = vane_realloc(path->segs, (path->nsegs + 1) * sizeof(*path->segs));
    path->segs[path->nsegs++] = *seg;
    if (seg->kind == TF_SEG_WILDCARD || seg->kind == TF_SEG_SLICE)
        path->wildcard = true;
}

/* A name may not hold a NUL byte: names are C strings from here on. */
static int make_name(struct tf_seg *seg, const char *name, size_t len,
                     struct transform_error *err)
{
    if (memchr(name, '\0', len) != NULL)
        return transform_why(err, "a name in a path cannot contain a NUL byte");
    seg->kind = TF_SEG_NAME;
    seg->name = vane_strndup(name, len);
    return 0;
}

/* After '.': "*" or a name up to the next '.', '[' (or '>' in a template). */
static int parse_dot(struct scan *s, struct tf_seg *seg, struct transform_error *err)
{
    size_t start = s->pos;
    int c;

    if (peek(s) == '*') {
        s->pos++;
        seg->kind = TF_SEG_WILDCARD;
        return 0;
    }
    if (peek(s) == '.')
        return transform_why(err, "\"..\" (descendants) is not supported in paths");
    while ((c = peek(s)) != -1 && c != '.' && c != '[' && c != ']' &&
           !(s->in_template && (c == '>' || c == ' ' || c == '<')))
        s->pos++;
    if (s->pos == start)
        return transform_why(err, "expected a name after '.' at offset %zu", start);
    return make_name(seg, s->text + start, s->pos - start, err);
}

/* A quoted name inside brackets; a backslash takes the next character as it is. */
static int parse_quoted(struct scan *s, struct tf_seg *seg, struct transform_error *err)
{
    int quote = peek(s);
    struct vane_buf name = VANE_BUF_INIT;
    int rc = 0, c;

    s->pos++;
    while ((c = peek(s)) != quote) {
        if (c == -1) {
            rc = transform_why(err, "unterminated quoted name in a path");
            goto out;
        }
        if (c == '\\' && s->pos + 1 < s->len)
            c = (unsigned char)s->text[++s->pos];
        vane_buf_append(&name, &(char){(char)c}, 1);
        s->pos++;
    }
    s->pos++;
    rc = make_name(seg, name.data ? name.data : "", name.len, err);
out:
    vane_buf_free(&name);
    return rc;
}

/* An integer, optionally negative; 1 when there is none here. */
static int parse_int(struct scan *s, long long *value, struct transform_error *err)
{
    const char *start = s->text + s->pos;
    char digits[24];
    size_t n = 0;
    char *end;

    if (peek(s) == '-')
        digits[n++] = '-', s->pos++;
    while (isdigit(peek(s)) && n < sizeof(digits) - 1)
        digits[n++] = (char)peek(s), s->pos++;
    digits[n] = '\0';
    if (n == 0)
        return 1;
    errno = 0;
    *value = strtoll(digits, &end, 10);
    if (end == digits || *end != '\0' || errno != 0 || isdigit(peek(s)))
        return transform_why(err, "bad array index \"%.*s\" in a path", (int)(n + 1), start);
    return 0;
}

/* [index] or [start:end:step], after any start. */
static int parse_index(struct scan *s, struct tf_seg *seg, struct transform_error *err)
{
    int rc = parse_int(s, &seg->index, err);

    if (rc < 0)
        return rc;
    seg->has_start = rc == 0;
    skip_spaces(s);
    if (peek(s) != ':') {
        seg->kind = TF_SEG_INDEX;
        return seg->has_start ? 0 : transform_why(err, "expected an index after '['");
    }
    seg->kind = TF_SEG_SLICE;
    seg->step = 1;
    s->pos++;
    skip_spaces(s);
    if ((rc = parse_int(s, &seg->end, err)) < 0)
        return rc;
    seg->has_end = rc == 0;
    skip_spaces(s);
    if (peek(s) == ':') {
        s->pos++;
        skip_spaces(s);
        if ((rc = parse_int(s, &seg->step, err)) < 0)
            return rc;
        if (rc == 1)
            seg->step = 1;
    }
    if (seg->step == 0)
        return transform_why(err, "a slice's step cannot be 0");
    return 0;
}

/* After '[': a quoted name, an index or '*', then ']'. */
static int parse_bracket(struct scan *s, struct tf_seg *seg, struct transform_error *err)
{
    int c, rc;

    skip_spaces(s);
    c = peek(s);
    if (c == '\'' || c == '"')
        rc = parse_quoted(s, seg, err);
    else if (c == '-' || c == ':' || isdigit(c))
        rc = parse_index(s, seg, err);
    else if (c == '*') {
        s->pos++;
        seg->kind = TF_SEG_WILDCARD;
        rc = 0;
    } else if (c == '?')
        return transform_why(err, "filters ([?...]) are not supported in paths");
    else
        return transform_why(err, "expected a quoted name, an index or * after '['");
    if (rc != 0)
        return rc;
    skip_spaces(s);
    if (peek(s) == ',')
        rc = transform_why(err, "unions ([a,b]) are not supported in paths");
    else if (peek(s) != ']')
        rc = transform_why(err, "expected ']' at offset %zu of the path", s->pos);
    else
        s->pos++;
    if (rc != 0 && seg->kind == TF_SEG_NAME)
        vane_free(seg->name);
    return rc;
}

/* One segment; 1 when there is none here (end of the path), 0 when read. */
static int parse_seg(struct scan *s, struct tf_seg *seg, struct transform_error *err)
{
    int c = peek(s);

    memset(seg, 0, sizeof(*seg));
    if (c == '.') {
        s->pos++;
        return parse_dot(s, seg, err);
    }
    if (c == '[') {
        s->pos++;
        return parse_bracket(s, seg, err);
    }
    if (c == -1 || (s->in_template && c == '>'))
        return 1;
    return transform_why(err, "unexpected '%c' at offset %zu of the path: expected '.' or '['",
                         c, s->pos);
}

static int parse_segs(struct scan *s, struct tf_path *path, struct transform_error *err)
{
    for (;;) {
        struct tf_seg seg;
        int rc = parse_seg(s, &seg, err);

        if (rc == 1)
            return 0;
        if (rc != 0)
            return rc;
        add_seg(path, &seg);
    }
}

/* The first segment names an attribute or "data"; an attribute has nothing below it. */
static int parse_root(struct scan *s, struct tf_path *path, struct transform_error *err)
{
    struct tf_seg first;
    int rc = parse_seg(s, &first, err);
    size_t len;

    if (rc == 1)
        return transform_why(err, "a path needs a name after '$': $.<attribute> or $.data");
    if (rc != 0)
        return rc;
    if (first.kind != TF_SEG_NAME)
        return transform_why(err, "a path begins with an attribute name or data, "
                                  "not an index or *");
    len = strlen(first.name);
    for (size_t i = 0; i < len; i++)
        first.name[i] = (char)tolower((unsigned char)first.name[i]);
    if (strcmp(first.name, "data") == 0) {
        vane_free(first.name); /* "data" is never an attribute's name: $.DATA is $.data */
        return parse_segs(s, path, err);
    }
    path->attr = first.name;
    if (!event_name_valid(path->attr, len))
        return transform_why(err, "\"%s\" is not an attribute name: expected lower-case "
                                  "letters a-z and digits 0-9", path->attr);
    if (peek(s) == '.' || peek(s) == '[')
        return transform_why(err, "$.%s is an attribute: it has no members (data paths "
                                  "begin $.data)", path->attr);
    return 0;
}

int transform_path_parse(const char *text, size_t len, bool in_template, bool relative_ok,
                         size_t *used, struct tf_path *path, struct transform_error *err)
{
    struct scan s = {text, len, 0, in_template};
    int rc;

    memset(path, 0, sizeof(*path));
    if (relative_ok && len >= 2 && text[0] == '@' && (text[1] == '.' || text[1] == '[')) {
        s.pos = 1;
        rc = parse_segs(&s, path, err);
    } else if (len >= 1 && text[0] == '$') {
        s.pos = 1;
        rc = parse_root(&s, path, err);
    } else {
        rc = transform_why(err, "a path begins with \"$.\"");
    }
    if (rc != 0) {
        transform_path_free(path);
        return rc;
    }
    *used = s.pos;
    return 0;
}

void transform_path_free(struct tf_path *path)
{
    for (size_t i = 0; i < path->nsegs; i++)
        vane_free(path->segs[i].name);
    vane_free(path->segs);
    vane_free(path->attr);
    memset(path, 0, sizeof(*path));
}

void transform_path_text(const struct tf_path *path, struct vane_buf *out)
{
    if (path->attr != NULL) {
        vane_buf_appendf(out, "$.%s", path->attr);
        return;
    }
    vane_buf_append_str(out, "$.data");
    for (size_t i = 0; i < path->nsegs; i++) {
        const struct tf_seg *seg = &path->segs[i];

        if (seg->kind == TF_SEG_NAME)
            vane_buf_appendf(out, ".%s", seg->name);
        else if (seg->kind == TF_SEG_INDEX)
            vane_buf_appendf(out, "[%lld]", seg->index);
        else if (seg->kind == TF_SEG_SLICE)
            vane_buf_append_str(out, "[:]");
        else
            vane_buf_append_str(out, "[*]");
    }
}

/* ---- reading ------------------------------------------------------------- */

static void collect(json_t *node, const struct tf_seg *segs, size_t n, json_t *results);

/* A slice of an array, as Python (and ojg, Vanus's JSONPath) count it. */
static void collect_slice(json_t *node, const struct tf_seg *seg, size_t n, json_t *results)
{
    long long size = (long long)json_array_size(node), start, end;

    if (!json_is_array(node))
        return;
    if (seg->step > 0) {
        start = !seg->has_start ? 0 : seg->index < 0 ? seg->index + size : seg->index;
        end = !seg->has_end ? size : seg->end < 0 ? seg->end + size : seg->end;
        start = start < 0 ? 0 : start;
        end = end > size ? size : end;
        for (long long i = start; i < end; i += seg->step)
            collect(json_array_get(node, (size_t)i), seg + 1, n - 1, results);
    } else {
        start = !seg->has_start ? size - 1 : seg->index < 0 ? seg->index + size : seg->index;
        end = !seg->has_end ? -1 : seg->end < 0 ? seg->end + size : seg->end;
        start = start >= size ? size - 1 : start;
        end = end < -1 ? -1 : end;
        for (long long i = start; i > end; i += seg->step)
            collect(json_array_get(node, (size_t)i), seg + 1, n - 1, results);
    }
}

/* Appends to results every value that segs lead to from node. */
static void collect(json_t *node, const struct tf_seg *segs, size_t n, json_t *results)
{
    const char *key;
    json_t *child;
    size_t i;
    long long index;

    if (n == 0) {
        json_array_append(results, node);
        return;
    }
    switch (segs->kind) {
    case TF_SEG_NAME:
        if ((child = json_object_get(node, segs->name)) != NULL)
            collect(child, segs + 1, n - 1, results);
        break;
    case TF_SEG_INDEX:
        index = segs->index < 0 ? (long long)json_array_size(node) + segs->index : segs->index;
        if (json_is_array(node) && index >= 0 && (size_t)index < json_array_size(node))
            collect(json_array_get(node, (size_t)index), segs + 1, n - 1, results);
        break;
    case TF_SEG_SLICE:
        collect_slice(node, segs, n, results);
        break;
    case TF_SEG_WILDCARD:
        if (json_is_object(node))
            json_object_foreach(node, key, child)
                collect(child, segs + 1, n - 1, results);
        else if (json_is_array(node))
            json_array_foreach(node, i, child)
                collect(child, segs + 1, n - 1, results);
        break;
    }
}

json_t *transform_path_find(json_t *root, const struct tf_path *path)
{
    json_t *results = json_array(), *value = NULL;

    collect(root, path->segs, path->nsegs, results);
    if (json_array_size(results) == 1)
        value = json_incref(json_array_get(results, 0));
    else if (json_array_size(results) > 1)
        value = json_incref(results);
    json_decref(results);
    return value;
}

int transform_path_get(struct tf_work *work, const struct tf_path *path, json_t **value,
                       struct transform_error *err)
{
    json_t **root;
    int rc;

    *value = NULL;
    if (path->attr != NULL) {
        struct tf_attr *attr = transform_work_attr(work, path->attr);

        *value = attr != NULL ? transform_work_attr_json(attr) : NULL;
        return 0;
    }
    if ((rc = transform_work_data(work, &root, err)) != 0)
        return rc;
    if (*root != NULL)
        *value = transform_path_find(*root, path);
    return 0;
}

/* ---- writing ------------------------------------------------------------- */

/* An empty container of the kind seg steps into. */
static json_t *container_for(const struct tf_seg *seg)
{
    return seg->kind == TF_SEG_INDEX ? json_array() : json_object();
}

/* Why seg cannot be written in node, or 0. */
static int bad_step(const json_t *node, const struct tf_seg *seg, struct transform_error *err)
{
    if (seg->kind == TF_SEG_NAME && !json_is_object(node))
        return transform_why(err, "cannot write member \"%s\" into %s", seg->name,
                             transform_value_kind(node));
    if (seg->kind == TF_SEG_NAME)
        return 0;
    if (!json_is_array(node))
        return transform_why(err, "cannot write element [%lld] into %s", seg->index,
                             transform_value_kind(node));
    if (seg->index < 0 || seg->index > TF_MAX_INDEX)
        return transform_why(err, "cannot write element [%lld]: an index to write is "
                                  "0 to %d", seg->index, TF_MAX_INDEX);
    return 0;
}

/*
 * With value: stores it (stolen, also on failure) in the slot seg names in
 * node.  Without: *child is what that slot holds (NULL when missing).  An
 * array is padded with nulls up to the index.
 */
static int step(json_t *node, const struct tf_seg *seg, json_t *value, json_t **child,
                struct transform_error *err)
{
    int rc = bad_step(node, seg, err);

    if (rc != 0) {
        json_decref(value);
        return rc;
    }
    if (seg->kind == TF_SEG_NAME) {
        if (value != NULL)
            return json_object_set_new(node, seg->name, value) == 0 ? 0 :
                   transform_why(err, "cannot write member \"%s\"", seg->name);
        *child = json_object_get(node, seg->name);
        return 0;
    }
    while (json_array_size(node) <= (size_t)seg->index)
        json_array_append_new(node, json_null());
    if (value != NULL)
        return json_array_set_new(node, (size_t)seg->index, value) == 0 ? 0 :
               transform_why(err, "cannot write element [%lld]", seg->index);
    *child = json_array_get(node, (size_t)seg->index);
    return 0;
}

/* Writes value (stolen) at segs below *root. */
static int set_in(json_t **root, const struct tf_seg *segs, size_t n, json_t *value,
                  struct transform_error *err)
{
    json_t *node;

    if (n == 0) {
        json_decref(*root);
        *root = value;
        return 0;
    }
    if (*root == NULL || json_is_null(*root)) {
        json_decref(*root);
        *root = container_for(&segs[0]);
    }
    node = *root;
    for (size_t i = 0; i + 1 < n; i++) {
        json_t *child = NULL;
        int rc = step(node, &segs[i], NULL, &child, err);

        if (rc != 0) {
            json_decref(value);
            return rc;
        }
        if (child == NULL || json_is_null(child)) {
            child = container_for(&segs[i + 1]);
            /* step() steals child into node, which keeps it alive for the next turn. */
            if ((rc = step(node, &segs[i], child, NULL, err)) != 0) {
                json_decref(value);
                return rc;
            }
        }
        node = child;
    }
    return step(node, &segs[n - 1], value, NULL, err);
}

int transform_path_set(struct tf_work *work, const struct tf_path *path, json_t *value,
                       struct transform_error *err)
{
    json_t **root;
    int rc;

    if (path->attr != NULL) {
        rc = transform_work_attr_set(work, path->attr, value, err);
        json_decref(value);
        return rc;
    }
    if (path->wildcard) {
        json_decref(value);
        return transform_why(err, "a path with * can be read, not written");
    }
    if ((rc = transform_work_data(work, &root, err)) != 0) {
        json_decref(value);
        return rc;
    }
    if (json_is_object(value) || json_is_array(value)) {
        /* A container read from this same data must not end up inside itself. */
        json_t *copy = json_deep_copy(value);

        json_decref(value);
        value = copy;
    }
    if ((rc = set_in(root, path->segs, path->nsegs, value, err)) != 0)
        return rc;
    work->data_state = TF_DATA_JSON;
    work->data_changed = true;
    return 0;
}

/* ---- deleting ------------------------------------------------------------ */

/* Removes what seg names in node; true when something was there. */
static bool remove_at(json_t *node, const struct tf_seg *seg)
{
    long long index;

    if (seg->kind == TF_SEG_NAME)
        return json_is_object(node) && json_object_del(node, seg->name) == 0;
    if (seg->kind != TF_SEG_INDEX || !json_is_array(node))
        return false;
    index = seg->index < 0 ? (long long)json_array_size(node) + seg->index : seg->index;
    return index >= 0 && json_array_remove(node, (size_t)index) == 0;
}

int transform_path_delete(struct tf_work *work, const struct tf_path *path,
                          struct transform_error *err)
{
    json_t **root, *results, *parent;
    size_t i;
    int rc;

    if (path->attr != NULL)
        return transform_work_attr_delete(work, path->attr, err);
    if (path->wildcard)
        return transform_why(err, "a path with * can be read, not deleted");
    if ((rc = transform_work_data(work, &root, err)) != 0)
        return rc;
    if (path->nsegs == 0) {
        json_decref(*root);
        *root = json_object();
        work->data_state = TF_DATA_JSON;
        work->data_changed = true;
        return 0;
    }
    if (*root == NULL)
        return 0;
    results = json_array();
    collect(*root, path->segs, path->nsegs - 1, results);
    json_array_foreach(results, i, parent) {
        if (remove_at(parent, &path->segs[path->nsegs - 1]))
            work->data_changed = true;
    }
    json_decref(results);
    return 0;
}

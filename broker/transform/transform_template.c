/*
 * transform_template.c -- the transformer's "template": text or JSON that
 * becomes the event's new data (see transform_internal.h).
 *
 * The rules are Vanus's (pkg/template).  "template_type" says "text" or
 * "json"; without it a template starting with '{', '[' or '"' is JSON, any
 * other text.  Either kind names values as <name> (a define variable:
 * letters, digits, '_' and '-') or <$.path> (read after the pipeline ran:
 * "$.id", "$.data.a.b").
 *
 * Text (content type text/plain): a string value is written as it is,
 * anything else as JSON; a path that finds nothing writes nothing.  A
 * backslash escapes: \< \> \\, \b \f \n \r \t, \uXXXX, \xXX, \NNN (octal);
 * a '<' that starts no variable is an error, so a literal one is "\<".
 *
 * JSON (content type application/json): the template is JSON in which a
 * value may be a variable.  <name> as a value writes the variable as JSON
 * (null when its path found nothing); <$.path> as a member or element
 * writes the value, and leaves the member or element out when the path
 * finds nothing, so the result stays valid JSON.  Inside a string, a
 * variable's text is written escaped for the string (an object as its JSON
 * text); a path that finds nothing adds nothing.  Strings keep the escapes
 * they were written with, and \< \> stand for < and >.
 *
 * Unlike Vanus, a variable that "define" does not name is refused when the
 * transformer is compiled (Vanus writes nothing, or null, for it).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "transform/transform_internal.h"

#define MAX_DEPTH 128

enum node_kind {
    N_TEXT,    /* bytes written as they are (JSON text, or text of a text template) */
    N_VAR,     /* a define variable */
    N_PATH,    /* a path */
    N_OBJECT,  /* children are members: key (N_TEXT, quoted) then value, in turn */
    N_ARRAY,   /* children are elements */
    N_STRING,  /* children are the parts of a string with variables, between quotes */
};

struct node {
    enum node_kind kind;
    char *text; /* N_TEXT */
    size_t len;
    size_t var; /* N_VAR */
    struct tf_path path; /* N_PATH */
    struct node *children;
    size_t n;
};

struct tf_template {
    bool json;
    struct node root; /* text: an N_STRING-like list of parts, without the quotes */
};

struct parser {
    const char *text;
    size_t len, pos;
    const struct tf_define *defs;
    size_t ndefs;
    struct transform_error *err;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fills err with the offset and what is wrong there; returns -EINVAL. */
static int fail(struct parser *p, const char *fmt, ...)
{
    size_t used;
    va_list ap;

    transform_why(p->err, "at offset %zu: ", p->pos);
    used = strlen(p->err->message);
    va_start(ap, fmt);
    vsnprintf(p->err->message + used, sizeof(p->err->message) - used, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static struct node *add_child(struct node *parent, enum node_kind kind)
{
    struct node *child;

    parent->children = vane_realloc(parent->children, (parent->n + 1) * sizeof(*child));
    child = &parent->children[parent->n++];
    memset(child, 0, sizeof(*child));
    child->kind = kind;
    return child;
}

/* Appends bytes to the node's last child when it is text, else to a new text child. */
static void add_text(struct node *parent, const char *bytes, size_t len)
{
    struct node *last = parent->n > 0 ? &parent->children[parent->n - 1] : NULL;

    if (len == 0)
        return;
    if (last == NULL || last->kind != N_TEXT)
        last = add_child(parent, N_TEXT);
    last->text = vane_realloc(last->text, last->len + len + 1);
    memcpy(last->text + last->len, bytes, len);
    last->len += len;
    last->text[last->len] = '\0';
}

/* Sets a value node's own text. */
static void set_text(struct node *node, const char *bytes, size_t len)
{
    node->text = vane_strndup(bytes, len);
    node->len = len;
}

static void free_node(struct node *node)
{
    for (size_t i = 0; i < node->n; i++)
        free_node(&node->children[i]);
    vane_free(node->children);
    vane_free(node->text);
    transform_path_free(&node->path);
}

static int peek(const struct parser *p)
{
    return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1;
}

/* ---- variables: after '<', up to and including '>' ---------------------- */

static bool ident_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c >= 0x80;
}

static int parse_variable(struct parser *p, struct node *parent)
{
    size_t start = p->pos, used;
    struct node *node;
    long var;

    if (peek(p) == '$') {
        node = add_child(parent, N_PATH);
        if (transform_path_parse(p->text + start, p->len - start, true, false, &used,
                                 &node->path, p->err) != 0) {
            char why[sizeof(p->err->message)];

            snprintf(why, sizeof(why), "%s", p->err->message);
            return fail(p, "bad path in <$...>: %s", why);
        }
        p->pos += used;
        if (peek(p) != '>')
            return fail(p, "%s", "expected '>' after the path");
        p->pos++;
        return 0;
    }
    while (ident_char(peek(p)))
        p->pos++;
    if (peek(p) != '>' || p->pos == start)
        return fail(p, "%s", "'<' starts a variable, <name> or <$.path> (write \\< for a "
                              "literal '<')");
    var = transform_arg_find_var(p->defs, p->ndefs, p->text + start, p->pos - start);
    if (var < 0) {
        char name[64];

        snprintf(name, sizeof(name), "%.*s", (int)(p->pos - start), p->text + start);
        return fail(p, "variable <%s> is not defined: name it in \"define\"", name);
    }
    node = add_child(parent, N_VAR);
    node->var = (size_t)var;
    p->pos++;
    return 0;
}

static int hex_digit(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
           c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* n hex digits at the parser's position; -1 when they are not there. */
static long read_hex(struct parser *p, int n)
{
    long value = 0;

    for (int i = 0; i < n; i++) {
        int d = hex_digit(peek(p));

        if (d < 0)
            return -1;
        value = value * 16 + d;
        p->pos++;
    }
    return value;
}

/* ---- text templates ------------------------------------------------------ */

static void put_utf8(struct node *parent, long cp)
{
    char b[4];
    size_t n;

    if (cp < 0x80)
        b[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    add_text(parent, b, n);
}

/* \uXXXX (a surrogate pair as two of them) after the 'u'. */
static long read_unicode(struct parser *p)
{
    long hi = read_hex(p, 4), lo;

    if (hi < 0xD800 || hi > 0xDFFF)
        return hi;
    if (hi > 0xDBFF || peek(p) != '\\' || p->pos + 1 >= p->len || p->text[p->pos + 1] != 'u')
        return -1;
    p->pos += 2;
    lo = read_hex(p, 4);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return -1;
    return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
}

/* The escape after a backslash in a text template, decoded. */
static int text_escape(struct parser *p, struct node *parent)
{
    static const char controls[] = "b\bf\fn\nr\rt\t";
    int c = peek(p);
    const char *control;
    long value;

    p->pos++;
    if (c == '<' || c == '>' || c == '\\') {
        add_text(parent, &(char){(char)c}, 1);
        return 0;
    }
    if (c > 0 && (control = strchr(controls, c)) != NULL && (control - controls) % 2 == 0) {
        add_text(parent, control + 1, 1);
        return 0;
    }
    if (c >= '0' && c <= '7') {
        int b = peek(p), d = p->pos + 1 < p->len ? p->text[p->pos + 1] : -1;

        if (b < '0' || b > '7' || d < '0' || d > '7' || c > '3')
            return fail(p, "%s", "an octal escape is \\NNN, 000 to 377");
        p->pos += 2;
        add_text(parent, &(char){(char)((c - '0') * 64 + (b - '0') * 8 + (d - '0'))}, 1);
        return 0;
    }
    if (c == 'x' && (value = read_hex(p, 2)) >= 0) {
        add_text(parent, &(char){(char)value}, 1);
        return 0;
    }
    if (c == 'u' && (value = read_unicode(p)) >= 0) {
        put_utf8(parent, value);
        return 0;
    }
    p->pos--;
    return fail(p, "bad escape \\%s (write \\\\ for a backslash)",
                c == -1 ? "at the end" : (char[]){(char)c, '\0'});
}

static int parse_text(struct parser *p, struct node *root)
{
    int rc = 0;

    while (rc == 0 && p->pos < p->len) {
        size_t start = p->pos;

        while (p->pos < p->len && p->text[p->pos] != '\\' && p->text[p->pos] != '<')
            p->pos++;
        add_text(root, p->text + start, p->pos - start);
        if (p->pos == p->len)
            break;
        p->pos++;
        rc = p->text[p->pos - 1] == '\\' ? text_escape(p, root) : parse_variable(p, root);
    }
    return rc;
}

/* ---- JSON templates --------------------------------------------------------- */

static void skip_ws(struct parser *p)
{
    while (peek(p) == ' ' || peek(p) == '\t' || peek(p) == '\n' || peek(p) == '\r')
        p->pos++;
}

/*
 * The inside of a string after its '"', through the closing quote, into
 * parent's children: text keeps its escapes (\< and \> become < and >);
 * with variables, '<' starts one, else it is a character.
 */
static int parse_string(struct parser *p, struct node *parent, bool variables)
{
    int c, rc;

    while ((c = peek(p)) != '"') {
        size_t start = p->pos;

        if (c == -1 || c < 0x20)
            return fail(p, "%s", c == -1 ? "unterminated string" :
                                           "a control character in a string must be escaped");
        p->pos++;
        if (c == '<' && variables) {
            if ((rc = parse_variable(p, parent)) != 0)
                return rc;
        } else if (c == '\\') {
            c = peek(p);
            p->pos++;
            if (c == '<' || c == '>')
                add_text(parent, &(char){(char)c}, 1);
            else if (c == 'u' && read_unicode(p) >= 0)
                add_text(parent, p->text + start, p->pos - start);
            else if (c > 0 && strchr("\"/\\bfnrt", c) != NULL)
                add_text(parent, p->text + start, 2);
            else
                return fail(p, "%s", "bad escape in a string");
        } else {
            add_text(parent, p->text + start, 1);
        }
    }
    p->pos++;
    return 0;
}

/* A number no double holds (1e999) is valid JSON that no reader here would take back. */
static bool number_fits(const char *text, size_t len)
{
    char *copy = vane_strndup(text, len);
    bool finite = isfinite(strtod(copy, NULL));

    vane_free(copy);
    return finite;
}

/* A JSON number, as it is written. */
static int parse_number(struct parser *p, struct node *parent)
{
    size_t start = p->pos;

    if (peek(p) == '-')
        p->pos++;
    if (peek(p) == '0')
        p->pos++;
    else if (peek(p) >= '1' && peek(p) <= '9')
        while (peek(p) >= '0' && peek(p) <= '9')
            p->pos++;
    else
        return fail(p, "%s", "bad number");
    if (peek(p) == '.') {
        p->pos++;
        if (peek(p) < '0' || peek(p) > '9')
            return fail(p, "%s", "bad number: digits must follow '.'");
        while (peek(p) >= '0' && peek(p) <= '9')
            p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-')
            p->pos++;
        if (peek(p) < '0' || peek(p) > '9')
            return fail(p, "%s", "bad number: digits must follow the exponent");
        while (peek(p) >= '0' && peek(p) <= '9')
            p->pos++;
    }
    if (!number_fits(p->text + start, p->pos - start))
        return fail(p, "%s", "number out of range");
    set_text(add_child(parent, N_TEXT), p->text + start, p->pos - start);
    return 0;
}

static int parse_value(struct parser *p, struct node *parent, int depth);

/* Members or elements up to the closing bracket; node is the object or array. */
static int parse_container(struct parser *p, struct node *node, int depth)
{
    char close = node->kind == N_OBJECT ? '}' : ']';
    int rc;

    skip_ws(p);
    if (peek(p) == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (node->kind == N_OBJECT) {
            struct node *key;

            skip_ws(p);
            if (peek(p) != '"')
                return fail(p, "%s", "expected a member name in quotes");
            p->pos++;
            key = add_child(node, N_STRING);
            if ((rc = parse_string(p, key, false)) != 0)
                return rc;
            skip_ws(p);
            if (peek(p) != ':')
                return fail(p, "%s", "expected ':' after a member name");
            p->pos++;
        }
        if ((rc = parse_value(p, node, depth + 1)) != 0)
            return rc;
        skip_ws(p);
        if (peek(p) == close) {
            p->pos++;
            return 0;
        }
        if (peek(p) != ',')
            return fail(p, "expected ',' or '%s'", close == '}' ? "}" : "]");
        p->pos++;
    }
}

static int parse_literal(struct parser *p, struct node *parent, const char *word)
{
    size_t len = strlen(word);

    if (p->len - p->pos < len || memcmp(p->text + p->pos, word, len) != 0)
        return fail(p, "%s", "expected a JSON value");
    set_text(add_child(parent, N_TEXT), word, len);
    p->pos += len;
    return 0;
}

static int parse_value(struct parser *p, struct node *parent, int depth)
{
    int c;

    skip_ws(p);
    c = peek(p);
    if (depth > MAX_DEPTH)
        return fail(p, "%s", "the template nests too deeply");
    if (c == '{' || c == '[') {
        p->pos++;
        return parse_container(p, add_child(parent, c == '{' ? N_OBJECT : N_ARRAY), depth);
    }
    if (c == '"') {
        p->pos++;
        return parse_string(p, add_child(parent, N_STRING), true);
    }
    if (c == '<') {
        p->pos++;
        return parse_variable(p, parent);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(p, parent);
    if (c == 't')
        return parse_literal(p, parent, "true");
    if (c == 'f')
        return parse_literal(p, parent, "false");
    if (c == 'n')
        return parse_literal(p, parent, "null");
    return fail(p, "%s", "expected a JSON value or a <variable>");
}

static int parse_json(struct parser *p, struct node *root)
{
    int rc = parse_value(p, root, 0);

    skip_ws(p);
    if (rc == 0 && p->pos < p->len)
        rc = fail(p, "%s", "text after the end of the JSON value");
    return rc;
}

int transform_template_compile(const char *text, size_t len, const char *type,
                               const struct tf_define *defs, size_t ndefs,
                               struct tf_template **out, struct transform_error *err)
{
    struct tf_template *tpl = VANE_NEW(tpl);
    struct parser p = {text, len, 0, defs, ndefs, err};
    int rc;

    if (type != NULL)
        tpl->json = strcmp(type, "json") == 0;
    else
        tpl->json = len > 0 && (text[0] == '{' || text[0] == '[' || text[0] == '"');
    tpl->root.kind = N_ARRAY;
    rc = tpl->json ? parse_json(&p, &tpl->root) : parse_text(&p, &tpl->root);
    if (rc != 0) {
        transform_template_free(tpl);
        tpl = NULL;
    }
    *out = tpl;
    return rc;
}

void transform_template_free(struct tf_template *tpl)
{
    if (tpl == NULL)
        return;
    free_node(&tpl->root);
    vane_free(tpl);
}

const char *transform_template_content_type(const struct tf_template *tpl)
{
    return tpl->json ? "application/json" : "text/plain";
}

/* ---- rendering ----------------------------------------------------------- */

/* The value a variable or path node stands for (new reference; NULL: nothing found). */
static int node_value(const struct node *node, struct tf_work *work, json_t **value,
                      struct transform_error *err)
{
    if (node->kind == N_VAR) {
        *value = node->var < work->nvars ? json_incref(work->vars[node->var]) : NULL;
        if (*value == NULL)
            *value = json_null();
        return 0;
    }
    return transform_path_get(work, &node->path, value, err);
}

/* Inside a string: text as written, values escaped for the string. */
static int render_string(const struct node *node, struct tf_work *work, struct vane_buf *out,
                         struct transform_error *err)
{
    vane_buf_append(out, "\"", 1);
    for (size_t i = 0; i < node->n; i++) {
        const struct node *part = &node->children[i];
        struct vane_buf text = VANE_BUF_INIT;
        json_t *value;

        if (part->kind == N_TEXT) {
            vane_buf_append(out, part->text, part->len);
            continue;
        }
        if (node_value(part, work, &value, err) != 0)
            return -EINVAL;
        if (value != NULL) {
            transform_value_text(&text, value);
            transform_value_escape(out, text.data ? text.data : "", text.len);
        }
        vane_buf_free(&text);
        json_decref(value);
    }
    vane_buf_append(out, "\"", 1);
    return 0;
}

static int render_json(const struct node *node, struct tf_work *work, struct vane_buf *out,
                       struct transform_error *err);

/* Members (key, value in turn) or elements; a path that finds nothing leaves its entry out. */
static int render_container(const struct node *node, struct tf_work *work, struct vane_buf *out,
                            struct transform_error *err)
{
    bool object = node->kind == N_OBJECT, first = true;
    size_t step = object ? 2 : 1;

    vane_buf_append(out, object ? "{" : "[", 1);
    for (size_t i = 0; i < node->n; i += step) {
        const struct node *value_node = &node->children[i + step - 1];
        json_t *value = NULL;

        if (value_node->kind == N_PATH) {
            if (node_value(value_node, work, &value, err) != 0)
                return -EINVAL;
            if (value == NULL)
                continue;
        }
        if (!first)
            vane_buf_append(out, ",", 1);
        first = false;
        if (object) {
            if (render_string(&node->children[i], work, out, err) != 0) {
                json_decref(value);
                return -EINVAL;
            }
            vane_buf_append(out, ":", 1);
        }
        if (value != NULL)
            transform_value_json(out, value);
        else if (render_json(value_node, work, out, err) != 0)
            return -EINVAL;
        json_decref(value);
    }
    vane_buf_append(out, object ? "}" : "]", 1);
    return 0;
}

static int render_json(const struct node *node, struct tf_work *work, struct vane_buf *out,
                       struct transform_error *err)
{
    json_t *value;

    switch (node->kind) {
    case N_TEXT:
        vane_buf_append(out, node->text, node->len);
        return 0;
    case N_STRING:
        return render_string(node, work, out, err);
    case N_OBJECT:
    case N_ARRAY:
        return render_container(node, work, out, err);
    case N_VAR:
    case N_PATH:
        if (node_value(node, work, &value, err) != 0)
            return -EINVAL;
        if (value != NULL)
            transform_value_json(out, value);
        else
            vane_buf_append_str(out, "null");
        json_decref(value);
        return 0;
    }
    return 0;
}

static int render_text(const struct node *root, struct tf_work *work, struct vane_buf *out,
                       struct transform_error *err)
{
    for (size_t i = 0; i < root->n; i++) {
        const struct node *part = &root->children[i];
        json_t *value;

        if (part->kind == N_TEXT) {
            vane_buf_append(out, part->text, part->len);
            continue;
        }
        if (node_value(part, work, &value, err) != 0)
            return -EINVAL;
        if (value != NULL)
            transform_value_text(out, value);
        json_decref(value);
    }
    return 0;
}

int transform_template_render(const struct tf_template *tpl, struct tf_work *work,
                              struct vane_buf *out, struct transform_error *err)
{
    if (!tpl->json)
        return render_text(&tpl->root, work, out, err);
    if (tpl->root.n == 0)
        return 0;
    return render_json(&tpl->root.children[0], work, out, err);
}

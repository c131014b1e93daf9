/*
 * transform_action_string.c -- the string actions (Vanus's
 * pkg/transform/action/strings and the functions behind them).
 *
 * Most rewrite the string at a path in place: the value there is cast to a
 * string (a number becomes its digits), changed, and written back as a
 * string.  The others read a source path and write a target.  Positions
 * count bytes, as Go's string indexes do; a position that would cut a
 * UTF-8 character is refused rather than written as broken text.  Each
 * action's argument order, bounds and errors are Vanus's; where Vanus would
 * loop forever or panic (an interval of 0, a negative position) the action
 * fails instead.  Case changes are Unicode-aware, through the C.UTF-8
 * locale's towupper()/towlower(), as Go's strings.ToUpper is.
 */
#include <ctype.h>
#include <locale.h>
#include <pthread.h>
#include <string.h>
#include <wctype.h>

#include "core/alloc.h"
#include "transform/transform_internal.h"

/* ---- UTF-8 and case ---------------------------------------------------- */

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void load_utf8_locale(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Decodes the character at s (n > 0 bytes left); its length, with *cp, or 1 and U+FFFD. */
static size_t utf8_next(const unsigned char *s, size_t n, wint_t *cp)
{
    size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 :
                 (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    wint_t c = len == 1 ? s[0] : len == 2 ? s[0] & 0x1F : len == 3 ? s[0] & 0x0F : s[0] & 0x07;

    if (len == 0 || len > n) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    *cp = c;
    return len;
}

static void utf8_put(struct vane_buf *out, wint_t c)
{
    unsigned char b[4];
    size_t n;

    if (c < 0x80)
        b[0] = (unsigned char)c, n = 1;
    else if (c < 0x800)
        b[0] = (unsigned char)(0xC0 | (c >> 6)), b[1] = (unsigned char)(0x80 | (c & 0x3F)), n = 2;
    else if (c < 0x10000)
        b[0] = (unsigned char)(0xE0 | (c >> 12)), b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F)),
        b[2] = (unsigned char)(0x80 | (c & 0x3F)), n = 3;
    else
        b[0] = (unsigned char)(0xF0 | (c >> 18)), b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F)),
        b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F)), b[3] = (unsigned char)(0x80 | (c & 0x3F)),
        n = 4;
    vane_buf_append(out, b, n);
}

enum case_map { TO_UPPER, TO_LOWER };

static wint_t map_char(wint_t c, enum case_map map)
{
    pthread_once(&utf8_once, load_utf8_locale);
    if (utf8_locale != (locale_t)0)
        return map == TO_UPPER ? towupper_l(c, utf8_locale) : towlower_l(c, utf8_locale);
    if (c < 0x80)
        return map == TO_UPPER ? (wint_t)toupper((int)c) : (wint_t)tolower((int)c);
    return c;
}

static bool is_space(wint_t c)
{
    pthread_once(&utf8_once, load_utf8_locale);
    if (utf8_locale != (locale_t)0)
        return iswspace_l(c, utf8_locale);
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * Appends s with characters changed: every one (all), or only the first of
 * each run of non-space characters (words), or only the very first.
 */
enum case_scope { CASE_ALL, CASE_WORDS, CASE_FIRST };

static void change_case(struct vane_buf *out, const char *s, size_t len, enum case_map map,
                        enum case_scope scope)
{
    bool in_word = false, first = true;

    for (size_t i = 0; i < len;) {
        wint_t c;
        size_t n = utf8_next((const unsigned char *)s + i, len - i, &c);
        bool change = scope == CASE_ALL || (scope == CASE_FIRST && first) ||
                      (scope == CASE_WORDS && !in_word && !is_space(c));

        if (scope == CASE_WORDS)
            in_word = !is_space(c);
        first = false;
        if (change && c != 0xFFFD)
            utf8_put(out, map_char(c, map));
        else
            vane_buf_append(out, s + i, n);
        i += n;
    }
}

/* ---- in-place actions: the string at argument 0 rewritten ------------- */

typedef int (*rewrite_fn)(struct tf_ctx *ctx, const struct vane_buf *in, struct vane_buf *out);

static int rewrite(struct tf_ctx *ctx, rewrite_fn fn)
{
    struct vane_buf in = VANE_BUF_INIT, out = VANE_BUF_INIT;
    int rc;

    if ((rc = transform_action_string(ctx, 0, &in)) == 0 && (rc = fn(ctx, &in, &out)) == 0)
        rc = transform_action_set_string(ctx, 0, out.data, out.len);
    vane_buf_free(&in);
    vane_buf_free(&out);
    return rc;
}

static int upper(struct tf_ctx *ctx, const struct vane_buf *in, struct vane_buf *out)
{
    (void)ctx;
    change_case(out, in->data, in->len, TO_UPPER, CASE_ALL);
    return 0;
}

static int lower(struct tf_ctx *ctx, const struct vane_buf *in, struct vane_buf *out)
{
    (void)ctx;
    change_case(out, in->data, in->len, TO_LOWER, CASE_ALL);
    return 0;
}

static int capitalize_sentence(struct tf_ctx *ctx, const struct vane_buf *in,
                               struct vane_buf *out)
{
    (void)ctx;
    change_case(out, in->data, in->len, TO_UPPER, CASE_FIRST);
    return 0;
}

static int capitalize_word(struct tf_ctx *ctx, const struct vane_buf *in, struct vane_buf *out)
{
    (void)ctx;
    change_case(out, in->data, in->len, TO_UPPER, CASE_WORDS);
    return 0;
}

static int add_prefix(struct tf_ctx *ctx, const struct vane_buf *in, struct vane_buf *out)
{
    int rc = transform_action_string(ctx, 1, out);

    vane_buf_append(out, in->data, in->len);
    return rc;
}

static int add_suffix(struct tf_ctx *ctx, const struct vane_buf *in, struct vane_buf *out)
{
    vane_buf_append(out, in->data, in->len);
    return transform_action_string(ctx, 1, out);
}

/* Go's strings.ReplaceAll: an empty old inserts new before every character and at the end. */
static int replace_all(struct tf_ctx *ctx, struct vane_buf *out, const struct vane_buf *in,
                       const struct vane_buf *old, const struct vane_buf *new)
{
    size_t i = 0;

    while (i < in->len) {
        wint_t c;
        size_t n;

        if (out->len > TF_MAX_TEXT)
            return transform_action_fail(ctx, 0, "the result grew longer than %g MiB",
                                         TF_MAX_TEXT_MIB);
        if (old->len == 0) {
            vane_buf_append(out, new->data, new->len);
            n = utf8_next((const unsigned char *)in->data + i, in->len - i, &c);
            vane_buf_append(out, in->data + i, n);
            i += n;
        } else {
            const char *next = memmem(in->data + i, in->len - i, old->data, old->len);
            size_t text = next != NULL ? (size_t)(next - in->data) - i : in->len - i;

            vane_buf_append(out, in->data + i, text);
            i += text;
            if (next != NULL) {
                vane_buf_append(out, new->data, new->len);
                i += old->len;
            }
        }
    }
    if (old->len == 0)
        vane_buf_append(out, new->data, new->len);
    return 0;
}

static int replace_string(struct tf_ctx *ctx, const struct vane_buf *in, struct vane_buf *out)
{
    struct vane_buf old = VANE_BUF_INIT, new = VANE_BUF_INIT;
    int rc;

    if ((rc = transform_action_string(ctx, 1, &old)) == 0 &&
        (rc = transform_action_string(ctx, 2, &new)) == 0)
        rc = replace_all(ctx, out, in, &old, &new);
    vane_buf_free(&old);
    vane_buf_free(&new);
    return rc;
}

static int replace_with_regex(struct tf_ctx *ctx, const struct vane_buf *in,
                              struct vane_buf *out)
{
    struct vane_buf pattern = VANE_BUF_INIT, repl = VANE_BUF_INIT;
    struct tf_regex *re = ctx->action->priv, *made = NULL;
    int rc = 0;

    if (re == NULL && (rc = transform_action_string(ctx, 1, &pattern)) == 0) {
        if ((rc = transform_regex_compile(pattern.data, pattern.len, &made, ctx->err)) != 0)
            rc = transform_action_failed(ctx, 1);
        re = made;
    }
    if (rc == 0 && (rc = transform_action_string(ctx, 2, &repl)) == 0 &&
        transform_regex_replace(re, in->data ? in->data : "", in->len, repl.data, repl.len, out,
                                ctx->err) != 0)
        rc = transform_action_failed(ctx, 1);
    transform_regex_free(made);
    vane_buf_free(&pattern);
    vane_buf_free(&repl);
    return rc;
}

static int replace_between_positions(struct tf_ctx *ctx, const struct vane_buf *in,
                                     struct vane_buf *out)
{
    struct vane_buf new = VANE_BUF_INIT;
    long long start, end;
    int rc;

    if ((rc = transform_action_int(ctx, 1, &start)) != 0 ||
        (rc = transform_action_int(ctx, 2, &end)) != 0)
        return rc;
    if (start < 0 || (size_t)start >= in->len)
        return transform_action_fail(ctx, 1, "start position %lld must be from 0 to less than "
                                     "the length of the string (%zu)", start, in->len);
    if ((size_t)end >= in->len)
        return transform_action_fail(ctx, 2, "end position %lld must be less than the length "
                                     "of the string (%zu)", end, in->len);
    if (start >= end)
        return transform_action_fail(ctx, 1, "start position %lld must be less than end "
                                     "position %lld", start, end);
    if ((rc = transform_action_string(ctx, 3, &new)) == 0) {
        vane_buf_append(out, in->data, (size_t)start);
        vane_buf_append(out, new.data, new.len);
        vane_buf_append(out, in->data + end, in->len - (size_t)end);
    }
    vane_buf_free(&new);
    return rc;
}

/* Finds the first start delimiter and the first end delimiter after it, both not empty. */
static int find_between(struct tf_ctx *ctx, const struct vane_buf *s, size_t start_arg,
                        const struct vane_buf *open, const struct vane_buf *close,
                        size_t *from, size_t *to)
{
    const char *p, *q;

    if (open->len == 0 || close->len == 0)
        return transform_action_fail(ctx, start_arg, "the start and end delimiters cannot be "
                                     "empty");
    p = memmem(s->data ? s->data : "", s->len, open->data, open->len);
    if (p == NULL)
        return transform_action_fail(ctx, start_arg, "the start delimiter \"%.40s\" is not in "
                                     "the string", open->data);
    *from = (size_t)(p - s->data) + open->len;
    q = memmem(s->data + *from, s->len - *from, close->data, close->len);
    if (q == NULL)
        return transform_action_fail(ctx, start_arg + 1, "the end delimiter \"%.40s\" is not "
                                     "after the start delimiter", close->data);
    *to = (size_t)(q - s->data);
    return 0;
}

static int replace_between_delimiters(struct tf_ctx *ctx, const struct vane_buf *in,
                                      struct vane_buf *out)
{
    struct vane_buf open = VANE_BUF_INIT, close = VANE_BUF_INIT, new = VANE_BUF_INIT;
    size_t from, to;
    int rc;

    if ((rc = transform_action_string(ctx, 1, &open)) == 0 &&
        (rc = transform_action_string(ctx, 2, &close)) == 0 &&
        (rc = transform_action_string(ctx, 3, &new)) == 0 &&
        (rc = find_between(ctx, in, 1, &open, &close, &from, &to)) == 0) {
        /* The delimiters go too: Vanus replaces from the start of one to the end of the other. */
        vane_buf_append(out, in->data, from - open.len);
        vane_buf_append(out, new.data, new.len);
        vane_buf_append(out, in->data + to + close.len, in->len - to - close.len);
    }
    vane_buf_free(&open);
    vane_buf_free(&close);
    vane_buf_free(&new);
    return rc;
}

static int run_upper(struct tf_ctx *ctx) { return rewrite(ctx, upper); }
static int run_lower(struct tf_ctx *ctx) { return rewrite(ctx, lower); }
static int run_capitalize_sentence(struct tf_ctx *ctx) { return rewrite(ctx, capitalize_sentence); }
static int run_capitalize_word(struct tf_ctx *ctx) { return rewrite(ctx, capitalize_word); }
static int run_add_prefix(struct tf_ctx *ctx) { return rewrite(ctx, add_prefix); }
static int run_add_suffix(struct tf_ctx *ctx) { return rewrite(ctx, add_suffix); }
static int run_replace_string(struct tf_ctx *ctx) { return rewrite(ctx, replace_string); }
static int run_replace_with_regex(struct tf_ctx *ctx) { return rewrite(ctx, replace_with_regex); }
static int run_replace_between_positions(struct tf_ctx *ctx)
{
    return rewrite(ctx, replace_between_positions);
}
static int run_replace_between_delimiters(struct tf_ctx *ctx)
{
    return rewrite(ctx, replace_between_delimiters);
}

/* A constant pattern is compiled once, with the transformer. */
static int prepare_regex(struct tf_action *action, json_t *command, const struct tf_define *defs,
                         size_t ndefs, struct transform_error *err)
{
    const struct tf_arg *pattern = &action->args[1];
    struct vane_buf text = VANE_BUF_INIT;
    int rc = 0;

    (void)command, (void)defs, (void)ndefs;
    if (pattern->kind != TF_ARG_CONST)
        return 0;
    if (transform_value_string(pattern->constant, &text, err) != 0 ||
        transform_regex_compile(text.data ? text.data : "", text.len,
                                (struct tf_regex **)&action->priv, err) != 0) {
        char why[sizeof(err->message)];

        snprintf(why, sizeof(why), "%s", err->message);
        rc = transform_action_reject(action, 1, err, "%s", why);
    }
    vane_buf_free(&text);
    return rc;
}

static void release_regex(struct tf_action *action)
{
    transform_regex_free(action->priv);
    action->priv = NULL;
}

/* ---- source to target ---------------------------------------------------- */

/* Writes the pieces (pairs of offsets into s) at argument i as an array of strings. */
static int set_pieces(struct tf_ctx *ctx, size_t i, const struct vane_buf *s,
                      const size_t *bounds, size_t npieces)
{
    json_t *array = json_array();

    for (size_t k = 0; k < npieces; k++) {
        json_t *piece = transform_value_stringn(s->data + bounds[2 * k],
                                                bounds[2 * k + 1] - bounds[2 * k]);

        if (piece == NULL) {
            json_decref(array);
            return transform_action_fail(ctx, i, "a piece is not valid UTF-8 (positions count "
                                         "bytes, and one fell inside a character)");
        }
        json_array_append_new(array, piece);
    }
    return transform_action_set(ctx, i, array);
}

/* Vanus's StringArray cast, each piece joined with sep. */
static int join_value(struct tf_ctx *ctx, size_t i, const struct vane_buf *sep,
                      struct vane_buf *out)
{
    json_t *value, *elem;
    size_t k;
    int rc = transform_action_get(ctx, i, &value);

    if (rc != 0)
        return rc;
    if (json_is_object(value) || json_is_boolean(value))
        rc = transform_action_fail(ctx, i, "%s: join takes strings, numbers and arrays of them, "
                                   "not %s", ctx->action->args[i].text,
                                   transform_value_kind(value));
    else if (!json_is_array(value))
        rc = transform_value_string(value, out, ctx->err);
    else
        json_array_foreach(value, k, elem) {
            if (k > 0)
                vane_buf_append(out, sep->data, sep->len);
            if (json_is_null(elem))
                continue;
            if ((rc = transform_value_string(elem, out, ctx->err)) != 0)
                break;
        }
    json_decref(value);
    return rc;
}

static int run_join(struct tf_ctx *ctx)
{
    struct vane_buf sep = VANE_BUF_INIT, out = VANE_BUF_INIT;
    int rc = transform_action_string(ctx, 1, &sep);

    for (size_t i = 2; rc == 0 && i < ctx->action->nargs; i++) {
        if (i > 2)
            vane_buf_append(&out, sep.data, sep.len);
        rc = join_value(ctx, i, &sep, &out);
        if (rc == 0 && out.len > TF_MAX_TEXT)
            rc = transform_action_fail(ctx, i, "the result grew longer than %g MiB",
                                       TF_MAX_TEXT_MIB);
    }
    if (rc == 0)
        rc = transform_action_set_string(ctx, 0, out.data, out.len);
    vane_buf_free(&sep);
    vane_buf_free(&out);
    return rc;
}

/* Go's strings.Split: by sep, or into characters when sep is empty. */
static int run_split_with_delimiter(struct tf_ctx *ctx)
{
    struct vane_buf s = VANE_BUF_INIT, sep = VANE_BUF_INIT;
    size_t *bounds = NULL, n = 0, start = 0;
    int rc;

    if ((rc = transform_action_string(ctx, 0, &s)) != 0 ||
        (rc = transform_action_string(ctx, 1, &sep)) != 0)
        goto out;
    bounds = vane_malloc((s.len + 1) * 2 * sizeof(*bounds));
    for (size_t i = 0; i < s.len;) {
        wint_t c;
        size_t step = sep.len == 0 ? utf8_next((const unsigned char *)s.data + i, s.len - i, &c)
                                   : 1;

        if (sep.len == 0 || (s.len - i >= sep.len && memcmp(s.data + i, sep.data, sep.len) == 0)) {
            bounds[2 * n] = start;
            bounds[2 * n + 1] = sep.len == 0 ? i + step : i;
            n++;
            i += sep.len == 0 ? step : sep.len;
            start = i;
        } else {
            i += step;
        }
    }
    if (sep.len != 0 || s.len == 0) {
        bounds[2 * n] = start;
        bounds[2 * n + 1] = s.len;
        n++;
    }
    rc = set_pieces(ctx, 2, &s, bounds, sep.len == 0 && s.len == 0 ? 0 : n);
out:
    vane_free(bounds);
    vane_buf_free(&s);
    vane_buf_free(&sep);
    return rc;
}

static int run_extract_between_delimiters(struct tf_ctx *ctx)
{
    struct vane_buf s = VANE_BUF_INIT, open = VANE_BUF_INIT, close = VANE_BUF_INIT;
    size_t from, to;
    int rc;

    if ((rc = transform_action_string(ctx, 0, &s)) == 0 &&
        (rc = transform_action_string(ctx, 2, &open)) == 0 &&
        (rc = transform_action_string(ctx, 3, &close)) == 0 &&
        (rc = find_between(ctx, &s, 2, &open, &close, &from, &to)) == 0)
        rc = transform_action_set_string(ctx, 1, s.data + from, to - from);
    vane_buf_free(&s);
    vane_buf_free(&open);
    vane_buf_free(&close);
    return rc;
}

/* 1-based, both ends included. */
static int run_extract_between_positions(struct tf_ctx *ctx)
{
    struct vane_buf s = VANE_BUF_INIT;
    long long start, end;
    int rc;

    if ((rc = transform_action_string(ctx, 0, &s)) != 0 ||
        (rc = transform_action_int(ctx, 2, &start)) != 0 ||
        (rc = transform_action_int(ctx, 3, &end)) != 0)
        goto out;
    if (start <= 0 || (size_t)start > s.len)
        rc = transform_action_fail(ctx, 2, "start position %lld must be from 1 to the length "
                                   "of the string (%zu)", start, s.len);
    else if (end > (long long)s.len)
        rc = transform_action_fail(ctx, 3, "end position %lld must be at most the length of "
                                   "the string (%zu)", end, s.len);
    else if (start > end)
        rc = transform_action_fail(ctx, 2, "start position %lld must be at most end position "
                                   "%lld", start, end);
    else
        rc = transform_action_set_string(ctx, 1, s.data + start - 1, (size_t)(end - start + 1));
out:
    vane_buf_free(&s);
    return rc;
}

/* [s[:start], s[start:end], s[end:]], clipped to the string; the target must be new. */
static int run_split_between_positions(struct tf_ctx *ctx)
{
    struct vane_buf s = VANE_BUF_INIT;
    long long start, end;
    size_t b[6];
    int rc;

    if ((rc = transform_action_string(ctx, 0, &s)) != 0 ||
        (rc = transform_action_int(ctx, 1, &start)) != 0 ||
        (rc = transform_action_int(ctx, 2, &end)) != 0 ||
        (rc = transform_action_absent(ctx, 3)) != 0)
        goto out;
    if (start < 0 || start >= end) {
        rc = transform_action_fail(ctx, 1, "start position %lld must be from 0 to less than "
                                   "end position %lld", start, end);
        goto out;
    }
    b[0] = 0;
    b[1] = b[2] = (size_t)start < s.len ? (size_t)start : s.len;
    b[3] = b[4] = (size_t)end < s.len ? (size_t)end : s.len;
    b[5] = s.len;
    rc = set_pieces(ctx, 3, &s, b, 3);
out:
    vane_buf_free(&s);
    return rc;
}

/* [s[:position], s[position:]]. */
static int run_split_from_start(struct tf_ctx *ctx)
{
    struct vane_buf s = VANE_BUF_INIT;
    long long position;
    size_t b[4];
    int rc;

    if ((rc = transform_action_string(ctx, 0, &s)) != 0 ||
        (rc = transform_action_int(ctx, 1, &position)) != 0)
        goto out;
    if (position <= 0) {
        rc = transform_action_fail(ctx, 1, "split position %lld must be more than zero",
                                   position);
        goto out;
    }
    b[0] = 0;
    b[1] = b[2] = (size_t)position < s.len ? (size_t)position : s.len;
    b[3] = s.len;
    rc = set_pieces(ctx, 2, &s, b, 2);
out:
    vane_buf_free(&s);
    return rc;
}

/* [s[:start]], then pieces of interval bytes; the target must be new. */
static int run_split_with_intervals(struct tf_ctx *ctx)
{
    struct vane_buf s = VANE_BUF_INIT;
    long long start, interval;
    size_t *bounds = NULL, n = 0;
    int rc;

    if ((rc = transform_action_string(ctx, 0, &s)) != 0 ||
        (rc = transform_action_int(ctx, 1, &start)) != 0 ||
        (rc = transform_action_int(ctx, 2, &interval)) != 0 ||
        (rc = transform_action_absent(ctx, 3)) != 0)
        goto out;
    if (start < 0 || interval <= 0) {
        rc = transform_action_fail(ctx, start < 0 ? 1 : 2, "the start position must be 0 or "
                                   "more and the interval more than 0");
        goto out;
    }
    bounds = vane_malloc((s.len + 2) * 2 * sizeof(*bounds));
    bounds[0] = 0;
    bounds[1] = (size_t)start < s.len ? (size_t)start : s.len;
    n = 1;
    if ((size_t)start <= s.len) {
        for (size_t i = (size_t)start; i < s.len; i += (size_t)interval, n++) {
            bounds[2 * n] = i;
            bounds[2 * n + 1] = s.len - i > (size_t)interval ? i + (size_t)interval : s.len;
        }
    }
    rc = set_pieces(ctx, 3, &s, bounds, n);
out:
    vane_free(bounds);
    vane_buf_free(&s);
    return rc;
}

/* Writes argument yes or no (constants, any JSON) at argument target. */
static int set_flag(struct tf_ctx *ctx, size_t target, bool which, size_t yes, size_t no)
{
    json_t *flag;
    int rc = transform_action_get(ctx, which ? yes : no, &flag);

    return rc != 0 ? rc : transform_action_set(ctx, target, flag);
}

/* ["check_custom_values", source, value, target, trueFlag, falseFlag] */
static int run_check_custom_values(struct tf_ctx *ctx)
{
    struct vane_buf s = VANE_BUF_INIT, needle = VANE_BUF_INIT;
    int rc;

    if ((rc = transform_action_string(ctx, 0, &s)) == 0 &&
        (rc = transform_action_string(ctx, 1, &needle)) == 0)
        rc = set_flag(ctx, 2, needle.len == 0 ||
                      memmem(s.data ? s.data : "", s.len, needle.data, needle.len) != NULL, 3, 4);
    vane_buf_free(&s);
    vane_buf_free(&needle);
    return rc;
}

/* ["extract_missing", source, target, trueFlag, falseFlag]: true when source is "". */
static int run_extract_missing(struct tf_ctx *ctx)
{
    struct vane_buf s = VANE_BUF_INIT;
    int rc = transform_action_string(ctx, 0, &s);

    if (rc == 0)
        rc = set_flag(ctx, 1, s.len == 0, 2, 3);
    vane_buf_free(&s);
    return rc;
}

#define E TF_ARG_EVENT
#define A TF_ARG_ANY
#define C TF_ARG_CONST
#define D TF_ARG_DATA

const struct tf_action_def transform_action_string_defs[] = {
    {"join", NULL, 3, SIZE_MAX, {E, A, A}, 1u << 0, NULL, run_join, NULL},
    {"upper_case", NULL, 1, 1, {E}, 1u << 0, NULL, run_upper, NULL},
    {"lower_case", NULL, 1, 1, {E}, 1u << 0, NULL, run_lower, NULL},
    {"add_prefix", NULL, 2, 2, {E, A}, 1u << 0, NULL, run_add_prefix, NULL},
    {"add_suffix", NULL, 2, 2, {E, A}, 1u << 0, NULL, run_add_suffix, NULL},
    {"replace_with_regex", NULL, 3, 3, {E, A, A}, 1u << 0, prepare_regex,
     run_replace_with_regex, release_regex},
    {"replace_string", NULL, 3, 3, {E, A, A}, 1u << 0, NULL, run_replace_string, NULL},
    {"replace_between_positions", NULL, 4, 4, {E, A, A, A}, 1u << 0, NULL,
     run_replace_between_positions, NULL},
    {"capitalize_sentence", NULL, 1, 1, {E}, 1u << 0, NULL, run_capitalize_sentence, NULL},
    {"check_custom_values", NULL, 5, 5, {E, C, E, C, C}, 1u << 2, NULL,
     run_check_custom_values, NULL},
    {"split_with_intervals", "split_with_interval", 4, 4, {E, A, A, D}, 1u << 3, NULL,
     run_split_with_intervals, NULL},
    {"extract_between_delimiters", NULL, 4, 4, {E, E, A, A}, 1u << 1, NULL,
     run_extract_between_delimiters, NULL},
    {"extract_missing", "extract_missing_action", 4, 4, {E, E, C, C}, 1u << 1, NULL,
     run_extract_missing, NULL},
    {"replace_between_delimiters", NULL, 4, 4, {E, A, A, A}, 1u << 0, NULL,
     run_replace_between_delimiters, NULL},
    {"capitalize_word", NULL, 1, 1, {E}, 1u << 0, NULL, run_capitalize_word, NULL},
    {"split_with_delimiter", NULL, 3, 3, {E, C, D}, 1u << 2, NULL, run_split_with_delimiter,
     NULL},
    {"split_between_positions", NULL, 4, 4, {E, A, A, D}, 1u << 3, NULL,
     run_split_between_positions, NULL},
    {"split_from_start", NULL, 3, 3, {E, C, D}, 1u << 2, NULL, run_split_from_start, NULL},
    {"extract_between_positions", NULL, 4, 4, {E, E, A, A}, 1u << 1, NULL,
     run_extract_between_positions, NULL},
    {NULL, NULL, 0, 0, {0}, 0, NULL, NULL, NULL},
};

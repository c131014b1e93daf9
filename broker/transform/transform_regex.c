/*
 * transform_regex.c -- replace_with_regex on the C library's POSIX regular
 * expressions (see transform_internal.h).
 *
 * Vanus uses Go's regexp (RE2 syntax).  POSIX extended expressions, with
 * glibc's extensions (\w \W \s \S \b \B), cover the everyday part of it;
 * this file bridges the rest that is common and can be done faithfully:
 *   - \d and \D, and \d \w \s inside brackets, become bracket classes;
 *   - \n \t \r become the characters, as in Go;
 *   - a leading (?i) makes the whole expression ignore case.
 * What POSIX cannot do is refused when the transformer is compiled, never
 * run with another meaning: lazy repetition ("*?", "+?", "??", "}?", which
 * POSIX would read as greedy), other (?...) groups, \p classes, and escapes
 * it has no equivalent for.  Named groups are therefore never there, so
 * ${name} in a replacement is always empty, as Go makes an unknown name.
 *
 * Replacing follows Go's ReplaceAllString: matches left to right, none
 * overlapping; an empty match right after a previous match is skipped; in
 * the replacement $1 or ${1} is a group's text, $$ a dollar, and a '$'
 * that starts no valid name is written as it is.  Matching runs on the
 * whole string with REG_STARTEND, so ^, \b and \< see what comes before the
 * current position.  regexec() on a compiled expression is thread-safe.
 */
#include <errno.h>
#include <regex.h>
#include <string.h>

#include "core/alloc.h"
#include "transform/transform_internal.h"

#define MAX_GROUPS 32

struct tf_regex {
    regex_t re;
    size_t groups; /* parenthesized subexpressions */
};

/* One escape outside brackets, translated; 0, or -EINVAL when POSIX has no equivalent. */
static int escape_outside(char c, struct vane_buf *out, struct transform_error *err)
{
    static const char kept[] = "wWsSbB.*+?()[]{}|^$\\/<>-";

    switch (c) {
    case 'd': vane_buf_append_str(out, "[0-9]"); return 0;
    case 'D': vane_buf_append_str(out, "[^0-9]"); return 0;
    case 'n': vane_buf_append(out, "\n", 1); return 0;
    case 't': vane_buf_append(out, "\t", 1); return 0;
    case 'r': vane_buf_append(out, "\r", 1); return 0;
    }
    if (c != '\0' && strchr(kept, c) != NULL) {
        vane_buf_append(out, "\\", 1);
        vane_buf_append(out, &c, 1);
        return 0;
    }
    return transform_why(err, "the regular expression escape \\%c is not supported "
                              "(POSIX extended expressions)", c);
}

/* One escape inside brackets, where POSIX has no escapes at all. */
static int escape_inside(char c, struct vane_buf *out, struct transform_error *err)
{
    switch (c) {
    case 'd': vane_buf_append_str(out, "0-9"); return 0;
    case 'w': vane_buf_append_str(out, "A-Za-z0-9_"); return 0;
    case 's': vane_buf_append_str(out, " \t\n\r\f\v"); return 0;
    case 'n': vane_buf_append(out, "\n", 1); return 0;
    case 't': vane_buf_append(out, "\t", 1); return 0;
    case '\\': case '.': case '[': case '^': case '$': case '*': case '+': case '?':
    case '(': case ')': case '{': case '}': case '|': case '/':
        vane_buf_append(out, &c, 1);
        return 0;
    }
    return transform_why(err, "the escape \\%c inside [...] is not supported (write ] first "
                              "and - first or last instead)", c);
}

static bool is_lazy(const char *p, size_t i, size_t len)
{
    return i + 1 < len && p[i + 1] == '?' && (p[i] == '*' || p[i] == '+' || p[i] == '?' ||
                                               p[i] == '}');
}

/* Go's syntax into POSIX's; *icase when it began with (?i). */
static int translate(const char *p, size_t len, struct vane_buf *out, bool *icase,
                     struct transform_error *err)
{
    bool bracket = false;
    size_t i = 0, bracket_start = 0;
    int rc = 0;

    if (memchr(p, '\0', len) != NULL)
        return transform_why(err, "a regular expression cannot contain a NUL byte");
    if ((*icase = len >= 4 && memcmp(p, "(?i)", 4) == 0))
        i = 4;
    for (; i < len && rc == 0; i++) {
        char c = p[i];

        if (c == '\\' && i + 1 < len) {
            i++;
            rc = bracket ? escape_inside(p[i], out, err) : escape_outside(p[i], out, err);
            continue;
        }
        if (c == '\\')
            return transform_why(err, "the regular expression ends in a lone backslash");
        if (!bracket && c == '[') {
            bracket = true;
            bracket_start = out->len + 1;
            if (i + 1 < len && p[i + 1] == '^')
                vane_buf_append(out, &c, 1), c = p[++i], bracket_start++;
        } else if (bracket && c == ']' && out->len > bracket_start) {
            bracket = false;
        } else if (!bracket && c == '(' && i + 1 < len && p[i + 1] == '?') {
            return transform_why(err, "(?...) groups are not supported (only a leading (?i))");
        } else if (!bracket && is_lazy(p, i, len)) {
            return transform_why(err, "lazy repetition (%c?) is not supported by POSIX "
                                      "regular expressions", c);
        }
        vane_buf_append(out, &c, 1);
    }
    return rc;
}

/* ---- size ------------------------------------------------------------------ */

/*
 * glibc's regcomp() copies the subexpression a repetition applies to ("a+" is
 * "aa*", "a{3}" is "aaa"), so stacked repetitions grow its tree
 * exponentially: "((a+)+)+..." or "(a{999}){999}" would take gigabytes.
 * Before compiling, the size of that tree is estimated the same way and an
 * expression that would pass MAX_NODES is refused, as are what Go refuses
 * too: a repetition applied to a repetition ("a**", "a+{2}") and counts
 * over 1000.
 */
#define MAX_NODES 20000
#define MAX_REPEAT 1000
#define MAX_NESTING 100

struct sizer {
    double sum[MAX_NESTING + 1]; /* nodes so far at each open parenthesis depth */
    double last;                 /* nodes of the item a repetition would apply to */
    int depth;
    bool after_repeat;           /* the previous token was a repetition */
};

/* A {m}, {m,} or {m,n} at p (after the '{'): the largest count, or -1 when malformed. */
static long read_count(const char *p, size_t len, size_t *used)
{
    long largest = -1, n = -1;
    size_t i = 0;

    for (; i < len && p[i] != '}'; i++) {
        if (p[i] == ',') {
            n = -1;
            continue;
        }
        if (p[i] < '0' || p[i] > '9')
            return -1;
        n = (n < 0 ? 0 : n) * 10 + (p[i] - '0');
        if (n > 100000)
            n = 100000;
        if (n > largest)
            largest = n;
    }
    *used = i + 1;
    return i < len ? (largest < 1 ? 1 : largest) : -1;
}

/* The index of the ']' that closes the bracket expression opening at p[i] (or len). */
static size_t skip_bracket(const char *p, size_t len, size_t i)
{
    i++;
    if (i < len && p[i] == '^')
        i++;
    if (i < len && p[i] == ']')
        i++; /* a ']' first is a member */
    while (i < len && p[i] != ']') {
        if (p[i] == '[' && i + 1 < len && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
            const char close[2] = {p[i + 1], ']'};
            const char *end = memmem(p + i + 2, len - i - 2, close, 2);

            i = end != NULL ? (size_t)(end - p) + 2 : len;
        } else {
            i++;
        }
    }
    return i;
}

static int repeat(struct sizer *z, double times, struct transform_error *err)
{
    if (z->after_repeat)
        return transform_why(err, "a repetition cannot repeat another (as in \"a**\"): "
                                  "use a group, (a*)*");
    z->sum[z->depth] += z->last * (times - 1);
    z->last *= times;
    z->after_repeat = true;
    return 0;
}

static int check_size(const char *p, size_t len, struct transform_error *err)
{
    struct sizer z = {{0}, 0, 0, false};
    int rc = 0;

    for (size_t i = 0; i < len && rc == 0; i++) {
        size_t used;
        long count;
        bool repetition = p[i] == '*' || p[i] == '+' || p[i] == '?' || p[i] == '{';

        if (p[i] == '*' || p[i] == '?')
            rc = repeat(&z, 1, err);
        else if (p[i] == '+')
            rc = repeat(&z, 2, err);
        else if (p[i] == '{') {
            if ((count = read_count(p + i + 1, len - i - 1, &used)) > MAX_REPEAT)
                return transform_why(err, "a repetition count is at most %d", MAX_REPEAT);
            rc = count < 0 ? 0 : repeat(&z, (double)count, err);
            i += count < 0 ? 0 : used;
        } else if (p[i] == '(') {
            if (z.depth == MAX_NESTING)
                return transform_why(err, "parentheses nest deeper than %d", MAX_NESTING);
            z.sum[++z.depth] = 0;
        } else if (p[i] == ')' && z.depth > 0) {
            z.last = z.sum[z.depth--] + 1;
            z.sum[z.depth] += z.last;
        } else {
            if (p[i] == '\\' && i + 1 < len)
                i++;
            else if (p[i] == '[')
                i = skip_bracket(p, len, i);
            z.last = 1;
            z.sum[z.depth] += 1;
        }
        if (!repetition)
            z.after_repeat = false;
        if (z.sum[z.depth] > MAX_NODES || z.last > MAX_NODES)
            return transform_why(err, "the regular expression is too large once its "
                                      "repetitions are expanded");
    }
    return rc;
}

int transform_regex_compile(const char *pattern, size_t len, struct tf_regex **out,
                            struct transform_error *err)
{
    struct vane_buf posix = VANE_BUF_INIT;
    struct tf_regex *re;
    bool icase = false;
    char why[128];
    int rc;

    *out = NULL;
    if ((rc = translate(pattern, len, &posix, &icase, err)) != 0 ||
        (rc = check_size(posix.data ? posix.data : "", posix.len, err)) != 0) {
        vane_buf_free(&posix);
        return rc;
    }
    re = VANE_NEW(re);
    rc = regcomp(&re->re, posix.data ? posix.data : "", REG_EXTENDED | (icase ? REG_ICASE : 0));
    vane_buf_free(&posix);
    if (rc != 0) {
        regerror(rc, &re->re, why, sizeof(why));
        vane_free(re);
        return transform_why(err, "bad regular expression: %s", why);
    }
    re->groups = re->re.re_nsub;
    *out = re;
    return 0;
}

void transform_regex_free(struct tf_regex *re)
{
    if (re == NULL)
        return;
    regfree(&re->re);
    vane_free(re);
}

/* ---- replacing --------------------------------------------------------- */

/* Length of the UTF-8 character at s (at least 1). */
static size_t char_len(const char *s, size_t n)
{
    unsigned char c = (unsigned char)s[0];
    size_t len = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;

    return len <= n ? len : 1;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

/* Appends repl with $n and ${n} expanded from the match m of s. */
static void expand(struct vane_buf *out, const char *repl, size_t len, const char *s,
                   const regmatch_t *m, size_t groups)
{
    for (size_t i = 0; i < len; i++) {
        const char *dollar = memchr(repl + i, '$', len - i);
        size_t start, end, group = 0;
        bool braced, numeric = true;

        if (dollar == NULL || dollar + 1 == repl + len) {
            vane_buf_append(out, repl + i, len - i); /* the rest is text */
            return;
        }
        vane_buf_append(out, repl + i, (size_t)(dollar - repl) - i);
        i = (size_t)(dollar - repl);
        if (repl[i + 1] == '$') {
            vane_buf_append(out, "$", 1);
            i++;
            continue;
        }
        braced = repl[i + 1] == '{';
        start = end = i + 1 + braced;
        while (end < len && name_char(repl[end]))
            end++;
        if (end == start || (braced && (end >= len || repl[end] != '}'))) {
            vane_buf_append(out, "$", 1); /* malformed: the '$' is text */
            continue;
        }
        for (size_t k = start; k < end; k++) {
            numeric &= repl[k] >= '0' && repl[k] <= '9';
            if (numeric && group < 1000)
                group = group * 10 + (size_t)(repl[k] - '0');
        }
        if (numeric && group <= groups && group < MAX_GROUPS && m[group].rm_so >= 0)
            vane_buf_append(out, s + m[group].rm_so, (size_t)(m[group].rm_eo - m[group].rm_so));
        i = end - 1 + braced;
    }
}

int transform_regex_replace(const struct tf_regex *re, const char *s, size_t len,
                            const char *repl, size_t repl_len, struct vane_buf *out,
                            struct transform_error *err)
{
    regmatch_t m[MAX_GROUPS];
    size_t pos = 0, step;
    long last_end = -1;

    while (pos <= len) {
        if (out->len > TF_MAX_TEXT)
            return transform_why(err, "the result grew longer than %g MiB", TF_MAX_TEXT_MIB);
        m[0].rm_so = (regoff_t)pos;
        m[0].rm_eo = (regoff_t)len;
        if (regexec(&re->re, s, MAX_GROUPS, m, REG_STARTEND) != 0)
            break;
        if (m[0].rm_so == m[0].rm_eo && m[0].rm_so == last_end) {
            /* An empty match right after the last one: Go skips it. */
            if (pos >= len)
                break;
            step = char_len(s + pos, len - pos);
            vane_buf_append(out, s + pos, step);
            pos += step;
            continue;
        }
        vane_buf_append(out, s + pos, (size_t)m[0].rm_so - pos);
        expand(out, repl, repl_len, s, m, re->groups);
        last_end = m[0].rm_eo;
        pos = (size_t)m[0].rm_eo;
        if (m[0].rm_so == m[0].rm_eo) {
            if (pos >= len)
                return 0;
            step = char_len(s + pos, len - pos);
            vane_buf_append(out, s + pos, step);
            pos += step;
        }
    }
    if (pos < len)
        vane_buf_append(out, s + pos, len - pos);
    return 0;
}

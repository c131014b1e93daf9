/*
 * cesql_text.c -- UTF-8, case mapping, white space, number text and LIKE
 * for CESQL (see cesql_text.h).
 *
 * Case mapping is a table of ranges rather than the C library's towlower(),
 * which depends on the process's locale (in the "C" locale glibc maps
 * ASCII only).  Each range maps upper case to lower case either as a block
 * (every code point in [first, last] plus delta) or alternately (the code
 * points at an even distance from first are upper case, each followed by
 * its lower case).  Mapping the other way runs the same table backwards.
 * Every pair in the table encodes to the same number of UTF-8 bytes, which
 * is what lets cesql_case_map() write into a buffer of the input's size.
 *
 * LIKE.  A pattern is compiled into pieces: exact text, "_" (one
 * character) and "%" (any run).  Matching walks text and pieces together
 * and, on a mismatch, goes back to the last "%" seen and lets it take one
 * more character: the classic wildcard algorithm, linear for patterns with
 * one "%" and O(text * pattern) at worst.  Shortcuts cover the forms
 * filters use most: a "%" that ends the pattern matches the rest at once,
 * a "%" followed only by text compares the text with the end of the
 * string, and a "%" followed by text moves on to where that text occurs
 * next (memmem) rather than one character at a time.
 */
#include <string.h>
#include <strings.h>

#include "filter/cesql_text.h"

size_t cesql_utf8_next(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t value, min;
    size_t need;

    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    if (u[0] >= 0xc2 && u[0] < 0xe0) {
        need = 1, min = 0x80, value = u[0] & 0x1f;
    } else if (u[0] >= 0xe0 && u[0] < 0xf0) {
        need = 2, min = 0x800, value = u[0] & 0x0f;
    } else if (u[0] >= 0xf0 && u[0] < 0xf5) {
        need = 3, min = 0x10000, value = u[0] & 0x07;
    } else {
        goto invalid;
    }
    if (len <= need)
        goto invalid;
    for (size_t i = 1; i <= need; i++) {
        if ((u[i] & 0xc0) != 0x80)
            goto invalid;
        value = value << 6 | (u[i] & 0x3f);
    }
    if (value < min || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
        goto invalid;
    *cp = value;
    return need + 1;
invalid:
    *cp = CESQL_NOT_A_CHAR;
    return 1;
}

size_t cesql_utf8_count(const char *s, size_t len)
{
    size_t count = 0;
    uint32_t cp;

    for (size_t at = 0; at < len; count++)
        at += cesql_utf8_next(s + at, len - at, &cp);
    return count;
}

size_t cesql_utf8_skip(const char *s, size_t len, size_t n)
{
    size_t at = 0;
    uint32_t cp;

    while (n-- > 0 && at < len)
        at += cesql_utf8_next(s + at, len - at, &cp);
    return at;
}

bool cesql_is_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* ---- case mapping ----------------------------------------------------------- */

struct case_range {
    uint32_t first, last; /* the upper-case code points */
    int32_t delta;        /* lower = upper + delta */
    bool alternate;       /* only every other code point from first (delta 1) */
};

static const struct case_range case_ranges[] = {
    {0x00c0, 0x00d6, 32, false},   {0x00d8, 0x00de, 32, false},  /* Latin-1 */
    {0x0100, 0x012e, 1, true},     {0x0132, 0x0136, 1, true},    /* Latin Extended-A */
    {0x0139, 0x0147, 1, true},     {0x014a, 0x0176, 1, true},
    {0x0178, 0x0178, -121, false}, {0x0179, 0x017d, 1, true},
    {0x0386, 0x0386, 38, false},   {0x0388, 0x038a, 37, false},  /* Greek */
    {0x038c, 0x038c, 64, false},   {0x038e, 0x038f, 63, false},
    {0x0391, 0x03a1, 32, false},   {0x03a3, 0x03ab, 32, false},
    {0x03d8, 0x03ee, 1, true},
    {0x0400, 0x040f, 80, false},   {0x0410, 0x042f, 32, false},  /* Cyrillic */
    {0x0460, 0x0480, 1, true},     {0x048a, 0x04be, 1, true},
    {0x04c1, 0x04cd, 1, true},     {0x04d0, 0x052e, 1, true},
    {0x0531, 0x0556, 48, false},                                 /* Armenian */
    {0x10a0, 0x10c5, 7264, false},                               /* Georgian */
    {0x1e00, 0x1e94, 1, true},     {0x1ea0, 0x1efe, 1, true},    /* Latin Extended Additional */
    {0x2160, 0x216f, 16, false},   {0x24b6, 0x24cf, 26, false},  /* Roman numerals, circled */
    {0x2c00, 0x2c2e, 48, false},   {0x2c80, 0x2ce2, 1, true},    /* Glagolitic, Coptic */
    {0xa640, 0xa66c, 1, true},     {0xa680, 0xa69a, 1, true},    /* Cyrillic Extended-B */
    {0xff21, 0xff3a, 32, false},                                 /* full-width Latin */
    {0x10400, 0x10427, 40, false},                               /* Deseret */
};

static uint32_t to_lower(uint32_t cp)
{
    for (size_t i = 0; i < sizeof(case_ranges) / sizeof(case_ranges[0]); i++) {
        const struct case_range *r = &case_ranges[i];

        if (cp >= r->first && cp <= r->last && (!r->alternate || (cp - r->first) % 2 == 0))
            return (uint32_t)((int32_t)cp + r->delta);
    }
    return cp;
}

static uint32_t to_upper(uint32_t cp)
{
    for (size_t i = 0; i < sizeof(case_ranges) / sizeof(case_ranges[0]); i++) {
        const struct case_range *r = &case_ranges[i];
        uint32_t upper = (uint32_t)((int32_t)cp - r->delta);

        if (upper >= r->first && upper <= r->last &&
            (!r->alternate || (upper - r->first) % 2 == 0))
            return upper;
    }
    return cp;
}

/* Writes cp as UTF-8 into out; returns its length. */
static size_t utf8_put(uint32_t cp, char *out)
{
    unsigned char *u = (unsigned char *)out;

    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        u[0] = (unsigned char)(0xc0 | cp >> 6);
        u[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        u[0] = (unsigned char)(0xe0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    u[0] = (unsigned char)(0xf0 | cp >> 18);
    u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    u[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

void cesql_case_map(const char *s, size_t len, char *out, bool upper)
{
    size_t at = 0;

    while (at < len) {
        unsigned char c = (unsigned char)s[at];
        uint32_t cp;
        size_t n;

        if (c < 0x80) { /* ASCII: the common case, no table */
            out[at++] = (char)(upper ? (c >= 'a' && c <= 'z' ? c - 32 : c)
                                     : (c >= 'A' && c <= 'Z' ? c + 32 : c));
            continue;
        }
        n = cesql_utf8_next(s + at, len - at, &cp);
        if (cp == CESQL_NOT_A_CHAR) {
            out[at] = s[at];
        } else {
            char mapped[4];
            size_t m = utf8_put(upper ? to_upper(cp) : to_lower(cp), mapped);

            /* The table keeps lengths; the check keeps a table mistake
             * from ever writing past out. */
            memcpy(out + at, m == n ? mapped : s + at, n);
        }
        at += n;
    }
}

/* ---- numbers and booleans as text -------------------------------------------- */

bool cesql_parse_integer(const char *s, size_t len, int32_t *out)
{
    bool negative = false;
    int64_t value = 0;
    size_t at = 0;

    if (len > 0 && (s[0] == '+' || s[0] == '-'))
        negative = s[at++] == '-';
    if (at == len)
        return false;
    for (; at < len; at++) {
        if (s[at] < '0' || s[at] > '9')
            return false;
        value = value * 10 + (s[at] - '0');
        if (value > (int64_t)INT32_MAX + 1)
            return false;
    }
    if (negative)
        value = -value;
    if (value > INT32_MAX)
        return false;
    *out = (int32_t)value;
    return true;
}

bool cesql_parse_boolean(const char *s, size_t len, bool *out)
{
    if (len == 4 && strncasecmp(s, "true", 4) == 0)
        *out = true;
    else if (len == 5 && strncasecmp(s, "false", 5) == 0)
        *out = false;
    else
        return false;
    return true;
}

/* ---- LIKE ------------------------------------------------------------------ */

size_t cesql_like_compile(const char *pattern, size_t len, struct cesql_like_piece *pieces,
                          char *text)
{
    struct cesql_like_piece *last = NULL;
    size_t count = 0, text_len = 0;

    for (size_t at = 0; at < len; at++) {
        char c = pattern[at];

        if (c == '%' || c == '_') {
            if (c == '%' && last != NULL && last->kind == CESQL_LIKE_ANY)
                continue;
            last = &pieces[count++];
            last->kind = c == '%' ? CESQL_LIKE_ANY : CESQL_LIKE_ONE;
            last->text = NULL;
            last->len = 0;
            continue;
        }
        if (c == '\\' && at + 1 < len && (pattern[at + 1] == '%' || pattern[at + 1] == '_'))
            c = pattern[++at];
        if (last == NULL || last->kind != CESQL_LIKE_TEXT) {
            last = &pieces[count++];
            last->kind = CESQL_LIKE_TEXT;
            last->text = text + text_len;
            last->len = 0;
        }
        text[text_len++] = c;
        last->len++;
    }
    return count;
}

/* Whether the pieces from i on are one TEXT piece that ends the pattern. */
static bool only_text_left(const struct cesql_like_piece *pieces, size_t count, size_t i)
{
    return i + 1 == count && pieces[i].kind == CESQL_LIKE_TEXT;
}

bool cesql_like_match(const struct cesql_like_piece *pieces, size_t count, const char *s,
                      size_t len)
{
    size_t i = 0, at = 0;  /* the next piece, the next byte of s */
    size_t star = SIZE_MAX, star_at = 0; /* the last "%" seen and where its run ends */
    uint32_t cp;

    for (;;) {
        if (i < count) {
            const struct cesql_like_piece *p = &pieces[i];

            if (p->kind == CESQL_LIKE_ANY) {
                if (i + 1 == count)
                    return true;
                if (only_text_left(pieces, count, i + 1)) {
                    const struct cesql_like_piece *tail = &pieces[i + 1];

                    return len - at >= tail->len &&
                           memcmp(s + len - tail->len, tail->text, tail->len) == 0;
                }
                star = i++;
                star_at = at;
                continue;
            }
            if (p->kind == CESQL_LIKE_TEXT && len - at >= p->len &&
                memcmp(s + at, p->text, p->len) == 0) {
                at += p->len;
                i++;
                continue;
            }
            if (p->kind == CESQL_LIKE_ONE && at < len) {
                at += cesql_utf8_next(s + at, len - at, &cp);
                i++;
                continue;
            }
        } else if (at == len) {
            return true;
        }
        /* A mismatch: the last "%" takes one more character, or there is none.
         * When text follows the "%", it takes all the characters up to where
         * that text next occurs, at once. */
        if (star == SIZE_MAX || star_at == len)
            return false;
        star_at += cesql_utf8_next(s + star_at, len - star_at, &cp);
        if (pieces[star + 1].kind == CESQL_LIKE_TEXT) {
            const char *next = memmem(s + star_at, len - star_at, pieces[star + 1].text,
                                      pieces[star + 1].len);

            if (next == NULL)
                return false;
            star_at = (size_t)(next - s);
        }
        at = star_at;
        i = star + 1;
    }
}

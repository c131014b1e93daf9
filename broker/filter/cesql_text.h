/*
 * cesql_text.h -- the string work of CESQL: UTF-8 characters, case
 * mapping, Unicode white space, integer and boolean text, and the LIKE
 * matcher.  Used by the parser, the evaluator and the built-in functions.
 *
 * Strings are byte ranges (ptr, len), never NUL-terminated.  A byte that
 * does not start a valid UTF-8 sequence (overlong forms, surrogates and
 * values past U+10FFFF included) is one character of its own, so every
 * function here takes any bytes.
 */
#ifndef VANE_FILTER_CESQL_TEXT_H
#define VANE_FILTER_CESQL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returned for a byte that is not valid UTF-8. */
#define CESQL_NOT_A_CHAR UINT32_MAX

/* Decodes the character at s (len >= 1 bytes left): returns its length in
 * bytes, and its code point (or CESQL_NOT_A_CHAR, length 1) in *cp. */
size_t cesql_utf8_next(const char *s, size_t len, uint32_t *cp);

/* The number of characters in s. */
size_t cesql_utf8_count(const char *s, size_t len);

/* The byte offset just past the first n characters of s (len when shorter). */
size_t cesql_utf8_skip(const char *s, size_t len, size_t n);

/* Whether cp is Unicode white space (the White_Space property). */
bool cesql_is_space(uint32_t cp);

/* Writes s lower- or upper-cased into out, which has room for len bytes:
 * every mapping used keeps a character's encoded length, so the result is
 * len bytes too. */
void cesql_case_map(const char *s, size_t len, char *out, bool upper);

/* Reads a 32-bit base-10 integer, an optional '+' or '-' then digits and
 * nothing else.  false when s is not one or is out of range. */
bool cesql_parse_integer(const char *s, size_t len, int32_t *out);

/* Reads "true" or "false" in any case.  false when s is neither. */
bool cesql_parse_boolean(const char *s, size_t len, bool *out);

/* One piece of a compiled LIKE pattern. */
enum cesql_like_kind {
    CESQL_LIKE_TEXT, /* these bytes exactly (escapes already removed) */
    CESQL_LIKE_ONE,  /* "_": one character */
    CESQL_LIKE_ANY,  /* "%": any characters, none included (runs of % are one) */
};

struct cesql_like_piece {
    enum cesql_like_kind kind;
    const char *text; /* CESQL_LIKE_TEXT: not empty */
    size_t len;
};

/*
 * Compiles a LIKE pattern (the string literal's value): "%" and "_" are
 * wildcards, "\%" and "\_" stand for themselves, any other byte (a "\"
 * before anything else included) is itself.  pieces has room for len + 1
 * entries and text for len bytes (the TEXT pieces point into it).  Returns
 * the number of pieces.
 */
size_t cesql_like_compile(const char *pattern, size_t len, struct cesql_like_piece *pieces,
                          char *text);

/* Whether s matches the compiled pattern, case-sensitively. */
bool cesql_like_match(const struct cesql_like_piece *pieces, size_t count, const char *s,
                      size_t len);

#endif

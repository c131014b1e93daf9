/*
 * json_span.h -- where the members of a JSON text are, as raw text.
 *
 * jansson parses and checks a document but does not say where in the text a
 * value was.  Where the broker must keep a value exactly as the client sent
 * it (a structured-mode event's "data": number formats, key order and
 * spacing untouched), it walks the same text with these functions to find
 * the value's bytes.  They expect text that jansson has already accepted:
 * they skip over values, they do not check them, and on anything unexpected
 * they report "not found" rather than guess.
 */
#ifndef VANE_CORE_JSON_SPAN_H
#define VANE_CORE_JSON_SPAN_H

#include <stdbool.h>
#include <stddef.h>

struct json_span {
    const char *ptr;
    size_t len;
};

/*
 * In the object that text holds, the raw text of the value of the member
 * whose key is written exactly as key (no escapes).  false when text is not
 * an object or has no such member.
 */
bool json_span_member(struct json_span text, const char *key, struct json_span *value);

/*
 * The raw text of the elements of the array that text holds, at most max of
 * them, into elems.  Returns how many, or -1 when text is not an array or
 * holds more than max.
 */
long json_span_elements(struct json_span text, struct json_span *elems, size_t max);

#endif

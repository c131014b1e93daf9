/*
 * data_path.h -- Vanus's "data.<path>" filter keys: a dotted path into an
 * event's JSON data, and the text a value found there compares as.
 *
 * Grammar of the path (the part after "data."):
 *
 *     path    = segment *("." segment)
 *     segment = name *("[" index "]")
 *     name    = 1*(any byte but "." "[" "]")
 *     index   = "0" / %x31-39 *DIGIT
 *
 * A name of decimal digits (no leading zero) indexes an array as well as
 * naming an object member; a bracketed index applies only to arrays.
 * Indexes count from 0.  filter.h documents the rules for users; filter.c
 * is the only caller.
 */
#ifndef VANE_FILTER_DATA_PATH_H
#define VANE_FILTER_DATA_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "event/event.h"

/* Room for the text of any JSON number data_path_text() formats. */
#define DATA_PATH_TEXT_MAX 32

struct data_step {
    const char *key;  /* a member name (into data_path.text), or NULL: an array index only */
    size_t key_len;
    size_t index;     /* the array index, when has_index */
    bool has_index;
};

struct data_path {
    char *text;       /* owned copy of the path the steps point into */
    struct data_step *steps;
    size_t count;
};

/*
 * Parses the len bytes of path (without the "data." prefix) into out.
 * Returns 0, or -EINVAL with why (why_size bytes) saying what was expected.
 */
int data_path_parse(const char *path, size_t len, struct data_path *out, char *why,
                    size_t why_size);

void data_path_free(struct data_path *path);

/*
 * The event's data parsed as JSON (any JSON value), or NULL when the event
 * has no data, its datacontenttype is present and not JSON, or the bytes
 * do not parse.  The caller owns the result (json_decref()).
 */
json_t *data_path_load(const struct event *event);

/* The value path leads to in root, or NULL.  The result is borrowed from root. */
json_t *data_path_find(const struct data_path *path, json_t *root);

/*
 * The text value compares as, set in *ptr and *len (a string's own bytes,
 * or buf, DATA_PATH_TEXT_MAX bytes, for numbers); false for NULL, null,
 * objects and arrays, which match nothing.
 */
bool data_path_text(json_t *value, char *buf, const char **ptr, size_t *len);

#endif

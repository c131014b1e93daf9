/*
 * output.h -- how vanectl prints what the broker answered.
 *
 * --format json prints the JSON as received, indented.  --format table
 * prints an object as KEY VALUE rows and an array of objects as a table
 * whose columns are the first object's keys.
 */
#ifndef VANECTL_OUTPUT_H
#define VANECTL_OUTPUT_H

#include <stdio.h>

#include <jansson.h>

enum output_format {
    OUTPUT_TABLE,
    OUTPUT_JSON,
};

/* Parses "table" or "json".  Returns 0 or -EINVAL. */
int output_format_parse(const char *name, enum output_format *format);

void output_print(FILE *out, const json_t *value, enum output_format format);

#endif

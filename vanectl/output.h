/*
 * output.h -- how vanectl prints what the broker answered.
 *
 * --format json prints the JSON as received, indented.  --format table
 * prints an object as KEY VALUE rows and an array of objects as a table
 * whose columns are the first object's keys, or the columns a command names
 * (output_table).  In a table, strings print bare, other values as JSON.
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

/*
 * Prints rows (an array of objects) as a table with the named columns,
 * headed by the column names in upper case; a row without a column has an
 * empty cell.  The heading is printed even when there are no rows.
 */
void output_table(FILE *out, const char *const *columns, size_t column_count,
                  const json_t *rows);

/*
 * output_table() of a row per element of items (an array; anything else
 * gives no rows), each made by row(item) as a new object.
 */
void output_table_of(FILE *out, const char *const *columns, size_t column_count,
                     const json_t *items, json_t *(*row)(const json_t *item));

#endif

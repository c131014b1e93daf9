/*
 * output.c -- table and JSON printing for vanectl (see output.h).
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "output.h"

int output_format_parse(const char *name, enum output_format *format)
{
    if (strcmp(name, "table") == 0)
        *format = OUTPUT_TABLE;
    else if (strcmp(name, "json") == 0)
        *format = OUTPUT_JSON;
    else
        return -EINVAL;
    return 0;
}

/* A cell's text: strings bare, everything else as compact JSON (reals to
 * 9 significant digits, not jansson's 17).  Free it with free(). */
static char *cell_text(const json_t *value)
{
    if (value == NULL)
        return vane_strdup("");
    if (json_is_string(value))
        return vane_strdup(json_string_value(value));
    return json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(9));
}

static void print_upper(FILE *out, const char *s, int width)
{
    int n = 0;

    for (; *s != '\0'; s++, n++)
        fputc(toupper((unsigned char)*s), out);
    if (width > n)
        fprintf(out, "%*s", width - n, "");
}

static void print_object(FILE *out, const json_t *object)
{
    const char *key;
    json_t *value;
    int width = 0;

    json_object_foreach((json_t *)object, key, value) {
        int len = (int)strlen(key);

        width = len > width ? len : width;
    }
    json_object_foreach((json_t *)object, key, value) {
        char *text = cell_text(value);

        print_upper(out, key, width + 2);
        fprintf(out, "%s\n", text);
        free(text);
    }
}

void output_table(FILE *out, const char *const *columns, size_t column_count,
                  const json_t *rows)
{
    int *width = vane_calloc(column_count ? column_count : 1, sizeof(int));
    const json_t *row;
    size_t i, c;

    for (c = 0; c < column_count; c++)
        width[c] = (int)strlen(columns[c]);
    json_array_foreach(rows, i, row) {
        for (c = 0; c < column_count; c++) {
            char *text = cell_text(json_object_get(row, columns[c]));
            int len = (int)strlen(text);

            width[c] = len > width[c] ? len : width[c];
            free(text);
        }
    }
    for (c = 0; c < column_count; c++)
        print_upper(out, columns[c], c + 1 < column_count ? width[c] + 2 : 0);
    fputc('\n', out);
    json_array_foreach(rows, i, row) {
        for (c = 0; c < column_count; c++) {
            char *text = cell_text(json_object_get(row, columns[c]));

            fprintf(out, "%-*s", c + 1 < column_count ? width[c] + 2 : 0, text);
            free(text);
        }
        fputc('\n', out);
    }
    vane_free(width);
}

void output_table_of(FILE *out, const char *const *columns, size_t column_count,
                     const json_t *items, json_t *(*row)(const json_t *item))
{
    json_t *rows = json_array();
    const json_t *item;
    size_t i;

    json_array_foreach(items, i, item)
        json_array_append_new(rows, row(item));
    output_table(out, columns, column_count, rows);
    json_decref(rows);
}

/* A table whose columns are the first row's keys. */
static void print_rows(FILE *out, const json_t *array)
{
    const json_t *first = json_array_get(array, 0);
    const char **columns = vane_calloc(json_object_size(first) + 1, sizeof(*columns));
    const char *key;
    json_t *value;
    size_t c = 0;

    json_object_foreach((json_t *)first, key, value)
        columns[c++] = key;
    output_table(out, columns, c, array);
    vane_free(columns);
}

void output_print(FILE *out, const json_t *value, enum output_format format)
{
    if (format == OUTPUT_TABLE && json_is_object(value)) {
        print_object(out, value);
    } else if (format == OUTPUT_TABLE && json_is_array(value) &&
               json_is_object(json_array_get(value, 0))) {
        print_rows(out, value);
    } else {
        json_dumpf(value, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        fputc('\n', out);
    }
}

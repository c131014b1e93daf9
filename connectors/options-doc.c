/*
 * options-doc.c -- keeps the options tables of doc/connectors.md equal to
 * what the connectors declare.
 *
 *     connectors/options-doc DOC.md PLUGIN...          rewrite DOC.md's tables
 *     connectors/options-doc --check DOC.md PLUGIN...  compare them (TAP)
 *
 * Each PLUGIN (a built connector, connectors/sink-http.la) is loaded with
 * the broker's own loader (plugin/plugin.h), which checks it as vaned
 * would, and its declared options are rendered as a Markdown table
 * (plugin_options_describe gives the same view as GET /api/v1/plugins).
 * The table replaces whatever stands in DOC.md between the lines
 *
 *     <!-- options: NAME -->
 *     <!-- end options: NAME -->
 *
 * `make connectors-doc` runs the first form; the test
 * tests/test-connectors-doc.sh runs the second, printing one TAP line per
 * connector, so a changed option that the doc does not show fails `make
 * check`.  A build tool and a test, so it links libvane; the connectors
 * themselves never do.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "plugin/plugin.h"
#include "plugin/plugin_options.h"

/* Appends text with the characters Markdown tables give a meaning escaped. */
static void append_cell(struct vane_buf *out, const char *text)
{
    for (; *text != '\0'; text++) {
        if (*text == '|')
            vane_buf_append_str(out, "\\|");
        else if (*text == '\n')
            vane_buf_append(out, " ", 1);
        else
            vane_buf_append(out, text, 1);
    }
}

static void append_row(struct vane_buf *out, const json_t *option)
{
    const json_t *dflt = json_object_get(option, "default");
    char *dflt_text = dflt != NULL ? json_dumps(dflt, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

    vane_buf_appendf(out, "| `%s` | %s%s%s | ", json_string_value(json_object_get(option, "name")),
                     json_string_value(json_object_get(option, "type")),
                     json_is_true(json_object_get(option, "required")) ? ", required" : "",
                     json_is_true(json_object_get(option, "secret")) ? ", secret" : "");
    if (dflt_text != NULL) {
        vane_buf_append(out, "`", 1);
        append_cell(out, dflt_text);
        vane_buf_append(out, "`", 1);
    }
    vane_buf_append(out, " | ", 3);
    append_cell(out, json_string_value(json_object_get(option, "doc")));
    vane_buf_append_str(out, " |\n");
    free(dflt_text);
}

/* The plugin's options as a Markdown table (a line saying there are none if so). */
static void options_table(const struct plugin *p, struct vane_buf *out)
{
    json_t *described = plugin_options_describe(p->options, p->option_count);
    size_t i;
    json_t *option;

    if (json_array_size(described) == 0)
        vane_buf_append_str(out, "It has no options.\n");
    else
        vane_buf_append_str(out, "| option | type | default | what it does |\n"
                                 "|---|---|---|---|\n");
    json_array_foreach(described, i, option)
        append_row(out, option);
    json_decref(described);
}

/*
 * Replaces the text between name's markers in doc with table.  Returns 0,
 * 1 when the text there was already table, or -1 when doc lacks the
 * markers (said on stderr).
 */
static int replace_section(struct vane_buf *doc, const char *name, const struct vane_buf *table)
{
    char *begin = vane_asprintf("<!-- options: %s -->\n", name);
    char *end = vane_asprintf("<!-- end options: %s -->", name);
    char *from = strstr(doc->data, begin), *to;
    struct vane_buf rebuilt = VANE_BUF_INIT;
    int rc = -1;

    to = from != NULL ? strstr(from, end) : NULL;
    if (to == NULL) {
        fprintf(stderr, "options-doc: the doc has no \"%s\" ... \"%s\" lines for %s\n",
                begin, end, name);
        goto done;
    }
    from += strlen(begin);
    rc = (size_t)(to - from) == table->len && memcmp(from, table->data, table->len) == 0;
    vane_buf_append(&rebuilt, doc->data, (size_t)(from - doc->data));
    vane_buf_append(&rebuilt, table->data, table->len);
    vane_buf_append_str(&rebuilt, to);
    vane_buf_free(doc);
    *doc = rebuilt;
done:
    vane_free(begin);
    vane_free(end);
    return rc;
}

static bool read_doc(const char *path, struct vane_buf *doc)
{
    FILE *f = fopen(path, "rb");
    char chunk[8192];
    size_t n;

    if (f == NULL) {
        perror(path);
        return false;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        vane_buf_append(doc, chunk, n);
    fclose(f);
    vane_buf_append(doc, "", 0); /* a NUL even when empty */
    return true;
}

static bool write_doc(const char *path, const struct vane_buf *doc)
{
    FILE *f = fopen(path, "wb");
    bool ok = f != NULL && fwrite(doc->data, 1, doc->len, f) == doc->len;

    if (f != NULL && fclose(f) != 0)
        ok = false;
    if (!ok)
        perror(path);
    return ok;
}

/* Updates (or, checking, compares) one plugin's section; true when it is current. */
static bool one_plugin(const char *file, struct vane_buf *doc, bool check, int number)
{
    struct plugin *p;
    struct vane_buf table = VANE_BUF_INIT;
    char *why = NULL;
    int rc;

    if (plugin_load(file, NULL, false, &p, &why) != 0) {
        printf("%s %d - %s loads\n# %s\n", check ? "not ok" : "#", number, file, why);
        vane_free(why);
        return false;
    }
    options_table(p, &table);
    rc = replace_section(doc, p->name, &table);
    if (check)
        printf("%s %d - the options table of %s in the doc is current%s\n",
               rc == 1 ? "ok" : "not ok", number, p->name,
               rc == 0 ? " (run `make connectors-doc`)" : "");
    vane_buf_free(&table);
    plugin_release(p);
    return rc >= 0 && (!check || rc == 1);
}

int main(int argc, char **argv)
{
    bool check = argc > 1 && strcmp(argv[1], "--check") == 0;
    int first = check ? 2 : 1, failed = 0;
    struct vane_buf doc = VANE_BUF_INIT;

    if (argc - first < 2) {
        fprintf(stderr, "usage: options-doc [--check] DOC.md PLUGIN...\n");
        return 2;
    }
    if (!read_doc(argv[first], &doc))
        return 1;
    if (check)
        printf("1..%d\n", argc - first - 1);
    for (int i = first + 1; i < argc; i++)
        failed += !one_plugin(argv[i], &doc, check, i - first);
    if (!check && failed == 0 && !write_doc(argv[first], &doc))
        failed = 1;
    vane_buf_free(&doc);
    return failed > 0;
}

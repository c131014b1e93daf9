/*
 * options-doc.c -- keeps the options tables of doc/connectors.md equal to
 * what the connectors declare.
 *
 *     connectors/options-doc DOC.md... -- PLUGIN...          rewrite the docs' tables
 *     connectors/options-doc --check DOC.md... -- PLUGIN...  compare them (TAP)
 *
 * Each PLUGIN (a built connector, connectors/sink-http.la) is loaded with
 * the broker's own loader (plugin/plugin.h), which checks it as vaned
 * would, and its declared options are rendered as a Markdown table
 * (plugin_options_describe gives the same view as GET /api/v1/plugins).
 * The table replaces whatever stands in each DOC.md between the lines
 *
 *     <!-- options: NAME -->
 *     <!-- end options: NAME -->
 *
 * (doc/connectors.md has them for every connector, each connector's
 * README.md for its own); a plugin that no doc shows is an error.
 * `make connectors-doc` runs the first form; the test
 * tests/test-connectors-doc.sh runs the second, printing one TAP line per
 * table, so a changed option that a doc does not show fails `make check`.
 * A build tool and a test, so it links libvane; the connectors themselves
 * never do.
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
 * Replaces the text between name's markers in doc with table.  Returns 1
 * when the text there was already table, 0 when it was replaced, or -1
 * when doc has no markers for name.
 */
static int replace_section(struct vane_buf *doc, const char *name, const struct vane_buf *table)
{
    char *begin = vane_asprintf("<!-- options: %s -->\n", name);
    char *end = vane_asprintf("<!-- end options: %s -->", name);
    char *from = strstr(doc->data, begin), *to;
    struct vane_buf rebuilt = VANE_BUF_INIT;
    int rc = -1;

    to = from != NULL ? strstr(from, end) : NULL;
    if (to == NULL)
        goto done;
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

struct run {
    bool check;
    int tests, failed;
};

/* A TAP line when checking; a failure either way is counted. */
static void report(struct run *run, bool pass, const char *fmt, const char *a, const char *b)
{
    run->tests++;
    run->failed += !pass;
    if (run->check) {
        printf("%s %d - ", pass ? "ok" : "not ok", run->tests);
        printf(fmt, a, b);
        printf("\n");
    } else if (!pass) {
        fprintf(stderr, "options-doc: ");
        fprintf(stderr, fmt, a, b);
        fprintf(stderr, "\n");
    }
}

/* Updates (or compares) the sections of every doc for one plugin. */
static void one_plugin(struct run *run, const char *file, struct vane_buf *docs,
                       char *const *doc_paths, int doc_count)
{
    struct plugin *p;
    struct vane_buf table = VANE_BUF_INIT;
    char *why = NULL;
    int found = 0;

    if (plugin_load(file, NULL, false, &p, &why) != 0) {
        report(run, false, "%s loads (%s)", file, why);
        vane_free(why);
        return;
    }
    options_table(p, &table);
    for (int i = 0; i < doc_count; i++) {
        int rc = replace_section(&docs[i], p->name, &table);

        if (rc < 0)
            continue;
        found++;
        if (run->check)
            report(run, rc == 1, "%s shows the options of %s as declared (else run `make "
                   "connectors-doc`)", doc_paths[i], p->name);
    }
    if (found == 0)
        report(run, false, "some doc has <!-- options: %s --> ... <!-- end options: %s --> lines",
               p->name, p->name);
    vane_buf_free(&table);
    plugin_release(p);
}

int main(int argc, char **argv)
{
    struct run run = {.check = argc > 1 && strcmp(argv[1], "--check") == 0};
    int first = run.check ? 2 : 1, sep = first, doc_count;
    struct vane_buf *docs;

    while (sep < argc && strcmp(argv[sep], "--") != 0)
        sep++;
    doc_count = sep - first;
    if (doc_count == 0 || sep + 1 >= argc) {
        fprintf(stderr, "usage: options-doc [--check] DOC.md... -- PLUGIN...\n");
        return 2;
    }
    docs = vane_calloc((size_t)doc_count, sizeof(*docs));
    for (int i = 0; i < doc_count; i++)
        if (!read_doc(argv[first + i], &docs[i]))
            return 1;
    for (int i = sep + 1; i < argc; i++)
        one_plugin(&run, argv[i], docs, argv + first, doc_count);
    for (int i = 0; i < doc_count; i++) {
        if (!run.check && run.failed == 0 && !write_doc(argv[first + i], &docs[i]))
            run.failed++;
        vane_buf_free(&docs[i]);
    }
    vane_free(docs);
    if (run.check)
        printf("1..%d\n", run.tests);
    return run.failed > 0;
}

/*
 * metrics.c -- the metrics registry and its Prometheus text rendering (see
 * metrics.h).
 *
 * Families form a list in declaration order; each holds its series in a
 * list in creation order (a tail pointer keeps appends O(1)).  A series is
 * one allocation: its label values are a separate array, and a histogram's
 * per-bucket counts follow the struct.  Buckets count the observations that
 * fell in them only; the cumulative counts the format asks for are summed
 * while rendering, so an observation touches one bucket.  Lookup by label
 * values is a linear scan: it happens once per series, not per event.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "metrics/metrics.h"

enum metrics_type {
    METRICS_COUNTER,
    METRICS_GAUGE,
    METRICS_HISTOGRAM,
};

static const char *const type_names[] = {"counter", "gauge", "histogram"};

struct metrics_series {
    struct metrics_family *family;
    struct metrics_series *next;
    char **label_values;
    uint64_t counter;
    double gauge;
    double sum;           /* histogram: sum of the observations */
    uint64_t count;       /* histogram: number of observations */
    uint64_t buckets[];   /* histogram: bound_count + 1 (the last is +Inf) */
};

struct metrics_family {
    enum metrics_type type;
    char *name, *help;
    char **label_names;
    size_t label_count;
    double *bounds;
    size_t bound_count;
    struct metrics_series *series, **series_tail;
    struct metrics_family *next;
};

struct collect_hook {
    void (*fn)(struct metrics *m, void *arg);
    void *arg;
};

struct metrics {
    struct metrics_family *families, **families_tail;
    struct collect_hook *hooks;
    size_t hook_count;
};

static const char component[] = "metrics";

/* Declarations are the code's, not the user's: a bad one is a bug. */
static void __attribute__((noreturn, format(printf, 1, 2))) declaration_bug(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vane_vlog(LOG_LEVEL_ERROR, component, fmt, ap);
    va_end(ap);
    abort();
}

struct metrics *metrics_create(void)
{
    struct metrics *m = VANE_NEW(m);

    m->families_tail = &m->families;
    return m;
}

static void free_strings(char **strings, size_t count)
{
    if (strings == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        vane_free(strings[i]);
    vane_free(strings);
}

static void series_free(struct metrics_series *series)
{
    free_strings(series->label_values, series->family->label_count);
    vane_free(series);
}

static void family_free(struct metrics_family *family)
{
    struct metrics_series *next;

    for (struct metrics_series *s = family->series; s != NULL; s = next) {
        next = s->next;
        series_free(s);
    }
    free_strings(family->label_names, family->label_count);
    vane_free(family->bounds);
    vane_free(family->name);
    vane_free(family->help);
    vane_free(family);
}

void metrics_free(struct metrics *m)
{
    struct metrics_family *next;

    if (m == NULL)
        return;
    for (struct metrics_family *f = m->families; f != NULL; f = next) {
        next = f->next;
        family_free(f);
    }
    vane_free(m->hooks);
    vane_free(m);
}

/* ---- declaring ------------------------------------------------------------ */

static bool valid_name(const char *name, const char *first_chars)
{
    static const char more[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:";

    if (name[0] == '\0' || strchr(first_chars, name[0]) == NULL)
        return false;
    /* Label names take no colon: first_chars says whether this kind may. */
    for (const char *p = name + 1; *p != '\0'; p++)
        if (strchr(more, *p) == NULL || (*p == ':' && strchr(first_chars, ':') == NULL))
            return false;
    return true;
}

static const char metric_first[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:";
static const char label_first[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";

/* Splits "eventbus, reason" into checked names; *count of them. */
static char **parse_label_names(const char *metric, const char *list, size_t *count)
{
    char **names = NULL;
    const char *p = list;

    *count = 0;
    while (p != NULL && *p != '\0') {
        size_t len;

        p += strspn(p, " ");
        len = strcspn(p, ", ");
        names = vane_realloc(names, (*count + 1) * sizeof(*names));
        names[(*count)++] = vane_strndup(p, len);
        if (!valid_name(names[*count - 1], label_first) || strcmp(names[*count - 1], "le") == 0)
            declaration_bug("%s: label name \"%s\" is not [a-zA-Z_][a-zA-Z0-9_]* (nor \"le\")",
                            metric, names[*count - 1]);
        p += len;
        p += strspn(p, " ");
        if (*p == ',')
            p++;
    }
    return names;
}

static struct metrics_family *find_family(struct metrics *m, const char *name)
{
    for (struct metrics_family *f = m->families; f != NULL; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static bool same_shape(const struct metrics_family *a, const struct metrics_family *b)
{
    if (a->type != b->type || a->label_count != b->label_count ||
        a->bound_count != b->bound_count)
        return false;
    for (size_t i = 0; i < a->label_count; i++)
        if (strcmp(a->label_names[i], b->label_names[i]) != 0)
            return false;
    for (size_t i = 0; i < a->bound_count; i++)
        if (a->bounds[i] != b->bounds[i])
            return false;
    return true;
}

static void check_bounds(const char *name, const double *bounds, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            declaration_bug("%s: bucket bounds must be finite and strictly increasing", name);
}

static struct metrics_family *declare(struct metrics *m, enum metrics_type type, const char *name,
                                      const char *help, const char *label_names,
                                      const double *bounds, size_t bound_count)
{
    struct metrics_family *family, *existing;

    if (m == NULL)
        return NULL;
    if (!valid_name(name, metric_first))
        declaration_bug("metric name \"%s\" is not [a-zA-Z_:][a-zA-Z0-9_:]*", name);
    check_bounds(name, bounds, bound_count);
    family = VANE_NEW(family);
    family->type = type;
    family->name = vane_strdup(name);
    family->help = vane_strdup(help != NULL ? help : "");
    family->label_names = parse_label_names(name, label_names, &family->label_count);
    family->bound_count = bound_count;
    if (bound_count > 0) {
        family->bounds = vane_calloc(bound_count, sizeof(*bounds));
        memcpy(family->bounds, bounds, bound_count * sizeof(*bounds));
    }
    family->series_tail = &family->series;
    if ((existing = find_family(m, name)) != NULL) {
        if (!same_shape(existing, family))
            declaration_bug("%s declared twice with a different type, labels or buckets", name);
        family_free(family);
        return existing;
    }
    *m->families_tail = family;
    m->families_tail = &family->next;
    if (family->label_count == 0)
        metrics_series(family, NULL);
    return family;
}

struct metrics_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                       const char *label_names)
{
    return declare(m, METRICS_COUNTER, name, help, label_names, NULL, 0);
}

struct metrics_family *metrics_gauge(struct metrics *m, const char *name, const char *help,
                                     const char *label_names)
{
    return declare(m, METRICS_GAUGE, name, help, label_names, NULL, 0);
}

struct metrics_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                         const char *label_names, const double *bounds,
                                         size_t count)
{
    return declare(m, METRICS_HISTOGRAM, name, help, label_names, bounds, count);
}

/* ---- series --------------------------------------------------------------- */

static bool series_matches(const struct metrics_series *s, const char *const *values)
{
    for (size_t i = 0; i < s->family->label_count; i++)
        if (strcmp(s->label_values[i], values[i]) != 0)
            return false;
    return true;
}

struct metrics_series *metrics_series(struct metrics_family *family,
                                      const char *const *label_values)
{
    struct metrics_series *s;
    size_t buckets;

    if (family == NULL)
        return NULL;
    for (s = family->series; s != NULL; s = s->next)
        if (series_matches(s, label_values))
            return s;
    buckets = family->type == METRICS_HISTOGRAM ? family->bound_count + 1 : 0;
    s = vane_calloc(1, sizeof(*s) + buckets * sizeof(s->buckets[0]));
    s->family = family;
    if (family->label_count > 0) {
        s->label_values = vane_calloc(family->label_count, sizeof(*s->label_values));
        for (size_t i = 0; i < family->label_count; i++)
            s->label_values[i] = vane_strdup(label_values[i]);
    }
    *family->series_tail = s;
    family->series_tail = &s->next;
    return s;
}

void metrics_inc(struct metrics_series *series, uint64_t n)
{
    if (series == NULL)
        return;
    if (series->family->type == METRICS_GAUGE)
        series->gauge += (double)n;
    else
        series->counter += n;
}

void metrics_set(struct metrics_series *series, double value)
{
    if (series != NULL)
        series->gauge = value;
}

void metrics_observe(struct metrics_series *series, double value)
{
    const struct metrics_family *family;
    size_t i = 0;

    if (series == NULL)
        return;
    family = series->family;
    while (i < family->bound_count && value > family->bounds[i])
        i++;
    series->buckets[i]++;
    series->sum += value;
    series->count++;
}

double metrics_value(const struct metrics_series *series)
{
    if (series == NULL)
        return 0;
    switch (series->family->type) {
    case METRICS_COUNTER:
        return (double)series->counter;
    case METRICS_GAUGE:
        return series->gauge;
    case METRICS_HISTOGRAM:
        return (double)series->count;
    }
    return 0;
}

static size_t label_index(const struct metrics_family *family, const char *label_name)
{
    size_t i = 0;

    while (i < family->label_count && strcmp(family->label_names[i], label_name) != 0)
        i++;
    return i;
}

/* Frees the series of family whose label at index has value (every series when value is NULL). */
static void remove_series(struct metrics_family *family, size_t index, const char *value)
{
    struct metrics_series **link = &family->series;

    while (*link != NULL) {
        struct metrics_series *s = *link;

        if (value == NULL || strcmp(s->label_values[index], value) == 0) {
            *link = s->next;
            series_free(s);
        } else {
            link = &s->next;
        }
    }
    family->series_tail = link;
}

void metrics_drop_label(struct metrics *m, const char *label_name, const char *value)
{
    if (m == NULL)
        return;
    for (struct metrics_family *f = m->families; f != NULL; f = f->next) {
        size_t index = label_index(f, label_name);

        if (index < f->label_count)
            remove_series(f, index, value);
    }
}

void metrics_family_clear(struct metrics_family *family)
{
    if (family == NULL)
        return;
    remove_series(family, 0, NULL);
    /* A family without labels always has its one series, back at zero. */
    if (family->label_count == 0)
        metrics_series(family, NULL);
}

void metrics_on_collect(struct metrics *m, void (*fn)(struct metrics *m, void *arg), void *arg)
{
    if (m == NULL)
        return;
    m->hooks = vane_realloc(m->hooks, (m->hook_count + 1) * sizeof(*m->hooks));
    m->hooks[m->hook_count++] = (struct collect_hook){fn, arg};
}

/* ---- rendering ------------------------------------------------------------ */

/* Appends s with \ and newline escaped, and " too when in a label value. */
static void append_escaped(struct vane_buf *out, const char *s, bool quote)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            vane_buf_append_str(out, "\\\\");
        else if (*s == '\n')
            vane_buf_append_str(out, "\\n");
        else if (*s == '"' && quote)
            vane_buf_append_str(out, "\\\"");
        else
            vane_buf_append(out, s, 1);
    }
}

/* The shortest text that reads back as value; +Inf, -Inf and NaN as the format spells them. */
static void format_double(char *text, size_t size, double value)
{
    if (isnan(value)) {
        snprintf(text, size, "NaN");
        return;
    }
    if (isinf(value)) {
        snprintf(text, size, value > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(text, size, "%.*g", precision, value);
        if (strtod(text, NULL) == value)
            return;
    }
}

/* name{labels,le="..."} value, with suffix after the name and le only when given. */
static void append_sample(struct vane_buf *out, const struct metrics_series *s,
                          const char *suffix, const char *le, const char *value)
{
    const struct metrics_family *family = s->family;
    bool any = family->label_count > 0 || le != NULL;

    vane_buf_append_str(out, family->name);
    vane_buf_append_str(out, suffix);
    if (any)
        vane_buf_append_str(out, "{");
    for (size_t i = 0; i < family->label_count; i++) {
        vane_buf_appendf(out, "%s%s=\"", i > 0 ? "," : "", family->label_names[i]);
        append_escaped(out, s->label_values[i], true);
        vane_buf_append_str(out, "\"");
    }
    if (le != NULL)
        vane_buf_appendf(out, "%sle=\"%s\"", family->label_count > 0 ? "," : "", le);
    if (any)
        vane_buf_append_str(out, "}");
    vane_buf_appendf(out, " %s\n", value);
}

static void render_histogram(struct vane_buf *out, const struct metrics_series *s)
{
    const struct metrics_family *family = s->family;
    char le[32], value[32];
    uint64_t cumulative = 0;

    for (size_t i = 0; i <= family->bound_count; i++) {
        cumulative += s->buckets[i];
        if (i < family->bound_count)
            format_double(le, sizeof(le), family->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        snprintf(value, sizeof(value), "%" PRIu64, cumulative);
        append_sample(out, s, "_bucket", le, value);
    }
    format_double(value, sizeof(value), s->sum);
    append_sample(out, s, "_sum", NULL, value);
    snprintf(value, sizeof(value), "%" PRIu64, s->count);
    append_sample(out, s, "_count", NULL, value);
}

static void render_series(struct vane_buf *out, const struct metrics_series *s)
{
    char value[32];

    switch (s->family->type) {
    case METRICS_COUNTER:
        snprintf(value, sizeof(value), "%" PRIu64, s->counter);
        append_sample(out, s, "", NULL, value);
        break;
    case METRICS_GAUGE:
        format_double(value, sizeof(value), s->gauge);
        append_sample(out, s, "", NULL, value);
        break;
    case METRICS_HISTOGRAM:
        render_histogram(out, s);
        break;
    }
}

void metrics_render(struct metrics *m, struct vane_buf *out)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->hook_count; i++)
        m->hooks[i].fn(m, m->hooks[i].arg);
    for (const struct metrics_family *f = m->families; f != NULL; f = f->next) {
        vane_buf_appendf(out, "# HELP %s ", f->name);
        append_escaped(out, f->help, false);
        vane_buf_appendf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
        for (const struct metrics_series *s = f->series; s != NULL; s = s->next)
            render_series(out, s);
    }
}

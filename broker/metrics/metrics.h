/*
 * metrics.h -- counters, gauges and histograms, rendered in the Prometheus
 * text exposition format (version 0.0.4).
 *
 * A family is declared once, with its name, help text and label names; a
 * series is one combination of label values of a family.  Callers look a
 * series up once (metrics_series) and keep the pointer, so a hot path only
 * adds to a number: no lookup and no allocation per event.
 *
 *     struct metrics_family *f = metrics_counter(m, "vane_gateway_events_received_total",
 *                                                "Events received.", "eventbus");
 *     struct metrics_series *s = metrics_series(f, (const char *const[]){"orders"});
 *     ...
 *     metrics_inc(s, 1);
 *
 * A family without labels has its one series from the start
 * (metrics_series(f, NULL)).  Rendering follows declaration order and,
 * within a family, series creation order, so the text is deterministic.
 * Families with labels but no series yet are rendered with their HELP and
 * TYPE lines only.
 *
 * Everything may be NULL-passed: a NULL registry declares NULL families, a
 * NULL family gives NULL series, and counting into a NULL series does
 * nothing, so a part built without metrics (struct gateway's metrics NULL)
 * needs no checks of its own.
 *
 * Names are checked when declared (metric names [a-zA-Z_:][a-zA-Z0-9_:]*,
 * label names [a-zA-Z_][a-zA-Z0-9_]*); declaring a bad name, or one name
 * twice with a different type, labels or buckets, is a programming error
 * and aborts with a message.  Declaring the same family again returns it.
 *
 * Everything runs on the loop thread; nothing locks.
 */
#ifndef VANE_METRICS_H
#define VANE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct metrics;
struct metrics_family;
struct metrics_series;

/* Bucket upper bounds (seconds) for request durations. */
#define METRICS_LATENCY_BUCKETS \
    {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

struct metrics *metrics_create(void);
/* Frees the registry, its families and series; every series pointer dies with it. */
void metrics_free(struct metrics *m);

/*
 * Declares a family, or returns the one already declared under name.
 * label_names is a comma-separated list ("eventbus,reason") or NULL for
 * none.  help is copied.  The family lives as long as the registry.
 */
struct metrics_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                       const char *label_names);
struct metrics_family *metrics_gauge(struct metrics *m, const char *name, const char *help,
                                     const char *label_names);
/*
 * bounds: count strictly increasing, finite bucket upper bounds (copied);
 * the +Inf bucket is added.  Renders cumulative name_bucket{le="..."}
 * lines, name_sum and name_count.
 */
struct metrics_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                         const char *label_names, const double *bounds,
                                         size_t count);

/*
 * The series of family with label_values (one string per label name, in
 * declaration order; NULL for a family without labels), created at first
 * use.  The values are copied.  The pointer stays valid until the series is
 * dropped (metrics_drop_label, metrics_family_clear) or the registry freed.
 */
struct metrics_series *metrics_series(struct metrics_family *family,
                                      const char *const *label_values);

/* Adds n to a counter (or a gauge). */
void metrics_inc(struct metrics_series *series, uint64_t n);
/* Sets a gauge. */
void metrics_set(struct metrics_series *series, double value);
/* Records one observation in a histogram. */
void metrics_observe(struct metrics_series *series, double value);

/* A counter's or gauge's value now (a histogram's count), for tests and callers that read back. */
double metrics_value(const struct metrics_series *series);

/*
 * Frees every series, of every family, whose label label_name has value
 * (a deleted eventbus: metrics_drop_label(m, "eventbus", "orders")).
 * Callers holding pointers to those series must forget them first: they
 * dangle afterwards.
 */
void metrics_drop_label(struct metrics *m, const char *label_name, const char *value);

/*
 * Frees every series of family (a family without labels keeps its one
 * series, set to zero).  For gauges rebuilt at each scrape, so series of
 * things that went away disappear; pointers to them dangle afterwards.
 */
void metrics_family_clear(struct metrics_family *family);

/*
 * Runs fn(m, arg) at the start of every metrics_render(), in the order
 * added, to set gauges computed at scrape time.
 */
void metrics_on_collect(struct metrics *m, void (*fn)(struct metrics *m, void *arg), void *arg);

/* Runs the collect hooks, then appends the exposition text to out. */
void metrics_render(struct metrics *m, struct vane_buf *out);

#endif

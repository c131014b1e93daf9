/*
 * bench-util.h -- what the benchmark programs (bench-store, bench-gateway,
 * bench-trigger, bench-filter, bench-lua, bench-engine, bench-cluster)
 * share: their options as data, number formatting, the table of figures,
 * the run's fresh directory, a few readings of the machine (file system,
 * load average, a process's memory and CPU), child processes under a
 * deadline, the wrk driver of the publish figures, and GitHub-like push
 * events.
 *
 * Design.  Each program declares its knobs as a table of struct bench_knob
 * (option, environment variable, kind, offset of the field in its own
 * config struct); bench_options() applies the environment and then the
 * command line to that struct.  Defaults stay with each program, which asks
 * bench_quick() first because --quick changes them.  The formatting helpers
 * return text in a rotating set of static buffers (bench_scratch), so
 * several fit in one printf; they are for one thread.  bench_fatal() is for
 * a benchmark that cannot run: it removes the directory registered with
 * bench_fatal_removes() and exits 1.
 *
 * wrk.  bench-gateway and bench-cluster load vaned with wrk running a Lua
 * script written here: every request carries CloudEvent ids unique to the
 * run (a per-thread counter under a per-thread prefix made of the run's
 * tag), because the broker answers a repeated (source, id) from its
 * idempotency window without storing it again.  The script may name
 * several targets ("127.0.0.1:8081"): wrk thread k then connects to target
 * k mod n, which spreads one wrk's connections over the nodes of a cluster.
 *
 * Used only by tests/bench/; it links nothing beyond libvane (no harness).
 */
#ifndef VANE_BENCH_UTIL_H
#define VANE_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define BENCH_DEFAULT_PARENT "/work/bench-tmp"

/* The knobs of every benchmark that writes data (--dir) and runs vaned
 * (--vaned), as rows of its knob table; type has members dir and vaned. */
#define BENCH_KNOB_DIR(type)                                                                 \
    {"--dir", "BENCH_DIR", BENCH_KNOB_TEXT, offsetof(type, dir),                             \
     "parent directory of the run's data (default " BENCH_DEFAULT_PARENT ")"}
#define BENCH_KNOB_VANED(type)                                                               \
    {"--vaned", "VANED", BENCH_KNOB_TEXT, offsetof(type, vaned),                             \
     "the vaned binary to measure (default ./vaned)"}
/* --duration and --warmup of a program that loads vaned with wrk. */
#define BENCH_KNOB_WRK_WINDOW(type)                                                          \
    {"--duration", "BENCH_DURATION", BENCH_KNOB_SECONDS, offsetof(type, duration),           \
     "measured window of each load, whole seconds (10; --quick 2)"},                         \
    {"--warmup", "BENCH_WARMUP", BENCH_KNOB_SECONDS, offsetof(type, warmup),                 \
     "load before each window, not counted, whole seconds (2; --quick 1)"}
#define BENCH_MAX_ROWS 96

/* ---- options ---------------------------------------------------------------- */

enum bench_knob_kind { BENCH_KNOB_SECONDS, BENCH_KNOB_COUNT, BENCH_KNOB_BYTES, BENCH_KNOB_TEXT };

/* A settable knob, as data: option, environment variable, kind, field. */
struct bench_knob {
    const char *option, *env;
    enum bench_knob_kind kind;
    size_t offset; /* of a double (seconds), uint64_t (count, bytes) or const char * (text) */
    const char *help;
};

/* A program's command line: its name, its knobs and how it checks values. */
struct bench_cli {
    const char *program;    /* "bench-store": prefix of its messages */
    const char *quick_help; /* what --quick does, for --help */
    int width;              /* of the option column of --help */
    const struct bench_knob *knobs;
    size_t nknobs;
    double min_seconds;     /* a seconds value must be above 0 and at least this */
    bool whole_seconds;     /* and whole (wrk takes whole seconds) */
    double max_count;       /* the largest count accepted */
};

/* Whether --quick is among the arguments or BENCH_QUICK is set. */
bool bench_quick(int argc, char **argv);

/* Sets cfg's knobs from the environment, then from argv (--quick skipped,
 * --keep sets *keep, --help prints the usage and exits 0).  Returns 0, or
 * -EINVAL after saying on stderr which variable or option was bad. */
int bench_options(const struct bench_cli *cli, void *cfg, bool *keep, int argc, char **argv);

/* Whether item is in the comma-separated list (everything when list is NULL). */
bool bench_listed(const char *list, const char *item);

/* The numbers of a comma-separated list ("1,2,4") into counts, at most max_n
 * of them; returns how many, or 0 when one is not a whole number 1..max_value. */
size_t bench_counts(const char *list, long max_value, unsigned *counts, size_t max_n);

/* ---- text ------------------------------------------------------------------- */

/* One of 24 rotating buffers of 48 bytes. */
char *bench_scratch(void);
/* 1234567 -> "1,234,567". */
const char *bench_num(double v);
/* Nanoseconds as "1.23 ms". */
const char *bench_fmt_ms(double ns);
/* KiB as "1.2 MiB". */
const char *bench_fmt_mib(double kib);

/* ---- the table of figures ----------------------------------------------------- */

/* One line of the final table. */
struct bench_row {
    char figure[48], measured[32], reference[48];
    double ratio; /* measured / target or reference; 0: none */
    int met;      /* 1 yes, 0 no, -1 not judged (a reference, or skipped) */
};

struct bench_table {
    struct bench_row rows[BENCH_MAX_ROWS];
    size_t nrows;
};

/* Adds a row (past BENCH_MAX_ROWS the last one is overwritten) and returns it. */
struct bench_row *bench_table_add(struct bench_table *t, const char *figure, const char *measured,
                                  const char *reference, double ratio, int met);
/* Prints the table after a blank line, then the footnote line. */
void bench_table_print(const struct bench_table *t, const char *footnote);

/* ---- the run ------------------------------------------------------------------ */

/* A fresh directory "<parent>/<program>-XXXXXX" (the parent is created if
 * missing); exits 1 when it cannot be made.  The caller frees it. */
char *bench_make_root(const char *parent, const char *program);
/* Removes path and everything below it. */
void bench_rmtree(const char *path);
/* The directory bench_fatal() removes (NULL: none). */
void bench_fatal_removes(const char *root);
/* The benchmark itself could not run: "<program>: message", clean up, exit 1. */
void bench_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* "ODD: message": something that should not happen but does not stop the run. */
void bench_odd(unsigned *count, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An ODD line for each warning or error line of a vaned log (at most
 * BENCH_ODD_LOG_LINES, then a count of the rest); log is changed. */
#define BENCH_ODD_LOG_LINES 5
void bench_odd_log(unsigned *count, char *log, const char *what);

/* A wait status in words ("exit status 0", "killed by signal 9 (Killed)");
 * -1 is a process still running after stop_timeout_s that was killed. */
const char *bench_describe_status(int status, int stop_timeout_s);

/* ---- the machine -------------------------------------------------------------- */

/* The file system's name, for a header line; *tmpfs (may be NULL) says
 * whether it is tmpfs. */
const char *bench_fs_name(const char *dir, bool *tmpfs);
/* The 1, 5 and 15 minute load averages; false when unreadable. */
bool bench_loadavg(double avg[3]);
/* "1.02, 0.87, 0.60 (1, 5, 15 min)" (zeros when unreadable), in a scratch buffer. */
const char *bench_loadavg_text(void);
/* VmRSS of pid in KiB, or 0 when it cannot be read (gone, or a zombie). */
double bench_rss_kib(pid_t pid);
/* CPU seconds pid has used (user + system), or 0. */
double bench_cpu_seconds(pid_t pid);
/* Seconds of CLOCK_MONOTONIC. */
double bench_now_s(void);

/* ---- child processes ------------------------------------------------------------ */

/* The full path of name in $PATH (kept for the run), or NULL. */
const char *bench_find_tool(const char *name);
/* Sleeps ms milliseconds: the period of a sampling loop, never a wait for a condition. */
void bench_pause_ms(int ms);
/* Starts argv with stdout and stderr to out_path (truncated); the child dies with this
 * program (PR_SET_PDEATHSIG).  A failed fork is fatal. */
pid_t bench_spawn(const char *const *argv, const char *out_path);
/* Whether pid (a child) has exited; reaps it into *status if so. */
bool bench_child_exited(pid_t pid, int *status);
/* SIGTERM, then up to timeout_s for the exit, SIGKILL past it.  Returns the wait status,
 * or -1 when it had to be killed. */
int bench_stop_child(pid_t pid, double timeout_s);

/* A tool's run: its output, and what the processes it was watching did meanwhile. */
struct bench_tool_run {
    int status;         /* wait status; -1 when it was killed at the deadline */
    char *output;       /* stdout and stderr together (vane_free() it) */
    double max_rss_kib; /* the most VmRSS sampled of one watched process */
    double watch_cpu;   /* CPU seconds the watched processes used together */
    bool watch_died;    /* one of them was gone at a sample */
};

/* Runs argv until it exits or timeout_s pass (then SIGKILL), sampling the nwatch
 * processes of watch every 50 ms. */
void bench_run_tool(const char *const *argv, double timeout_s, const pid_t *watch,
                    size_t nwatch, struct bench_tool_run *r);
/* The first line argv prints (run for at most 5 s), for a header; vane_free() it. */
char *bench_tool_version(const char *const *argv);

/* ---- wrk ------------------------------------------------------------------------ */

#define BENCH_WRK_GRACE 30.0 /* wrk may overrun its duration by this before it is killed, s */

/*
 * A wrk script: the head that makes ids unique (wrk's argument after "--"
 * is the run's tag) and spreads threads over the ntargets "host:port" of
 * targets (none: the URL's), then requests, which defines request() with
 * the head's prefix and count.  vane_free() it.
 */
char *bench_wrk_script(const char *requests, const char *const *targets, size_t ntargets);
/* The same, request() sending a binary-mode event (ce-* headers) of body_bytes of data. */
char *bench_wrk_binary_script(size_t body_bytes, const char *const *targets, size_t ntargets);

/* How wrk is run. */
struct bench_wrk {
    const char *wrk;                /* the binary */
    uint64_t threads, connections;
    double warmup, duration;        /* seconds, whole */
    unsigned *odd;                  /* the program's count of ODD lines */
};

/* What one run of wrk (or a warm-up and a window) measured. */
struct bench_load {
    bool ran;                  /* wrk ran and its report parsed */
    double seconds;            /* of the measured window, as wrk counted it */
    uint64_t requests, non2xx; /* answered; answered other than 2xx/3xx */
    uint64_t errors[4];        /* socket errors: connect, read, write, timeout */
    double rate;               /* 2xx answers per second */
    double p50_ns, p99_ns;
    double max_rss_kib;        /* of one watched vaned while wrk ran (and its warm-up) */
    double start_rss_kib;      /* of the largest watched vaned before the warm-up */
    uint64_t answered;         /* 2xx answers of the warm-up and the window */
    double vaned_cpu;          /* CPUs the watched vaned kept busy meanwhile, together */
};

/* One wrk run of seconds against url (wrk --latency, a 5 s request timeout) with
 * script and tag, watching the vaned processes of watch; an ODD line when it gave no
 * report or a watched vaned was gone. */
void bench_wrk_run(const struct bench_wrk *w, const char *url, const char *script,
                   const char *tag, double seconds, const pid_t *watch, size_t nwatch,
                   struct bench_load *l);
/* w->warmup seconds (tag "<tag>-warm", not counted), then w->duration measured, into l. */
void bench_wrk_load(const struct bench_wrk *w, const char *url, const char *script,
                    const char *tag, const pid_t *watch, size_t nwatch, struct bench_load *l);
/* The raw numbers of a measured window (per_req events per request) on one line, and
 * ODD lines for non-2xx answers and socket errors. */
void bench_wrk_print(const struct bench_wrk *w, const char *what, const struct bench_load *l,
                     double per_req);

/*
 * Judges the events stored against those answered 2xx (want): fewer is an
 * ODD line, and so are more than want + slack (the requests that may have
 * been in flight when wrk stopped); otherwise a line with both.  where
 * says whose count it is ("the eventbus", "node 2").
 */
void bench_judge_stored(unsigned *odd, const char *what, const char *where, double stored,
                        double want, double slack);

/* ---- GitHub-like events ----------------------------------------------------------- */

struct event;

/*
 * About 1 KiB of GitHub-like push data for event i, as JSON: repository.name
 * is repository, the commit's message filler_len x's.  Free with vane_free().
 */
char *bench_push_data(size_t i, const char *repository, size_t filler_len);

/*
 * Adds to event (EVENT_INIT) the attributes of GitHub's delivery id (kept
 * by the caller while event lives) of type: specversion, source
 * https://github.com/vane/vane, subject refs/heads/main, a time,
 * datacontenttype application/json, the extensions githubdelivery (id)
 * and sequence (i); then data (not copied).
 */
void bench_push_event(struct event *event, size_t i, const char *id, const char *type,
                      const char *data);

/* ---- statistics ---------------------------------------------------------------- */

/* qsort comparison of uint64_t. */
int bench_compare_u64(const void *a, const void *b);
/* The p-quantile (0 < p <= 1) of n sorted samples; 0 when n is 0. */
double bench_quantile(const uint64_t *sorted, size_t n, double p);

#endif

/*
 * harness.h -- what the integration tests share: temporary directories, the
 * real vaned and vanectl processes, a real HTTP client (libcurl) and the
 * calls the tests make of vaned's API with it, the HTTP sink, git
 * repositories, and events parsed from JSON.
 *
 * The binaries come from $VANED and $VANECTL, set by `make check`.  vaned
 * is started on 127.0.0.1 port 0; the harness reads the port from its start
 * line, so tests running in parallel never collide.  When $VANE_VALGRIND is
 * set (make check-valgrind), vaned runs under it.  Every wait polls for a
 * condition until a deadline, scaled by $VANE_TEST_TIME_SCALE for slow
 * builds (sanitizers, valgrind).
 */
#ifndef VANE_TESTS_HARNESS_H
#define VANE_TESTS_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

#include "core/arena.h"
#include "event/event.h"

struct vaned {
    pid_t pid;      /* 0 once it has exited and been reaped */
    int status;     /* its wait status once reaped, else -1 */
    char *log_path; /* vaned's stderr */
    char address[64]; /* "127.0.0.1:41234", from the start line */
    char url[96];     /* "http://127.0.0.1:41234" */
};

/* Multiplies a deadline by $VANE_TEST_TIME_SCALE (default 1). */
int harness_ms(int ms);

/* Makes a fresh directory under $TMPDIR (or /tmp); free with harness_rmtree. */
char *harness_tempdir(void);
void harness_rmtree(char *path); /* also frees path */

/*
 * Runs loop until *flag is true or timeout_ms (scaled) pass.  Returns
 * whether the flag came true.
 */
bool harness_loop_until(uv_loop_t *loop, const bool *flag, int timeout_ms);

struct eventlog;
struct eventlog_options;

/* Opens the eventlog in dir and runs loop until it is ready; NULL (with a diagnostic) if not. */
struct eventlog *harness_eventlog_open(uv_loop_t *loop, const char *dir,
                                       const struct eventlog_options *options);
/* Closes log and runs loop until it has. */
void harness_eventlog_close(uv_loop_t *loop, struct eventlog *log);

/* Closes every handle still open on loop, runs it dry and closes it; returns uv_loop_close()'s result. */
int harness_loop_close(uv_loop_t *loop);

/* Writes text to dir/name and returns the path (freed by the caller). */
char *harness_write_file(const char *dir, const char *name, const char *text);
/* Reads a whole file into a NUL-terminated string, or NULL. */
char *harness_read_file(const char *path);

/*
 * Starts vaned with args (NULL-terminated, may be NULL) and waits for its
 * start line and its ready line.  data_dir is passed as --data-dir; --listen 127.0.0.1:0 is
 * added unless args has a --listen.  Returns 0, or -1 if vaned exited or
 * did not start in time (its log is printed as diagnostics).
 */
int vaned_start(struct vaned *v, const char *data_dir, const char *const *args);

/* Starts vaned without waiting for anything. */
int vaned_spawn(struct vaned *v, const char *const *args);

/* Waits up to timeout_ms (scaled) for a spawned vaned's start and ready lines, as vaned_start(). */
int vaned_wait_ready(struct vaned *v, int timeout_ms);

/* Waits for exit; returns its wait status, or -1 on timeout (the process is left running).
 * Once reaped, returns the same status again. */
int vaned_wait(struct vaned *v, int timeout_ms);

/* Sends SIGKILL if still running, reaps it, and frees what v holds. */
void vaned_cleanup(struct vaned *v);

/* The log so far (freed by the caller). */
char *vaned_log(const struct vaned *v);

/*
 * Runs a command to completion, capturing stdout and stderr (freed by the
 * caller; either pointer may be NULL), with extra environment entries
 * ("NAME=value", NULL-terminated, may be NULL).  Returns the wait status.
 */
int harness_run(const char *const *argv, const char *const *env, char **out, char **err);

/*
 * Compiles tests/plugins/<source>.c into the shared object out with $VANE_CC
 * and only the SDK's headers, as a plugin author would (flags: more cc
 * options, or NULL).  true when it built; the compiler's complaint goes to
 * the TAP diagnostics otherwise.
 */
bool harness_build_plugin(const char *source, const char *flags, const char *out);

struct http_reply {
    long status;  /* 0 when no answer came */
    char *body;
    char *headers;
    long version; /* CURL_HTTP_VERSION_* actually used */
};

enum http_mode {
    HTTP_1_1,
    HTTP_2_PRIOR_KNOWLEDGE,
    HTTP_2_UPGRADE, /* HTTP/1.1 with Upgrade: h2c */
};

/* One request with a fresh connection.  Returns 0 when an answer came. */
int http_request(const char *method, const char *url, const char *body, enum http_mode mode,
                 struct http_reply *reply);

/* A request with headers and a body of any bytes. */
struct http_call {
    const char *method, *url;
    const char *const *headers; /* "Name: value", NULL-terminated; may be NULL */
    const void *body;           /* NULL: no body */
    size_t body_len;
    enum http_mode mode;
};

int http_call(const struct http_call *call, struct http_reply *reply);
void http_reply_free(struct http_reply *reply);

/* ---- vaned's HTTP API, as the integration tests call it ---------------------
 *
 * base is vaned's URL ("http://127.0.0.1:41234"): a test that points base at
 * its struct vaned's url follows vaned across restarts.  Every call is one
 * request on a fresh connection (http_call).
 *
 *     vaned_start_config(&v, data, config);
 *     base = v.url;
 *     api_post(base, "/api/v1/eventbuses", "{\"name\":\"orders\"}");
 *     api_publish_many(base, "orders", "o", 20);
 */

/* Starts vaned with --config config, as vaned_start() does. */
int vaned_start_config(struct vaned *v, const char *data_dir, const char *config);

/*
 * method on base + path with body (NULL: none) and headers ("Name: value",
 * NULL-terminated; NULL: Content-Type: application/json).  Returns the
 * answer parsed as JSON (NULL when none came or it is not JSON; the caller
 * json_decref()s it) and sets *status to its status (0: no answer).  Prints
 * nothing: for requests meant to be refused, and for benchmarks.
 */
json_t *api_call_with(const char *base, const char *method, const char *path,
                      const char *const *headers, const char *body, long *status);

/* api_call_with() a JSON body; an answer of 300 or more is printed as a diagnostic. */
json_t *api_call(const char *base, const char *method, const char *path, const char *body,
                 long *status);

/* POSTs the JSON body to base + path and returns the status (printed as api_call does). */
long api_post(const char *base, const char *path, const char *body);

/*
 * A sink connector and the subscription it serves: POSTs the subscription
 * sub, then, when that answered 201, the connector conn (both JSON).
 * Returns the last status.
 */
long api_create_sink(const char *base, const char *sub, const char *conn);

/* An event for api_publish(); a NULL member takes the default named. */
struct test_event {
    const char *id;
    const char *type;         /* NULL: "com.example.t" */
    const char *source;       /* NULL: "/test" */
    const char *content_type; /* NULL: "text/plain" */
    const char *data;         /* NULL: the id */
};

/* Publishes event in binary mode (POST /gateway/{bus}); true when it was
 * answered 200 (else the answer is printed as a diagnostic). */
bool api_publish(const char *base, const char *bus, const struct test_event *event);

/* Publishes count events with ids prefix-0, prefix-1, ... and the defaults
 * of struct test_event; false at the first not answered 200. */
bool api_publish_many(const char *base, const char *bus, const char *prefix, int count);

/* The events the eventbus holds over its eventlogs (GET
 * /api/v1/eventbuses/{bus}), or -1 when it does not answer 200.  Quiet. */
json_int_t api_stored_count(const char *base, const char *bus);

/* ---- waiting ------------------------------------------------------------------ */

/*
 * Calls count(arg) every 50 ms until it returns want or more, or timeout_ms
 * (scaled) pass.  Returns the last count.
 */
size_t harness_wait_count(size_t (*count)(const void *arg), const void *arg, size_t want,
                          int timeout_ms);

/* How many distinct lines starting with prefix the file at path holds (0 if it cannot be read). */
size_t harness_distinct_lines(const char *path, const char *prefix);
/* Waits (as harness_wait_count) until that is want or more; returns the last count. */
size_t harness_wait_lines(const char *path, const char *prefix, size_t want, int timeout_ms);

/* ---- git and events ---------------------------------------------------------- */

/*
 * Runs git -C repo args... (NULL-terminated, at most 11) as author and
 * committer Ada <ada@example.com> at 2026-01-02T03:04:05+01:00, so commits
 * are the same on every run.  true when it exits 0; its complaint is
 * printed otherwise.
 */
bool harness_git(const char *repo, const char *const *args);
/* An empty commit in repo with message. */
bool harness_git_commit(const char *repo, const char *message);

/* A structured-mode event parsed from JSON text, with what it points into. */
struct harness_event {
    json_t *doc;
    struct vane_arena arena;
    struct event event;
};

/* Parses text into p (event_from_json); false, with a diagnostic, when it
 * is not JSON or not an event.  Call harness_event_free() either way. */
bool harness_event_parse(const char *text, struct harness_event *p);
void harness_event_free(struct harness_event *p);

/* ---- the HTTP sink (tests/sink-server.c) -----------------------------------
 *
 * A real HTTP/1.1 server for delivery tests, in a process of its own
 * ($SINK_SERVER, set by make check): it records every request it receives
 * and answers 200, any status, with Retry-After, after a delay, never, or
 * resets connections, as the test sets it (see the top of sink-server.c for
 * the mode's fields and the record's lines).
 *
 *     struct sink s;
 *     sink_start(&s, record_path);
 *     sink_set_mode(&s, "{\"status\": 429, \"retry_after\": 2}");
 *     char *url = sink_url(&s, "/hook");     ... deliver to url ...
 *     sink_wait_received(&s, 3, 5000);
 *     n = sink_received(&s, &lines);         ... look at lines[i] ...
 *     sink_lines_free(lines, n);
 *     sink_stop(&s);
 */

struct sink {
    struct vaned process; /* the sink-server process, spawned, waited for and reaped as vaned is */
    char *record_path;    /* where it appends one JSON line per request; NULL: not recorded */
    char address[64];     /* "127.0.0.1:41234": the port deliveries go to */
    char url[96];         /* "http://127.0.0.1:41234" */
    char control_url[96]; /* its control port, which is never refused */
};

/*
 * Starts a sink on 127.0.0.1 on a free port that records to record_path
 * (appended to; NULL: no record) and waits for its start lines.  Returns 0,
 * or -1 if it exited or did not start in time (its log is printed as
 * diagnostics).  Call sink_stop() either way.
 */
int sink_start(struct sink *s, const char *record_path);
/* The same with more command-line flags (NULL-terminated): "--status", "503", ... */
int sink_start_args(struct sink *s, const char *record_path, const char *const *args);

/* Replaces the sink's mode (POST /_sink/mode on the control port).  Returns
 * 0, or -1 when the sink did not answer 200 (its answer is printed). */
int sink_set_mode(const struct sink *s, const char *json);

/* The sink's URL for path ("/hook"), freed by the caller. */
char *sink_url(const struct sink *s, const char *path);

/* GET /_sink/stats, or NULL (with a diagnostic); json_decref() it. */
json_t *sink_stats(const struct sink *s);

/*
 * Reads the record: one JSON object per request received, in order.  Sets
 * *lines (when lines is not NULL) to a NULL-terminated array the caller
 * frees with sink_lines_free().  Returns how many requests it holds.
 */
size_t sink_received(const struct sink *s, json_t ***lines);
void sink_lines_free(json_t **lines, size_t count);

/* Waits until the record holds count requests or timeout_ms (scaled) pass;
 * returns how many it holds. */
size_t sink_wait_received(const struct sink *s, size_t count, int timeout_ms);

/* The last request the record holds (the caller json_decref()s it), or NULL. */
json_t *sink_last_received(const struct sink *s);

/*
 * How many distinct ce-id values starting with prefix the record holds
 * (binary-mode deliveries); *total (may be NULL) is set to how many of its
 * requests carried one.
 */
size_t sink_distinct_ids(const struct sink *s, const char *prefix, size_t *total);
/* Waits (as harness_wait_count) until that is want or more; returns the last count. */
size_t sink_wait_distinct_ids(const struct sink *s, const char *prefix, size_t want,
                              int timeout_ms);

/* A recorded request's header (name in lower case), or NULL. */
const char *sink_line_header(const json_t *line, const char *name);

/* A recorded request's body, byte for byte (NUL-terminated, not counted in
 * *len), freed by the caller; NULL if the line has none. */
char *sink_line_body(const json_t *line, size_t *len);

/*
 * Stops the sink with SIGTERM and reaps it (SIGKILL after 5 s, scaled), and
 * frees what s holds.  Returns its wait status (0: it closed everything and
 * exited cleanly), or -1 if it had to be killed.
 */
int sink_stop(struct sink *s);

#endif

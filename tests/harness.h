/*
 * harness.h -- what the integration tests share: temporary directories, the
 * real vaned and vanectl processes, and a real HTTP client (libcurl).
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

#include <uv.h>

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

#endif

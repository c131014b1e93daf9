/*
 * source_git.c -- the source-git connector: watches a git repository with
 * libgit2 and emits an event per new commit and per branch or tag that
 * came, moved or went (repo_poll.h says which, and in what order).
 *
 * The cycle, one poll at a time:
 *
 *     timer -> poll (thread pool: fetch, read refs, walk) -> emit the changes
 *     (loop, at most EMIT_WINDOW awaiting their callbacks) -> once every one
 *     is durable, save the refs to the state file (thread pool) -> timer
 *
 * Remembered position.  The state file (ref_state.h) holds the ref targets
 * whose events are all durable; it is written only after the last emit
 * callback of a poll said so.  A crash before that makes the next start
 * find the same changes again and emit them with the same ids -- the
 * commit id, or "<ref>@<old>..<new>" -- which the broker's idempotency
 * window recognizes by (source, id); a crash after it finds nothing new.
 * A poll whose fetch fails, or one of whose events is refused, saves
 * nothing and is tried again after the interval.  On a first start (no
 * state file) option "from" decides: "now" remembers the refs as they are
 * and emits nothing, "beginning" emits every commit and ref.
 *
 * A remote repository (a URL, or scp-like host:path) is fetched into a bare
 * mirror under the work folder; a local path is read in place.  Everything
 * the poll's thread reads is copied at init, so it never touches the
 * instance's option strings.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>
#include <jansson.h>
#include <vane/plugin.h>

#include "../common/event_format.h"
#include "../common/strbuf.h"
#include "repo_poll.h"
#include "ref_state.h"

#define EMIT_WINDOW 256 /* events emitted and not yet durable, at most */

struct source_git {
    const struct vane_host *host;
    struct vane_instance *self;
    char *repository;  /* the option, copied */
    char *source;      /* "git:<repository>", credentials left out */
    char *workdir, *state_path;
    uint64_t interval_ms;
    bool from_now;
    json_t *refs;      /* the durable state; NULL before anything was remembered */

    struct repo_poll poll; /* the poll in progress; its inputs live as long as the instance */
    int64_t timer;        /* the next poll's, or 0 */
    bool running;         /* between start and stop */
    bool busy;            /* a work item is on the thread pool */
    bool closing;         /* fini came: the last callback frees */
    size_t next_change;   /* the next of poll.changes to emit */
    size_t awaiting;      /* emitted, callback not yet come */
    bool emit_failed;
    bool emitting;        /* inside emit_more: a callback that comes at once only counts */
    struct strbuf save_error;
};

static const struct vane_option options[] = {
    {"repository", VANE_OPTION_STRING, NULL, VANE_OPTION_REQUIRED,
     "The repository to watch: a local path, or a URL libgit2 can fetch (https://, ssh://, "
     "git://, file://, or host:path)."},
    {"workdir", VANE_OPTION_STRING, NULL, 0,
     "The folder a remote repository is fetched into and the state kept in; "
     "\"source-git/<name>\" under the working directory (else under $TMPDIR) when unset."},
    {"interval", VANE_OPTION_DURATION, "\"30s\"", 0, "The time between two polls."},
    {"branches", VANE_OPTION_LIST, NULL, 0,
     "The branches to watch, by name or glob pattern (\"main\", \"release/*\"); every branch "
     "when unset."},
    {"tags", VANE_OPTION_BOOL, "true", 0, "Whether tags that come, move or go are events too."},
    {"from", VANE_OPTION_STRING, "\"now\"", 0,
     "On the first start: \"now\" remembers the repository as it is and emits nothing; "
     "\"beginning\" emits every commit and ref."},
    {"state_file", VANE_OPTION_STRING, NULL, 0,
     "Where the last announced ref targets are kept; \"<workdir>/.vane-source-git.json\" when "
     "unset."},
    VANE_OPTIONS_END,
};

static void poll_later(struct source_git *s, uint64_t delay_ms);

/* ---- the instance ------------------------------------------------------------------ */

static void source_free(struct source_git *s)
{
    repo_poll_clear(&s->poll);
    for (size_t i = 0; i < s->poll.branch_count; i++)
        free(s->poll.branches[i]);
    free(s->poll.branches);
    free((char *)s->poll.mirror_path);
    free(s->repository);
    free(s->source);
    free(s->workdir);
    free(s->state_path);
    json_decref(s->refs);
    strbuf_free(&s->save_error);
    free(s);
    /* No git_libgit2_shutdown(): libgit2 keeps an error state per thread,
     * made on the thread pool's threads by the polls, and a shutdown would
     * delete the key that frees them when those threads end, leaking each.
     * libgit2 stays initialized, and loaded (the plugin is linked with
     * -z nodelete), for the process's life instead. */
}

/* Frees s if fini came and nothing is left that calls back. */
static bool free_if_closed(struct source_git *s)
{
    if (!s->closing || s->busy || s->awaiting > 0)
        return false;
    source_free(s);
    return true;
}

static int bad_option(struct source_git *s, const char *name, const char *expected,
                      const char *got)
{
    s->host->log(s->self, VANE_PLUGIN_LOG_ERROR, "option %s: expected %s; got \"%s\"", name,
                 expected, got);
    return VANE_EINVAL;
}

/* "git:<repository>" without the user:password@ of a URL. */
static char *source_of(const char *repository)
{
    const char *scheme_end = strstr(repository, "://"), *at, *slash;
    struct strbuf source = STRBUF_INIT;

    strbuf_append_str(&source, "git:");
    if (scheme_end != NULL) {
        at = strchr(scheme_end + 3, '@');
        slash = strchr(scheme_end + 3, '/');
        if (at != NULL && (slash == NULL || at < slash)) {
            strbuf_append(&source, repository, (size_t)(scheme_end + 3 - repository));
            repository = at + 1;
        }
    }
    strbuf_append_str(&source, repository);
    return strbuf_detach(&source);
}

/* The work folder: the option, or source-git/<name> here, or under $TMPDIR. */
static int make_workdir(struct source_git *s)
{
    const char *given = s->host->option_string(s->self, "workdir");
    const char *tmp = getenv("TMPDIR");
    struct strbuf path = STRBUF_INIT;
    int rc;

    if (given != NULL && *given != '\0') {
        s->workdir = strbuf_xstrdup(given);
        rc = ref_state_mkdirs(s->workdir);
        if (rc != 0)
            s->host->log(s->self, VANE_PLUGIN_LOG_ERROR, "option workdir: cannot make \"%s\": %s",
                         given, strerror(-rc));
        return rc;
    }
    strbuf_appendf(&path, "source-git/%s", s->host->instance_name(s->self));
    if (ref_state_mkdirs(path.data) != 0) {
        strbuf_reset(&path);
        strbuf_appendf(&path, "%s/vane-source-git/%s", tmp != NULL && *tmp != '\0' ? tmp : "/tmp",
                       s->host->instance_name(s->self));
    }
    s->workdir = strbuf_detach(&path);
    rc = ref_state_mkdirs(s->workdir);
    if (rc != 0)
        s->host->log(s->self, VANE_PLUGIN_LOG_ERROR, "cannot make the work folder \"%s\": %s",
                     s->workdir, strerror(-rc));
    return rc;
}

static void copy_branches(struct source_git *s)
{
    size_t count = s->host->option_list_count(s->self, "branches");

    s->poll.branches = strbuf_xcalloc(count, sizeof(char *));
    for (size_t i = 0; i < count; i++)
        s->poll.branches[i] = strbuf_xstrdup(s->host->option_list_at(s->self, "branches", i));
    s->poll.branch_count = count;
}

static int parse_options(struct source_git *s)
{
    const char *repository = s->host->option_string(s->self, "repository");
    const char *from = s->host->option_string(s->self, "from");
    const char *state_file = s->host->option_string(s->self, "state_file");
    struct strbuf path = STRBUF_INIT;

    if (repository == NULL || *repository == '\0')
        return bad_option(s, "repository", "a local path or a URL", "");
    s->repository = strbuf_xstrdup(repository);
    s->source = source_of(repository);
    if (!repo_poll_is_remote(repository) && access(repository, R_OK) != 0)
        return bad_option(s, "repository", "a readable local repository or a URL", repository);
    if (from != NULL && strcmp(from, "now") != 0 && strcmp(from, "beginning") != 0)
        return bad_option(s, "from", "\"now\" or \"beginning\"", from);
    s->from_now = from == NULL || strcmp(from, "now") == 0;
    s->interval_ms = (uint64_t)s->host->option_int(s->self, "interval");
    if (s->interval_ms == 0)
        return bad_option(s, "interval", "a duration above zero such as \"30s\"", "0");
    copy_branches(s);
    s->poll.tags = s->host->option_bool(s->self, "tags");
    if (make_workdir(s) != 0)
        return VANE_EINVAL;
    strbuf_appendf(&path, "%s/mirror.git", s->workdir);
    s->poll.mirror_path = strbuf_detach(&path);
    if (state_file != NULL && *state_file != '\0')
        s->state_path = strbuf_xstrdup(state_file);
    else {
        strbuf_appendf(&path, "%s/.vane-source-git.json", s->workdir);
        s->state_path = strbuf_detach(&path);
    }
    s->poll.repository = s->repository;
    s->poll.from_now = s->from_now;
    return 0;
}

/* Reads the state file (small: read here rather than on the thread pool). */
static int load_state(struct source_git *s)
{
    struct strbuf err = STRBUF_INIT;
    int rc = ref_state_load(s->state_path, &s->refs, &err);

    if (rc == -ENOENT) {
        s->host->log(s->self, VANE_PLUGIN_LOG_INFO, "first start (no %s): %s", s->state_path,
                     s->from_now ? "from now on" : "from the beginning");
        rc = 0;
    } else if (rc != 0)
        s->host->log(s->self, VANE_PLUGIN_LOG_ERROR, "%s (fix or delete it)", err.data);
    strbuf_free(&err);
    return rc;
}

static int init(const struct vane_host *host, struct vane_instance *self, void **state)
{
    struct source_git *s;
    int rc;

    if (git_libgit2_init() < 0) {
        host->log(self, VANE_PLUGIN_LOG_ERROR, "libgit2 failed to initialize");
        return -ENOMEM;
    }
    s = strbuf_xcalloc(1, sizeof(*s));
    s->host = host;
    s->self = self;
    rc = parse_options(s);
    if (rc == 0)
        rc = load_state(s);
    if (rc != 0) {
        source_free(s);
        return rc;
    }
    *state = s;
    return 0;
}

static void fini(void *state)
{
    struct source_git *s = state;

    if (s->timer > 0)
        s->host->timer_stop(s->self, s->timer);
    s->timer = 0;
    s->running = false;
    s->closing = true;
    free_if_closed(s);
}

/* ---- saving ----------------------------------------------------------------------- */

static void save_work(void *arg)
{
    struct source_git *s = arg;

    strbuf_reset(&s->save_error);
    ref_state_save(s->state_path, s->repository, s->poll.new_refs, &s->save_error);
}

static void saved(void *arg)
{
    struct source_git *s = arg;

    s->busy = false;
    if (s->save_error.len > 0)
        s->host->log(s->self, VANE_PLUGIN_LOG_ERROR, "%s; the changes will be found again",
                     s->save_error.data);
    else {
        json_decref(s->refs);
        s->refs = json_incref(s->poll.new_refs);
    }
    repo_poll_clear(&s->poll);
    if (!free_if_closed(s))
        poll_later(s, s->interval_ms);
}

static void save(struct source_git *s)
{
    if (s->refs != NULL && json_equal(s->refs, s->poll.new_refs)) {
        repo_poll_clear(&s->poll);
        poll_later(s, s->interval_ms);
        return;
    }
    s->busy = true;
    if (s->host->work(s->self, save_work, saved, s) != 0) {
        s->busy = false;
        s->host->log(s->self, VANE_PLUGIN_LOG_ERROR, "the thread pool refused to save the state");
        repo_poll_clear(&s->poll);
        poll_later(s, s->interval_ms);
    }
}

/* ---- emitting ---------------------------------------------------------------------- */

static void emit_more(struct source_git *s);

static int set_attr(struct source_git *s, struct vane_event *ev, const char *name, int type,
                    const char *value)
{
    struct vane_value v = {.type = type, .ptr = value, .len = strlen(value)};

    return s->host->event_set(ev, name, &v);
}

static struct vane_event *change_event(struct source_git *s, const struct repo_change *c)
{
    struct vane_event *ev = s->host->event_new(s->self);
    char now[EVENT_FORMAT_NOW_SIZE];
    int rc;

    event_format_now(now);
    rc = set_attr(s, ev, "specversion", VANE_STRING, "1.0");
    if (rc == 0)
        rc = set_attr(s, ev, "id", VANE_STRING, c->id);
    if (rc == 0)
        rc = set_attr(s, ev, "source", VANE_URI_REF, s->source);
    if (rc == 0)
        rc = set_attr(s, ev, "type", VANE_STRING, c->type);
    if (rc == 0)
        rc = set_attr(s, ev, "subject", VANE_STRING, c->subject);
    if (rc == 0)
        rc = set_attr(s, ev, "time", VANE_TIMESTAMP, c->time != NULL ? c->time : now);
    if (rc == 0)
        rc = set_attr(s, ev, "datacontenttype", VANE_STRING, "application/json");
    if (rc == 0)
        rc = s->host->event_set_data(ev, c->data, strlen(c->data), NULL);
    if (rc != 0) {
        s->host->log(s->self, VANE_PLUGIN_LOG_ERROR, "event %s: the host refused an attribute "
                     "(error %d)", c->id, rc);
        s->host->event_free(ev);
        return NULL;
    }
    return ev;
}

/* The poll's events are all settled: save when every one is durable. */
static void emits_settled(struct source_git *s)
{
    if (free_if_closed(s))
        return;
    if (s->emit_failed || !s->running) {
        if (s->emit_failed)
            s->host->log(s->self, VANE_PLUGIN_LOG_WARN, "an event was not stored; the poll "
                         "will be tried again in %llu ms", (unsigned long long)s->interval_ms);
        repo_poll_clear(&s->poll);
        poll_later(s, s->interval_ms);
        return;
    }
    save(s);
}

static void emitted(void *arg, int status, uint64_t eventlog, uint64_t offset)
{
    struct source_git *s = arg;

    (void)eventlog;
    (void)offset;
    s->awaiting--;
    if (status < 0)
        s->emit_failed = true;
    if (!s->emitting)
        emit_more(s);
}

static void emit_more(struct source_git *s)
{
    s->emitting = true;
    while (!s->closing && !s->emit_failed && s->running && s->awaiting < EMIT_WINDOW &&
           s->next_change < s->poll.change_count) {
        struct vane_event *ev = change_event(s, &s->poll.changes[s->next_change++]);

        s->awaiting++;
        if (ev == NULL || s->host->emit(s->self, ev, emitted, s) != 0) {
            s->awaiting--;
            s->emit_failed = true;
        }
    }
    s->emitting = false;
    if (s->awaiting == 0 && (s->next_change == s->poll.change_count || s->emit_failed ||
                             !s->running || s->closing))
        emits_settled(s);
}

/* ---- polling ------------------------------------------------------------------------ */

static void poll_work(void *arg)
{
    struct source_git *s = arg;

    repo_poll_run(&s->poll);
}

static void polled(void *arg)
{
    struct source_git *s = arg;

    s->busy = false;
    json_decref(s->poll.old_refs);
    s->poll.old_refs = NULL;
    if (free_if_closed(s))
        return;
    if (s->poll.error.len > 0 || !s->running) {
        if (s->poll.error.len > 0)
            s->host->log(s->self, VANE_PLUGIN_LOG_WARN, "poll failed, trying again in %llu ms: "
                         "%s", (unsigned long long)s->interval_ms, s->poll.error.data);
        repo_poll_clear(&s->poll);
        poll_later(s, s->interval_ms);
        return;
    }
    if (s->poll.change_count > 0)
        s->host->log(s->self, VANE_PLUGIN_LOG_DEBUG, "%zu new events", s->poll.change_count);
    s->next_change = 0;
    s->emit_failed = false;
    emit_more(s);
}

static void poll_now(void *arg)
{
    struct source_git *s = arg;

    s->timer = 0;
    if (!s->running || s->busy)
        return;
    s->poll.old_refs = s->refs != NULL ? json_incref(s->refs) : NULL;
    s->busy = true;
    if (s->host->work(s->self, poll_work, polled, s) != 0) {
        s->busy = false;
        json_decref(s->poll.old_refs);
        s->poll.old_refs = NULL;
        s->host->log(s->self, VANE_PLUGIN_LOG_ERROR, "the thread pool refused the poll");
        poll_later(s, s->interval_ms);
    }
}

static void poll_later(struct source_git *s, uint64_t delay_ms)
{
    int64_t id;

    if (!s->running || s->closing || s->timer > 0)
        return;
    id = s->host->timer_start(s->self, delay_ms, 0, poll_now, s);
    if (id > 0)
        s->timer = id;
    else
        s->host->log(s->self, VANE_PLUGIN_LOG_ERROR, "cannot start the poll timer (error %lld)",
                     (long long)id);
}

static int start(void *state)
{
    struct source_git *s = state;

    s->running = true;
    poll_later(s, 0);
    return 0;
}

static void stop(void *state)
{
    struct source_git *s = state;

    s->running = false;
    if (s->timer > 0)
        s->host->timer_stop(s->self, s->timer);
    s->timer = 0;
}

VANE_PLUGIN_DECLARE(.name = "source-git", .version = "1.0.0", .kind = VANE_PLUGIN_SOURCE,
                    .description = "Watches a git repository: an event per new commit and per "
                                   "branch or tag that comes, moves or goes.",
                    .options = options, .init = init, .fini = fini, .start = start,
                    .stop = stop);

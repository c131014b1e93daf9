/*
 * test-lua.c -- Lua scripts (broker/script/): the registry on a real loop
 * with real folders and files, the calls the trigger makes, the sandbox,
 * hot reload, the shipped scripts in filters-lua/, and GET
 * /api/v1/scripts and `vanectl script list` against a real vaned.
 *
 * What each group pins down:
 *   - calls: filter true/false/nil and a wrong return; transform returning
 *     the event, a new table, a list (fan-out), {} and nil (drop), and
 *     something else; a handle asked for a function the script lacks;
 *   - the event table: attribute types both ways (an integer stays an
 *     integer, a new key is typed by its Lua value, a URI keeps its type),
 *     deleting an attribute, a missing required one, pairs(), an event
 *     table kept past its call, and its data kept (an error when unread,
 *     never a read of the freed event; a copy made with pairs() works);
 *   - data: JSON objects, arrays, null, empty ones and floats survive
 *     being read and written back, both when the script leaves data alone
 *     (the same bytes) and when it walks all of it (the same JSON, checked
 *     with jansson); a field added next to unread data; non-JSON data as a
 *     string; vane.json.encode/decode against jansson on valid and invalid
 *     documents;
 *   - the sandbox: io, os.execute, require, dofile, string.dump, a binary
 *     chunk through load, __gc, string.rep past the memory cap, an endless
 *     loop past the budget (also inside pcall), each failing with the
 *     script's name and line, and the state usable afterwards;
 *   - reload: an edited file runs from the next call; a syntax error keeps
 *     the old version and says where; a removed file leaves the list while
 *     an open handle keeps its last version; a file that never loaded;
 *   - vaned: scripts.dirs from a config file, the list with its errors,
 *     one script by name, and vanectl's table.
 * Every wait runs the loop until its condition or a deadline.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/error.h"
#include "core/log.h"
#include "event/event.h"
#include "script/script.h"
#include "script/script_registry.h"
#include "harness.h"
#include "tap.h"

#define ERR_MAX 512

/* ---- a registry over a temporary folder --------------------------------------- */

struct fixture {
    uv_loop_t loop;
    char *dir;
    struct script_registry *registry;
};

static void fixture_start(struct fixture *f, uint64_t budget, uint64_t memory)
{
    struct script_options options;

    uv_loop_init(&f->loop);
    f->dir = harness_tempdir();
    script_options_default(&options);
    options.dirs = f->dir;
    if (budget)
        options.limits.budget = budget;
    if (memory)
        options.limits.memory = memory;
    f->registry = NULL;
    script_registry_start(&f->registry, &f->loop, &options);
}

static void fixture_stop(struct fixture *f)
{
    script_registry_close(f->registry);
    is_int(harness_loop_close(&f->loop), 0, "the loop closes with nothing left open");
    harness_rmtree(f->dir);
}

static void put(struct fixture *f, const char *name, const char *text)
{
    vane_free(harness_write_file(f->dir, name, text));
}

static void on_tick(uv_timer_t *timer)
{
    (void)timer;
}

/* Runs the loop until check(f, arg) or timeout_ms (scaled). */
static bool wait_for(struct fixture *f, bool (*check)(struct fixture *, const void *),
                     const void *arg, int timeout_ms)
{
    uint64_t deadline = uv_now(&f->loop) + (uint64_t)harness_ms(timeout_ms);
    uv_timer_t tick;
    bool met;

    uv_timer_init(&f->loop, &tick);
    uv_timer_start(&tick, on_tick, 10, 10);
    while (!(met = check(f, arg)) && uv_now(&f->loop) < deadline)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    return met;
}

/* The list entry of the script called name (a copy of the strings it needs), or false. */
struct listed {
    bool found, has_filter, has_transform;
    int64_t loaded_at;
    char load_error[ERR_MAX], last_error[ERR_MAX];
    uint64_t calls, errors;
};

static struct listed lookup(struct fixture *f, const char *name)
{
    struct script_info *infos;
    size_t n = script_registry_list(f->registry, &infos);
    struct listed l = {false, false, false, 0, "", "", 0, 0};

    for (size_t i = 0; i < n; i++) {
        if (strcmp(infos[i].name, name) != 0)
            continue;
        l.found = true;
        l.has_filter = infos[i].has_filter;
        l.has_transform = infos[i].has_transform;
        l.loaded_at = infos[i].loaded_at;
        l.calls = infos[i].calls;
        l.errors = infos[i].errors;
        snprintf(l.load_error, sizeof(l.load_error), "%s",
                 infos[i].load_error ? infos[i].load_error : "");
        snprintf(l.last_error, sizeof(l.last_error), "%s",
                 infos[i].last_error ? infos[i].last_error : "");
    }
    vane_free(infos);
    return l;
}

/* ---- events ------------------------------------------------------------------------- */

#define PUSH_EVENT                                                                          \
    "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"https://github.com/vane/vane\","   \
    "\"type\":\"com.github.push\",\"subject\":\"refs/heads/main\","                         \
    "\"time\":\"2024-05-01T10:00:00Z\",\"count\":42,\"flag\":true,"                         \
    "\"dataschema\":\"https://example.com/s.json\",\"datacontenttype\":\"application/json\","

/* The output's attribute name, as its type and text ("integer 42", "string x"). */
static const char *attr_text(const struct event *e, const char *name, char *buf, size_t size)
{
    static const char *const types[] = {"?", "boolean", "integer", "string", "binary", "uri",
                                        "urireference", "timestamp"};
    const struct event_attr *a = event_get(e, name);

    if (a == NULL)
        return "absent";
    if (a->value.type == EVENT_BOOLEAN)
        snprintf(buf, size, "boolean %s", a->value.u.boolean ? "true" : "false");
    else if (a->value.type == EVENT_INTEGER)
        snprintf(buf, size, "integer %lld", (long long)a->value.u.integer);
    else
        snprintf(buf, size, "%s %.*s", types[a->value.type], (int)a->value.u.bytes.len,
                 a->value.u.bytes.ptr);
    return buf;
}

static char *data_text(const struct event *e)
{
    return e->has_data ? vane_strndup(e->data.ptr, e->data.len) : vane_strdup("(none)");
}

/* ---- running scripts ------------------------------------------------------------------ */

struct run {
    int rc;
    char err[ERR_MAX];
    struct script_output out;
    struct vane_arena arena;
};

static void run_init(struct run *r)
{
    memset(r, 0, sizeof(*r));
    r->out = (struct script_output)SCRIPT_OUTPUT_INIT;
    r->arena = (struct vane_arena)VANE_ARENA_INIT;
}

static void run_free(struct run *r)
{
    script_output_free(&r->out);
    vane_arena_free(&r->arena);
}

/* Opens name for transform and runs it on the event once. */
static void transform_event(struct fixture *f, const char *name, const struct event *event,
                            struct run *r)
{
    struct script_handle *h = NULL;

    run_init(r);
    r->rc = script_open(f->registry, name, SCRIPT_TRANSFORM, &h, r->err, sizeof(r->err));
    if (r->rc == 0)
        r->rc = script_transform(h, event, &r->arena, &r->out, r->err, sizeof(r->err));
    script_close(h);
}

static void transform_once(struct fixture *f, const char *name, const char *event_text,
                           struct run *r)
{
    struct harness_event p;

    if (!harness_event_parse(event_text, &p)) {
        run_init(r);
        r->rc = -1;
        return;
    }
    transform_event(f, name, &p.event, r);
    harness_event_free(&p);
}

/* text as a Lua string literal, every byte but letters and digits as \ddd. */
static char *lua_quote(const char *text, size_t len)
{
    struct vane_buf out = VANE_BUF_INIT;

    vane_buf_append(&out, "'", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            vane_buf_append(&out, text + i, 1);
        else
            vane_buf_appendf(&out, "\\%03u", c);
    }
    vane_buf_append(&out, "'", 1);
    return vane_buf_detach(&out);
}

static int filter_once(struct fixture *f, const char *name, const char *event_text, bool *keep,
                       char *err)
{
    struct script_handle *h = NULL;
    struct harness_event p;
    int rc;

    if (!harness_event_parse(event_text, &p))
        return -1;
    rc = script_open(f->registry, name, SCRIPT_FILTER, &h, err, ERR_MAX);
    if (rc == 0)
        rc = script_filter(h, &p.event, keep, err, ERR_MAX);
    script_close(h);
    harness_event_free(&p);
    return rc;
}

/* ---- calls ------------------------------------------------------------------------------ */

static void test_calls(void)
{
    static const char event[] = PUSH_EVENT "\"data\":{\"ref\":\"refs/heads/main\"}}";
    struct fixture f;
    struct run r;
    char err[ERR_MAX], buf[128];
    bool keep = false;

    fixture_start(&f, 0, 0);
    put(&f, "is-push.lua", "function filter(e) return e.type == 'com.github.push' end\n");
    put(&f, "nil-filter.lua", "function filter(e) end\n");
    put(&f, "bad-filter.lua", "function filter(e) return 1 end\n");
    put(&f, "same.lua", "function transform(e) return e end\n");
    put(&f, "fresh.lua", "function transform(e)\n"
                         "  return {specversion = '1.0', id = 'new-1', source = '/lua',\n"
                         "          type = 'made', data = {n = e.count + 1}}\n"
                         "end\n");
    put(&f, "fan.lua", "function transform(e)\n"
                       "  local a, b = {}, {}\n"
                       "  for k, v in pairs(e) do a[k] = v; b[k] = v end\n"
                       "  a.id, b.id = e.id .. '-a', e.id .. '-b'\n"
                       "  return {a, b, e}\n"
                       "end\n");
    put(&f, "drop.lua", "function transform(e) return nil end\n");
    put(&f, "empty.lua", "function transform(e) return {} end\n");
    put(&f, "number.lua", "function transform(e) return 7 end\n");
    script_registry_rescan(f.registry);

    is_int(filter_once(&f, "is-push", event, &keep, err), 0, "a filter runs");
    ok(keep, "filter: true keeps the event");
    is_int(filter_once(&f, "nil-filter", event, &keep, err), 0, "a filter returning nothing");
    ok(!keep, "filter: nil counts as false");
    is_int(filter_once(&f, "bad-filter", event, &keep, err), VANE_ELUA,
           "a filter returning a number fails");
    contains(err, "bad-filter.lua: filter returned a number; expected true", "and says so");

    transform_once(&f, "same", event, &r);
    is_int(r.rc, 0, "transform returning its event");
    is_int(r.out.count, 1, "gives one event");
    is_str(attr_text(&r.out.events[0], "id", buf, sizeof(buf)), "string e-1", "the same id");
    run_free(&r);

    transform_once(&f, "fresh", event, &r);
    is_int(r.rc, 0, "transform returning a new table: %s", r.err);
    if (r.out.count == 1) {
        char *data = data_text(&r.out.events[0]);

        is_str(data, "{\"n\":43}", "its data is the table as JSON");
        is_str(attr_text(&r.out.events[0], "source", buf, sizeof(buf)), "urireference /lua",
               "a new source is a URI-reference, as the spec types it");
        vane_free(data);
    }
    run_free(&r);

    transform_once(&f, "fan", event, &r);
    is_int(r.rc, 0, "fan-out: %s", r.err);
    is_int(r.out.count, 3, "a list gives one event each");
    if (r.out.count == 3) {
        is_str(attr_text(&r.out.events[0], "id", buf, sizeof(buf)), "string e-1-a", "first");
        is_str(attr_text(&r.out.events[1], "id", buf, sizeof(buf)), "string e-1-b", "second");
        is_str(attr_text(&r.out.events[2], "id", buf, sizeof(buf)), "string e-1", "third");
        is_str(attr_text(&r.out.events[0], "count", buf, sizeof(buf)), "integer 42",
               "a copy made with pairs keeps the integer");
    }
    run_free(&r);

    transform_once(&f, "drop", event, &r);
    ok(r.rc == 0 && r.out.count == 0, "nil drops the event");
    run_free(&r);
    transform_once(&f, "empty", event, &r);
    ok(r.rc == 0 && r.out.count == 0, "{} is an empty list: dropped");
    run_free(&r);
    transform_once(&f, "number", event, &r);
    is_int(r.rc, VANE_ELUA, "a transform returning a number fails");
    contains(r.err, "number.lua: transform returned a number; expected an event table", "why");
    run_free(&r);

    transform_once(&f, "is-push", event, &r);
    is_int(r.rc, -EINVAL, "a filter-only script cannot be opened for transform");
    contains(r.err, "defines no transform(event) function", "and the error says so");
    run_free(&r);
    transform_once(&f, "no-such", event, &r);
    is_int(r.rc, -ENOENT, "an unknown script is not found");
    contains(r.err, "no script named 'no-such'", "by name");
    contains(r.err, f.dir, "and names the folders");
    run_free(&r);
    fixture_stop(&f);
}

/* ---- the event table ---------------------------------------------------------------------- */

struct typing_case {
    const char *name, *script, *attr, *want; /* want: attr_text, or "error: <part>" */
};

static const struct typing_case typing_cases[] = {
    {"integer kept", "e.count = e.count + 1", "count", "integer 43"},
    {"integer from an integral float", "e.count = 8.0", "count", "integer 8"},
    {"integer refuses a fraction", "e.count = 1.5", "count",
     "error: attribute count: expected an integer (its type in the event); got a number with"},
    {"integer refuses a string", "e.count = 'x'", "count",
     "error: attribute count: expected an integer"},
    {"integer range", "e.count = 3000000000", "count",
     "error: attribute count: expected an integer from -2147483648"},
    {"boolean kept", "e.flag = false", "flag", "boolean false"},
    {"boolean refuses a string", "e.flag = 'no'", "flag",
     "error: attribute flag: expected a boolean"},
    {"string takes a number", "e.subject = 12", "subject", "string 12"},
    {"uri keeps its type", "e.dataschema = 'https://example.com/t.json'", "dataschema",
     "uri https://example.com/t.json"},
    {"new string", "e.region = 'eu'", "region", "string eu"},
    {"new integer", "e.hops = 3", "hops", "integer 3"},
    {"new boolean", "e.seen = true", "seen", "boolean true"},
    {"new float refused", "e.ratio = 0.5", "ratio",
     "error: attribute ratio: 0.5 is not an integer"},
    {"new table refused", "e.things = {}", "things",
     "error: attribute things: expected a string, an integer or a boolean; got a table"},
    {"bad name refused", "e.Bad = 'x'", "Bad",
     "error: attribute \"Bad\": expected a name of 1 to 255 lower-case letters"},
    {"reserved name refused", "e.xvanusfoo = 'x'", "xvanusfoo",
     "error: extension xvanusfoo: names starting with xvanus are reserved"},
    {"deleted", "e.subject = nil", "subject", "absent"},
    {"required deleted", "e.id = nil", "id", "error: attribute id is required"},
    {"empty id refused", "e.id = ''", "id", "error: attribute id: expected a non-empty value"},
    {"bad time refused", "e.time = 'yesterday'", "time", "error: attribute time:"},
    {"time set", "e.time = '2025-01-02T03:04:05Z'", "time", "timestamp 2025-01-02T03:04:05Z"},
    {"control character refused", "e.subject = 'a\\r\\nb'", "subject",
     "error: attribute subject: expected UTF-8 text without control characters"},
    {"specversion fixed", "e.specversion = '2.0'", "specversion",
     "error: specversion: expected \"1.0\""},
    {"read after write", "e.subject = 'x'; e.note = e.subject .. '!'", "note", "string x!"},
    {"read after delete", "e.subject = nil; e.note = tostring(e.subject)", "note",
     "string nil"},
    {"pairs sees everything", "local n = 0; for k in pairs(e) do n = n + 1 end; e.n = n", "n",
     "integer 11"},
    {"pairs sees an attribute assigned", "e.subject = 'new'; local c = {}; "
     "for k, v in pairs(e) do c[k] = v end; e.copied = c.subject", "copied", "string new"},
    {"pairs does not see one deleted", "e.subject = nil; local n = 0; "
     "for k in pairs(e) do n = n + 1 end; e.n = n", "n", "integer 10"},
    {"rawset of an attribute counts", "rawset(e, 'subject', 'raw')", "subject", "string raw"},
};

static void test_typing(void)
{
    static const char event[] = PUSH_EVENT "\"data\":{\"a\":1}}";
    struct fixture f;
    char buf[256];

    fixture_start(&f, 0, 0);
    for (size_t i = 0; i < sizeof(typing_cases) / sizeof(typing_cases[0]); i++) {
        char *text = vane_asprintf("function transform(e) %s; return e end\n",
                                   typing_cases[i].script), *file;
        const char *want = typing_cases[i].want;
        struct run r;

        file = vane_asprintf("typing%zu.lua", i);
        put(&f, file, text);
        script_registry_rescan(f.registry);
        file[strlen(file) - 4] = '\0';
        transform_once(&f, file, event, &r);
        if (strncmp(want, "error: ", 7) == 0) {
            is_int(r.rc, VANE_ELUA, "%s: fails", typing_cases[i].name);
            contains(r.err, want + 7, "%s: says why", typing_cases[i].name);
            contains(r.err, "transform's result", "%s: names the result",
                     typing_cases[i].name);
        } else if (is_int(r.rc, 0, "%s: runs (%s)", typing_cases[i].name, r.err) &&
                   r.out.count == 1) {
            is_str(attr_text(&r.out.events[0], typing_cases[i].attr, buf, sizeof(buf)), want,
                   "%s", typing_cases[i].name);
        }
        run_free(&r);
        vane_free(file);
        vane_free(text);
    }
    fixture_stop(&f);
}

static void test_kept_event(void)
{
    static const char event[] = PUSH_EVENT "\"data\":{\"a\":1}}";
    struct fixture f;
    struct run r;

    fixture_start(&f, 0, 0);
    put(&f, "keeper.lua", "local last\n"
                          "function transform(e)\n"
                          "  if last then return {specversion = '1.0', id = last.id,\n"
                          "                       source = '/s', type = 't'} end\n"
                          "  last = e\n"
                          "  return e\n"
                          "end\n");
    script_registry_rescan(f.registry);
    transform_once(&f, "keeper", event, &r);
    is_int(r.rc, 0, "the first call keeps its event table in a local");
    run_free(&r);
    transform_once(&f, "keeper", event, &r);
    is_int(r.rc, VANE_ELUA, "reading it in a later call fails");
    contains(r.err, "keeper.lua:3: this event table belongs to an earlier call", "and says so");
    run_free(&r);
    fixture_stop(&f);
}

/*
 * Event data kept past its call.  A placeholder reads the event's bytes
 * where they are during its call (script_json.h's loan); kept unread, it
 * must say so on a later call, never read the bytes (freed by then: each
 * call here parses its own event and frees it after).  A copy made with
 * pairs() has data of its own.
 */
struct kept_case {
    const char *name;
    const char *first;  /* the first call's body, before "return e" (it sets last) */
    const char *second; /* the second call's body */
    const char *want;   /* "error: <text>" or the data of the second call's event */
};

#define KEPT_RESULT "return {specversion = '1.0', id = 'k', source = '/s', type = 't', "
#define KEPT_ERROR "error: kept%zu.lua:2: this event data was kept past the call it came with"

static const struct kept_case kept_cases[] = {
    {"data kept unread", "last = e.data", KEPT_RESULT "n = last.a}", KEPT_ERROR},
    {"data kept with a member added", "last = e.data; last.seen = true", "last.more = 1",
     KEPT_ERROR},
    {"data kept, encoded later", "last = e.data", "e.copy = vane.json.encode(last)", KEPT_ERROR},
    {"the event kept after data was fetched", "last = e; local d = e.data",
     KEPT_RESULT "n = last.data.a}",
     "error: kept%zu.lua:2: this event table belongs to an earlier call"},
    {"data kept after it was read", "last = e.data; local a = last.a",
     KEPT_RESULT "data = last}", "{\"a\":1}"},
    {"a copy made with pairs", "last = {}; for k, v in pairs(e) do last[k] = v end",
     "return last", "{\"a\":1}"},
    {"a copy's data read later", "last = {}; for k, v in pairs(e) do last[k] = v end",
     KEPT_RESULT "n = last.data.a, data = last.data}", "{\"a\":1}"},
};

/* The second call of a kept case: it fails as want says, or gives want as data. */
static void check_kept_second(const struct kept_case *c, size_t i, const struct run *r)
{
    char error[160];

    if (strncmp(c->want, "error: ", 7) == 0) {
        snprintf(error, sizeof(error), c->want + 7, i);
        is_int(r->rc, VANE_ELUA, "%s: reading it in a later call fails", c->name);
        contains(r->err, error, "%s: and says so", c->name);
    } else if (is_int(r->rc, 0, "%s: reading it in a later call works (%s)", c->name, r->err) &&
               is_int(r->out.count, 1, "%s: one event", c->name)) {
        char *data = data_text(&r->out.events[0]);

        is_str(data, c->want, "%s: with the data kept", c->name);
        vane_free(data);
    }
}

static void test_kept_data(void)
{
    static const char event[] = PUSH_EVENT "\"data\":{\"a\":1}}";
    struct fixture f;

    fixture_start(&f, 0, 0);
    for (size_t i = 0; i < sizeof(kept_cases) / sizeof(kept_cases[0]); i++) {
        const struct kept_case *c = &kept_cases[i];
        char *text = vane_asprintf("local last\n"
                                   "function transform(e) if last then %s end\n"
                                   "  %s; return e end\n", c->second, c->first);
        char *file = vane_asprintf("kept%zu.lua", i);
        struct run r;

        put(&f, file, text);
        script_registry_rescan(f.registry);
        file[strlen(file) - 4] = '\0';
        transform_once(&f, file, event, &r);
        is_int(r.rc, 0, "%s: the first call runs (%s)", c->name, r.err);
        run_free(&r);
        transform_once(&f, file, event, &r);
        check_kept_second(c, i, &r);
        run_free(&r);
        vane_free(file);
        vane_free(text);
    }
    fixture_stop(&f);
}

/*
 * With out->borrow (the trigger's delivery path), data passed through is
 * not copied: untouched, the output points at the input's own bytes; with
 * a member added, it is the input's text and the member, written once.
 */
static void check_borrowed(struct fixture *f, const char *name, const char *want, bool in_place)
{
    static const char event[] = PUSH_EVENT "\"data\":{\"a\":1,\"b\":[2]}}";
    struct script_handle *h = NULL;
    struct harness_event p;
    struct run r;

    run_init(&r);
    r.out.borrow = true;
    if (!ok(harness_event_parse(event, &p), "%s: the event parses", name))
        return;
    if (script_open(f->registry, name, SCRIPT_TRANSFORM, &h, r.err, sizeof(r.err)) == 0)
        r.rc = script_transform(h, &p.event, &r.arena, &r.out, r.err, sizeof(r.err));
    if (is_int(r.rc, 0, "%s: runs (%s)", name, r.err) && is_int(r.out.count, 1, "%s: one", name)) {
        const struct event *out = &r.out.events[0];
        char *data = data_text(out);

        is_str(data, want, "%s: data", name);
        is_int(out->data.ptr >= p.event.data.ptr &&
                   out->data.ptr + out->data.len <= p.event.data.ptr + p.event.data.len,
               in_place, "%s: %s", name, in_place ? "the input's bytes" : "a copy");
        vane_free(data);
    }
    script_close(h);
    run_free(&r);
    harness_event_free(&p);
}

static void test_borrowed_data(void)
{
    struct fixture f;

    fixture_start(&f, 0, 0);
    put(&f, "read.lua", "function transform(e) local d = e.data; return e end\n");
    put(&f, "added.lua", "function transform(e) e.data.c = true; return e end\n");
    put(&f, "filled.lua", "function transform(e) e.data.c = e.data.a; return e end\n");
    script_registry_rescan(f.registry);
    check_borrowed(&f, "read", "{\"a\":1,\"b\":[2]}", true);
    check_borrowed(&f, "added", "{\"a\":1,\"b\":[2],\"c\":true}", false);
    check_borrowed(&f, "filled", "{\"a\":1,\"b\":[2],\"c\":1}", false);
    fixture_stop(&f);
}

/* ---- data --------------------------------------------------------------------------------- */

/* Data that must come back as the same JSON, whatever the script reads of it. */
static const char *const round_trip_data[] = {
    "{\"obj\":{},\"arr\":[],\"nul\":null,\"nested\":[[],[{}],{\"a\":[null,null]}],"
    "\"num\":[0,-1,2.5,1e300,-0.0,9007199254740993,-9223372036854775807],"
    "\"str\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\n\\u001f\",\"t\":true,\"f\":false}",
    "[1,[2,[3,[4,[]]]],{\"k\":{}}]",
    "\"just a string\"",
    "3.25",
    "null",
    "{}",
    "[]",
    "  {\"spaced\" : [ 1 , 2 ] }  ",
};

/* Reads every part of data, so every placeholder is filled, and returns the event. */
static const char walk_script[] =
    "local function walk(v)\n"
    "  if type(v) == 'table' then for _, x in pairs(v) do walk(x) end end\n"
    "end\n"
    "function transform(e) walk(e.data); return e end\n";

static void check_round_trip(struct fixture *f, const char *name, const char *data, bool same)
{
    char *event_text = vane_asprintf(PUSH_EVENT "\"data\":%s}", data), *got, *sent;
    json_t *want = json_loads(data, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL), *back;
    struct harness_event p;
    struct run r;

    if (!harness_event_parse(event_text, &p)) {
        vane_free(event_text);
        json_decref(want);
        return;
    }
    transform_event(f, name, &p.event, &r);
    if (is_int(r.rc, 0, "%s: %s runs (%s)", name, data, r.err) && r.out.count == 1) {
        got = data_text(&r.out.events[0]);
        sent = data_text(&p.event);
        back = json_loads(got, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (same)
            is_str(got, sent, "%s: data read but not changed comes back byte for byte", name);
        ok(back != NULL && json_equal(back, want), "%s: %s comes back as %s", name, data, got);
        json_decref(back);
        vane_free(sent);
        vane_free(got);
    }
    run_free(&r);
    harness_event_free(&p);
    json_decref(want);
    vane_free(event_text);
}

/*
 * add.lua on longer data, a member of that name at every place the search
 * for it looks at in its own way (blocks of 32 bytes, the last block, the
 * bytes after it): written once wherever it is, and spliced in when only a
 * nested object has one.
 */
/* add.lua on event (taken): whether its data comes out as want (taken); says why not. */
static bool adds_to(struct fixture *f, char *event, char *want, const char *what, size_t pad)
{
    struct run r;
    char *data;
    bool same;

    transform_once(f, "add", event, &r);
    data = r.rc == 0 && r.out.count == 1 ? data_text(&r.out.events[0]) : vane_strdup(r.err);
    if (!(same = strcmp(data, want) == 0))
        tap_diag("%s, pad %zu: %s", what, pad, data);
    vane_free(data);
    vane_free(want);
    vane_free(event);
    run_free(&r);
    return same;
}

static void check_member_found(struct fixture *f)
{
    bool once = true, spliced = true;

    for (size_t pad = 0; pad < 90; pad++) {
        char filler[100];

        memset(filler, 'x', pad);
        filler[pad] = '\0';
        once &= adds_to(
            f, vane_asprintf(PUSH_EVENT "\"data\":{\"pad\":\"%s\",\"added\":0}}", filler),
            vane_asprintf("{\"added\":[1,\"two\"],\"pad\":\"%s\"}", filler), "at the top", pad);
        spliced &= adds_to(
            f,
            vane_asprintf(PUSH_EVENT "\"data\":{\"pad\":\"%s\",\"in\":{\"added\":0}}}", filler),
            vane_asprintf("{\"pad\":\"%s\",\"in\":{\"added\":0},\"added\":[1,\"two\"]}",
                          filler),
            "nested", pad);
    }
    ok(once, "a member of unread data replaced wherever it sits in longer text");
    ok(spliced, "and one of the same name in a nested object does not count");
}

static void test_data(void)
{
    struct fixture f;
    struct run r;
    char *data;

    fixture_start(&f, 0, 0);
    put(&f, "same.lua", "function transform(e) return e end\n");
    put(&f, "touch.lua", "function transform(e) local d = e.data; return e end\n");
    put(&f, "walk.lua", walk_script);
    put(&f, "add.lua", "function transform(e) e.data.added = {1, 'two'}; return e end\n");
    put(&f, "kinds.lua",
        "function transform(e)\n"
        "  local d = e.data\n"
        "  e.kinds = getmetatable(d.arr) .. ' ' .. type(d.obj) .. ' ' ..\n"
        "            tostring(d.nul == vane.json.null) .. ' ' .. #d.arr .. ' ' ..\n"
        "            math.type(d.num[1]) .. ' ' .. math.type(d.num[3])\n"
        "  return e\n"
        "end\n");
    put(&f, "replace.lua", "function transform(e)\n"
                           "  e.data = {list = vane.json.array(), n = 1.0, s = 'x'}\n"
                           "  e.datacontenttype = 'text/plain'\n"
                           "  return e\n"
                           "end\n");
    put(&f, "text.lua", "function transform(e) e.kind = type(e.data); e.data = e.data .. '!';\n"
                        "  return e end\n");
    put(&f, "nodata.lua", "function transform(e) e.data = nil; return e end\n");
    script_registry_rescan(f.registry);

    for (size_t i = 0; i < sizeof(round_trip_data) / sizeof(round_trip_data[0]); i++) {
        check_round_trip(&f, "same", round_trip_data[i], true);
        check_round_trip(&f, "touch", round_trip_data[i], true);
        check_round_trip(&f, "walk", round_trip_data[i], false);
    }

    transform_once(&f, "add", PUSH_EVENT "\"data\":{\"z\":{\"deep\":[1,2]},\"a\":\"x\"}}", &r);
    if (is_int(r.rc, 0, "adding a member to unread data (%s)", r.err) && r.out.count == 1) {
        data = data_text(&r.out.events[0]);
        is_str(data, "{\"z\":{\"deep\":[1,2]},\"a\":\"x\",\"added\":[1,\"two\"]}",
               "the text as it came, the new member spliced in");
        vane_free(data);
    }
    run_free(&r);
    transform_once(&f, "add", PUSH_EVENT "\"data\":{\"added\":0,\"a\":\"x\"}}", &r);
    if (is_int(r.rc, 0, "replacing a member of unread data (%s)", r.err) && r.out.count == 1) {
        data = data_text(&r.out.events[0]);
        is_str(data, "{\"a\":\"x\",\"added\":[1,\"two\"]}", "is written once, not twice");
        vane_free(data);
    }
    run_free(&r);

    check_member_found(&f);

    transform_once(&f, "kinds", PUSH_EVENT "\"data\":" "{\"arr\":[1,2,3],\"obj\":{},"
                   "\"nul\":null,\"num\":[1,2,3.5]}}", &r);
    if (is_int(r.rc, 0, "data as Lua values (%s)", r.err) && r.out.count == 1) {
        char buf[128];

        is_str(attr_text(&r.out.events[0], "kinds", buf, sizeof(buf)),
               "string vane.json.array table true 3 integer float",
               "arrays marked, objects tables, null the sentinel, integers and floats apart");
    }
    run_free(&r);

    transform_once(&f, "replace", PUSH_EVENT "\"data\":{\"a\":1}}", &r);
    if (is_int(r.rc, 0, "data replaced by a table (%s)", r.err) && r.out.count == 1) {
        char buf[128];

        data = data_text(&r.out.events[0]);
        is_str(data, "{\"list\":[],\"n\":1.0,\"s\":\"x\"}",
               "keys sorted, an empty array stays one, a float stays a float");
        is_str(attr_text(&r.out.events[0], "datacontenttype", buf, sizeof(buf)),
               "string application/json", "JSON data under text/plain: application/json");
        vane_free(data);
    }
    run_free(&r);

    transform_once(&f, "text", "{\"specversion\":\"1.0\",\"id\":\"t\",\"source\":\"/s\","
                   "\"type\":\"t\",\"datacontenttype\":\"text/plain\",\"data\":\"hi\"}", &r);
    if (is_int(r.rc, 0, "text data (%s)", r.err) && r.out.count == 1) {
        char buf[64];

        data = data_text(&r.out.events[0]);
        is_str(data, "hi!", "is a string, and a string stays bytes");
        is_str(attr_text(&r.out.events[0], "kind", buf, sizeof(buf)), "string string",
               "type(data) is string");
        vane_free(data);
    }
    run_free(&r);

    transform_once(&f, "nodata", PUSH_EVENT "\"data\":{\"a\":1}}", &r);
    ok(r.rc == 0 && r.out.count == 1 && !r.out.events[0].has_data, "data = nil removes it");
    run_free(&r);
    fixture_stop(&f);
}

/* vane.json against jansson: valid documents read alike, invalid ones refused by both. */
static void test_json_functions(void)
{
    static const char *const valid[] = {
        "{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\\n\",\"d\":-1.5e-3,\"e\":{}}",
        "[]", "[[[]]]", "\"\\ud834\\udd1e\"", "0", "-0.5", "true", "null", "  [1]  ",
    };
    static const char *const invalid[] = {
        "", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "[1 2]", "\"unterminated", "\"bad \\x escape\"",
        "\"\\ud800 lone\"", "01", "1.", "-", "tru", "[1] [2]", "{'a':1}", "\"tab\there\"",
        "\"\xff\"", "\"\xc0\xaf\"", "nul",
    };
    struct fixture f;
    struct run r;
    char buf[ERR_MAX];

    fixture_start(&f, 0, 0);
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        char *escaped = lua_quote(valid[i], strlen(valid[i])), *script;
        json_t *want = json_loads(valid[i], JSON_DECODE_ANY, NULL), *got;

        script = vane_asprintf("function transform(e)\n"
                               "  e.out = vane.json.encode(vane.json.decode(%s))\n"
                               "  return e\n"
                               "end\n", escaped);
        put(&f, "codec.lua", script);
        script_registry_rescan(f.registry);
        transform_once(&f, "codec", PUSH_EVENT "\"data\":1}", &r);
        if (is_int(r.rc, 0, "vane.json reads %s (%s)", valid[i], r.err) && r.out.count == 1) {
            const char *text = attr_text(&r.out.events[0], "out", buf, sizeof(buf)) + 7;

            got = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
            ok(got != NULL && json_equal(got, want), "and writes %s as jansson reads it: %s",
               valid[i], text);
            json_decref(got);
        }
        run_free(&r);
        json_decref(want);
        vane_free(escaped);
        vane_free(script);
    }
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        char *escaped = lua_quote(invalid[i], strlen(invalid[i])), *script;

        ok(json_loads(invalid[i], JSON_DECODE_ANY, NULL) == NULL, "jansson refuses %s",
           escaped);
        script = vane_asprintf("function transform(e)\n"
                               "  local ok, why = pcall(vane.json.decode, %s)\n"
                               "  e.out = tostring(ok) .. ' ' .. why\n"
                               "  return e\n"
                               "end\n", escaped);
        put(&f, "codec.lua", script);
        script_registry_rescan(f.registry);
        transform_once(&f, "codec", PUSH_EVENT "\"data\":1}", &r);
        if (r.rc == 0 && r.out.count == 1) {
            const char *text = attr_text(&r.out.events[0], "out", buf, sizeof(buf));

            contains(text, "string false vane.json.decode: expected ",
                     "vane.json.decode refuses %s", escaped);
            contains(text, "line 1, column", "and says where");
        } else {
            ok(0, "the decode script ran for %s: %s", escaped, r.err);
        }
        run_free(&r);
        vane_free(escaped);
        vane_free(script);
    }
    put(&f, "codec.lua", "function transform(e)\n"
                         "  local ok, why = pcall(function()\n"
                         "    return vane.json.encode({f = print}) end)\n"
                         "  local ok2, why2 = pcall(vane.json.encode, {[true] = 1})\n"
                         "  local t = {}; t.self = t\n"
                         "  local ok3, why3 = pcall(vane.json.encode, t)\n"
                         "  e.out = why .. ' | ' .. why2 .. ' | ' .. why3\n"
                         "  return e\n"
                         "end\n");
    script_registry_rescan(f.registry);
    transform_once(&f, "codec", PUSH_EVENT "\"data\":1}", &r);
    if (is_int(r.rc, 0, "vane.json.encode errors are catchable (%s)", r.err) &&
        r.out.count == 1) {
        const char *text = attr_text(&r.out.events[0], "out", buf, sizeof(buf));

        contains(text, "codec.lua:3: vane.json.encode: value.f: a function has no JSON form",
                 "a function: where it is");
        contains(text, "a table key must be a string or an integer; got a boolean", "a key");
        contains(text, "nested more than 128 levels deep", "a cycle");
    }
    run_free(&r);
    fixture_stop(&f);
}

/* ---- the sandbox --------------------------------------------------------------------------- */

struct escape_case {
    const char *name, *body, *error; /* body runs inside transform(e); error: a part of it */
};

static const struct escape_case escapes[] = {
    {"io", "io.open('/etc/passwd')", "escape.lua:2: attempt to index a nil value (global 'io')"},
    {"os.execute", "os.execute('true')",
     "escape.lua:2: attempt to call a nil value (field 'execute')"},
    {"os.getenv", "os.getenv('HOME')", "attempt to call a nil value (field 'getenv')"},
    {"require", "require('os')", "escape.lua:2: attempt to call a nil value (global 'require')"},
    {"dofile", "dofile('/etc/passwd')", "attempt to call a nil value (global 'dofile')"},
    {"string.dump", "load(string.dump(print))", "attempt to call a nil value (field 'dump')"},
    {"binary chunk", "assert(load('\\27Lua\\84\\0'))", "attempt to load a binary chunk"},
    {"load of a function", "assert(load(function() return nil end))",
     "a script can load only text given as a string"},
    {"__gc", "setmetatable({}, {__gc = function() while true do end end})",
     "escape.lua:2: setmetatable: __gc (finalizers) are not allowed in scripts"},
    {"string metatable", "getmetatable('').__index = {}", "attempt to index a string value"},
    {"collectgarbage", "collectgarbage('stop')", "global 'collectgarbage'"},
    {"memory", "local s = string.rep('x', 64 * 1024 * 1024)",
     "escape.lua:2: memory cap of 16777216 bytes exceeded"},
    {"memory, little by little",
     "local t = {}; for i = 1, 1e6 do t[i] = string.rep('x', 1000) .. i end",
     "escape.lua:2: memory cap of 16777216 bytes exceeded"},
    {"endless loop", "while true do end",
     "escape.lua:2: instruction budget of 1000000 exceeded"},
    {"endless loop caught", "while true do pcall(function() while true do end end) end",
     "instruction budget of 1000000 exceeded"},
    {"error()", "error('boom')", "escape.lua:2: boom"},
    {"error table", "error({})", "escape.lua: raised an error that is a table value"},
};

static void test_sandbox(void)
{
    static const char event[] = PUSH_EVENT "\"data\":{\"a\":1}}";
    struct fixture f;
    struct run r;

    fixture_start(&f, 0, 0);
    for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
        char *text = vane_asprintf("function transform(e)\n  %s\n  return e\nend\n",
                                   escapes[i].body);

        put(&f, "escape.lua", text);
        script_registry_rescan(f.registry);
        transform_once(&f, "escape", event, &r);
        is_int(r.rc, VANE_ELUA, "%s: refused", escapes[i].name);
        contains(r.err, escapes[i].error, "%s: the error names the script and line",
                 escapes[i].name);
        run_free(&r);
        vane_free(text);
    }
    /* After each failure above, the same state ran the next call: check once more here. */
    put(&f, "escape.lua", "local n = 0\n"
                          "function transform(e)\n"
                          "  n = n + 1\n"
                          "  if n == 1 then while true do end end\n"
                          "  if n == 2 then local s = string.rep('x', 64 * 1024 * 1024) end\n"
                          "  e.calls = n\n"
                          "  return e\n"
                          "end\n");
    script_registry_rescan(f.registry);
    transform_once(&f, "escape", event, &r);
    contains(r.err, "instruction budget", "an endless loop stops the first call");
    run_free(&r);
    transform_once(&f, "escape", event, &r);
    contains(r.err, "memory cap", "string.rep past the cap fails the second");
    run_free(&r);
    transform_once(&f, "escape", event, &r);
    if (is_int(r.rc, 0, "the state serves the third (%s)", r.err) && r.out.count == 1) {
        char buf[64];

        is_str(attr_text(&r.out.events[0], "calls", buf, sizeof(buf)), "integer 3",
               "with its globals as they were");
    }
    run_free(&r);
    put(&f, "loop-at-load.lua", "while true do end\nfunction filter(e) return true end\n");
    put(&f, "helpers.lua", "function transform(e)\n"
                           "  vane.log('warn', 'a warning from a script')\n"
                           "  vane.log('plain info')\n"
                           "  print('printed', 1, true)\n"
                           "  e.now = vane.time() > 1.7e9 and os.time() > 0 and 'yes' or 'no'\n"
                           "  e.ok = pcall(vane.log, 'loud', 'x') and 'yes' or 'refused'\n"
                           "  return e\n"
                           "end\n");
    script_registry_rescan(f.registry);
    contains(lookup(&f, "loop-at-load").load_error, "loop-at-load.lua:1: instruction budget",
             "an endless loop at the top of a file is stopped too");
    transform_once(&f, "helpers", event, &r);
    if (is_int(r.rc, 0, "vane.log, print, vane.time (%s)", r.err) && r.out.count == 1) {
        char buf[64];

        is_str(attr_text(&r.out.events[0], "now", buf, sizeof(buf)), "string yes",
               "vane.time and os.time tell the time");
        is_str(attr_text(&r.out.events[0], "ok", buf, sizeof(buf)), "string refused",
               "vane.log refuses an unknown level");
    }
    run_free(&r);
    fixture_stop(&f);
}

/* ---- reload -------------------------------------------------------------------------------- */

static bool has_error_with(struct fixture *f, const void *arg)
{
    return strstr(lookup(f, "hot").load_error, arg) != NULL;
}

static bool version_is(struct fixture *f, const void *want)
{
    struct script_handle *h = NULL;
    struct harness_event p;
    struct run r;
    char buf[64];
    bool met = false;

    run_init(&r);
    if (!harness_event_parse(PUSH_EVENT "\"data\":1}", &p))
        return false;
    if (script_open(f->registry, "hot", SCRIPT_TRANSFORM, &h, r.err, sizeof(r.err)) == 0 &&
        script_transform(h, &p.event, &r.arena, &r.out, r.err, sizeof(r.err)) == 0 &&
        r.out.count == 1)
        met = strcmp(attr_text(&r.out.events[0], "version", buf, sizeof(buf)), want) == 0;
    script_close(h);
    run_free(&r);
    harness_event_free(&p);
    return met;
}

static bool gone(struct fixture *f, const void *name)
{
    return !lookup(f, name).found;
}

static bool listed(struct fixture *f, const void *name)
{
    return lookup(f, name).found;
}

static void test_reload(void)
{
    struct fixture f;
    struct script_handle *h = NULL, *other = NULL;
    struct harness_event p;
    struct run r;
    char err[ERR_MAX], *path;

    fixture_start(&f, 0, 0);
    put(&f, "hot.lua", "function transform(e) e.version = 'one'; return e end\n");
    ok(wait_for(&f, listed, "hot", 2000), "a file dropped in is loaded");
    ok(version_is(&f, "string one"), "and runs");
    is_int(script_open(f.registry, "hot", SCRIPT_TRANSFORM, &h, err, sizeof(err)), 0,
           "a handle held across the changes");

    put(&f, "hot.lua", "function transform(e) e.version = 'two'; return e end\n");
    ok(wait_for(&f, version_is, "string two", 2000), "an edit of the same size runs next");
    put(&f, "hot.lua", "function transform(e)\n  e.version = 'three'\n  return e\nend\n");
    ok(wait_for(&f, version_is, "string three", 2000), "and another");

    put(&f, "hot.lua", "function transform(e)\n  e.version = 'four'\n  return e +\nend\n");
    ok(wait_for(&f, has_error_with, "hot.lua:4:", 2000),
       "a syntax error is reported with the file and line");
    contains(lookup(&f, "hot").load_error, "unexpected symbol near 'end'", "and Lua's reason");
    ok(version_is(&f, "string three"), "the previous version keeps running");

    put(&f, "hot.lua", "error('not today')\n");
    ok(wait_for(&f, has_error_with, "hot.lua:1: not today", 2000),
       "an error at the top level likewise");
    put(&f, "hot.lua", "x = 1\n");
    ok(wait_for(&f, has_error_with, "defines neither filter(event) nor transform(event)", 2000),
       "a file defining neither function likewise");
    ok(version_is(&f, "string three"), "still the last good version");

    put(&f, "hot.lua", "function transform(e) e.version = 'five'; return e end\n");
    ok(wait_for(&f, version_is, "string five", 2000), "a fixed file loads again");
    is_str(lookup(&f, "hot").load_error, "", "and the error is gone");

    path = vane_asprintf("%s/hot.lua", f.dir);
    unlink(path);
    vane_free(path);
    ok(wait_for(&f, gone, "hot", 2000), "a removed file leaves the list");
    run_init(&r);
    if (harness_event_parse(PUSH_EVENT "\"data\":1}", &p)) {
        is_int(script_transform(h, &p.event, &r.arena, &r.out, r.err, sizeof(r.err)), 0,
               "the open handle keeps running its last version");
        harness_event_free(&p);
    }
    run_free(&r);
    is_int(script_open(f.registry, "hot", 0, &other, err, sizeof(err)), -ENOENT,
           "but it cannot be opened again");
    script_close(h);

    put(&f, "never.lua", "function transform(e) return e end end\n");
    ok(wait_for(&f, listed, "never", 2000), "a file that never loads is listed");
    ok(!lookup(&f, "never").has_transform, "with no function");
    transform_once(&f, "never", PUSH_EVENT "\"data\":1}", &r);
    is_int(r.rc, -EINVAL, "and cannot be opened");
    contains(r.err, "script 'never' did not load: never.lua:1:", "saying why");
    run_free(&r);
    fixture_stop(&f);
}

/* ---- the shipped scripts ------------------------------------------------------------------- */

/* Runs script's transform on event_text (on says what it is); its one output's data is want. */
static void transformed_data_is(struct fixture *f, const char *script, const char *event_text,
                                const char *on, const char *want, const char *what)
{
    struct run r;

    transform_once(f, script, event_text, &r);
    if (is_int(r.rc, 0, "%s runs on %s (%s)", script, on, r.err) && r.out.count == 1) {
        char *data = data_text(&r.out.events[0]);

        is_str(data, want, "%s", what);
        vane_free(data);
    }
    run_free(&r);
}

static void test_shipped(void)
{
    static const char push[] =
        PUSH_EVENT "\"data\":{\"ref\":\"refs/heads/main\",\"repository\":{\"full_name\":"
        "\"vane/vane\"},\"pusher\":{\"name\":\"alice\",\"email\":\"alice@example.com\"},"
        "\"commits\":[{\"id\":\"1\"},{\"id\":\"2\"},{\"id\":\"3\"}],"
        "\"head_commit\":{\"message\":\"URGENT: fix\"},\"token\":\"s3cret\"}}";
    static const char pr[] =
        "{\"specversion\":\"1.0\",\"id\":\"p-1\",\"source\":\"/gh\","
        "\"type\":\"com.github.pull_request\",\"data\":{\"action\":\"opened\",\"number\":42,"
        "\"pull_request\":{\"number\":42,\"title\":\"Faster filters\",\"user\":{\"login\":"
        "\"bob\"}},\"sender\":{\"login\":\"bob\"},\"repository\":{\"full_name\":\"vane/vane\"}}}";
    static const char other[] =
        "{\"specversion\":\"1.0\",\"id\":\"o-1\",\"source\":\"/sensors/7\",\"type\":\"reading\","
        "\"subject\":\"temperature\",\"data\":{\"severity\":\"info\",\"amount\":5}}";
    char *dir = vane_asprintf("%s/filters-lua", getenv("VANE_SRCDIR"));
    struct script_options options;
    struct fixture f;
    struct run r;
    char err[ERR_MAX];
    bool keep = true;

    uv_loop_init(&f.loop);
    f.dir = harness_tempdir();
    script_options_default(&options);
    options.dirs = dir;
    script_registry_start(&f.registry, &f.loop, &options);
    ok(lookup(&f, "redact").has_transform, "redact.lua loads");
    ok(lookup(&f, "chat-message").has_transform, "chat-message.lua loads");
    ok(lookup(&f, "route-by-content").has_filter, "route-by-content.lua loads");

    transform_once(&f, "redact", push, &r);
    if (is_int(r.rc, 0, "redact runs (%s)", r.err) && r.out.count == 1) {
        char *data = data_text(&r.out.events[0]);

        ok(strstr(data, "s3cret") == NULL && strstr(data, "\"token\"") == NULL,
           "redact removes the token: %s", data);
        contains(data, "\"email\":\"***.com\"", "and masks the e-mail to its last characters");
        contains(data, "\"name\":\"alice\"", "and leaves the rest");
        vane_free(data);
    }
    run_free(&r);

    transformed_data_is(&f, "chat-message", push, "a push",
                        "{\"text\":\"vane/vane: alice pushed 3 commits to main\"}",
                        "a push becomes one line");
    transformed_data_is(&f, "chat-message", pr, "a pull request",
                        "{\"text\":\"vane/vane: bob opened pull request #42: Faster filters\"}",
                        "a pull request too");
    transformed_data_is(&f, "chat-message", other, "another event",
                        "{\"text\":\"reading from /sensors/7: temperature\"}",
                        "any other event: its type, source and subject");

    is_int(filter_once(&f, "route-by-content", push, &keep, err), 0, "route-by-content runs");
    ok(keep, "a push to main passes");
    is_int(filter_once(&f, "route-by-content", other, &keep, err), 0, "and again");
    ok(!keep, "an info reading of 5 does not");
    fixture_stop(&f);
    vane_free(dir);
}

/* ---- vaned --------------------------------------------------------------------------------- */

static void test_vaned(void)
{
    char *data_dir = harness_tempdir(), *scripts = harness_tempdir(), *config, *url;
    struct http_reply reply = {0};
    struct vaned v;
    json_t *body = NULL, *list;
    char *out = NULL;

    vane_free(harness_write_file(scripts, "upper.lua",
                                 "function transform(e) e.subject = 'X'; return e end\n"));
    vane_free(harness_write_file(scripts, "broken.lua", "function filter(e)\n  return (\nend\n"));
    config = vane_asprintf("%s/vane.lua", data_dir);
    {
        char *text = vane_asprintf("return { scripts = { dirs = \"%s\", budget = 5000, "
                                   "memory = \"1MiB\" } }\n", scripts);

        vane_free(harness_write_file(data_dir, "vane.lua", text));
        vane_free(text);
    }
    const char *args[] = {"--config", config, NULL};

    if (!ok(vaned_start(&v, data_dir, args) == 0, "vaned starts with scripts.dirs")) {
        vaned_cleanup(&v);
        goto done;
    }
    {
        char *log = vaned_log(&v);

        contains(log, "1 scripts", "the start line counts the scripts running");
        contains(log, "broken.lua did not load: broken.lua:3:", "the log says which did not");
        vane_free(log);
    }
    url = vane_asprintf("%s/api/v1/scripts", v.url);
    if (is_int(http_request("GET", url, NULL, HTTP_1_1, &reply), 0, "GET /api/v1/scripts") &&
        is_int(reply.status, 200, "answers 200 (%s)", reply.body ? reply.body : "")) {
        body = json_loads(reply.body, 0, NULL);
        list = json_object_get(body, "scripts");
        is_int(json_array_size(list), 2, "two scripts listed");
        is_str(json_string_value(json_object_get(json_array_get(list, 0), "name")), "broken",
               "by name");
        is_str(json_string_value(json_object_get(json_array_get(list, 0), "status")), "failed",
               "broken never loaded");
        contains(json_string_value(json_object_get(json_array_get(list, 0), "load_error")),
                 "broken.lua:3:", "and says where");
        is_str(json_string_value(json_object_get(json_array_get(list, 1), "status")), "loaded",
               "upper is loaded");
        is_str(json_string_value(json_array_get(
                   json_object_get(json_array_get(list, 1), "functions"), 0)),
               "transform", "with its function");
        ok(json_is_string(json_object_get(json_array_get(list, 1), "loaded_at")),
           "and when it loaded");
        contains(json_string_value(json_array_get(json_object_get(body, "dirs"), 0)),
                 "/", "the folders watched");
    }
    http_reply_free(&reply);
    vane_free(url);
    url = vane_asprintf("%s/api/v1/scripts/upper", v.url);
    if (is_int(http_request("GET", url, NULL, HTTP_1_1, &reply), 0, "GET one script"))
        contains(reply.body, "\"name\":\"upper\"", "answers it");
    http_reply_free(&reply);
    vane_free(url);
    url = vane_asprintf("%s/api/v1/scripts/nope", v.url);
    if (is_int(http_request("GET", url, NULL, HTTP_1_1, &reply), 0, "GET an unknown one"))
        is_int(reply.status, 404, "answers 404");
    http_reply_free(&reply);
    vane_free(url);
    {
        const char *argv[] = {getenv("VANECTL"), "-e", v.url, "script", "list", NULL};

        is_int(harness_run(argv, NULL, &out, NULL), 0, "vanectl script list exits 0");
        contains(out, "NAME", "prints a table");
        contains(out, "upper", "with upper");
        contains(out, "broken.lua:3:", "and broken's error");
        vane_free(out);
    }
    kill(v.pid, SIGTERM);
    is_int(vaned_wait(&v, 10000), 0, "vaned stops cleanly with its scripts");
    vaned_cleanup(&v);
done:
    json_decref(body);
    vane_free(config);
    harness_rmtree(scripts);
    harness_rmtree(data_dir);
}

int main(void)
{
    vane_log_setup(LOG_LEVEL_ERROR, VANE_LOG_TEXT, 2);
    test_calls();
    test_typing();
    test_kept_event();
    test_kept_data();
    test_borrowed_data();
    test_data();
    test_json_functions();
    test_sandbox();
    test_reload();
    test_shipped();
    test_vaned();
    return tap_done();
}

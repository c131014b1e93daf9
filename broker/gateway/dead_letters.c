/*
 * dead_letters.c -- reading and resending a subscription's dead letters
 * (see dead_letters.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "event/event_json.h"
#include "gateway/dead_letters.h"
#include "gateway/events_read.h"
#include "gateway/query.h"
#include "gateway/response.h"
#include "trigger/trigger.h"

struct dead_query {
    uint64_t offset;
    size_t limit;
};

/* The subscription's dead-letter eventbus, or NULL having answered 404. */
static const struct store_bus *dead_letter_bus(struct gateway *gw, h2o_req_t *req,
                                               const struct subscription_meta *sub)
{
    char *name = trigger_dead_letter_bus(sub);
    const struct store_bus *bus = NULL;

    if (name == NULL)
        response_error(req, 404, "Not Found", NULL,
                       "subscription %s keeps no dead letters (config.disable_dead_letter)",
                       sub->name);
    else if ((bus = store_bus(gw->store, name)) == NULL)
        response_error(req, 404, "Not Found", NULL, "subscription %s has no dead letters yet",
                       sub->name);
    vane_free(name);
    return bus;
}

static int set_number(h2o_req_t *req, const char *name, const char *text, uint64_t max,
                      uint64_t *out)
{
    if (!query_u64(text, max, out)) {
        response_error(req, 400, "Bad Request", name, "%s: expected a whole number up to %" PRIu64
                       "; got \"%s\"", name, max, text);
        return -1;
    }
    return 0;
}

/* offset and limit from the query; -1 having answered 400. */
static int parse_query(h2o_req_t *req, struct dead_query *q, size_t default_limit)
{
    struct query_param param;
    size_t cursor = 0;
    uint64_t n;
    int rc;

    q->offset = 0;
    q->limit = default_limit;
    while ((rc = query_next(req, &cursor, &param)) > 0) {
        if (strcmp(param.name, "offset") == 0) {
            if (set_number(req, "offset", param.value, UINT64_MAX, &q->offset) != 0)
                return -1;
        } else if (strcmp(param.name, "limit") == 0) {
            if (set_number(req, "limit", param.value, DEAD_LETTERS_MAX_LIMIT, &n) != 0)
                return -1;
            q->limit = n ? (size_t)n : 1;
        } else {
            response_error(req, 400, "Bad Request", param.name,
                           "query: expected offset and limit");
            return -1;
        }
    }
    if (rc < 0)
        response_error(req, 400, "Bad Request", NULL,
                       "malformed query: expected name=value pairs joined by &");
    return rc;
}

/* true when the dead letter at rec is one of subscription id's. */
static bool belongs(const struct record_view *rec, const char *id, struct event *scratch)
{
    const struct event_attr *at;

    record_to_event(rec, scratch);
    at = event_get(scratch, "xvanusdlsubscription");
    return at != NULL && at->value.type == EVENT_STRING && at->value.u.bytes.len == strlen(id) &&
           memcmp(at->value.u.bytes.ptr, id, at->value.u.bytes.len) == 0;
}

/*
 * Calls take(rec, arg) for each of the subscription's dead letters from
 * q->offset, up to q->limit of them and DEAD_LETTERS_SCAN looked at;
 * returns the offset to go on from.
 */
static uint64_t walk(struct eventlog *log, const struct subscription_meta *sub,
                     const struct dead_query *q,
                     void (*take)(const struct record_view *rec, void *arg), void *arg)
{
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    struct event scratch = EVENT_INIT;
    uint64_t offset = q->offset;
    size_t taken = 0, scanned = 0;
    char id[24];

    snprintf(id, sizeof(id), "%" PRIu64, sub->id);
    while (taken < q->limit && scanned < DEAD_LETTERS_SCAN &&
           eventlog_read(log, offset, 256, 1u << 20, &batch) == 0 && batch.count > 0) {
        size_t i;

        for (i = 0; i < batch.count && taken < q->limit; i++, scanned++) {
            offset = batch.records[i].offset + 1;
            if (belongs(&batch.records[i], id, &scratch)) {
                take(&batch.records[i], arg);
                taken++;
            }
        }
    }
    event_free(&scratch);
    eventlog_batch_free(&batch);
    return offset;
}

struct listing {
    struct vane_buf body;
    struct event scratch;
    size_t count;
};

static void list_one(const struct record_view *rec, void *arg)
{
    struct listing *l = arg;

    if (l->count++ > 0)
        vane_buf_append(&l->body, ",", 1);
    events_read_write_record(&l->body, 0, rec, &l->scratch);
}

void dead_letters_get(struct gateway *gw, h2o_req_t *req, const struct subscription_meta *sub)
{
    const struct store_bus *bus;
    struct listing l = {VANE_BUF_INIT, EVENT_INIT, 0};
    struct dead_query q;
    uint64_t next;

    if (parse_query(req, &q, 10) != 0 || (bus = dead_letter_bus(gw, req, sub)) == NULL)
        return;
    vane_buf_append_str(&l.body, "{\"eventbus\":");
    event_json_string(&l.body, bus->meta->name, strlen(bus->meta->name));
    vane_buf_append_str(&l.body, ",\"events\":[");
    next = walk(bus->logs[0], sub, &q, list_one, &l);
    vane_buf_appendf(&l.body, "],\"next\":{\"offset\":%" PRIu64 "}}\n", next);
    response_send(req, 200, "OK", "application/json", l.body.data, l.body.len);
    event_free(&l.scratch);
    vane_buf_free(&l.body);
}

struct gathering {
    struct vane_buf bytes; /* the records, back to back */
    size_t count;
};

static void gather_one(const struct record_view *rec, void *arg)
{
    struct gathering *g = arg;

    vane_buf_append(&g->bytes, rec->base, rec->size);
    g->count++;
}

/* The gathered records as views (into g->bytes); free with vane_free. */
static struct record_view *views_of(const struct gathering *g)
{
    struct record_view *views = vane_calloc(g->count ? g->count : 1, sizeof(*views));
    size_t at = 0;

    for (size_t i = 0; i < g->count; i++) {
        const char *why;

        record_decode(g->bytes.data + at, g->bytes.len - at, &views[i], &why);
        at += views[i].size;
    }
    return views;
}

/* offset and limit from an optional JSON body, else from the query. */
static int resend_query(h2o_req_t *req, struct dead_query *q)
{
    json_error_t jerr;
    json_t *body;
    json_int_t offset = 0, limit = 100;

    if (req->entity.base == NULL || req->entity.len == 0)
        return parse_query(req, q, 100);
    body = json_loadb(req->entity.base, req->entity.len, 0, &jerr);
    if (body == NULL || json_unpack_ex(body, &jerr, JSON_STRICT, "{s?I, s?I}", "offset", &offset,
                                       "limit", &limit) != 0 ||
        offset < 0 || limit < 1 || limit > DEAD_LETTERS_MAX_LIMIT) {
        response_error(req, 400, "Bad Request", NULL,
                       "body: expected {\"offset\": N, \"limit\": 1..%d} (%s)",
                       DEAD_LETTERS_MAX_LIMIT, body == NULL ? jerr.text : "bad values");
        json_decref(body);
        return -1;
    }
    q->offset = (uint64_t)offset;
    q->limit = (size_t)limit;
    json_decref(body);
    return 0;
}

void dead_letters_resend(struct gateway *gw, h2o_req_t *req, const struct subscription_meta *sub)
{
    const struct store_bus *bus;
    struct gathering g = {VANE_BUF_INIT, 0};
    struct record_view *views;
    struct dead_query q;
    size_t sent = 0;
    uint64_t next;

    if (resend_query(req, &q) != 0 || (bus = dead_letter_bus(gw, req, sub)) == NULL)
        return;
    next = walk(bus->logs[0], sub, &q, gather_one, &g);
    views = views_of(&g);
    if (gw->trigger == NULL || trigger_resend(gw->trigger, sub->id, views, g.count, &sent) != 0)
        response_error(req, 409, "Conflict", NULL,
                       "subscription %s is not running (disabled?): resume it first", sub->name);
    else
        response_json(req, 202, "Accepted",
                      json_pack("{s:I, s:{s:I}}", "resent", (json_int_t)sent, "next", "offset",
                                (json_int_t)next));
    vane_free(views);
    vane_buf_free(&g.bytes);
}

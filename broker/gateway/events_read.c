/*
 * events_read.c -- reading stored events over HTTP (see events_read.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "event/event_json.h"
#include "event/timestamp.h"
#include "gateway/events_read.h"
#include "gateway/query.h"
#include "gateway/response.h"

struct read_query {
    uint32_t eventlog;
    uint64_t offset;
    size_t limit;
    bool has_time, has_id, has_offset;
    int64_t time;
    char id[512];
};

/* One name=value pair into q; false having answered 400. */
static bool apply_param(h2o_req_t *req, const struct store_bus *bus, const char *name,
                        const char *value, struct read_query *q)
{
    uint64_t n;
    const char *why;

    if (strcmp(name, "eventlog") == 0) {
        if (!query_u64(value, bus->meta->eventlog_count - 1, &n))
            goto bad_number;
        q->eventlog = (uint32_t)n;
    } else if (strcmp(name, "offset") == 0) {
        if (!query_u64(value, UINT64_MAX, &q->offset))
            goto bad_number;
        q->has_offset = true;
    } else if (strcmp(name, "limit") == 0) {
        if (!query_u64(value, EVENTS_READ_MAX_LIMIT, &n) || n == 0)
            goto bad_number;
        q->limit = n;
    } else if (strcmp(name, "time") == 0) {
        if (timestamp_parse(value, strlen(value), &q->time, &why) != 0) {
            response_error(req, 400, "Bad Request", "time", "time: %s", why);
            return false;
        }
        q->has_time = true;
    } else if (strcmp(name, "id") == 0) {
        snprintf(q->id, sizeof(q->id), "%s", value);
        q->has_id = true;
    } else {
        response_error(req, 400, "Bad Request", name,
                       "unknown query parameter %s: expected eventlog, offset, limit, time or id",
                       name);
        return false;
    }
    return true;
bad_number:
    response_error(req, 400, "Bad Request", name,
                   "%s: expected a whole number%s; got \"%s\"", name,
                   strcmp(name, "eventlog") == 0 ? " below the eventbus's eventlog count"
                   : strcmp(name, "limit") == 0  ? " from 1 to 1000"
                                                 : "",
                   value);
    return false;
}

static bool parse_query(h2o_req_t *req, const struct store_bus *bus, struct read_query *q)
{
    struct query_param param;
    size_t cursor = 0;
    int rc;

    memset(q, 0, sizeof(*q));
    q->limit = EVENTS_READ_DEFAULT_LIMIT;
    while ((rc = query_next(req, &cursor, &param)) > 0)
        if (!apply_param(req, bus, param.name, param.value, q))
            return false;
    if (rc < 0) {
        response_error(req, 400, "Bad Request", NULL,
                       "malformed query: expected name=value pairs joined by &");
        return false;
    }
    if ((q->has_time && q->has_offset) || (q->has_id && (q->has_time || q->has_offset))) {
        response_error(req, 400, "Bad Request", q->has_id ? "id" : "time",
                       "give one of offset, time or id");
        return false;
    }
    return true;
}

void events_read_write_record(struct vane_buf *out, uint32_t eventlog,
                              const struct record_view *rec, struct event *event)
{
    char stored[TIMESTAMP_MAX_LEN];

    timestamp_format(rec->stored_at, stored);
    record_to_event(rec, event);
    vane_buf_appendf(out, "{\"eventlog\":%u,\"offset\":%llu,\"stored_at\":\"%s\",\"event\":",
                     eventlog, (unsigned long long)rec->offset, stored);
    event_to_json(event, out);
    vane_buf_append(out, "}", 1);
}

/* Reads up to limit events of one eventlog from offset into out; returns the next offset. */
static uint64_t write_events(struct vane_buf *out, struct eventlog *log, uint32_t index,
                             uint64_t offset, size_t limit, int *status)
{
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    struct event event = EVENT_INIT;
    uint64_t next;

    *status = eventlog_read(log, offset, limit, EVENTS_READ_MAX_BYTES, &batch);
    for (size_t i = 0; i < batch.count; i++) {
        if (i > 0)
            vane_buf_append(out, ",", 1);
        events_read_write_record(out, index, &batch.records[i], &event);
    }
    next = batch.count > 0 ? batch.next_offset : offset;
    if (batch.count == 0 && *status == 0) {
        struct eventlog_stats stats;

        eventlog_stats(log, &stats);
        if (next < stats.first_offset)
            next = stats.first_offset;
    }
    event_free(&event);
    eventlog_batch_free(&batch);
    return next;
}

static void answer_range(h2o_req_t *req, const struct store_bus *bus, const struct read_query *q)
{
    struct eventlog *log = bus->logs[q->eventlog];
    struct vane_buf body = VANE_BUF_INIT;
    uint64_t offset = q->has_time ? eventlog_offset_at_time(log, q->time) : q->offset;
    uint64_t next;
    int status;

    vane_buf_append_str(&body, "{\"eventbus\":");
    event_json_string(&body, bus->meta->name, strlen(bus->meta->name));
    vane_buf_append_str(&body, ",\"events\":[");
    next = write_events(&body, log, q->eventlog, offset, q->limit, &status);
    vane_buf_appendf(&body, "],\"next\":{\"eventlog\":%u,\"offset\":%llu}}\n", q->eventlog,
                     (unsigned long long)next);
    if (status != 0 && status != VANE_ECORRUPT)
        response_error(req, 500, "Internal Server Error", NULL, "cannot read eventlog %u: %s",
                       q->eventlog, vane_strerror(status));
    else
        response_send(req, 200, "OK", "application/json", body.data, body.len);
    vane_buf_free(&body);
}

static void answer_id(struct gateway *gw, h2o_req_t *req, const struct store_bus *bus,
                      const struct read_query *q)
{
    struct vane_buf body = VANE_BUF_INIT;
    uint32_t index;
    uint64_t offset;
    int status, rc = store_find_id(gw->store, bus->meta->name, q->id, EVENTS_READ_ID_SCAN,
                                   &index, &offset);

    if (rc == -ENOENT) {
        response_error(req, 404, "Not Found", "id",
                       "no event with id \"%s\" among the newest %d events of each eventlog",
                       q->id, EVENTS_READ_ID_SCAN);
        return;
    }
    if (rc != 0) {
        response_error(req, 500, "Internal Server Error", NULL, "cannot search for the id: %s",
                       vane_strerror(rc));
        return;
    }
    vane_buf_append_str(&body, "{\"eventbus\":");
    event_json_string(&body, bus->meta->name, strlen(bus->meta->name));
    vane_buf_append_str(&body, ",\"events\":[");
    write_events(&body, bus->logs[index], index, offset, 1, &status);
    vane_buf_append_str(&body, "]}\n");
    response_send(req, 200, "OK", "application/json", body.data, body.len);
    vane_buf_free(&body);
}

void events_read(struct gateway *gw, h2o_req_t *req, const char *bus_name)
{
    const struct store_bus *bus;
    struct read_query q;

    if (response_check_method(req, "GET, HEAD") || gateway_check_ready(gw, req))
        return;
    if ((bus = store_bus(gw->store, bus_name)) == NULL) {
        response_error(req, 404, "Not Found", "eventbus", "no eventbus named \"%s\"", bus_name);
        return;
    }
    if (!parse_query(req, bus, &q))
        return;
    if (q.has_id)
        answer_id(gw, req, bus, &q);
    else
        answer_range(req, bus, &q);
}

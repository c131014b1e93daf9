/*
 * eventlog_catchup.c -- a follower far behind catches up from the leader's
 * segments, and every eventlog of a cluster serves its records for that
 * (see eventlog_internal.h, cluster/forward.h).
 *
 * Raft keeps only the entries after its last snapshot, and an eventlog's
 * snapshot holds no events: the segments are the state.  A follower that
 * missed entries the leader has since dropped is sent the snapshot instead,
 * and restore finds that its segments end before the offset the snapshot
 * names.  In a cluster that is not damage: the follower fetches the missing
 * records from the group's leader, FETCH_BYTES at a time (forward_fetch),
 * checks each (CRC, offsets following on from its own), and writes them as
 * they are -- the offsets, store times and raft indexes the leader gave
 * them -- to its segments.  Entries raft applies meanwhile (those after the
 * snapshot) are held, copied, in order, and applied once the records reach
 * the snapshot's offset.  Readers see what the segments hold.  A node
 * restarted mid-way restores the same snapshot at start and goes on from
 * where its segments end.  Nothing is held in memory but the entries that
 * arrive during the catch-up, which is as fast as the network copies.
 *
 * A replica catching up cannot serve as leader (its segments lack records
 * the others have): it may not lead (replica_set_can_lead), so, elected,
 * it hands the lead to another voter and meanwhile proposes nothing
 * itself.  Nor may raft snapshot it (fsm_snapshot answers RAFT_BUSY): the
 * snapshot would say the segments reach further than they do.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "raft/replica.h"
#include "store/eventlog_internal.h"
#include "store/record.h"

static const char component[] = "store";

#define FETCH_BYTES (4u << 20)
#define RETRY_MS 200

struct catchup_entry {
    struct catchup_entry *next;
    raft_index index;
    size_t len;
    uint8_t bytes[];
};

/* ---- serving other nodes ------------------------------------------------- */

/* Whole sealed records from offset on; -ERANGE when retention already dropped offset. */
static int read_records(void *target, uint64_t offset, size_t max_bytes, struct vane_buf *out)
{
    struct eventlog *log = target;
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    int err = eventlog_read(log, offset, SIZE_MAX, max_bytes, &batch);

    if (err == 0 && batch.count > 0 && batch.records[0].offset != offset)
        err = -ERANGE;
    if (err == 0)
        vane_buf_append(out, batch.buf.data, batch.buf.len);
    eventlog_batch_free(&batch);
    return err;
}

/* ---- fetching ------------------------------------------------------------ */

static void fetch_next(struct eventlog *log);

static void on_retry(uv_timer_t *timer)
{
    fetch_next(timer->data);
}

static void retry_later(struct eventlog *log)
{
    if (log->catchup.retry_open && !log->closing)
        uv_timer_start(&log->catchup.retry, on_retry, RETRY_MS, 0);
}

/* The records (len bytes) from the next offset on, up to the target: checked, then written. */
static int take_records(struct eventlog *log, const uint8_t *p, size_t len)
{
    uint64_t next = eventlog_active(log)->next_offset;
    size_t used = 0;

    while (used < len && next < log->catchup.target) {
        struct record_view view;
        const char *why = "offset out of sequence";

        if (record_decode(p + used, len - used, &view, &why) != 0 || view.offset != next) {
            vane_log_error(component, "%s: a record fetched from the leader at offset %" PRIu64
                           " is not whole: %s", log->dir, next, why);
            return VANE_EPROTOCOL;
        }
        used += view.size;
        next++;
    }
    return used > 0 ? eventlog_write_sealed(log, p, used) : -EAGAIN;
}

/* The records are in and durable: the log's writer goes on after them,
 * and the entries held meanwhile are applied, in order. */
static void finish(struct eventlog *log)
{
    struct catchup_entry *e;
    void *result;
    int err;

    vane_log_info(component, "%s: caught up to offset %" PRIu64 " from the leader's segments; "
                  "applying the %s raft entries that came meanwhile", log->dir,
                  log->catchup.target, log->catchup.queue ? "held" : "(no)");
    if ((err = writer_restart(log)) != 0) {
        vane_log_error(component, "%s: cannot go on writing after the catch-up: %s; the "
                       "eventlog takes no more writes", log->dir, vane_strerror(err));
        log->failure = err;
    }
    log->catchup.target = 0;
    replica_set_can_lead(log->replica, eventlog_may_lead(log));
    while ((e = log->catchup.queue) != NULL) {
        log->catchup.queue = e->next;
        eventlog_apply_entry(log, e->bytes, e->len, e->index, &result);
        vane_free(e);
    }
    log->catchup.queue_last = NULL;
    eventlog_notify(log);
}

static void sync_work(uv_work_t *req)
{
    struct catchup *c = req->data;

    c->sync_status = fdatasync(c->sync_fd) != 0 ? -errno : 0;
}

static void after_sync(uv_work_t *req, int status)
{
    struct eventlog *log = (struct eventlog *)((char *)req->data - offsetof(struct eventlog, catchup));

    close(log->catchup.sync_fd);
    log->catchup.syncing = false;
    if (log->closing) {
        eventlog_part_done(log);
        return;
    }
    log->closes_pending--;
    /* The full segments the catch-up rolled past are synced by their seals:
     * the writer goes on only once those are done too. */
    if (status == 0 && log->catchup.sync_status == 0) {
        if (log->sealing == 0)
            finish(log);
        else
            retry_later(log);
        return;
    }
    vane_log_warn(component, "%s: syncing the records fetched: %s; trying again", log->dir,
                  vane_strerror(status != 0 ? status : log->catchup.sync_status));
    retry_later(log);
}

/* The fetched records reach the disk before the writer's go after them. */
static void sync_then_finish(struct eventlog *log)
{
    struct catchup *c = &log->catchup;

    if (c->syncing)
        return;
    if ((c->sync_fd = dup(eventlog_active(log)->fd)) < 0) {
        retry_later(log);
        return;
    }
    c->syncing = true;
    c->sync.data = c;
    log->closes_pending++;
    if (uv_queue_work(log->loop, &c->sync, sync_work, after_sync) != 0) {
        close(c->sync_fd);
        c->syncing = false;
        log->closes_pending--;
        retry_later(log);
    }
}

static void on_fetched(void *arg, int status, const void *records, size_t len)
{
    struct eventlog *log = arg;

    log->catchup.fetching = NULL;
    if (status == 0)
        status = take_records(log, records, len);
    if (status != 0 && status != -EAGAIN)
        vane_log_warn(component, "%s: fetching records from offset %" PRIu64 ": %s; trying "
                      "again", log->dir, eventlog_active(log)->next_offset,
                      vane_strerror(status));
    if (status != 0) {
        retry_later(log);
        return;
    }
    if (eventlog_active(log)->next_offset >= log->catchup.target)
        sync_then_finish(log);
    else
        fetch_next(log);
}

static void fetch_next(struct eventlog *log)
{
    const char *leader;

    if (log->closing || log->catchup.target == 0 || log->catchup.fetching != NULL)
        return;
    if (eventlog_active(log)->next_offset >= log->catchup.target) {
        sync_then_finish(log);
        return;
    }
    leader = log->replica != NULL ? replica_leader_address(log->replica) : NULL;
    if (leader == NULL || replica_is_leader(log->replica)) {
        retry_later(log);
        return;
    }
    log->catchup.fetching = forward_fetch(log->forwarder, leader, log->group,
                                          eventlog_active(log)->next_offset, FETCH_BYTES,
                                          on_fetched, log);
    if (log->catchup.fetching == NULL)
        retry_later(log);
}

int eventlog_catchup_begin(struct eventlog *log, uint64_t target)
{
    vane_log_info(component, "%s: the segments end at offset %" PRIu64 ", the leader's snapshot "
                  "at %" PRIu64 ": fetching the records in between from the leader", log->dir,
                  eventlog_active(log)->next_offset, target);
    log->catchup.target = target;
    writer_hold(log); /* the log's appends wait: their records come after these */
    replica_set_can_lead(log->replica, false);
    retry_later(log); /* from the loop: raft is restoring now */
    return 0;
}

bool eventlog_catchup_hold(struct eventlog *log, const struct raft_buffer *buf)
{
    struct catchup_entry *e;

    if (log->catchup.target == 0)
        return false;
    if (log->closing)
        return true; /* dropped, not applied: after a restart the catch-up starts again */
    e = vane_malloc(sizeof(*e) + buf->len);
    e->next = NULL;
    e->index = replica_applying_index(log->replica);
    e->len = buf->len;
    memcpy(e->bytes, buf->base, buf->len);
    if (log->catchup.queue_last != NULL)
        log->catchup.queue_last->next = e;
    else
        log->catchup.queue = e;
    log->catchup.queue_last = e;
    return true;
}

/* ---- life cycle ---------------------------------------------------------- */

void eventlog_catchup_open(struct eventlog *log)
{
    if (log->forwarder == NULL)
        return;
    forwarder_set_reader(log->forwarder, log->group, read_records, log);
    uv_timer_init(log->loop, &log->catchup.retry);
    log->catchup.retry.data = log;
    log->catchup.retry_open = true;
}

static void on_retry_closed(uv_handle_t *handle)
{
    struct eventlog *log = handle->data;

    if (log->replica == NULL)
        eventlog_free(log); /* raft never started: nothing else holds the log */
    else
        eventlog_part_done(log);
}

void eventlog_catchup_close(struct eventlog *log)
{
    struct catchup_entry *e;

    if (log->catchup.fetching != NULL)
        forward_cancel(log->catchup.fetching);
    log->catchup.fetching = NULL;
    while ((e = log->catchup.queue) != NULL) {
        log->catchup.queue = e->next;
        vane_free(e);
    }
    log->catchup.queue_last = NULL;
    if (!log->catchup.retry_open) {
        if (log->replica == NULL)
            eventlog_free(log);
        return;
    }
    forwarder_set_reader(log->forwarder, log->group, NULL, NULL);
    log->catchup.retry_open = false;
    if (log->replica != NULL)
        log->closes_pending++;
    uv_close((uv_handle_t *)&log->catchup.retry, on_retry_closed);
}

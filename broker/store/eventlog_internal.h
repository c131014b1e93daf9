/*
 * eventlog_internal.h -- what eventlog.c and eventlog_catchup.c share: the
 * eventlog itself and the few steps of applying records both take.
 */
#ifndef VANE_STORE_EVENTLOG_INTERNAL_H
#define VANE_STORE_EVENTLOG_INTERNAL_H

#include <raft.h>

#include "cluster/forward.h"
#include "store/eventlog.h"
#include "store/segment.h"

struct batch;
struct watch;
struct catchup_entry; /* eventlog_catchup.c */

/* Catching up from another node's segments (eventlog_catchup.c); target 0: not. */
struct catchup {
    uint64_t target;            /* the offset the raft snapshot says the log reaches */
    struct catchup_entry *queue, *queue_last; /* entries applied meanwhile, in order */
    struct forward_req *fetching;
    uv_timer_t retry;
    bool retry_open;
    struct raft_transfer step_down;
};

struct eventlog {
    uv_loop_t *loop;
    char *dir;
    struct eventlog_options opt;
    struct segment **segs; /* by base offset; the last is the active one */
    size_t nsegs, capsegs;
    struct replica *replica;
    struct raft_fsm fsm;
    struct batch *pending, *pending_last; /* FIFO of batches not yet proposed */
    int inflight;
    uv_prepare_t flush;
    struct {
        uint8_t *buf;
        size_t len, cap;
        uint64_t position;
    } tail;
    struct watch *watches;
    eventlog_ready_cb ready;
    void *ready_arg;
    bool ready_done, closing, notifying;
    int failure; /* a write error or damage: the log takes no more writes */
    uint64_t damaged_offset; /* reads stop here; UINT64_MAX when undamaged */
    uint64_t last_raft_index;
    uint32_t last_entry_pos;
    int64_t last_time;
    int sealing;
    int *snap_fds;
    size_t snap_nfds;
    uint64_t entry_bytes_avg;   /* running average size of the raft entries applied */
    uint64_t unsynced;          /* bytes written since the last background sync began */
    bool syncing;               /* a background sync is running */
    eventlog_close_cb close_cb;
    void *close_arg;
    int closes_pending;
    struct forwarder *forwarder; /* in a cluster; NULL on a single node */
    uint64_t group;              /* its raft group's id in a cluster */
    struct catchup catchup;
};

/* The segment appended to: the last. */
static inline struct segment *eventlog_active(const struct eventlog *log)
{
    return log->segs[log->nsegs - 1];
}

/* eventlog.c */
int eventlog_apply_entry(struct eventlog *log, const uint8_t *p, size_t len, raft_index index,
                         void **result);
int eventlog_write_sealed(struct eventlog *log, const uint8_t *records, size_t len);
void eventlog_notify(struct eventlog *log);
void eventlog_part_done(struct eventlog *log); /* a part that held the close back is done */
void eventlog_free(struct eventlog *log);

/*
 * eventlog_catchup.c.  open: in a cluster, serves the log's records to
 * other nodes and readies the retry timer (before raft starts).  begin:
 * the snapshot says the log reaches target: fetch up to there.  hold: while
 * catching up, keeps an entry raft applies to apply it after (true).
 * close: stops; on a log whose raft never started (log->replica NULL) it
 * frees the log, else it is one of the parts eventlog_close() waits for.
 */
void eventlog_catchup_open(struct eventlog *log);
int eventlog_catchup_begin(struct eventlog *log, uint64_t target);
bool eventlog_catchup_hold(struct eventlog *log, const struct raft_buffer *buf);
void eventlog_catchup_close(struct eventlog *log);

#endif

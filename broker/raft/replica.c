/*
 * replica.c -- a canonical raft group on the loop, with the local transport
 * (see replica.h).
 *
 * Start: raft_uv over dir, raft_init, raft_bootstrap with this node as the
 * only voter (refused, harmlessly, when the directory already holds a
 * group), raft_start, then a barrier: its callback runs once every entry
 * that was in the log has been applied, which is what "ready" means.
 *
 * Close: raft_close must not be called from inside an apply callback (raft
 * aborts), so replica_close defers it to a zero timer when it is.
 */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/fs.h"
#include "raft/replica.h"

#define REPLICA_ID 1
#define REPLICA_ADDRESS "local"

struct replica {
    struct raft raft;
    struct raft_io io;
    struct raft_uv_transport transport;
    struct raft_barrier barrier;
    uv_loop_t *loop;
    uv_timer_t close_timer;
    replica_ready_cb ready;
    replica_close_cb close_cb;
    void *ready_arg, *close_arg;
    bool raft_initialized;
};

struct apply_req {
    struct raft_apply req;
    replica_apply_cb cb;
    void *arg;
};

/* The local transport: a single-voter group never talks to a peer. */
static int local_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    (void)t, (void)id, (void)address;
    return 0;
}

static int local_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    (void)t, (void)cb;
    return 0;
}

static int local_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
                         const char *address, raft_uv_connect_cb cb)
{
    (void)req, (void)id, (void)address, (void)cb;
    snprintf(t->errmsg, sizeof(t->errmsg), "no peer transport on a single node");
    return RAFT_NOCONNECTION;
}

/*
 * raft 0.15's libuv backend can fire its close callback twice: once when its
 * other parts are closed while an open segment's writer is still closing
 * (it waits for writes in the thread pool), and again when the writer
 * finishes, by then on freed memory (seen under ASan on every run of
 * tests/test-store).  The backend does wait for its transport, so the
 * transport's close completes only after a delay that outlasts the writer's
 * last write; with 50 ms no double close was seen in 30 runs under a debug
 * build of raft, where 10 ms still failed one run in ten.  It adds 50 ms to
 * a shutdown, paid once since all groups close together.
 */
#define LOCAL_CLOSE_DELAY_MS 50

struct local_close {
    uv_timer_t timer;
    struct raft_uv_transport *transport;
    raft_uv_transport_close_cb cb;
};

static void local_closed(uv_handle_t *handle)
{
    vane_free(handle);
}

static void local_close_now(uv_timer_t *timer)
{
    struct local_close *lc = (struct local_close *)timer;

    if (lc->cb != NULL)
        lc->cb(lc->transport);
    uv_close((uv_handle_t *)timer, local_closed);
}

static void local_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    struct local_close *lc = VANE_NEW(lc);

    lc->transport = t;
    lc->cb = cb;
    uv_timer_init(((struct replica *)t->impl)->loop, &lc->timer);
    uv_timer_start(&lc->timer, local_close_now, LOCAL_CLOSE_DELAY_MS, 0);
}

/* Translates a raft error code at the boundary. */
static int from_raft(int rv)
{
    switch (rv) {
    case 0: return 0;
    case RAFT_NOMEM: return -ENOMEM;
    case RAFT_NOTLEADER:
    case RAFT_LEADERSHIPLOST: return VANE_ENOTLEADER;
    case RAFT_SHUTDOWN:
    case RAFT_CANCELED: return VANE_ESHUTDOWN;
    case RAFT_IOERR: return -EIO;
    case RAFT_NOSPACE: return -ENOSPC;
    case RAFT_CORRUPT: return VANE_ECORRUPT;
    default: return VANE_ERAFT;
    }
}

/* raft's libuv backend (0.15) has async_work but calls itself version 1, so
 * raft refuses the off-loop snapshots that need it; where a backend truly
 * lacks it, this one runs the work in libuv's thread pool. */
struct async_job {
    uv_work_t req;
    struct raft_io_async_work *work;
    raft_io_async_work_cb cb;
    int status;
};

static void async_run(uv_work_t *req)
{
    struct async_job *job = (struct async_job *)req;

    job->status = job->work->work(job->work);
}

static void async_done(uv_work_t *req, int status)
{
    struct async_job *job = (struct async_job *)req;

    job->cb(job->work, status == UV_ECANCELED ? RAFT_CANCELED : job->status);
    vane_free(job);
}

static int async_work(struct raft_io *io, struct raft_io_async_work *work,
                      raft_io_async_work_cb cb)
{
    struct replica *replica = ((struct raft *)io->data)->data;
    struct async_job *job = VANE_NEW(job);

    job->work = work;
    job->cb = cb;
    if (uv_queue_work(replica->loop, &job->req, async_run, async_done) != 0) {
        vane_free(job);
        return RAFT_IOERR;
    }
    return 0;
}

static void on_barrier(struct raft_barrier *req, int status)
{
    struct replica *replica = req->data;

    replica->ready(replica, from_raft(status), replica->ready_arg);
}

static int fail(struct replica *replica, int rv, const char *what, char **errmsg)
{
    const char *why = replica->raft_initialized ? raft_errmsg(&replica->raft) : replica->io.errmsg;

    *errmsg = vane_asprintf("%s: %s (%s)", what, raft_strerror(rv), why && *why ? why : "no detail");
    return from_raft(rv);
}

static int bootstrap(struct replica *replica, char **errmsg)
{
    struct raft_configuration conf;
    int rv;

    raft_configuration_init(&conf);
    rv = raft_configuration_add(&conf, REPLICA_ID, REPLICA_ADDRESS, RAFT_VOTER);
    if (rv == 0)
        rv = raft_bootstrap(&replica->raft, &conf);
    raft_configuration_close(&conf);
    if (rv != 0 && rv != RAFT_CANTBOOTSTRAP)
        return fail(replica, rv, "raft bootstrap", errmsg);
    return 0;
}

int replica_start(struct replica **out, uv_loop_t *loop, const char *dir, struct raft_fsm *fsm,
                  const struct replica_options *options, replica_ready_cb ready, void *arg,
                  char **errmsg)
{
    struct replica *replica = VANE_NEW(replica);
    int rv, err;

    replica->loop = loop;
    replica->ready = ready;
    replica->ready_arg = arg;
    replica->transport = (struct raft_uv_transport){
        .impl = replica, .init = local_init, .listen = local_listen, .connect = local_connect,
        .close = local_close};
    /* raft_init on a missing directory only says "unknown error". */
    if ((err = vane_fs_mkdir_p(dir, 0755)) != 0) {
        *errmsg = vane_asprintf("cannot create %s: %s", dir, vane_strerror(err));
        vane_free(replica);
        return err;
    }
    if ((rv = raft_uv_init(&replica->io, loop, dir, &replica->transport)) != 0) {
        err = fail(replica, rv, "raft I/O", errmsg);
        vane_free(replica);
        return err;
    }
    if (options->segment_size > 0)
        raft_uv_set_segment_size(&replica->io, options->segment_size);
    if (replica->io.version < 2) {
        replica->io.version = 2;
        if (replica->io.async_work == NULL)
            replica->io.async_work = async_work;
    }
    if ((rv = raft_init(&replica->raft, &replica->io, fsm, REPLICA_ID, REPLICA_ADDRESS)) != 0) {
        replica->raft_initialized = true; /* for its errmsg */
        err = fail(replica, rv, "raft init", errmsg);
        raft_uv_close(&replica->io);
        vane_free(replica);
        return err;
    }
    replica->raft_initialized = true;
    replica->raft.data = replica;
    raft_set_snapshot_threshold(&replica->raft, options->snapshot_threshold);
    raft_set_snapshot_trailing(&replica->raft, options->snapshot_trailing);
    /* raft_start may apply entries at once; the state machine can then ask
     * replica_applying_index(), so the caller must hold the pointer. */
    *out = replica;
    if ((err = bootstrap(replica, errmsg)) == 0 &&
        (rv = raft_start(&replica->raft)) != 0)
        err = fail(replica, rv, "raft start", errmsg);
    replica->barrier.data = replica;
    if (err == 0 && (rv = raft_barrier(&replica->raft, &replica->barrier, on_barrier)) != 0)
        err = fail(replica, rv, "raft barrier", errmsg);
    if (err != 0) {
        *out = NULL;
        replica_close(replica, NULL, NULL);
    }
    return err;
}

static void on_applied(struct raft_apply *req, int status, void *result)
{
    struct apply_req *apply = (struct apply_req *)req;

    apply->cb(apply->arg, from_raft(status), result);
    vane_free(apply);
}

int replica_apply(struct replica *replica, void *buf, size_t len, replica_apply_cb cb, void *arg)
{
    struct apply_req *apply = VANE_NEW(apply);
    size_t padded = (len + 7) & ~(size_t)7;
    struct raft_buffer rbuf;
    int rv;

    /* raft's libuv backend reads an entry back with its length rounded up
     * to 8 bytes: an entry of any other length corrupts its log file. */
    if (padded != len) {
        buf = raft_realloc(buf, padded);
        memset((char *)buf + len, 0, padded - len);
    }
    rbuf.base = buf;
    rbuf.len = padded;
    apply->cb = cb;
    apply->arg = arg;
    if ((rv = raft_apply(&replica->raft, &apply->req, &rbuf, 1, on_applied)) != 0) {
        vane_free(apply);
        return from_raft(rv);
    }
    return 0;
}

raft_index replica_applying_index(const struct replica *replica)
{
    return raft_last_applied((struct raft *)&replica->raft) + 1;
}

void replica_free_snapshot(struct raft_buffer *bufs[], unsigned *n_bufs)
{
    for (unsigned i = 0; i < *n_bufs; i++)
        raft_free((*bufs)[i].base);
    raft_free(*bufs);
    *bufs = NULL;
    *n_bufs = 0;
}

void replica_set_snapshot_threshold(struct replica *replica, unsigned entries)
{
    raft_set_snapshot_threshold(&replica->raft, entries);
}

static void free_replica(uv_handle_t *timer)
{
    vane_free(timer->data);
}

static void on_raft_closed(struct raft *raft)
{
    struct replica *replica = raft->data;

    raft_uv_close(&replica->io); /* what raft_uv_init allocated */
    if (replica->close_cb != NULL)
        replica->close_cb(replica, replica->close_arg);
    uv_close((uv_handle_t *)&replica->close_timer, free_replica);
}

static void close_now(uv_timer_t *timer)
{
    struct replica *replica = timer->data;

    raft_close(&replica->raft, on_raft_closed);
}

void replica_close(struct replica *replica, replica_close_cb close_cb, void *arg)
{
    replica->close_cb = close_cb;
    replica->close_arg = arg;
    /* The timer defers raft_close out of any apply callback; its own close
     * callback frees the replica, last. */
    uv_timer_init(replica->loop, &replica->close_timer);
    replica->close_timer.data = replica;
    uv_timer_start(&replica->close_timer, close_now, 0, 0);
}

/*
 * close_delay.c -- a transport's close, completed after a delay (see
 * close_delay.h).
 *
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
#include "core/alloc.h"
#include "raft/close_delay.h"

struct close_delay {
    uv_timer_t timer;
    struct raft_uv_transport *transport;
    raft_uv_transport_close_cb cb;
};

static void free_delay(uv_handle_t *handle)
{
    vane_free(handle);
}

static void close_now(uv_timer_t *timer)
{
    struct close_delay *delay = (struct close_delay *)timer;

    if (delay->cb != NULL)
        delay->cb(delay->transport);
    uv_close((uv_handle_t *)timer, free_delay);
}

void raft_transport_close_delayed(uv_loop_t *loop, struct raft_uv_transport *t,
                                  raft_uv_transport_close_cb cb)
{
    struct close_delay *delay = VANE_NEW(delay);

    delay->transport = t;
    delay->cb = cb;
    uv_timer_init(loop, &delay->timer);
    uv_timer_start(&delay->timer, close_now, RAFT_TRANSPORT_CLOSE_DELAY_MS, 0);
}

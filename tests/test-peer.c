/*
 * test-peer.c -- the peer port (broker/cluster/peer.h) on real sockets on
 * 127.0.0.1, every node in this one process on one loop: channels echoed
 * back byte-exact, side by side; a refusal and its reason; a dial nobody
 * answers; a bad hello; back-pressure keeping the nets' queues bounded
 * while a user does not read; a node's net closing under an open channel.
 * The reader of the wire is checked first, on bytes fed in every split.
 * Then three raft servers over the peer transport: a leader elected,
 * entries replicated to every state machine, and, once the leader's node
 * dies, a new leader elected by the other two, which go on replicating.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "cluster/peer.h"
#include "cluster/peer_wire.h"
#include "core/alloc.h"
#include "core/net.h"
#include "harness.h"
#include "tap.h"

#define MiB (1024 * 1024)

static uv_loop_t loop;

/* ---- running the loop ------------------------------------------------------------ */

static void on_tick(uv_timer_t *timer)
{
    (void)timer; /* only wakes the loop so conditions are checked */
}

static void on_deadline(uv_timer_t *timer)
{
    *(bool *)timer->data = true;
}

/* Runs the loop until cond(arg) holds or ms (scaled) pass; the condition
 * is checked at least every 5 ms.  Returns whether it held. */
static bool run_until(bool (*cond)(void *), void *arg, int ms)
{
    uv_timer_t tick, deadline;
    bool expired = false, held;

    uv_update_time(&loop);
    uv_timer_init(&loop, &tick);
    uv_timer_init(&loop, &deadline);
    deadline.data = &expired;
    uv_timer_start(&tick, on_tick, 5, 5);
    uv_timer_start(&deadline, on_deadline, (uint64_t)harness_ms(ms), 0);
    while (!(held = cond(arg)) && !expired)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return held;
}

static bool flag_set(void *arg)
{
    return *(bool *)arg;
}

static void set_flag(void *arg)
{
    *(bool *)arg = true;
}

static struct peer_net *open_net(uint64_t id)
{
    struct peer_net *net = NULL;
    char *errmsg = NULL;
    int rc = peer_net_open(&net, &loop, id, "127.0.0.1:0", NULL, &errmsg);

    if (!is_int(rc, 0, "node %llu's peer port opens (%s)", (unsigned long long)id,
                errmsg ? errmsg : "no error")) {
        vane_free(errmsg);
        exit(tap_done());
    }
    return net;
}

static void close_net(struct peer_net *net)
{
    bool closed = false;

    peer_net_close(net, set_flag, &closed);
    ok(run_until(flag_set, &closed, 5000), "a net closes");
}

static void free_stream(uv_handle_t *handle)
{
    raft_free(handle);
}

static void alloc_read(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle, (void)suggested;
    *buf = uv_buf_init(vane_malloc(64 * 1024), 64 * 1024);
}

/* A write of bytes owned by the request (when own) or by the caller. */
struct write_req {
    uv_write_t req;
    char *own;
};

static void on_written(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;

    (void)status;
    vane_free(w->own);
    vane_free(w);
}

static void write_bytes(uv_stream_t *stream, char *bytes, size_t len, bool own)
{
    struct write_req *w = VANE_NEW(w);
    uv_buf_t buf = uv_buf_init(bytes, (unsigned)len);

    w->own = own ? bytes : NULL;
    if (uv_write(&w->req, stream, &buf, 1, on_written) != 0)
        on_written(&w->req, -1);
}

/* ---- the services ------------------------------------------------------------------ */

struct accepted {
    unsigned count;
    uint64_t node_id;
    char address[64];
    uv_stream_t *stream; /* the last one */
};

static void note_accept(struct accepted *a, uint64_t node_id, const char *address,
                        uv_stream_t *stream)
{
    a->count++;
    a->node_id = node_id;
    snprintf(a->address, sizeof(a->address), "%s", address);
    a->stream = stream;
}

static void echo_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    if (nread > 0) {
        write_bytes(stream, buf->base, (size_t)nread, true);
        return;
    }
    vane_free(buf->base);
    if (nread < 0)
        uv_close((uv_handle_t *)stream, free_stream);
}

/* "echo": writes back what it reads, and closes at EOF. */
static void on_echo_accept(void *arg, uint64_t node_id, const char *address, uv_stream_t *stream)
{
    note_accept(arg, node_id, address, stream);
    uv_read_start(stream, alloc_read, echo_read);
}

/* "slow": takes the channel and reads nothing until the test says so. */
static void on_slow_accept(void *arg, uint64_t node_id, const char *address, uv_stream_t *stream)
{
    note_accept(arg, node_id, address, stream);
}

/* ---- a client: opens a channel, writes a pattern, reads back ---------------------- */

struct client {
    struct peer_open *open;
    uv_stream_t *stream;
    bool opened, eof, done, overflow;
    int status;
    char errmsg[256];
    char *sent, *got;
    size_t size, received;
};

static void fill_pattern(char *bytes, size_t size, unsigned seed)
{
    for (size_t i = 0; i < size; i++)
        bytes[i] = (char)((i * 31 + seed + i / 4093) % 251);
}

static void client_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct client *c = stream->data;

    if (nread > 0) {
        if (c->received + (size_t)nread > c->size)
            c->overflow = true;
        else
            memcpy(c->got + c->received, buf->base, (size_t)nread);
        c->received += (size_t)nread;
        c->done = c->received >= c->size;
    } else if (nread < 0) {
        c->eof = true;
    }
    vane_free(buf->base);
}

/* Writes the pattern in chunks of an odd size, so frames and reads never line up. */
static void client_send(struct client *c, size_t chunk)
{
    for (size_t at = 0; at < c->size; at += chunk)
        write_bytes(c->stream, c->sent + at, at + chunk > c->size ? c->size - at : chunk, false);
}

static void on_client_open(void *arg, int status, uv_stream_t *stream)
{
    struct client *c = arg;

    c->opened = true;
    c->status = status;
    if (status != 0) {
        snprintf(c->errmsg, sizeof(c->errmsg), "%s", peer_open_errmsg(c->open));
        return;
    }
    c->stream = stream;
    stream->data = c;
    uv_read_start(stream, alloc_read, client_read);
    client_send(c, 7001);
}

static void client_start(struct client *c, struct peer_net *net, const char *address,
                         const char *service, size_t size, unsigned seed)
{
    memset(c, 0, sizeof(*c));
    c->size = size;
    c->sent = vane_malloc(size + 1);
    c->got = vane_malloc(size + 1);
    fill_pattern(c->sent, size, seed);
    c->open = peer_open(net, address, service, on_client_open, c);
    ok(c->open != NULL, "peer_open to %s at %s starts", service, address);
}

static void client_close(struct client *c)
{
    if (c->stream != NULL && !uv_is_closing((uv_handle_t *)c->stream))
        uv_close((uv_handle_t *)c->stream, free_stream);
    vane_free(c->sent);
    vane_free(c->got);
    c->sent = c->got = NULL;
}

static bool client_opened(void *arg)
{
    return ((struct client *)arg)->opened;
}

static bool client_eof(void *arg)
{
    return ((struct client *)arg)->eof;
}

static bool clients_done(void *arg)
{
    struct client *c = arg;

    return (c[0].done || c[0].eof) && (c[1].done || c[1].eof);
}

/* Opens a channel and waits for its end: a failed open's status and message. */
static void expect_open_fails(struct peer_net *net, const char *address, const char *service,
                              int want, const char *message)
{
    struct client c;

    client_start(&c, net, address, service, 1, 0);
    if (c.open != NULL && run_until(client_opened, &c, 5000)) {
        is_int(c.status, want, "the open of %s at %s fails as expected", service, address);
        contains(c.errmsg, message, "and says why");
    } else {
        ok(false, "the open of %s at %s ends", service, address);
    }
    client_close(&c);
}

/* ---- 0. the wire ------------------------------------------------------------------ */

struct seen {
    unsigned hellos, frames, data_bytes;
    uint64_t node_id;
    char address[PEER_ADDRESS_MAX + 1];
    enum peer_frame_type last;
};

static int seen_hello(void *arg, const struct peer_hello *hello)
{
    struct seen *s = arg;

    s->hellos++;
    s->node_id = hello->node_id;
    snprintf(s->address, sizeof(s->address), "%s", hello->address);
    return 0;
}

static int seen_frame(void *arg, const struct peer_frame *frame)
{
    struct seen *s = arg;

    s->frames++;
    s->last = frame->type;
    if (frame->type == PEER_DATA)
        s->data_bytes += frame->length;
    return 0;
}

/* Feeds bytes in pieces of step; returns the first non-zero result. */
static int feed(struct peer_reader *r, const char *bytes, size_t len, size_t step)
{
    int rc = 0;

    for (size_t at = 0; at < len && rc == 0; at += step)
        rc = peer_reader_feed(r, bytes + at, at + step > len ? len - at : step);
    return rc;
}

/* A hello, OPEN, DATA of 100 bytes and CLOSE, however the reads cut them. */
static void test_wire_splits(void)
{
    char bytes[PEER_HELLO_MAX + 4 * PEER_HEADER_SIZE + 200];
    size_t len = peer_wire_hello(bytes, 42, "127.0.0.1:7042");
    bool all = true;

    peer_wire_header(bytes + len, 1, PEER_OPEN, 6);
    memcpy(bytes + len + PEER_HEADER_SIZE, "raft/7", 6);
    len += PEER_HEADER_SIZE + 6;
    peer_wire_header(bytes + len, 1, PEER_DATA, 100);
    memset(bytes + len + PEER_HEADER_SIZE, 'x', 100);
    len += PEER_HEADER_SIZE + 100;
    peer_wire_header(bytes + len, 1, PEER_CLOSE, 0);
    len += PEER_HEADER_SIZE;
    for (size_t step = 1; step <= len; step++) {
        struct seen s = {0};
        struct peer_reader r;

        peer_reader_init(&r, seen_hello, seen_frame, &s);
        all = all && feed(&r, bytes, len, step) == 0 && s.hellos == 1 && s.node_id == 42 &&
              strcmp(s.address, "127.0.0.1:7042") == 0 && s.frames == 3 &&
              s.data_bytes == 100 && s.last == PEER_CLOSE && r.pending.len == 0;
        peer_reader_free(&r);
    }
    ok(all, "the reader gets the hello and three frames whatever the reads' sizes");
}

/* Bytes that break the protocol are refused, and the reason names what broke it. */
static void expect_refused(const char *bytes, size_t len, const char *why, const char *what)
{
    struct seen s = {0};
    struct peer_reader r;

    peer_reader_init(&r, seen_hello, seen_frame, &s);
    is_int(feed(&r, bytes, len, len), -EPROTO, "%s is refused", what);
    contains(r.why, why, "the reason names it");
    peer_reader_free(&r);
}

static void test_wire_refusals(void)
{
    char bytes[PEER_HELLO_MAX + PEER_HEADER_SIZE];
    size_t hello = peer_wire_hello(bytes, 1, "127.0.0.1:1");

    ok(peer_wire_hello(bytes + hello, 1, "") == 0, "an empty address makes no hello");
    bytes[0] = 'W';
    expect_refused(bytes, hello, "magic", "a hello with another magic");
    bytes[0] = 'V';
    bytes[8] = 2;
    expect_refused(bytes, hello, "version 2, expected 1", "a hello of version 2");
    bytes[8] = 1;
    peer_wire_header(bytes + hello, 3, PEER_DATA, PEER_MAX_PAYLOAD + 1);
    expect_refused(bytes, hello + PEER_HEADER_SIZE, "over the limit",
                   "a frame header announcing more than 16 MiB");
    peer_wire_header(bytes + hello, 3, (enum peer_frame_type)9, 0);
    expect_refused(bytes, hello + PEER_HEADER_SIZE, "type 9", "a frame of type 9");
    peer_wire_header(bytes + hello, 3, PEER_CLOSE, 0);
    bytes[hello + 6] = 1;
    expect_refused(bytes, hello + PEER_HEADER_SIZE, "not zero", "a frame with reserved bytes set");
}

/* ---- 1. channels ------------------------------------------------------------------- */

static void test_echo(struct peer_net *a, struct peer_net *b, struct accepted *acc)
{
    struct client c[2];

    client_start(&c[0], a, peer_net_self_address(b), "echo", MiB, 1);
    client_start(&c[1], a, peer_net_self_address(b), "echo", 300 * 1024 + 7, 2);
    ok(run_until(clients_done, c, 20000), "both channels echo everything back");
    for (int i = 0; i < 2; i++) {
        is_int(c[i].status, 0, "channel %d opened", i);
        ok(!c[i].overflow, "channel %d got no more than it sent", i);
        is_int(c[i].received, c[i].size, "channel %d got all its bytes back", i);
        ok(c[i].received == c[i].size && memcmp(c[i].sent, c[i].got, c[i].size) == 0,
           "channel %d's bytes came back byte-exact", i);
    }
    is_int(acc->count, 2, "echo accepted two channels");
    is_int(acc->node_id, 1, "the opener's node id came with its channel");
    is_str(acc->address, peer_net_self_address(a), "and so did its address");
    client_close(&c[0]);
    client_close(&c[1]);
}

static void test_refusals(struct peer_net *a, struct peer_net *b)
{
    uv_tcp_t tcp;
    struct sockaddr_storage sa;
    int len = sizeof(sa);
    char dead[64];

    is_int(peer_listen(b, "echo", on_echo_accept, NULL), -EEXIST, "a service is offered once");
    expect_open_fails(a, peer_net_self_address(b), "nope", -ECONNREFUSED,
                      "no service nope on node 2");
    /* A port that was free a moment ago: nobody listens there. */
    uv_tcp_init(&loop, &tcp);
    uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&sa);
    uv_tcp_bind(&tcp, (struct sockaddr *)&sa, 0);
    uv_tcp_getsockname(&tcp, (struct sockaddr *)&sa, &len);
    snprintf(dead, sizeof(dead), "127.0.0.1:%d", ntohs(((struct sockaddr_in *)&sa)->sin_port));
    uv_close((uv_handle_t *)&tcp, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    expect_open_fails(a, dead, "echo", -ECONNREFUSED, "connection to");
    ok(peer_open(a, "not an address", "echo", on_client_open, NULL) == NULL,
       "peer_open refuses an address that is not host:port");
}

struct raw {
    uv_tcp_t tcp;
    uv_connect_t connect;
    bool ended;
};

static void raw_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    vane_free(buf->base);
    if (nread < 0)
        ((struct raw *)stream->data)->ended = true;
}

static void raw_connected(uv_connect_t *req, int status)
{
    struct raw *raw = req->handle->data;
    static char junk[] = "GET / HTTP/1.1\r\nHost: not-a-peer\r\n\r\n";

    if (status != 0) {
        raw->ended = true;
        return;
    }
    write_bytes((uv_stream_t *)&raw->tcp, junk, sizeof(junk) - 1, false);
    uv_read_start((uv_stream_t *)&raw->tcp, alloc_read, raw_read);
}

/* Something that is not a peer connects and speaks: it is closed. */
static void test_bad_hello(struct peer_net *a)
{
    struct raw raw = {.ended = false};
    struct sockaddr_storage sa;

    uv_tcp_init(&loop, &raw.tcp);
    raw.tcp.data = &raw;
    vane_net_parse_addr(peer_net_self_address(a), &sa);
    uv_tcp_connect(&raw.connect, &raw.tcp, (struct sockaddr *)&sa, raw_connected);
    ok(run_until(flag_set, &raw.ended, 5000), "a connection with a bad hello is closed");
    uv_close((uv_handle_t *)&raw.tcp, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

struct pressure {
    struct peer_net *a, *b;
    struct client *c;
    size_t max_a, max_b;
};

/* Samples the nets' queues; true once both have stopped reading (over 8 MiB). */
static bool pressure_built(void *arg)
{
    struct pressure *p = arg;
    size_t qa = peer_net_queued_bytes(p->a), qb = peer_net_queued_bytes(p->b);

    p->max_a = qa > p->max_a ? qa : p->max_a;
    p->max_b = qb > p->max_b ? qb : p->max_b;
    return qa >= 8 * MiB && qb >= 8 * MiB;
}

static bool pressure_never(void *arg)
{
    pressure_built(arg);
    return false;
}

static bool pressure_drained(void *arg)
{
    struct pressure *p = arg;

    pressure_built(arg);
    return p->c->done || p->c->eof;
}

/*
 * A user that does not read: 48 MiB written to it pile up in the writer's
 * own stream, not in the nets, whose queues stay near their 8 MiB bound;
 * once it reads, everything arrives intact.
 */
static void test_back_pressure(struct peer_net *a, struct peer_net *b)
{
    struct accepted slow = {0};
    struct client c, sink;
    struct pressure p = {a, b, &sink, 0, 0};
    size_t bound = 8 * MiB + 256 * 1024;

    peer_listen(b, "slow", on_slow_accept, &slow);
    memset(&c, 0, sizeof(c));
    c.size = 48 * MiB;
    c.sent = vane_malloc(c.size);
    fill_pattern(c.sent, c.size, 3);
    c.open = peer_open(a, peer_net_self_address(b), "slow", on_client_open, &c);
    /* The client reads nothing back: "slow" never writes.  The sink below
     * stands for the slow service's reading side. */
    ok(run_until(pressure_built, &p, 20000), "both nets stop reading once 8 MiB are queued");
    run_until(pressure_never, &p, 300);
    tap_diag("queued at most: A %zu bytes, B %zu bytes; the writer holds %zu", p.max_a, p.max_b,
             c.stream ? uv_stream_get_write_queue_size(c.stream) : 0);
    ok(p.max_a <= bound, "node 1's net queues at most 8 MiB and a bit (%zu)", p.max_a);
    ok(p.max_b <= bound, "node 2's net queues at most 8 MiB and a bit (%zu)", p.max_b);
    ok(c.stream != NULL && uv_stream_get_write_queue_size(c.stream) > 8 * MiB,
       "the rest waits in the writer's own stream");
    memset(&sink, 0, sizeof(sink));
    sink.size = c.size;
    sink.got = vane_malloc(sink.size);
    if (slow.stream != NULL) {
        sink.stream = slow.stream;
        slow.stream->data = &sink;
        uv_read_start(slow.stream, alloc_read, client_read);
    }
    ok(run_until(pressure_drained, &p, 30000), "once read, everything arrives");
    ok(sink.received == c.size && memcmp(sink.got, c.sent, c.size) == 0,
       "all 48 MiB arrived byte-exact (%zu bytes)", sink.received);
    client_close(&sink);
    client_close(&c);
    peer_unlisten(b, "slow");
}

/* B's node goes away: A's open channel sees EOF. */
static void test_net_close_eof(struct peer_net *a, struct peer_net *b)
{
    struct client c;

    client_start(&c, a, peer_net_self_address(b), "echo", 1000, 4);
    ok(run_until(flag_set, &c.done, 5000), "a channel echoes before its node goes");
    close_net(b);
    ok(run_until(client_eof, &c, 5000), "the channel sees EOF once the other node's net closed");
    client_close(&c);
}

static void test_channels(void)
{
    struct accepted echo = {0};
    struct peer_net *a = open_net(1), *b = open_net(2);

    is_int(peer_listen(b, "echo", on_echo_accept, &echo), 0, "node 2 offers echo");
    test_echo(a, b, &echo);
    test_refusals(a, b);
    test_bad_hello(a);
    test_back_pressure(a, b);
    test_net_close_eof(a, b);
    close_net(a);
}

/* ---- 2 and 3. raft over the peer transport ------------------------------------------ */

#define SERVERS 3
#define GROUP 7

struct server {
    uint64_t id;
    char *dir;
    struct peer_net *net;
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft_fsm fsm;
    struct raft raft;
    uint64_t applied;
    bool running, closed, net_closed;
};

static struct server servers[SERVERS];
static unsigned acked, failed;

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct server *s = fsm->data;

    (void)buf;
    s->applied++;
    *result = NULL;
    return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct server *s = fsm->data;

    *bufs = raft_malloc(sizeof(**bufs));
    (*bufs)[0].base = raft_malloc(sizeof(uint64_t));
    (*bufs)[0].len = sizeof(uint64_t);
    memcpy((*bufs)[0].base, &s->applied, sizeof(uint64_t));
    *n_bufs = 1;
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct server *s = fsm->data;

    memcpy(&s->applied, buf->base, sizeof(uint64_t));
    raft_free(buf->base);
    return 0;
}

static bool server_start(struct server *s, const struct raft_configuration *conf)
{
    int rv;

    s->fsm = (struct raft_fsm){.version = 1, .data = s, .apply = fsm_apply,
                               .snapshot = fsm_snapshot, .restore = fsm_restore};
    if ((rv = peer_transport_init(&s->transport, s->net, GROUP)) != 0 ||
        (rv = raft_uv_init(&s->io, &loop, s->dir, &s->transport)) != 0) {
        tap_diag("server %llu: raft I/O: %s", (unsigned long long)s->id, s->io.errmsg);
        return false;
    }
    raft_uv_set_connect_retry_delay(&s->io, 100);
    if ((rv = raft_init(&s->raft, &s->io, &s->fsm, s->id, peer_net_self_address(s->net))) != 0 ||
        (rv = raft_bootstrap(&s->raft, conf)) != 0 || (rv = raft_start(&s->raft)) != 0) {
        tap_diag("server %llu: %s (%s)", (unsigned long long)s->id, raft_strerror(rv),
                 raft_errmsg(&s->raft));
        return false;
    }
    raft_set_election_timeout(&s->raft, 300);
    raft_set_heartbeat_timeout(&s->raft, 50);
    s->raft.data = s;
    s->running = true;
    return true;
}

static void on_raft_closed(struct raft *raft)
{
    struct server *s = raft->data;

    raft_uv_close(&s->io);
    peer_transport_close(&s->transport); /* nothing left after raft's close: a no-op */
    s->closed = true;
}

/* Closes s's raft (as a node going away does) and, with kill, its net at once. */
static void server_stop(struct server *s, bool kill)
{
    if (kill)
        peer_net_close(s->net, set_flag, &s->net_closed);
    raft_close(&s->raft, on_raft_closed);
    s->running = false;
    ok(run_until(flag_set, &s->closed, 10000), "server %llu's raft closes",
       (unsigned long long)s->id);
    if (kill)
        ok(run_until(flag_set, &s->net_closed, 5000), "and its net");
}

static bool one_leader(void *arg)
{
    struct server **leader = arg;

    *leader = NULL;
    for (int i = 0; i < SERVERS; i++)
        if (servers[i].running && raft_state(&servers[i].raft) == RAFT_LEADER)
            *leader = &servers[i];
    return *leader != NULL;
}

static void on_applied(struct raft_apply *req, int status, void *result)
{
    (void)result;
    if (status == 0)
        acked++;
    else
        failed++;
    vane_free(req);
}

static unsigned propose(struct server *leader, unsigned count)
{
    unsigned proposed = 0;

    for (unsigned i = 0; i < count; i++) {
        /* raft's libuv backend reads entries back padded to 8 bytes (replica.c) */
        struct raft_buffer buf = {raft_malloc(8), 8};
        struct raft_apply *req = VANE_NEW(req);

        memcpy(buf.base, &i, sizeof(i));
        memset((char *)buf.base + sizeof(i), 0, 8 - sizeof(i));
        if (raft_apply(&leader->raft, req, &buf, 1, on_applied) != 0) {
            raft_free(buf.base);
            vane_free(req);
            continue;
        }
        proposed++;
    }
    return proposed;
}

static uint64_t want_applied;

static bool all_applied(void *arg)
{
    (void)arg;
    for (int i = 0; i < SERVERS; i++)
        if (servers[i].running && servers[i].applied < want_applied)
            return false;
    return true;
}

static void apply_and_check(struct server *leader, unsigned count)
{
    acked = failed = 0;
    is_int(propose(leader, count), count, "the leader takes %u entries", count);
    want_applied += count;
    ok(run_until(all_applied, NULL, 20000), "every running server applied %llu entries",
       (unsigned long long)want_applied);
    for (int i = 0; i < SERVERS; i++)
        if (servers[i].running)
            is_int(servers[i].applied, want_applied, "server %llu applied each entry once",
                   (unsigned long long)servers[i].id);
    is_int(acked, count, "every proposal was acknowledged (%u failed)", failed);
}

static void test_raft(void)
{
    struct raft_configuration conf;
    struct server *leader = NULL, *old = NULL;
    bool started = true;

    for (int i = 0; i < SERVERS; i++) {
        servers[i].id = (uint64_t)i + 1;
        servers[i].dir = harness_tempdir();
        servers[i].net = open_net(servers[i].id);
    }
    raft_configuration_init(&conf);
    for (int i = 0; i < SERVERS; i++)
        raft_configuration_add(&conf, servers[i].id, peer_net_self_address(servers[i].net),
                               RAFT_VOTER);
    for (int i = 0; i < SERVERS; i++)
        started = server_start(&servers[i], &conf) && started;
    raft_configuration_close(&conf);
    ok(started, "three raft servers start over the peer transport");
    ok(started && run_until(one_leader, &leader, 10000), "a leader is elected");
    if (leader != NULL) {
        tap_diag("leader: server %llu", (unsigned long long)leader->id);
        apply_and_check(leader, 100);
        old = leader;
        server_stop(old, true);
        ok(run_until(one_leader, &leader, 15000), "the other two elect a new leader");
        if (leader != NULL) {
            ok(leader != old, "a new one (server %llu)", (unsigned long long)leader->id);
            apply_and_check(leader, 50);
        }
    }
    for (int i = 0; i < SERVERS; i++)
        if (servers[i].running)
            server_stop(&servers[i], false);
    for (int i = 0; i < SERVERS; i++) {
        if (!servers[i].net_closed)
            close_net(servers[i].net);
        harness_rmtree(servers[i].dir);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    test_wire_splits();
    test_wire_refusals();
    test_channels();
    test_raft();
    is_int(harness_loop_close(&loop), 0, "every handle was closed");
    return tap_done();
}

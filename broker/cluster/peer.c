/*
 * peer.c -- the peer port: a TCP listener, the connections between nodes,
 * and the channels multiplexed over them (see peer.h; the bytes are in
 * peer_wire.h).
 *
 * Connections.  Each node dials at most one connection per address it
 * opens channels to (peer_open dials lazily, and dials again after the
 * connection is lost), and accepts the connections other nodes dial.  The
 * channels a node opens ride the connection it dialled; the channels others
 * open arrive on the connections it accepted.  So OPEN is only ever sent by
 * the dialler and OPENED and REFUSED only by the acceptor; a frame in the
 * wrong direction is a protocol error.  Both sides send their hello first;
 * TCP_NODELAY is on, as raft's messages are small and latency-bound.
 *
 * Channels.  A channel is a socketpair(AF_UNIX, SOCK_STREAM): the net keeps
 * one end (uv_pipe_t inside struct peer_channel) and hands the other to the
 * user as a uv_pipe_t allocated with raft_malloc(), so raft's libuv backend
 * can uv_close() and raft_free() it as it does its own TCP streams.  Bytes
 * the user writes are read from the net's end and sent as DATA frames (at
 * most 64 KiB each); DATA received is written to the net's end.  The opener
 * picks the channel id (ids count up from 1 per connection) and sends OPEN
 * with the service's name; the acceptor answers OPENED, or REFUSED with a
 * reason (peer_open_errmsg() gives it to the opener).  The life of a channel:
 *
 *   - the user closes its end (the net reads EOF) or a write to it fails:
 *     CLOSE is sent and the net's end is closed;
 *   - CLOSE arrives, or the connection is lost: the net shuts its end down
 *     once what it already received is written, so the user reads it all
 *     and then EOF (a user that only writes, as raft's sender does, sees
 *     its next write fail);
 *   - peer_net_close(): every end is closed at once.
 *
 * Frames still on the way for a channel that has ended are dropped.  A
 * pending open fails (its callback runs) when the connection fails or is
 * lost, when it is refused, or when the net closes.
 *
 * Back-pressure, so memory stays bounded whatever the users do: when a
 * channel's end has more than QUEUE_HIGH bytes queued for writing to the
 * user (who is not reading), the net stops reading the connection, which in
 * turn fills the TCP window and holds back the other node; when the
 * connection's write queue is over QUEUE_HIGH, the net stops reading the
 * ends of the channels on it, which holds back their users.  Reading
 * resumes below half.  The cost is head-of-line blocking: one channel whose
 * user does not read stalls the others on its connection.
 *
 * Lifetimes follow libuv's rule: memory of a handle is freed only in its
 * close callback.  A channel is freed when its end has closed (a failed
 * open's callback runs then, never from inside a call of this API); a
 * connection once its TCP handle has closed and its last channel is freed;
 * the net once the listener and every connection are gone, and then its
 * close callback runs.  So nothing a callback does can free what the code
 * that called it still holds; after a user callback the caller only checks
 * whether the connection was lost meanwhile.
 *
 * A write to an end whose other side is closed raises SIGPIPE: the process
 * must ignore it (vaned does).  Everything runs on the loop thread.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/peer.h"
#include "cluster/peer_wire.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "core/net.h"
#include "core/u64map.h"

#define LOG_COMPONENT "peer"
#define READ_CHUNK (64 * 1024)
#define QUEUE_HIGH ((size_t)8 << 20)
#define QUEUE_LOW (QUEUE_HIGH / 2)
#define LISTEN_BACKLOG 128

struct peer_service {
    struct peer_service *next;
    peer_accept_cb cb;
    void *arg;
    char name[PEER_SERVICE_MAX];
};

enum channel_state {
    CHANNEL_OPENING, /* opener: waiting for OPENED or REFUSED */
    CHANNEL_OPEN,
    CHANNEL_ENDED, /* its end is closing or shutting down; frames for it are dropped */
};

struct peer_channel {
    uv_pipe_t pipe; /* the net's end; data = the channel */
    uv_shutdown_t shutdown;
    struct peer_conn *conn;
    struct peer_open *open; /* opener: the pending request, until its callback */
    uint32_t id;
    int user_fd; /* the user's end until it is handed over, else -1 */
    enum channel_state state;
    bool open_sent; /* opener: OPEN written (it waits for the connection) */
    bool reading;   /* reading the net's end */
    bool full;      /* the net's end has over QUEUE_HIGH bytes queued */
    char service[PEER_SERVICE_MAX];
};

struct peer_open {
    struct peer_channel *channel;
    peer_open_cb cb;
    void *arg;
    int status;
    char errmsg[256];
};

struct peer_conn {
    uv_tcp_t tcp; /* data = the connection */
    uv_connect_t connect;
    struct peer_net *net;
    struct peer_conn *next;
    struct peer_reader reader;
    struct u64map channels; /* id -> struct peer_channel *, until each is freed */
    char *address;          /* dialled: the address peer_open() was given */
    char *remote_address;   /* the other node's, from its hello */
    uint64_t remote_id;
    uint32_t next_channel_id;
    unsigned full_channels; /* channels with .full set */
    bool dialled, connected, reading, lost, tcp_closed;
    bool tcp_full; /* the TCP write queue is over QUEUE_HIGH */
    int error;     /* why it was lost, for the opens that fail */
    char name[PEER_ADDRESS_MAX + 48]; /* for messages: "node 2 at 127.0.0.1:7002" */
};

struct peer_net {
    uv_loop_t *loop;
    uv_tcp_t listener; /* data = the net */
    uint64_t self_id;
    char *self_address;
    struct peer_service *services;
    struct peer_conn *conns; /* dialled and accepted, lost ones until freed */
    peer_close_cb close_cb;
    void *close_arg;
    bool closing, listener_closed;
    char scratch[READ_CHUNK]; /* every read lands here first (libuv reads one at a time) */
};

/* A write and its bytes, freed by the write's callback. */
struct out {
    uv_write_t req;
    char bytes[];
};

static void conn_lose(struct peer_conn *conn, int err);
static void conn_maybe_free(struct peer_conn *conn);
static void conn_update_reading(struct peer_conn *conn);
static void conn_send(struct peer_conn *conn, uint32_t channel, enum peer_frame_type type,
                      const void *payload, size_t len);

/* ---- writes ---------------------------------------------------------------- */

static struct out *out_new(size_t len)
{
    return vane_malloc(sizeof(struct out) + len);
}

/* Starts writing len bytes of o to stream; on failure o is freed. */
static int out_write(struct out *o, uv_stream_t *stream, size_t len, uv_write_cb cb)
{
    uv_buf_t buf = uv_buf_init(o->bytes, (unsigned)len);
    int rc;

    if ((rc = uv_write(&o->req, stream, &buf, 1, cb)) != 0)
        vane_free(o);
    return rc;
}

static bool queue_over(const void *stream, size_t bound)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)stream) > bound;
}

/* ---- channels ---------------------------------------------------------------- */

static struct peer_channel *channel_at(const struct peer_conn *conn, uint32_t id)
{
    uint64_t value;

    return u64map_get(&conn->channels, id, &value) ? (struct peer_channel *)(uintptr_t)value
                                                   : NULL;
}

/* The channel a frame names, or NULL when it has ended: frames still on the
 * way to a channel that has closed are dropped. */
static struct peer_channel *channel_live(const struct peer_conn *conn, uint32_t id)
{
    struct peer_channel *ch = channel_at(conn, id);

    return ch != NULL && ch->state != CHANNEL_ENDED ? ch : NULL;
}

static void channel_set_full(struct peer_channel *ch, bool full)
{
    if (ch->full == full)
        return;
    ch->full = full;
    if (full)
        ch->conn->full_channels++;
    else
        ch->conn->full_channels--;
    conn_update_reading(ch->conn);
}

/* The end of every channel: a failed open learns it here, then memory goes. */
static void on_channel_closed(uv_handle_t *handle)
{
    struct peer_channel *ch = handle->data;
    struct peer_conn *conn = ch->conn;
    struct peer_open *open = ch->open;

    if (ch->user_fd >= 0)
        close(ch->user_fd);
    u64map_remove(&conn->channels, ch->id);
    vane_free(ch);
    if (open != NULL) {
        open->cb(open->arg, open->status, NULL);
        vane_free(open);
    }
    conn_maybe_free(conn);
}

/* Closes the net's end now; a pending open fails once it has closed. */
static void channel_close_now(struct peer_channel *ch)
{
    if (uv_is_closing((uv_handle_t *)&ch->pipe))
        return;
    ch->state = CHANNEL_ENDED;
    ch->reading = false;
    channel_set_full(ch, false);
    uv_close((uv_handle_t *)&ch->pipe, on_channel_closed);
}

static void channel_fail(struct peer_channel *ch, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Ends a channel not yet open: its open's callback gets err and the message. */
static void channel_fail(struct peer_channel *ch, int err, const char *fmt, ...)
{
    va_list ap;

    if (ch->open != NULL && ch->open->status == 0) {
        ch->open->status = err;
        va_start(ap, fmt);
        vsnprintf(ch->open->errmsg, sizeof(ch->open->errmsg), fmt, ap);
        va_end(ap);
    }
    channel_close_now(ch);
}

/* The user closed its end, or it cannot be written: tell the other side. */
static void channel_close_local(struct peer_channel *ch)
{
    if (ch->state == CHANNEL_OPEN)
        conn_send(ch->conn, ch->id, PEER_CLOSE, NULL, 0);
    channel_close_now(ch);
}

static void on_channel_shut(uv_shutdown_t *req, int status)
{
    (void)status;
    if (!uv_is_closing((uv_handle_t *)req->handle))
        uv_close((uv_handle_t *)req->handle, on_channel_closed);
}

/* The other side is gone: the user reads what already arrived, then EOF. */
static void channel_finish(struct peer_channel *ch)
{
    ch->state = CHANNEL_ENDED;
    ch->reading = false;
    uv_read_stop((uv_stream_t *)&ch->pipe);
    channel_set_full(ch, false);
    if (uv_shutdown(&ch->shutdown, (uv_stream_t *)&ch->pipe, on_channel_shut) != 0)
        channel_close_now(ch);
}

static void channel_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct peer_channel *ch = handle->data;

    (void)suggested;
    *buf = uv_buf_init(ch->conn->net->scratch, READ_CHUNK);
}

/* Bytes the user wrote become a DATA frame; its EOF closes the channel. */
static void channel_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct peer_channel *ch = stream->data;

    if (nread > 0)
        conn_send(ch->conn, ch->id, PEER_DATA, buf->base, (size_t)nread);
    else if (nread < 0)
        channel_close_local(ch);
}

/* Reads the net's end while the channel is open and its connection takes more. */
static void channel_update_reading(struct peer_channel *ch)
{
    bool want = ch->state == CHANNEL_OPEN && !ch->conn->tcp_full && !ch->conn->lost;

    if (want == ch->reading)
        return;
    ch->reading = want;
    if (!want)
        uv_read_stop((uv_stream_t *)&ch->pipe);
    else if (uv_read_start((uv_stream_t *)&ch->pipe, channel_alloc, channel_read) != 0)
        channel_close_local(ch);
}

static void on_channel_written(uv_write_t *req, int status)
{
    struct peer_channel *ch = req->handle->data;

    vane_free(req);
    if (status < 0 && status != UV_ECANCELED)
        channel_close_local(ch); /* the user closed its end */
    else if (ch->full && !queue_over(&ch->pipe, QUEUE_LOW))
        channel_set_full(ch, false);
}

/* Writes DATA received for the channel to the user. */
static void channel_deliver(struct peer_channel *ch, const char *bytes, size_t len)
{
    struct out *o;

    if (len == 0)
        return;
    o = out_new(len);
    memcpy(o->bytes, bytes, len);
    if (out_write(o, (uv_stream_t *)&ch->pipe, len, on_channel_written) != 0)
        channel_close_local(ch);
    else if (queue_over(&ch->pipe, QUEUE_HIGH))
        channel_set_full(ch, true);
}

static void free_handle(uv_handle_t *handle)
{
    vane_free(handle);
}

/*
 * Makes channel id on conn: the socketpair, the net's end open as a pipe,
 * the user's end kept as a descriptor until channel_hand_over().  Returns 0
 * or a libuv error (then nothing is left).
 */
static int channel_create(struct peer_conn *conn, uint32_t id, struct peer_channel **out)
{
    struct peer_channel *ch;
    uv_os_sock_t fds[2];
    int rc;

    if ((rc = uv_socketpair(SOCK_STREAM, 0, fds, UV_NONBLOCK_PIPE, UV_NONBLOCK_PIPE)) != 0)
        return rc;
    ch = VANE_NEW(ch);
    uv_pipe_init(conn->net->loop, &ch->pipe, 0);
    if ((rc = uv_pipe_open(&ch->pipe, fds[0])) != 0) {
        close(fds[0]);
        close(fds[1]);
        uv_close((uv_handle_t *)&ch->pipe, free_handle); /* the pipe is the channel's start */
        return rc;
    }
    ch->pipe.data = ch;
    ch->conn = conn;
    ch->id = id;
    ch->user_fd = fds[1];
    u64map_put(&conn->channels, id, (uint64_t)(uintptr_t)ch);
    *out = ch;
    return 0;
}

static void free_user_pipe(uv_handle_t *handle)
{
    raft_free(handle);
}

/* Opens the channel: its user's end goes to the user as a raft_malloc()ed pipe. */
static int channel_hand_over(struct peer_channel *ch, uv_stream_t **stream)
{
    uv_pipe_t *user = raft_malloc(sizeof(*user));
    int rc;

    if (user == NULL)
        return -ENOMEM;
    uv_pipe_init(ch->conn->net->loop, user, 0);
    user->data = NULL;
    if ((rc = uv_pipe_open(user, ch->user_fd)) != 0) {
        uv_close((uv_handle_t *)user, free_user_pipe);
        return rc;
    }
    ch->user_fd = -1;
    ch->state = CHANNEL_OPEN;
    channel_update_reading(ch);
    *stream = (uv_stream_t *)user;
    return 0;
}

static void channel_send_open(struct peer_channel *ch)
{
    if (ch->state != CHANNEL_OPENING || ch->open_sent)
        return;
    ch->open_sent = true;
    conn_send(ch->conn, ch->id, PEER_OPEN, ch->service, strlen(ch->service));
}

/* What the loss of its connection does to a channel. */
static void channel_lose_conn(struct peer_channel *ch)
{
    struct peer_conn *conn = ch->conn;

    if (conn->net->closing)
        channel_fail(ch, -ECANCELED, "the peer port of node %llu is closing",
                     (unsigned long long)conn->net->self_id);
    else if (ch->state == CHANNEL_OPENING)
        channel_fail(ch, conn->error, "connection to %s failed: %s", conn->name,
                     vane_strerror(conn->error));
    else if (ch->state == CHANNEL_OPEN)
        channel_finish(ch);
}

/* ---- connections --------------------------------------------------------------- */

static void conn_log(struct peer_conn *conn, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One log line about conn: "connection to node 2 at 127.0.0.1:7002: ..." */
static void conn_log(struct peer_conn *conn, enum log_level level, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    if (!vane_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    vane_log(level, LOG_COMPONENT, "connection %s %s: %s", conn->dialled ? "to" : "from",
             conn->name, text);
}

/* Calls fn for every channel of conn; fn must not free one (only close
 * callbacks do). */
static void conn_each_channel(struct peer_conn *conn, void (*fn)(struct peer_channel *))
{
    size_t cursor = 0;
    uint64_t id, value;

    while (u64map_next(&conn->channels, &cursor, &id, &value))
        fn((struct peer_channel *)(uintptr_t)value);
}

static void on_conn_written(uv_write_t *req, int status)
{
    struct peer_conn *conn = req->handle->data;

    vane_free(req);
    if (status < 0 && status != UV_ECANCELED) {
        conn_log(conn, LOG_LEVEL_INFO, "write failed: %s", uv_strerror(status));
        conn_lose(conn, status);
    } else if (conn->tcp_full && !queue_over(&conn->tcp, QUEUE_LOW)) {
        conn->tcp_full = false;
        conn_each_channel(conn, channel_update_reading);
    }
}

static void conn_write(struct peer_conn *conn, struct out *o, size_t len)
{
    int rc;

    if (conn->lost) {
        vane_free(o);
        return;
    }
    if ((rc = out_write(o, (uv_stream_t *)&conn->tcp, len, on_conn_written)) != 0) {
        conn_log(conn, LOG_LEVEL_INFO, "write failed: %s", uv_strerror(rc));
        conn_lose(conn, rc);
    } else if (!conn->tcp_full && queue_over(&conn->tcp, QUEUE_HIGH)) {
        conn->tcp_full = true;
        conn_each_channel(conn, channel_update_reading);
    }
}

static void conn_send(struct peer_conn *conn, uint32_t channel, enum peer_frame_type type,
                      const void *payload, size_t len)
{
    struct out *o = out_new(PEER_HEADER_SIZE + len);

    peer_wire_header(o->bytes, channel, type, (uint32_t)len);
    if (len > 0)
        memcpy(o->bytes + PEER_HEADER_SIZE, payload, len);
    conn_write(conn, o, PEER_HEADER_SIZE + len);
}

static void conn_send_hello(struct peer_conn *conn)
{
    struct out *o = out_new(PEER_HELLO_MAX);

    conn_write(conn, o, peer_wire_hello(o->bytes, conn->net->self_id, conn->net->self_address));
}

static void net_maybe_finish(struct peer_net *net)
{
    peer_close_cb cb = net->close_cb;
    void *arg = net->close_arg;

    if (!net->closing || !net->listener_closed || net->conns != NULL)
        return;
    vane_free(net->self_address);
    vane_free(net);
    if (cb != NULL)
        cb(arg);
}

/* Frees conn once its TCP handle has closed and its last channel is freed. */
static void conn_maybe_free(struct peer_conn *conn)
{
    struct peer_net *net = conn->net;
    struct peer_conn **link;

    if (!conn->tcp_closed || conn->channels.count > 0)
        return;
    for (link = &net->conns; *link != conn; link = &(*link)->next)
        ;
    *link = conn->next;
    peer_reader_free(&conn->reader);
    u64map_free(&conn->channels);
    vane_free(conn->address);
    vane_free(conn->remote_address);
    vane_free(conn);
    net_maybe_finish(net);
}

static void on_conn_closed(uv_handle_t *handle)
{
    struct peer_conn *conn = handle->data;

    conn->tcp_closed = true;
    conn_maybe_free(conn);
}

/* Closes the connection (once; err says why, for the opens that fail) and
 * ends its channels: see channel_lose_conn().  Called again when the net
 * closes, it closes the ends of channels still shutting down. */
static void conn_lose(struct peer_conn *conn, int err)
{
    if (!conn->lost) {
        conn->lost = true;
        conn->error = err;
        conn->reading = false;
        uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
    }
    conn_each_channel(conn, channel_lose_conn);
}

/* A frame that breaks the protocol: one log line, and the connection goes. */
static int protocol_error(struct peer_conn *conn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int protocol_error(struct peer_conn *conn, const char *fmt, ...)
{
    char text[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    conn_log(conn, LOG_LEVEL_WARN, "protocol error, closing: %s", text);
    conn_lose(conn, VANE_EPROTOCOL);
    return VANE_EPROTOCOL;
}

static void conn_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct peer_conn *conn = handle->data;

    (void)suggested;
    *buf = uv_buf_init(conn->net->scratch, READ_CHUNK);
}

/* Hands what arrived to the reader (on_hello, on_frame); EOF or an error loses the connection. */
static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct peer_conn *conn = stream->data;

    if (nread < 0) {
        conn_log(conn, LOG_LEVEL_INFO, "lost: %s",
                 nread == UV_EOF ? "closed by the other side" : uv_strerror((int)nread));
        conn_lose(conn, nread == UV_EOF ? -ECONNRESET : (int)nread);
    } else if (nread > 0 &&
               peer_reader_feed(&conn->reader, buf->base, (size_t)nread) == -EPROTO) {
        protocol_error(conn, "%s", conn->reader.why);
    }
}

/* Reads the connection while no channel on it is full. */
static void conn_update_reading(struct peer_conn *conn)
{
    bool want = conn->connected && !conn->lost && conn->full_channels == 0;
    int rc;

    if (want == conn->reading)
        return;
    conn->reading = want;
    if (!want) {
        uv_read_stop((uv_stream_t *)&conn->tcp);
    } else if ((rc = uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc, conn_read)) != 0) {
        conn_log(conn, LOG_LEVEL_INFO, "cannot read: %s", uv_strerror(rc));
        conn_lose(conn, rc);
    }
}

/* ---- frames ----------------------------------------------------------------------- */

static struct peer_service **service_link(struct peer_net *net, const char *name)
{
    struct peer_service **link = &net->services;

    while (*link != NULL && strcmp((*link)->name, name) != 0)
        link = &(*link)->next;
    return link;
}

static int on_hello(void *arg, const struct peer_hello *hello)
{
    struct peer_conn *conn = arg;

    conn->remote_id = hello->node_id;
    conn->remote_address = vane_strdup(hello->address);
    snprintf(conn->name, sizeof(conn->name), "node %llu at %s",
             (unsigned long long)hello->node_id, hello->address);
    return 0;
}

static void refuse(struct peer_conn *conn, uint32_t channel, const char *why)
{
    conn_send(conn, channel, PEER_REFUSED, why, strlen(why));
}

/* Reads OPEN's service name; false when it is not 1..PEER_SERVICE_MAX-1 bytes without NUL. */
static bool open_service(const struct peer_frame *frame, char *service)
{
    if (frame->length == 0 || frame->length >= PEER_SERVICE_MAX ||
        memchr(frame->payload, '\0', frame->length) != NULL)
        return false;
    memcpy(service, frame->payload, frame->length);
    service[frame->length] = '\0';
    return true;
}

/* Accepts channel id for service, or says why not. */
static void accept_channel(struct peer_conn *conn, uint32_t id, const char *service)
{
    struct peer_net *net = conn->net;
    struct peer_service *svc = *service_link(net, service);
    struct peer_channel *ch;
    uv_stream_t *stream;
    char why[160];
    int rc;

    if (svc == NULL || net->closing) {
        snprintf(why, sizeof(why), "no service %s on node %llu", service,
                 (unsigned long long)net->self_id);
        refuse(conn, id, why);
        return;
    }
    if ((rc = channel_create(conn, id, &ch)) == 0 && (rc = channel_hand_over(ch, &stream)) != 0)
        channel_close_now(ch);
    if (rc != 0) {
        snprintf(why, sizeof(why), "node %llu cannot make a channel for %s: %s",
                 (unsigned long long)net->self_id, service, uv_strerror(rc));
        refuse(conn, id, why);
        return;
    }
    conn_send(conn, id, PEER_OPENED, NULL, 0);
    svc->cb(svc->arg, conn->remote_id, conn->remote_address, stream);
}

static int on_open(struct peer_conn *conn, const struct peer_frame *frame)
{
    char service[PEER_SERVICE_MAX];

    if (conn->dialled)
        return protocol_error(conn, "OPEN on a connection this node dialled");
    if (frame->channel == 0 || channel_at(conn, frame->channel) != NULL)
        return protocol_error(conn, "OPEN of channel %u, which is %s", frame->channel,
                              frame->channel == 0 ? "reserved" : "in use");
    if (!open_service(frame, service))
        return protocol_error(conn, "OPEN of channel %u: a service name of %u bytes, "
                              "expected 1 to %d without NUL", frame->channel, frame->length,
                              PEER_SERVICE_MAX - 1);
    accept_channel(conn, frame->channel, service);
    return 0;
}

/* OPENED and REFUSED answer an OPEN this node sent: the channel must be opening. */
static int answered_channel(struct peer_conn *conn, const struct peer_frame *frame,
                            struct peer_channel **ch)
{
    const char *type = peer_frame_type_name(frame->type);

    if (!conn->dialled)
        return protocol_error(conn, "%s on a connection this node accepted", type);
    if ((*ch = channel_live(conn, frame->channel)) != NULL && (*ch)->state != CHANNEL_OPENING)
        return protocol_error(conn, "%s of channel %u, which is already open", type,
                              frame->channel);
    return 0;
}

static int on_opened(struct peer_conn *conn, const struct peer_frame *frame)
{
    struct peer_channel *ch;
    struct peer_open *open;
    uv_stream_t *stream;
    int rc;

    if ((rc = answered_channel(conn, frame, &ch)) != 0 || ch == NULL)
        return rc;
    if ((rc = channel_hand_over(ch, &stream)) != 0) {
        conn_send(conn, ch->id, PEER_CLOSE, NULL, 0);
        channel_fail(ch, rc, "cannot open this node's end of the channel to %s: %s",
                     ch->service, uv_strerror(rc));
        return 0;
    }
    open = ch->open;
    ch->open = NULL;
    open->cb(open->arg, 0, stream);
    vane_free(open);
    return 0;
}

static int on_refused(struct peer_conn *conn, const struct peer_frame *frame)
{
    struct peer_channel *ch;
    int rc;

    if ((rc = answered_channel(conn, frame, &ch)) != 0 || ch == NULL)
        return rc;
    channel_fail(ch, -ECONNREFUSED, "%s refused the channel to %s: %.*s", conn->name,
                 ch->service, (int)frame->length, frame->payload);
    return 0;
}

static int on_data(struct peer_conn *conn, const struct peer_frame *frame)
{
    struct peer_channel *ch = channel_live(conn, frame->channel);

    if (ch == NULL)
        return 0;
    if (ch->state == CHANNEL_OPENING)
        return protocol_error(conn, "DATA for channel %u before OPENED", frame->channel);
    channel_deliver(ch, frame->payload, frame->length);
    return 0;
}

static int on_close(struct peer_conn *conn, const struct peer_frame *frame)
{
    struct peer_channel *ch = channel_live(conn, frame->channel);

    if (ch == NULL)
        return 0;
    if (ch->state == CHANNEL_OPENING)
        return protocol_error(conn, "CLOSE for channel %u before OPENED", frame->channel);
    channel_finish(ch);
    return 0;
}

/* Stops the reader when a frame (or a callback it ran) lost the connection. */
static int on_frame(void *arg, const struct peer_frame *frame)
{
    static int (*const handlers[])(struct peer_conn *, const struct peer_frame *) = {
        [PEER_OPEN] = on_open,   [PEER_OPENED] = on_opened, [PEER_REFUSED] = on_refused,
        [PEER_DATA] = on_data,   [PEER_CLOSE] = on_close,
    };
    struct peer_conn *conn = arg;
    int rc = handlers[frame->type](conn, frame);

    return rc != 0 ? rc : conn->lost ? VANE_ESHUTDOWN : 0;
}

/* ---- dialling and accepting --------------------------------------------------- */

/*
 * A peer that stops answering (its host died, or the network between us
 * did) without a reset is noticed by the kernel only after minutes of
 * retransmissions, during which raft's messages to it queue up on a
 * connection that will never deliver them.  So a connection whose sent
 * bytes stay unacknowledged for PEER_USER_TIMEOUT_MS -- or an idle one
 * whose keepalive probes go unanswered, or a dial whose SYN does -- fails,
 * its channels end, and the next open dials afresh.
 */
#define PEER_USER_TIMEOUT_MS 5000
#define PEER_KEEPALIVE_S 2

static void set_user_timeout(uv_tcp_t *tcp)
{
    unsigned timeout = PEER_USER_TIMEOUT_MS;
    uv_os_fd_t fd;

    if (uv_fileno((uv_handle_t *)tcp, &fd) == 0)
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof(timeout));
}

/* family: the socket made now (AF_INET, AF_INET6) for a dial; AF_UNSPEC: made by accept. */
static struct peer_conn *conn_new(struct peer_net *net, bool dialled, int family)
{
    struct peer_conn *conn = VANE_NEW(conn);

    conn->net = net;
    conn->dialled = dialled;
    conn->next_channel_id = 1;
    if (family == AF_UNSPEC || uv_tcp_init_ex(net->loop, &conn->tcp, (unsigned)family) != 0)
        uv_tcp_init(net->loop, &conn->tcp); /* cannot fail: no socket is made yet */
    set_user_timeout(&conn->tcp);
    conn->tcp.data = conn;
    peer_reader_init(&conn->reader, on_hello, on_frame, conn);
    conn->next = net->conns;
    net->conns = conn;
    return conn;
}

/* Both sides: TCP_NODELAY, keepalive, the user timeout, the hello, then frames. */
static void conn_start(struct peer_conn *conn)
{
    conn->connected = true;
    uv_tcp_nodelay(&conn->tcp, 1);
    uv_tcp_keepalive(&conn->tcp, 1, PEER_KEEPALIVE_S);
    set_user_timeout(&conn->tcp);
    conn_send_hello(conn);
    conn_update_reading(conn);
}

static void on_connected(uv_connect_t *req, int status)
{
    struct peer_conn *conn = req->handle->data;

    if (conn->lost)
        return;
    if (status < 0) {
        conn_log(conn, LOG_LEVEL_DEBUG, "cannot connect: %s", uv_strerror(status));
        conn_lose(conn, status);
        return;
    }
    conn_start(conn);
    conn_each_channel(conn, channel_send_open);
}

/* Dials address; the connection is usable at once (opens wait for it). */
static int conn_dial(struct peer_net *net, const char *address, struct peer_conn **out)
{
    struct sockaddr_storage sa;
    struct peer_conn *conn;
    int rc;

    if (vane_net_parse_addr(address, &sa) != 0)
        return -EINVAL;
    conn = conn_new(net, true, sa.ss_family);
    conn->address = vane_strdup(address);
    snprintf(conn->name, sizeof(conn->name), "%s", address);
    if ((rc = uv_tcp_connect(&conn->connect, &conn->tcp, (struct sockaddr *)&sa,
                             on_connected)) != 0) {
        conn_lose(conn, rc);
        return rc;
    }
    *out = conn;
    return 0;
}

static struct peer_conn *conn_find_dialled(struct peer_net *net, const char *address)
{
    for (struct peer_conn *conn = net->conns; conn != NULL; conn = conn->next)
        if (conn->dialled && !conn->lost && strcmp(conn->address, address) == 0)
            return conn;
    return NULL;
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct peer_net *net = listener->data;
    struct sockaddr_storage sa;
    int len = sizeof(sa), rc;
    struct peer_conn *conn;

    if (status < 0) {
        vane_log_warn(LOG_COMPONENT, "accepting a connection: %s", uv_strerror(status));
        return;
    }
    conn = conn_new(net, false, AF_UNSPEC);
    snprintf(conn->name, sizeof(conn->name), "an unknown address");
    if ((rc = uv_accept(listener, (uv_stream_t *)&conn->tcp)) != 0) {
        vane_log_warn(LOG_COMPONENT, "accepting a connection: %s", uv_strerror(rc));
        conn_lose(conn, rc);
        return;
    }
    if (uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&sa, &len) == 0)
        vane_net_format_addr((struct sockaddr *)&sa, conn->name, sizeof(conn->name));
    conn_start(conn);
}

/* ---- the API ------------------------------------------------------------------------ */

static void on_listener_closed(uv_handle_t *handle)
{
    struct peer_net *net = handle->data;

    net->listener_closed = true;
    net_maybe_finish(net);
}

/* The address the listener got (its port when port 0 was asked). */
static char *bound_address(struct peer_net *net)
{
    struct sockaddr_storage sa;
    int len = sizeof(sa);
    char text[PEER_ADDRESS_MAX + 1];

    if (uv_tcp_getsockname(&net->listener, (struct sockaddr *)&sa, &len) != 0)
        return NULL;
    vane_net_format_addr((struct sockaddr *)&sa, text, sizeof(text));
    return vane_strdup(text);
}

static int net_listen(struct peer_net *net, const char *listen_address, char **errmsg)
{
    struct sockaddr_storage sa;
    int rc;

    if (vane_net_parse_addr(listen_address, &sa) != 0) {
        *errmsg = vane_asprintf("peer listen address \"%s\": expected host:port with a "
                                "numeric host", listen_address);
        return -EINVAL;
    }
    if ((rc = uv_tcp_bind(&net->listener, (struct sockaddr *)&sa, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&net->listener, LISTEN_BACKLOG, on_connection)) != 0) {
        *errmsg = vane_asprintf("cannot listen on peer address %s: %s", listen_address,
                                uv_strerror(rc));
        return rc;
    }
    if ((net->self_address = bound_address(net)) == NULL) {
        *errmsg = vane_asprintf("cannot read the address of the peer listener on %s",
                                listen_address);
        return -EIO;
    }
    return 0;
}

int peer_net_open(struct peer_net **out, uv_loop_t *loop, uint64_t self_id,
                  const char *listen_address, const char *self_address, char **errmsg)
{
    struct peer_net *net;
    int rc;

    if (self_address != NULL &&
        (*self_address == '\0' || strlen(self_address) > PEER_ADDRESS_MAX)) {
        *errmsg = vane_asprintf("peer address \"%s\": expected 1 to %d bytes", self_address,
                                PEER_ADDRESS_MAX);
        return -EINVAL;
    }
    net = VANE_NEW(net);
    net->loop = loop;
    net->self_id = self_id;
    uv_tcp_init(loop, &net->listener); /* cannot fail: no socket is made yet */
    net->listener.data = net;
    if ((rc = net_listen(net, listen_address, errmsg)) != 0) {
        net->closing = true; /* freed once the listener has closed */
        uv_close((uv_handle_t *)&net->listener, on_listener_closed);
        return rc;
    }
    if (self_address != NULL) {
        vane_free(net->self_address);
        net->self_address = vane_strdup(self_address);
    }
    *out = net;
    return 0;
}

uint64_t peer_net_self_id(const struct peer_net *net)
{
    return net->self_id;
}

const char *peer_net_self_address(const struct peer_net *net)
{
    return net->self_address;
}

uv_loop_t *peer_net_loop(const struct peer_net *net)
{
    return net->loop;
}

int peer_listen(struct peer_net *net, const char *service, peer_accept_cb cb, void *arg)
{
    struct peer_service **link, *svc;

    if (*service == '\0' || strlen(service) >= PEER_SERVICE_MAX)
        return -EINVAL;
    if (net->closing)
        return VANE_ESHUTDOWN;
    if (*(link = service_link(net, service)) != NULL)
        return -EEXIST;
    svc = VANE_NEW(svc);
    svc->cb = cb;
    svc->arg = arg;
    strcpy(svc->name, service);
    *link = svc;
    return 0;
}

void peer_unlisten(struct peer_net *net, const char *service)
{
    struct peer_service **link = service_link(net, service), *svc = *link;

    if (svc != NULL) {
        *link = svc->next;
        vane_free(svc);
    }
}

/* The next channel id on conn: counts up from 1, skipping 0 and ids in use. */
static uint32_t conn_next_channel_id(struct peer_conn *conn)
{
    while (conn->next_channel_id == 0 || channel_at(conn, conn->next_channel_id) != NULL)
        conn->next_channel_id++;
    return conn->next_channel_id++;
}

struct peer_open *peer_open(struct peer_net *net, const char *address, const char *service,
                            peer_open_cb cb, void *arg)
{
    struct peer_conn *conn;
    struct peer_channel *ch;
    struct peer_open *open;

    if (net->closing || *service == '\0' || strlen(service) >= PEER_SERVICE_MAX)
        return NULL;
    if ((conn = conn_find_dialled(net, address)) == NULL && conn_dial(net, address, &conn) != 0)
        return NULL;
    if (channel_create(conn, conn_next_channel_id(conn), &ch) != 0)
        return NULL;
    open = VANE_NEW(open);
    open->channel = ch;
    open->cb = cb;
    open->arg = arg;
    ch->open = open;
    strcpy(ch->service, service);
    if (conn->connected)
        channel_send_open(ch);
    return open;
}

const char *peer_open_errmsg(const struct peer_open *open)
{
    return open->errmsg;
}

void peer_open_cancel(struct peer_open *open)
{
    struct peer_channel *ch = open->channel;

    ch->open = NULL;
    vane_free(open);
    if (ch->state != CHANNEL_OPENING)
        return; /* its end is closing already */
    if (ch->open_sent)
        conn_send(ch->conn, ch->id, PEER_CLOSE, NULL, 0);
    channel_close_now(ch);
}

size_t peer_net_queued_bytes(const struct peer_net *net)
{
    size_t queued = 0, cursor;
    uint64_t id, value;

    for (const struct peer_conn *conn = net->conns; conn != NULL; conn = conn->next) {
        if (!conn->lost)
            queued += uv_stream_get_write_queue_size((const uv_stream_t *)&conn->tcp);
        for (cursor = 0; u64map_next(&conn->channels, &cursor, &id, &value);)
            queued += uv_stream_get_write_queue_size(
                (const uv_stream_t *)&((struct peer_channel *)(uintptr_t)value)->pipe);
    }
    return queued;
}

void peer_net_close(struct peer_net *net, peer_close_cb cb, void *arg)
{
    net->closing = true;
    net->close_cb = cb;
    net->close_arg = arg;
    while (net->services != NULL)
        peer_unlisten(net, net->services->name);
    uv_close((uv_handle_t *)&net->listener, on_listener_closed);
    for (struct peer_conn *conn = net->conns; conn != NULL; conn = conn->next)
        conn_lose(conn, -ECANCELED);
}

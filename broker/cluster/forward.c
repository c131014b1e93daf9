/*
 * forward.c -- proposals sent to a group's leader and records fetched from
 * it, and both answered there (see forward.h).
 *
 * Client side: a link per leader address holds the channel (opened on the
 * first request, requests queued meanwhile) and the requests in flight, by
 * id.  Server side: each channel another node opened reads requests and
 * answers them when the group's proposal completes; an answer that comes
 * after its channel closed is dropped (the channel struct stays until its
 * last answer is in).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <raft.h>

#include "cluster/forward.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/log.h"

static const char component[] = "forward";

#define HEADER_SIZE 16          /* u32 length, u8 type, 3 zero, u64 id */
#define REQUEST_FIXED 8         /* u64 group */
#define ANSWER_FIXED 24         /* i32 status, 4 zero, u64 index, u64 result */
#define FETCH_FIXED 24          /* u64 group, u64 offset, u32 max bytes, 4 zero */
#define RECORDS_FIXED 8         /* i32 status, 4 zero */
#define FETCH_MAX (16u << 20)   /* bytes of records one fetch may ask for */
#define FRAME_MAX (64u << 20)   /* a raft entry is at most a few MiB */
#define READ_CHUNK 65536

enum frame_type { FRAME_REQUEST = 1, FRAME_ANSWER = 2, FRAME_FETCH = 3, FRAME_RECORDS = 4 };

struct group_entry {
    uint64_t group;
    forward_propose_fn propose;
    void *target;
    forward_read_fn read;
    void *read_target;
};

struct link;

struct forward_req {
    struct link *link;
    uint64_t id;
    forward_done_cb done;     /* a proposal's */
    forward_fetch_cb fetched; /* or a fetch's */
    void *arg;
    char *frame; /* until written */
    size_t frame_len;
    struct forward_req *next;
};

/* A channel to one leader node.  in comes first: on_alloc finds it from stream->data. */
struct link {
    struct vane_buf in;
    struct forwarder *fw;
    char *address;
    struct peer_open *opening;
    uv_stream_t *stream;
    struct forward_req *reqs; /* queued and in flight */
    struct link *next;
};

/* A channel another node opened to this one (in first, as in struct link). */
struct serving {
    struct vane_buf in;
    struct forwarder *fw;
    uv_stream_t *stream; /* NULL once closed */
    int answers_pending;
    struct serving *next;
};

struct answer_ctx {
    struct serving *chan;
    uint64_t id;
};

struct forwarder {
    struct peer_net *net;
    struct group_entry *groups;
    size_t group_count, group_cap;
    struct link *links;
    struct serving *serving;
    uv_timer_t sweep;
    uint64_t next_id;
    int handles_open;
    bool closing;
    forwarder_close_cb close_cb;
    void *close_arg;
};

/* ---- frames -------------------------------------------------------------- */

/* A frame of type with id and body_len bytes after the header, header written. */
static char *frame_new(enum frame_type type, uint64_t id, size_t body_len)
{
    char *frame = vane_calloc(1, HEADER_SIZE + body_len);

    vane_put32(frame, (uint32_t)(HEADER_SIZE - 4 + body_len));
    frame[4] = (char)type;
    vane_put64(frame + 8, id);
    return frame;
}

/*
 * Takes the complete frames at the front of in: each goes to handle(ctx,
 * type, id, body, body_len).  Returns false on a frame that cannot be (the
 * channel is then closed).
 */
static bool take_frames(struct vane_buf *in, void *ctx,
                        void (*handle)(void *, int, uint64_t, const char *, size_t))
{
    size_t at = 0;

    while (in->len - at >= HEADER_SIZE) {
        uint32_t len = vane_get32(in->data + at);

        if (len < HEADER_SIZE - 4 || len > FRAME_MAX)
            return false;
        if (in->len - at < 4 + (size_t)len)
            break;
        handle(ctx, (uint8_t)in->data[at + 4], vane_get64(in->data + at + 8),
               in->data + at + HEADER_SIZE, len - (HEADER_SIZE - 4));
        at += 4 + (size_t)len;
    }
    memmove(in->data, in->data + at, in->len - at);
    in->len -= at;
    return true;
}

/* ---- writing and closing streams ----------------------------------------- */

struct write_req {
    uv_write_t req;
    char *frame;
};

static void on_written(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;

    (void)status; /* a failed write shows as the stream's EOF or error */
    vane_free(w->frame);
    vane_free(w);
}

/* Writes frame (taken over). */
static void write_frame(uv_stream_t *stream, char *frame, size_t len)
{
    struct write_req *w = VANE_NEW(w);
    uv_buf_t buf = uv_buf_init(frame, (unsigned)len);

    w->frame = frame;
    if (uv_write(&w->req, stream, &buf, 1, on_written) != 0)
        on_written(&w->req, -EPIPE);
}

static void maybe_closed(struct forwarder *fw);

static void on_stream_closed(uv_handle_t *handle)
{
    struct forwarder *fw = handle->data;

    raft_free(handle);
    fw->handles_open--;
    maybe_closed(fw);
}

static void close_stream(struct forwarder *fw, uv_stream_t *stream)
{
    stream->data = fw;
    uv_close((uv_handle_t *)stream, on_stream_closed);
}

/* stream->data is a struct link or struct serving, each starting with its input buffer. */
static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct vane_buf *in = handle->data;

    (void)suggested;
    vane_buf_reserve(in, READ_CHUNK);
    *buf = uv_buf_init(in->data + in->len, READ_CHUNK);
}

/* ---- client side: links to leaders --------------------------------------- */

/*
 * Ends req: its callback, unless cancelled, gets the answer -- a proposal's
 * index and result, or a fetch's records (valid during the call only).
 */
static void finish(struct forward_req *req, int status, uint64_t index, uint64_t result,
                   const char *records, size_t len)
{
    forward_done_cb done = req->done;
    forward_fetch_cb fetched = req->fetched;
    void *arg = req->arg;

    vane_free(req->frame);
    vane_free(req);
    if (done != NULL)
        done(arg, status, index, result);
    else if (fetched != NULL)
        fetched(arg, status, records, len);
}

static void unlink_req(struct forward_req *req)
{
    struct forward_req **p = &req->link->reqs;

    while (*p != req)
        p = &(*p)->next;
    *p = req->next;
}

/*
 * The channel is gone (or never came): the link goes, then every request on
 * it fails -- after, so a callback that sends again gets a new link.
 */
static void link_fail(struct link *link, int status)
{
    struct link **p = &link->fw->links;
    struct forward_req *req, *reqs = link->reqs;

    while (*p != link)
        p = &(*p)->next;
    *p = link->next;
    if (link->stream != NULL)
        close_stream(link->fw, link->stream);
    vane_buf_free(&link->in);
    vane_free(link->address);
    vane_free(link);
    while ((req = reqs) != NULL) {
        reqs = req->next;
        /* One never written was not proposed, whatever the link died of. */
        finish(req, req->frame != NULL ? -ECONNREFUSED : status, 0, 0, NULL, 0);
    }
}

static void on_link_answer(void *ctx, int type, uint64_t id, const char *body, size_t len)
{
    struct link *link = ctx;
    struct forward_req *req;

    for (req = link->reqs; req != NULL && req->id != id; req = req->next)
        ;
    if (req == NULL)
        return; /* cancelled, or not one of ours */
    if (type == FRAME_ANSWER && len >= ANSWER_FIXED && req->fetched == NULL) {
        unlink_req(req);
        finish(req, (int32_t)vane_get32(body), vane_get64(body + 8), vane_get64(body + 16),
               NULL, 0);
    } else if (type == FRAME_RECORDS && len >= RECORDS_FIXED && req->done == NULL) {
        unlink_req(req);
        finish(req, (int32_t)vane_get32(body), 0, 0, body + RECORDS_FIXED, len - RECORDS_FIXED);
    }
}

static void on_link_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct link *link = stream->data;

    (void)buf;
    if (nread < 0) {
        link_fail(link, -ECONNRESET);
        return;
    }
    link->in.len += (size_t)nread;
    if (!take_frames(&link->in, link, on_link_answer)) {
        vane_log_warn(component, "a bad answer from %s; the channel is closed", link->address);
        link_fail(link, VANE_EPROTOCOL);
    }
}

static void send_queued(struct link *link)
{
    for (struct forward_req *req = link->reqs; req != NULL; req = req->next)
        if (req->frame != NULL) {
            write_frame(link->stream, req->frame, req->frame_len);
            req->frame = NULL;
        }
}

static void on_link_open(void *arg, int status, uv_stream_t *stream)
{
    struct link *link = arg;

    link->opening = NULL;
    link->fw->handles_open += stream != NULL;
    if (status != 0) {
        link_fail(link, status);
        return;
    }
    link->stream = stream;
    stream->data = link;
    link->in.len = 0;
    uv_read_start(stream, on_alloc, on_link_read);
    send_queued(link);
}

/* Fails the links whose channel could not even be asked for. */
static void on_sweep(uv_timer_t *timer)
{
    struct forwarder *fw = timer->data;
    struct link *link = fw->links, *next;

    for (; link != NULL; link = next) {
        next = link->next;
        if (link->stream == NULL && link->opening == NULL)
            link_fail(link, -ECONNREFUSED);
    }
}

static struct link *link_for(struct forwarder *fw, const char *address)
{
    struct link *link;

    for (link = fw->links; link != NULL; link = link->next)
        if (strcmp(link->address, address) == 0)
            return link;
    link = VANE_NEW(link);
    link->fw = fw;
    link->address = vane_strdup(address);
    link->next = fw->links;
    fw->links = link;
    return link;
}

/* A request of type with body_len bytes after its group id, queued on address's link. */
static struct forward_req *request_new(struct forwarder *fw, const char *address,
                                       enum frame_type type, uint64_t group, size_t body_len)
{
    struct link *link = link_for(fw, address);
    struct forward_req *req = VANE_NEW(req);

    req->link = link;
    req->id = ++fw->next_id;
    req->frame_len = HEADER_SIZE + 8 + body_len;
    req->frame = frame_new(type, req->id, 8 + body_len);
    vane_put64(req->frame + HEADER_SIZE, group);
    req->next = link->reqs;
    link->reqs = req;
    return req;
}

/* Sends it, or opens the link first; a link that cannot even open fails from the loop. */
static struct forward_req *request_go(struct forward_req *req)
{
    struct link *link = req->link;
    struct forwarder *fw = link->fw;

    if (link->stream != NULL)
        send_queued(link);
    else if (link->opening == NULL)
        link->opening = peer_open(fw->net, link->address, FORWARD_SERVICE, on_link_open, link);
    if (link->stream == NULL && link->opening == NULL)
        uv_timer_start(&fw->sweep, on_sweep, 0, 0);
    return req;
}

struct forward_req *forward_send(struct forwarder *fw, const char *address, uint64_t group,
                                 const void *buf, size_t len, forward_done_cb done, void *arg)
{
    struct forward_req *req;

    if (fw->closing)
        return NULL;
    req = request_new(fw, address, FRAME_REQUEST, group, len);
    req->done = done;
    req->arg = arg;
    memcpy(req->frame + HEADER_SIZE + REQUEST_FIXED, buf, len);
    return request_go(req);
}

struct forward_req *forward_fetch(struct forwarder *fw, const char *address, uint64_t group,
                                  uint64_t offset, uint32_t max_bytes, forward_fetch_cb done,
                                  void *arg)
{
    struct forward_req *req;

    if (fw->closing)
        return NULL;
    req = request_new(fw, address, FRAME_FETCH, group, FETCH_FIXED - 8);
    req->fetched = done;
    req->arg = arg;
    vane_put64(req->frame + HEADER_SIZE + 8, offset);
    vane_put32(req->frame + HEADER_SIZE + 16, max_bytes);
    return request_go(req);
}

/* One not written yet never will be (its entry must not reach the leader
 * after its sender was told it failed); one written waits for its answer. */
void forward_cancel(struct forward_req *req)
{
    req->done = NULL;
    req->fetched = NULL;
    if (req->frame != NULL) {
        unlink_req(req);
        vane_free(req->frame);
        vane_free(req);
    }
}

/* ---- server side: proposals from other nodes ----------------------------- */

static void serving_release(struct serving *chan)
{
    struct forwarder *fw = chan->fw;
    struct serving **p;

    if (chan->stream != NULL || chan->answers_pending > 0)
        return;
    for (p = &fw->serving; *p != chan; p = &(*p)->next)
        ;
    *p = chan->next;
    vane_buf_free(&chan->in);
    vane_free(chan);
    maybe_closed(fw);
}

static void answer(struct serving *chan, uint64_t id, int status, uint64_t index,
                   uint64_t result)
{
    char *frame;

    if (chan->stream == NULL)
        return;
    frame = frame_new(FRAME_ANSWER, id, ANSWER_FIXED);
    vane_put32(frame + HEADER_SIZE, (uint32_t)(int32_t)status);
    vane_put64(frame + HEADER_SIZE + 8, index);
    vane_put64(frame + HEADER_SIZE + 16, result);
    write_frame(chan->stream, frame, HEADER_SIZE + ANSWER_FIXED);
}

static void on_proposed(void *arg, int status, uint64_t index, uint64_t result)
{
    struct answer_ctx *ctx = arg;
    struct serving *chan = ctx->chan;

    answer(chan, ctx->id, status, index, result);
    chan->answers_pending--;
    vane_free(ctx);
    serving_release(chan);
}

static const struct group_entry *find_group(const struct forwarder *fw, uint64_t group)
{
    for (size_t i = 0; i < fw->group_count; i++)
        if (fw->groups[i].group == group)
            return &fw->groups[i];
    return NULL;
}

/* Reads the records asked for and answers with them (or the error), at once. */
static void serve_fetch(struct serving *chan, uint64_t id, const char *body)
{
    const struct group_entry *g = find_group(chan->fw, vane_get64(body));
    uint32_t max_bytes = vane_get32(body + 16);
    struct vane_buf out = VANE_BUF_INIT;
    char *header = frame_new(FRAME_RECORDS, id, RECORDS_FIXED);
    size_t len;
    int err;

    vane_buf_append(&out, header, HEADER_SIZE + RECORDS_FIXED);
    vane_free(header);
    if (g == NULL || g->read == NULL || chan->fw->closing)
        err = -ENOENT;
    else
        err = g->read(g->read_target, vane_get64(body + 8),
                      max_bytes < FETCH_MAX ? max_bytes : FETCH_MAX, &out);
    if (err != 0)
        out.len = HEADER_SIZE + RECORDS_FIXED;
    len = out.len;
    vane_put32(out.data, (uint32_t)(len - 4));
    vane_put32(out.data + HEADER_SIZE, (uint32_t)(int32_t)err);
    if (chan->stream != NULL)
        write_frame(chan->stream, vane_buf_detach(&out), len);
    vane_buf_free(&out);
}

static void on_request(void *ctx, int type, uint64_t id, const char *body, size_t len)
{
    struct serving *chan = ctx;
    const struct group_entry *g;
    struct answer_ctx *actx;
    void *entry;
    int err;

    if (type == FRAME_FETCH && len >= FETCH_FIXED)
        serve_fetch(chan, id, body);
    if (type != FRAME_REQUEST || len < REQUEST_FIXED)
        return;
    if ((g = find_group(chan->fw, vane_get64(body))) == NULL || g->propose == NULL ||
        chan->fw->closing) {
        answer(chan, id, VANE_ENOTLEADER, 0, 0);
        return;
    }
    entry = raft_malloc(len - REQUEST_FIXED > 0 ? len - REQUEST_FIXED : 1);
    memcpy(entry, body + REQUEST_FIXED, len - REQUEST_FIXED);
    actx = VANE_NEW(actx);
    actx->chan = chan;
    actx->id = id;
    chan->answers_pending++;
    if ((err = g->propose(g->target, entry, len - REQUEST_FIXED, on_proposed, actx)) != 0) {
        raft_free(entry);
        on_proposed(actx, err, 0, 0);
    }
}

static void serving_close(struct serving *chan)
{
    if (chan->stream == NULL)
        return;
    close_stream(chan->fw, chan->stream);
    chan->stream = NULL;
    serving_release(chan);
}

static void on_serving_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct serving *chan = stream->data;

    (void)buf;
    if (nread < 0) {
        serving_close(chan);
        return;
    }
    chan->in.len += (size_t)nread;
    if (!take_frames(&chan->in, chan, on_request)) {
        vane_log_warn(component, "a bad request frame; the channel is closed");
        serving_close(chan);
    }
}

static void on_accept(void *arg, uint64_t node_id, const char *node_address, uv_stream_t *stream)
{
    struct forwarder *fw = arg;
    struct serving *chan;

    (void)node_id, (void)node_address;
    fw->handles_open++;
    if (fw->closing) {
        close_stream(fw, stream);
        return;
    }
    chan = VANE_NEW(chan);
    chan->fw = fw;
    chan->stream = stream;
    chan->next = fw->serving;
    fw->serving = chan;
    stream->data = chan;
    uv_read_start(stream, on_alloc, on_serving_read);
}

/* ---- life cycle ---------------------------------------------------------- */

int forwarder_open(struct forwarder **out, struct peer_net *net)
{
    struct forwarder *fw = VANE_NEW(fw);
    int err;

    fw->net = net;
    if ((err = peer_listen(net, FORWARD_SERVICE, on_accept, fw)) != 0) {
        vane_free(fw);
        return err;
    }
    uv_timer_init(peer_net_loop(net), &fw->sweep);
    fw->sweep.data = fw;
    fw->handles_open = 1;
    *out = fw;
    return 0;
}

/* The group's entry, made when missing. */
static struct group_entry *group_entry(struct forwarder *fw, uint64_t group)
{
    struct group_entry *g = (struct group_entry *)find_group(fw, group);

    if (g != NULL)
        return g;
    if (fw->group_count == fw->group_cap) {
        fw->group_cap = fw->group_cap ? fw->group_cap * 2 : 16;
        fw->groups = vane_realloc(fw->groups, fw->group_cap * sizeof(*fw->groups));
    }
    g = &fw->groups[fw->group_count++];
    *g = (struct group_entry){.group = group};
    return g;
}

/* Drops the group's entry once it has neither a proposer nor a reader. */
static void group_trim(struct forwarder *fw, struct group_entry *g)
{
    if (g->propose == NULL && g->read == NULL)
        *g = fw->groups[--fw->group_count];
}

void forwarder_register(struct forwarder *fw, uint64_t group, forward_propose_fn propose,
                        void *target)
{
    struct group_entry *g = group_entry(fw, group);

    g->propose = propose;
    g->target = target;
}

void forwarder_unregister(struct forwarder *fw, uint64_t group)
{
    struct group_entry *g = (struct group_entry *)find_group(fw, group);

    if (g == NULL)
        return;
    g->propose = NULL;
    group_trim(fw, g);
}

void forwarder_set_reader(struct forwarder *fw, uint64_t group, forward_read_fn read,
                          void *target)
{
    struct group_entry *g = group_entry(fw, group);

    g->read = read;
    g->read_target = target;
    group_trim(fw, g);
}

static void maybe_closed(struct forwarder *fw)
{
    if (!fw->closing || fw->handles_open > 0 || fw->serving != NULL)
        return;
    if (fw->close_cb != NULL)
        fw->close_cb(fw->close_arg);
    vane_free(fw->groups);
    vane_free(fw);
}

static void on_sweep_closed(uv_handle_t *handle)
{
    struct forwarder *fw = handle->data;

    fw->handles_open--;
    maybe_closed(fw);
}

void forwarder_close(struct forwarder *fw, forwarder_close_cb cb, void *arg)
{
    fw->closing = true;
    fw->close_cb = cb;
    fw->close_arg = arg;
    peer_unlisten(fw->net, FORWARD_SERVICE);
    while (fw->links != NULL) {
        if (fw->links->opening != NULL)
            peer_open_cancel(fw->links->opening);
        fw->links->opening = NULL;
        link_fail(fw->links, VANE_ESHUTDOWN);
    }
    for (struct serving *chan = fw->serving, *next; chan != NULL; chan = next) {
        next = chan->next;
        serving_close(chan);
    }
    uv_close((uv_handle_t *)&fw->sweep, on_sweep_closed);
}

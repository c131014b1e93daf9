/*
 * http_server.c -- h2o on libuv: listener, accepted connections, and a
 * shutdown that closes every connection within a bounded time (see
 * http_server.h for the life cycle).
 *
 * h2o owns each accepted connection once h2o_accept() has it; the server
 * only keeps its own list of the uv_tcp_t handles it allocated, so that at
 * shutdown it can reach their sockets.  The close callback h2o calls for a
 * handle is ours (conn_closed), which unlinks and frees it.  Closing is
 * counted down: the listener, the grace timer and every connection; when the
 * last one is closed, the done callback runs.
 *
 * Every route also gets an h2o logger: h2o calls its log_access once the
 * request is done, which hands the request to the observer, if one is set
 * (http_server_set_observer), with the route's path.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/net.h"
#include "gateway/http_server.h"
#include "gateway/response.h"
#include "vane-config.h"

struct conn {
    uv_tcp_t tcp; /* first member: the close callback is handed its address */
    struct http_server *server;
    struct conn *prev, *next;
};

/* The logger h2o keeps for each route; h2o frees it in h2o_config_dispose(). */
struct route_logger {
    h2o_logger_t super; /* first member: h2o hands its address back */
    struct http_server *server;
    const char *route;  /* the pathconf's copy of the path */
    void *state;        /* the observer's */
};

/* A route's own handler, called by on_route_request() once the body is checked. */
struct route {
    h2o_handler_t *handler;
    http_server_handler_fn on_req;
};

struct http_server {
    uv_loop_t *loop;
    h2o_globalconf_t globalconf;
    h2o_hostconf_t *host;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listener;
    uv_timer_t grace_timer;
    struct sockaddr_storage addr;
    char address[64];
    struct conn *conns;
    bool context_ready, listener_open, closing, grace_running;
    int pending_closes; /* listener and timer handles whose close is under way */
    void (*done)(void *arg);
    void *done_arg;
    http_server_observer_fn observe;
    void (*free_observer_state)(void *route_state);
    void *observer_arg;
    struct route routes[HTTP_SERVER_MAX_ROUTES];
    size_t route_count;
    size_t max_body; /* 0: h2o's own limit only */
};

static const char component[] = "http";

static void maybe_done(struct http_server *server);

int http_server_create(struct http_server **out, uv_loop_t *loop, const char *listen)
{
    struct http_server *server;
    struct sockaddr_storage addr;

    if (vane_net_parse_addr(listen, &addr) != 0)
        return -EINVAL;
    server = VANE_NEW(server);
    server->loop = loop;
    server->addr = addr;
    vane_net_format_addr((struct sockaddr *)&addr, server->address, sizeof(server->address));
    h2o_config_init(&server->globalconf);
    server->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("vane/" PACKAGE_VERSION));
    server->host = h2o_config_register_host(&server->globalconf,
                                            h2o_iovec_init(H2O_STRLIT("default")), 65535);
    *out = server;
    return 0;
}

static void on_request_done(h2o_logger_t *self, h2o_req_t *req)
{
    struct route_logger *logger = (struct route_logger *)self;
    struct http_server *server = logger->server;

    if (server->observe != NULL)
        server->observe(logger->route, &logger->state, req, server->observer_arg);
}

static void on_logger_dispose(h2o_logger_t *self)
{
    struct route_logger *logger = (struct route_logger *)self;
    struct http_server *server = logger->server;

    if (logger->state != NULL && server->free_observer_state != NULL)
        server->free_observer_state(logger->state);
    logger->state = NULL;
}

void http_server_set_observer(struct http_server *server, http_server_observer_fn observe,
                              void (*free_state)(void *route_state), void *arg)
{
    server->observe = observe;
    server->free_observer_state = free_state;
    server->observer_arg = arg;
}

/* Every route's entry: a body over the limit is answered 413 in the JSON shape. */
static int on_route_request(h2o_handler_t *self, h2o_req_t *req)
{
    struct http_server *server = H2O_STRUCT_FROM_MEMBER(struct http_server, ctx, req->conn->ctx);

    if (server->max_body > 0 && req->entity.base != NULL && req->entity.len > server->max_body) {
        response_error(req, 413, "Payload Too Large", NULL,
                       "the request body of %zu bytes is over the limit of %zu bytes "
                       "(gateway.max_request_size)",
                       req->entity.len, server->max_body);
        return 0;
    }
    for (size_t i = 0; i < server->route_count; i++)
        if (server->routes[i].handler == self)
            return server->routes[i].on_req(self, req);
    return -1;
}

h2o_handler_t *http_server_route(struct http_server *server, const char *path,
                                 http_server_handler_fn on_req, size_t size)
{
    h2o_pathconf_t *pathconf = h2o_config_register_path(server->host, path, 0);
    h2o_handler_t *handler = h2o_create_handler(pathconf, size);
    struct route_logger *logger;

    if (server->route_count == HTTP_SERVER_MAX_ROUTES)
        abort(); /* a programming error: raise HTTP_SERVER_MAX_ROUTES */
    server->routes[server->route_count++] = (struct route){handler, on_req};
    handler->on_req = on_route_request;
    logger = (struct route_logger *)h2o_create_logger(pathconf, sizeof(*logger));
    logger->super.log_access = on_request_done;
    logger->super.dispose = on_logger_dispose;
    logger->server = server;
    logger->route = pathconf->path.base;
    return handler;
}

void http_server_set_max_body(struct http_server *server, size_t bytes)
{
    server->max_body = bytes;
    /* h2o itself stops reading far past it (413 in plain text on HTTP/1.1,
     * the stream refused on HTTP/2), so a huge body is never buffered. */
    server->globalconf.max_request_entity_size = bytes * HTTP_SERVER_BODY_SLACK;
}

static void conn_link(struct http_server *server, struct conn *conn)
{
    conn->server = server;
    conn->next = server->conns;
    if (server->conns != NULL)
        server->conns->prev = conn;
    server->conns = conn;
}

static void conn_closed(uv_handle_t *handle)
{
    struct conn *conn = (struct conn *)handle;
    struct http_server *server = conn->server;

    if (conn->prev != NULL)
        conn->prev->next = conn->next;
    else
        server->conns = conn->next;
    if (conn->next != NULL)
        conn->next->prev = conn->prev;
    vane_free(conn);
    maybe_done(server);
}

static void on_accept(uv_stream_t *listener, int status)
{
    struct http_server *server = listener->data;
    struct conn *conn;
    h2o_socket_t *sock;

    if (status != 0) {
        vane_log_warn(component, "accept on %s failed: %s", server->address, uv_strerror(status));
        return;
    }
    conn = VANE_NEW(conn);
    uv_tcp_init(server->loop, &conn->tcp);
    conn_link(server, conn);
    if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
        uv_close((uv_handle_t *)&conn->tcp, conn_closed);
        return;
    }
    uv_tcp_nodelay(&conn->tcp, 1);
    sock = h2o_uv_socket_create((uv_stream_t *)&conn->tcp, conn_closed);
    h2o_accept(&server->accept_ctx, sock);
}

static int on_unknown_path(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    response_error(req, 404, "Not Found", NULL, "no such endpoint: %.*s", (int)req->path.len,
                   req->path.base);
    return 0;
}

int http_server_listen(struct http_server *server)
{
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    int err;

    /* Whatever no part of the broker routed is answered in the JSON error shape. */
    http_server_route(server, "/", on_unknown_path, sizeof(h2o_handler_t));
    h2o_context_init(&server->ctx, server->loop, &server->globalconf);
    server->context_ready = true;
    server->accept_ctx.ctx = &server->ctx;
    server->accept_ctx.hosts = server->globalconf.hosts;

    uv_tcp_init(server->loop, &server->listener);
    server->listener.data = server;
    server->listener_open = true;
    if ((err = uv_tcp_bind(&server->listener, (struct sockaddr *)&server->addr, 0)) != 0 ||
        (err = uv_listen((uv_stream_t *)&server->listener, 511, on_accept)) != 0)
        return err;
    if (uv_tcp_getsockname(&server->listener, (struct sockaddr *)&bound, &len) == 0)
        vane_net_format_addr((struct sockaddr *)&bound, server->address, sizeof(server->address));
    return 0;
}

const char *http_server_address(const struct http_server *server)
{
    return server->address;
}

static void handle_closed(uv_handle_t *handle)
{
    struct http_server *server = handle->data;

    server->pending_closes--;
    maybe_done(server);
}

static void close_handle(struct http_server *server, uv_handle_t *handle)
{
    handle->data = server;
    server->pending_closes++;
    uv_close(handle, handle_closed);
}

/* Runs done once the listener, the grace timer and every connection are closed. */
static void maybe_done(struct http_server *server)
{
    void (*done)(void *);

    if (!server->closing || server->conns != NULL)
        return;
    if (server->grace_running) {
        server->grace_running = false;
        close_handle(server, (uv_handle_t *)&server->grace_timer);
    }
    if (server->pending_closes > 0 || server->done == NULL)
        return;
    done = server->done;
    server->done = NULL;
    done(server->done_arg);
}

/* Shuts down one direction (SHUT_RD or SHUT_RDWR) of every open connection. */
static void shutdown_conns(struct http_server *server, int how)
{
    for (struct conn *conn = server->conns; conn != NULL; conn = conn->next) {
        uv_os_fd_t fd;

        if (uv_fileno((uv_handle_t *)&conn->tcp, &fd) == 0)
            shutdown(fd, how);
    }
}

static void on_grace_expired(uv_timer_t *timer)
{
    struct http_server *server = timer->data;

    vane_log_warn(component, "closing connections still busy after %d ms", HTTP_SERVER_GRACE_MS);
    shutdown_conns(server, SHUT_RDWR);
    server->grace_running = false;
    close_handle(server, (uv_handle_t *)timer);
}

void http_server_close(struct http_server *server, void (*done)(void *arg), void *arg)
{
    server->done = done;
    server->done_arg = arg;
    if (server->closing)
        return;
    server->closing = true;
    if (server->listener_open)
        close_handle(server, (uv_handle_t *)&server->listener);
    if (server->context_ready)
        h2o_context_request_shutdown(&server->ctx);
    if (server->conns != NULL) {
        shutdown_conns(server, SHUT_RD);
        uv_timer_init(server->loop, &server->grace_timer);
        server->grace_timer.data = server;
        uv_timer_start(&server->grace_timer, on_grace_expired, HTTP_SERVER_GRACE_MS, 0);
        server->grace_running = true;
    }
    maybe_done(server);
}

void http_server_free(struct http_server *server)
{
    if (server == NULL)
        return;
    if (server->context_ready) {
        /* h2o leaves its HTTP/2 GOAWAY re-send timer linked for a second;
         * every connection is closed, so it has nothing left to do. */
        if (h2o_timeout_is_linked(&server->ctx.http2._graceful_shutdown_timeout))
            h2o_timeout_unlink(&server->ctx.http2._graceful_shutdown_timeout);
        h2o_context_dispose(&server->ctx);
    }
    h2o_config_dispose(&server->globalconf);
    vane_free(server);
}

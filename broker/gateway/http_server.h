/*
 * http_server.h -- the HTTP listener: h2o on the daemon's libuv loop.
 *
 * One server owns one h2o configuration with a single default host, one
 * listening TCP socket and the connections accepted on it.  Parts of the
 * broker add their routes with http_server_route() before the server starts
 * listening; h2o matches routes by the longest path prefix.  HTTP/1.1 with
 * keep-alive and HTTP/2 (h2c, by prior knowledge or upgrade) are both served.
 *
 * Life cycle, all on the loop thread:
 *
 *     http_server_create -> http_server_route ... -> http_server_listen
 *     -> (loop runs) -> http_server_close(done) -> (loop runs until done)
 *     -> uv_stop -> http_server_free   (after uv_run has returned)
 *
 * http_server_close() stops accepting, sends HTTP/2 GOAWAY, and closes every
 * connection once its current request is answered: it shuts the read side of
 * each socket so idle keep-alive connections see end-of-file at once, and
 * after a grace period (HTTP_SERVER_GRACE_MS) shuts both sides of any that
 * remain.  h2o frees its own state for each connection as it closes.
 * http_server_free() must run outside uv_run(): h2o_context_dispose() runs
 * the loop itself to release its timers.
 */
#ifndef VANE_GATEWAY_HTTP_SERVER_H
#define VANE_GATEWAY_HTTP_SERVER_H

#include <h2o.h>
#include <uv.h>

#define HTTP_SERVER_GRACE_MS 500
#define HTTP_SERVER_MAX_ROUTES 32
#define HTTP_SERVER_BODY_SLACK 4

struct http_server;

typedef int (*http_server_handler_fn)(h2o_handler_t *self, h2o_req_t *req);

/*
 * Creates a server that will listen on listen ("host:port", numeric).
 * Returns 0 or -EINVAL when the address does not parse.
 */
int http_server_create(struct http_server **server, uv_loop_t *loop, const char *listen);

/*
 * Routes requests whose path starts with path to on_req.  size is the size of
 * the handler struct to allocate (at least sizeof(h2o_handler_t), which must
 * be its first member); the returned handler is owned by the server and lives
 * until http_server_free().  Only before http_server_listen().
 */
h2o_handler_t *http_server_route(struct http_server *server, const char *path,
                                 http_server_handler_fn on_req, size_t size);

/*
 * Called once each request routed by http_server_route() is done (answered,
 * or its connection gone), with the path of the route that matched and the
 * request; req->res.status and req->timestamps tell how it went.
 * route_state is the observer's own pointer for that route, NULL until it
 * sets one; http_server_free() hands each one set to free_state (which may
 * be NULL).  Runs on the loop thread, from inside h2o: it must not answer or
 * keep req.
 */
typedef void (*http_server_observer_fn)(const char *route, void **route_state, h2o_req_t *req,
                                        void *arg);

/*
 * Sets the one observer of every route, those added before as well as
 * after.  Passing observe NULL removes it.
 */
void http_server_set_observer(struct http_server *server, http_server_observer_fn observe,
                              void (*free_state)(void *route_state), void *arg);

/*
 * Requests whose body is larger than bytes are answered 413 in the JSON
 * error shape before any route sees them; h2o stops reading bodies larger
 * than HTTP_SERVER_BODY_SLACK times that on its own (a plain-text 413 on
 * HTTP/1.1, the stream refused on HTTP/2).  Only before http_server_listen().
 */
void http_server_set_max_body(struct http_server *server, size_t bytes);

/* Binds, listens and starts accepting.  Returns 0 or a negative libuv error. */
int http_server_listen(struct http_server *server);

/* The bound address, "127.0.0.1:8080" (with the real port when 0 was asked). */
const char *http_server_address(const struct http_server *server);

/* Stops the server as described above; done(arg) runs once all is closed. */
void http_server_close(struct http_server *server, void (*done)(void *arg), void *arg);

/* Releases everything.  Call after done has run and uv_run() has returned. */
void http_server_free(struct http_server *server);

#endif

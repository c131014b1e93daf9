/*
 * daemon.h -- the vaned process: every part of the broker on one loop.
 *
 * daemon_run() takes the data directory's lock, builds the parts, logs one
 * start line, runs the libuv loop until SIGINT or SIGTERM, then stops the
 * parts in reverse order and closes the loop.  A clean stop closes every
 * handle, so uv_loop_close() returns 0; if it does not, daemon_run() says so
 * and fails, which the tests catch.
 */
#ifndef VANE_DAEMON_H
#define VANE_DAEMON_H

#include "config/config.h"

/* Runs the broker until it is told to stop.  Returns 0 or a negative error. */
int daemon_run(const struct config *cfg);

#endif

/*
 * error.h -- Vane's error codes and their messages.
 *
 * Every int-returning function in the broker returns 0 on success or a
 * negative error code.  Codes that an errno already names are -errno (so a
 * libuv error, which is also -errno on Unix, passes through unchanged); the
 * broker's own conditions live in a reserved range below VANE_ERR_BASE.  All
 * of them come from one X-macro map, VANE_ERRNO_MAP, which also yields
 * vane_strerror() and vane_err_name(), as libuv's UV_ERRNO_MAP does.
 *
 * The map only grows: a code, once published, keeps its number.
 */
#ifndef VANE_CORE_ERROR_H
#define VANE_CORE_ERROR_H

#define VANE_ERR_BASE (-30000)

/* XX(NAME, offset below VANE_ERR_BASE, message) */
#define VANE_ERRNO_MAP(XX)                                                   \
    XX(CONFIG, 1, "invalid configuration")                                   \
    XX(LOCKED, 2, "data directory is locked by another process")             \
    XX(NOTREADY, 3, "not ready")                                             \
    XX(CORRUPT, 4, "data is corrupt")                                        \
    XX(PROTOCOL, 5, "protocol error")                                        \
    XX(LUA, 6, "Lua error")                                                  \
    XX(HTTP, 7, "HTTP transfer failed")                                      \
    XX(SHUTDOWN, 8, "shutting down")                                         \
    XX(NOTLEADER, 9, "not the leader of the raft group")                     \
    XX(RAFT, 10, "consensus error")                                          \
    XX(NOLEADER, 11, "no leader of the raft group could be reached")

enum vane_errno {
#define VANE_ERR_ENUM(name, off, msg) VANE_E##name = VANE_ERR_BASE - (off),
    VANE_ERRNO_MAP(VANE_ERR_ENUM)
#undef VANE_ERR_ENUM
};

/*
 * Returns a message for err: the broker's own text for a VANE_E* code,
 * strerror()'s for a negative errno, "success" for 0.  The string is static
 * (or thread-local for an unknown code) and must not be freed.
 */
const char *vane_strerror(int err);

/* Returns the symbolic name ("VANE_ECONFIG", "ENOENT", ...) of err. */
const char *vane_err_name(int err);

#endif

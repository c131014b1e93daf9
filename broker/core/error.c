/*
 * error.c -- messages and names for the codes of error.h.
 *
 * Both lookups are generated from VANE_ERRNO_MAP; errno values fall back to
 * the C library (strerror_r, strerrorname_np), which knows every errno the
 * platform has, so the map never repeats them.
 */
#include <stdio.h>
#include <string.h>

#include "core/error.h"

static _Thread_local char unknown_buf[64];

const char *vane_strerror(int err)
{
    if (err == 0)
        return "success";
    switch (err) {
#define VANE_ERR_MSG(name, off, msg) \
    case VANE_E##name:               \
        return msg;
        VANE_ERRNO_MAP(VANE_ERR_MSG)
#undef VANE_ERR_MSG
    default:
        break;
    }
    if (err < 0 && err > VANE_ERR_BASE)
        return strerror_r(-err, unknown_buf, sizeof(unknown_buf));
    snprintf(unknown_buf, sizeof(unknown_buf), "unknown error %d", err);
    return unknown_buf;
}

const char *vane_err_name(int err)
{
    const char *name;

    if (err == 0)
        return "OK";
    switch (err) {
#define VANE_ERR_NAME(name, off, msg) \
    case VANE_E##name:                \
        return "VANE_E" #name;
        VANE_ERRNO_MAP(VANE_ERR_NAME)
#undef VANE_ERR_NAME
    default:
        break;
    }
    if (err < 0 && err > VANE_ERR_BASE && (name = strerrorname_np(-err)) != NULL)
        return name;
    return "UNKNOWN";
}

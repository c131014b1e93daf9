/*
 * fs.c -- file-system helpers (see fs.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/fs.h"

static int mkdir_one(const char *path, mode_t mode)
{
    struct stat st;

    if (mkdir(path, mode) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    if (stat(path, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int vane_fs_mkdir_p(const char *path, mode_t mode)
{
    char *copy = vane_strdup(path);
    int err = 0;

    /* Create each parent in turn, skipping the leading '/' of an absolute path. */
    for (char *p = copy + 1; err == 0 && *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        err = mkdir_one(copy, mode);
        *p = '/';
    }
    if (err == 0)
        err = mkdir_one(copy, mode);
    vane_free(copy);
    return err;
}

/*
 * fs.h -- small file-system helpers used at start (not on the loop's hot path).
 */
#ifndef VANE_CORE_FS_H
#define VANE_CORE_FS_H

#include <sys/types.h>

/* Creates path and any missing parents, like mkdir -p.  Returns 0 or -errno. */
int vane_fs_mkdir_p(const char *path, mode_t mode);

#endif

/*
 * ref_state.c -- source-git's state file (see ref_state.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../broker/core/write_all.h"
#include "ref_state.h"

int ref_state_load(const char *path, json_t **refs, struct strbuf *err)
{
    json_error_t error;
    json_t *doc, *found;
    const char *name;
    json_t *target;

    *refs = NULL;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return -ENOENT;
    doc = json_load_file(path, 0, &error);
    if (doc == NULL) {
        strbuf_appendf(err, "state file %s: %s (line %d)", path, error.text, error.line);
        return -EINVAL;
    }
    found = json_object_get(doc, "refs");
    if (!json_is_object(found)) {
        strbuf_appendf(err, "state file %s: \"refs\": expected an object of ref names to commit "
                       "ids", path);
        json_decref(doc);
        return -EINVAL;
    }
    json_object_foreach(found, name, target)
        if (!json_is_string(target) || json_string_length(target) != 40) {
            strbuf_appendf(err, "state file %s: refs.%s: expected a 40-digit object id", path,
                           name);
            json_decref(doc);
            return -EINVAL;
        }
    *refs = json_incref(found);
    json_decref(doc);
    return 0;
}

/* Flushes the folder holding path, so a rename in it is on disk. */
static int sync_parent(const char *path)
{
    char *copy = strbuf_xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

    if (fd < 0 || fsync(fd) != 0)
        rc = -errno;
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

int ref_state_save(const char *path, const char *repository, const json_t *refs,
                   struct strbuf *err)
{
    json_t *doc = json_pack("{s:i, s:s, s:O}", "version", 1, "repository", repository, "refs",
                            (json_t *)refs);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    struct strbuf temp = STRBUF_INIT;
    int fd, rc;

    strbuf_appendf(&temp, "%s.tmp", path);
    fd = open(temp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    rc = fd < 0 ? -errno : write_all(fd, text, strlen(text));
    if (rc == 0)
        rc = write_all(fd, "\n", 1);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(temp.data, path) != 0)
        rc = -errno;
    if (rc == 0)
        rc = sync_parent(path);
    if (rc != 0)
        strbuf_appendf(err, "cannot write the state file %s: %s", path, strerror(-rc));
    strbuf_free(&temp);
    free(text);
    json_decref(doc);
    return rc;
}

int ref_state_mkdirs(const char *path)
{
    char *copy;
    int rc = 0;

    if (*path == '\0')
        return -EINVAL;
    copy = strbuf_xstrdup(path);
    for (char *slash = copy + 1; rc == 0; slash++) {
        bool last = *slash == '\0';

        if (*slash != '/' && !last)
            continue;
        *slash = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST)
            rc = -errno;
        if (last)
            break;
        *slash = '/';
    }
    free(copy);
    return rc;
}

/*
 * ref_state.h -- source-git's remembered position: the target of every ref
 * it has announced, kept in a JSON file so a restart neither misses nor
 * repeats an event.
 *
 *     {"version": 1, "repository": "https://...", "refs":
 *      {"refs/heads/main": "<40 hex>", "refs/tags/v1.0": "<40 hex>"}}
 *
 * The file is replaced whole (written beside it, flushed to disk, renamed
 * over it, the folder flushed), so a crash leaves the old state or the new
 * one, never half of either.  source_git.c saves it only after every event
 * of a poll is durable; these functions block and run on the thread pool.
 */
#ifndef VANE_CONNECTORS_REF_STATE_H
#define VANE_CONNECTORS_REF_STATE_H

#include <jansson.h>

#include "../common/strbuf.h"

/*
 * Reads the refs object of the state file at path into *refs (a new
 * reference).  Returns 0; -ENOENT when there is no file yet (a first
 * start); or another negative error with err saying what is wrong with it.
 */
int ref_state_load(const char *path, json_t **refs, struct strbuf *err);

/* Replaces the state file at path; 0, or a negative error with err saying why. */
int ref_state_save(const char *path, const char *repository, const json_t *refs,
                   struct strbuf *err);

/* Makes the folder path and its missing parents (mode 0755); 0 or -errno. */
int ref_state_mkdirs(const char *path);

#endif

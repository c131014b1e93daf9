/*
 * repo_poll.h -- one poll of source-git's repository: the blocking part,
 * run on the host's thread pool (host->work).
 *
 * A poll fetches the repository when it is remote (into a bare mirror whose
 * refs/heads and refs/tags copy the remote's, pruned), reads the watched
 * refs (the branches matching the patterns, and the tags unless told not
 * to), and compares them with the refs of the last poll whose events are
 * durable (old_refs).  It returns the changes as plain data for the loop to
 * turn into events, in the order they must be emitted:
 *
 *   1. each new commit, oldest first, parents before children: a commit is
 *      new when no old branch target reaches it.  The branches that moved
 *      are walked first, then the new ones, each in name order, each walk
 *      hiding the old targets and the tips walked before it, so a commit on
 *      two branches comes once, with the name of the branch walked first;
 *   2. each created, moved or deleted branch, then tag, in name order.
 *
 * The poll's struct is filled on the loop, handed to the thread, and read
 * back on the loop in the work's "after": only one side touches it at a
 * time, and the thread reads nothing the instance owns.
 */
#ifndef VANE_CONNECTORS_REPO_POLL_H
#define VANE_CONNECTORS_REPO_POLL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "../common/strbuf.h"

/* One event to emit. */
struct repo_change {
    const char *type; /* "com.vane.git.commit", "com.vane.git.tag.moved", ... */
    char *id;         /* stable: the commit id, or "<ref>@<old>..<new>" */
    char *subject;    /* the commit id, or the branch or tag name */
    char *time;       /* RFC 3339; NULL: the time it was seen */
    char *data;       /* JSON text */
};

struct repo_poll {
    /* in, set by the caller */
    const char *repository;  /* a local path, or a URL to fetch */
    const char *mirror_path; /* where a remote repository is fetched into */
    char **branches;         /* fnmatch patterns on branch names; none: every branch */
    size_t branch_count;
    bool tags;               /* watch tags too */
    json_t *old_refs;        /* ref name -> hex id; NULL: a first start */
    bool from_now;           /* on a first start, remember the refs and emit nothing */

    /* out */
    json_t *new_refs;        /* the watched refs now */
    struct repo_change *changes;
    size_t change_count, change_cap;
    struct strbuf error;     /* not empty: the poll failed, why */
};

/* true when repository names something to fetch (a URL, or scp-like host:path). */
bool repo_poll_is_remote(const char *repository);

/* Runs the poll (blocking: call on a thread).  Needs git_libgit2_init(). */
void repo_poll_run(struct repo_poll *poll);

/* Frees the outputs (new_refs, changes, error), leaving the inputs. */
void repo_poll_clear(struct repo_poll *poll);

#endif

/*
 * repo_poll.c -- one poll of source-git's repository (see repo_poll.h).
 *
 * libgit2 allows one thread per repository object at a time: every poll
 * opens the repository afresh and closes it before returning, so nothing
 * of libgit2 outlives the work function.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2.h>

#include "repo_poll.h"

#define TYPE_COMMIT "com.vane.git.commit"
#define ZERO_ID "0000000000000000000000000000000000000000"

bool repo_poll_is_remote(const char *repository)
{
    const char *colon = strchr(repository, ':'), *slash = strchr(repository, '/');

    if (strstr(repository, "://") != NULL)
        return true;
    /* scp-like "git@example.com:group/repo.git": a colon before any slash */
    return colon != NULL && colon != repository && (slash == NULL || colon < slash);
}

/* Records libgit2's last error after what, and returns rc. */
static int git_fail(struct repo_poll *p, int rc, const char *what)
{
    const git_error *e = git_error_last();

    strbuf_appendf(&p->error, "%s: %s", what, e != NULL && e->message != NULL ? e->message
                                                                             : "unknown error");
    return rc;
}

/* ---- opening, and fetching a remote -------------------------------------------- */

/* The mirror: a bare repository, made on first use.  It has no remote in
 * its config: every fetch names the URL and refspecs (fetch), so a changed
 * repository option needs nothing rewritten. */
static int open_mirror(struct repo_poll *p, git_repository **repo)
{
    int rc;

    if (git_repository_open_bare(repo, p->mirror_path) == 0)
        return 0;
    git_error_clear();
    rc = git_repository_init(repo, p->mirror_path, 1);
    return rc < 0 ? git_fail(p, rc, p->mirror_path) : 0;
}

/*
 * Fetches every branch and tag into the same names, dropping those the
 * remote lost.  The remote is anonymous and skips the url.*.insteadOf
 * rewriting: looking for those walks the config with a regular expression,
 * and libgit2 1.5 leaks a PCRE2 match block (about 20 KiB) per config entry
 * that does not match -- per poll, which a long-running source cannot have.
 */
static int fetch(struct repo_poll *p, git_repository *repo)
{
    static char *specs[] = {"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"};
    const git_strarray refspecs = {specs, 2};
    git_remote_create_options create;
    git_fetch_options opts;
    git_remote *remote = NULL;
    int rc;

    git_remote_create_options_init(&create, GIT_REMOTE_CREATE_OPTIONS_VERSION);
    create.repository = repo;
    create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    rc = git_remote_create_with_opts(&remote, p->repository, &create);
    /* not GIT_FETCH_OPTIONS_INIT: its partial initializer trips -Wmissing-field-initializers */
    git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
    opts.prune = GIT_FETCH_PRUNE;
    opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE; /* the refspec brings every tag */
    if (rc == 0)
        rc = git_remote_fetch(remote, &refspecs, &opts, "vane source-git");
    git_remote_free(remote);
    return rc < 0 ? git_fail(p, rc, p->repository) : 0;
}

static int open_repository(struct repo_poll *p, git_repository **repo)
{
    int rc;

    if (!repo_poll_is_remote(p->repository)) {
        rc = git_repository_open(repo, p->repository);
        return rc < 0 ? git_fail(p, rc, p->repository) : 0;
    }
    rc = open_mirror(p, repo);
    if (rc == 0)
        rc = fetch(p, *repo);
    return rc;
}

/* ---- the watched refs ------------------------------------------------------------ */

static bool branch_watched(const struct repo_poll *p, const char *branch)
{
    if (p->branch_count == 0)
        return true;
    for (size_t i = 0; i < p->branch_count; i++)
        if (fnmatch(p->branches[i], branch, 0) == 0)
            return true;
    return false;
}

/* Whether the ref full name is one this poll watches. */
static bool ref_watched(const struct repo_poll *p, const char *ref)
{
    if (strncmp(ref, "refs/heads/", 11) == 0)
        return branch_watched(p, ref + 11);
    return p->tags && strncmp(ref, "refs/tags/", 10) == 0;
}

static int read_refs(struct repo_poll *p, git_repository *repo)
{
    git_reference_iterator *it = NULL;
    git_reference *ref;
    int rc = git_reference_iterator_new(&it, repo);

    p->new_refs = json_object();
    while (rc == 0 && (rc = git_reference_next(&ref, it)) == 0) {
        git_reference *resolved = NULL;
        char hex[GIT_OID_HEXSZ + 1];

        if (ref_watched(p, git_reference_name(ref)) &&
            git_reference_resolve(&resolved, ref) == 0) {
            git_oid_tostr(hex, sizeof(hex), git_reference_target(resolved));
            json_object_set_new(p->new_refs, git_reference_name(ref), json_string(hex));
        }
        git_reference_free(resolved);
        git_reference_free(ref);
    }
    git_reference_iterator_free(it);
    git_error_clear();
    return rc == GIT_ITEROVER ? 0 : git_fail(p, rc, "reading the refs");
}

/* ---- changes as data --------------------------------------------------------------- */

static struct repo_change *add_change(struct repo_poll *p, const char *type)
{
    struct repo_change *c;

    if (p->change_count == p->change_cap) {
        p->change_cap = p->change_cap > 0 ? p->change_cap * 2 : 16;
        p->changes = realloc(p->changes, p->change_cap * sizeof(*p->changes));
        if (p->changes == NULL)
            abort();
    }
    c = &p->changes[p->change_count++];
    memset(c, 0, sizeof(*c));
    c->type = type;
    return c;
}

/* A JSON string of text that may not be UTF-8 (git stores bytes): such bytes become '?'. */
static json_t *text_json(const char *text)
{
    json_t *s = json_string(text != NULL ? text : "");
    char *copy;

    if (s != NULL)
        return s;
    copy = strbuf_xstrdup(text);
    for (char *c = copy; *c != '\0'; c++)
        if ((unsigned char)*c >= 0x80)
            *c = '?';
    s = json_string(copy);
    free(copy);
    return s;
}

/* RFC 3339 in the signature's own offset from UTC ("2026-11-26T10:00:00+01:00"). */
static char *time_text(const git_time *when)
{
    time_t local = (time_t)when->time + (time_t)when->offset * 60;
    int offset = when->offset < 0 ? -when->offset : when->offset;
    struct tm tm;
    char text[40];
    size_t n;

    gmtime_r(&local, &tm);
    n = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
    if (when->offset == 0)
        snprintf(text + n, sizeof(text) - n, "Z");
    else
        snprintf(text + n, sizeof(text) - n, "%c%02d:%02d", when->offset < 0 ? '-' : '+',
                 offset / 60, offset % 60);
    return strbuf_xstrdup(text);
}

static json_t *signature_json(const git_signature *who)
{
    char *when = time_text(&who->when);
    json_t *obj = json_pack("{s:o, s:o, s:s}", "name", text_json(who->name), "email",
                            text_json(who->email), "time", when);

    free(when);
    return obj;
}

static char *dump(json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    char *copy = strbuf_xstrdup(text);

    free(text);
    json_decref(doc);
    return copy;
}

static void add_commit(struct repo_poll *p, const git_commit *commit, const char *branch)
{
    struct repo_change *c = add_change(p, TYPE_COMMIT);
    char hex[GIT_OID_HEXSZ + 1];
    json_t *parents = json_array();
    git_time when = {git_commit_time(commit), git_commit_time_offset(commit), 0};

    for (unsigned i = 0; i < git_commit_parentcount(commit); i++) {
        git_oid_tostr(hex, sizeof(hex), git_commit_parent_id(commit, i));
        json_array_append_new(parents, json_string(hex));
    }
    git_oid_tostr(hex, sizeof(hex), git_commit_id(commit));
    c->id = strbuf_xstrdup(hex);
    c->subject = strbuf_xstrdup(hex);
    c->time = time_text(&when);
    c->data = dump(json_pack("{s:s, s:o, s:o, s:o, s:s, s:o}", "id", hex, "message",
                             text_json(git_commit_message(commit)), "author",
                             signature_json(git_commit_author(commit)), "committer",
                             signature_json(git_commit_committer(commit)), "branch", branch,
                             "parents", parents));
}

/* Hides the commit whose hex id is target, if the repository still has it. */
static void hide(git_revwalk *walk, const char *target)
{
    git_oid oid;

    if (git_oid_fromstr(&oid, target) == 0 && git_revwalk_hide(walk, &oid) < 0)
        git_error_clear(); /* gone (a force-push, then gc): its commits may come again */
}

/* The new commits of one branch: reachable from tip, not from an old branch
 * target (old) nor from a tip walked before it this poll (walked). */
static int walk_branch(struct repo_poll *p, git_repository *repo, const char *ref,
                       const char *tip, const json_t *old, const json_t *walked)
{
    git_revwalk *walk = NULL;
    const char *name;
    json_t *target;
    git_oid oid;
    int rc = git_revwalk_new(&walk, repo);

    if (rc == 0)
        rc = git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME | GIT_SORT_REVERSE);
    json_object_foreach((json_t *)old, name, target)
        if (rc == 0 && strncmp(name, "refs/heads/", 11) == 0)
            hide(walk, json_string_value(target));
    json_object_foreach((json_t *)walked, name, target)
        if (rc == 0)
            hide(walk, name);
    if (rc == 0 && (rc = git_oid_fromstr(&oid, tip)) == 0)
        rc = git_revwalk_push(walk, &oid);
    while (rc == 0 && (rc = git_revwalk_next(&oid, walk)) == 0) {
        git_commit *commit = NULL;

        rc = git_commit_lookup(&commit, repo, &oid);
        if (rc == 0)
            add_commit(p, commit, ref + 11);
        git_commit_free(commit);
    }
    git_revwalk_free(walk);
    if (rc == GIT_ITEROVER)
        rc = 0;
    return rc < 0 ? git_fail(p, rc, ref) : 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of both objects' members, once each, sorted (freed by the caller). */
static const char **ref_names(const json_t *a, const json_t *b, size_t *count)
{
    const char **names = strbuf_xcalloc(json_object_size(a) + json_object_size(b),
                                        sizeof(*names));
    const char *name;
    json_t *value;

    *count = 0;
    json_object_foreach((json_t *)a, name, value)
        names[(*count)++] = name;
    json_object_foreach((json_t *)b, name, value)
        if (json_object_get(a, name) == NULL)
            names[(*count)++] = name;
    qsort(names, *count, sizeof(*names), by_name);
    return names;
}

static bool same_target(const json_t *old, const json_t *now, const char *name)
{
    const char *was = json_string_value(json_object_get(old, name));
    const char *is = json_string_value(json_object_get(now, name));

    return was != NULL && is != NULL && strcmp(was, is) == 0;
}

/* Step 1 of repo_poll.h: the new commits of every branch that moved, then
 * of every branch that came (a new branch usually forks from an old one,
 * whose name the commits they share keep). */
static int commit_changes(struct repo_poll *p, git_repository *repo, const json_t *old,
                          const char **names, size_t count)
{
    json_t *walked = json_object();
    int rc = 0;

    for (int created = 0; created <= 1; created++)
        for (size_t i = 0; i < count && rc == 0; i++) {
            const char *tip = json_string_value(json_object_get(p->new_refs, names[i]));

            if (strncmp(names[i], "refs/heads/", 11) != 0 || tip == NULL ||
                (json_object_get(old, names[i]) == NULL) != created ||
                same_target(old, p->new_refs, names[i]))
                continue;
            rc = walk_branch(p, repo, names[i], tip, old, walked);
            json_object_set_new(walked, tip, json_true());
        }
    json_decref(walked);
    return rc;
}

/* "com.vane.git.<branch|tag>.<created|moved|deleted>" */
static const char *ref_type(const char *ref, const char *was, const char *is)
{
    static const char *const types[2][3] = {
        {"com.vane.git.branch.created", "com.vane.git.branch.moved", "com.vane.git.branch.deleted"},
        {"com.vane.git.tag.created", "com.vane.git.tag.moved", "com.vane.git.tag.deleted"},
    };
    int kind = strncmp(ref, "refs/tags/", 10) == 0, action = was == NULL ? 0 : is == NULL ? 2 : 1;

    return types[kind][action];
}

/* The commit a tag's target peels to, as hex, or NULL. */
static json_t *peeled_commit(git_repository *repo, const char *target)
{
    git_object *object = NULL, *commit = NULL;
    char hex[GIT_OID_HEXSZ + 1];
    json_t *found = json_null();
    git_oid oid;

    if (git_oid_fromstr(&oid, target) == 0 &&
        git_object_lookup(&object, repo, &oid, GIT_OBJECT_ANY) == 0 &&
        git_object_peel(&commit, object, GIT_OBJECT_COMMIT) == 0) {
        git_oid_tostr(hex, sizeof(hex), git_object_id(commit));
        found = json_string(hex);
    }
    git_object_free(commit);
    git_object_free(object);
    git_error_clear();
    return found;
}

static void add_ref_change(struct repo_poll *p, git_repository *repo, const char *ref,
                           const char *was, const char *is)
{
    struct repo_change *c = add_change(p, ref_type(ref, was, is));
    bool tag = strncmp(ref, "refs/tags/", 10) == 0;
    const char *name = ref + (tag ? 10 : 11);
    struct strbuf id = STRBUF_INIT;
    json_t *data;

    strbuf_appendf(&id, "%s@%s..%s", ref, was != NULL ? was : ZERO_ID, is != NULL ? is : ZERO_ID);
    c->id = strbuf_detach(&id);
    c->subject = strbuf_xstrdup(name);
    data = json_pack("{s:s, s:s, s:o, s:o}", "ref", ref, "name", name, "old",
                     was != NULL ? json_string(was) : json_null(), "new",
                     is != NULL ? json_string(is) : json_null());
    if (tag && is != NULL)
        json_object_set_new(data, "commit", peeled_commit(repo, is));
    c->data = dump(data);
}

/* Step 2 of repo_poll.h: branches, then tags, that came, moved or went. */
static void ref_changes(struct repo_poll *p, git_repository *repo, const json_t *old,
                        const char **names, size_t count)
{
    for (int tags = 0; tags <= 1; tags++)
        for (size_t i = 0; i < count; i++) {
            const char *was = json_string_value(json_object_get(old, names[i]));
            const char *is = json_string_value(json_object_get(p->new_refs, names[i]));

            if ((strncmp(names[i], "refs/tags/", 10) == 0) != tags ||
                !ref_watched(p, names[i]) || same_target(old, p->new_refs, names[i]))
                continue;
            add_ref_change(p, repo, names[i], was, is);
        }
}

static int find_changes(struct repo_poll *p, git_repository *repo)
{
    json_t *old = p->old_refs != NULL ? json_incref(p->old_refs) : json_object();
    size_t count;
    const char **names = ref_names(old, p->new_refs, &count);
    int rc = commit_changes(p, repo, old, names, count);

    if (rc == 0)
        ref_changes(p, repo, old, names, count);
    free(names);
    json_decref(old);
    return rc;
}

void repo_poll_run(struct repo_poll *p)
{
    git_repository *repo = NULL;
    int rc = open_repository(p, &repo);

    if (rc == 0)
        rc = read_refs(p, repo);
    if (rc == 0 && !(p->old_refs == NULL && p->from_now))
        rc = find_changes(p, repo);
    git_repository_free(repo);
    if (rc != 0 && p->error.len == 0)
        strbuf_appendf(&p->error, "%s: error %d", p->repository, rc);
}

void repo_poll_clear(struct repo_poll *p)
{
    for (size_t i = 0; i < p->change_count; i++) {
        free(p->changes[i].id);
        free(p->changes[i].subject);
        free(p->changes[i].time);
        free(p->changes[i].data);
    }
    free(p->changes);
    p->changes = NULL;
    p->change_count = p->change_cap = 0;
    json_decref(p->new_refs);
    p->new_refs = NULL;
    strbuf_free(&p->error);
}

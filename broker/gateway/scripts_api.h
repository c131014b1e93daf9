/*
 * scripts_api.h -- the script admin API: the Lua scripts the broker knows.
 *
 *     GET /api/v1/scripts          list -> 200 {"dirs": [...], "scripts": [...]}
 *     GET /api/v1/scripts/{name}   one  -> 200 <script>
 *
 * A script is {"name", "file", "status", "functions", "loaded_at",
 * "calls", "errors", "last_error", "load_error"}: status "loaded" (its
 * newest file runs), "stale" (the newest file did not load, load_error
 * says why, and the previous version runs) or "failed" (no version ever
 * loaded); functions lists "filter" and/or "transform" of the version
 * running; calls and errors count the calls since that script was first
 * found, last_error is the latest failed call's.  Missing values are null.
 * "dirs" are the folders watched.  Scripts come and go with the files in
 * those folders (script_registry.h); nothing here changes them.  Every
 * request needs the admin token when auth.admin requires it (auth.h).
 * doc/lua.md describes the answers for users.
 */
#ifndef VANE_GATEWAY_SCRIPTS_API_H
#define VANE_GATEWAY_SCRIPTS_API_H

struct http_server;
struct gateway;

/* Routes /api/v1/scripts and everything below it to the script API. */
void scripts_api_register(struct http_server *server, struct gateway *gw);

#endif

/*
 * plugins_api.h -- the plugin admin API: what the plugin registry holds.
 *
 *     GET /api/v1/plugins          list -> 200 {"plugins": [...], "refused": [...]}
 *     GET /api/v1/plugins/{name}   one  -> 200 <plugin with its options>
 *
 * A plugin in the list is {"name", "kind", "version", "description",
 * "file", "loaded_at"}; one shown alone adds "abi" and "options", each
 * option {"name", "type", "default", "required", "secret", "doc"}
 * (plugin_options.h).  "refused" lists the files refused at their last
 * try, {"file", "reason"}.  Plugins come and go by dropping files into the
 * plugin folders (plugin_registry.h); nothing here changes them.  Every
 * request needs the admin token when auth.admin requires it (auth.h).
 * doc/api.md and doc/plugins.md describe the answers for users.
 */
#ifndef VANE_GATEWAY_PLUGINS_API_H
#define VANE_GATEWAY_PLUGINS_API_H

struct http_server;
struct gateway;

/* Routes /api/v1/plugins and everything below it to the plugin API. */
void plugins_api_register(struct http_server *server, struct gateway *gw);

#endif

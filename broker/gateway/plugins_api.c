/*
 * plugins_api.c -- the plugins the broker has loaded and the files it
 * refused, over HTTP (see plugins_api.h).
 *
 * Read only, and answered at once from the registry (gw->plugins), which
 * lives on the same loop; it does not depend on the store, so the API
 * answers while the broker is still starting.  As in eventbuses.c the raw
 * path is split here and a name in it is checked before it is echoed.
 * Order of checks: token (401), path and name (404, 400), method (405),
 * then the plugin (404).
 */
#include <string.h>

#include "gateway/admin_input.h"
#include "gateway/auth.h"
#include "gateway/gateway.h"
#include "gateway/http_server.h"
#include "gateway/plugins_api.h"
#include "gateway/response.h"
#include "plugin/plugin_options.h"
#include "plugin/plugin_registry.h"

#define PREFIX "/api/v1/plugins"

struct plugins_handler {
    h2o_handler_t super;
    struct gateway *gw;
};

static json_t *plugin_json(const struct plugin *p)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "name", p->name, "kind",
                     plugin_kind_name(p->kind), "version", p->version, "description",
                     p->description, "file", p->file, "loaded_at",
                     admin_time_json(p->loaded_at, false));
}

static void list_plugins(const struct plugin_registry *registry, h2o_req_t *req)
{
    json_t *plugins = json_array(), *refused = json_array();
    size_t count = registry ? plugin_registry_count(registry) : 0;

    for (size_t i = 0; i < count; i++)
        json_array_append_new(plugins, plugin_json(plugin_registry_at(registry, i)));
    count = registry ? plugin_registry_refusal_count(registry) : 0;
    for (size_t i = 0; i < count; i++) {
        struct plugin_refusal r = plugin_registry_refusal_at(registry, i);

        json_array_append_new(refused, json_pack("{s:s, s:s}", "file", r.file, "reason",
                                                 r.reason));
    }
    response_json(req, 200, "OK", json_pack("{s:o, s:o}", "plugins", plugins, "refused",
                                            refused));
}

static void show_plugin(const struct plugin_registry *registry, h2o_req_t *req, const char *name)
{
    const struct plugin *p = registry ? plugin_registry_find(registry, name) : NULL;
    json_t *body;

    if (p == NULL) {
        response_error(req, 404, "Not Found", NULL, "no plugin named '%s' is loaded", name);
        return;
    }
    body = plugin_json(p);
    json_object_set_new(body, "abi", json_sprintf("%u.%u", p->desc->abi_major,
                                                  p->desc->abi_minor));
    json_object_set_new(body, "options", plugin_options_describe(p->options, p->option_count));
    response_json(req, 200, "OK", body);
}

static int on_request(h2o_handler_t *self, h2o_req_t *req)
{
    struct gateway *gw = ((struct plugins_handler *)self)->gw;
    char name[CONTROLLER_MAX_NAME + 1];

    if (auth_check(gw->auth, req, AUTH_ADMIN) ||
        admin_collection_path(req, PREFIX, "plugins", name) ||
        response_check_method(req, "GET, HEAD"))
        return 0;
    if (name[0] != '\0')
        show_plugin(gw->plugins, req, name);
    else
        list_plugins(gw->plugins, req);
    return 0;
}

void plugins_api_register(struct http_server *server, struct gateway *gw)
{
    struct plugins_handler *h;

    h = (struct plugins_handler *)http_server_route(server, PREFIX, on_request, sizeof(*h));
    h->gw = gw;
}

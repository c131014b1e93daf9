/*
 * scripts_api.c -- the Lua scripts the broker knows, over HTTP (see
 * scripts_api.h).
 *
 * Read only, answered at once from the script registry (gw->scripts) on the
 * same loop; it does not depend on the store, so it answers while the
 * broker is still starting.  As plugins_api.c does, the raw path is split
 * here and a name in it checked before it is echoed.  Order of checks:
 * token (401), path and name (404, 400), method (405), then the script
 * (404).
 */
#include <string.h>

#include "core/alloc.h"
#include "gateway/admin_input.h"
#include "gateway/auth.h"
#include "gateway/gateway.h"
#include "gateway/http_server.h"
#include "gateway/response.h"
#include "gateway/scripts_api.h"
#include "script/script_registry.h"

#define PREFIX "/api/v1/scripts"

struct scripts_handler {
    h2o_handler_t super;
    struct gateway *gw;
};

static const char *status_of(const struct script_info *info)
{
    if (info->load_error == NULL)
        return "loaded";
    return info->loaded_at != 0 ? "stale" : "failed";
}

static json_t *script_json(const struct script_info *info)
{
    json_t *functions = json_array();

    if (info->has_filter)
        json_array_append_new(functions, json_string("filter"));
    if (info->has_transform)
        json_array_append_new(functions, json_string("transform"));
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:s?, s:s?}", "name", info->name,
                     "file", info->file, "status", status_of(info), "functions", functions,
                     "loaded_at",
                     info->loaded_at ? admin_time_json(info->loaded_at, false) : json_null(),
                     "calls", (json_int_t)info->calls, "errors", (json_int_t)info->errors,
                     "last_error", info->last_error, "load_error", info->load_error);
}

static json_t *dirs_json(struct script_registry *registry)
{
    json_t *dirs = json_array();
    const char *const *paths;
    size_t count = 0;

    paths = registry ? script_registry_dirs(registry, &count) : NULL;
    for (size_t i = 0; i < count; i++)
        json_array_append_new(dirs, json_string(paths[i]));
    return dirs;
}

/* Answers the list, or the script called name (NULL: all). */
static void answer(struct script_registry *registry, h2o_req_t *req, const char *name)
{
    struct script_info *infos = NULL;
    size_t count = registry ? script_registry_list(registry, &infos) : 0;
    json_t *scripts = json_array();

    for (size_t i = 0; i < count; i++) {
        if (name == NULL) {
            json_array_append_new(scripts, script_json(&infos[i]));
        } else if (strcmp(infos[i].name, name) == 0) {
            response_json(req, 200, "OK", script_json(&infos[i]));
            goto done;
        }
    }
    if (name != NULL)
        response_error(req, 404, "Not Found", NULL, "no script named '%s'", name);
    else
        response_json(req, 200, "OK", json_pack("{s:o, s:O}", "dirs", dirs_json(registry),
                                                "scripts", scripts));
done:
    json_decref(scripts);
    vane_free(infos);
}

static int on_request(h2o_handler_t *self, h2o_req_t *req)
{
    struct gateway *gw = ((struct scripts_handler *)self)->gw;
    char name[CONTROLLER_MAX_NAME + 1];

    if (auth_check(gw->auth, req, AUTH_ADMIN) ||
        admin_collection_path(req, PREFIX, "scripts", name) ||
        response_check_method(req, "GET, HEAD"))
        return 0;
    answer(gw->scripts, req, name[0] != '\0' ? name : NULL);
    return 0;
}

void scripts_api_register(struct http_server *server, struct gateway *gw)
{
    struct scripts_handler *h;

    h = (struct scripts_handler *)http_server_route(server, PREFIX, on_request, sizeof(*h));
    h->gw = gw;
}

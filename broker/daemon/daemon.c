/*
 * daemon.c -- start, run and stop the broker (see daemon.h).
 *
 * Start: data directory and lock, HTTP server with its routes, the store
 * (which recovers in the background while /readyz says "starting"), signal
 * handlers, the start line; readiness once the store is recovered.  Stop, on
 * the first SIGINT or SIGTERM: readiness goes to "stopping", the HTTP server
 * drains and closes (http_server.h bounds that), the store closes its raft
 * groups and files, the signal handles close, and the loop is stopped; the
 * parts are then freed outside uv_run(), as h2o requires, and
 * the loop is run once more to finish the close callbacks before
 * uv_loop_close().
 */
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include <uv.h>

#include "cluster/cluster.h"
#include "cluster/rebalance.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "daemon/lockfile.h"
#include "engine/engine.h"
#include "gateway/auth.h"
#include "gateway/cluster_api.h"
#include "gateway/connectors_api.h"
#include "gateway/discard.h"
#include "gateway/eventbuses.h"
#include "gateway/gateway.h"
#include "gateway/health.h"
#include "gateway/http_server.h"
#include "gateway/metrics_endpoint.h"
#include "gateway/plugins_api.h"
#include "gateway/publish.h"
#include "gateway/scripts_api.h"
#include "gateway/subscriptions_api.h"
#include "metrics/metrics.h"
#include "plugin/plugin_registry.h"
#include "raft/replica.h"
#include "script/script_registry.h"
#include "store/store.h"
#include "timer/timer.h"
#include "trigger/trigger.h"
#include "vane-config.h"

static const char component[] = "vaned";

#define MEMORY_TRIM_MS 1000

struct daemon {
    uv_loop_t loop;
    const struct config *cfg;
    struct http_server *http;
    struct store *store;
    struct cluster *cluster; /* NULL: a single node */
    struct trigger *trigger; /* once the store is ready */
    struct timer *timer;     /* the same */
    struct engine *engine;   /* the same */
    char exe_path[4096];     /* vaned itself, which the engine runs for connector instances */
    struct health health;
    struct gateway gateway; /* what the HTTP endpoints share */
    uint64_t store_opened_ms;
    uv_signal_t sigint, sigterm;
    uv_timer_t trim_timer;
    uv_timer_t duty_timer;   /* in a cluster: runs delivery where the metadata leader is */
    bool signals_open, stopping;
    bool delivering, delivery_closing;
    int failed; /* why the daemon stopped on its own */
};

static void on_cluster_closed(void *arg)
{
    struct daemon *d = arg;

    d->cluster = NULL;
    uv_stop(&d->loop);
}

/* Last: the peer port, which the store's raft groups used. */
static void close_cluster(struct daemon *d)
{
    if (d->cluster != NULL)
        cluster_close(d->cluster, on_cluster_closed, d);
    else
        uv_stop(&d->loop);
}

static void on_store_closed(void *arg)
{
    struct daemon *d = arg;

    d->store = NULL;
    close_cluster(d);
}

static void close_store(struct daemon *d)
{
    if (d->store != NULL)
        store_close(d->store, on_store_closed, d);
    else
        close_cluster(d);
}

/*
 * Delivery -- the trigger, the connector engine and the timer -- closes in
 * that order (the trigger's deliveries to sink connectors go through the
 * engine; all three commit through the store).  It closes at shutdown, and
 * in a cluster when this node stops leading the metadata group (another
 * node runs delivery then); delivery_closed() goes on from there.
 */
static void delivery_closed(struct daemon *d)
{
    d->delivering = d->delivery_closing = false;
    if (d->stopping)
        close_store(d);
    else
        vane_log_info(component, "this node no longer leads the metadata group: subscriptions, "
                                 "connectors and delayed events now run on the leader's node");
}

static void on_timer_closed(void *arg)
{
    struct daemon *d = arg;

    d->timer = NULL;
    delivery_closed(d);
}

static void close_timer(struct daemon *d)
{
    if (d->timer != NULL)
        timer_close(d->timer, on_timer_closed, d);
    else
        delivery_closed(d);
}

static void on_engine_closed(void *arg)
{
    struct daemon *d = arg;

    d->engine = NULL;
    d->gateway.engine = NULL;
    close_timer(d);
}

/* After the trigger, whose deliveries to sink connectors it answers. */
static void close_engine(struct daemon *d)
{
    if (d->engine != NULL)
        engine_close(d->engine, on_engine_closed, d);
    else
        close_timer(d);
}

static void on_trigger_closed(void *arg)
{
    struct daemon *d = arg;

    d->trigger = NULL;
    d->gateway.trigger = NULL;
    close_engine(d);
}

/* A close already under way ends in delivery_closed(), which sees d->stopping. */
static void close_delivery(struct daemon *d)
{
    if (d->delivery_closing)
        return;
    d->delivery_closing = true;
    if (d->trigger != NULL)
        trigger_close(d->trigger, on_trigger_closed, d);
    else
        close_engine(d);
}

/* HTTP first, so no request reaches a closing store; then delivery; then the store. */
static void on_http_closed(void *arg)
{
    close_delivery(arg);
}

static void daemon_stop(struct daemon *d)
{
    d->stopping = true;
    d->health.state = HEALTH_STOPPING;
    http_server_close(d->http, on_http_closed, d);
}

/* The connector engine (engine.h): its connectors' min instances start now. */
static void start_engine(struct daemon *d)
{
    struct engine_env env = {&d->loop, &d->gateway, store_controller(d->store),
                             d->gateway.plugins, d->exe_path, (int)d->cfg->log_level,
                             (int)d->cfg->log_format, d->cfg->connectors};
    size_t len = sizeof(d->exe_path);

    if (d->gateway.plugins == NULL || uv_exepath(d->exe_path, &len) != 0 ||
        engine_start(&d->engine, &env) != 0) {
        vane_log_error(component, "the connector engine did not start; connectors will not run");
        d->engine = NULL;
    }
    d->gateway.engine = d->engine;
}

/* The timer (delayed events), the connector engine, then the trigger (subscriptions). */
static void start_delivery(struct daemon *d)
{
    struct trigger_options options;
    int err;

    if (timer_start(&d->timer, &d->loop, d->store) != 0)
        d->timer = NULL;
    start_engine(d);
    trigger_options_default(&options);
    options.router = d->engine ? engine_sink_router(d->engine) : NULL;
    options.plugins = d->gateway.plugins;
    options.scripts = d->gateway.scripts;
    if ((err = trigger_start(&d->trigger, &d->loop, d->store, d->gateway.metrics, &options)) != 0) {
        vane_log_error(component, "the trigger did not start: %s", vane_strerror(err));
        d->trigger = NULL;
    }
    d->gateway.trigger = d->trigger;
    d->delivering = true;
}

/*
 * In a cluster, delivery runs on one node, the one leading the metadata
 * group: it starts there once the new leader has applied what its
 * predecessors committed (the subscriptions, their offsets), closes when
 * the lead goes, and takes over from the committed offsets (at least once).
 */
static void on_duty(uv_timer_t *timer)
{
    struct daemon *d = timer->data;
    struct replica *metadata;
    bool leads;

    if (d->stopping || d->delivery_closing || d->store == NULL)
        return;
    metadata = controller_replica(store_controller(d->store));
    leads = replica_is_leader(metadata);
    if (leads && !d->delivering && replica_leads_current(metadata)) {
        vane_log_info(component, "this node leads the metadata group: it runs subscriptions, "
                                 "connectors and delayed events");
        start_delivery(d);
    } else if (!leads && d->delivering) {
        close_delivery(d);
    }
    if (leads && replica_leads_current(metadata))
        rebalance_step(d->cluster, d->store);
}

#define DUTY_MS 200

static void start_duty(struct daemon *d)
{
    if (d->cluster == NULL)
        start_delivery(d);
    else
        uv_timer_start(&d->duty_timer, on_duty, 0, DUTY_MS);
}

static void on_store_ready(struct store *store, int status, void *arg)
{
    struct daemon *d = arg;
    const struct eventbus_meta *const *buses;
    size_t count, logs = 0;

    if (status != 0) {
        vane_log_error(component, "the store failed to start: %s; stopping", vane_strerror(status));
        d->failed = status;
        daemon_stop(d);
        return;
    }
    buses = controller_list(store_controller(store), &count);
    for (size_t i = 0; i < count; i++)
        logs += buses[i]->eventlog_count;
    publish_recover(&d->gateway);
    if (!d->stopping)
        start_duty(d);
    vane_log_info(component, "ready: %zu eventbuses, %zu eventlogs recovered in %llu ms", count,
                  logs, (unsigned long long)(uv_now(&d->loop) - d->store_opened_ms));
    if (!d->stopping)
        d->health.state = HEALTH_READY;
}

/* In a cluster, this node's peer port: before the store, whose raft groups use it. */
static int start_cluster(struct daemon *d)
{
    struct cluster_members members;
    char *errmsg = NULL;
    int err;

    err = cluster_members_parse(&members, d->cfg->cluster_nodes, d->cfg->cluster_node_id,
                                d->cfg->cluster_replicas, &errmsg);
    if (err == 0 && cluster_is_single(&members)) {
        cluster_members_free(&members);
        return 0;
    }
    if (err == 0)
        err = cluster_open(&d->cluster, &d->loop, &members, &errmsg);
    if (err != 0) {
        vane_log_error(component, "cannot join the cluster: %s", errmsg);
        vane_free(errmsg);
        return err;
    }
    d->cluster->join = d->cfg->cluster_join == CONFIG_ON;
    if (d->cluster->join)
        vane_log_info(component, "cluster node %llu, peer port %s: joining a running cluster "
                      "(cluster.join on), waiting for a member to add it",
                      (unsigned long long)d->cluster->members.self,
                      peer_net_self_address(d->cluster->net));
    else
        vane_log_info(component, "cluster node %llu of %zu, peer port %s, %u replicas per "
                      "eventlog", (unsigned long long)d->cluster->members.self,
                      d->cluster->members.count, peer_net_self_address(d->cluster->net),
                      d->cluster->members.replicas);
    return 0;
}

static int start_store(struct daemon *d)
{
    struct store_options options;
    char *errmsg = NULL;
    int err;

    if ((err = start_cluster(d)) != 0)
        return err;
    store_options_default(&options);
    options.eventlog.segment_size = d->cfg->segment_size;
    options.eventlog.snapshot_threshold = (unsigned)d->cfg->snapshot_entries;
    options.cluster = d->cluster;
    d->gateway.cluster = d->cluster;
    d->store_opened_ms = uv_now(&d->loop);
    err = store_open(&d->store, &d->loop, d->cfg->data_dir, &options, on_store_ready, d, &errmsg);
    d->gateway.store = err == 0 ? d->store : NULL;
    if (err != 0) {
        vane_log_error(component, "cannot open the store: %s", errmsg);
        vane_free(errmsg);
        d->store = NULL;
    }
    return err;
}

static void on_signal(uv_signal_t *handle, int signum)
{
    struct daemon *d = handle->data;

    if (d->stopping) {
        vane_log_info(component, "%s again: already stopping", strsignal(signum));
        return;
    }
    vane_log_info(component, "%s: stopping", strsignal(signum));
    daemon_stop(d);
}

/*
 * glibc keeps the memory of freed mid-sized blocks (raft entries of tens of
 * KiB, request buffers) in its heap, where RSS counts it; under load that
 * was several times what is in use.  Handing the free pages back every
 * MEMORY_TRIM_MS keeps RSS near the live size.
 */
static void on_trim(uv_timer_t *timer)
{
    uint64_t start = uv_hrtime();

    malloc_trim(0);
    if (uv_hrtime() - start > 5000000)
        vane_log_debug(component, "malloc_trim took %llu ms",
                       (unsigned long long)((uv_hrtime() - start) / 1000000));
    (void)timer;
}

static void start_trim(struct daemon *d)
{
    uv_timer_init(&d->loop, &d->trim_timer);
    uv_timer_start(&d->trim_timer, on_trim, MEMORY_TRIM_MS, MEMORY_TRIM_MS);
    uv_unref((uv_handle_t *)&d->trim_timer);
    uv_timer_init(&d->loop, &d->duty_timer);
    d->duty_timer.data = d;
}

static void watch_signal(struct daemon *d, uv_signal_t *handle, int signum)
{
    uv_signal_init(&d->loop, handle);
    handle->data = d;
    uv_signal_start(handle, on_signal, signum);
}

static int start_http(struct daemon *d)
{
    int err = http_server_create(&d->http, &d->loop, d->cfg->listen);

    if (err != 0) {
        vane_log_error(component, "invalid listen address %s", d->cfg->listen);
        return err;
    }
    d->gateway.loop = &d->loop;
    d->gateway.cfg = d->cfg;
    d->gateway.health = &d->health;
    health_register(d->http, &d->health);
    d->gateway.metrics = metrics_create();
    metrics_endpoint_register(d->http, &d->gateway);
    eventbuses_register(d->http, &d->gateway);
    subscriptions_api_register(d->http, &d->gateway);
    plugins_api_register(d->http, &d->gateway);
    cluster_api_register(d->http, &d->gateway);
    connectors_api_register(d->http, &d->gateway);
    scripts_api_register(d->http, &d->gateway);
    publish_register(d->http, &d->gateway);
    discard_register(d->http, &d->gateway);
    http_server_set_max_body(d->http, d->cfg->max_request_size);
    if ((err = http_server_listen(d->http)) != 0)
        vane_log_error(component, "cannot listen on %s: %s", d->cfg->listen, uv_strerror(err));
    return err;
}

/* The plugin folders (plugin_registry.h): scanned now, watched while the broker runs. */
static void start_plugins(struct daemon *d)
{
    char *cache_dir = vane_asprintf("%s/plugin-cache", d->cfg->data_dir);
    struct plugin_registry_options options = {d->cfg->plugins_dirs, cache_dir};

    if (plugin_registry_start(&d->gateway.plugins, &d->loop, &options) != 0)
        d->gateway.plugins = NULL; /* the broker serves on without plugins */
    vane_free(cache_dir);
}

/* The Lua scripts (script_registry.h): loaded now, watched while the broker runs. */
static void start_scripts(struct daemon *d)
{
    struct script_options options;

    script_options_from_config(&options, d->cfg);
    if (script_registry_start(&d->gateway.scripts, &d->loop, &options) != 0)
        d->gateway.scripts = NULL; /* the broker serves on without scripts */
}

static void log_start_line(struct daemon *d)
{
    vane_log_info(component,
                  "vane %s listening on http://%s, data dir %s, config %s; loaded %zu plugins, "
                  "%zu scripts",
                  PACKAGE_VERSION, http_server_address(d->http), d->cfg->data_dir,
                  d->cfg->source ? d->cfg->source : "(embedded default)",
                  d->gateway.plugins ? plugin_registry_count(d->gateway.plugins) : 0,
                  d->gateway.scripts ? script_registry_running(d->gateway.scripts) : 0);
}

/* Frees the parts and closes the loop; returns VANE_ESHUTDOWN if a handle leaked. */
static int close_loop(struct daemon *d)
{
    int err;

    http_server_free(d->http);
    d->http = NULL;
    publish_free(&d->gateway);
    metrics_free(d->gateway.metrics); /* after the server: its observer counts into it */
    d->gateway.metrics = NULL;
    plugin_registry_close(d->gateway.plugins); /* its handles close in the uv_run below */
    d->gateway.plugins = NULL;
    script_registry_close(d->gateway.scripts); /* after the trigger, which held handles */
    d->gateway.scripts = NULL;
    if (d->signals_open) {
        uv_close((uv_handle_t *)&d->sigint, NULL);
        uv_close((uv_handle_t *)&d->sigterm, NULL);
        uv_close((uv_handle_t *)&d->trim_timer, NULL);
        uv_close((uv_handle_t *)&d->duty_timer, NULL);
    }
    uv_run(&d->loop, UV_RUN_DEFAULT);
    if ((err = uv_loop_close(&d->loop)) != 0) {
        vane_log_error(component, "the loop did not close (%s): a handle was left open",
                       uv_strerror(err));
        return VANE_ESHUTDOWN;
    }
    return 0;
}

int daemon_run(const struct config *cfg)
{
    struct daemon d;
    char *errmsg = NULL;
    int lock_fd, err;

    memset(&d, 0, sizeof(d));
    d.cfg = cfg;
    if ((err = vane_fs_mkdir_p(cfg->data_dir, 0755)) != 0) {
        vane_log_error(component, "cannot create data dir %s: %s", cfg->data_dir,
                       vane_strerror(err));
        return err;
    }
    if ((lock_fd = lockfile_acquire(cfg->data_dir, &errmsg)) < 0) {
        vane_log_error(component, "%s", errmsg);
        vane_free(errmsg);
        return lock_fd;
    }
    if ((err = auth_create(&d.gateway.auth, cfg, &errmsg)) != 0) {
        vane_log_error(component, "%s", errmsg);
        vane_free(errmsg);
        lockfile_release(lock_fd);
        return err;
    }
    /* A peer that goes away mid-write must not kill the broker. */
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&d.loop);
    d.health.loop = &d.loop;
    d.health.started_ms = uv_now(&d.loop);
    d.health.state = HEALTH_STARTING;
    start_plugins(&d);
    start_scripts(&d);
    if ((err = start_http(&d)) == 0 && (err = start_store(&d)) == 0) {
        watch_signal(&d, &d.sigint, SIGINT);
        watch_signal(&d, &d.sigterm, SIGTERM);
        start_trim(&d);
        d.signals_open = true; /* and the trim timer */
        log_start_line(&d);
    } else if (d.http != NULL) {
        daemon_stop(&d);
    }
    if (d.http != NULL)
        uv_run(&d.loop, UV_RUN_DEFAULT);
    if (err == 0)
        err = d.failed;
    if (close_loop(&d) != 0 && err == 0)
        err = VANE_ESHUTDOWN;
    if (err == 0)
        vane_log_info(component, "stopped");
    auth_free(d.gateway.auth);
    lockfile_release(lock_fd);
    return err;
}

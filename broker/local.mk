# broker/local.mk -- the broker's parts (libvane.la) and the vaned daemon.

noinst_LTLIBRARIES += libvane.la
libvane_la_LIBADD = $(DEP_LIBS)
libvane_la_SOURCES = \
	broker/core/alloc.c broker/core/alloc.h \
	broker/core/arena.c broker/core/arena.h \
	broker/core/buf.c broker/core/buf.h \
	broker/core/crc32c.c broker/core/crc32c.h \
	broker/core/endian.h \
	broker/core/error.c broker/core/error.h \
	broker/core/fs.c broker/core/fs.h \
	broker/core/json_span.c broker/core/json_span.h \
	broker/core/log.c broker/core/log.h \
	broker/core/net.c broker/core/net.h \
	broker/core/percent.c broker/core/percent.h \
	broker/core/u64map.c broker/core/u64map.h \
	broker/core/units.c broker/core/units.h \
	broker/core/write_all.c broker/core/write_all.h \
	broker/config/config.c broker/config/config.h \
	broker/event/event.c broker/event/event.h \
	broker/event/event_check.c broker/event/event_check.h \
	broker/event/event_json.c broker/event/event_json.h \
	broker/event/timestamp.c broker/event/timestamp.h \
	broker/raft/replica.c broker/raft/replica.h \
	broker/raft/close_delay.c broker/raft/close_delay.h \
	broker/raft/log_io.c broker/raft/log_io.h broker/raft/log_io_internal.h broker/raft/log_load.c \
	broker/raft/log_format.c broker/raft/log_format.h \
	broker/raft/local_transport.c broker/raft/local_transport.h \
	broker/cluster/peer.c broker/cluster/peer.h \
	broker/cluster/peer_wire.c broker/cluster/peer_wire.h \
	broker/cluster/peer_transport.c \
	broker/raft/replica_cluster.c broker/raft/replica_internal.h \
	broker/raft/replica_members.c \
	broker/cluster/members.c broker/cluster/members.h \
	broker/cluster/forward.c broker/cluster/forward.h \
	broker/cluster/cluster.c broker/cluster/cluster.h \
	broker/cluster/rebalance.c broker/cluster/rebalance.h \
	broker/store/record.c broker/store/record.h \
	broker/store/segment.c broker/store/segment.h \
	broker/store/eventlog.c broker/store/eventlog.h \
	broker/store/eventlog_internal.h broker/store/eventlog_catchup.c \
	broker/store/eventlog_writer.c \
	broker/store/store.c broker/store/store.h \
	broker/controller/controller.c broker/controller/controller.h \
	broker/controller/controller_internal.h \
	broker/controller/subscriptions.c broker/controller/connectors.c broker/controller/members.c \
	broker/metrics/metrics.c broker/metrics/metrics.h \
	broker/gateway/binding.c broker/gateway/binding.h \
	broker/gateway/discard.c broker/gateway/discard.h \
	broker/gateway/dead_letters.c broker/gateway/dead_letters.h \
	broker/gateway/events_read.c broker/gateway/events_read.h \
	broker/gateway/gateway.h \
	broker/gateway/idempotency.c broker/gateway/idempotency.h \
	broker/gateway/publish.c broker/gateway/publish.h \
	broker/gateway/query.c broker/gateway/query.h \
	broker/gateway/admin_input.c broker/gateway/admin_input.h \
	broker/gateway/auth.c broker/gateway/auth.h \
	broker/gateway/eventbuses.c broker/gateway/eventbuses.h \
	broker/gateway/subscriptions_api.c broker/gateway/subscriptions_api.h \
	broker/gateway/health.c broker/gateway/health.h \
	broker/gateway/http_server.c broker/gateway/http_server.h \
	broker/gateway/metrics_endpoint.c broker/gateway/metrics_endpoint.h \
	broker/gateway/response.c broker/gateway/response.h \
	broker/timer/timer.c broker/timer/timer.h \
	broker/trigger/delivery.c broker/trigger/delivery.h \
	broker/trigger/http_client.c broker/trigger/http_client.h \
	broker/trigger/trigger.c broker/trigger/trigger.h \
	broker/trigger/worker.c broker/trigger/worker.h \
	broker/trigger/external.c broker/trigger/external.h \
	broker/transform/transform.c broker/transform/transform.h \
	broker/transform/transform_internal.h \
	broker/transform/transform_path.c broker/transform/transform_work.c \
	broker/transform/transform_value.c broker/transform/transform_arg.c \
	broker/transform/transform_action.c broker/transform/transform_action_struct.c \
	broker/transform/transform_action_string.c broker/transform/transform_action_math.c \
	broker/transform/transform_action_time.c broker/transform/transform_action_array.c \
	broker/transform/transform_template.c broker/transform/transform_regex.c \
	broker/transform/transform_tz.c \
	broker/daemon/daemon.c broker/daemon/daemon.h \
	broker/daemon/lockfile.c broker/daemon/lockfile.h

bin_PROGRAMS += vaned
vaned_SOURCES = broker/daemon/main.c
vaned_LDADD = libvane.la

# CloudEvents SQL (CESQL), the "sql"/"cesql" filter dialect.
libvane_la_SOURCES += \
	broker/filter/cesql.c broker/filter/cesql.h broker/filter/cesql_tree.h \
	broker/filter/cesql_parse.c broker/filter/cesql_func.c \
	broker/filter/cesql_text.c broker/filter/cesql_text.h

# The Subscriptions API filter dialects (exact ... not, sql/cesql) and Vanus's data keys.
libvane_la_SOURCES += \
	broker/filter/filter.c broker/filter/filter.h \
	broker/filter/data_path.c broker/filter/data_path.h

# The connector engine: connectors run as worker processes (vaned --connector-worker).
libvane_la_SOURCES += \
	broker/engine/engine.c broker/engine/engine.h broker/engine/engine_internal.h \
	broker/engine/instance.c broker/engine/wire.c broker/engine/wire.h \
	broker/engine/worker_main.c \
	broker/gateway/connectors_api.c broker/gateway/connectors_api.h

# Plugins: loading and checking .so plugins, their options, the event and
# host services they see, instances, and the registry of plugin folders.
libvane_la_SOURCES += \
	broker/plugin/plugin.c broker/plugin/plugin.h \
	broker/plugin/plugin_event.c broker/plugin/plugin_event.h \
	broker/plugin/plugin_options.c broker/plugin/plugin_options.h \
	broker/plugin/plugin_host.c broker/plugin/plugin_host.h \
	broker/plugin/plugin_instance.c broker/plugin/plugin_instance.h \
	broker/plugin/plugin_registry.c broker/plugin/plugin_registry.h \
	broker/gateway/cluster_api.c broker/gateway/cluster_api.h \
	broker/gateway/plugins_api.c broker/gateway/plugins_api.h

# Lua scripts: the sandbox, events as tables, the registry of script
# folders, the calls the trigger makes, and GET /api/v1/scripts.  vaned
# also looks for scripts in $(pkgdatadir)/filters-lua, where the shipped
# ones are installed.
libvane_la_SOURCES += \
	broker/script/script.c broker/script/script.h \
	broker/script/script_event.c broker/script/script_event.h \
	broker/script/script_internal.h \
	broker/script/script_json.c broker/script/script_json.h \
	broker/script/script_json_encode.c broker/script/script_json_internal.h \
	broker/script/script_json_lazy.c \
	broker/script/script_registry.c broker/script/script_registry.h \
	broker/script/script_sandbox.c broker/script/script_sandbox.h \
	broker/gateway/scripts_api.c broker/gateway/scripts_api.h
AM_CPPFLAGS += -DVANE_PKGDATADIR='"$(pkgdatadir)"'
vanescriptsdir = $(pkgdatadir)/filters-lua
dist_vanescripts_DATA = filters-lua/redact.lua filters-lua/chat-message.lua \
	filters-lua/route-by-content.lua
dist_vanescripts_DATA += filters-lua/github-chat.lua

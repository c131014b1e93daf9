/*
 * plugin_host.h -- struct vane_host, the services a plugin reaches through
 * the table its init is given (vane/plugin.h), as the broker provides them
 * to filter and transform plugins running in its own process.
 *
 * What the in-process table does:
 *
 *   log            core/log.h, component "plugin NAME/INSTANCE"; an error
 *                  logged during a call is also kept as the call's error
 *                  text (plugin_instance.h), so a dead letter says why;
 *   option_*       the instance's checked options (plugin_options.h);
 *   event_*        plugin_event.h;
 *   emit           a transform's extra output, during its transform call
 *                  only (cb runs at once with status 0); elsewhere -EINVAL;
 *   metric_add     vane_plugin_<name>_total{plugin=...,instance=...} in the
 *                  broker's /metrics; a name that is not [a-z0-9_]{1,64}
 *                  is ignored (and said once in the log);
 *   instance_name  the subscription's name.
 *
 * Not in-process (they belong to sources and sinks, which the connector
 * engine runs in worker processes):
 *
 *   timer_start, work        return -ENOTSUP: a filter or transform must
 *                            answer within its call, on the loop thread;
 *   timer_stop               does nothing;
 *   ack, http_reply          do nothing but log an error (NULL-safe);
 *   http_events              returns -ENOTSUP.
 *
 * The worker's host starts from the same table (plugin_host_functions) and
 * replaces those members with its own.
 */
#ifndef VANE_BROKER_PLUGIN_HOST_H
#define VANE_BROKER_PLUGIN_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "vane/plugin.h"

struct metrics;

/* The in-process table: static, valid for the life of the process. */
const struct vane_host *plugin_host_in_process(void);

/* Fills every member of host as the in-process table has it (above). */
void plugin_host_functions(struct vane_host *host);

/*
 * What metric_add counts, for this table and the connector engine's (whose
 * workers send their counts as frames): delta added to
 * vane_plugin_<name>_total{plugin=..., instance=...} in m (NULL: nowhere).
 * false, counting nothing, when name is not 1 to 64 of [a-z0-9_].
 */
bool plugin_metric_count(struct metrics *m, const char *plugin, const char *instance,
                         const char *name, uint64_t delta);

#endif

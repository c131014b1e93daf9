/*
 * main.c -- vanectl, the command-line client of the Vane broker.
 *
 *     vanectl [--endpoint URL] [--format table|json] [--token TOKEN]
 *             [--timeout SECONDS] COMMAND [ARG]...
 *
 * Global options come before the command or among its own options.  The
 * endpoint defaults to $VANE_ENDPOINT, then http://127.0.0.1:8080; the
 * token to $VANE_TOKEN.
 * Commands are rows of the commands[] table below: status, and the groups
 * eventbus, event, subscription, connector (source and sink plugins run by
 * the connector engine), plugin (the plugins loaded), script (the Lua
 * scripts) and cluster (its nodes and raft groups), whose rows live in
 * eventbus.c, event.c, subscription.c, connector.c, plugin.c, script.c and
 * cluster.c.  Each command talks to the broker through client.h, prints
 * through output.h and ends with one of the exit statuses of enum
 * vanectl_exit (vanectl.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/alloc.h"
#include "vane-config.h"
#include "vanectl.h"

static int run_status(struct context *ctx, int argc, char **argv)
{
    struct client_reply reply;
    int status;

    if ((status = command_no_arguments(ctx, argc, argv)) != 0)
        return status;
    client_request(&ctx->client, "GET", "/healthz", NULL, &reply);
    if ((status = command_answer(ctx, NULL, &reply)) == 0) {
        /* Not the answer as it came: it gains the endpoint asked. */
        json_object_set_new(reply.body, "endpoint", json_string(ctx->client.endpoint));
        output_print(stdout, reply.body, ctx->format);
    }
    client_reply_free(&reply);
    return status;
}

static const struct command commands[] = {
    {"status", "", "show whether the broker is up, its version and uptime", NULL, run_status,
     NULL},
    {"eventbus", "COMMAND", "create, list, show, change and delete eventbuses", NULL, NULL,
     eventbus_commands},
    {"event", "COMMAND", "publish events and read stored ones", NULL, NULL, event_commands},
    {"subscription", "COMMAND", "deliver an eventbus's events to a sink: create, list, show, "
     "change, pause and delete subscriptions", NULL, NULL, subscription_commands},
    {"connector", "COMMAND", "run source and sink plugins: create, list, show, change, scale "
     "and delete connectors", NULL, NULL, connector_commands},
    {"plugin", "COMMAND", "list the plugins loaded and show one with its options", NULL, NULL,
     plugin_commands},
    {"script", "COMMAND", "list the Lua scripts loaded and why one did not load", NULL, NULL,
     script_commands},
    {"cluster", "COMMAND", "a cluster's nodes and raft groups: status, join, leave",
     NULL, NULL, cluster_commands},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: vanectl [OPTION]... COMMAND [ARG]...\n"
            "Talk to a Vane broker.  These options may also follow the command.\n"
            "\n"
            "  -e, --endpoint URL      broker to talk to (default $VANE_ENDPOINT,\n"
            "                          else http://127.0.0.1:8080)\n"
            "  -o, --format FORMAT     table (default) or json (the broker's answer as is)\n"
            "      --token TOKEN       bearer token for a broker that asks for one\n"
            "                          (default $VANE_TOKEN; vaned keeps it in <data_dir>/token)\n"
            "      --timeout SECONDS   give up on a request after this long (default 10)\n"
            "  -h, --help              show this help and exit\n"
            "  -V, --version           show the version and exit\n"
            "\n"
            "Commands (vanectl COMMAND --help tells more):\n");
    command_usage(out, commands, "");
    fprintf(out,
            "\n"
            "Exit status:\n"
            "  0  success\n"
            "  1  the broker answered with an error, or could not be reached\n"
            "  2  usage error: the command line is wrong\n"
            "  3  not found: no such eventbus, event or subscription (HTTP 404)\n"
            "  4  unauthorized: a token is missing or refused (HTTP 401 or 403)\n");
}

/* A variable's value, or NULL when it is unset or empty. */
static const char *env_value(const char *name)
{
    const char *value = getenv(name);

    return value != NULL && *value != '\0' ? value : NULL;
}

/* Reads the global options into ctx.  Returns -1 to go on, else an exit status. */
static int read_global_options(struct context *ctx, int argc, char **argv)
{
    static const struct option own[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct option *options = command_options(own);
    int opt, status = -1;

    /* '+': stop at the command; it reads its own options (and global ones after it). */
    while (status < 0 && (opt = getopt_long(argc, argv, "+" COMMAND_GLOBAL_SHORT_OPTIONS "hV",
                                            options, NULL)) != -1) {
        switch (opt) {
        case 'h': usage(stdout); status = VANECTL_EXIT_OK; break;
        case 'V': printf("vanectl %s\n", PACKAGE_VERSION); status = VANECTL_EXIT_OK; break;
        default:
            if (command_global_option(ctx, opt, optarg) != 0) {
                if (opt == '?')
                    usage(stderr);
                status = VANECTL_EXIT_USAGE;
            }
        }
    }
    vane_free(options);
    return status;
}

int main(int argc, char **argv)
{
    struct context ctx = {{NULL, 10000, NULL}, OUTPUT_TABLE, NULL};
    int status;

    ctx.client.endpoint = env_value("VANE_ENDPOINT");
    if (ctx.client.endpoint == NULL)
        ctx.client.endpoint = "http://127.0.0.1:8080";
    ctx.client.token = env_value("VANE_TOKEN");
    if ((status = read_global_options(&ctx, argc, argv)) >= 0)
        return status;
    if (optind >= argc) {
        usage(stderr);
        return VANECTL_EXIT_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    status = command_run(&ctx, commands, "", argc - optind, argv + optind);
    curl_global_cleanup();
    return status;
}

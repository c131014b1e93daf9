/*
 * main.c -- vanectl, the command-line client of the Vane broker.
 *
 *     vanectl [--endpoint URL] [--format table|json] COMMAND [ARGS]
 *
 * Global options come before the command.  The endpoint defaults to
 * $VANE_ENDPOINT, then http://127.0.0.1:8080.  Commands are rows of the
 * commands[] table; each talks to the broker through client.h and prints
 * through output.h.  Exit status: 0 on success, 1 when the broker could not
 * be reached or answered with an error, 2 for a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "client.h"
#include "output.h"
#include "vane-config.h"

enum { EXIT_USAGE = 2 };

struct context {
    struct client client;
    enum output_format format;
};

struct command {
    const char *name;
    const char *summary;
    int (*run)(struct context *ctx, int argc, char **argv);
};

/* Prints an answer that is not a success, or why there was none.  Returns 1. */
static int report_failure(const struct context *ctx, const struct client_reply *reply)
{
    const json_t *message;

    if (reply->status == 0) {
        fprintf(stderr,
                "vanectl: cannot reach vaned at %s: %s\n"
                "  (is it running?  set --endpoint or VANE_ENDPOINT)\n",
                ctx->client.endpoint, reply->error);
        return 1;
    }
    message = json_object_get(json_object_get(reply->body, "error"), "message");
    fprintf(stderr, "vanectl: HTTP %ld: %s\n", reply->status,
            json_is_string(message) ? json_string_value(message) : "unexpected answer");
    return 1;
}

static int cmd_status(struct context *ctx, int argc, char **argv)
{
    struct client_reply reply;
    int status = 1;

    if (argc > 1) {
        fprintf(stderr, "vanectl: status takes no arguments; got '%s'\n", argv[1]);
        return EXIT_USAGE;
    }
    if (client_request(&ctx->client, "GET", "/healthz", NULL, &reply) != 0 ||
        reply.status != 200 || !json_is_object(reply.body)) {
        status = report_failure(ctx, &reply);
    } else {
        json_object_set_new(reply.body, "endpoint", json_string(ctx->client.endpoint));
        output_print(stdout, reply.body, ctx->format);
        status = 0;
    }
    client_reply_free(&reply);
    return status;
}

static const struct command commands[] = {
    {"status", "show whether the broker is up, its version and uptime", cmd_status},
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: vanectl [OPTION]... COMMAND [ARG]...\n"
            "Talk to a Vane broker.\n"
            "\n"
            "  -e, --endpoint URL      broker to talk to (default $VANE_ENDPOINT,\n"
            "                          else http://127.0.0.1:8080)\n"
            "  -o, --format FORMAT     table (default) or json\n"
            "      --timeout SECONDS   give up on a request after this long (default 10)\n"
            "  -h, --help              show this help and exit\n"
            "  -V, --version           show the version and exit\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"endpoint", required_argument, NULL, 'e'}, {"format", required_argument, NULL, 'o'},
        {"timeout", required_argument, NULL, 't'},  {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},        {NULL, 0, NULL, 0},
    };
    struct context ctx = {{NULL, 10000}, OUTPUT_TABLE};
    const struct command *command;
    char *end;
    int opt, status;

    ctx.client.endpoint = getenv("VANE_ENDPOINT");
    if (ctx.client.endpoint == NULL || *ctx.client.endpoint == '\0')
        ctx.client.endpoint = "http://127.0.0.1:8080";
    /* '+': stop at the command, whose own options are its business. */
    while ((opt = getopt_long(argc, argv, "+e:o:hV", options, NULL)) != -1) {
        switch (opt) {
        case 'e': ctx.client.endpoint = optarg; break;
        case 'o':
            if (output_format_parse(optarg, &ctx.format) != 0) {
                fprintf(stderr, "vanectl: --format: expected table or json; got \"%s\"\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 't':
            ctx.client.timeout_ms = (long)(strtod(optarg, &end) * 1000);
            if (*end != '\0' || ctx.client.timeout_ms <= 0) {
                fprintf(stderr, "vanectl: --timeout: expected a positive number of seconds; "
                                "got \"%s\"\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("vanectl %s\n", PACKAGE_VERSION); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if ((command = find_command(argv[optind])) == NULL) {
        fprintf(stderr, "vanectl: unknown command '%s'; see vanectl --help\n", argv[optind]);
        return EXIT_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    status = command->run(&ctx, argc - optind, argv + optind);
    curl_global_cleanup();
    return status;
}

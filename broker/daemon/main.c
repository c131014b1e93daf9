/*
 * main.c -- vaned, the Vane broker daemon: command line and configuration.
 *
 * Settings come from, in order: the schema's defaults (the embedded default
 * configuration), the file named by --config, then --listen and --data-dir.
 * Each goes through the same checks (config.h), so a bad value is reported
 * the same way wherever it was written.  Exit status: 0 after a clean stop,
 * 1 when the broker fails to start or stop cleanly, 2 for a usage or
 * configuration error.
 */
#include <getopt.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/alloc.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "engine/engine.h"
#include "vane-config.h"

enum { EXIT_USAGE = 2 };

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: vaned [OPTION]...\n"
            "Run the Vane CloudEvents broker in the foreground.\n"
            "\n"
            "With no options it serves on 127.0.0.1:8080 and keeps its data in ./var.\n"
            "\n"
            "  -c, --config FILE     load settings from FILE, a Lua file that returns a table\n"
            "  -l, --listen ADDR     listen on ADDR (host:port), overriding the config\n"
            "  -d, --data-dir DIR    keep data in DIR, overriding the config\n"
            "  -t, --check-config    check the configuration, print it, and exit\n"
            "  -h, --help            show this help and exit\n"
            "  -V, --version         show the version and exit\n"
            "\n"
            "SIGINT or SIGTERM stops the broker cleanly.  See doc/configuration.md.\n");
}

/* Applies one override from the command line, naming the option on error. */
static int override(struct config *cfg, const char *option, const char *key, const char *value)
{
    char *errmsg = NULL;

    if (config_set(cfg, key, value, &errmsg) == 0)
        return 0;
    fprintf(stderr, "vaned: %s: %s\n", option, errmsg);
    vane_free(errmsg);
    return -1;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},   {"listen", required_argument, NULL, 'l'},
        {"data-dir", required_argument, NULL, 'd'}, {"check-config", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},           {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *listen = NULL, *data_dir = NULL;
    int check_only = 0, opt, status;
    struct config cfg;
    char *errmsg = NULL;

    /* A connector instance's process (engine.h): started by vaned itself, never by hand. */
    if (argc == 2 && strcmp(argv[1], "--connector-worker") == 0)
        return engine_worker_main();
    while ((opt = getopt_long(argc, argv, "c:l:d:thV", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'l': listen = optarg; break;
        case 'd': data_dir = optarg; break;
        case 't': check_only = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("vaned %s\n", PACKAGE_VERSION); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vaned: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }

    config_init(&cfg);
    status = EXIT_USAGE;
    if (config_path != NULL && config_load_file(&cfg, config_path, &errmsg) != 0) {
        fprintf(stderr, "vaned: config: %s\n", errmsg);
        vane_free(errmsg);
        goto out;
    }
    if ((listen != NULL && override(&cfg, "--listen", "listen", listen) != 0) ||
        (data_dir != NULL && override(&cfg, "--data-dir", "data_dir", data_dir) != 0))
        goto out;
    if (check_only) {
        config_print(&cfg, stdout);
        status = 0;
        goto out;
    }
    vane_log_setup(cfg.log_level, cfg.log_format, 2);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread: the trigger's sinks */
    status = daemon_run(&cfg) == 0 ? 0 : 1;
    curl_global_cleanup();
out:
    config_free(&cfg);
    return status;
}

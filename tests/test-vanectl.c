/*
 * test-vanectl.c -- the real vanectl against the real vaned: status in both
 * formats, the endpoint from the option and the environment, and clear
 * failures when the broker is not there or the command line is wrong.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>

#include "core/alloc.h"
#include "harness.h"
#include "tap.h"
#include "vane-config.h"

static int exit_code(int status)
{
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_status(const struct vaned *v)
{
    const char *table[] = {getenv("VANECTL"), "--endpoint", v->url, "status", NULL};
    const char *json[] = {getenv("VANECTL"), "--format", "json", "status", NULL};
    char *env_endpoint = vane_asprintf("VANE_ENDPOINT=%s", v->url);
    const char *env[] = {env_endpoint, NULL};
    char *out = NULL;
    json_t *body;

    is_int(exit_code(harness_run(table, NULL, &out, NULL)), 0, "status exits 0");
    contains(out, "STATUS", "table output has a STATUS row");
    contains(out, "ok", "saying ok");
    contains(out, PACKAGE_VERSION, "with the version");
    vane_free(out);

    is_int(exit_code(harness_run(json, env, &out, NULL)), 0, "VANE_ENDPOINT names the broker");
    body = out ? json_loads(out, 0, NULL) : NULL;
    ok(body != NULL, "--format json prints JSON");
    is_str(json_string_value(json_object_get(body, "status")), "ok", "status is ok");
    is_str(json_string_value(json_object_get(body, "endpoint")), v->url, "endpoint is echoed");
    json_decref(body);
    vane_free(out);
    vane_free(env_endpoint);
}

static void test_failures(const char *dead_url)
{
    const char *dead[] = {getenv("VANECTL"), "--endpoint", dead_url, "status", NULL};
    const char *format[] = {getenv("VANECTL"), "--format", "yaml", "status", NULL};
    const char *unknown[] = {getenv("VANECTL"), "frobnicate", NULL};
    const char *none[] = {getenv("VANECTL"), NULL};
    char *err = NULL;

    is_int(exit_code(harness_run(dead, NULL, NULL, &err)), 1, "an unreachable broker exits 1");
    contains(err, "cannot reach vaned at", "saying it cannot reach vaned");
    contains(err, dead_url, "and where it looked");
    vane_free(err);
    is_int(exit_code(harness_run(format, NULL, NULL, &err)), 2, "a bad --format exits 2");
    contains(err, "expected table or json", "saying what is expected");
    vane_free(err);
    is_int(exit_code(harness_run(unknown, NULL, NULL, &err)), 2, "an unknown command exits 2");
    contains(err, "unknown command 'frobnicate'", "naming it");
    vane_free(err);
    is_int(exit_code(harness_run(none, NULL, NULL, NULL)), 2, "no command exits 2");
}

int main(void)
{
    char *tmpdir = harness_tempdir();
    struct vaned v;
    char dead_url[96] = "";

    if (ok(vaned_start(&v, tmpdir, NULL) == 0, "vaned starts")) {
        test_status(&v);
        /* Once it has stopped, its address is one where nothing listens. */
        snprintf(dead_url, sizeof(dead_url), "%s", v.url);
        kill(v.pid, SIGTERM);
        ok(vaned_wait(&v, harness_ms(1000)) >= 0, "vaned stops");
        test_failures(dead_url);
    }
    vaned_cleanup(&v);
    harness_rmtree(tmpdir);
    return tap_done();
}

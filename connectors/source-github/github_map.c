/*
 * github_map.c -- a GitHub delivery's body decoded, and its attributes
 * mapped (see github_map.h).
 *
 * The mapping is one table, a row per X-GitHub-Event value, transcribed
 * from the CloudEvents GitHub adapter specification: where source, the
 * parts of type after com.github.<event>, subject and time come from, as
 * dotted paths into the payload.  Where the specification is unclear or
 * names a value GitHub's payloads do not have, the row says what was
 * chosen (doc/github.md lists the same choices for users):
 *
 *   - repository_dispatch and repository_ruleset get ".<action>" like the
 *     other events (the specification writes them without the dot);
 *   - status is com.github.status.<state> (the specification leaves the
 *     state as a question);
 *   - page_build's time is build.updated_at (the specification names
 *     pusher.updated_at, which no page_build payload has);
 *   - release's time is release.<action>_at (created_at, published_at)
 *     when the release has it, else the time of arrival;
 *   - a time given as a number (installation.updated_at often is) counts
 *     seconds since 1970 and is written as RFC 3339.
 *
 * Fallbacks make an event of every payload: a source value that is absent
 * gives way to repository.url, organization.url, sender.url, then
 * "https://github.com" (the specification gives one value per event, but
 * organization-level deliveries, such as team created, carry no
 * repository); a subject or time that is absent is left out, the connector
 * then setting the time of arrival.  A value counts when it is a non-empty
 * string without control characters, or an integer (written in decimal).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "github_map.h"

/* ---- the table ------------------------------------------------------------------ */

/* How a row's time is found besides its paths. */
enum time_rule {
    TIME_PATHS,        /* time[0], else time[1], else arrival */
    TIME_RELEASE,      /* release.<action>_at, else arrival */
};

struct mapping {
    const char *event;      /* X-GitHub-Event */
    const char *source[2];  /* source[0], or source[0] + "/" + source[1]; NULL: a literal */
    const char *literal;    /* the source when source[0] is NULL */
    const char *detail[2];  /* values appended to the type, each after a '.' */
    const char *subject;    /* NULL: no subject */
    const char *time[2];
    enum time_rule time_rule;
    bool source_parent;     /* the source value without its last path segment */
};

#define REPO {"repository.url", NULL}
#define OWNER {"repository.owner.url", NULL}
#define ACTION {"action", NULL}
#define NO_DETAIL {NULL, NULL}
#define ARRIVAL {NULL, NULL}
#define AT(path) {path, NULL}

static const struct mapping mappings[] = {
    {"branch_protection_configuration", REPO, NULL, ACTION, NULL, ARRIVAL, 0, false},
    {"branch_protection_rule", REPO, NULL, ACTION, "rule.id", AT("rule.updated_at"), 0, false},
    {"check_run", REPO, NULL, ACTION, "check_run.id",
     {"check_run.completed_at", "check_run.started_at"}, 0, false},
    {"check_suite", REPO, NULL, ACTION, "check_suite.id", AT("check_suite.updated_at"), 0, false},
    {"code_scanning_alert", REPO, NULL, ACTION, "alert.number", ARRIVAL, 0, false},
    {"commit_comment", {"comment.url", "comment.commit_id"}, NULL, ACTION, "comment.id",
     AT("comment.updated_at"), 0, false},
    {"content_reference", REPO, NULL, ACTION, "content_reference.id", ARRIVAL, 0, false},
    {"create", REPO, NULL, {"ref_type", NULL}, "ref", ARRIVAL, 0, false},
    {"custom_property", REPO, NULL, ACTION, "definition.property_name", ARRIVAL, 0, false},
    {"custom_property_values", REPO, NULL, ACTION, NULL, ARRIVAL, 0, false},
    {"delete", REPO, NULL, {"ref_type", NULL}, "ref", ARRIVAL, 0, false},
    {"dependabot_alert", REPO, NULL, ACTION, "alert.id", ARRIVAL, 0, false},
    {"deploy_key", REPO, NULL, ACTION, "key.id", {"key.deleted_at", "key.created_at"}, 0, false},
    {"deployment", REPO, NULL, NO_DETAIL, "deployment.id", AT("deployment.updated_at"), 0, false},
    {"deployment_protection_rule", AT("deployment.url"), NULL, ACTION, "deployment.id", ARRIVAL,
     0, false},
    {"deployment_review", AT("deployment.url"), NULL, ACTION, "workflow_run.id", ARRIVAL, 0,
     false},
    {"deployment_status", AT("deployment.url"), NULL, {"deployment_status.state", NULL},
     "deployment_status.url", AT("deployment_status.updated_at"), 0, false},
    {"discussion", REPO, NULL, ACTION, "discussion.id", ARRIVAL, 0, false},
    {"discussion_comment", REPO, NULL, ACTION, "discussion.id", AT("comment.updated_at"), 0,
     false},
    {"fork", REPO, NULL, NO_DETAIL, "forkee.url", AT("forkee.created_at"), 0, false},
    {"github_app_authorization", AT("sender.url"), NULL, NO_DETAIL, NULL, ARRIVAL, 0, false},
    {"gollum", REPO, NULL, NO_DETAIL, NULL, ARRIVAL, 0, false},
    {"installation", AT("installation.account.url"), NULL, ACTION, "installation.id",
     AT("installation.updated_at"), 0, false},
    {"installation_repositories", AT("installation.account.url"), NULL, ACTION,
     "installation.id", AT("installation.updated_at"), 0, false},
    {"installation_target", AT("installation.account.url"), NULL, ACTION, "installation.id",
     ARRIVAL, 0, false},
    {"issue_comment", AT("issue.url"), NULL, ACTION, "comment.id", AT("comment.updated_at"), 0,
     false},
    {"issues", REPO, NULL, ACTION, "issue.number", AT("issue.updated_at"), 0, false},
    {"label", REPO, NULL, ACTION, "label.name", ARRIVAL, 0, false},
    {"marketplace_purchase", AT("sender.url"), NULL, ACTION, "marketplace_purchase.account.login",
     AT("effective_date"), 0, true},
    {"member", REPO, NULL, ACTION, "member.login", ARRIVAL, 0, false},
    {"membership", AT("team.url"), NULL, {"scope", "action"}, "member.login", ARRIVAL, 0, false},
    {"merge_group", REPO, NULL, ACTION, "merge_group.head_ref", ARRIVAL, 0, false},
    {"meta", REPO, NULL, ACTION, "hook_id", AT("hook.updated_at"), 0, false},
    {"milestone", REPO, NULL, ACTION, "milestone.number", AT("milestone.updated_at"), 0, false},
    {"organization", AT("organization.url"), NULL, ACTION, "membership.user.login", ARRIVAL, 0,
     false},
    {"org_block", AT("organization.url"), NULL, ACTION, "blocked_user.login", ARRIVAL, 0, false},
    {"package", REPO, NULL, ACTION, "package.id", {"package.updated_at", "package.created_at"}, 0,
     false},
    {"page_build", REPO, NULL, NO_DETAIL, "build.url", AT("build.updated_at"), 0, false},
    {"project_card", REPO, NULL, ACTION, "project_card.id", AT("project_card.updated_at"), 0,
     false},
    {"project_column", REPO, NULL, ACTION, "project_column.id", AT("project_column.updated_at"), 0,
     false},
    {"project", REPO, NULL, ACTION, "project.id", AT("project.updated_at"), 0, false},
    {"projects_v2", REPO, NULL, ACTION, "projects_v2.id", AT("projects_v2.updated_at"), 0, false},
    {"projects_v2_item", REPO, NULL, ACTION, "projects_v2_item.id",
     AT("projects_v2_item.updated_at"), 0, false},
    {"projects_v2_status_update", REPO, NULL, ACTION, "projects_v2_status_update.id",
     AT("projects_v2_status_update.updated_at"), 0, false},
    {"public", OWNER, NULL, NO_DETAIL, "repository.name", AT("repository.updated_at"), 0, false},
    {"pull_request", REPO, NULL, ACTION, "number", AT("pull_request.updated_at"), 0, false},
    {"pull_request_review", AT("pull_request.url"), NULL, ACTION, "review.id",
     AT("review.submitted_at"), 0, false},
    {"pull_request_review_comment", AT("pull_request.url"), NULL, ACTION, "comment.id",
     AT("pull_request.updated_at"), 0, false},
    {"pull_request_review_thread", AT("pull_request.url"), NULL, ACTION, "pull_request.id",
     ARRIVAL, 0, false},
    {"push", REPO, NULL, NO_DETAIL, "ref", ARRIVAL, 0, false},
    {"registry_package", REPO, NULL, ACTION, "registry_package.html_url",
     AT("registry_package.updated_at"), 0, false},
    {"release", REPO, NULL, ACTION, "release.id", ARRIVAL, TIME_RELEASE, false},
    {"repository", OWNER, NULL, ACTION, "repository.name", AT("repository.updated_at"), 0, false},
    {"repository_advisory", REPO, NULL, ACTION, "repository_advisory.ghsa_id",
     AT("repository_advisory.updated_at"), 0, false},
    {"repository_dispatch", OWNER, NULL, ACTION, NULL, ARRIVAL, 0, false},
    {"repository_import", OWNER, NULL, NO_DETAIL, "repository.name", AT("repository.updated_at"),
     0, false},
    {"repository_ruleset", OWNER, NULL, ACTION, "repository.name", AT("repository.updated_at"), 0,
     false},
    {"repository_vulnerability_alert", REPO, NULL, ACTION, "alert.id", ARRIVAL, 0, false},
    {"secret_scanning_alert", REPO, NULL, ACTION, "alert.number",
     {"alert.updated_at", "alert.created_at"}, 0, false},
    {"secret_scanning_alert_location", REPO, NULL, ACTION, "alert.number",
     {"alert.updated_at", "alert.created_at"}, 0, false},
    {"security_advisory", {NULL, NULL}, "github.com", ACTION, "security_advisory.ghsa_id",
     AT("security_advisory.updated_at"), 0, false},
    {"security_and_analysis", REPO, NULL, NO_DETAIL, NULL, ARRIVAL, 0, false},
    {"sponsorship", REPO, NULL, ACTION, "sponsorship.sponsor.login", ARRIVAL, 0, false},
    {"star", REPO, NULL, ACTION, NULL, AT("starred_at"), 0, false},
    {"status", REPO, NULL, {"state", NULL}, "sha", AT("updated_at"), 0, false},
    {"team", REPO, NULL, ACTION, "team.id", AT("updated_at"), 0, false},
    {"team_add", REPO, NULL, ACTION, "team.id", ARRIVAL, 0, false},
    {"watch", REPO, NULL, ACTION, NULL, ARRIVAL, 0, false},
    {"workflow_dispatch", REPO, NULL, NO_DETAIL, "workflow", ARRIVAL, 0, false},
    {"workflow_job", REPO, NULL, ACTION, "workflow_job.name", ARRIVAL, 0, false},
    {"workflow_run", REPO, NULL, ACTION, "workflow.name", ARRIVAL, 0, false},
};

/* What an event the table lacks maps with. */
static const struct mapping unknown = {NULL, REPO, NULL, ACTION, NULL, ARRIVAL, 0, false};

/* Tried in order when a row's source is absent; the last is always there. */
static const char *const source_fallbacks[] = {"repository.url", "organization.url",
                                               "sender.url"};
#define SOURCE_LAST_RESORT "https://github.com"

static const struct mapping *mapping_of(const char *event)
{
    for (size_t i = 0; i < sizeof(mappings) / sizeof(mappings[0]); i++)
        if (strcmp(mappings[i].event, event) == 0)
            return &mappings[i];
    return &unknown;
}

/* ---- values in the payload ----------------------------------------------------------- */

/* The value at a dotted path ("repository.owner.url"), or NULL. */
static const json_t *at_path(const json_t *doc, const char *path)
{
    while (doc != NULL && *path != '\0') {
        const char *dot = strchr(path, '.');
        size_t len = dot != NULL ? (size_t)(dot - path) : strlen(path);

        doc = json_is_object(doc) ? json_object_getn(doc, path, len) : NULL;
        path += len + (dot != NULL);
    }
    return doc;
}

/* UTF-8 text the broker takes as an attribute: no C0 or C1 control characters, DEL, or NUL. */
static bool text_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f)
            return false;
        if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9f)
            return false;
    }
    return len > 0;
}

/* Appends the text of the value at path: a usable string, or an integer in
 * decimal.  false (out unchanged) when there is none. */
static bool append_value(const json_t *doc, const char *path, struct strbuf *out)
{
    const json_t *v = at_path(doc, path);

    if (json_is_integer(v)) {
        strbuf_appendf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return true;
    }
    if (!json_is_string(v) || !text_valid(json_string_value(v), json_string_length(v)))
        return false;
    strbuf_append(out, json_string_value(v), json_string_length(v));
    return true;
}

/* ---- the attributes ---------------------------------------------------------------- */

static void map_type(const char *event, const struct mapping *m, const json_t *payload,
                     struct strbuf *type)
{
    strbuf_appendf(type, "com.github.%s", event);
    for (size_t i = 0; i < 2 && m->detail[i] != NULL; i++) {
        size_t before = type->len;

        strbuf_append(type, ".", 1);
        if (!append_value(payload, m->detail[i], type)) {
            type->len = before; /* no such value: the type stops here */
            type->data[before] = '\0';
            break;
        }
    }
}

/* The row's own source; false when its values are absent. */
static bool row_source(const struct mapping *m, const json_t *payload, struct strbuf *source)
{
    char *slash;

    if (m->source[0] == NULL) {
        strbuf_append_str(source, m->literal);
        return true;
    }
    if (!append_value(payload, m->source[0], source))
        return false;
    if (m->source[1] != NULL) {
        strbuf_append(source, "/", 1);
        if (!append_value(payload, m->source[1], source)) {
            strbuf_reset(source);
            return false;
        }
    }
    slash = m->source_parent ? strrchr(source->data, '/') : NULL;
    if (slash != NULL && slash > source->data && slash[-1] != '/') {
        source->len = (size_t)(slash - source->data);
        *slash = '\0';
    }
    return true;
}

static void map_source(const struct mapping *m, const json_t *payload, struct strbuf *source)
{
    if (row_source(m, payload, source))
        return;
    for (size_t i = 0; i < sizeof(source_fallbacks) / sizeof(source_fallbacks[0]); i++)
        if (append_value(payload, source_fallbacks[i], source))
            return;
    strbuf_append_str(source, SOURCE_LAST_RESORT);
}

/* A time value: an RFC 3339 string as it is, or seconds since 1970 written as one. */
static bool append_time(const json_t *payload, const char *path, struct strbuf *out)
{
    const json_t *v = at_path(payload, path);
    /* 9999-12-31T23:59:59Z: past it the year has five digits. */
    const json_int_t last_second = 253402300799;

    if (json_is_string(v) && github_time_valid(json_string_value(v), json_string_length(v))) {
        strbuf_append(out, json_string_value(v), json_string_length(v));
        return true;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0 &&
        json_integer_value(v) <= last_second) {
        time_t seconds = (time_t)json_integer_value(v);
        struct tm tm;
        char text[32];

        gmtime_r(&seconds, &tm);
        strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
        strbuf_append_str(out, text);
        return true;
    }
    return false;
}

static void map_time(const struct mapping *m, const json_t *payload, struct strbuf *time)
{
    if (m->time_rule == TIME_RELEASE) {
        const json_t *action = json_object_get(payload, "action");
        struct strbuf path = STRBUF_INIT;

        if (json_is_string(action) && text_valid(json_string_value(action),
                                                 json_string_length(action))) {
            strbuf_appendf(&path, "release.%s_at", json_string_value(action));
            append_time(payload, path.data, time);
        }
        strbuf_free(&path);
        return;
    }
    for (size_t i = 0; i < 2 && m->time[i] != NULL; i++)
        if (append_time(payload, m->time[i], time))
            return;
}

void github_map(const char *event, const json_t *payload, struct github_attrs *out)
{
    const struct mapping *m = mapping_of(event);

    strbuf_reset(&out->type);
    strbuf_reset(&out->source);
    strbuf_reset(&out->subject);
    strbuf_reset(&out->time);
    map_type(event, m, payload, &out->type);
    map_source(m, payload, &out->source);
    if (m->subject != NULL)
        append_value(payload, m->subject, &out->subject);
    map_time(m, payload, &out->time);
}

void github_attrs_free(struct github_attrs *attrs)
{
    strbuf_free(&attrs->type);
    strbuf_free(&attrs->source);
    strbuf_free(&attrs->subject);
    strbuf_free(&attrs->time);
}

/* ---- checks of text ---------------------------------------------------------------- */

bool github_event_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_' || name[i] == '-'))
            return false;
    return true;
}

/* Whether text[at..] matches pattern, where 'd' is a digit and any other
 * character itself; *at moves past the match. */
static bool shape(const char *text, size_t len, size_t *at, const char *pattern)
{
    size_t n = strlen(pattern);

    if (len - *at < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = text[*at + i];

        if (pattern[i] == 'd' ? !(c >= '0' && c <= '9') : c != pattern[i])
            return false;
    }
    *at += n;
    return true;
}

bool github_time_valid(const char *text, size_t len)
{
    size_t at = 0;

    if (!shape(text, len, &at, "dddd-dd-dd") || at == len || (text[at] != 'T' && text[at] != 't'))
        return false;
    at++;
    if (!shape(text, len, &at, "dd:dd:dd"))
        return false;
    if (at < len && text[at] == '.') {
        size_t digits = ++at;

        while (at < len && text[at] >= '0' && text[at] <= '9')
            at++;
        if (at == digits)
            return false;
    }
    if (at < len && (text[at] == 'Z' || text[at] == 'z'))
        return at + 1 == len;
    if (at < len && (text[at] == '+' || text[at] == '-')) {
        at++;
        return shape(text, len, &at, "dd:dd") && at == len;
    }
    return false;
}

/* ---- the body --------------------------------------------------------------------- */

enum body_kind {
    BODY_JSON,
    BODY_FORM,
    BODY_OTHER,
};

/* The media type, parameters and case aside. */
static enum body_kind body_kind(const char *type, size_t len)
{
    const char *semi = memchr(type, ';', len);
    size_t n = semi != NULL ? (size_t)(semi - type) : len;

    while (n > 0 && (type[n - 1] == ' ' || type[n - 1] == '\t'))
        n--;
    while (n > 0 && (*type == ' ' || *type == '\t')) {
        type++;
        n--;
    }
    if (n == 16 && strncasecmp(type, "application/json", n) == 0)
        return BODY_JSON;
    if (n == 33 && strncasecmp(type, "application/x-www-form-urlencoded", n) == 0)
        return BODY_FORM;
    return BODY_OTHER;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends a form value decoded ('+' a space, %XX a byte); false at a bad escape. */
static bool form_decode(const char *s, size_t len, struct strbuf *out)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '%') {
            int hi = i + 2 < len ? hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_digit(s[i + 2]) : -1;

            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+')
            c = ' ';
        strbuf_append(out, &c, 1);
    }
    return true;
}

/* The form's field "payload", decoded, into out; -EINVAL with err when there is none. */
static int form_payload(const char *body, size_t len, struct strbuf *out, const char **field,
                        struct strbuf *err)
{
    const char *end = body + len;

    for (const char *pair = body; pair < end;) {
        const char *amp = memchr(pair, '&', (size_t)(end - pair));
        const char *stop = amp != NULL ? amp : end;

        if (stop - pair >= 8 && memcmp(pair, "payload=", 8) == 0) {
            *field = "payload";
            if (form_decode(pair + 8, (size_t)(stop - pair - 8), out))
                return 0;
            strbuf_append_str(err, "payload: a bad %-escape in the form field (expected % and "
                                   "two hex digits)");
            return -EINVAL;
        }
        pair = stop + 1;
    }
    *field = "body";
    strbuf_append_str(err, "body: expected the form field payload=<JSON> (a form delivery of "
                           "GitHub)");
    return -EINVAL;
}

static int parse_json(struct github_body *out, const char *field, struct strbuf *err)
{
    json_error_t error;

    out->payload = json_loadb(out->json.data, out->json.len, 0, &error);
    if (out->payload == NULL) {
        strbuf_appendf(err, "%s: invalid JSON at line %d, column %d: %s", field, error.line,
                       error.column, error.text);
        return -EINVAL;
    }
    if (!json_is_object(out->payload)) {
        strbuf_appendf(err, "%s: expected a JSON object (a GitHub event payload)", field);
        json_decref(out->payload);
        out->payload = NULL;
        return -EINVAL;
    }
    return 0;
}

int github_body_parse(const char *content_type, size_t content_type_len, const char *body,
                      size_t body_len, struct github_body *out, const char **field,
                      struct strbuf *err)
{
    enum body_kind kind = content_type != NULL ? body_kind(content_type, content_type_len)
                                               : BODY_OTHER;
    int rc;

    *out = (struct github_body){NULL, STRBUF_INIT};
    *field = "Content-Type";
    if (kind == BODY_OTHER) {
        strbuf_appendf(err, "Content-Type: expected application/json or "
                            "application/x-www-form-urlencoded; got %s%.*s%s",
                       content_type != NULL ? "\"" : "",
                       content_type != NULL ? (int)(content_type_len < 100 ? content_type_len : 100)
                                            : 4,
                       content_type != NULL ? content_type : "none",
                       content_type != NULL ? "\"" : "");
        return -EINVAL;
    }
    if (kind == BODY_JSON) {
        *field = "body";
        strbuf_append(&out->json, body, body_len);
    } else if ((rc = form_payload(body, body_len, &out->json, field, err)) != 0) {
        github_body_free(out);
        return rc;
    }
    rc = parse_json(out, *field, err);
    if (rc != 0)
        github_body_free(out);
    return rc;
}

void github_body_free(struct github_body *body)
{
    json_decref(body->payload);
    body->payload = NULL;
    strbuf_free(&body->json);
}

/*
 * test-github.c -- the source-github connector (connectors/source-github)
 * in the real vaned, fed GitHub's own example payloads.
 *
 * The payloads come from the npm package @octokit/webhooks-examples
 * (api.github.com/index.json: an array of {name, actions, examples}, name
 * being the X-GitHub-Event value), which ./quickstart.sh installs and make
 * check points at with $VANE_GITHUB_EXAMPLES; without it the test skips.
 * Every example is signed with HMAC-SHA256 (OpenSSL here, independent of
 * the connector's code), posted -- one in five as a form delivery -- and
 * the stored event read back and checked against the CloudEvents GitHub
 * adapter specification, transcribed below as one line per event
 * (expectations[]) and interpreted here, apart from the connector's own
 * table.
 *
 * Also: the known signature vector of GitHub's documentation; refusals
 * (unsigned, a wrong signature, a body changed after signing, a wrong
 * method, content type or header, bad JSON) answered with nothing stored;
 * ping; an event the specification does not list; a redelivery stored once,
 * past the broker's idempotency window (set to 1 s here) and across a
 * restart; a delivery the broker cannot take answered 503, and one not
 * durable within answer_within too, yet recorded once stored; the delivery
 * record (delivery_log.c, compiled in) shared by two openers on one
 * folder, and rewritten.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../connectors/source-github/delivery_log.h"
#include "core/alloc.h"
#include "harness.h"
#include "tap.h"

#define SECRET "It's a Secret to Everybody"
#define OLD_SECRET "the secret before"

static const char *base; /* vaned's URL: main's v.url, which follows it across restarts */

/* ---- deliveries ---------------------------------------------------------------------- */

/* "sha256=" and the HMAC-SHA256 of body under secret, in lower-case hex. */
static char *sign(const char *secret, const char *body, size_t len)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char *out = vane_asprintf("sha256=%64s", "");

    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, digest, &n);
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", digest[i]);
    return out;
}

/* A delivery as GitHub makes it; any member NULL leaves its header out. */
struct delivery {
    const char *method;
    const char *content_type;
    const char *event;
    const char *id;
    const char *signature; /* the X-Hub-Signature-256 value */
    const char *body;
    size_t body_len;
    const char *url;       /* NULL: the gh connector's, base + "/connectors/gh" */
};

static long deliver(const struct delivery *d, char **answer)
{
    char *lines[6] = {NULL};
    char *gh_url = d->url != NULL ? NULL : vane_asprintf("%s/connectors/gh", base);
    const char *headers[10];
    size_t n = 0;
    struct http_call call;
    struct http_reply reply;
    long status;

    /* "Content-Type:" alone keeps libcurl from adding one of its own. */
    headers[n++] = lines[0] = vane_asprintf("Content-Type:%s%s", d->content_type ? " " : "",
                                            d->content_type ? d->content_type : "");
    if (d->event)
        headers[n++] = lines[1] = vane_asprintf("X-GitHub-Event: %s", d->event);
    if (d->id)
        headers[n++] = lines[2] = vane_asprintf("X-GitHub-Delivery: %s", d->id);
    if (d->signature)
        headers[n++] = lines[3] = vane_asprintf("X-Hub-Signature-256: %s", d->signature);
    headers[n++] = "X-GitHub-Hook-ID: 292430182";
    headers[n++] = "X-GitHub-Hook-Installation-Target-Type: repository";
    headers[n++] = "X-GitHub-Hook-Installation-Target-ID: 35129377";
    headers[n++] = "User-Agent: GitHub-Hookshot/044aadd";
    headers[n] = NULL;
    call = (struct http_call){d->method ? d->method : "POST", d->url ? d->url : gh_url, headers,
                              d->body, d->body_len, HTTP_1_1};
    if (http_call(&call, &reply) != 0)
        reply.status = 0;
    status = reply.status;
    if (answer != NULL)
        *answer = vane_strdup(reply.body ? reply.body : "");
    http_reply_free(&reply);
    for (size_t i = 0; i < 6; i++)
        vane_free(lines[i]);
    vane_free(gh_url);
    return status;
}

/* A signed JSON delivery of body. */
static long deliver_json(const char *event, const char *id, const char *body, char **answer)
{
    char *signature = sign(SECRET, body, strlen(body));
    struct delivery d = {NULL, "application/json", event, id, signature, body, strlen(body), NULL};
    long status = deliver(&d, answer);

    vane_free(signature);
    return status;
}

/* ---- the eventbus ------------------------------------------------------------------ */

/* How many events the eventbus github holds. */
static json_int_t stored_count(void)
{
    return api_stored_count(base, "github");
}

/* Every stored event of the eventbus github: id -> array of the events with that id. */
static json_t *read_all(void)
{
    json_t *by_id = json_object();
    json_int_t offset = 0;

    for (int page = 0; page < 200; page++) {
        char *path = vane_asprintf("/api/v1/eventbuses/github/events?eventlog=0&offset=%lld"
                                   "&limit=1000", (long long)offset);
        long status;
        json_t *doc = api_call(base, "GET", path, NULL, &status), *entry;
        json_t *events = json_object_get(doc, "events");
        size_t i, count = json_array_size(events);

        json_array_foreach(events, i, entry) {
            json_t *ev = json_object_get(entry, "event");
            const char *id = json_string_value(json_object_get(ev, "id"));

            if (json_object_get(by_id, id) == NULL)
                json_object_set_new(by_id, id, json_array());
            json_array_append(json_object_get(by_id, id), ev);
            offset = json_integer_value(json_object_get(entry, "offset")) + 1;
        }
        vane_free(path);
        json_decref(doc);
        if (count == 0)
            break;
    }
    return by_id;
}

/* ---- the specification, one line per event ------------------------------------------ *
 *
 *     <event> <source> <type details> <subject> <time>
 *
 * source: a path into the payload; a+/+b joins two with '/'; a^ drops the
 * last path segment; 'text is literal.  details: +a+b appends "." and the
 * value of each path to com.github.<event>; - none.  subject: a path, or -
 * (no subject).  time: paths tried in order, separated by |, {action}
 * standing for the action; - (the time of arrival).  A value missing from
 * the payload falls back: a source to repository.url, organization.url,
 * sender.url, then https://github.com; a subject or time is left out (time:
 * the time of arrival). */
static const char *const expectations[] = {
    "branch_protection_rule repository.url +action rule.id rule.updated_at",
    "check_run repository.url +action check_run.id check_run.completed_at|check_run.started_at",
    "check_suite repository.url +action check_suite.id check_suite.updated_at",
    "code_scanning_alert repository.url +action alert.number -",
    "commit_comment comment.url+/+comment.commit_id +action comment.id comment.updated_at",
    "create repository.url +ref_type ref -",
    "delete repository.url +ref_type ref -",
    "dependabot_alert repository.url +action alert.id -",
    "deploy_key repository.url +action key.id key.deleted_at|key.created_at",
    "deployment repository.url - deployment.id deployment.updated_at",
    "deployment_review deployment.url +action workflow_run.id -",
    "deployment_status deployment.url +deployment_status.state deployment_status.url "
    "deployment_status.updated_at",
    "discussion repository.url +action discussion.id -",
    "discussion_comment repository.url +action discussion.id comment.updated_at",
    "fork repository.url - forkee.url forkee.created_at",
    "github_app_authorization sender.url - - -",
    "gollum repository.url - - -",
    "installation installation.account.url +action installation.id installation.updated_at",
    "installation_repositories installation.account.url +action installation.id "
    "installation.updated_at",
    "issue_comment issue.url +action comment.id comment.updated_at",
    "issues repository.url +action issue.number issue.updated_at",
    "label repository.url +action label.name -",
    "marketplace_purchase sender.url^ +action marketplace_purchase.account.login effective_date",
    "member repository.url +action member.login -",
    "membership team.url +scope+action member.login -",
    "merge_group repository.url +action merge_group.head_ref -",
    "meta repository.url +action hook_id hook.updated_at",
    "milestone repository.url +action milestone.number milestone.updated_at",
    "organization organization.url +action membership.user.login -",
    "org_block organization.url +action blocked_user.login -",
    "package repository.url +action package.id package.updated_at|package.created_at",
    "page_build repository.url - build.url build.updated_at",
    "project repository.url +action project.id project.updated_at",
    "project_card repository.url +action project_card.id project_card.updated_at",
    "project_column repository.url +action project_column.id project_column.updated_at",
    "projects_v2_item repository.url +action projects_v2_item.id projects_v2_item.updated_at",
    "public repository.owner.url - repository.name repository.updated_at",
    "pull_request repository.url +action number pull_request.updated_at",
    "pull_request_review pull_request.url +action review.id review.submitted_at",
    "pull_request_review_comment pull_request.url +action comment.id pull_request.updated_at",
    "pull_request_review_thread pull_request.url +action pull_request.id -",
    "push repository.url - ref -",
    "release repository.url +action release.id release.{action}_at",
    "repository repository.owner.url +action repository.name repository.updated_at",
    "repository_dispatch repository.owner.url +action - -",
    "repository_import repository.owner.url - repository.name repository.updated_at",
    "repository_vulnerability_alert repository.url +action alert.id -",
    "security_advisory 'github.com +action security_advisory.ghsa_id "
    "security_advisory.updated_at",
    "sponsorship repository.url +action sponsorship.sponsor.login -",
    "star repository.url +action - starred_at",
    "status repository.url +state sha updated_at",
    "team repository.url +action team.id updated_at",
    "team_add repository.url +action team.id -",
    "watch repository.url +action - -",
    "workflow_dispatch repository.url - workflow -",
    "workflow_job repository.url +action workflow_job.name -",
    "workflow_run repository.url +action workflow.name -",
};

struct expectation {
    char event[64], source[128], details[64], subject[64], time[128];
};

static bool expectation_of(const char *event, struct expectation *e)
{
    for (size_t i = 0; i < sizeof(expectations) / sizeof(expectations[0]); i++)
        if (sscanf(expectations[i], "%63s %127s %63s %63s %127s", e->event, e->source,
                   e->details, e->subject, e->time) == 5 &&
            strcmp(e->event, event) == 0)
            return true;
    return false;
}

/* The text of the value at a dotted path (len bytes of path): a non-empty
 * string, or an integer in decimal; NULL when there is none. */
static char *text_at(const json_t *doc, const char *path, size_t len)
{
    char *copy = vane_asprintf("%.*s", (int)len, path), *save = NULL, *out = NULL;

    for (char *key = strtok_r(copy, ".", &save); key && doc; key = strtok_r(NULL, ".", &save))
        doc = json_object_get(doc, key);
    if (json_is_string(doc) && json_string_length(doc) > 0)
        out = vane_strdup(json_string_value(doc));
    else if (json_is_integer(doc))
        out = vane_asprintf("%lld", (long long)json_integer_value(doc));
    vane_free(copy);
    return out;
}

static char *expected_source(const struct expectation *e, const json_t *payload)
{
    static const char *const fallbacks[] = {"repository.url", "organization.url", "sender.url"};
    const char *join = strstr(e->source, "+/+");
    size_t len = strlen(e->source);
    char *out;

    if (e->source[0] == '\'')
        return vane_strdup(e->source + 1);
    if (join != NULL) {
        char *a = text_at(payload, e->source, (size_t)(join - e->source));
        char *b = text_at(payload, join + 3, strlen(join + 3));

        out = a && b ? vane_asprintf("%s/%s", a, b) : NULL;
        vane_free(a);
        vane_free(b);
    } else
        out = text_at(payload, e->source, e->source[len - 1] == '^' ? len - 1 : len);
    if (out != NULL && e->source[len - 1] == '^')
        *strrchr(out, '/') = '\0';
    for (size_t i = 0; out == NULL && i < 3; i++)
        out = text_at(payload, fallbacks[i], strlen(fallbacks[i]));
    return out != NULL ? out : vane_strdup("https://github.com");
}

static char *expected_type(const struct expectation *e, const json_t *payload)
{
    char *type = vane_asprintf("com.github.%s", e->event);
    const char *p = e->details;

    while (*p == '+') {
        size_t len = strcspn(p + 1, "+");
        char *value = text_at(payload, p + 1, len), *longer;

        if (value == NULL)
            break;
        longer = vane_asprintf("%s.%s", type, value);
        vane_free(type);
        vane_free(value);
        type = longer;
        p += 1 + len;
    }
    return type;
}

/* The payload's time (an RFC 3339 string, or seconds since 1970), or NULL: arrival. */
static char *expected_time(const struct expectation *e, const json_t *payload)
{
    const char *action = json_string_value(json_object_get(payload, "action"));
    char *paths = vane_strdup(e->time), *save = NULL, *out = NULL;

    for (char *p = strtok_r(paths, "|", &save); p && !out && strcmp(p, "-") != 0;
         p = strtok_r(NULL, "|", &save)) {
        char *at = strstr(p, "{action}");
        char *path = at ? vane_asprintf("%.*s%s%s", (int)(at - p), p, action ? action : "",
                                        at + 8)
                        : vane_strdup(p);
        char *text = text_at(payload, path, strlen(path));

        if (text != NULL && text[0] >= '0' && text[0] <= '9' && strchr(text, '-') == NULL) {
            time_t seconds = (time_t)atoll(text);
            char formatted[32];

            strftime(formatted, sizeof(formatted), "%Y-%m-%dT%H:%M:%SZ", gmtime(&seconds));
            vane_free(text);
            text = vane_strdup(formatted);
        }
        out = text;
        vane_free(path);
    }
    vane_free(paths);
    return out;
}

/* ---- comparing one stored event ------------------------------------------------------ */

static double now_s(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Seconds since 1970 of an RFC 3339 UTC time written by the connector ("...Z"). */
static double time_s(const char *text)
{
    struct tm tm = {0};
    const char *rest = text ? strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;

    return rest ? (double)timegm(&tm) + (*rest == '.' ? atof(rest) : 0) : -1;
}

/* Appends "name: got X, want Y; " to *why when the attribute differs. */
static void compare(char **why, const char *name, const char *got, const char *want)
{
    char *longer;

    if ((got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0))
        return;
    longer = vane_asprintf("%s%s: got %s, want %s; ", *why, name, got ? got : "(none)",
                           want ? want : "(none)");
    vane_free(*why);
    *why = longer;
}

#define ATTR(ev, name) json_string_value(json_object_get(ev, name))

/* What is wrong with the stored event ev of a delivery of payload (empty: nothing). */
static char *check_event(const struct expectation *e, const json_t *payload, const json_t *ev,
                         double sent, double answered)
{
    char *why = vane_strdup("");
    char *source = expected_source(e, payload), *type = expected_type(e, payload);
    char *subject = strcmp(e->subject, "-") == 0 ? NULL
                                                 : text_at(payload, e->subject, strlen(e->subject));
    char *time = expected_time(e, payload);
    double at = time_s(ATTR(ev, "time"));

    compare(&why, "type", ATTR(ev, "type"), type);
    compare(&why, "source", ATTR(ev, "source"), source);
    compare(&why, "subject", ATTR(ev, "subject"), subject);
    if (time != NULL)
        compare(&why, "time", ATTR(ev, "time"), time);
    else if (at < sent - 1 || at > answered + 1)
        compare(&why, "time", ATTR(ev, "time"), "the time of arrival");
    compare(&why, "datacontenttype", ATTR(ev, "datacontenttype"), "application/json");
    compare(&why, "specversion", ATTR(ev, "specversion"), "1.0");
    compare(&why, "githubhookid", ATTR(ev, "githubhookid"), "292430182");
    compare(&why, "githubtargettype", ATTR(ev, "githubtargettype"), "repository");
    compare(&why, "githubtargetid", ATTR(ev, "githubtargetid"), "35129377");
    if (!json_equal(json_object_get(ev, "data"), (json_t *)payload))
        compare(&why, "data", "other JSON", "the payload");
    vane_free(source);
    vane_free(type);
    vane_free(subject);
    vane_free(time);
    return why;
}

/* ---- the examples ---------------------------------------------------------------------- */

/* A form delivery of body: payload=<body, form-encoded>. */
static long deliver_form(const char *event, const char *id, const char *body)
{
    size_t len = strlen(body);
    char *form = vane_malloc(8 + 3 * len + 1), *p = form, *signature;
    struct delivery d;
    long status;

    p += sprintf(p, "payload=");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)body[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.')
            *p++ = (char)c;
        else if (c == ' ')
            *p++ = '+';
        else
            p += sprintf(p, "%%%02X", c);
    }
    *p = '\0';
    signature = sign(SECRET, form, strlen(form));
    d = (struct delivery){NULL, "application/x-www-form-urlencoded", event, id, signature, form,
                          strlen(form), NULL};
    status = deliver(&d, NULL);
    vane_free(signature);
    vane_free(form);
    return status;
}

struct sent {
    char id[32];
    const char *event;
    json_t *payload; /* borrowed from the index */
    double at, answered;
};

static void test_examples(const json_t *index)
{
    struct sent *sent = vane_calloc(1024, sizeof(*sent));
    size_t count = 0, i, j, stored_once = 0, matching = 0, pings = 0, pongs = 0, unlisted = 0;
    json_t *group, *payload, *by_id;
    json_int_t before = stored_count();

    json_array_foreach(index, i, group) {
        const char *event = json_string_value(json_object_get(group, "name"));

        json_array_foreach(json_object_get(group, "examples"), j, payload) {
            struct sent *s = &sent[count];
            char *body = json_dumps(payload, JSON_COMPACT), *answer = NULL;
            long status;

            if (count == 1024)
                break;
            snprintf(s->id, sizeof(s->id), "example-%zu", count);
            s->event = event;
            s->payload = payload;
            s->at = now_s();
            status = count % 5 == 4 ? deliver_form(event, s->id, body)
                                    : deliver_json(event, s->id, body, &answer);
            s->answered = now_s();
            if (strcmp(event, "ping") == 0) {
                pings++;
                pongs += status == 200;
            }
            else if (status != 202)
                tap_diag("%s %s: answered %ld %s", event, s->id, status, answer ? answer : "");
            count++;
            vane_free(answer);
            free(body);
        }
    }
    ok(count >= 300, "the package has GitHub's example payloads (%zu)", count);
    by_id = read_all();
    for (size_t k = 0; k < count; k++) {
        struct expectation e;
        json_t *copies = json_object_get(by_id, sent[k].id);
        char *why;

        if (strcmp(sent[k].event, "ping") == 0)
            continue;
        stored_once += json_array_size(copies) == 1;
        if (!expectation_of(sent[k].event, &e)) {
            tap_diag("%s: an event the test has no expectation for", sent[k].event);
            unlisted++;
            continue;
        }
        why = check_event(&e, sent[k].payload, json_array_get(copies, 0), sent[k].at,
                          sent[k].answered);
        if (why[0] == '\0')
            matching++;
        else
            tap_diag("%s %s: %s", sent[k].event, sent[k].id, why);
        vane_free(why);
    }
    is_int(pongs, pings, "each example ping is answered 200");
    is_int(stored_once, count - pings, "every other example is stored, once");
    is_int(stored_count() - before, count - pings, "and nothing else is stored (pings are not)");
    is_int(unlisted, 0, "every example's event is in the specification");
    is_int(matching, count - pings, "every stored event maps as the specification says: type, "
           "source, subject, time, data, the hook's extensions");
    json_decref(by_id);
    vane_free(sent);
}

/* ---- signatures and refusals ------------------------------------------------------------ */

static void test_vector(void)
{
    char *got = sign(SECRET, "Hello, World!", 13), *answer = NULL;
    struct delivery d = {NULL, "application/json", "push", "vector-1", got, "Hello, World!", 13,
                         NULL};

    is_str(got, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
           "the test signs as GitHub documents it");
    is_int(deliver(&d, &answer), 400, "the connector accepts that signature (and then refuses "
           "the body, which is not JSON)");
    contains(answer, "\"field\":\"body\"", "naming the body");
    vane_free(answer);
    got[strlen(got) - 1] = '0'; /* ...e17 -> ...e10 */
    is_int(deliver(&d, NULL), 401, "one digit changed: 401");
    vane_free(got);
}

/* A signed delivery changed by one mutation; the expected answer and field. */
struct refusal {
    const char *why;
    struct delivery d;
    long status;
    const char *field;
};

static void test_refusals(void)
{
    const char *body = "{\"ref\":\"refs/heads/main\",\"repository\":{\"url\":\"https://x\"}}";
    const char *tampered = "{\"ref\":\"refs/heads/evil\",\"repository\":{\"url\":\"https://x\"}}";
    size_t len = strlen(body);
    char *good = sign(SECRET, body, len), *other = sign("not the secret", body, len);
    char *form_sig = sign(SECRET, "zen=1&hook_id=2", 15);
    char *escape_sig = sign(SECRET, "payload=%7Bx%", 13);
    char *array_sig = sign(SECRET, "[1]", 3), *text_sig = sign(SECRET, "{nope", 5);
    const struct refusal cases[] = {
        {"no signature", {NULL, "application/json", "push", "r-1", NULL, body, len, NULL}, 401,
         "X-Hub-Signature-256"},
        {"signed with another secret",
         {NULL, "application/json", "push", "r-2", other, body, len, NULL}, 401,
         "X-Hub-Signature-256"},
        {"a body changed after signing",
         {NULL, "application/json", "push", "r-3", good, tampered, len, NULL}, 401,
         "X-Hub-Signature-256"},
        {"a signature in another form",
         {NULL, "application/json", "push", "r-4", good + 7, body, len, NULL}, 401,
         "X-Hub-Signature-256"},
        {"method PUT", {"PUT", "application/json", "push", "r-5", good, body, len, NULL}, 400,
         "method"},
        {"method GET", {"GET", NULL, NULL, NULL, NULL, NULL, 0, NULL}, 400, "method"},
        {"content type text/plain", {NULL, "text/plain", "push", "r-6", good, body, len, NULL},
         400, "Content-Type"},
        {"no content type", {NULL, NULL, "push", "r-7", good, body, len, NULL}, 400,
         "Content-Type"},
        {"no X-GitHub-Event", {NULL, "application/json", NULL, "r-8", good, body, len, NULL},
         400, "X-GitHub-Event"},
        {"a bad X-GitHub-Event",
         {NULL, "application/json", "Push Event", "r-9", good, body, len, NULL}, 400,
         "X-GitHub-Event"},
        {"no X-GitHub-Delivery", {NULL, "application/json", "push", NULL, good, body, len, NULL},
         400, "X-GitHub-Delivery"},
        {"a bad X-GitHub-Delivery",
         {NULL, "application/json", "push", "a b", good, body, len, NULL}, 400,
         "X-GitHub-Delivery"},
        {"unparsable JSON",
         {NULL, "application/json", "push", "r-10", text_sig, "{nope", 5, NULL}, 400, "body"},
        {"JSON that is not an object",
         {NULL, "application/json", "push", "r-11", array_sig, "[1]", 3, NULL}, 400, "body"},
        {"a form without payload",
         {NULL, "application/x-www-form-urlencoded", "push", "r-12", form_sig,
          "zen=1&hook_id=2", 15, NULL}, 400, "body"},
        {"a form with a bad escape",
         {NULL, "application/x-www-form-urlencoded", "push", "r-13", escape_sig,
          "payload=%7Bx%", 13, NULL}, 400, "payload"},
    };
    json_int_t before = stored_count();

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *answer = NULL, *field = vane_asprintf("\"field\":\"%s\"", cases[i].field);

        is_int(deliver(&cases[i].d, &answer), cases[i].status, "%s: %ld", cases[i].why,
               cases[i].status);
        contains(answer, field, "%s: the error names %s", cases[i].why, cases[i].field);
        vane_free(field);
        vane_free(answer);
    }
    is_int(stored_count(), before, "no refused delivery is stored");
    vane_free(good);
    vane_free(other);
    vane_free(form_sig);
    vane_free(escape_sig);
    vane_free(array_sig);
    vane_free(text_sig);
}

static void test_ping_and_old_secret(void)
{
    const char *body = "{\"zen\":\"Design for failure.\",\"hook_id\":1}";
    char *signature = sign(OLD_SECRET, body, strlen(body)), *answer = NULL;
    struct delivery d = {NULL, "application/json", "ping", "ping-1", signature, body,
                         strlen(body), NULL};
    json_int_t before = stored_count();

    is_int(deliver(&d, &answer), 200, "a ping signed with the second secret is answered 200");
    contains(answer, "\"stored\":false", "saying it is not stored");
    is_int(stored_count(), before, "a ping stores nothing");
    vane_free(answer);
    vane_free(signature);
}

static void test_unlisted_event(void)
{
    const char *body = "{\"action\":\"happened\",\"organization\":{\"url\":\"https://api.github."
                       "com/orgs/octo\"},\"sender\":{\"url\":\"https://api.github.com/users/a\"}}";
    json_t *by_id, *ev;
    double sent = now_s();

    is_int(deliver_json("future_thing", "unlisted-1", body, NULL), 202,
           "an event the specification does not list is stored");
    by_id = read_all();
    ev = json_array_get(json_object_get(by_id, "unlisted-1"), 0);
    is_str(ATTR(ev, "type"), "com.github.future_thing.happened", "as com.github.<event>.<action>");
    is_str(ATTR(ev, "source"), "https://api.github.com/orgs/octo",
           "its source the first found of repository, organization, sender");
    ok(json_object_get(ev, "subject") == NULL, "no subject");
    ok(time_s(ATTR(ev, "time")) >= sent - 1 && time_s(ATTR(ev, "time")) <= now_s() + 1,
       "its time the time of arrival");
    json_decref(by_id);
}

/* ---- exactly once ---------------------------------------------------------------------- */

/* Delivers the same push again; the answer's status and body. */
static long redeliver(const char *id, char **answer)
{
    return deliver_json("push", id, "{\"ref\":\"refs/heads/main\",\"repository\":{\"url\":"
                        "\"https://api.github.com/repos/o/r\"}}", answer);
}

static void test_redelivery(void)
{
    char *first = NULL, *again = NULL;
    json_int_t before = stored_count();
    json_t *first_doc, *again_doc, *a, *b;

    is_int(redeliver("again-1", &first), 202, "a delivery is stored");
    sleep(2); /* past the broker's idempotency window of 1 s (the test's config) */
    is_int(redeliver("again-1", &again), 200, "redelivered past the broker's window: 200");
    first_doc = json_loads(first, 0, NULL);
    again_doc = json_loads(again, 0, NULL);
    a = json_array_get(json_object_get(first_doc, "events"), 0);
    b = json_array_get(json_object_get(again_doc, "events"), 0);
    ok(json_is_true(json_object_get(b, "duplicate")), "answered as a duplicate");
    ok(json_equal(json_object_get(a, "offset"), json_object_get(b, "offset")) &&
       json_object_get(a, "offset") != NULL, "with the first delivery's position");
    is_int(stored_count(), before + 1, "and stored once");
    json_decref(first_doc);
    json_decref(again_doc);
    vane_free(first);
    vane_free(again);
}

static void test_after_restart(void)
{
    char *answer = NULL;
    json_int_t before = stored_count();

    is_int(redeliver("again-1", &answer), 200, "after a restart of vaned, a redelivery: 200");
    contains(answer, "\"duplicate\":true", "a duplicate");
    is_int(stored_count(), before, "nothing stored");
    vane_free(answer);
}

/* Two openers of one folder, as two instances of a connector are. */
static void test_record_shared(const char *dir)
{
    struct delivery_log a, b;
    struct delivery_pos pos = {2, 41}, got = {0, 0};
    struct strbuf err = STRBUF_INIT;
    char id[64];

    ok(delivery_log_open(&a, dir, 3600, 1000, &err) == 0 &&
       delivery_log_open(&b, dir, 3600, 1000, &err) == 0, "the record opens twice: %s",
       err.data ? err.data : "");
    is_int(delivery_log_find(&b, "x-1", &got, &err), 0, "an id not recorded is not found");
    is_int(delivery_log_add(&a, "x-1", &pos, &err), 0, "one records an id");
    is_int(delivery_log_find(&b, "x-1", &got, &err), 1, "the other finds it");
    is_int(got.offset, 41, "with its position");
    for (int i = 0; i < 2100; i++) { /* past 2 x keep_max: a rewrite */
        snprintf(id, sizeof(id), "bulk-%d", i);
        delivery_log_add(i % 2 ? &a : &b, id, &pos, &err);
    }
    ok(a.lines <= 2000 && b.lines <= 2000, "the file is rewritten to the newest it keeps "
       "(%zu and %zu lines)", a.lines, b.lines);
    is_int(delivery_log_find(&b, "bulk-2099", &got, &err), 1, "the newest is kept");
    is_int(delivery_log_find(&a, "bulk-1", &got, &err), 0, "the oldest is forgotten");
    delivery_log_close(&a);
    delivery_log_close(&b);
    strbuf_free(&err);
}

/* ---- the broker cannot take it ---------------------------------------------------------- */

static void test_unavailable(void)
{
    char *url = vane_asprintf("%s/connectors/gh-doomed", base), *answer = NULL;
    char *signature = sign(SECRET, "{}", 2);
    struct delivery d = {NULL, "application/json", "push", "doomed-1", signature, "{}", 2, url};
    long status;

    json_decref(api_call(base, "DELETE", "/api/v1/eventbuses/doomed", NULL, &status));
    is_int(status, 200, "the eventbus of connector gh-doomed is deleted");
    is_int(deliver(&d, &answer), 503, "a delivery the broker cannot store: 503");
    contains(answer, "send it again", "saying to send it again");
    vane_free(answer);
    vane_free(signature);
    vane_free(url);
}

/* A connector that answers after 1 ms at most: mostly before its event is
 * durable, which must still count as stored. */
static void test_answer_within(void)
{
    char *url = vane_asprintf("%s/connectors/gh-hurried", base), *answer = NULL;
    const char *body = "{\"ref\":\"refs/heads/main\",\"repository\":{\"url\":\"https://h\"}}";
    char *signature = sign(SECRET, body, strlen(body));
    struct delivery d = {NULL, "application/json", "push", "hurried-1", signature, body,
                         strlen(body), url};
    json_int_t before = stored_count();
    long status = deliver(&d, &answer);

    ok(status == 503 || status == 202, "answered within 1 ms: 503, or 202 if durable by then "
       "(%ld %s)", status, answer);
    if (status == 503)
        contains(answer, "not stored within 1 ms", "a 503 says how long it waited");
    for (int waited = 0; waited < harness_ms(5000) && stored_count() == before; waited += 20)
        usleep(20 * 1000);
    is_int(stored_count(), before + 1, "the event is stored all the same");
    vane_free(answer);
    answer = NULL;
    for (int waited = 0; waited < harness_ms(5000); waited += 20) {
        vane_free(answer);
        if ((status = deliver(&d, &answer)) == 200)
            break;
        usleep(20 * 1000);
    }
    is_int(status, 200, "and GitHub's redelivery is answered 200");
    contains(answer, "\"duplicate\":true", "as a duplicate");
    is_int(stored_count(), before + 1, "stored once");
    vane_free(answer);
    vane_free(signature);
    vane_free(url);
}

/* ---- the whole run -------------------------------------------------------------------- */

static json_t *load_examples(void)
{
    const char *dir = getenv("VANE_GITHUB_EXAMPLES");
    char *path = vane_asprintf("%s/api.github.com/index.json", dir ? dir : "");
    json_t *index = dir && *dir ? json_load_file(path, 0, NULL) : NULL;

    vane_free(path);
    return json_is_array(index) ? index : NULL;
}

static bool make_connectors(const char *tmpdir)
{
    char *gh = vane_asprintf("{\"name\":\"gh\",\"plugin\":\"source-github\",\"eventbus\":"
                             "\"github\",\"options\":{\"secrets\":[\"%s\",\"%s\"],\"state_dir\":"
                             "\"%s/state\"}}", SECRET, OLD_SECRET, tmpdir);
    char *doomed = vane_asprintf("{\"name\":\"gh-doomed\",\"plugin\":\"source-github\","
                                 "\"eventbus\":\"doomed\",\"options\":{\"secrets\":[\"%s\"],"
                                 "\"remember\":\"0\"}}", SECRET);
    char *hurried = vane_asprintf("{\"name\":\"gh-hurried\",\"plugin\":\"source-github\","
                                  "\"eventbus\":\"github\",\"options\":{\"secrets\":[\"%s\"],"
                                  "\"answer_within\":\"1ms\",\"state_dir\":\"%s/hurried\"}}",
                                  SECRET, tmpdir);
    bool made = api_post(base, "/api/v1/eventbuses", "{\"name\":\"github\"}") == 201 &&
                api_post(base, "/api/v1/eventbuses", "{\"name\":\"doomed\"}") == 201 &&
                api_post(base, "/api/v1/connectors", gh) == 201 &&
                api_post(base, "/api/v1/connectors", doomed) == 201 &&
                api_post(base, "/api/v1/connectors", hurried) == 201;

    vane_free(hurried);
    vane_free(gh);
    vane_free(doomed);
    return made;
}

/* The secrets are never shown by the API; sent back as shown, they are kept. */
static void test_secrets_hidden(void)
{
    long status;
    json_t *conn = api_call(base, "GET", "/api/v1/connectors/gh", NULL, &status);
    char *text = json_dumps(conn, JSON_COMPACT);

    is_int(status, 200, "GET the connector");
    is_str(json_string_value(json_object_get(json_object_get(conn, "options"), "secrets")),
           "*****", "its secrets are shown masked");
    ok(strstr(text, SECRET) == NULL, "and appear nowhere in the answer");
    free(text);
    json_decref(conn);
    conn = api_call(base, "PUT", "/api/v1/connectors/gh",
                    "{\"options\":{\"secrets\":\"*****\"}}", &status);
    is_int(status, 200, "a change sending the mask back");
    json_decref(conn);
}

static void test_unsigned_connector(struct vaned *v)
{
    char *url = vane_asprintf("%s/connectors/gh-open", base), *log;
    struct delivery d = {NULL, "application/json", "push", "open-1", NULL, "{}", 2, url};

    is_int(api_post(base, "/api/v1/connectors",
                    "{\"name\":\"gh-open\",\"plugin\":\"source-github\",\"eventbus\":"
                    "\"github\",\"options\":{\"remember\":\"0\"}}"), 201,
           "a connector without secrets");
    is_int(deliver(&d, NULL), 202, "takes unsigned deliveries");
    log = vaned_log(v);
    contains(log, "no secrets: deliveries are not verified", "and warned at its start");
    vane_free(log);
    vane_free(url);
}

int main(void)
{
    struct vaned v;
    json_t *index = load_examples();
    char *tmpdir, *data, *config, *text, *record;

    if (index == NULL)
        return tap_skip_all("the npm package @octokit/webhooks-examples is not installed "
                            "($VANE_GITHUB_EXAMPLES); ./quickstart.sh test installs it");
    tmpdir = harness_tempdir();
    data = vane_asprintf("%s/data", tmpdir);
    record = vane_asprintf("%s/record", tmpdir);
    text = vane_asprintf("return { plugins = { dirs = \"%s\" },\n"
                         "  gateway = { idempotency_window = \"1s\" } }\n",
                         getenv("VANE_CONNECTORS_BUILDDIR"));
    config = harness_write_file(tmpdir, "vane.lua", text);
    base = v.url;
    if (vaned_start_config(&v, data, config) != 0 || !make_connectors(tmpdir))
        return tap_skip_all("vaned did not start, or refused the connectors");
    test_vector();
    test_secrets_hidden();
    test_refusals();
    test_ping_and_old_secret();
    test_examples(index);
    test_unlisted_event();
    test_redelivery();
    test_unavailable();
    test_answer_within();
    test_unsigned_connector(&v);
    kill(v.pid, SIGTERM);
    is_int(vaned_wait(&v, harness_ms(20000)), 0, "vaned stops cleanly");
    vaned_cleanup(&v);
    if (vaned_start_config(&v, data, config) != 0)
        return tap_skip_all("vaned did not start again");
    test_after_restart();
    kill(v.pid, SIGTERM);
    is_int(vaned_wait(&v, harness_ms(20000)), 0, "vaned stops cleanly again");
    vaned_cleanup(&v);
    test_record_shared(record);
    json_decref(index);
    vane_free(text);
    vane_free(config);
    vane_free(data);
    vane_free(record);
    harness_rmtree(tmpdir);
    return tap_done();
}

/*
 * client.c -- HTTP requests to the broker with libcurl's easy interface
 * (see client.h).
 */
#include <string.h>

#include <curl/curl.h>

#include "client.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

static size_t on_body(char *data, size_t size, size_t count, void *arg)
{
    vane_buf_append(arg, data, size * count);
    return size * count;
}

static char *join_url(const char *endpoint, const char *path)
{
    size_t len = strlen(endpoint);

    while (len > 0 && endpoint[len - 1] == '/')
        len--;
    return vane_asprintf("%.*s%s", (int)len, endpoint, path);
}

/* curl_slist_append() copies, so the temporary line is freed here. */
static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value)
{
    char *line = vane_asprintf("%s: %s", name, value);

    list = curl_slist_append(list, line);
    vane_free(line);
    return list;
}

static struct curl_slist *request_headers(const struct client *client,
                                          const char *const *headers,
                                          const struct client_body *body)
{
    struct curl_slist *list = curl_slist_append(NULL, "Accept: application/json");

    /* An empty value removes a header curl would add on its own. */
    list = curl_slist_append(list, "Expect:");
    if (client->token != NULL) {
        char *credentials = vane_asprintf("Bearer %s", client->token);

        list = add_header(list, "Authorization", credentials);
        vane_free(credentials);
    }
    if (body != NULL)
        list = body->content_type != NULL
                   ? add_header(list, "Content-Type", body->content_type)
                   : curl_slist_append(list, "Content-Type:");
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        list = curl_slist_append(list, headers[i]);
    return list;
}

int client_send(const struct client *client, const char *method, const char *path,
                const char *const *headers, const struct client_body *body,
                struct client_reply *reply)
{
    struct vane_buf received = VANE_BUF_INIT;
    struct curl_slist *header_list = request_headers(client, headers, body);
    char errbuf[CURL_ERROR_SIZE] = "";
    char *url = join_url(client->endpoint, path);
    CURL *curl = curl_easy_init();
    CURLcode rc;
    int err = 0;

    memset(reply, 0, sizeof(*reply));
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &received);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, client->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
    /* A cluster node sends the connectors' calls to the node that runs them
     * (307: method and body kept); the token goes along, to the broker's own peer. */
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(curl, CURLOPT_UNRESTRICTED_AUTH, 1L);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->len > 0 ? body->data : "");
    }

    if ((rc = curl_easy_perform(curl)) != CURLE_OK) {
        reply->error = vane_strdup(errbuf[0] ? errbuf : curl_easy_strerror(rc));
        err = VANE_EHTTP;
    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
        if (received.len > 0) {
            reply->body = json_loadb(received.data, received.len, 0, NULL);
            reply->text_len = received.len;
            reply->text = vane_buf_detach(&received);
        }
    }
    curl_slist_free_all(header_list);
    curl_easy_cleanup(curl);
    vane_buf_free(&received);
    vane_free(url);
    return err;
}

int client_request(const struct client *client, const char *method, const char *path,
                   const json_t *body, struct client_reply *reply)
{
    struct client_body json_body = {"application/json", NULL, 0};
    char *payload = NULL;
    int err;

    if (body != NULL) {
        payload = json_dumps(body, JSON_COMPACT);
        json_body.data = payload;
        json_body.len = strlen(payload);
    }
    err = client_send(client, method, path, NULL, body != NULL ? &json_body : NULL, reply);
    free(payload);
    return err;
}

void client_reply_free(struct client_reply *reply)
{
    json_decref(reply->body);
    vane_free(reply->text);
    vane_free(reply->error);
    memset(reply, 0, sizeof(*reply));
}

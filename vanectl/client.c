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

int client_request(const struct client *client, const char *method, const char *path,
                   const json_t *body, struct client_reply *reply)
{
    struct vane_buf received = VANE_BUF_INIT;
    struct curl_slist *headers = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    char *url = join_url(client->endpoint, path);
    char *payload = NULL;
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
    headers = curl_slist_append(headers, "Accept: application/json");
    if (body != NULL) {
        payload = json_dumps(body, JSON_COMPACT);
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

    if ((rc = curl_easy_perform(curl)) != CURLE_OK) {
        reply->error = vane_strdup(errbuf[0] ? errbuf : curl_easy_strerror(rc));
        err = VANE_EHTTP;
    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
        if (received.len > 0)
            reply->body = json_loadb(received.data, received.len, 0, NULL);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    vane_buf_free(&received);
    free(payload);
    vane_free(url);
    return err;
}

void client_reply_free(struct client_reply *reply)
{
    json_decref(reply->body);
    vane_free(reply->error);
    memset(reply, 0, sizeof(*reply));
}

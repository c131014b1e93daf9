/*
 * outgoing.c -- the request sink-http sends for one event (see outgoing.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "outgoing.h"

void outgoing_init(struct outgoing *out)
{
    memset(out, 0, sizeof(*out));
    out->headers = json_object();
}

void outgoing_free(struct outgoing *out)
{
    free(out->url);
    free(out->method);
    json_decref(out->headers);
    strbuf_free(&out->body);
    memset(out, 0, sizeof(*out));
}

bool outgoing_is_token(const char *name, size_t len)
{
    static const char specials[] = "!#$%&'*+-.^_`|~";

    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];

        if (!isalnum(c) && (c == '\0' || strchr(specials, c) == NULL))
            return false;
    }
    return true;
}

int outgoing_header(struct outgoing *out, const char *name, size_t name_len, const char *value,
                    size_t value_len)
{
    struct strbuf key = STRBUF_INIT, line = STRBUF_INIT;

    if (!outgoing_is_token(name, name_len) || memchr(value, '\r', value_len) != NULL ||
        memchr(value, '\n', value_len) != NULL || memchr(value, '\0', value_len) != NULL)
        return -EINVAL;
    for (size_t i = 0; i < name_len; i++) {
        char c = (char)tolower((unsigned char)name[i]);

        strbuf_append(&key, &c, 1);
    }
    /* curl drops a header written "Name:" and sends "Name;" as one with an empty value. */
    strbuf_append(&line, name, name_len);
    if (value_len == 0)
        strbuf_append(&line, ";", 1);
    else {
        strbuf_append(&line, ": ", 2);
        strbuf_append(&line, value, value_len);
    }
    json_object_set_new(out->headers, key.data, json_stringn_nocheck(line.data, line.len));
    strbuf_free(&key);
    strbuf_free(&line);
    return 0;
}

void outgoing_headers_from(struct outgoing *out, const json_t *headers)
{
    const char *name;
    json_t *value;

    json_object_foreach((json_t *)headers, name, value)
        outgoing_header(out, name, strlen(name), json_string_value(value),
                        json_string_length(value));
}

struct curl_slist *outgoing_header_list(const struct outgoing *out)
{
    struct curl_slist *list = NULL;
    const char *name;
    json_t *line;

    json_object_foreach(out->headers, name, line)
        list = curl_slist_append(list, json_string_value(line));
    return list;
}

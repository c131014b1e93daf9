/*
 * auth.c -- the bearer token and its check (see auth.h).
 *
 * The token file is created with O_EXCL, so two starts can never write two
 * different tokens (the data directory lock already keeps a second vaned
 * out; O_EXCL also keeps an operator's own file intact).  A file that
 * others can read still works, with a warning each start: refusing it would
 * stop a broker over a chmod.  The check compares the whole token with
 * CRYPTO_memcmp only when the lengths are equal; the length of a token is
 * not a secret (a generated one is always 64 hex digits).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/net.h"
#include "gateway/auth.h"
#include "gateway/response.h"

static const char component[] = "auth";

#define TOKEN_RANDOM_BYTES 32
#define TOKEN_MAX 1024 /* the longest token read from the file */

struct auth {
    bool required[2]; /* by enum auth_scope */
    char *token;      /* NULL when no scope requires one */
    size_t token_len;
};

static bool listen_is_loopback(const char *listen)
{
    struct sockaddr_storage addr;

    if (vane_net_parse_addr(listen, &addr) != 0)
        return false;
    if (addr.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&addr;

        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (addr.ss_family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)&addr)->sin6_addr;

        return IN6_IS_ADDR_LOOPBACK(in6) || (IN6_IS_ADDR_V4MAPPED(in6) && in6->s6_addr[12] == 127);
    }
    return false;
}

/* Reads and trims the token in path; returns 0, -ENOENT, or another error with *errmsg. */
static int read_token(struct auth *auth, const char *path, char **errmsg)
{
    char text[TOKEN_MAX + 2];
    struct stat st;
    ssize_t n;
    size_t start = 0, end;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        if (errno != ENOENT)
            *errmsg = vane_asprintf("cannot read the token file %s: %s", path, strerror(errno));
        return -errno;
    }
    if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
        vane_log_warn(component, "the token file %s can be read by others (mode %04o); "
                      "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0) {
        *errmsg = vane_asprintf("cannot read the token file %s: %s", path, strerror(errno));
        return -EIO;
    }
    end = (size_t)n;
    while (start < end && isspace((unsigned char)text[start]))
        start++;
    while (end > start && isspace((unsigned char)text[end - 1]))
        end--;
    for (size_t i = start; i < end; i++)
        if (text[i] < 0x21 || text[i] > 0x7e)
            end = 0; /* not one printable word: refused below */
    if (end <= start || end - start > TOKEN_MAX) {
        *errmsg = vane_asprintf("the token file %s: expected one word of 1 to %d printable "
                                "characters (no spaces inside)", path, TOKEN_MAX);
        return -EINVAL;
    }
    auth->token = vane_strndup(text + start, end - start);
    auth->token_len = end - start;
    return 0;
}

/* Creates path holding a new random token; -EEXIST when the file exists. */
static int write_token(struct auth *auth, const char *path, char **errmsg)
{
    unsigned char random[TOKEN_RANDOM_BYTES];
    char hex[2 * TOKEN_RANDOM_BYTES + 2];
    size_t len = 2 * TOKEN_RANDOM_BYTES;
    int fd, err = 0;

    if (RAND_bytes(random, sizeof(random)) != 1) {
        *errmsg = vane_strdup("cannot generate a token: OpenSSL's RAND_bytes failed");
        return -EIO;
    }
    for (size_t i = 0; i < sizeof(random); i++)
        snprintf(hex + 2 * i, 3, "%02x", random[i]);
    hex[len] = '\n';
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno != EEXIST)
            *errmsg = vane_asprintf("cannot create the token file %s: %s", path, strerror(errno));
        return -errno;
    }
    errno = 0;
    if (write(fd, hex, len + 1) != (ssize_t)(len + 1) || fsync(fd) != 0) {
        err = errno != 0 ? -errno : -EIO;
        *errmsg = vane_asprintf("cannot write the token file %s: %s", path, strerror(-err));
    }
    close(fd);
    if (err != 0) {
        unlink(path);
        return err;
    }
    auth->token = vane_strndup(hex, len);
    auth->token_len = len;
    vane_log_warn(component, "admin token written to %s: %s", path, auth->token);
    return 0;
}

static int load_token(struct auth *auth, const char *data_dir, char **errmsg)
{
    char *path = vane_asprintf("%s/token", data_dir);
    int err = read_token(auth, path, errmsg);

    if (err == -ENOENT)
        err = write_token(auth, path, errmsg);
    if (err == -EEXIST) /* created meanwhile by someone else */
        err = read_token(auth, path, errmsg);
    if (err == 0)
        vane_log_info(component, "token from %s required for:%s%s", path,
                      auth->required[AUTH_ADMIN] ? " /api/v1/" : "",
                      auth->required[AUTH_PUBLISH] ? " /gateway/" : "");
    vane_free(path);
    return err;
}

int auth_create(struct auth **out, const struct config *cfg, char **errmsg)
{
    struct auth *auth = VANE_NEW(auth);
    int err = 0;

    auth->required[AUTH_ADMIN] =
        cfg->auth_admin == CONFIG_AUTH_REQUIRED ||
        (cfg->auth_admin == CONFIG_AUTH_AUTO && !listen_is_loopback(cfg->listen));
    auth->required[AUTH_PUBLISH] = cfg->auth_publish == CONFIG_AUTH_REQUIRED;
    if (auth->required[AUTH_ADMIN] || auth->required[AUTH_PUBLISH])
        err = load_token(auth, cfg->data_dir, errmsg);
    else
        vane_log_info(component, "no token required: auth.admin %s, auth.publish none",
                      cfg->auth_admin == CONFIG_AUTH_AUTO ? "auto on a loopback listener"
                                                          : "none");
    if (err != 0) {
        auth_free(auth);
        auth = NULL;
    }
    *out = auth;
    return err;
}

/* The token of an "Authorization: Bearer <token>" value, or a zero-length iovec. */
static h2o_iovec_t bearer_token(h2o_iovec_t value)
{
    static const char scheme[] = "bearer";
    const size_t scheme_len = sizeof(scheme) - 1;
    size_t at = 0, end = value.len;

    while (at < end && (value.base[at] == ' ' || value.base[at] == '\t'))
        at++;
    if (end - at <= scheme_len || !h2o_lcstris(value.base + at, scheme_len, scheme, scheme_len) ||
        (value.base[at + scheme_len] != ' ' && value.base[at + scheme_len] != '\t'))
        return h2o_iovec_init(NULL, 0);
    at += scheme_len;
    while (at < end && (value.base[at] == ' ' || value.base[at] == '\t'))
        at++;
    while (end > at && (value.base[end - 1] == ' ' || value.base[end - 1] == '\t'))
        end--;
    return h2o_iovec_init(value.base + at, end - at);
}

static void answer_unauthorized(h2o_req_t *req, bool sent)
{
    if (sent)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                       H2O_STRLIT("Bearer realm=\"vane\", error=\"invalid_token\""));
    else
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                       H2O_STRLIT("Bearer realm=\"vane\""));
    response_error(req, 401, "Unauthorized", "Authorization",
                   sent ? "the token is not valid; send Authorization: Bearer <token> with the "
                          "token from the file \"token\" in vaned's data directory"
                        : "this endpoint needs a token; send Authorization: Bearer <token> with "
                          "the token from the file \"token\" in vaned's data directory");
}

int auth_check(const struct auth *auth, h2o_req_t *req, enum auth_scope scope)
{
    ssize_t i;
    h2o_iovec_t token;

    if (auth == NULL || !auth->required[scope])
        return 0;
    i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0) {
        answer_unauthorized(req, false);
        return 1;
    }
    token = bearer_token(req->headers.entries[i].value);
    if (token.len == auth->token_len && CRYPTO_memcmp(token.base, auth->token, token.len) == 0)
        return 0;
    answer_unauthorized(req, true);
    return 1;
}

void auth_free(struct auth *auth)
{
    if (auth == NULL)
        return;
    if (auth->token != NULL)
        OPENSSL_cleanse(auth->token, auth->token_len);
    vane_free(auth->token);
    vane_free(auth);
}

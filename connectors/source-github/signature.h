/*
 * signature.h -- GitHub's webhook signature: X-Hub-Signature-256 is
 * "sha256=" and the HMAC-SHA256 of the raw request body under the
 * webhook's secret, in 64 lower-case hex digits.
 *
 * The HMAC comes from OpenSSL's libcrypto, and the comparison takes the
 * same time wherever the digits differ (CRYPTO_memcmp), so a caller cannot
 * learn a valid signature digit by digit from the answers' timing.
 */
#ifndef VANE_CONNECTORS_GITHUB_SIGNATURE_H
#define VANE_CONNECTORS_GITHUB_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>

#define SIGNATURE_HEADER_LEN (7 + 64) /* "sha256=" and the digits */

/* Writes "sha256=<hex>" of body under secret into out (NUL-terminated);
 * false (out empty) when libcrypto could not compute it. */
bool signature_compute(const char *secret, const char *body, size_t body_len,
                       char out[SIGNATURE_HEADER_LEN + 1]);

/*
 * true when header (header_len bytes, the X-Hub-Signature-256 value) is
 * the signature of body under one of the count secrets.  Each secret is
 * tried in full, so the time taken does not say which one matched.
 */
bool signature_matches(const char *const *secrets, size_t count, const char *body,
                       size_t body_len, const char *header, size_t header_len);

#endif

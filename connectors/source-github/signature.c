/*
 * signature.c -- X-Hub-Signature-256, made and checked (see signature.h).
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "signature.h"

bool signature_compute(const char *secret, const char *body, size_t body_len,
                       char out[SIGNATURE_HEADER_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;

    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)(body ? body : ""),
             body_len, digest, &digest_len) == NULL || digest_len != 32) {
        out[0] = '\0';
        return false;
    }
    memcpy(out, "sha256=", 7);
    for (unsigned int i = 0; i < 32; i++) {
        out[7 + 2 * i] = hex[digest[i] >> 4];
        out[8 + 2 * i] = hex[digest[i] & 15];
    }
    out[SIGNATURE_HEADER_LEN] = '\0';
    return true;
}

bool signature_matches(const char *const *secrets, size_t count, const char *body,
                       size_t body_len, const char *header, size_t header_len)
{
    char expected[SIGNATURE_HEADER_LEN + 1];
    bool matched = false;

    /* GitHub writes the digits in lower case; a header of another length
     * cannot be any signature, and its length is no secret. */
    if (header == NULL || header_len != SIGNATURE_HEADER_LEN)
        return false;
    for (size_t i = 0; i < count; i++) {
        /* No HMAC (no memory): that secret matches nothing. */
        if (signature_compute(secrets[i], body, body_len, expected))
            matched |= CRYPTO_memcmp(expected, header, SIGNATURE_HEADER_LEN) == 0;
    }
    return matched;
}

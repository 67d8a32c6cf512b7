/*
 * The stages of SigV4 signing, exposed so that tests can compare each one
 * with the AWS test vectors.  sigv4_sign is these stages in order; callers
 * outside tests use sigv4.h only.
 *
 * Strings returned through char ** are NUL-terminated and released with
 * sigv4_stage_free, which wipes them first (the canonical request holds
 * the session token).  Functions return 0 on success and -1 on failure
 * with a short reason in err (never a key, token or header value).
 */
#ifndef EC2BACKUP_SIGV4_PRIVATE_H
#define EC2BACKUP_SIGV4_PRIVATE_H

#include "sigv4.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* 0 when s is a valid "YYYYMMDDTHHMMSSZ" timestamp, else -1. */
int sigv4_check_date(const char *amz_date);

/* Canonical URI of a path as sent ("/a/./b//../c d" -> "/a/c%20d"). */
int sigv4_canonical_uri(const char *path, char **out, char *err,
    size_t errlen);

/* Canonical query string of a query as sent, without the '?'. */
int sigv4_canonical_query(const char *query, char **out, char *err,
    size_t errlen);

/*
 * The canonical request of req signed at amz_date, adding the host,
 * x-amz-date and, when session_token is not NULL, x-amz-security-token
 * headers.  Also returns the SignedHeaders list in *signed_headers.
 */
int sigv4_canonical_request(const struct sigv4_request *req,
    const char *amz_date, const char *session_token, char **creq,
    char **signed_headers, char *err, size_t errlen);

/* "YYYYMMDD/region/service/aws4_request" */
int sigv4_scope(const char *amz_date, const char *region,
    const char *service, char **out, char *err, size_t errlen);

/* The string to sign for a canonical request. */
int sigv4_string_to_sign(const char *creq, const char *amz_date,
    const char *region, const char *service, char **sts, char *err,
    size_t errlen);

/*
 * kSigning for secret, the date part of amz_date, region and service.
 * The caller wipes key with OPENSSL_cleanse; on failure it is zeroed.
 */
int sigv4_signing_key(const char *secret, const char *amz_date,
    const char *region, const char *service,
    unsigned char key[SIGV4_KEY_LEN]);

/* Lowercase hex HMAC-SHA256(key, sts). */
int sigv4_signature(const unsigned char key[SIGV4_KEY_LEN], const char *sts,
    char hex[SIGV4_HEX_LEN + 1]);

/* Lowercase hex SHA-256 of len bytes at data. */
int sigv4_sha256_hex(const void *data, size_t len,
    char hex[SIGV4_HEX_LEN + 1]);

/* Wipes and frees a string returned by a stage; NULL is fine. */
void sigv4_stage_free(char *s);

#endif

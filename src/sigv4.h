/*
 * AWS Signature Version 4, header form, on OpenSSL.
 *
 * A pure function of its arguments: the caller passes the request as it
 * will be sent, the credentials and the timestamp, and gets back the
 * headers to add (X-Amz-Date, X-Amz-Security-Token when there is a session
 * token, Authorization).  Nothing here reads a clock, the environment or a
 * file, and nothing is logged.  The secret key, the "AWS4"+secret buffer
 * and every derived key live only for the duration of one call and are
 * wiped with OPENSSL_cleanse before it returns, on every path; the
 * canonical request (which holds the session token) is wiped too.
 *
 * Canonicalisation follows the rules for non-S3 services: the path is
 * normalised (".", "..", empty segments) and each segment percent-encoded
 * (a '%' already in the path becomes %25), query pairs are decoded,
 * re-encoded with the RFC 3986 rule and sorted, header names are
 * lowercased and sorted, values trimmed with inner runs of blanks
 * collapsed, and repeated headers joined with ',' in sending order.
 */
#ifndef EC2BACKUP_SIGV4_H
#define EC2BACKUP_SIGV4_H

#include <stddef.h>
#include <time.h>

#define SIGV4_DATE_LEN 16        /* "YYYYMMDDTHHMMSSZ" */
#define SIGV4_HEX_LEN 64         /* lowercase hex SHA-256 */
#define SIGV4_KEY_LEN 32         /* HMAC-SHA256 output */
#define SIGV4_HEADERS_MAX 64     /* headers passed by the caller */
#define SIGV4_NAME_MAX 128       /* header name, region, service */
#define SIGV4_VALUE_MAX 16384    /* header value, session token */
#define SIGV4_KEYID_MAX 128      /* access key id */
#define SIGV4_SECRET_MAX 256     /* secret access key */
#define SIGV4_CANON_MAX (4 * 1024 * 1024) /* canonical request */
#define SIGV4_OUT_MAX 3          /* headers returned by sigv4_sign */

/* One request header; the strings are the caller's. */
struct sigv4_header {
	const char *name;
	const char *value;
};

/*
 * Borrowed credentials: sigv4 copies nothing past a call, so the owner
 * (the credentials module) decides when to wipe them, e.g. with
 * sigv4_secret_free.
 */
struct sigv4_credentials {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;   /* NULL or "" for long-term keys */
};

/* A request as it will be sent. */
struct sigv4_request {
	const char *method;          /* "GET", "POST" */
	const char *host;            /* the Host header: name[:port], port
	                                only when not the scheme's default */
	const char *path;            /* as sent; NULL or "" mean "/" */
	const char *query;           /* as sent, without '?'; NULL or "" */
	const struct sigv4_header *headers; /* other headers to sign, e.g.
	                                content-type; not host, x-amz-date,
	                                x-amz-security-token, authorization */
	size_t nheaders;
	const void *payload;         /* the exact body bytes; NULL when none */
	size_t payload_len;
	const char *region;          /* e.g. "us-east-1" */
	const char *service;         /* e.g. "ec2" */
};

/*
 * The headers to send, as "Name: value" lines ready for curl_slist_append:
 * X-Amz-Date, then X-Amz-Security-Token when there is a token, then
 * Authorization.  authorization points at the value in the last line.
 * Released with sigv4_signed_free.
 */
struct sigv4_signed {
	char *line[SIGV4_OUT_MAX];
	size_t nline;
	const char *authorization;
};

/*
 * Formats a UTC broken-down time (as from gmtime_r) as X-Amz-Date.
 * Returns 0, or -1 when a field is out of range.
 */
int sigv4_amz_date(const struct tm *utc, char out[SIGV4_DATE_LEN + 1]);

/*
 * Signs req with cred at amz_date ("YYYYMMDDTHHMMSSZ", UTC).  On success
 * returns 0 and fills *out, which the caller releases with
 * sigv4_signed_free.  On failure returns -1, leaves *out empty and writes
 * a short reason to err; the reason never contains a key, token or header
 * value.
 */
int sigv4_sign(const struct sigv4_request *req,
    const struct sigv4_credentials *cred, const char *amz_date,
    struct sigv4_signed *out, char *err, size_t errlen);

/* Wipes and frees the lines of s (one of them may hold the token). */
void sigv4_signed_free(struct sigv4_signed *s);

/* Wipes a NUL-terminated secret allocated with malloc, then frees it. */
void sigv4_secret_free(char *secret);

#endif

/*
 * AWS Signature Version 4 (header form).
 *
 * Each stage builds one string in a growable buffer that never leaves an
 * unwiped copy behind: growing copies into a fresh allocation and cleanses
 * the old one, and releasing cleanses the whole capacity.  Keys are fixed
 * size arrays on the stack, cleansed before the function that holds them
 * returns.  Everything the caller passes is validated before use so that a
 * header value cannot smuggle a line break into the canonical request.
 */
#include "sigv4_private.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "query.h"

struct sigv4_buf {
	char *p;
	size_t len;
	size_t cap;
	bool failed;    /* out of memory or over SIGV4_CANON_MAX */
};

/* A header while canonicalising: lowercase name, value as given. */
struct sigv4_hdr {
	char name[SIGV4_NAME_MAX + 1];
	const char *value;
	size_t order;
};

/* A canonical query pair: offsets into the buffer of encoded pairs. */
struct sigv4_qpair {
	size_t name;
	size_t value;
	const char *n;
	const char *v;
};

static const char sigv4_hexdigits[] = "0123456789abcdef";

static void
buf_release(struct sigv4_buf *b)
{
	if (b->p != NULL) {
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Makes room for n more bytes and a NUL. */
static bool
buf_reserve(struct sigv4_buf *b, size_t n)
{
	size_t ncap;
	char *np;

	if (b->failed)
		return false;
	if (n > SIGV4_CANON_MAX || b->len > SIGV4_CANON_MAX - n) {
		b->failed = true;
		return false;
	}
	if (b->len + n < b->cap)
		return true;
	ncap = b->cap < 256 ? 256 : b->cap;
	while (ncap <= b->len + n)
		ncap *= 2;
	if (ncap > SIGV4_CANON_MAX + 1)
		ncap = SIGV4_CANON_MAX + 1;
	/* Not realloc: the old block may hold the token and must be wiped. */
	np = malloc(ncap);
	if (np == NULL) {
		b->failed = true;
		return false;
	}
	if (b->p != NULL) {
		memcpy(np, b->p, b->len);
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = np;
	b->cap = ncap;
	return true;
}

static void
buf_add(struct sigv4_buf *b, const void *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_adds(struct sigv4_buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void
buf_addc(struct sigv4_buf *b, char c)
{
	buf_add(b, &c, 1);
}

/* Hands the string over to the caller, or NULL after a failure. */
static char *
buf_take(struct sigv4_buf *b, char *err, size_t errlen, const char *what)
{
	char *s;

	if (!b->failed && b->p == NULL)
		buf_add(b, "", 0);
	if (b->failed) {
		log_reason(err, errlen, "%s too large or out of memory", what);
		buf_release(b);
		return NULL;
	}
	s = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return s;
}

void
sigv4_stage_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void
sigv4_secret_free(char *secret)
{
	sigv4_stage_free(secret);
}

void
sigv4_signed_free(struct sigv4_signed *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < SIGV4_OUT_MAX; i++) {
		sigv4_stage_free(s->line[i]);
		s->line[i] = NULL;
	}
	s->nline = 0;
	s->authorization = NULL;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 9110 token characters, for header names. */
static bool
is_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    is_digit((char)c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Control bytes other than HTAB cannot appear in a header or URL. */
static bool
is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* Region and service names: [A-Za-z0-9._-]{1,SIGV4_NAME_MAX}. */
static bool
valid_scope_part(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= SIGV4_NAME_MAX)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    is_digit(c) || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

/* A header value: bounded, no control bytes but HTAB. */
static bool
valid_value(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	for (n = 0; s[n] != '\0'; n++) {
		if (n >= SIGV4_VALUE_MAX || is_ctl((unsigned char)s[n]))
			return false;
	}
	return true;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int
sigv4_check_date(const char *d)
{
	int y, mo, day;

	if (d == NULL || strlen(d) != SIGV4_DATE_LEN || d[8] != 'T' ||
	    d[15] != 'Z')
		return -1;
	for (int i = 0; i < 15; i++) {
		if (i != 8 && !is_digit(d[i]))
			return -1;
	}
	y = digits(d, 4);
	mo = digits(d + 4, 2);
	day = digits(d + 6, 2);
	if (mo < 1 || mo > 12 || day < 1 || day > days_in_month(y, mo))
		return -1;
	if (digits(d + 9, 2) > 23 || digits(d + 11, 2) > 59 ||
	    digits(d + 13, 2) > 60)
		return -1;
	return 0;
}

int
sigv4_amz_date(const struct tm *utc, char out[SIGV4_DATE_LEN + 1])
{
	char tmp[64];
	int n;

	if (utc == NULL || utc->tm_year < -1900 ||
	    utc->tm_year > 9999 - 1900 || utc->tm_mon < 0 ||
	    utc->tm_mon > 11 || utc->tm_mday < 1 || utc->tm_mday > 31 ||
	    utc->tm_hour < 0 || utc->tm_hour > 23 || utc->tm_min < 0 ||
	    utc->tm_min > 59 || utc->tm_sec < 0 || utc->tm_sec > 60)
		return -1;
	n = snprintf(tmp, sizeof(tmp), "%04d%02d%02dT%02d%02d%02dZ",
	    utc->tm_year + 1900, utc->tm_mon + 1, utc->tm_mday, utc->tm_hour,
	    utc->tm_min, utc->tm_sec);
	if (n != SIGV4_DATE_LEN || sigv4_check_date(tmp) != 0)
		return -1;
	memcpy(out, tmp, SIGV4_DATE_LEN + 1);
	return 0;
}

/* Appends the RFC 3986 encoding of n bytes. */
static void
buf_add_encoded(struct sigv4_buf *b, const char *s, size_t n)
{
	size_t elen = query_encoded_len(s, n);

	if (!buf_reserve(b, elen))
		return;
	query_encode(b->p + b->len, s, n);
	b->len += elen;
	b->p[b->len] = '\0';
}

/*
 * Appends the RFC 3986 encoding of n bytes of a query component as sent:
 * %XX escapes are decoded first, so an already encoded component comes
 * out the same and a raw one comes out encoded.  A '%' that does not start
 * an escape stands for itself.
 */
static void
buf_add_reencoded(struct sigv4_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		}
		buf_add_encoded(b, &c, 1);
	}
}

int
sigv4_canonical_uri(const char *path, char **out, char *err, size_t errlen)
{
	struct sigv4_buf b = { 0 };
	size_t *seg = NULL, nseg = 0, maxseg = 1, len;
	int rc = -1;

	*out = NULL;
	if (path == NULL || *path == '\0')
		path = "/";
	if (path[0] != '/') {
		log_reason(err, errlen, "path does not start with '/'");
		goto fail;
	}
	len = strlen(path);
	if (len > SIGV4_CANON_MAX) {
		log_reason(err, errlen, "path too long");
		goto fail;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		if (is_ctl(c) || c == '\t' || c == '?' || c == '#') {
			log_reason(err, errlen, "path has a byte that cannot "
			    "be sent unencoded");
			goto fail;
		}
		if (c == '/')
			maxseg++;
	}

	/* Start offsets of the segments kept; ".." drops the last one. */
	seg = malloc(maxseg * sizeof(*seg));
	if (seg == NULL) {
		log_reason(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 1; i <= len;) {
		size_t end = i;

		while (end < len && path[end] != '/')
			end++;
		if (end - i == 2 && path[i] == '.' && path[i + 1] == '.') {
			if (nseg > 0)
				nseg--;
		} else if (end > i && !(end - i == 1 && path[i] == '.')) {
			seg[nseg++] = i;
		}
		i = end + 1;
	}

	for (size_t k = 0; k < nseg; k++) {
		size_t end = seg[k];

		while (end < len && path[end] != '/')
			end++;
		buf_addc(&b, '/');
		buf_add_encoded(&b, path + seg[k], end - seg[k]);
	}
	/* A trailing slash survives unless nothing is left but the root. */
	if (nseg == 0 || path[len - 1] == '/')
		buf_addc(&b, '/');
	*out = buf_take(&b, err, errlen, "path");
	if (*out != NULL)
		rc = 0;
fail:
	free(seg);
	buf_release(&b);
	return rc;
}

static int
qpair_cmp(const void *a, const void *b)
{
	const struct sigv4_qpair *x = a, *y = b;
	int c = strcmp(x->n, y->n);

	return c != 0 ? c : strcmp(x->v, y->v);
}

int
sigv4_canonical_query(const char *query, char **out, char *err,
    size_t errlen)
{
	struct sigv4_buf enc = { 0 }, b = { 0 };
	struct sigv4_qpair *pairs = NULL;
	size_t npairs = 0, maxpairs = 1, len;
	int rc = -1;

	*out = NULL;
	if (query == NULL)
		query = "";
	len = strlen(query);
	if (len > SIGV4_CANON_MAX) {
		log_reason(err, errlen, "query string too long");
		goto fail;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)query[i];

		if (is_ctl(c) || c == '\t' || c == '#') {
			log_reason(err, errlen, "query string has a byte that "
			    "cannot be sent unencoded");
			goto fail;
		}
		if (c == '&')
			maxpairs++;
	}
	pairs = calloc(maxpairs, sizeof(*pairs));
	if (pairs == NULL) {
		log_reason(err, errlen, "out of memory");
		goto fail;
	}

	/* Encode every pair as "name\0value\0" into enc, then sort. */
	for (size_t i = 0; i < len;) {
		size_t end = i, eq;

		while (end < len && query[end] != '&')
			end++;
		if (end > i) {
			eq = i;
			while (eq < end && query[eq] != '=')
				eq++;
			pairs[npairs].name = enc.len;
			buf_add_reencoded(&enc, query + i, eq - i);
			buf_addc(&enc, '\0');
			pairs[npairs].value = enc.len;
			if (eq < end)
				buf_add_reencoded(&enc, query + eq + 1,
				    end - eq - 1);
			buf_addc(&enc, '\0');
			npairs++;
		}
		i = end + 1;
	}
	if (enc.failed) {
		log_reason(err, errlen, "query string too large or out of "
		    "memory");
		goto fail;
	}
	for (size_t k = 0; k < npairs; k++) {
		pairs[k].n = enc.p + pairs[k].name;
		pairs[k].v = enc.p + pairs[k].value;
	}
	qsort(pairs, npairs, sizeof(*pairs), qpair_cmp);
	for (size_t k = 0; k < npairs; k++) {
		if (k > 0)
			buf_addc(&b, '&');
		buf_adds(&b, pairs[k].n);
		buf_addc(&b, '=');
		buf_adds(&b, pairs[k].v);
	}
	*out = buf_take(&b, err, errlen, "query string");
	if (*out != NULL)
		rc = 0;
fail:
	free(pairs);
	buf_release(&enc);
	buf_release(&b);
	return rc;
}

static int
hdr_cmp(const void *a, const void *b)
{
	const struct sigv4_hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends value without outer blanks and with inner runs made one space. */
static void
buf_add_trimmed(struct sigv4_buf *b, const char *v)
{
	bool blank = false;

	while (is_blank(*v))
		v++;
	for (; *v != '\0'; v++) {
		if (is_blank(*v)) {
			blank = true;
			continue;
		}
		if (blank)
			buf_addc(b, ' ');
		blank = false;
		buf_addc(b, *v);
	}
}

/* Copies a caller's header name in lowercase; false when not a token. */
static bool
hdr_name(const char *name, char out[SIGV4_NAME_MAX + 1])
{
	size_t n;

	if (name == NULL)
		return false;
	for (n = 0; name[n] != '\0'; n++) {
		unsigned char c = (unsigned char)name[n];

		if (n >= SIGV4_NAME_MAX || !is_tchar(c))
			return false;
		out[n] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[n] = '\0';
	return n > 0;
}

static bool
valid_method(const char *m)
{
	size_t n;

	if (m == NULL)
		return false;
	for (n = 0; m[n] != '\0'; n++) {
		if (n >= 16 || m[n] < 'A' || m[n] > 'Z')
			return false;
	}
	return n > 0;
}

static bool
valid_host(const char *h)
{
	size_t n;

	if (h == NULL)
		return false;
	for (n = 0; h[n] != '\0'; n++) {
		char c = h[n];

		if (n >= 270 || !((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || is_digit(c) ||
		    strchr(".-_:[]", c) != NULL))
			return false;
	}
	return n > 0;
}

int
sigv4_canonical_request(const struct sigv4_request *req,
    const char *amz_date, const char *session_token, char **creq,
    char **signed_headers, char *err, size_t errlen)
{
	struct sigv4_buf b = { 0 }, sh = { 0 };
	struct sigv4_hdr *h = NULL;
	char *uri = NULL, *query = NULL;
	char hash[SIGV4_HEX_LEN + 1];
	size_t nh = 0;
	int rc = -1;

	*creq = NULL;
	*signed_headers = NULL;
	if (req == NULL || !valid_method(req->method)) {
		log_reason(err, errlen, "invalid HTTP method");
		goto fail;
	}
	if (!valid_host(req->host)) {
		log_reason(err, errlen, "invalid host");
		goto fail;
	}
	if (sigv4_check_date(amz_date) != 0) {
		log_reason(err, errlen, "invalid X-Amz-Date");
		goto fail;
	}
	if (session_token != NULL && (!valid_value(session_token) ||
	    *session_token == '\0')) {
		log_reason(err, errlen, "invalid session token");
		goto fail;
	}
	if (req->nheaders > SIGV4_HEADERS_MAX ||
	    (req->nheaders > 0 && req->headers == NULL)) {
		log_reason(err, errlen, "too many headers");
		goto fail;
	}
	if (req->payload == NULL && req->payload_len > 0) {
		log_reason(err, errlen, "payload length without payload");
		goto fail;
	}

	h = calloc(req->nheaders + 3, sizeof(*h));
	if (h == NULL) {
		log_reason(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct sigv4_header *in = &req->headers[i];

		if (!hdr_name(in->name, h[nh].name)) {
			log_reason(err, errlen, "header %zu: invalid name",
			    i + 1);
			goto fail;
		}
		if (strcmp(h[nh].name, "host") == 0 ||
		    strcmp(h[nh].name, "x-amz-date") == 0 ||
		    strcmp(h[nh].name, "x-amz-security-token") == 0 ||
		    strcmp(h[nh].name, "authorization") == 0) {
			log_reason(err, errlen, "header %s is set by the "
			    "signer", h[nh].name);
			goto fail;
		}
		if (!valid_value(in->value)) {
			log_reason(err, errlen, "header %s: value too long or "
			    "with a control character", h[nh].name);
			goto fail;
		}
		h[nh].value = in->value;
		h[nh].order = nh;
		nh++;
	}
	memcpy(h[nh].name, "host", sizeof("host"));
	h[nh].value = req->host;
	h[nh].order = nh;
	nh++;
	memcpy(h[nh].name, "x-amz-date", sizeof("x-amz-date"));
	h[nh].value = amz_date;
	h[nh].order = nh;
	nh++;
	if (session_token != NULL) {
		memcpy(h[nh].name, "x-amz-security-token",
		    sizeof("x-amz-security-token"));
		h[nh].value = session_token;
		h[nh].order = nh;
		nh++;
	}
	qsort(h, nh, sizeof(*h), hdr_cmp);

	if (sigv4_canonical_uri(req->path, &uri, err, errlen) != 0 ||
	    sigv4_canonical_query(req->query, &query, err, errlen) != 0)
		goto fail;
	if (sigv4_sha256_hex(req->payload_len > 0 ? req->payload : "",
	    req->payload_len, hash) != 0) {
		log_reason(err, errlen, "SHA-256 failed");
		goto fail;
	}

	buf_adds(&b, req->method);
	buf_addc(&b, '\n');
	buf_adds(&b, uri);
	buf_addc(&b, '\n');
	buf_adds(&b, query);
	buf_addc(&b, '\n');
	for (size_t i = 0; i < nh; i++) {
		/* Repeated names share one line, values joined by ','. */
		if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0) {
			buf_addc(&b, ',');
		} else {
			if (i > 0) {
				buf_addc(&b, '\n');
				buf_addc(&sh, ';');
			}
			buf_adds(&b, h[i].name);
			buf_addc(&b, ':');
			buf_adds(&sh, h[i].name);
		}
		buf_add_trimmed(&b, h[i].value);
	}
	buf_adds(&b, "\n\n");
	buf_adds(&b, sh.p != NULL ? sh.p : "");
	buf_addc(&b, '\n');
	buf_adds(&b, hash);

	*creq = buf_take(&b, err, errlen, "canonical request");
	if (*creq == NULL)
		goto fail;
	*signed_headers = buf_take(&sh, err, errlen, "signed headers");
	if (*signed_headers == NULL) {
		sigv4_stage_free(*creq);
		*creq = NULL;
		goto fail;
	}
	rc = 0;
fail:
	free(h);
	sigv4_stage_free(uri);
	sigv4_stage_free(query);
	buf_release(&b);
	buf_release(&sh);
	return rc;
}

int
sigv4_scope(const char *amz_date, const char *region, const char *service,
    char **out, char *err, size_t errlen)
{
	struct sigv4_buf b = { 0 };

	*out = NULL;
	if (sigv4_check_date(amz_date) != 0) {
		log_reason(err, errlen, "invalid X-Amz-Date");
		return -1;
	}
	if (!valid_scope_part(region)) {
		log_reason(err, errlen, "invalid region");
		return -1;
	}
	if (!valid_scope_part(service)) {
		log_reason(err, errlen, "invalid service name");
		return -1;
	}
	buf_add(&b, amz_date, 8);
	buf_addc(&b, '/');
	buf_adds(&b, region);
	buf_addc(&b, '/');
	buf_adds(&b, service);
	buf_adds(&b, "/aws4_request");
	*out = buf_take(&b, err, errlen, "scope");
	return *out != NULL ? 0 : -1;
}

int
sigv4_string_to_sign(const char *creq, const char *amz_date,
    const char *region, const char *service, char **sts, char *err,
    size_t errlen)
{
	struct sigv4_buf b = { 0 };
	char hash[SIGV4_HEX_LEN + 1];
	char *scope = NULL;
	int rc = -1;

	*sts = NULL;
	if (creq == NULL) {
		log_reason(err, errlen, "no canonical request");
		goto fail;
	}
	if (sigv4_scope(amz_date, region, service, &scope, err, errlen) != 0)
		goto fail;
	if (sigv4_sha256_hex(creq, strlen(creq), hash) != 0) {
		log_reason(err, errlen, "SHA-256 failed");
		goto fail;
	}
	buf_adds(&b, SIGV4_ALGORITHM "\n");
	buf_adds(&b, amz_date);
	buf_addc(&b, '\n');
	buf_adds(&b, scope);
	buf_addc(&b, '\n');
	buf_adds(&b, hash);
	*sts = buf_take(&b, err, errlen, "string to sign");
	if (*sts != NULL)
		rc = 0;
fail:
	sigv4_stage_free(scope);
	buf_release(&b);
	return rc;
}

static int
hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
    unsigned char out[SIGV4_KEY_LEN])
{
	unsigned int outlen = 0;

	if (keylen > 1024 || HMAC(EVP_sha256(), key, (int)keylen, msg, msglen,
	    out, &outlen) == NULL || outlen != SIGV4_KEY_LEN)
		return -1;
	return 0;
}

int
sigv4_signing_key(const char *secret, const char *amz_date,
    const char *region, const char *service,
    unsigned char key[SIGV4_KEY_LEN])
{
	unsigned char k_secret[4 + SIGV4_SECRET_MAX];
	unsigned char k_date[SIGV4_KEY_LEN];
	unsigned char k_region[SIGV4_KEY_LEN];
	unsigned char k_service[SIGV4_KEY_LEN];
	size_t slen;
	int rc = -1;

	if (secret == NULL || sigv4_check_date(amz_date) != 0 ||
	    !valid_scope_part(region) || !valid_scope_part(service))
		goto fail;
	slen = strnlen(secret, SIGV4_SECRET_MAX + 1);
	if (slen == 0 || slen > SIGV4_SECRET_MAX)
		goto fail;
	memcpy(k_secret, "AWS4", 4);
	memcpy(k_secret + 4, secret, slen);
	if (hmac_sha256(k_secret, 4 + slen, amz_date, 8, k_date) != 0 ||
	    hmac_sha256(k_date, sizeof(k_date), region, strlen(region),
	    k_region) != 0 ||
	    hmac_sha256(k_region, sizeof(k_region), service, strlen(service),
	    k_service) != 0 ||
	    hmac_sha256(k_service, sizeof(k_service), "aws4_request", 12,
	    key) != 0)
		goto fail;
	rc = 0;
fail:
	OPENSSL_cleanse(k_secret, sizeof(k_secret));
	OPENSSL_cleanse(k_date, sizeof(k_date));
	OPENSSL_cleanse(k_region, sizeof(k_region));
	OPENSSL_cleanse(k_service, sizeof(k_service));
	if (rc != 0)
		OPENSSL_cleanse(key, SIGV4_KEY_LEN);
	return rc;
}

static void
to_hex(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = sigv4_hexdigits[in[i] >> 4];
		out[2 * i + 1] = sigv4_hexdigits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

int
sigv4_signature(const unsigned char key[SIGV4_KEY_LEN], const char *sts,
    char hex[SIGV4_HEX_LEN + 1])
{
	unsigned char mac[SIGV4_KEY_LEN];
	int rc = -1;

	hex[0] = '\0';
	if (sts == NULL ||
	    hmac_sha256(key, SIGV4_KEY_LEN, sts, strlen(sts), mac) != 0)
		goto fail;
	to_hex(mac, sizeof(mac), hex);
	rc = 0;
fail:
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int
sigv4_sha256_hex(const void *data, size_t len, char hex[SIGV4_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	hex[0] = '\0';
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return -1;
	to_hex(md, mdlen, hex);
	return 0;
}

static bool
valid_key_id(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	for (n = 0; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];

		/* It is written into "Credential=ID/scope, ...". */
		if (n >= SIGV4_KEYID_MAX || c <= 0x20 || c >= 0x7f ||
		    c == '/' || c == ',' || c == ';' || c == '"')
			return false;
	}
	return n > 0;
}

int
sigv4_sign(const struct sigv4_request *req,
    const struct sigv4_credentials *cred, const char *amz_date,
    struct sigv4_signed *out, char *err, size_t errlen)
{
	struct sigv4_buf b = { 0 };
	unsigned char key[SIGV4_KEY_LEN];
	char sig[SIGV4_HEX_LEN + 1] = "";
	char *creq = NULL, *signed_headers = NULL, *sts = NULL, *scope = NULL;
	const char *token = NULL;
	size_t n = 0;
	int rc = -1;

	memset(key, 0, sizeof(key));
	if (out == NULL) {
		log_reason(err, errlen, "no output");
		goto fail;
	}
	memset(out, 0, sizeof(*out));
	if (req == NULL || cred == NULL) {
		log_reason(err, errlen, "no request or credentials");
		goto fail;
	}
	if (!valid_key_id(cred->access_key_id)) {
		log_reason(err, errlen, "invalid access key id");
		goto fail;
	}
	if (cred->secret_access_key == NULL ||
	    *cred->secret_access_key == '\0' ||
	    strnlen(cred->secret_access_key, SIGV4_SECRET_MAX + 1) >
	    SIGV4_SECRET_MAX) {
		log_reason(err, errlen, "invalid secret access key");
		goto fail;
	}
	if (cred->session_token != NULL && *cred->session_token != '\0')
		token = cred->session_token;

	if (sigv4_canonical_request(req, amz_date, token, &creq,
	    &signed_headers, err, errlen) != 0 ||
	    sigv4_scope(amz_date, req->region, req->service, &scope, err,
	    errlen) != 0 ||
	    sigv4_string_to_sign(creq, amz_date, req->region, req->service,
	    &sts, err, errlen) != 0)
		goto fail;
	if (sigv4_signing_key(cred->secret_access_key, amz_date, req->region,
	    req->service, key) != 0 || sigv4_signature(key, sts, sig) != 0) {
		log_reason(err, errlen, "HMAC-SHA256 failed");
		goto fail;
	}

	buf_adds(&b, "X-Amz-Date: ");
	buf_adds(&b, amz_date);
	if ((out->line[n++] = buf_take(&b, err, errlen, "header")) == NULL)
		goto fail;
	if (token != NULL) {
		buf_adds(&b, "X-Amz-Security-Token: ");
		buf_adds(&b, token);
		if ((out->line[n++] = buf_take(&b, err, errlen, "header")) ==
		    NULL)
			goto fail;
	}
	buf_adds(&b, "Authorization: " SIGV4_ALGORITHM " Credential=");
	buf_adds(&b, cred->access_key_id);
	buf_addc(&b, '/');
	buf_adds(&b, scope);
	buf_adds(&b, ", SignedHeaders=");
	buf_adds(&b, signed_headers);
	buf_adds(&b, ", Signature=");
	buf_adds(&b, sig);
	if ((out->line[n++] = buf_take(&b, err, errlen, "header")) == NULL)
		goto fail;
	out->nline = n;
	out->authorization = out->line[n - 1] + strlen("Authorization: ");
	rc = 0;
fail:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(sig, sizeof(sig));
	sigv4_stage_free(creq);
	sigv4_stage_free(signed_headers);
	sigv4_stage_free(sts);
	sigv4_stage_free(scope);
	buf_release(&b);
	if (rc != 0)
		sigv4_signed_free(out);
	return rc;
}

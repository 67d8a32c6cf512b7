/*
 * Credentials, region and endpoint, found where the AWS SDKs look.
 *
 * The idea to hold on to: every source either yields credentials, is not
 * configured (and the search goes on), or is configured but broken (and
 * the search stops with an error, so that a typo never silently hands the
 * run to another identity).  Only the instance metadata service, the last
 * source, may simply be absent: a machine that is not an EC2 instance has
 * none.
 *
 * Secrets live in as few places as possible and are wiped when dropped:
 * the keys and tokens held by a struct credentials, the bodies fetched
 * from the container and metadata endpoints, the header lines that carry
 * tokens, and every string the small JSON reader below copies out.  That
 * reader exists so that no library keeps copies we cannot wipe; it reads
 * only the flat objects these endpoints return.
 */
#include "credentials.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "awsconfig.h"
#include "http.h"
#include "log.h"
#include "tz.h"

#define IMDS_ENDPOINT "http://169.254.169.254"
#define IMDS_ENDPOINT6 "http://[fd00:ec2::254]"
#define IMDS_TOKEN_TTL 21600           /* seconds, as botocore asks */
#define IMDS_TOKEN_SLACK_MS 60000      /* renew this long before the TTL */
#define IMDS_TIMEOUT_MS 1000
#define IMDS_TIMEOUT_MAX_S 300
#define IMDS_ATTEMPTS_MAX 10
#define IMDS_TOKEN_MAX 4096
#define ROLE_MAX 64                    /* IAM role name */
#define CONTAINER_ENDPOINT "http://169.254.170.2"
#define CONTAINER_TIMEOUT_MS 2000
#define CONTAINER_ATTEMPTS 3
#define CONTAINER_TOKEN_MAX 16384
#define URL_MAX 2048
#define PATH_BUF 4096
#define SOURCE_MAX (PATH_BUF + 160)
#define NOTE_MAX 512
#define JSON_KEY_MAX 64

enum cred_kind {
	CRED_STATIC,        /* environment or shared files: never refreshed */
	CRED_CONTAINER,
	CRED_IMDS,
};

/* How to reach the instance metadata service, and the session token. */
struct imds {
	char base[URL_MAX];         /* endpoint without a trailing '/' */
	long timeout_ms;
	int attempts;
	bool v1_disabled;           /* AWS_EC2_METADATA_V1_DISABLED */
	bool v1;                    /* the token PUT was refused: no token */
	char *token;                /* secret */
	int64_t token_until_ms;     /* monotonic time to get a new one */
};

struct credentials {
	enum cred_kind kind;
	char *access_key_id;
	char *secret_access_key;    /* secret */
	char *session_token;        /* secret; NULL for long-term keys */
	int64_t expiration;         /* epoch s; -1 for long-term keys */
	int64_t retry_at;           /* no refresh before this (epoch s) */
	char source[SOURCE_MAX];
	char url[URL_MAX];          /* container endpoint */
	char role[ROLE_MAX + 1];    /* instance role */
	struct imds imds;
};

/* Credentials just read, before they replace the current ones. */
struct fetched {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
	int64_t expiration;
};

/* The extra CAs for the container and metadata endpoints, as for EC2. */
static char extra_ca[PATH_BUF];

void
credentials_set_ca_bundle(const char *path)
{
	snprintf(extra_ca, sizeof(extra_ca), "%s", path != NULL ? path : "");
}

static const char *
ca_bundle(void)
{
	return extra_ca[0] != '\0' ? extra_ca : NULL;
}

/* A variable's value, or NULL when it is unset or empty. */
static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

static bool
env_true(const char *name)
{
	const char *v = env(name);

	return v != NULL && strcasecmp(v, "true") == 0;
}

static bool
is_visible(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static bool
is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * Keys and tokens go into HTTP headers and the signature: visible ASCII
 * only.  what names the value in the message, never the value itself.
 */
static int
check_secret_text(const char *what, const char *s, size_t max, char *err,
    size_t errlen)
{
	size_t n = strlen(s);

	if (n == 0) {
		log_reason(err, errlen, "%s is empty", what);
		return -1;
	}
	if (n > max) {
		log_reason(err, errlen, "%s is longer than %zu bytes", what, max);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!is_visible((unsigned char)s[i])) {
			log_reason(err, errlen, "%s contains a blank, a control "
			    "character or a non-ASCII byte", what);
			return -1;
		}
	}
	return 0;
}

/* A printable excerpt of text from outside (not a secret), for messages. */
static void
excerpt(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *s != '\0' && n + 4 < outlen && n < 80; s++)
		out[n++] = is_visible((unsigned char)*s) || *s == ' ' ?
		    *s : '?';
	if (*s != '\0' && n + 4 <= outlen) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* What follows "http://" or "https://" in url, or NULL. */
static const char *
after_scheme(const char *url)
{
	if (strncasecmp(url, "http://", 7) == 0)
		return url + 7;
	if (strncasecmp(url, "https://", 8) == 0)
		return url + 8;
	return NULL;
}

/* An http(s) URL with a host, in visible ASCII: all that curl needs. */
static bool
plausible_url(const char *url)
{
	const char *rest = after_scheme(url);

	if (rest == NULL || *rest == '\0' || strchr("/?#", *rest) != NULL)
		return false;
	for (const char *p = url; *p != '\0'; p++)
		if (!is_visible((unsigned char)*p))
			return false;
	return true;
}

static void
fetched_free(struct fetched *f)
{
	sigv4_secret_free(f->access_key_id);
	sigv4_secret_free(f->secret_access_key);
	sigv4_secret_free(f->session_token);
	memset(f, 0, sizeof(*f));
}

/* Replaces c's keys with f's, wiping the old ones; f is left empty. */
static void
install(struct credentials *c, struct fetched *f)
{
	sigv4_secret_free(c->access_key_id);
	sigv4_secret_free(c->secret_access_key);
	sigv4_secret_free(c->session_token);
	c->access_key_id = f->access_key_id;
	c->secret_access_key = f->secret_access_key;
	c->session_token = f->session_token;
	c->expiration = f->expiration;
	memset(f, 0, sizeof(*f));
}

/* Copies long-term keys into f after checking them. */
static int
fetched_copy(struct fetched *f, const char *akid, const char *secret,
    const char *token, const char *const what[3], char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->expiration = -1;
	if (check_secret_text(what[0], akid, SIGV4_KEYID_MAX, err,
	    errlen) != 0 ||
	    check_secret_text(what[1], secret, SIGV4_SECRET_MAX, err,
	    errlen) != 0 ||
	    (token != NULL && check_secret_text(what[2], token,
	    SIGV4_VALUE_MAX, err, errlen) != 0))
		return -1;
	f->access_key_id = strdup(akid);
	f->secret_access_key = strdup(secret);
	if (token != NULL)
		f->session_token = strdup(token);
	if (f->access_key_id == NULL || f->secret_access_key == NULL ||
	    (token != NULL && f->session_token == NULL)) {
		fetched_free(f);
		log_reason(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * A small JSON reader for flat objects.
 */

struct json {
	const char *s;
	size_t len;
	size_t pos;
	char *err;
	size_t errlen;
};

static int
json_fail(struct json *j, const char *what)
{
	log_reason(j->err, j->errlen, "JSON: %s at byte %zu", what, j->pos);
	return -1;
}

static void
json_ws(struct json *j)
{
	while (j->pos < j->len && (j->s[j->pos] == ' ' ||
	    j->s[j->pos] == '\t' || j->s[j->pos] == '\n' ||
	    j->s[j->pos] == '\r'))
		j->pos++;
}

/* The length of the valid UTF-8 sequence at p, or 0. */
static size_t
utf8_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;      /* overlong */
		else if (c == 0xed)
			hi = 0x9f;      /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;      /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;      /* beyond U+10FFFF */
	} else {
		return 0;
	}
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static size_t
utf8_put(unsigned cp, unsigned char out[4])
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Four hex digits at j->pos (after "\u"). */
static int
json_hex4(struct json *j, unsigned *out)
{
	unsigned v = 0;

	if (j->len - j->pos < 4)
		return json_fail(j, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = j->s[j->pos + (size_t)i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return json_fail(j, "bad \\u escape");
	}
	j->pos += 4;
	*out = v;
	return 0;
}

/* An upper bound of the decoded length of the string at j->pos. */
static size_t
json_raw_len(const struct json *j)
{
	size_t p = j->pos + 1;

	while (p < j->len && j->s[p] != '"')
		p += j->s[p] == '\\' ? 2 : 1;
	return p - j->pos;
}

/*
 * Reads the string at j->pos (its opening quote), writing the decoded
 * bytes to dst while they fit in cap (with the NUL); *outlen is the full
 * decoded length, so the caller knows whether they all fitted.
 */
static int
json_string(struct json *j, char *dst, size_t cap, size_t *outlen)
{
	size_t n = 0;

	j->pos++;
	for (;;) {
		unsigned char c, buf[4];
		unsigned cp, lo;
		size_t k = 1;

		if (j->pos >= j->len)
			return json_fail(j, "unterminated string");
		c = (unsigned char)j->s[j->pos];
		if (c == '"') {
			j->pos++;
			break;
		}
		if (c < 0x20)
			return json_fail(j, "control character in a string");
		if (c != '\\') {
			k = utf8_len((const unsigned char *)j->s + j->pos,
			    j->len - j->pos);
			if (k == 0)
				return json_fail(j, "invalid UTF-8");
			memcpy(buf, j->s + j->pos, k);
			j->pos += k;
		} else {
			if (j->pos + 1 >= j->len)
				return json_fail(j, "unterminated string");
			c = (unsigned char)j->s[j->pos + 1];
			j->pos += 2;
			switch (c) {
			case '"':
			case '\\':
			case '/':
				buf[0] = c;
				break;
			case 'b':
				buf[0] = '\b';
				break;
			case 'f':
				buf[0] = '\f';
				break;
			case 'n':
				buf[0] = '\n';
				break;
			case 'r':
				buf[0] = '\r';
				break;
			case 't':
				buf[0] = '\t';
				break;
			case 'u':
				if (json_hex4(j, &cp) != 0)
					return -1;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return json_fail(j, "unpaired "
					    "surrogate");
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (j->len - j->pos < 2 ||
					    j->s[j->pos] != '\\' ||
					    j->s[j->pos + 1] != 'u')
						return json_fail(j, "unpaired "
						    "surrogate");
					j->pos += 2;
					if (json_hex4(j, &lo) != 0)
						return -1;
					if (lo < 0xdc00 || lo > 0xdfff)
						return json_fail(j, "unpaired "
						    "surrogate");
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
				}
				if (cp == 0)
					return json_fail(j, "\\u0000 in a "
					    "string");
				k = utf8_put(cp, buf);
				break;
			default:
				return json_fail(j, "invalid escape");
			}
		}
		if (dst != NULL && n + k < cap)
			memcpy(dst + n, buf, k);
		n += k;
	}
	if (dst != NULL && n < cap)
		dst[n] = '\0';
	*outlen = n;
	return 0;
}

static bool
json_digit(const struct json *j, size_t p)
{
	return p < j->len && j->s[p] >= '0' && j->s[p] <= '9';
}

/* Skips a number, true, false or null. */
static int
json_scalar(struct json *j)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t p = j->pos;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i]);

		if (j->len - j->pos >= n &&
		    memcmp(j->s + j->pos, words[i], n) == 0) {
			j->pos += n;
			return 0;
		}
	}
	if (p < j->len && j->s[p] == '-')
		p++;
	if (p < j->len && j->s[p] == '0')
		p++;
	else if (json_digit(j, p) && j->s[p] != '0')
		while (json_digit(j, p))
			p++;
	else
		return json_fail(j, "unexpected character");
	if (p < j->len && j->s[p] == '.') {
		if (!json_digit(j, ++p))
			return json_fail(j, "bad number");
		while (json_digit(j, p))
			p++;
	}
	if (p < j->len && (j->s[p] == 'e' || j->s[p] == 'E')) {
		p++;
		if (p < j->len && (j->s[p] == '+' || j->s[p] == '-'))
			p++;
		if (!json_digit(j, p))
			return json_fail(j, "bad number");
		while (json_digit(j, p))
			p++;
	}
	j->pos = p;
	return 0;
}

void
credentials_json_free(struct credentials_json_field *fields, size_t nfields)
{
	for (size_t i = 0; i < nfields; i++) {
		sigv4_secret_free(fields[i].value);
		fields[i].value = NULL;
	}
}

/* Reads the value of one member at j->pos into f (NULL: not wanted). */
static int
json_member_value(struct json *j, struct credentials_json_field *f)
{
	size_t n, cap;
	char c;

	if (j->pos >= j->len)
		return json_fail(j, "unexpected end");
	c = j->s[j->pos];
	if (c == '{' || c == '[')
		return json_fail(j, "nested object or array");
	if (c != '"') {
		if (f != NULL) {
			log_reason(j->err, j->errlen, "JSON: %s is not a string",
			    f->name);
			return -1;
		}
		return json_scalar(j);
	}
	if (f == NULL)
		return json_string(j, NULL, 0, &n);
	if (f->value != NULL) {
		log_reason(j->err, j->errlen, "JSON: %s appears twice", f->name);
		return -1;
	}
	/* Zeroed, so that a value cut short is still a C string to wipe. */
	cap = json_raw_len(j) + 1;
	if ((f->value = calloc(1, cap)) == NULL) {
		log_reason(j->err, j->errlen, "out of memory");
		return -1;
	}
	return json_string(j, f->value, cap, &n);
}

int
credentials_json_parse(const char *doc, size_t len,
    struct credentials_json_field *fields, size_t nfields, char *err,
    size_t errlen)
{
	struct json j = { doc, len, 0, err, errlen };
	char key[JSON_KEY_MAX + 1];

	for (size_t i = 0; i < nfields; i++)
		fields[i].value = NULL;
	if (doc == NULL || len > CREDENTIALS_DOC_MAX) {
		log_reason(err, errlen, "JSON: %s", doc == NULL ? "no document" :
		    "document too large");
		return -1;
	}
	if (memchr(doc, '\0', len) != NULL) {
		log_reason(err, errlen, "JSON: NUL byte in the document");
		return -1;
	}
	json_ws(&j);
	if (j.pos >= len || doc[j.pos] != '{') {
		json_fail(&j, "expected an object");
		goto fail;
	}
	j.pos++;
	json_ws(&j);
	if (j.pos < len && doc[j.pos] == '}') {
		j.pos++;
		goto end;
	}
	for (;;) {
		struct credentials_json_field *f = NULL;
		size_t klen;

		json_ws(&j);
		if (j.pos >= len || doc[j.pos] != '"') {
			json_fail(&j, "expected a member name");
			goto fail;
		}
		if (json_string(&j, key, sizeof(key), &klen) != 0)
			goto fail;
		for (size_t i = 0; klen < sizeof(key) && i < nfields; i++)
			if (strcmp(fields[i].name, key) == 0)
				f = &fields[i];
		json_ws(&j);
		if (j.pos >= len || doc[j.pos] != ':') {
			json_fail(&j, "expected ':'");
			goto fail;
		}
		j.pos++;
		json_ws(&j);
		if (json_member_value(&j, f) != 0)
			goto fail;
		json_ws(&j);
		if (j.pos < len && doc[j.pos] == ',') {
			j.pos++;
			continue;
		}
		if (j.pos < len && doc[j.pos] == '}') {
			j.pos++;
			break;
		}
		json_fail(&j, "expected ',' or '}'");
		goto fail;
	}
end:
	json_ws(&j);
	if (j.pos != len) {
		json_fail(&j, "text after the object");
		goto fail;
	}
	return 0;
fail:
	credentials_json_free(fields, nfields);
	return -1;
}

/*
 * Times.
 */

static bool
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool
expect_char(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

int
credentials_parse_time(const char *s, int64_t *out)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;

	if (s == NULL || !digits(&p, 4, &y) || !expect_char(&p, '-') ||
	    !digits(&p, 2, &mo) || !expect_char(&p, '-') ||
	    !digits(&p, 2, &d) || !expect_char(&p, 'T') ||
	    !digits(&p, 2, &h) || !expect_char(&p, ':') ||
	    !digits(&p, 2, &mi) || !expect_char(&p, ':') ||
	    !digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		if (!digits(&p, 2, &oh))
			return -1;
		(void)expect_char(&p, ':');
		if (!digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	return 0;
}

/*
 * Reading credentials out of a JSON document (container and IMDS).
 */

/* "HTTP 401: AccessDenied: invalid token" from an error reply's body. */
static void
describe_reply(int status, const char *body, char *out, size_t outlen)
{
	struct credentials_json_field f[] = {
		{ "Code", NULL }, { "code", NULL },
		{ "Message", NULL }, { "message", NULL },
	};
	const char *code, *msg;
	char a[96] = "", b[96] = "";

	if (body != NULL && credentials_json_parse(body, strlen(body), f, 4,
	    NULL, 0) == 0) {
		code = f[0].value != NULL ? f[0].value : f[1].value;
		msg = f[2].value != NULL ? f[2].value : f[3].value;
		if (code != NULL)
			excerpt(code, a, sizeof(a));
		if (msg != NULL)
			excerpt(msg, b, sizeof(b));
		credentials_json_free(f, 4);
	}
	snprintf(out, outlen, "HTTP %d%s%s%s%s", status, a[0] ? ": " : "", a,
	    b[0] ? ": " : "", b);
}

static int
fetched_from_json(const char *body, const char *what, bool want_code,
    struct fetched *f, char *err, size_t errlen)
{
	enum { AKID, SECRET, TOKEN, EXPIRATION, CODE, MESSAGE, NF };
	struct credentials_json_field fl[NF] = {
		{ "AccessKeyId", NULL }, { "SecretAccessKey", NULL },
		{ "Token", NULL }, { "Expiration", NULL }, { "Code", NULL },
		{ "Message", NULL },
	};
	char why[256], name[160], a[96], b[96];
	int rc = -1;

	memset(f, 0, sizeof(*f));
	if (credentials_json_parse(body, strlen(body), fl, NF, why,
	    sizeof(why)) != 0) {
		log_reason(err, errlen, "%s: %s", what, why);
		return -1;
	}
	if (want_code && (fl[CODE].value == NULL ||
	    strcmp(fl[CODE].value, "Success") != 0)) {
		excerpt(fl[CODE].value != NULL ? fl[CODE].value : "none", a,
		    sizeof(a));
		excerpt(fl[MESSAGE].value != NULL ? fl[MESSAGE].value : "", b,
		    sizeof(b));
		log_reason(err, errlen, "%s: Code is %s%s%s", what, a,
		    b[0] ? ": " : "", b);
		goto fail;
	}
	for (int i = AKID; i <= EXPIRATION; i++) {
		if (fl[i].value == NULL) {
			log_reason(err, errlen, "%s: the document has no %s", what,
			    fl[i].name);
			goto fail;
		}
	}
	snprintf(name, sizeof(name), "%s: AccessKeyId", what);
	if (check_secret_text(name, fl[AKID].value, SIGV4_KEYID_MAX, err,
	    errlen) != 0)
		goto fail;
	snprintf(name, sizeof(name), "%s: SecretAccessKey", what);
	if (check_secret_text(name, fl[SECRET].value, SIGV4_SECRET_MAX, err,
	    errlen) != 0)
		goto fail;
	snprintf(name, sizeof(name), "%s: Token", what);
	if (check_secret_text(name, fl[TOKEN].value, SIGV4_VALUE_MAX, err,
	    errlen) != 0)
		goto fail;
	if (credentials_parse_time(fl[EXPIRATION].value, &f->expiration) !=
	    0) {
		log_reason(err, errlen, "%s: Expiration is not an ISO 8601 UTC "
		    "time", what);
		goto fail;
	}
	f->access_key_id = fl[AKID].value;
	f->secret_access_key = fl[SECRET].value;
	f->session_token = fl[TOKEN].value;
	fl[AKID].value = fl[SECRET].value = fl[TOKEN].value = NULL;
	rc = 0;
fail:
	credentials_json_free(fl, NF);
	return rc;
}

/* A small file (a token), wiped when released; trailing newline dropped. */
static int
read_small_file(const char *what, const char *path, size_t max, char **out,
    char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0) {
		log_reason(err, errlen, "%s: %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_reason(err, errlen, "%s: %s: not a regular file", what, path);
		goto fail;
	}
	if ((buf = calloc(1, max + 2)) == NULL) {
		log_reason(err, errlen, "out of memory");
		goto fail;
	}
	while (len <= max) {
		n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_reason(err, errlen, "%s: %s: %s", what, path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		log_reason(err, errlen, "%s: %s: larger than %zu bytes", what,
		    path, max);
		goto fail;
	}
	if (memchr(buf, '\0', len) != NULL) {
		log_reason(err, errlen, "%s: %s: NUL byte in the file", what,
		    path);
		goto fail;
	}
	/* One final line end is how files end, not part of the token. */
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	*out = buf;
	buf = NULL;
	rc = 0;
fail:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, max + 2);
		free(buf);
	}
	close(fd);
	return rc;
}

/*
 * The shared files.
 */

/*
 * The path named by envname, else HOME/rel; a leading "~/" in the
 * variable means HOME too.  Returns 0, 1 when there is no path (HOME
 * unset), -1 when it does not fit.
 */
static int
shared_path(const char *envname, const char *rel, char *path, size_t pathlen,
    char *err, size_t errlen)
{
	const char *v = env(envname), *home = env("HOME");
	int n;

	path[0] = '\0';
	if (v != NULL && strcmp(v, "~") != 0 && strncmp(v, "~/", 2) != 0)
		n = snprintf(path, pathlen, "%s", v);
	else if (home == NULL)
		return 1;
	else if (v != NULL)
		n = snprintf(path, pathlen, "%s%s", home, v + 1);
	else
		n = snprintf(path, pathlen, "%s/%s", home, rel);
	if (n < 0 || (size_t)n >= pathlen) {
		log_reason(err, errlen, "%s: path too long",
		    v != NULL ? envname : "HOME");
		path[0] = '\0';
		return -1;
	}
	return 0;
}

/* How a shared file is named in the "nothing found" message. */
static const char *
shown_path(const char *envname, const char *dflt)
{
	const char *v = env(envname);

	return v != NULL ? v : dflt;
}

/* --profile, else AWS_PROFILE, else AWS_DEFAULT_PROFILE, else default. */
static const char *
profile_name(const char *cli, bool *explicit)
{
	const char *v;

	*explicit = true;
	if (cli != NULL && cli[0] != '\0')
		return cli;
	if ((v = env("AWS_PROFILE")) != NULL ||
	    (v = env("AWS_DEFAULT_PROFILE")) != NULL)
		return v;
	*explicit = false;
	return "default";
}

/* Loads one shared file for a profile; a missing file is an empty one. */
static int
load_shared(const char *envname, const char *rel, enum awsconfig_kind kind,
    const char *profile, struct awsconfig_profile *p, char *path,
    size_t pathlen, char *err, size_t errlen)
{
	int rc;

	memset(p, 0, sizeof(*p));
	rc = shared_path(envname, rel, path, pathlen, err, errlen);
	if (rc != 0) {
		if (rc > 0)
			log_debug("HOME is not set: no %s", rel);
		return rc < 0 ? -1 : 0;
	}
	rc = awsconfig_load(path, kind, profile, p, err, errlen);
	if (rc > 0)
		log_debug("%s: no such file", path);
	return rc < 0 ? -1 : 0;
}

/* Static keys from one file's profile: 1 none, 0 found, -1 broken. */
static int
profile_keys(const struct awsconfig_profile *p, const char *path,
    const char *profile, struct fetched *f, char *err, size_t errlen)
{
	char what[3][PATH_BUF + 64];
	const char *const names[3] = { what[0], what[1], what[2] };

	if (p->access_key_id.value == NULL &&
	    p->secret_access_key.value == NULL)
		return 1;
	if (p->access_key_id.value == NULL ||
	    p->secret_access_key.value == NULL) {
		log_reason(err, errlen, "%s:%d: profile %s has %s but no %s", path,
		    p->line, profile, p->access_key_id.value != NULL ?
		    "aws_access_key_id" : "aws_secret_access_key",
		    p->access_key_id.value != NULL ? "aws_secret_access_key" :
		    "aws_access_key_id");
		return -1;
	}
	snprintf(what[0], sizeof(what[0]), "%s:%d: aws_access_key_id", path,
	    p->access_key_id.line);
	snprintf(what[1], sizeof(what[1]), "%s:%d: aws_secret_access_key",
	    path, p->secret_access_key.line);
	snprintf(what[2], sizeof(what[2]), "%s:%d: aws_session_token", path,
	    p->session_token.line);
	return fetched_copy(f, p->access_key_id.value,
	    p->secret_access_key.value, p->session_token.value, names, err,
	    errlen) == 0 ? 0 : -1;
}

static int
from_files(struct credentials *c, const char *profile, bool explicit,
    char *err, size_t errlen)
{
	struct awsconfig_profile cred, conf;
	char cred_path[PATH_BUF], conf_path[PATH_BUF];
	const struct awsconfig_profile *other = NULL;
	const char *other_path = NULL;
	struct fetched f = { 0 };
	int rc = -1, keys;

	memset(&conf, 0, sizeof(conf));
	if (load_shared("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials",
	    AWSCONFIG_CREDENTIALS, profile, &cred, cred_path,
	    sizeof(cred_path), err, errlen) != 0 ||
	    load_shared("AWS_CONFIG_FILE", ".aws/config", AWSCONFIG_CONFIG,
	    profile, &conf, conf_path, sizeof(conf_path), err, errlen) != 0) {
		rc = -2;
		goto done;
	}
	if (explicit && !cred.found && !conf.found) {
		log_reason(err, errlen, "profile %s not found in %s or %s",
		    profile, shown_path("AWS_SHARED_CREDENTIALS_FILE",
		    "~/.aws/credentials"), shown_path("AWS_CONFIG_FILE",
		    "~/.aws/config"));
		rc = -2;
		goto done;
	}
	/*
	 * The SDKs use a role, web identity or SSO before static keys, and a
	 * credential_process after the credentials file's keys but before the
	 * config file's; ec2backup implements none of them, and says so
	 * rather than silently using another identity.
	 */
	for (int i = 0; i < 2; i++) {
		const struct awsconfig_profile *p = i == 0 ? &cred : &conf;

		if (p->other_source != NULL && (other == NULL ||
		    strcmp(other->other_source, "credential_process") == 0)) {
			other = p;
			other_path = i == 0 ? cred_path : conf_path;
		}
	}
	keys = profile_keys(&cred, cred_path, profile, &f, err, errlen);
	if (keys < 0) {
		rc = -2;
		goto done;
	}
	if (other != NULL && (keys > 0 ||
	    strcmp(other->other_source, "credential_process") != 0)) {
		log_reason(err, errlen, "%s:%d: profile %s uses %s, which "
		    "ec2backup does not support; give the profile "
		    "aws_access_key_id and aws_secret_access_key, or use "
		    "environment variables or an instance role", other_path,
		    other->other_source_line, profile, other->other_source);
		rc = -2;
		goto done;
	}
	if (keys == 0) {
		snprintf(c->source, sizeof(c->source), "%s (profile %s)",
		    cred_path, profile);
	} else {
		keys = profile_keys(&conf, conf_path, profile, &f, err, errlen);
		if (keys < 0) {
			rc = -2;
			goto done;
		}
		if (keys > 0) {
			log_debug("profile %s has no keys in %s or %s", profile,
			    cred_path[0] ? cred_path : "~/.aws/credentials",
			    conf_path[0] ? conf_path : "~/.aws/config");
			rc = 1;
			goto done;
		}
		snprintf(c->source, sizeof(c->source), "%s (profile %s)",
		    conf_path, profile);
	}
	c->kind = CRED_STATIC;
	install(c, &f);
	rc = 0;
done:
	fetched_free(&f);
	awsconfig_profile_free(&cred);
	awsconfig_profile_free(&conf);
	return rc;
}

static int
from_env(struct credentials *c, char *err, size_t errlen)
{
	static const char *const what[3] = { "AWS_ACCESS_KEY_ID",
	    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN" };
	static const char *const what_legacy[3] = { "AWS_ACCESS_KEY_ID",
	    "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN" };
	const char *akid = env("AWS_ACCESS_KEY_ID");
	const char *secret = env("AWS_SECRET_ACCESS_KEY");
	const char *token = env("AWS_SESSION_TOKEN");
	struct fetched f;

	if (akid == NULL) {
		if (secret != NULL)
			log_warning("AWS_SECRET_ACCESS_KEY is set without "
			    "AWS_ACCESS_KEY_ID; not using the environment's "
			    "keys");
		return 1;
	}
	if (secret == NULL) {
		log_reason(err, errlen, "AWS_ACCESS_KEY_ID is set but "
		    "AWS_SECRET_ACCESS_KEY is not");
		return -1;
	}
	if (fetched_copy(&f, akid, secret, token != NULL ? token :
	    env("AWS_SECURITY_TOKEN"), token != NULL ? what : what_legacy,
	    err, errlen) != 0)
		return -1;
	c->kind = CRED_STATIC;
	snprintf(c->source, sizeof(c->source), "environment variables");
	install(c, &f);
	return 0;
}

/*
 * Container credentials.
 */

bool
credentials_full_uri_allowed(const char *url)
{
	static const char *const v4[] = { "169.254.170.2", "169.254.170.23" };
	unsigned char a[16], b[16];
	const char *p, *end, *h, *rest;
	char host[256];
	size_t hlen;
	bool https;

	if (url == NULL || !plausible_url(url))
		return false;
	https = strncasecmp(url, "https://", 8) == 0;
	p = after_scheme(url);
	end = p + strcspn(p, "/?#");
	/* "http://127.0.0.1@example.com/" goes to example.com. */
	if (memchr(p, '@', (size_t)(end - p)) != NULL)
		return false;
	if (https)
		return true;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (close == NULL)
			return false;
		h = p + 1;
		hlen = (size_t)(close - h);
		rest = close + 1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));

		h = p;
		rest = colon != NULL ? colon : end;
		hlen = (size_t)(rest - h);
	}
	if (rest < end) {
		long port = 0;

		if (*rest != ':' || rest + 1 == end || end - rest > 6)
			return false;
		for (const char *q = rest + 1; q < end; q++) {
			if (*q < '0' || *q > '9')
				return false;
			port = port * 10 + (*q - '0');
		}
		if (port < 1 || port > 65535)
			return false;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (*p != '[') {
		if (strcasecmp(host, "localhost") == 0)
			return true;
		if (inet_pton(AF_INET, host, a) != 1)
			return false;
		if (a[0] == 127)
			return true;
		for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
			if (inet_pton(AF_INET, v4[i], b) == 1 &&
			    memcmp(a, b, 4) == 0)
				return true;
		return false;
	}
	if (inet_pton(AF_INET6, host, a) != 1)
		return false;
	if (inet_pton(AF_INET6, "::1", b) == 1 && memcmp(a, b, 16) == 0)
		return true;
	return inet_pton(AF_INET6, "fd00:ec2::23", b) == 1 &&
	    memcmp(a, b, 16) == 0;
}

/* The container endpoint's URL: 1 when none is configured, 0, -1. */
static int
container_url(char *url, size_t urllen, char *err, size_t errlen)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	int n;

	if (rel != NULL) {
		for (const char *p = rel; *p != '\0'; p++) {
			if (!is_visible((unsigned char)*p)) {
				log_reason(err, errlen, "AWS_CONTAINER_"
				    "CREDENTIALS_RELATIVE_URI contains a blank "
				    "or a control character");
				return -1;
			}
		}
		if (rel[0] != '/') {
			log_reason(err, errlen, "AWS_CONTAINER_CREDENTIALS_"
			    "RELATIVE_URI must start with '/'");
			return -1;
		}
		n = snprintf(url, urllen, "%s%s", CONTAINER_ENDPOINT, rel);
	} else if (full != NULL) {
		if (!credentials_full_uri_allowed(full)) {
			log_reason(err, errlen, "AWS_CONTAINER_CREDENTIALS_FULL_URI"
			    " must be an https URL, or http to a loopback "
			    "address, 169.254.170.2, 169.254.170.23 or "
			    "[fd00:ec2::23]");
			return -1;
		}
		n = snprintf(url, urllen, "%s", full);
	} else {
		return 1;
	}
	if (n < 0 || (size_t)n >= urllen) {
		log_reason(err, errlen, "the container credentials URL is too "
		    "long");
		return -1;
	}
	return 0;
}

/* "Authorization: TOKEN" (a secret), or NULL when no token is set. */
static int
container_auth(char **header, char *err, size_t errlen)
{
	const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *value = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *what = file != NULL ?
	    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" :
	    "AWS_CONTAINER_AUTHORIZATION_TOKEN";
	char *token = NULL;
	size_t n;
	int rc = -1;

	*header = NULL;
	if (file != NULL) {
		if (read_small_file(what, file, CONTAINER_TOKEN_MAX, &token,
		    err, errlen) != 0)
			return -1;
		value = token;
	} else if (value == NULL) {
		return 0;
	}
	n = strlen(value);
	if (n == 0 || n > CONTAINER_TOKEN_MAX) {
		log_reason(err, errlen, "%s: the token is %s", what,
		    n == 0 ? "empty" : "too long");
		goto done;
	}
	/* A line break would let the value add headers of its own. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c == '\r' || c == '\n' || (c < 0x20 && c != '\t') ||
		    c == 0x7f) {
			log_reason(err, errlen, "%s: the token contains a line "
			    "break or a control character", what);
			goto done;
		}
	}
	if ((*header = malloc(n + sizeof("Authorization: "))) == NULL) {
		log_reason(err, errlen, "out of memory");
		goto done;
	}
	memcpy(*header, "Authorization: ", sizeof("Authorization: ") - 1);
	memcpy(*header + sizeof("Authorization: ") - 1, value, n + 1);
	rc = 0;
done:
	sigv4_secret_free(token);
	return rc;
}

/* "http://host:port" of a URL, for messages: paths may hold ids. */
static void
url_origin(const char *url, char *out, size_t outlen)
{
	const char *p = strstr(url, "://");
	size_t n = p != NULL ? (size_t)(p + 3 - url) : 0;

	n += strcspn(url + n, "/?#");
	snprintf(out, outlen, "%.*s", (int)n, url);
}

static void
pause_one_second(void)
{
	struct timespec ts = { 1, 0 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
container_fetch(const char *url, struct fetched *f, char *err, size_t errlen)
{
	const char *headers[2] = { "Accept: application/json", NULL };
	char *auth = NULL, *body = NULL, origin[256], why[512];
	size_t nheaders = 1;
	int status = 0, rc = -1;

	memset(f, 0, sizeof(*f));
	url_origin(url, origin, sizeof(origin));
	if (container_auth(&auth, err, errlen) != 0)
		return -1;
	if (auth != NULL)
		headers[nheaders++] = auth;
	for (int attempt = 1;; attempt++) {
		bool again;

		if (http_fetch("GET", url, headers, nheaders,
		    CONTAINER_TIMEOUT_MS, CREDENTIALS_DOC_MAX, ca_bundle(),
		    &body, &status, why, sizeof(why)) != 0) {
			again = true;
		} else if (status == 200) {
			break;
		} else {
			again = status >= 500 || status == 429;
			describe_reply(status, body, why, sizeof(why));
			sigv4_secret_free(body);
			body = NULL;
		}
		if (!again || attempt >= CONTAINER_ATTEMPTS) {
			log_reason(err, errlen, "container credentials from %s: "
			    "%s", origin, why);
			goto done;
		}
		log_debug("container credentials from %s: %s; trying again",
		    origin, why);
		pause_one_second();
	}
	snprintf(why, sizeof(why), "container credentials from %s", origin);
	rc = fetched_from_json(body, why, false, f, err, errlen);
done:
	sigv4_secret_free(body);
	sigv4_secret_free(auth);
	return rc;
}

static int
from_container(struct credentials *c, char *err, size_t errlen)
{
	struct fetched f;
	int rc;

	rc = container_url(c->url, sizeof(c->url), err, errlen);
	if (rc != 0)
		return rc;
	if (container_fetch(c->url, &f, err, errlen) != 0)
		return -1;
	c->kind = CRED_CONTAINER;
	snprintf(c->source, sizeof(c->source), "container credentials");
	install(c, &f);
	return 0;
}

/*
 * The instance metadata service.
 */

static void
imds_drop_token(struct imds *m)
{
	sigv4_secret_free(m->token);
	m->token = NULL;
	m->token_until_ms = 0;
}

static int
imds_setup(struct imds *m, char *err, size_t errlen)
{
	const char *base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	const char *v;
	size_t n;

	memset(m, 0, sizeof(*m));
	if (base != NULL) {
		if (!plausible_url(base)) {
			log_reason(err, errlen, "AWS_EC2_METADATA_SERVICE_ENDPOINT"
			    " must be an http:// or https:// URL");
			return -1;
		}
	} else if (mode == NULL || strcasecmp(mode, "IPv4") == 0) {
		base = IMDS_ENDPOINT;
	} else if (strcasecmp(mode, "IPv6") == 0) {
		base = IMDS_ENDPOINT6;
	} else {
		log_reason(err, errlen, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE "
		    "must be IPv4 or IPv6");
		return -1;
	}
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (n >= sizeof(m->base) - 64) {
		log_reason(err, errlen, "AWS_EC2_METADATA_SERVICE_ENDPOINT is too "
		    "long");
		return -1;
	}
	memcpy(m->base, base, n);
	m->base[n] = '\0';

	m->timeout_ms = IMDS_TIMEOUT_MS;
	if ((v = env("AWS_METADATA_SERVICE_TIMEOUT")) != NULL) {
		char *end;
		double s;

		errno = 0;
		s = strtod(v, &end);
		if (errno != 0 || *end != '\0' || !(s > 0) ||
		    s > IMDS_TIMEOUT_MAX_S) {
			log_reason(err, errlen, "AWS_METADATA_SERVICE_TIMEOUT must "
			    "be a number of seconds, above 0 and at most %d",
			    IMDS_TIMEOUT_MAX_S);
			return -1;
		}
		m->timeout_ms = (long)(s * 1000);
		if (m->timeout_ms < 1)
			m->timeout_ms = 1;
	}
	m->attempts = 1;
	if ((v = env("AWS_METADATA_SERVICE_NUM_ATTEMPTS")) != NULL) {
		char *end;
		long k;

		errno = 0;
		k = strtol(v, &end, 10);
		if (errno != 0 || *end != '\0' || k < 1 ||
		    k > IMDS_ATTEMPTS_MAX) {
			log_reason(err, errlen, "AWS_METADATA_SERVICE_NUM_ATTEMPTS"
			    " must be a whole number from 1 to %d",
			    IMDS_ATTEMPTS_MAX);
			return -1;
		}
		m->attempts = (int)k;
	}
	m->v1_disabled = env_true("AWS_EC2_METADATA_V1_DISABLED");
	return 0;
}

static void
imds_url(const struct imds *m, const char *path, char *url, size_t urllen)
{
	snprintf(url, urllen, "%s%s", m->base, path);
}

/* Asks for a session token; a 403, 404 or 405 means IMDSv1 only. */
static int
imds_token(struct imds *m, char *err, size_t errlen)
{
	static const char *const headers[] = {
		"X-aws-ec2-metadata-token-ttl-seconds: 21600",
	};
	char url[URL_MAX + 160], why[512], *body = NULL;
	int status = 0, rc = -1;

	imds_drop_token(m);
	m->v1 = false;
	imds_url(m, "/latest/api/token", url, sizeof(url));
	for (int attempt = 1;; attempt++) {
		int64_t started = http_now_ms();

		if (http_fetch("PUT", url, headers, 1, m->timeout_ms,
		    IMDS_TOKEN_MAX, ca_bundle(), &body, &status, why,
		    sizeof(why)) != 0) {
			log_debug("instance metadata service: PUT %s: %s", url,
			    why);
			if (attempt < m->attempts)
				continue;
			log_reason(err, errlen, "the instance metadata service "
			    "did not answer");
			return -1;
		}
		if (status == 200) {
			size_t n = strlen(body);

			while (n > 0 && (body[n - 1] == '\n' ||
			    body[n - 1] == '\r' || body[n - 1] == ' '))
				body[--n] = '\0';
			if (check_secret_text("the instance metadata service's "
			    "session token", body, IMDS_TOKEN_MAX, err,
			    errlen) != 0)
				goto done;
			m->token = body;
			body = NULL;
			m->token_until_ms = started + IMDS_TOKEN_TTL * 1000LL -
			    IMDS_TOKEN_SLACK_MS;
			rc = 0;
			goto done;
		}
		sigv4_secret_free(body);
		body = NULL;
		if (status == 403 || status == 404 || status == 405) {
			if (m->v1_disabled) {
				log_reason(err, errlen, "the instance metadata "
				    "service refused a session token (HTTP %d) "
				    "and AWS_EC2_METADATA_V1_DISABLED forbids "
				    "IMDSv1", status);
				return -1;
			}
			log_debug("instance metadata service: HTTP %d to the "
			    "token request; using IMDSv1", status);
			m->v1 = true;
			return 0;
		}
		if ((status >= 500 || status == 429) &&
		    attempt < m->attempts)
			continue;
		log_reason(err, errlen, "the instance metadata service answered "
		    "HTTP %d to the session token request", status);
		return -1;
	}
done:
	sigv4_secret_free(body);
	return rc;
}

/*
 * GETs path, with the session token (getting one first when there is none
 * or its TTL is over).  Any status is returned with the body; -1 only when
 * the service could not be asked.  A 401 to a token means it has expired
 * on the service's side: one new token, one more try.
 */
static int
imds_get(struct imds *m, const char *path, char **body, int *status,
    char *err, size_t errlen)
{
	char url[URL_MAX + 160], why[512];
	bool renewed = false;

	*body = NULL;
	if (!m->v1 && (m->token == NULL ||
	    http_now_ms() >= m->token_until_ms) &&
	    imds_token(m, err, errlen) != 0)
		return -1;
	imds_url(m, path, url, sizeof(url));
	for (int attempt = 1;; attempt++) {
		const char *headers[1];
		char *line = NULL;
		size_t nheaders = 0;
		int rc;

		if (m->token != NULL) {
			size_t n = strlen(m->token);

			line = malloc(n + sizeof("X-aws-ec2-metadata-token: "));
			if (line == NULL) {
				log_reason(err, errlen, "out of memory");
				return -1;
			}
			snprintf(line, n + sizeof("X-aws-ec2-metadata-token: "),
			    "X-aws-ec2-metadata-token: %s", m->token);
			headers[nheaders++] = line;
		}
		rc = http_fetch("GET", url, headers, nheaders, m->timeout_ms,
		    CREDENTIALS_DOC_MAX, ca_bundle(), body, status, why,
		    sizeof(why));
		sigv4_secret_free(line);
		if (rc != 0) {
			log_debug("instance metadata service: GET %s: %s", url,
			    why);
			if (attempt < m->attempts)
				continue;
			log_reason(err, errlen, "the instance metadata service "
			    "did not answer");
			return -1;
		}
		if (*status == 401 && m->token != NULL && !renewed) {
			sigv4_secret_free(*body);
			*body = NULL;
			log_debug("instance metadata service: the session token "
			    "was refused; getting a new one");
			if (imds_token(m, err, errlen) != 0)
				return -1;
			renewed = true;
			attempt = 0;
			continue;
		}
		if ((*status >= 500 || *status == 429) &&
		    attempt < m->attempts) {
			sigv4_secret_free(*body);
			*body = NULL;
			continue;
		}
		return 0;
	}
}

/* Words for a metadata reply that is not a 200. */
static void
imds_status_err(const struct imds *m, int status, const char *what,
    char *err, size_t errlen)
{
	if (status == 401 && m->v1)
		log_reason(err, errlen, "the instance metadata service requires "
		    "a session token but refused to give one");
	else
		log_reason(err, errlen, "the instance metadata service answered "
		    "HTTP %d for %s", status, what);
}

static bool
valid_role(const char *s, size_t n)
{
	if (n == 0 || n > ROLE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("+=,.@_-", c) != NULL))
			return false;
	}
	return true;
}

/* The role's credentials: the role's name first, then its document. */
static int
imds_fetch(struct imds *m, char role[ROLE_MAX + 1], struct fetched *f,
    char *err, size_t errlen)
{
	static const char dir[] = "/latest/meta-data/iam/security-credentials/";
	char path[sizeof(dir) + ROLE_MAX], what[ROLE_MAX + 32], *body = NULL;
	size_t n;
	int status, rc = -1;

	memset(f, 0, sizeof(*f));
	if (imds_get(m, dir, &body, &status, err, errlen) != 0)
		return -1;
	if (status == 404) {
		log_reason(err, errlen, "the instance has no IAM role (instance "
		    "metadata)");
		goto done;
	}
	if (status != 200) {
		imds_status_err(m, status, "the role name", err, errlen);
		goto done;
	}
	n = strcspn(body, "\r\n");
	while (n > 0 && (body[n - 1] == ' ' || body[n - 1] == '\t'))
		n--;
	if (!valid_role(body, n)) {
		log_reason(err, errlen, "the instance metadata service gave %s "
		    "role name", n == 0 ? "an empty" : "an invalid");
		goto done;
	}
	memcpy(role, body, n);
	role[n] = '\0';
	sigv4_secret_free(body);
	body = NULL;
	snprintf(path, sizeof(path), "%s%s", dir, role);
	if (imds_get(m, path, &body, &status, err, errlen) != 0)
		goto done;
	if (status != 200) {
		snprintf(what, sizeof(what), "role %s", role);
		imds_status_err(m, status, what, err, errlen);
		goto done;
	}
	snprintf(what, sizeof(what), "instance role %s", role);
	rc = fetched_from_json(body, what, true, f, err, errlen);
done:
	sigv4_secret_free(body);
	return rc;
}

static void
imds_source(struct credentials *c)
{
	snprintf(c->source, sizeof(c->source), "instance role %s (IMDSv%d)",
	    c->role, c->imds.v1 ? 1 : 2);
}

/* 0 found, 1 nothing (the reason in note), -1 misconfigured. */
static int
from_imds(struct credentials *c, char *note, size_t notelen, char *err,
    size_t errlen)
{
	struct fetched f;

	if (imds_setup(&c->imds, err, errlen) != 0)
		return -1;
	if (imds_fetch(&c->imds, c->role, &f, note, notelen) != 0) {
		imds_drop_token(&c->imds);
		return 1;
	}
	c->kind = CRED_IMDS;
	imds_source(c);
	install(c, &f);
	return 0;
}

/*
 * The chain.
 */

int
credentials_resolve(const char *profile, struct credentials **out,
    char *err, size_t errlen)
{
	struct credentials *c;
	char note[NOTE_MAX];
	bool explicit, cli = profile != NULL && profile[0] != '\0';
	const char *name = profile_name(profile, &explicit);
	int rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_reason(err, errlen, "out of memory");
		return -1;
	}
	c->expiration = -1;
	if (!cli) {
		if ((rc = from_env(c, err, errlen)) <= 0)
			goto tried;
		/* Next in the SDKs' chain; not silently skipped. */
		if (env("AWS_WEB_IDENTITY_TOKEN_FILE") != NULL ||
		    env("AWS_ROLE_ARN") != NULL) {
			log_reason(err, errlen, "AWS_ROLE_ARN and "
			    "AWS_WEB_IDENTITY_TOKEN_FILE ask for web identity "
			    "credentials (an EKS service account, a CI OIDC "
			    "token), which ec2backup cannot use yet; give it "
			    "keys, a profile with keys, container credentials "
			    "or an instance role, and unset those variables");
			rc = -2;
			goto tried;
		}
	} else {
		log_debug("--profile %s: not looking at AWS_ACCESS_KEY_ID", name);
	}
	if ((rc = from_files(c, name, explicit, err, errlen)) <= 0)
		goto tried;
	if ((rc = from_container(c, err, errlen)) <= 0)
		goto tried;
	if (env_true("AWS_EC2_METADATA_DISABLED")) {
		snprintf(note, sizeof(note), "the instance metadata service is "
		    "disabled (AWS_EC2_METADATA_DISABLED)");
	} else if ((rc = from_imds(c, note, sizeof(note), err, errlen)) <= 0) {
		goto tried;
	}
	log_reason(err, errlen, "no AWS credentials found: %s, not in %s or %s "
	    "(profile %s), no container credentials, and %s; set "
	    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, configure a profile, or "
	    "attach an instance role", cli ? "the environment was not used "
	    "with --profile" : "not in the environment",
	    shown_path("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
	    shown_path("AWS_CONFIG_FILE", "~/.aws/config"), name, note);
	rc = -1;
tried:
	if (rc != 0) {
		credentials_free(c);
		return rc == -2 ? -2 : -1;
	}
	log_debug("credentials from %s", c->source);
	*out = c;
	return 0;
}

const char *
credentials_source(const struct credentials *c)
{
	return c->source;
}

bool
credentials_temporary(const struct credentials *c)
{
	return c->kind != CRED_STATIC;
}

int64_t
credentials_expiration(const struct credentials *c)
{
	return c->expiration;
}

static int
refresh(struct credentials *c, char *err, size_t errlen)
{
	struct fetched f;

	if (c->kind == CRED_CONTAINER) {
		if (container_fetch(c->url, &f, err, errlen) != 0)
			return -1;
	} else {
		char role[ROLE_MAX + 1];

		if (imds_fetch(&c->imds, role, &f, err, errlen) != 0)
			return -1;
		memcpy(c->role, role, sizeof(role));
		imds_source(c);
	}
	install(c, &f);
	return 0;
}

int
credentials_get(void *arg, int64_t now, struct sigv4_credentials *out,
    char *err, size_t errlen)
{
	struct credentials *c = arg;
	char why[NOTE_MAX], when[TZ_TIME_MAX], old[SIGV4_KEYID_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (c->kind != CRED_STATIC &&
	    now >= c->expiration - CREDENTIALS_REFRESH_BEFORE &&
	    (now >= c->expiration || now >= c->retry_at)) {
		snprintf(old, sizeof(old), "%s", c->access_key_id);
		if (refresh(c, why, sizeof(why)) == 0) {
			tz_format_time(c->expiration, when);
			log_debug("%s: %s credentials, valid until %s",
			    c->source, strcmp(old, c->access_key_id) == 0 ?
			    "the same" : "new", when);
			/* Ones issued close to their end are not asked for
			 * again at every request. */
			if (now >= c->expiration - CREDENTIALS_REFRESH_BEFORE)
				c->retry_at = now + CREDENTIALS_RETRY_AFTER;
		} else if (now < c->expiration) {
			tz_format_time(c->expiration, when);
			log_warning("%s: cannot refresh the credentials: %s; "
			    "using the current ones, valid until %s",
			    c->source, why, when);
			c->retry_at = now + CREDENTIALS_RETRY_AFTER;
		} else {
			tz_format_time(c->expiration, when);
			log_reason(err, errlen, "the credentials from %s expired "
			    "at %s and cannot be refreshed: %s", c->source,
			    when, why);
			return -1;
		}
		if (now >= c->expiration) {
			tz_format_time(c->expiration, when);
			log_reason(err, errlen, "the credentials from %s expired "
			    "at %s (is the clock right?)", c->source, when);
			return -1;
		}
	}
	out->access_key_id = c->access_key_id;
	out->secret_access_key = c->secret_access_key;
	out->session_token = c->session_token;
	return 0;
}

void
credentials_free(struct credentials *c)
{
	if (c == NULL)
		return;
	sigv4_secret_free(c->access_key_id);
	sigv4_secret_free(c->secret_access_key);
	sigv4_secret_free(c->session_token);
	imds_drop_token(&c->imds);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

/*
 * Region, endpoint, CA bundle.
 */

static bool
valid_region(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CREDENTIALS_REGION_MAX || s[0] == '-' ||
	    s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static int
put_region(const char *region, const char *from, char *out, size_t outlen,
    char *source, size_t sourcelen, char *err, size_t errlen)
{
	char shown[96];

	if (!valid_region(region)) {
		excerpt(region, shown, sizeof(shown));
		log_reason(err, errlen, "%s: \"%s\" is not a region name "
		    "(lowercase letters, digits and '-')", from, shown);
		return -1;
	}
	if (strlen(region) >= outlen) {
		log_reason(err, errlen, "%s: the region name is too long", from);
		return -1;
	}
	snprintf(out, outlen, "%s", region);
	if (source != NULL && sourcelen > 0)
		snprintf(source, sourcelen, "%s", from);
	return 0;
}

static int
imds_region(char *out, size_t outlen, char *err, size_t errlen)
{
	struct imds m;
	char *body = NULL;
	size_t n;
	int status, rc = -1;

	if (imds_setup(&m, err, errlen) != 0)
		return -1;
	if (imds_get(&m, "/latest/meta-data/placement/region", &body, &status,
	    err, errlen) != 0)
		goto done;
	if (status != 200) {
		imds_status_err(&m, status, "the placement region", err,
		    errlen);
		goto done;
	}
	n = strcspn(body, "\r\n");
	body[n] = '\0';
	if (!valid_region(body) || n >= outlen) {
		log_reason(err, errlen, "the instance metadata service gave an "
		    "invalid region name");
		goto done;
	}
	memcpy(out, body, n + 1);
	rc = 0;
done:
	free(body);
	imds_drop_token(&m);
	return rc;
}

int
credentials_region(const char *cli_region, const char *policy_region,
    const char *profile, char *out, size_t outlen, char *source,
    size_t sourcelen, char *err, size_t errlen)
{
	const struct {
		const char *value;
		const char *from;
	} given[] = {
		{ cli_region, "--region" },
		{ policy_region, "the policy" },
		{ env("AWS_REGION"), "AWS_REGION" },
		{ env("AWS_DEFAULT_REGION"), "AWS_DEFAULT_REGION" },
	};
	struct awsconfig_profile conf;
	char path[PATH_BUF], from[SOURCE_MAX], region[CREDENTIALS_REGION_MAX];
	char why[NOTE_MAX];
	bool explicit;
	const char *name = profile_name(profile, &explicit);
	int rc;

	for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++)
		if (given[i].value != NULL && given[i].value[0] != '\0')
			return put_region(given[i].value, given[i].from, out,
			    outlen, source, sourcelen, err, errlen);
	if (load_shared("AWS_CONFIG_FILE", ".aws/config", AWSCONFIG_CONFIG,
	    name, &conf, path, sizeof(path), err, errlen) != 0)
		return -1;
	if (conf.region.value != NULL) {
		snprintf(from, sizeof(from), "%s (profile %s)", path, name);
		rc = put_region(conf.region.value, from, out, outlen, source,
		    sourcelen, err, errlen);
		awsconfig_profile_free(&conf);
		return rc;
	}
	awsconfig_profile_free(&conf);
	if (env_true("AWS_EC2_METADATA_DISABLED")) {
		log_debug("no region from the instance metadata service: "
		    "AWS_EC2_METADATA_DISABLED");
	} else if (imds_region(region, sizeof(region), why,
	    sizeof(why)) == 0) {
		return put_region(region, "instance metadata", out, outlen,
		    source, sourcelen, err, errlen);
	} else {
		log_debug("no region from the instance metadata service: %s",
		    why);
	}
	if (strcmp(name, "default") == 0)
		log_reason(err, errlen, "no AWS region: use --region, set region "
		    "in the policy, set AWS_REGION, or add region to the "
		    "profile in %s", shown_path("AWS_CONFIG_FILE",
		    "~/.aws/config"));
	else
		log_reason(err, errlen, "no AWS region: use --region, set region "
		    "in the policy, set AWS_REGION, or add region to profile "
		    "%s in %s", name, shown_path("AWS_CONFIG_FILE",
		    "~/.aws/config"));
	return -1;
}

static int
put_url(const char *url, const char *from, char *out, size_t outlen,
    char *source, size_t sourcelen, char *err, size_t errlen)
{
	if (!plausible_url(url)) {
		log_reason(err, errlen, "%s: the endpoint is not an http:// or "
		    "https:// URL", from);
		return -1;
	}
	if (strlen(url) >= outlen) {
		log_reason(err, errlen, "%s: the endpoint URL is too long", from);
		return -1;
	}
	snprintf(out, outlen, "%s", url);
	if (source != NULL && sourcelen > 0)
		snprintf(source, sourcelen, "%s", from);
	return 0;
}

int
credentials_endpoint(const char *cli_url, const char *region,
    const char *profile, char *out, size_t outlen, char *source,
    size_t sourcelen, char *err, size_t errlen)
{
	struct awsconfig_profile conf;
	char path[PATH_BUF], from[SOURCE_MAX];
	const char *v;
	bool explicit;
	int n, rc;

	if (cli_url != NULL && cli_url[0] != '\0')
		return put_url(cli_url, "--endpoint-url", out, outlen, source,
		    sourcelen, err, errlen);
	if (env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
		log_debug("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: using the "
		    "default EC2 endpoint");
	} else {
		const char *name = profile_name(profile, &explicit);

		if ((v = env("AWS_ENDPOINT_URL_EC2")) != NULL)
			return put_url(v, "AWS_ENDPOINT_URL_EC2", out, outlen,
			    source, sourcelen, err, errlen);
		if ((v = env("AWS_ENDPOINT_URL")) != NULL)
			return put_url(v, "AWS_ENDPOINT_URL", out, outlen,
			    source, sourcelen, err, errlen);
		if (load_shared("AWS_CONFIG_FILE", ".aws/config",
		    AWSCONFIG_CONFIG, name, &conf, path, sizeof(path), err,
		    errlen) != 0)
			return -1;
		if (conf.ec2_endpoint_url.value != NULL ||
		    conf.endpoint_url.value != NULL) {
			const struct awsconfig_value *u =
			    conf.ec2_endpoint_url.value != NULL ?
			    &conf.ec2_endpoint_url : &conf.endpoint_url;

			snprintf(from, sizeof(from), "%s:%d", path, u->line);
			rc = put_url(u->value, from, out, outlen, source,
			    sourcelen, err, errlen);
			awsconfig_profile_free(&conf);
			return rc;
		}
		awsconfig_profile_free(&conf);
	}
	if (region == NULL || !valid_region(region)) {
		log_reason(err, errlen, "no valid region for the EC2 endpoint");
		return -1;
	}
	n = snprintf(out, outlen, "https://ec2.%s.amazonaws.com%s", region,
	    strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
	if (n < 0 || (size_t)n >= outlen) {
		log_reason(err, errlen, "the endpoint URL is too long");
		return -1;
	}
	if (source != NULL && sourcelen > 0)
		snprintf(source, sourcelen, "the region");
	return 0;
}

int
credentials_ca_bundle(const char *profile, char *out, size_t outlen,
    char *err, size_t errlen)
{
	struct awsconfig_profile conf;
	char path[PATH_BUF];
	const char *v = env("AWS_CA_BUNDLE");
	bool explicit;
	int rc = 0;

	if (outlen > 0)
		out[0] = '\0';
	if (v != NULL) {
		if (strlen(v) >= outlen) {
			log_reason(err, errlen, "AWS_CA_BUNDLE: path too long");
			return -1;
		}
		snprintf(out, outlen, "%s", v);
		return 1;
	}
	if (load_shared("AWS_CONFIG_FILE", ".aws/config", AWSCONFIG_CONFIG,
	    profile_name(profile, &explicit), &conf, path, sizeof(path), err,
	    errlen) != 0)
		return -1;
	if (conf.ca_bundle.value != NULL) {
		if (strlen(conf.ca_bundle.value) >= outlen) {
			log_reason(err, errlen, "%s:%d: ca_bundle: path too long",
			    path, conf.ca_bundle.line);
			rc = -1;
		} else {
			snprintf(out, outlen, "%s", conf.ca_bundle.value);
			rc = 1;
		}
	}
	awsconfig_profile_free(&conf);
	return rc;
}

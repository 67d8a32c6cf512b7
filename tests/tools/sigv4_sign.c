/*
 * sigv4_sign: signs request descriptions with src/sigv4 (and builds their
 * bodies with src/query), so that another signer can be compared with
 * ours.  Test keys only: it prints the Authorization header it computes.
 *
 * usage: sigv4_sign [-v] [LINE ...]
 *
 * With arguments, each argument is one line of a single request.  Without,
 * requests are read from standard input, each ended by a line "sign" (or
 * by the end of input).  A line is "FIELD VALUE"; in VALUE, and in the
 * NAME of the two-part fields, %XX stands for the byte XX, so any byte
 * (space, newline, '%') can be passed.  Fields:
 *
 *   method M | host H[:PORT] | path P | region R | service S
 *   date YYYYMMDDTHHMMSSZ | access_key ID | secret_key KEY | token T
 *   header NAME VALUE        a header to send and sign (repeatable)
 *   action A, version V      start an EC2 query (built with src/query)
 *   param NAME VALUE         a query pair, in order (repeatable)
 *   body B | query Q         raw POST body / raw GET query string
 *
 * With action, a POST gets the form body and a GET the canonical query
 * string.  For each request the output is
 *
 *   sent <what was sent: body for POST, query for GET; %-escaped>
 *   x-amz-date <value>
 *   authorization <value>
 *   creq <canonical request, %-escaped>     (only with -v)
 *
 * followed by an empty line, or "error <reason>" and an empty line.  The
 * exit status is 1 when any request failed, 2 on usage errors.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "query.h"
#include "sigv4.h"
#include "sigv4_private.h"

#define TOOL_HEADERS_MAX SIGV4_HEADERS_MAX

struct tool_req {
	char *method, *host, *path, *region, *service, *date;
	char *access_key, *secret_key, *token;
	char *action, *version, *body, *query;
	size_t bodylen;
	char *hname[TOOL_HEADERS_MAX], *hvalue[TOOL_HEADERS_MAX];
	size_t nheaders;
	char **pname, **pvalue;
	size_t nparams, capparams;
	bool any;
	char error[256];
};

static bool verbose;

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes %XX escapes of n bytes at s into a new string; NULL if bad. */
static char *
unescape(const char *s, size_t n, size_t *outlen)
{
	char *out = malloc(n + 1), *p = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*p++ = s[i];
			continue;
		}
		if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
			free(out);
			return NULL;
		}
		*p++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
		i += 2;
	}
	*p = '\0';
	if (outlen != NULL)
		*outlen = (size_t)(p - out);
	return out;
}

static void
escape_print(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c > 0x20 && c < 0x7f && c != '%')
			putchar(c);
		else
			printf("%%%02X", c);
	}
}

static void
req_clear(struct tool_req *r)
{
	char **scalars[] = { &r->method, &r->host, &r->path, &r->region,
	    &r->service, &r->date, &r->access_key, &r->secret_key, &r->token,
	    &r->action, &r->version, &r->body, &r->query };

	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		sigv4_secret_free(*scalars[i]);
		*scalars[i] = NULL;
	}
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->hname[i]);
		free(r->hvalue[i]);
	}
	for (size_t i = 0; i < r->nparams; i++) {
		free(r->pname[i]);
		free(r->pvalue[i]);
	}
	free(r->pname);
	free(r->pvalue);
	memset(r, 0, sizeof(*r));
}

static void
req_error(struct tool_req *r, const char *msg)
{
	if (r->error[0] == '\0')
		snprintf(r->error, sizeof(r->error), "%s", msg);
}

/* Splits "NAME VALUE" (both escaped) into two new strings. */
static bool
split_pair(const char *v, size_t n, char **name, char **value)
{
	const char *sp = memchr(v, ' ', n);

	if (sp == NULL)
		return false;
	*name = unescape(v, (size_t)(sp - v), NULL);
	*value = unescape(sp + 1, n - (size_t)(sp - v) - 1, NULL);
	if (*name == NULL || *value == NULL) {
		free(*name);
		free(*value);
		return false;
	}
	return true;
}

static void
req_line(struct tool_req *r, const char *line, size_t n)
{
	struct {
		const char *field;
		char **slot;
	} scalars[] = {
		{ "method", &r->method }, { "host", &r->host },
		{ "path", &r->path }, { "region", &r->region },
		{ "service", &r->service }, { "date", &r->date },
		{ "access_key", &r->access_key },
		{ "secret_key", &r->secret_key }, { "token", &r->token },
		{ "action", &r->action }, { "version", &r->version },
		{ "query", &r->query },
	};
	const char *sp = memchr(line, ' ', n);
	size_t flen = sp ? (size_t)(sp - line) : n;
	const char *v = sp ? sp + 1 : line + n;
	size_t vlen = n - flen - (sp ? 1 : 0);

	r->any = true;
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		if (strlen(scalars[i].field) != flen ||
		    memcmp(scalars[i].field, line, flen) != 0)
			continue;
		sigv4_secret_free(*scalars[i].slot);
		*scalars[i].slot = unescape(v, vlen, NULL);
		if (*scalars[i].slot == NULL)
			req_error(r, "bad %-escape");
		return;
	}
	if (flen == 4 && memcmp(line, "body", 4) == 0) {
		free(r->body);
		r->body = unescape(v, vlen, &r->bodylen);
		if (r->body == NULL)
			req_error(r, "bad %-escape");
	} else if (flen == 6 && memcmp(line, "header", 6) == 0) {
		if (r->nheaders == TOOL_HEADERS_MAX) {
			req_error(r, "too many headers");
			return;
		}
		if (!split_pair(v, vlen, &r->hname[r->nheaders],
		    &r->hvalue[r->nheaders])) {
			req_error(r, "header needs NAME VALUE");
			return;
		}
		r->nheaders++;
	} else if (flen == 5 && memcmp(line, "param", 5) == 0) {
		if (r->nparams == r->capparams) {
			size_t cap = r->capparams ? r->capparams * 2 : 16;
			char **a = realloc(r->pname, cap * sizeof(*a));

			if (a == NULL) {
				req_error(r, "out of memory");
				return;
			}
			r->pname = a;
			a = realloc(r->pvalue, cap * sizeof(*a));
			if (a == NULL) {
				req_error(r, "out of memory");
				return;
			}
			r->pvalue = a;
			r->capparams = cap;
		}
		if (!split_pair(v, vlen, &r->pname[r->nparams],
		    &r->pvalue[r->nparams])) {
			req_error(r, "param needs NAME VALUE");
			return;
		}
		r->nparams++;
	} else {
		req_error(r, "unknown field");
	}
}

/* Signs r and prints the result block; returns 0 or -1. */
static int
req_sign(struct tool_req *r)
{
	struct sigv4_header h[TOOL_HEADERS_MAX];
	struct sigv4_request sr = { 0 };
	struct sigv4_credentials cred = { 0 };
	struct sigv4_signed out = { 0 };
	struct query *q = NULL;
	char *built = NULL, *creq = NULL, *sh = NULL;
	size_t builtlen = 0;
	bool post;
	int rc = -1;

	if (r->error[0] != '\0')
		goto fail;
	if (r->method == NULL || r->host == NULL || r->date == NULL ||
	    r->region == NULL || r->service == NULL ||
	    r->access_key == NULL || r->secret_key == NULL) {
		req_error(r, "method, host, date, region, service, access_key "
		    "and secret_key are required");
		goto fail;
	}
	post = strcmp(r->method, "GET") != 0;
	if (r->action != NULL) {
		q = query_new(r->action,
		    r->version != NULL ? r->version : "2016-11-15");
		for (size_t i = 0; q != NULL && i < r->nparams; i++)
			(void)query_add(q, r->pname[i], r->pvalue[i]);
		if (q == NULL || (post ? query_form(q, &built, &builtlen) :
		    query_canonical(q, &built, &builtlen)) != 0) {
			req_error(r, strerror(errno));
			goto fail;
		}
	} else if (r->nparams > 0) {
		req_error(r, "param needs action");
		goto fail;
	}

	for (size_t i = 0; i < r->nheaders; i++) {
		h[i].name = r->hname[i];
		h[i].value = r->hvalue[i];
	}
	sr.method = r->method;
	sr.host = r->host;
	sr.path = r->path;
	sr.query = r->query;
	sr.headers = h;
	sr.nheaders = r->nheaders;
	sr.payload = r->body;
	sr.payload_len = r->bodylen;
	sr.region = r->region;
	sr.service = r->service;
	if (built != NULL) {
		if (post) {
			sr.payload = built;
			sr.payload_len = builtlen;
		} else {
			sr.query = built;
		}
	}
	cred.access_key_id = r->access_key;
	cred.secret_access_key = r->secret_key;
	cred.session_token = r->token;

	if (sigv4_sign(&sr, &cred, r->date, &out, r->error,
	    sizeof(r->error)) != 0)
		goto fail;
	if (verbose && sigv4_canonical_request(&sr, r->date,
	    r->token != NULL && *r->token ? r->token : NULL, &creq, &sh,
	    r->error, sizeof(r->error)) != 0)
		goto fail;

	fputs("sent ", stdout);
	if (post && sr.payload != NULL)
		escape_print(sr.payload, sr.payload_len);
	else if (!post && sr.query != NULL)
		escape_print(sr.query, strlen(sr.query));
	printf("\nx-amz-date %s\n", out.line[0] + strlen("X-Amz-Date: "));
	printf("authorization %s\n", out.authorization);
	if (creq != NULL) {
		fputs("creq ", stdout);
		escape_print(creq, strlen(creq));
		putchar('\n');
	}
	putchar('\n');
	rc = 0;
fail:
	if (rc != 0)
		printf("error %s\n\n", r->error[0] ? r->error : "failed");
	sigv4_signed_free(&out);
	sigv4_stage_free(creq);
	sigv4_stage_free(sh);
	free(built);
	query_free(q);
	req_clear(r);
	return rc;
}

int
main(int argc, char **argv)
{
	struct tool_req r;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int status = 0, i = 1;

	memset(&r, 0, sizeof(r));
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = true;
		i++;
	}
	if (i < argc && argv[i][0] == '-') {
		fprintf(stderr, "usage: sigv4_sign [-v] [LINE ...]\n");
		return 2;
	}
	if (i < argc) {
		for (; i < argc; i++)
			req_line(&r, argv[i], strlen(argv[i]));
		return req_sign(&r) == 0 ? 0 : 1;
	}
	while ((n = getline(&line, &cap, stdin)) != -1) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n == 0)
			continue;
		if (n == 4 && memcmp(line, "sign", 4) == 0) {
			if (req_sign(&r) != 0)
				status = 1;
			fflush(stdout);
			continue;
		}
		req_line(&r, line, (size_t)n);
	}
	free(line);
	if (r.any && req_sign(&r) != 0)
		status = 1;
	req_clear(&r);
	if (fflush(stdout) != 0 || ferror(stdout))
		status = 1;
	return status;
}

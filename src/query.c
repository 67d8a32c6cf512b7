/*
 * EC2 Query API parameters.
 *
 * Pairs are encoded once, when added, and kept encoded: rendering is then
 * plain concatenation, and sorting for the canonical form compares the
 * encoded bytes, which is what SigV4 asks for.  The running length of the
 * rendered query is kept so that bounds are checked at the add that would
 * break them.
 */
#include "query.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct query_pair {
	char *name;     /* encoded, NUL-terminated */
	char *value;    /* encoded, NUL-terminated */
	size_t nlen;
	size_t vlen;
};

struct query {
	struct query_pair *pairs;
	size_t npairs;
	size_t cap;
	size_t rendered;  /* length of the rendered query without NUL */
	int error;        /* errno of the first failure, 0 when none */
};

static const char query_hex[] = "0123456789ABCDEF";

bool
query_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

size_t
query_encoded_len(const void *s, size_t len)
{
	const unsigned char *p = s;
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += query_unreserved(p[i]) ? 1 : 3;
	return n;
}

char *
query_encode(char *dst, const void *s, size_t len)
{
	const unsigned char *p = s;

	for (size_t i = 0; i < len; i++) {
		if (query_unreserved(p[i])) {
			*dst++ = (char)p[i];
		} else {
			*dst++ = '%';
			*dst++ = query_hex[p[i] >> 4];
			*dst++ = query_hex[p[i] & 0x0f];
		}
	}
	return dst;
}

/* Encodes len bytes at s into a new NUL-terminated string. */
static char *
query_encode_dup(const char *s, size_t len, size_t *outlen)
{
	size_t n = query_encoded_len(s, len);
	char *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	*query_encode(out, s, len) = '\0';
	*outlen = n;
	return out;
}

static int
query_fail(struct query *q, int err)
{
	if (q != NULL && q->error == 0)
		q->error = err;
	errno = err;
	return -1;
}

static int
query_add_len(struct query *q, const char *name, size_t nlen,
    const char *value)
{
	struct query_pair pair = { 0 };
	size_t vlen, need;

	if (q == NULL)
		return query_fail(NULL, EINVAL);
	if (q->error != 0)
		return query_fail(q, q->error);
	if (name == NULL || value == NULL || nlen == 0)
		return query_fail(q, EINVAL);
	vlen = strlen(value);
	if (nlen > QUERY_NAME_MAX || vlen > QUERY_VALUE_MAX ||
	    q->npairs >= QUERY_PARAMS_MAX)
		return query_fail(q, E2BIG);

	/* Both lengths are bounded above, so this sum cannot overflow. */
	need = query_encoded_len(name, nlen) + 1 +
	    query_encoded_len(value, vlen) + (q->npairs > 0 ? 1 : 0);
	if (need > QUERY_RENDER_MAX - q->rendered)
		return query_fail(q, E2BIG);

	if (q->npairs == q->cap) {
		size_t ncap = q->cap == 0 ? 16 : q->cap * 2;
		struct query_pair *np;

		if (ncap > QUERY_PARAMS_MAX)
			ncap = QUERY_PARAMS_MAX;
		np = realloc(q->pairs, ncap * sizeof(*np));
		if (np == NULL)
			return query_fail(q, ENOMEM);
		q->pairs = np;
		q->cap = ncap;
	}

	pair.name = query_encode_dup(name, nlen, &pair.nlen);
	pair.value = query_encode_dup(value, vlen, &pair.vlen);
	if (pair.name == NULL || pair.value == NULL)
		goto fail;
	q->pairs[q->npairs++] = pair;
	q->rendered += need;
	return 0;

fail:
	free(pair.name);
	free(pair.value);
	return query_fail(q, ENOMEM);
}

struct query *
query_new(const char *action, const char *version)
{
	struct query *q;

	if (action == NULL || version == NULL || *action == '\0' ||
	    *version == '\0') {
		errno = EINVAL;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	if (query_add(q, "Action", action) != 0 ||
	    query_add(q, "Version", version) != 0) {
		int saved = errno;

		query_free(q);
		errno = saved;
		return NULL;
	}
	return q;
}

void
query_free(struct query *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->npairs; i++) {
		free(q->pairs[i].name);
		free(q->pairs[i].value);
	}
	free(q->pairs);
	free(q);
}

int
query_add(struct query *q, const char *name, const char *value)
{
	if (name == NULL)
		return query_fail(q, EINVAL);
	return query_add_len(q, name, strlen(name), value);
}

int
query_addf(struct query *q, const char *value, const char *namefmt, ...)
{
	char name[QUERY_NAME_MAX + 1];
	va_list ap;
	int n;

	if (q == NULL || namefmt == NULL)
		return query_fail(q, EINVAL);
	va_start(ap, namefmt);
	n = vsnprintf(name, sizeof(name), namefmt, ap);
	va_end(ap);
	if (n < 0)
		return query_fail(q, EINVAL);
	if ((size_t)n >= sizeof(name))
		return query_fail(q, E2BIG);
	return query_add_len(q, name, (size_t)n, value);
}

size_t
query_count(const struct query *q)
{
	return q == NULL ? 0 : q->npairs;
}

/* Joins the pairs in the order given by v. */
static int
query_render(const struct query *q, const struct query_pair *const *v,
    char **out, size_t *len)
{
	char *buf, *p;

	buf = malloc(q->rendered + 1);
	if (buf == NULL)
		return -1;
	p = buf;
	for (size_t i = 0; i < q->npairs; i++) {
		if (i > 0)
			*p++ = '&';
		memcpy(p, v[i]->name, v[i]->nlen);
		p += v[i]->nlen;
		*p++ = '=';
		memcpy(p, v[i]->value, v[i]->vlen);
		p += v[i]->vlen;
	}
	*p = '\0';
	*out = buf;
	if (len != NULL)
		*len = (size_t)(p - buf);
	return 0;
}

static int
query_cmp(const void *a, const void *b)
{
	const struct query_pair *x = *(const struct query_pair *const *)a;
	const struct query_pair *y = *(const struct query_pair *const *)b;
	int c = strcmp(x->name, y->name);

	if (c == 0)
		c = strcmp(x->value, y->value);
	return c;
}

/*
 * Renders q in insertion order or, when sorted, in canonical order.  Equal
 * pairs render the same, so qsort's instability does not matter.
 */
static int
query_output(const struct query *q, bool sorted, char **out, size_t *len)
{
	const struct query_pair **v;
	int rc;

	if (out == NULL || q == NULL) {
		errno = EINVAL;
		return -1;
	}
	*out = NULL;
	if (q->error != 0) {
		errno = q->error;
		return -1;
	}
	v = malloc(q->npairs * sizeof(*v));
	if (v == NULL)
		return -1;
	for (size_t i = 0; i < q->npairs; i++)
		v[i] = &q->pairs[i];
	if (sorted)
		qsort(v, q->npairs, sizeof(*v), query_cmp);
	rc = query_render(q, v, out, len);
	free(v);
	return rc;
}

int
query_form(const struct query *q, char **out, size_t *len)
{
	return query_output(q, false, out, len);
}

int
query_canonical(const struct query *q, char **out, size_t *len)
{
	return query_output(q, true, out, len);
}

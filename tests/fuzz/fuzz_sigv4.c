/*
 * libFuzzer target for the SigV4 canonical forms of a request's path and
 * query string (src/sigv4.c, through sigv4_private.h); the path comes from
 * the configured endpoint URL.
 *
 * The input, up to its first NUL, is given to both.  The canonical URI
 * must be the path with "." and empty segments dropped, ".." taking back
 * the segment before, each kept segment percent-encoded with the RFC 3986
 * rule (uppercase hex) and a trailing slash kept; a path that does not
 * start with '/' or holds a byte that cannot be sent is refused.  The
 * canonical query must be sorted name=value pairs, one per non-empty
 * '&' piece, in RFC 3986 encoding, and canonicalising it again must give
 * it back unchanged.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

static bool
upper_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* Appends the RFC 3986 encoding of n bytes at s to dst. */
static char *
encode(char *dst, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c)) {
			*dst++ = (char)c;
		} else {
			*dst++ = '%';
			*dst++ = hex[c >> 4];
			*dst++ = hex[c & 15];
		}
	}
	return dst;
}

static void
check_uri(const char *path, size_t len)
{
	char err[256], *out = NULL, *want, *w;
	size_t *seg, *seglen, nseg = 0;
	bool bad = len > 0 && path[0] != '/';
	int rc;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		bad |= c < 0x20 || c == 0x7f || c == '?' || c == '#';
	}
	err[0] = '\0';
	rc = sigv4_canonical_uri(path, &out, err, sizeof(err));
	if (bad) {
		check(rc == -1 && out == NULL && err[0] != '\0');
		return;
	}
	check(rc == 0 && out != NULL);

	seg = malloc((len + 1) * sizeof(*seg));
	seglen = malloc((len + 1) * sizeof(*seglen));
	want = malloc(3 * len + 2);
	check(seg != NULL && seglen != NULL && want != NULL);
	for (size_t i = 1; i <= len;) {
		size_t end = i;

		while (end < len && path[end] != '/')
			end++;
		if (end - i == 2 && path[i] == '.' && path[i + 1] == '.') {
			if (nseg > 0)
				nseg--;
		} else if (end > i && !(end - i == 1 && path[i] == '.')) {
			seg[nseg] = i;
			seglen[nseg++] = end - i;
		}
		i = end + 1;
	}
	w = want;
	for (size_t k = 0; k < nseg; k++) {
		*w++ = '/';
		w = encode(w, path + seg[k], seglen[k]);
	}
	if (nseg == 0 || (len > 0 && path[len - 1] == '/'))
		*w++ = '/';
	*w = '\0';
	check(strcmp(out, want) == 0);
	free(want);
	free(seglen);
	free(seg);
	sigv4_stage_free(out);
}

/* Byte order, a prefix first, as strcmp orders the encoded strings. */
static int
compare(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	return c != 0 ? c : an < bn ? -1 : an > bn;
}

/* One "name=value" pair of a canonical query: encoded, one '='. */
static void
check_pair(const char *s, size_t n, size_t *eq)
{
	size_t equals = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=') {
			equals++;
			*eq = i;
		} else if (s[i] == '%') {
			check(i + 2 < n && upper_hex(s[i + 1]) &&
			    upper_hex(s[i + 2]));
			i += 2;
		} else {
			check(unreserved((unsigned char)s[i]));
		}
	}
	check(equals == 1);
}

static void
check_query(const char *query, size_t len)
{
	char err[256], *out = NULL, *again = NULL;
	const char *prev = NULL, *p;
	size_t prevlen = 0, preveq = 0, npieces = 0, npairs = 0;
	bool bad = false;
	int rc;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)query[i];

		bad |= c < 0x20 || c == 0x7f || c == '#';
		if ((i == 0 || query[i - 1] == '&') && c != '&')
			npieces++;
	}
	err[0] = '\0';
	rc = sigv4_canonical_query(query, &out, err, sizeof(err));
	if (bad) {
		check(rc == -1 && out == NULL && err[0] != '\0');
		return;
	}
	check(rc == 0 && out != NULL);

	/* Sorted by name, then value. */
	for (p = out; *p != '\0';) {
		size_t n = strcspn(p, "&"), eq = 0;

		check_pair(p, n, &eq);
		if (prev != NULL) {
			int c = compare(prev, preveq, p, eq);

			check(c < 0 || (c == 0 && compare(prev + preveq + 1,
			    prevlen - preveq - 1, p + eq + 1, n - eq - 1) <= 0));
		}
		prev = p;
		prevlen = n;
		preveq = eq;
		npairs++;
		p += n;
		if (*p == '&') {
			p++;
			check(*p != '\0');
		}
	}
	check(npairs == npieces);

	check(sigv4_canonical_query(out, &again, err, sizeof(err)) == 0);
	check(strcmp(out, again) == 0);
	sigv4_stage_free(again);
	sigv4_stage_free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	size_t len;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	len = strlen(s);
	check_uri(s, len);
	check_query(s, len);
	free(s);
	return 0;
}

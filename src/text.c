/*
 * Escaping for people.  UTF-8 is decoded strictly (no overlong forms, no
 * surrogates, nothing past U+10FFFF); a byte that does not start a valid
 * sequence is escaped on its own and decoding resumes at the next byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

size_t
text_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c;
	size_t n;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 ||
	    c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool
text_unsafe(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c ||
	    c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029;
}

long
text_utf8_length(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);
	long n = 0;

	while (len > 0) {
		uint32_t c;
		size_t k = text_utf8_decode(p, len, &c);
		if (k == 0)
			return -1;
		p += k;
		len -= k;
		n++;
	}
	return n;
}

bool
text_plain(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);

	while (len > 0) {
		uint32_t c;
		size_t n = text_utf8_decode(p, len, &c);
		if (n == 0 || text_unsafe(c) || c == '\\')
			return false;
		p += n;
		len -= n;
	}
	return true;
}

size_t
text_escape(const char *s, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), w = 0;

	if (len == 0)
		return 0;
	while (left > 0) {
		char esc[16];
		const char *piece = esc;
		uint32_t c;
		size_t n = text_utf8_decode(p, left, &c), k;

		if (n == 0) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			n = 1;
		} else if (c == '\n') {
			piece = "\\n";
		} else if (c == '\t') {
			piece = "\\t";
		} else if (c == '\\') {
			piece = "\\\\";
		} else if (text_unsafe(c) && c < 0x80) {
			snprintf(esc, sizeof(esc), "\\x%02x", (unsigned)c);
		} else if (text_unsafe(c)) {
			snprintf(esc, sizeof(esc), "\\u{%04x}", (unsigned)c);
		} else {
			memcpy(esc, p, n);
			esc[n] = '\0';
		}
		k = strlen(piece);
		if (w + k >= len)
			break;
		memcpy(out + w, piece, k);
		w += k;
		p += n;
		left -= n;
	}
	out[w] = '\0';
	return w;
}

/* Levenshtein distance, capped: the words compared are short. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag_prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag_prev + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag_prev = up;
		}
	}
	return row[lb];
}

const char *
text_nearest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		size_t d = distance(word, names[i]);
		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	/* Two edits catch transpositions and a missing letter without
	 * suggesting "keep" for every four-letter word. */
	return best_d <= 2 && best_d < strlen(word) ? best : NULL;
}

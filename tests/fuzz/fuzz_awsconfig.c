/*
 * libFuzzer target for the AWS shared config and credentials file parser
 * (src/awsconfig.c).
 *
 * The first byte chooses the kind of file (bit 0: config, else
 * credentials) and the profile: with bit 1 set, the profile name is the
 * input up to the first newline (any bytes, so invalid names too) and the
 * file is what follows; otherwise it is one of a few names picked by the
 * other bits and the file is the rest of the input.
 *
 * What comes out is checked against awsconfig.h: a failure leaves the
 * profile empty and writes "FILE:LINE: message" with LINE in the file; a
 * success gives, for every setting, either no value and line 0 or a
 * non-empty value of bounded length that is exactly what the file has
 * after the delimiter on that line, under the key the setting is read
 * from; a profile that is not found has no settings.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awsconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok)
		abort();
}

struct file {
	const char *buf;
	size_t len;
	size_t first;      /* where line 1 starts (after a BOM) */
};

static bool
blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
count_lines(const struct file *f)
{
	int n = 0;

	for (size_t pos = f->first; pos < f->len; n++) {
		const char *nl = memchr(f->buf + pos, '\n', f->len - pos);

		pos = nl != NULL ? (size_t)(nl - f->buf) + 1 : f->len;
	}
	return n;
}

/* The text of line (1-based), without its newline or a trailing CR. */
static const char *
line_text(const struct file *f, int line, size_t *n)
{
	size_t pos = f->first;
	const char *s, *nl;

	for (int i = 1; i < line; i++) {
		nl = memchr(f->buf + pos, '\n', f->len - pos);
		check(nl != NULL);
		pos = (size_t)(nl - f->buf) + 1;
	}
	check(pos < f->len);
	s = f->buf + pos;
	nl = memchr(s, '\n', f->len - pos);
	*n = nl != NULL ? (size_t)(nl - s) : f->len - pos;
	if (*n > 0 && s[*n - 1] == '\r')
		(*n)--;
	return s;
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && blank((*s)[*n - 1]))
		(*n)--;
}

static bool
same_word(const char *s, size_t n, const char *word)
{
	if (strlen(word) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[i])
			return false;
	}
	return true;
}

/*
 * Line `line` must read "KEY = VALUE" (or "KEY: VALUE"), KEY one of keys
 * in any case; with value not NULL, VALUE must be exactly value.
 */
static void
check_setting_line(const struct file *f, int line, const char *const *keys,
    const char *value)
{
	size_t n, d = 0, kn, vn;
	const char *s = line_text(f, line, &n), *k, *v;
	bool known = false;

	trim(&s, &n);
	while (d < n && s[d] != '=' && s[d] != ':')
		d++;
	check(d < n);
	k = s;
	kn = d;
	trim(&k, &kn);
	for (size_t i = 0; keys[i] != NULL; i++)
		known |= same_word(k, kn, keys[i]);
	check(known);
	if (value == NULL)
		return;
	v = s + d + 1;
	vn = n - d - 1;
	trim(&v, &vn);
	check(vn == strlen(value) && memcmp(v, value, vn) == 0);
}

static void
check_value(const struct file *f, int nlines, const struct awsconfig_value *v,
    const char *const *keys)
{
	size_t n;

	check((v->value == NULL) == (v->line == 0));
	if (v->value == NULL)
		return;
	n = strlen(v->value);
	check(n > 0 && n <= AWSCONFIG_VALUE_MAX);
	check(!blank(v->value[0]) && !blank(v->value[n - 1]));
	check(v->line >= 1 && v->line <= nlines);
	check_setting_line(f, v->line, keys, v->value);
}

static bool
valid_profile(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > AWSCONFIG_PROFILE_MAX || blank(s[0]) ||
	    blank(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '[' || c == ']')
			return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "default", "dev", "prod",
	    "my profile", "Default", "services", "profile", "x" };
	static const char *const k_akid[] = { "aws_access_key_id", NULL };
	static const char *const k_secret[] = { "aws_secret_access_key",
	    NULL };
	static const char *const k_token[] = { "aws_session_token",
	    "aws_security_token", NULL };
	static const char *const k_region[] = { "region", NULL };
	static const char *const k_endpoint[] = { "endpoint_url", NULL };
	static const char *const k_ca[] = { "ca_bundle", NULL };
	static const char *const k_services[] = { "services", NULL };
	static const char *const others[] = { "role_arn",
	    "credential_source", "web_identity_token_file", "sso_session",
	    "sso_start_url", "credential_process", NULL };
	struct awsconfig_profile out, empty;
	enum awsconfig_kind kind;
	const char *filename;
	char profile[AWSCONFIG_PROFILE_MAX + 8];
	char err[512];
	struct file f;
	int rc, nlines;
	unsigned ctl;

	if (size < 1)
		return 0;
	ctl = data[0];
	kind = ctl & 1 ? AWSCONFIG_CONFIG : AWSCONFIG_CREDENTIALS;
	filename = kind == AWSCONFIG_CONFIG ? "config" : "credentials";
	f.buf = (const char *)data + 1;
	f.len = size - 1;
	if (ctl & 2) {
		const char *nl = memchr(f.buf, '\n', f.len);
		size_t n = nl != NULL ? (size_t)(nl - f.buf) : f.len;

		if (n >= sizeof(profile))
			n = sizeof(profile) - 1;
		memcpy(profile, f.buf, n);
		profile[n] = '\0';
		f.len -= nl != NULL ? (size_t)(nl - f.buf) + 1 : f.len;
		f.buf = nl != NULL ? nl + 1 : f.buf + f.len;
	} else {
		snprintf(profile, sizeof(profile), "%s",
		    names[(ctl >> 2) % (sizeof(names) / sizeof(names[0]))]);
	}
	f.first = f.len >= 3 && memcmp(f.buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	nlines = count_lines(&f);

	memset(&empty, 0, sizeof(empty));
	memset(&out, 0xa5, sizeof(out));
	err[0] = '\0';
	rc = awsconfig_parse(f.buf, f.len, filename, kind, profile, &out,
	    err, sizeof(err));
	check(rc == 0 || rc == -1);
	if (rc != 0) {
		size_t fl = strlen(filename);

		check(memcmp(&out, &empty, sizeof(out)) == 0);
		check(strncmp(err, filename, fl) == 0 && err[fl] == ':');
		if (err[fl + 1] >= '0' && err[fl + 1] <= '9') {
			long line = strtol(err + fl + 1, NULL, 10);

			check(line >= 1 && line <= nlines);
		}
		return 0;
	}

	check(valid_profile(profile));
	check(out.found == (out.line != 0));
	if (out.found) {
		size_t n;
		const char *s;

		check(out.line >= 1 && out.line <= nlines);
		s = line_text(&f, out.line, &n);
		trim(&s, &n);
		check(n >= 2 && s[0] == '[');
	}
	check_value(&f, nlines, &out.access_key_id, k_akid);
	check_value(&f, nlines, &out.secret_access_key, k_secret);
	check_value(&f, nlines, &out.session_token, k_token);
	check_value(&f, nlines, &out.region, k_region);
	check_value(&f, nlines, &out.endpoint_url, k_endpoint);
	check_value(&f, nlines, &out.ca_bundle, k_ca);
	check_value(&f, nlines, &out.services, k_services);
	check_value(&f, nlines, &out.ec2_endpoint_url, k_endpoint);
	/* Settings of the profile come after its header. */
	check(out.access_key_id.line == 0 || out.access_key_id.line > out.line);
	check(out.secret_access_key.line == 0 ||
	    out.secret_access_key.line > out.line);
	check(out.session_token.line == 0 || out.session_token.line > out.line);
	check(out.region.line == 0 || out.region.line > out.line);
	check(out.endpoint_url.line == 0 || out.endpoint_url.line > out.line);
	check(out.ca_bundle.line == 0 || out.ca_bundle.line > out.line);
	check(out.services.line == 0 || out.services.line > out.line);
	/* The EC2 endpoint comes from the [services] section a config
	 * file's profile names. */
	check(out.ec2_endpoint_url.value == NULL ||
	    (kind == AWSCONFIG_CONFIG && out.services.value != NULL));

	check((out.other_source == NULL) == (out.other_source_line == 0));
	if (out.other_source != NULL) {
		const char *one[2] = { out.other_source, NULL };
		bool known = false;

		for (size_t i = 0; others[i] != NULL; i++)
			known |= out.other_source == others[i] ||
			    strcmp(out.other_source, others[i]) == 0;
		check(known);
		check(out.other_source_line > out.line &&
		    out.other_source_line <= nlines);
		check_setting_line(&f, out.other_source_line, one, NULL);
	}
	if (!out.found)
		check(memcmp(&out, &empty, sizeof(out)) == 0);
	awsconfig_profile_free(&out);
	check(memcmp(&out, &empty, sizeof(out)) == 0);
	return 0;
}

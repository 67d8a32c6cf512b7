/*
 * AWS shared credentials and config files.
 *
 * One line walker turns the INI text into events (section, key, nested
 * key, continuation) and checks the syntax of the whole file, like
 * botocore's parser, which refuses a file with a bad line anywhere.  The
 * profile pass keeps the settings of the wanted profile; when that profile
 * names a services section, a second walk picks the EC2 endpoint from it
 * (the section may come before or after the profile).  Every copy of a
 * value is wiped when released, secret or not: it is simpler than keeping
 * track of which ones matter.
 */
#include "log.h"
#include "awsconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

enum ini_type {
	INI_SECTION,    /* name = section name */
	INI_KEY,        /* name = key, value */
	INI_SUB,        /* parent = key with an empty value; name, value */
	INI_CONT,       /* parent = key whose value goes on; no name */
};

struct ini_event {
	enum ini_type type;
	int line;
	const char *name;
	size_t namelen;
	const char *value;
	size_t valuelen;
	const char *parent;
	size_t parentlen;
};

struct parse {
	const char *file;
	enum awsconfig_kind kind;
	const char *profile;
	struct awsconfig_profile *out;
	struct awsconfig_value security_token;  /* older name of the token */
	bool in_section;        /* inside the section this pass looks for */
	int services_line;      /* header of the services section, once seen */
	char *err;
	size_t errlen;
};

/* The settings a profile section may hold, and where they go. */
struct setting {
	const char *key;
	size_t offset;
};

static const struct setting settings[] = {
	{ "aws_access_key_id",
	    offsetof(struct awsconfig_profile, access_key_id) },
	{ "aws_secret_access_key",
	    offsetof(struct awsconfig_profile, secret_access_key) },
	{ "aws_session_token",
	    offsetof(struct awsconfig_profile, session_token) },
	{ "region", offsetof(struct awsconfig_profile, region) },
	{ "endpoint_url", offsetof(struct awsconfig_profile, endpoint_url) },
	{ "ca_bundle", offsetof(struct awsconfig_profile, ca_bundle) },
	{ "services", offsetof(struct awsconfig_profile, services) },
};

/* Credential sources the SDKs read from a profile that ec2backup lacks. */
static const char *const other_sources[] = {
	"role_arn", "credential_source", "web_identity_token_file",
	"sso_session", "sso_start_url", "credential_process",
};

static void awsconfig_err(struct parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
awsconfig_err(struct parse *p, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (p->err == NULL || p->errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		(void)snprintf(p->err, p->errlen, "%s:%d: %s", p->file, line,
		    msg);
	else
		(void)snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
}

static void
value_free(struct awsconfig_value *v)
{
	if (v->value != NULL) {
		OPENSSL_cleanse(v->value, strlen(v->value));
		free(v->value);
	}
	v->value = NULL;
	v->line = 0;
}

void
awsconfig_profile_free(struct awsconfig_profile *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		value_free((struct awsconfig_value *)(void *)
		    ((char *)p + settings[i].offset));
	value_free(&p->ec2_endpoint_url);
	memset(p, 0, sizeof(*p));
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((*s)[*n - 1]))
		(*n)--;
}

/* Case-insensitive comparison of n bytes with a lowercase word. */
static bool
word_is(const char *s, size_t n, const char *word)
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

static bool
bytes_are(const char *s, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(s, want, n) == 0;
}

/*
 * For "PREFIX NAME" section names ("profile dev", "services local"):
 * true when name has the prefix, blanks, then want (optionally quoted).
 */
static bool
prefixed_is(const char *s, size_t n, const char *prefix, const char *want)
{
	size_t plen = strlen(prefix);

	if (n <= plen || memcmp(s, prefix, plen) != 0 || !is_blank(s[plen]))
		return false;
	s += plen;
	n -= plen;
	trim(&s, &n);
	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
		s++;
		n -= 2;
	}
	return bytes_are(s, n, want);
}

/* Splits "key = value" or "key: value" at the first delimiter. */
static bool
split_setting(const char *s, size_t n, struct ini_event *ev)
{
	size_t d = 0;

	while (d < n && s[d] != '=' && s[d] != ':')
		d++;
	if (d == n)
		return false;
	ev->name = s;
	ev->namelen = d;
	trim(&ev->name, &ev->namelen);
	ev->value = s + d + 1;
	ev->valuelen = n - d - 1;
	trim(&ev->value, &ev->valuelen);
	return ev->namelen > 0;
}

/* Walks every line of buf, checking syntax and calling fn per event. */
static int
ini_walk(const char *buf, size_t len, struct parse *p,
    int (*fn)(struct parse *, const struct ini_event *))
{
	const char *key = NULL;     /* last key of the current section */
	size_t keylen = 0;
	bool key_empty = false, in_section = false;
	size_t pos = 0;
	int line = 0;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *s = buf + pos, *nl;
		struct ini_event ev = { 0 };
		size_t n;
		bool indented;

		line++;
		nl = memchr(s, '\n', len - pos);
		n = nl != NULL ? (size_t)(nl - s) : len - pos;
		pos += n + 1;
		if (memchr(s, '\0', n) != NULL) {
			awsconfig_err(p, line, "NUL byte in the file");
			return -1;
		}
		if (n > 0 && s[n - 1] == '\r')
			n--;
		indented = n > 0 && is_blank(s[0]);
		trim(&s, &n);
		if (n == 0 || s[0] == '#' || s[0] == ';')
			continue;
		ev.line = line;

		if (indented && key != NULL) {
			ev.parent = key;
			ev.parentlen = keylen;
			if (!key_empty) {
				ev.type = INI_CONT;
			} else {
				ev.type = INI_SUB;
				if (!split_setting(s, n, &ev)) {
					awsconfig_err(p, line, "expected an "
					    "indented key = value");
					return -1;
				}
			}
		} else if (s[0] == '[') {
			const char *close = NULL, *rest;
			size_t restlen;

			for (size_t i = n; i > 1; i--) {
				if (s[i - 1] == ']') {
					close = s + i - 1;
					break;
				}
			}
			if (close == NULL) {
				awsconfig_err(p, line, "section header without "
				    "']'");
				return -1;
			}
			rest = close + 1;
			restlen = n - (size_t)(rest - s);
			trim(&rest, &restlen);
			if (restlen > 0 && rest[0] != '#' && rest[0] != ';') {
				awsconfig_err(p, line, "text after the section "
				    "header");
				return -1;
			}
			ev.type = INI_SECTION;
			ev.name = s + 1;
			ev.namelen = (size_t)(close - s - 1);
			trim(&ev.name, &ev.namelen);
			if (ev.namelen == 0) {
				awsconfig_err(p, line, "empty section name");
				return -1;
			}
			in_section = true;
			key = NULL;
		} else {
			ev.type = INI_KEY;
			if (!split_setting(s, n, &ev)) {
				awsconfig_err(p, line, "expected [section], "
				    "key = value or a comment");
				return -1;
			}
			if (!in_section) {
				awsconfig_err(p, line, "setting before the "
				    "first [section]");
				return -1;
			}
			key = ev.name;
			keylen = ev.namelen;
			key_empty = ev.valuelen == 0;
		}
		if (fn(p, &ev) != 0)
			return -1;
	}
	return 0;
}

/* Copies a value into slot, refusing a second one. */
static int
store(struct parse *p, struct awsconfig_value *slot, const char *name,
    const struct ini_event *ev)
{
	if (slot->value != NULL) {
		awsconfig_err(p, ev->line, "%s set twice (first at line %d)",
		    name, slot->line);
		return -1;
	}
	if (ev->valuelen == 0)
		return 0;       /* "key =" leaves the setting unset */
	if (ev->valuelen > AWSCONFIG_VALUE_MAX) {
		awsconfig_err(p, ev->line, "%s: value longer than %d bytes",
		    name, AWSCONFIG_VALUE_MAX);
		return -1;
	}
	slot->value = malloc(ev->valuelen + 1);
	if (slot->value == NULL) {
		awsconfig_err(p, ev->line, "out of memory");
		return -1;
	}
	memcpy(slot->value, ev->value, ev->valuelen);
	slot->value[ev->valuelen] = '\0';
	slot->line = ev->line;
	return 0;
}

static bool
is_wanted_profile(const struct parse *p, const char *s, size_t n)
{
	if (p->kind == AWSCONFIG_CREDENTIALS)
		return bytes_are(s, n, p->profile);
	if (strcmp(p->profile, "default") == 0 && bytes_are(s, n, "default"))
		return true;
	return prefixed_is(s, n, "profile", p->profile);
}

static int
on_profile(struct parse *p, const struct ini_event *ev)
{
	switch (ev->type) {
	case INI_SECTION:
		p->in_section = is_wanted_profile(p, ev->name, ev->namelen);
		if (!p->in_section)
			return 0;
		if (p->out->found) {
			awsconfig_err(p, ev->line, "second section for profile "
			    "%s (first at line %d)", p->profile, p->out->line);
			return -1;
		}
		p->out->found = true;
		p->out->line = ev->line;
		return 0;
	case INI_KEY:
		if (!p->in_section)
			return 0;
		for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]);
		    i++) {
			if (word_is(ev->name, ev->namelen, settings[i].key))
				return store(p, (struct awsconfig_value *)
				    (void *)((char *)p->out +
				    settings[i].offset), settings[i].key, ev);
		}
		if (word_is(ev->name, ev->namelen, "aws_security_token"))
			return store(p, &p->security_token,
			    "aws_security_token", ev);
		for (size_t i = 0; i < sizeof(other_sources) /
		    sizeof(other_sources[0]); i++) {
			if (word_is(ev->name, ev->namelen, other_sources[i]) &&
			    ev->valuelen > 0 && p->out->other_source == NULL) {
				p->out->other_source = other_sources[i];
				p->out->other_source_line = ev->line;
			}
		}
		return 0;
	case INI_CONT:
		if (!p->in_section)
			return 0;
		for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]);
		    i++) {
			if (word_is(ev->parent, ev->parentlen,
			    settings[i].key)) {
				awsconfig_err(p, ev->line, "indented line "
				    "continues %s, whose value must be one "
				    "line", settings[i].key);
				return -1;
			}
		}
		return 0;
	case INI_SUB:
		return 0;
	}
	return 0;
}

static int
on_services(struct parse *p, const struct ini_event *ev)
{
	switch (ev->type) {
	case INI_SECTION:
		p->in_section = prefixed_is(ev->name, ev->namelen, "services",
		    p->out->services.value);
		if (!p->in_section)
			return 0;
		if (p->services_line != 0) {
			awsconfig_err(p, ev->line, "second [services %s] "
			    "section (first at line %d)",
			    p->out->services.value, p->services_line);
			return -1;
		}
		p->services_line = ev->line;
		return 0;
	case INI_KEY:
		if (p->in_section && word_is(ev->name, ev->namelen, "ec2") &&
		    ev->valuelen > 0) {
			awsconfig_err(p, ev->line, "ec2 settings go on indented "
			    "lines below \"ec2 =\"");
			return -1;
		}
		return 0;
	case INI_SUB:
		if (p->in_section && word_is(ev->parent, ev->parentlen, "ec2") &&
		    word_is(ev->name, ev->namelen, "endpoint_url"))
			return store(p, &p->out->ec2_endpoint_url,
			    "ec2 endpoint_url", ev);
		return 0;
	case INI_CONT:
		return 0;
	}
	return 0;
}

static bool
valid_profile_name(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	for (n = 0; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];

		if (n >= AWSCONFIG_PROFILE_MAX || c < 0x20 || c == 0x7f ||
		    c == '[' || c == ']')
			return false;
	}
	return n > 0 && !is_blank(s[0]) && !is_blank(s[n - 1]);
}

int
awsconfig_parse(const char *buf, size_t len, const char *filename,
    enum awsconfig_kind kind, const char *profile,
    struct awsconfig_profile *out, char *err, size_t errlen)
{
	struct parse p = {
		.file = filename != NULL ? filename : "(config)",
		.kind = kind,
		.profile = profile,
		.out = out,
		.err = err,
		.errlen = errlen,
	};
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!valid_profile_name(profile)) {
		awsconfig_err(&p, 0, "invalid profile name");
		goto fail;
	}
	if (buf == NULL && len > 0) {
		awsconfig_err(&p, 0, "no data");
		goto fail;
	}
	if (len > 0 && ini_walk(buf, len, &p, on_profile) != 0)
		goto fail;
	if (kind == AWSCONFIG_CONFIG && out->services.value != NULL) {
		p.in_section = false;
		if (ini_walk(buf, len, &p, on_services) != 0)
			goto fail;
	}
	if (out->session_token.value == NULL) {
		out->session_token = p.security_token;
		p.security_token.value = NULL;
	}
	rc = 0;
fail:
	value_free(&p.security_token);
	if (rc != 0)
		awsconfig_profile_free(out);
	return rc;
}

/* Reads a whole regular file of at most AWSCONFIG_FILE_MAX bytes. */
static int
read_file(const char *path, char **bufp, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	*bufp = NULL;
	*lenp = 0;
	/* Non-blocking: opening a FIFO must not hang the run. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		log_reason(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		log_reason(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		log_reason(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	/* One byte more than allowed, to notice a file that grew. */
	buf = malloc(AWSCONFIG_FILE_MAX + 1);
	if (buf == NULL) {
		log_reason(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	while (len <= AWSCONFIG_FILE_MAX) {
		n = read(fd, buf + len, AWSCONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_reason(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > AWSCONFIG_FILE_MAX) {
		log_reason(err, errlen, "%s: larger than %d bytes", path,
		    AWSCONFIG_FILE_MAX);
		goto fail;
	}
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	rc = 0;
fail:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	close(fd);
	return rc;
}

int
awsconfig_load(const char *path, enum awsconfig_kind kind,
    const char *profile, struct awsconfig_profile *out, char *err,
    size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (path == NULL) {
		log_reason(err, errlen, "no file name");
		return -1;
	}
	rc = read_file(path, &buf, &len, err, errlen);
	if (rc != 0)
		return rc;
	rc = awsconfig_parse(buf, len, path, kind, profile, out, err, errlen);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

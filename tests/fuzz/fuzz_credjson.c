/*
 * libFuzzer target for the credential documents of the container endpoint
 * and the instance metadata service (src/credentials.c):
 * credentials_json_parse, the flat JSON reader, and
 * credentials_parse_time, which reads their Expiration.
 *
 * The input is the document.  The reader must honour credentials.h: on
 * failure every value is NULL and err says why; on success each wanted
 * member is NULL or valid UTF-8.  A document it accepts must be JSON as
 * json-c reads it in strict mode, with the same string for every wanted
 * member.  Every time credentials_parse_time accepts (the Expiration
 * member, and the input itself as a string) must print back as the same
 * instant.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "credentials.h"
#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { EXPIRATION = 3 };

/* 64 bytes: the longest member name the reader compares. */
#define LONG_NAME \
	"k123456789012345678901234567890123456789012345678901234567890123"

static void
check(bool ok)
{
	if (!ok)
		abort();
}

/* True for valid UTF-8 without overlong forms, surrogates or NUL. */
static bool
valid_utf8(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s != '\0') {
		uint32_t cp, min;
		int extra;

		if (*s < 0x80) {
			s++;
			continue;
		} else if (*s >= 0xc0 && *s <= 0xdf) {
			cp = *s & 0x1f;
			extra = 1;
			min = 0x80;
		} else if (*s >= 0xe0 && *s <= 0xef) {
			cp = *s & 0x0f;
			extra = 2;
			min = 0x800;
		} else if (*s >= 0xf0 && *s <= 0xf4) {
			cp = *s & 0x07;
			extra = 3;
			min = 0x10000;
		} else {
			return false;
		}
		s++;
		for (int i = 0; i < extra; i++, s++) {
			if ((*s & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*s & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

static bool
digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * When credentials_parse_time accepts s, s must be
 * YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH[:]MM|-HH[:]MM) and the instant,
 * moved by the offset, must print as its first 19 characters.
 */
static void
check_time(const char *s)
{
	char want[TZ_TIME_MAX], got[TZ_TIME_MAX];
	const char *p;
	int64_t t;
	int off = 0;

	if (credentials_parse_time(s, &t) != 0)
		return;
	check(strlen(s) >= 20);
	p = s + 19;
	if (*p == '.') {
		p++;
		check(digit(*p));
		while (digit(*p))
			p++;
	}
	if (*p == 'Z') {
		p++;
	} else {
		int sign = *p == '+' ? 1 : -1;

		check(*p == '+' || *p == '-');
		check(digit(p[1]) && digit(p[2]));
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600;
		p += 3;
		if (*p == ':')
			p++;
		check(digit(p[0]) && digit(p[1]));
		off += ((p[0] - '0') * 10 + (p[1] - '0')) * 60;
		off *= sign;
		p += 2;
	}
	check(*p == '\0');
	snprintf(want, sizeof(want), "%.19sZ", s);
	tz_format_time(t + off, got);
	check(strcmp(want, got) == 0);
}

static bool
json_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The accepted document, as json-c reads it. */
static void
check_with_json_c(const char *doc, size_t len,
    const struct credentials_json_field *fields, size_t nfields)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;
	size_t end;

	check(tok != NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, doc, (int)len);
	check(obj != NULL &&
	    json_tokener_get_error(tok) == json_tokener_success);
	check(json_object_is_type(obj, json_type_object));
	end = json_tokener_get_parse_end(tok);
	for (size_t i = end; i < len; i++)
		check(json_blank(doc[i]));
	for (size_t i = 0; i < nfields; i++) {
		struct json_object *v;

		if (!json_object_object_get_ex(obj, fields[i].name, &v)) {
			check(fields[i].value == NULL);
			continue;
		}
		check(fields[i].value != NULL);
		check(json_object_is_type(v, json_type_string));
		check((size_t)json_object_get_string_len(v) ==
		    strlen(fields[i].value));
		check(memcmp(json_object_get_string(v), fields[i].value,
		    strlen(fields[i].value)) == 0);
	}
	json_object_put(obj);
	json_tokener_free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct credentials_json_field f[] = {
		{ "AccessKeyId", NULL },
		{ "SecretAccessKey", NULL },
		{ "Token", NULL },
		{ "Expiration", NULL },
		{ "Code", NULL },
		{ "Message", NULL },
		{ "", NULL },
		{ LONG_NAME, NULL },
	};
	const size_t nf = sizeof(f) / sizeof(f[0]);
	const char *doc = (const char *)data;
	char err[256], *str;
	int rc;

	/* Garbage where a value would be, to see that each is set. */
	for (size_t i = 0; i < nf; i++)
		f[i].value = (char *)&f[i];
	err[0] = '\0';
	rc = credentials_json_parse(doc, size, f, nf, err, sizeof(err));
	check(rc == 0 || rc == -1);
	if (rc != 0) {
		for (size_t i = 0; i < nf; i++)
			check(f[i].value == NULL);
		check(err[0] != '\0');
	} else {
		check(size <= CREDENTIALS_DOC_MAX);
		for (size_t i = 0; i < nf; i++)
			check(f[i].value == NULL || valid_utf8(f[i].value));
		check_with_json_c(doc, size, f, nf);
		if (f[EXPIRATION].value != NULL)
			check_time(f[EXPIRATION].value);
		credentials_json_free(f, nf);
		for (size_t i = 0; i < nf; i++)
			check(f[i].value == NULL);
	}

	if ((str = malloc(size + 1)) == NULL)
		return 0;
	memcpy(str, data, size);
	str[size] = '\0';
	check_time(str);
	free(str);
	return 0;
}

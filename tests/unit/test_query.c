/*
 * query: the RFC 3986 encoding table, form and canonical ordering, and
 * the bounds (with no silent truncation).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

static char *
encode(const char *s, size_t n)
{
	size_t len = query_encoded_len(s, n);
	char *out = malloc(len + 1);

	assert_non_null(out);
	assert_ptr_equal(query_encode(out, s, n), out + len);
	out[len] = '\0';
	return out;
}

static void
test_encoding_table(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} t[] = {
		{ "", "" },
		{ "AZaz09", "AZaz09" },
		{ "-_.~", "-_.~" },
		{ " ", "%20" },
		{ "+", "%2B" },
		{ "*", "%2A" },
		{ "/", "%2F" },
		{ ":", "%3A" },
		{ "=", "%3D" },
		{ "&", "%26" },
		{ "%", "%25" },
		{ "%20", "%2520" },
		{ "?#[]@!$'(),;", "%3F%23%5B%5D%40%21%24%27%28%29%2C%3B" },
		{ "\"<>\\^`{|}", "%22%3C%3E%5C%5E%60%7B%7C%7D" },
		{ "\t\n\r\x7f", "%09%0A%0D%7F" },
		{ "tag:Name", "tag%3AName" },
		{ "snap tool", "snap%20tool" },
		{ "\xc3\xa9", "%C3%A9" },
		{ "\xe1\x88\xb4", "%E1%88%B4" },
		{ "\xf0\x9f\x98\x80", "%F0%9F%98%80" },
		{ "\xff\x80", "%FF%80" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *out = encode(t[i].in, strlen(t[i].in));

		assert_string_equal(out, t[i].want);
		free(out);
	}
}

/* Every byte: unreserved ones as is, the rest %XX in uppercase hex. */
static void
test_encoding_all_bytes(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		unsigned char b = (unsigned char)c;
		char *out = encode((const char *)&b, 1);
		char want[4];
		bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~';

		assert_int_equal(query_unreserved(b), plain);
		if (plain)
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "%%%02X", c);
		assert_string_equal(out, want);
		free(out);
	}
}

static void
test_form_order(void **state)
{
	struct query *q = query_new("DescribeSnapshots", "2016-11-15");
	char *s = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(q);
	assert_int_equal(query_count(q), 2);
	assert_int_equal(query_add(q, "Owner.1", "self"), 0);
	assert_int_equal(query_add(q, "Filter.1.Name", "tag:Name"), 0);
	assert_int_equal(query_add(q, "Filter.1.Value.1", "a b/c"), 0);
	assert_int_equal(query_add(q, "DryRun", "true"), 0);
	assert_int_equal(query_add(q, "Empty", ""), 0);
	assert_int_equal(query_count(q), 7);
	assert_int_equal(query_form(q, &s, &len), 0);
	assert_string_equal(s, "Action=DescribeSnapshots&Version=2016-11-15"
	    "&Owner.1=self&Filter.1.Name=tag%3AName"
	    "&Filter.1.Value.1=a%20b%2Fc&DryRun=true&Empty=");
	assert_int_equal(len, strlen(s));
	free(s);
	assert_int_equal(query_form(q, &s, NULL), 0);
	free(s);
	query_free(q);
}

/* Sorted by encoded name, then encoded value, byte order. */
static void
test_canonical_order(void **state)
{
	struct query *q = query_new("A", "1");
	char *s = NULL;
	size_t len;

	(void)state;
	assert_non_null(q);
	assert_int_equal(query_add(q, "b", "2"), 0);
	assert_int_equal(query_add(q, "a", "10"), 0);
	assert_int_equal(query_add(q, "a", "2"), 0);
	assert_int_equal(query_add(q, "a", "1"), 0);
	assert_int_equal(query_add(q, "B", "x"), 0);
	assert_int_equal(query_add(q, "\xe1\x88\xb4", "u"), 0);
	assert_int_equal(query_add(q, "Param-3", "v"), 0);
	assert_int_equal(query_add(q, "Param", "w"), 0);
	assert_int_equal(query_add(q, "a", "~"), 0);
	assert_int_equal(query_add(q, "a", " "), 0);
	assert_int_equal(query_canonical(q, &s, &len), 0);
	assert_string_equal(s, "%E1%88%B4=u&Action=A&B=x&Param=w&Param-3=v"
	    "&Version=1&a=%20&a=1&a=10&a=2&a=~&b=2");
	assert_int_equal(len, strlen(s));
	free(s);
	/* The form keeps insertion order. */
	assert_int_equal(query_form(q, &s, NULL), 0);
	assert_string_equal(s, "Action=A&Version=1&b=2&a=10&a=2&a=1&B=x"
	    "&%E1%88%B4=u&Param-3=v&Param=w&a=~&a=%20");
	free(s);
	query_free(q);
}

static void
test_addf(void **state)
{
	struct query *q = query_new("CreateSnapshot", "2016-11-15");
	char name[QUERY_NAME_MAX + 8];
	char *s = NULL;

	(void)state;
	assert_non_null(q);
	assert_int_equal(query_addf(q, "snapshot", "TagSpecification.%d."
	    "ResourceType", 1), 0);
	assert_int_equal(query_addf(q, "ec2backup:policy",
	    "TagSpecification.%d.Tag.%zu.Key", 1, (size_t)2), 0);
	assert_int_equal(query_form(q, &s, NULL), 0);
	assert_string_equal(s, "Action=CreateSnapshot&Version=2016-11-15"
	    "&TagSpecification.1.ResourceType=snapshot"
	    "&TagSpecification.1.Tag.2.Key=ec2backup%3Apolicy");
	free(s);

	/* Exactly QUERY_NAME_MAX fits; one more is E2BIG, not truncated. */
	memset(name, 'n', QUERY_NAME_MAX);
	name[QUERY_NAME_MAX] = '\0';
	assert_int_equal(query_addf(q, "v", "%s", name), 0);
	assert_int_equal(query_addf(q, "v", "%sX", name), -1);
	assert_int_equal(errno, E2BIG);
	/* The query is now failed for good. */
	assert_int_equal(query_add(q, "ok", "ok"), -1);
	assert_int_equal(errno, E2BIG);
	errno = 0;
	assert_int_equal(query_form(q, &s, NULL), -1);
	assert_int_equal(errno, E2BIG);
	assert_null(s);
	assert_int_equal(query_canonical(q, &s, NULL), -1);
	assert_null(s);
	query_free(q);
}

static void
test_bad_arguments(void **state)
{
	struct query *q;
	char *s;

	(void)state;
	errno = 0;
	assert_null(query_new("", "2016-11-15"));
	assert_int_equal(errno, EINVAL);
	assert_null(query_new("A", NULL));
	assert_null(query_new(NULL, "1"));
	assert_int_equal(query_add(NULL, "a", "b"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(query_count(NULL), 0);
	assert_int_equal(query_form(NULL, &s, NULL), -1);
	query_free(NULL);

	q = query_new("A", "1");
	assert_non_null(q);
	assert_int_equal(query_add(q, "", "v"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(query_form(q, &s, NULL), -1);
	assert_int_equal(errno, EINVAL);
	query_free(q);

	q = query_new("A", "1");
	assert_non_null(q);
	assert_int_equal(query_add(q, "n", NULL), -1);
	assert_int_equal(query_count(q), 2);
	query_free(q);
}

static void
test_bounds(void **state)
{
	struct query *q;
	char *big, *s = NULL;
	size_t len;

	(void)state;
	/* Value length: QUERY_VALUE_MAX fits, one more does not. */
	big = malloc(QUERY_VALUE_MAX + 2);
	assert_non_null(big);
	memset(big, 'v', QUERY_VALUE_MAX + 1);
	big[QUERY_VALUE_MAX + 1] = '\0';
	q = query_new("A", "1");
	assert_non_null(q);
	assert_int_equal(query_add(q, "n", big), -1);
	assert_int_equal(errno, E2BIG);
	query_free(q);
	big[QUERY_VALUE_MAX] = '\0';
	q = query_new("A", "1");
	assert_non_null(q);
	assert_int_equal(query_add(q, "n", big), 0);
	assert_int_equal(query_form(q, &s, &len), 0);
	assert_int_equal(len, strlen("Action=A&Version=1&n=") +
	    QUERY_VALUE_MAX);
	free(s);
	query_free(q);

	/* Number of pairs. */
	q = query_new("A", "1");
	assert_non_null(q);
	for (size_t i = 2; i < QUERY_PARAMS_MAX; i++)
		assert_int_equal(query_addf(q, "v", "P.%zu", i), 0);
	assert_int_equal(query_count(q), QUERY_PARAMS_MAX);
	assert_int_equal(query_add(q, "one", "more"), -1);
	assert_int_equal(errno, E2BIG);
	query_free(q);

	/* Rendered size: values that triple when encoded. */
	memset(big, ' ', QUERY_VALUE_MAX);
	q = query_new("A", "1");
	assert_non_null(q);
	len = strlen("Action=A&Version=1");
	for (;;) {
		size_t add = strlen("&n=") + 3 * QUERY_VALUE_MAX;

		if (len + add > QUERY_RENDER_MAX) {
			assert_int_equal(query_add(q, "n", big), -1);
			assert_int_equal(errno, E2BIG);
			break;
		}
		assert_int_equal(query_add(q, "n", big), 0);
		len += add;
	}
	assert_int_equal(query_form(q, &s, NULL), -1);
	query_free(q);
	free(big);

	/* Right at the limit renders, and is exactly that long. */
	q = query_new("A", "1");
	assert_non_null(q);
	len = strlen("Action=A&Version=1");
	while (len < QUERY_RENDER_MAX) {
		size_t room = QUERY_RENDER_MAX - len - strlen("&n=");
		size_t vlen = room < QUERY_VALUE_MAX ? room : QUERY_VALUE_MAX;

		big = malloc(vlen + 1);
		assert_non_null(big);
		memset(big, 'x', vlen);
		big[vlen] = '\0';
		assert_int_equal(query_add(q, "n", big), 0);
		free(big);
		len += strlen("&n=") + vlen;
	}
	assert_int_equal(query_canonical(q, &s, &len), 0);
	assert_int_equal(len, QUERY_RENDER_MAX);
	free(s);
	assert_int_equal(query_add(q, "n", ""), -1);
	assert_int_equal(errno, E2BIG);
	query_free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoding_table),
		cmocka_unit_test(test_encoding_all_bytes),
		cmocka_unit_test(test_form_order),
		cmocka_unit_test(test_canonical_order),
		cmocka_unit_test(test_addf),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests_name("query", tests, NULL, NULL);
}

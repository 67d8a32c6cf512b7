/*
 * Tests of src/text.c: what could forge or reorder a line is escaped,
 * and nothing else changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "text.h"

static const struct {
	const char *in, *out;
} cases[] = {
	{ "", "" },
	{ "orders database", "orders database" },
	{ "Käyttäjät 🙂 日本", "Käyttäjät 🙂 日本" },
	{ "two\nlines", "two\\nlines" },
	{ "tab\there", "tab\\there" },
	{ "cr\rreturn", "cr\\x0dreturn" },
	{ "esc\033[31mred", "esc\\x1b[31mred" },
	{ "del\177", "del\\x7f" },
	{ "back\\slash", "back\\\\slash" },
	/* C1 controls, bidi overrides and isolates, line separators. */
	{ "nel\xc2\x85", "nel\\u{0085}" },
	{ "snap-\xe2\x80\xae" "fed", "snap-\\u{202e}fed" },
	{ "\xe2\x81\xa6x\xe2\x81\xa9", "\\u{2066}x\\u{2069}" },
	{ "a\xe2\x80\x8f", "a\\u{200f}" },
	{ "\xd8\x9c", "\\u{061c}" },
	{ "ls\xe2\x80\xa8", "ls\\u{2028}" },
	/* Not UTF-8: each bad byte on its own. */
	{ "\xff", "\\xff" },
	{ "\xc0\x80", "\\xc0\\x80" },
	{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },
	{ "\xe2\x82", "\\xe2\\x82" },
	{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },
};

static void
test_cases(void **state)
{
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = text_escape(cases[i].in, out, sizeof(out));
		assert_string_equal(out, cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
		assert_int_equal(text_plain(cases[i].in),
		    strcmp(cases[i].in, cases[i].out) == 0);
	}
}

/* Cut to fit, never inside an escape or a character. */
static void
test_truncation(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(text_escape("abc\ndef", out, sizeof(out)), 7);
	assert_string_equal(out, "abc\\nde");
	assert_int_equal(text_escape("abcdef\n", out, sizeof(out)), 6);
	assert_string_equal(out, "abcdef");
	assert_int_equal(text_escape("ab\xe2\x80\xae", out, sizeof(out)), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(text_escape("äääää", out, sizeof(out)), 6);
	assert_string_equal(out, "äää");
	assert_int_equal(text_escape("x", out, 1), 0);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

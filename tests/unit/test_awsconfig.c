/*
 * awsconfig: a table of shared credentials/config files, each parsed for
 * one profile, with the settings or the error expected (one test per row);
 * then line numbers, buffer bounds and the file wrapper (missing file,
 * size cap, not a regular file).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "awsconfig.h"

#define CRED AWSCONFIG_CREDENTIALS
#define CONF AWSCONFIG_CONFIG
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "AQoDYXdzEJr//////////wEa8AE+token=="

struct want {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
	const char *region;
	const char *endpoint_url;
	const char *ca_bundle;
	const char *services;
	const char *ec2_endpoint_url;
};

struct config_case {
	const char *name;
	enum awsconfig_kind kind;
	const char *profile;
	const char *text;
	bool found;
	int line;               /* of the profile's header, when found */
	struct want want;
	const char *error;      /* expected message; NULL: success */
};

static const struct config_case cases[] = {
	{
		"credentials default", CRED, "default",
		"[default]\n"
		"aws_access_key_id = AKIDEXAMPLE\n"
		"aws_secret_access_key = " SECRET "\n",
		true, 1, { "AKIDEXAMPLE", SECRET, NULL, NULL, NULL, NULL,
		    NULL, NULL }, NULL,
	},
	{
		"credentials named profile among others", CRED, "prod",
		"[default]\n"
		"aws_access_key_id = AKIDDEFAULT\n"
		"aws_secret_access_key = other\n"
		"\n"
		"[prod]\n"
		"aws_access_key_id=AKIDPROD\n"
		"aws_secret_access_key=" SECRET "\n"
		"aws_session_token=" TOKEN "\n"
		"region=eu-west-3\n"
		"[staging]\n"
		"aws_access_key_id = AKIDSTAGING\n",
		true, 5, { "AKIDPROD", SECRET, TOKEN, "eu-west-3", NULL, NULL,
		    NULL, NULL }, NULL,
	},
	{
		"credentials file: [profile x] is not profile x", CRED, "prod",
		"[profile prod]\n"
		"aws_access_key_id = AKIDPROD\n",
		false, 0, { 0 }, NULL,
	},
	{
		"config: [profile x], and a bare [x] is not a profile", CONF,
		"dev",
		"[dev]\n"
		"region = us-west-1\n"
		"[profile dev]\n"
		"region = us-west-2\n"
		"endpoint_url = http://localhost:4566\n"
		"ca_bundle = /etc/ssl/dev.pem\n",
		true, 3, { NULL, NULL, NULL, "us-west-2",
		    "http://localhost:4566", "/etc/ssl/dev.pem", NULL, NULL },
		NULL,
	},
	{
		"config default", CONF, "default",
		"[profile dev]\nregion = us-west-2\n[default]\n"
		"region = us-east-1\n",
		true, 3, { NULL, NULL, NULL, "us-east-1", NULL, NULL, NULL,
		    NULL }, NULL,
	},
	{
		"config [profile default] is the default profile", CONF,
		"default",
		"[profile default]\nregion = ap-south-1\n",
		true, 1, { NULL, NULL, NULL, "ap-south-1", NULL, NULL, NULL,
		    NULL }, NULL,
	},
	{
		"config profile name spacing and quotes", CONF, "my dev",
		"[ profile \t \"my dev\" ]\nregion = sa-east-1\n",
		true, 1, { NULL, NULL, NULL, "sa-east-1", NULL, NULL, NULL,
		    NULL }, NULL,
	},
	{
		"[profiledev] is not profile dev", CONF, "dev",
		"[profiledev]\nregion = sa-east-1\n",
		false, 0, { 0 }, NULL,
	},
	{
		"comments, blanks, CRLF, BOM, tabs, colon delimiter", CRED,
		"default",
		"\xef\xbb\xbf# leading comment\r\n"
		"; another\r\n"
		"\r\n"
		"[default]   # trailing comment\r\n"
		"   # indented comment\r\n"
		"\taws_access_key_id\t=\tAKIDEXAMPLE  \r\n"
		"aws_secret_access_key: " SECRET "\r\n"
		"\r\n",
		true, 4, { "AKIDEXAMPLE", SECRET, NULL, NULL, NULL, NULL, NULL,
		    NULL }, NULL,
	},
	{
		"key names are case-insensitive", CRED, "default",
		"[default]\nAWS_ACCESS_KEY_ID = AKIDEXAMPLE\n"
		"Aws_Secret_Access_Key = " SECRET "\n",
		true, 1, { "AKIDEXAMPLE", SECRET, NULL, NULL, NULL, NULL, NULL,
		    NULL }, NULL,
	},
	{
		"values keep '=', ':' and '#' (no inline comments)", CRED,
		"default",
		"[default]\naws_session_token = " TOKEN "\n"
		"region = us-east-1 # not a comment\n"
		"endpoint_url = http://host:8080/a=b\n",
		true, 1, { NULL, NULL, TOKEN, "us-east-1 # not a comment",
		    "http://host:8080/a=b", NULL, NULL, NULL }, NULL,
	},
	{
		"empty values leave settings unset", CRED, "default",
		"[default]\naws_session_token =\nregion=   \n",
		true, 1, { 0 }, NULL,
	},
	{
		"aws_security_token is the older token name", CRED, "default",
		"[default]\naws_security_token = OLDTOKEN\n",
		true, 1, { NULL, NULL, "OLDTOKEN", NULL, NULL, NULL, NULL,
		    NULL }, NULL,
	},
	{
		"aws_session_token wins over aws_security_token", CRED,
		"default",
		"[default]\naws_security_token = OLDTOKEN\n"
		"aws_session_token = NEWTOKEN\n",
		true, 1, { NULL, NULL, "NEWTOKEN", NULL, NULL, NULL, NULL,
		    NULL }, NULL,
	},
	{
		"services section after the profile", CONF, "dev",
		"[profile dev]\n"
		"services = local\n"
		"region = us-east-1\n"
		"[services other]\n"
		"ec2 =\n"
		"  endpoint_url = http://wrong\n"
		"[services local]\n"
		"s3 =\n"
		"  endpoint_url = http://s3.local\n"
		"ec2 =\n"
		"  # a comment\n"
		"  endpoint_url = http://localhost:4566\n"
		"  region = ignored\n",
		true, 1, { NULL, NULL, NULL, "us-east-1", NULL, NULL, "local",
		    "http://localhost:4566" }, NULL,
	},
	{
		"services section before the profile", CONF, "dev",
		"[services local]\n"
		"ec2 =\n"
		"\tendpoint_url = http://127.0.0.1:9000\n"
		"[profile dev]\n"
		"services = local\n",
		true, 4, { NULL, NULL, NULL, NULL, NULL, NULL, "local",
		    "http://127.0.0.1:9000" }, NULL,
	},
	{
		"services section without ec2", CONF, "dev",
		"[profile dev]\nservices = local\n[services local]\n"
		"s3 =\n  endpoint_url = http://s3\n",
		true, 1, { NULL, NULL, NULL, NULL, NULL, NULL, "local", NULL },
		NULL,
	},
	{
		"services sections are ignored in the credentials file", CRED,
		"dev",
		"[dev]\nservices = local\n[services local]\nec2 =\n"
		"  endpoint_url = http://x\n",
		true, 1, { NULL, NULL, NULL, NULL, NULL, NULL, "local", NULL },
		NULL,
	},
	{
		"nested settings in a profile are skipped", CONF, "dev",
		"[profile dev]\n"
		"s3 =\n"
		"  addressing_style = path\n"
		"  max_concurrent_requests = 20\n"
		"region = eu-north-1\n",
		true, 1, { NULL, NULL, NULL, "eu-north-1", NULL, NULL, NULL,
		    NULL }, NULL,
	},
	{
		"continuation of an unknown key is tolerated", CONF, "dev",
		"[profile dev]\ncli_pager = less\n  -R\nregion = eu-north-1\n",
		true, 1, { NULL, NULL, NULL, "eu-north-1", NULL, NULL, NULL,
		    NULL }, NULL,
	},
	{
		"empty file", CRED, "default", "",
		false, 0, { 0 }, NULL,
	},
	{
		"profile missing", CRED, "nope", "[default]\nregion = x\n",
		false, 0, { 0 }, NULL,
	},
	{
		"setting before any section", CRED, "default",
		"aws_access_key_id = AKIDEXAMPLE\n[default]\n",
		false, 0, { 0 },
		"test.ini:1: setting before the first [section]",
	},
	{
		"a stray line is not echoed", CRED, "default",
		"[default]\naws_access_key_id = AKIDEXAMPLE\n" SECRET "\n",
		false, 0, { 0 },
		"test.ini:3: expected [section], key = value or a comment",
	},
	{
		"syntax errors in other sections count too", CRED, "default",
		"[default]\nregion = x\n[other]\nbroken line\n",
		false, 0, { 0 },
		"test.ini:4: expected [section], key = value or a comment",
	},
	{
		"section header without ']'", CRED, "default",
		"[default\nregion = x\n",
		false, 0, { 0 }, "test.ini:1: section header without ']'",
	},
	{
		"text after a section header", CRED, "default",
		"[default] junk\n",
		false, 0, { 0 }, "test.ini:1: text after the section header",
	},
	{
		"empty section name", CRED, "default",
		"[  ]\n",
		false, 0, { 0 }, "test.ini:1: empty section name",
	},
	{
		"key without name", CRED, "default",
		"[default]\n= value\n",
		false, 0, { 0 },
		"test.ini:2: expected [section], key = value or a comment",
	},
	{
		"setting twice in the profile", CRED, "default",
		"[default]\naws_secret_access_key = " SECRET "\n"
		"aws_secret_access_key = OTHERSECRET\n",
		false, 0, { 0 },
		"test.ini:3: aws_secret_access_key set twice (first at line 2)",
	},
	{
		"profile section twice", CRED, "default",
		"[default]\nregion = a\n[other]\n[default]\nregion = b\n",
		false, 0, { 0 },
		"test.ini:4: second section for profile default "
		"(first at line 1)",
	},
	{
		"[default] and [profile default] both", CONF, "default",
		"[default]\n[profile default]\n",
		false, 0, { 0 },
		"test.ini:2: second section for profile default "
		"(first at line 1)",
	},
	{
		"a secret continued on an indented line", CRED, "default",
		"[default]\naws_session_token = AQoDYXdzEJr\n"
		"  SECONDHALFOFTOKEN\n",
		false, 0, { 0 },
		"test.ini:3: indented line continues aws_session_token, whose "
		"value must be one line",
	},
	{
		"bad nested line", CONF, "dev",
		"[profile dev]\ns3 =\n  nonsense\n",
		false, 0, { 0 }, "test.ini:3: expected an indented key = value",
	},
	{
		"ec2 with a value in the services section", CONF, "dev",
		"[profile dev]\nservices = x\n[services x]\n"
		"ec2 = http://localhost\n",
		false, 0, { 0 },
		"test.ini:4: ec2 settings go on indented lines below \"ec2 =\"",
	},
	{
		"services section twice", CONF, "dev",
		"[profile dev]\nservices = x\n[services x]\n[services x]\n",
		false, 0, { 0 },
		"test.ini:4: second [services x] section (first at line 3)",
	},
	{
		"ec2 endpoint_url twice", CONF, "dev",
		"[profile dev]\nservices = x\n[services x]\nec2 =\n"
		"  endpoint_url = a\n  endpoint_url = b\n",
		false, 0, { 0 },
		"test.ini:6: ec2 endpoint_url set twice (first at line 5)",
	},
	{
		"invalid profile name", CRED, "bad]name", "[default]\n",
		false, 0, { 0 }, "test.ini: invalid profile name",
	},
	{
		"empty profile name", CRED, "", "[default]\n",
		false, 0, { 0 }, "test.ini: invalid profile name",
	},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void
check_value(const char *what, const char *got, const char *want)
{
	if (want == NULL && got != NULL)
		fail_msg("%s: unexpected value", what);
	if (want != NULL && got == NULL)
		fail_msg("%s: missing, expected %s", what, want);
	if (want != NULL)
		assert_string_equal(got, want);
}

/* One row of the table. */
static void
test_case(void **state)
{
	const struct config_case *c = *state;
	struct awsconfig_profile p;
	char err[512] = "";
	int rc;

	rc = awsconfig_parse(c->text, strlen(c->text), "test.ini", c->kind,
	    c->profile, &p, err, sizeof(err));
	if (c->error != NULL) {
		if (rc != -1)
			fail_msg("parsed, expected an error");
		assert_string_equal(err, c->error);
		/* No secret, token or stray line in messages. */
		assert_null(strstr(err, SECRET));
		assert_null(strstr(err, "OTHERSECRET"));
		assert_null(strstr(err, "SECONDHALF"));
		assert_null(strstr(err, "AQoD"));
		assert_false(p.found);
		assert_null(p.secret_access_key.value);
		return;
	}
	if (rc != 0)
		fail_msg("%s", err);
	assert_int_equal(p.found, c->found);
	assert_int_equal(p.line, c->line);
	check_value("access_key_id", p.access_key_id.value,
	    c->want.access_key_id);
	check_value("secret_access_key", p.secret_access_key.value,
	    c->want.secret_access_key);
	check_value("session_token", p.session_token.value,
	    c->want.session_token);
	check_value("region", p.region.value, c->want.region);
	check_value("endpoint_url", p.endpoint_url.value,
	    c->want.endpoint_url);
	check_value("ca_bundle", p.ca_bundle.value, c->want.ca_bundle);
	check_value("services", p.services.value, c->want.services);
	check_value("ec2_endpoint_url", p.ec2_endpoint_url.value,
	    c->want.ec2_endpoint_url);
	awsconfig_profile_free(&p);
	assert_false(p.found);
	assert_null(p.region.value);
}

/* Settings remember their lines, for messages about them. */
static void
test_lines(void **state)
{
	static const char text[] =
	    "# header\n"
	    "[services s]\n"
	    "ec2 =\n"
	    "  endpoint_url = http://e\n"
	    "\n"
	    "[profile p]\n"
	    "region = r\n"
	    "services = s\n"
	    "aws_access_key_id = A\n";
	struct awsconfig_profile p;
	char err[256];

	(void)state;
	assert_int_equal(awsconfig_parse(text, sizeof(text) - 1, "c", CONF,
	    "p", &p, err, sizeof(err)), 0);
	assert_int_equal(p.line, 6);
	assert_int_equal(p.region.line, 7);
	assert_int_equal(p.services.line, 8);
	assert_int_equal(p.access_key_id.line, 9);
	assert_int_equal(p.ec2_endpoint_url.line, 4);
	assert_int_equal(p.secret_access_key.line, 0);
	awsconfig_profile_free(&p);
}

/* Credential sources ec2backup lacks are noted: the first one, in the
 * profile only, and not when its value is empty. */
static void
test_other_source(void **state)
{
	static const char text[] =
	    "[profile other]\n"
	    "credential_process = /bin/other\n"
	    "[profile p]\n"
	    "role_arn =\n"
	    "region = r\n"
	    "SSO_Session = corp\n"
	    "credential_process = /bin/creds\n";
	struct awsconfig_profile p;
	char err[256];

	(void)state;
	assert_int_equal(awsconfig_parse(text, sizeof(text) - 1, "c", CONF,
	    "p", &p, err, sizeof(err)), 0);
	assert_non_null(p.other_source);
	assert_string_equal(p.other_source, "sso_session");
	assert_int_equal(p.other_source_line, 6);
	awsconfig_profile_free(&p);
	assert_null(p.other_source);
	assert_int_equal(awsconfig_parse("[profile q]\nrole_arn = x\n", 24,
	    "c", CONF, "default", &p, err, sizeof(err)), 0);
	assert_null(p.other_source);
	awsconfig_profile_free(&p);
}

/* A buffer need not be NUL-terminated, and NUL bytes are refused. */
static void
test_buffer_bounds(void **state)
{
	static const char nul[] = "[default]\nregion = a\0b\n";
	char *big;
	struct awsconfig_profile p;
	char err[256];
	size_t n = AWSCONFIG_VALUE_MAX + 64;

	(void)state;
	assert_int_equal(awsconfig_parse("[default]\nregion = abcdef", 22,
	    "f", CRED, "default", &p, err, sizeof(err)), 0);
	assert_string_equal(p.region.value, "abc");
	awsconfig_profile_free(&p);

	assert_int_equal(awsconfig_parse(nul, sizeof(nul) - 1, "f", CRED,
	    "default", &p, err, sizeof(err)), -1);
	assert_string_equal(err, "f:2: NUL byte in the file");

	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'v', n);
	memcpy(big, "[default]\nregion = ", 19);
	big[n] = '\0';
	assert_int_equal(awsconfig_parse(big, n, "f", CRED, "default", &p,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "f:2: region: value longer than 16384 "
	    "bytes");
	free(big);

	assert_int_equal(awsconfig_parse(NULL, 0, "f", CRED, "default", &p,
	    err, sizeof(err)), 0);
	assert_false(p.found);
	awsconfig_profile_free(&p);
	awsconfig_profile_free(NULL);
}

static char *
write_temp(const char *text, size_t len)
{
	const char *dir = getenv("TMPDIR");
	char *path = malloc(4096);
	FILE *f;
	int fd;

	assert_non_null(path);
	snprintf(path, 4096, "%s/test_awsconfig.XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void
test_load(void **state)
{
	static const char text[] =
	    "[default]\naws_access_key_id = AKIDEXAMPLE\n"
	    "aws_secret_access_key = " SECRET "\n";
	struct awsconfig_profile p;
	char err[4096];
	char *path, *big, *msg;
	size_t n = AWSCONFIG_FILE_MAX + 1;

	(void)state;
	path = write_temp(text, sizeof(text) - 1);
	assert_int_equal(awsconfig_load(path, CRED, "default", &p, err,
	    sizeof(err)), 0);
	assert_true(p.found);
	assert_string_equal(p.secret_access_key.value, SECRET);
	awsconfig_profile_free(&p);
	assert_int_equal(awsconfig_load(path, CONF, "other", &p, err,
	    sizeof(err)), 0);
	assert_false(p.found);

	/* Missing files, and files under a non-directory, are not there. */
	msg = malloc(strlen(path) + 3);
	assert_non_null(msg);
	sprintf(msg, "%s/x", path);
	assert_int_equal(awsconfig_load(msg, CRED, "default", &p, err,
	    sizeof(err)), 1);
	free(msg);
	unlink(path);
	assert_int_equal(awsconfig_load(path, CRED, "default", &p, err,
	    sizeof(err)), 1);
	assert_false(p.found);
	free(path);

	/* Errors name the file and the line. */
	path = write_temp("[default]\nbroken\n", 17);
	assert_int_equal(awsconfig_load(path, CRED, "default", &p, err,
	    sizeof(err)), -1);
	msg = malloc(strlen(path) + 64);
	assert_non_null(msg);
	sprintf(msg, "%s:2: expected [section], key = value or a comment",
	    path);
	assert_string_equal(err, msg);
	free(msg);
	unlink(path);
	free(path);

	/* Exactly the cap is fine; one byte more is not. */
	big = malloc(n);
	assert_non_null(big);
	memset(big, '#', n);
	big[n - 2] = '\n';
	path = write_temp(big, n - 1);
	assert_int_equal(awsconfig_load(path, CRED, "default", &p, err,
	    sizeof(err)), 0);
	unlink(path);
	free(path);
	big[n - 1] = '\n';
	path = write_temp(big, n);
	assert_int_equal(awsconfig_load(path, CRED, "default", &p, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than 1048576 bytes"));
	unlink(path);
	free(path);
	free(big);

	assert_int_equal(awsconfig_load("/", CRED, "default", &p, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "/: not a regular file");
	assert_int_equal(awsconfig_load(NULL, CRED, "default", &p, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	static const struct CMUnitTest more[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_other_source),
		cmocka_unit_test(test_buffer_bounds),
		cmocka_unit_test(test_load),
	};
	struct CMUnitTest tests[NCASES + sizeof(more) / sizeof(more[0])];
	size_t n = 0;

	for (size_t i = 0; i < NCASES; i++) {
		struct CMUnitTest t = {
			.name = cases[i].name,
			.test_func = test_case,
			.initial_state = (void *)&cases[i],
		};

		tests[n++] = t;
	}
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		tests[n++] = more[i];
	return _cmocka_run_group_tests("awsconfig", tests, n, NULL, NULL);
}

/*
 * credentials: the provider chain with environment variables and shared
 * files in a temporary HOME, the container and metadata providers against
 * a small scripted HTTP server forked on a loopback port (so that refresh,
 * IMDSv1 fallback and token renewal are checked request by request), the
 * FULL_URI allow-list, the JSON reader and time parser with tables of
 * cases, region and endpoint order — and, throughout, that no message
 * carries a secret.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "credentials.h"
#include "log.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SECRET2 "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
#define TOKEN "IQoJb3JpZ2luX2VjEXAMPLETOKENvalue+/=="
#define E1 "2026-01-01T01:00:00Z"
#define E1_EPOCH 1767229200
#define E2 "2026-01-01T06:00:00Z"
#define E2_EPOCH 1767247200

#define ROLE_DOC(code, key, secret, exp)                                \
	"{\n  \"Code\" : \"" code "\",\n"                               \
	"  \"LastUpdated\" : \"2026-01-01T00:00:00Z\",\n"                \
	"  \"Type\" : \"AWS-HMAC\",\n"                                   \
	"  \"AccessKeyId\" : \"" key "\",\n"                             \
	"  \"SecretAccessKey\" : \"" secret "\",\n"                      \
	"  \"Token\" : \"" TOKEN "\",\n"                                 \
	"  \"Expiration\" : \"" exp "\"\n}"
#define CONTAINER_DOC(key, exp)                                         \
	"{\"RoleArn\":\"arn:aws:iam::123456789012:role/task\","          \
	"\"AccessKeyId\":\"" key "\",\"SecretAccessKey\":\"" SECRET "\","  \
	"\"Token\":\"" TOKEN "\",\"Expiration\":\"" exp "\"}"
#define CREDS_PATH "/latest/meta-data/iam/security-credentials/"

static char home[256];
static char err[2048];

static void stub_stop(void);

/* No secret, nor a recognisable piece of one, in a message. */
static void
assert_no_secret(const char *s)
{
	assert_null(strstr(s, SECRET));
	assert_null(strstr(s, "wJalrXUtnFEMI"));
	assert_null(strstr(s, SECRET2));
	assert_null(strstr(s, TOKEN));
	assert_null(strstr(s, "IQoJb3JpZ2lu"));
}

static void
clear_aws_env(void)
{
	extern char **environ;
	bool again = true;

	while (again) {
		again = false;
		for (char **e = environ; *e != NULL; e++) {
			if (strncmp(*e, "AWS_", 4) == 0) {
				char name[128];
				size_t n = strcspn(*e, "=");

				assert_true(n < sizeof(name));
				memcpy(name, *e, n);
				name[n] = '\0';
				unsetenv(name);
				again = true;
				break;
			}
		}
	}
}

/* Removes a directory tree of regular files (what the tests write). */
static int
remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char path[512];
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			rc |= remove_tree(path);
		else
			rc |= unlink(path);
	}
	closedir(d);
	return rc | rmdir(dir);
}

static int
setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char aws[300];

	(void)state;
	clear_aws_env();
	snprintf(home, sizeof(home), "%s/test_credentials-XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(home) == NULL)
		return -1;
	snprintf(aws, sizeof(aws), "%s/.aws", home);
	if (mkdir(aws, 0700) != 0)
		return -1;
	setenv("HOME", home, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	err[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	stub_stop();
	clear_aws_env();
	return remove_tree(home);
}

/* Writes text to HOME/rel and returns the full path (static buffer). */
static const char *
write_home(const char *rel, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", home, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

static struct credentials *
resolve_ok(const char *profile)
{
	struct credentials *c = NULL;

	if (credentials_resolve(profile, &c, err, sizeof(err)) != 0)
		fail_msg("credentials_resolve: %s", err);
	assert_non_null(c);
	return c;
}

static void
resolve_fails_with(const char *profile, const char *want, int rc)
{
	struct credentials *c = (struct credentials *)&c;

	assert_int_equal(credentials_resolve(profile, &c, err, sizeof(err)),
	    rc);
	assert_null(c);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_no_secret(err);
	assert_null(strchr(err, '\n'));
}

/* No source had credentials, or one was broken. */
static void
resolve_fails(const char *profile, const char *want)
{
	resolve_fails_with(profile, want, -1);
}

/* The configuration cannot be used: a usage error for the caller. */
static void
config_fails(const char *profile, const char *want)
{
	resolve_fails_with(profile, want, -2);
}

/* Checks what c hands out at time now. */
static void
assert_keys(struct credentials *c, int64_t now, const char *akid,
    const char *secret, const char *token)
{
	struct sigv4_credentials sc;

	if (credentials_get(c, now, &sc, err, sizeof(err)) != 0)
		fail_msg("credentials_get: %s", err);
	assert_string_equal(sc.access_key_id, akid);
	assert_string_equal(sc.secret_access_key, secret);
	if (token == NULL)
		assert_null(sc.session_token);
	else
		assert_string_equal(sc.session_token, token);
}

static void
assert_source(struct credentials *c, const char *want)
{
	assert_string_equal(credentials_source(c), want);
	assert_no_secret(credentials_source(c));
}

/* HOME followed by rest (static buffer). */
static const char *
in_home(const char *rest)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s%s", home, rest);
	return buf;
}

/*
 * A scripted HTTP server: each request is answered by the first unused
 * reply with its method and path (sticky replies are never used up), or
 * 404; one line per request goes to a log file before the answer, so the
 * log is complete once the client has its answer.
 */
struct stub_reply {
	const char *method;
	const char *path;
	int status;
	const char *body;
	bool sticky;
};

struct stub {
	pid_t pid;
	char url[64];
	char log[300];
};

static struct stub stub;

/* The value of header name in the request, copied to out ("-": none). */
static void
request_header(const char *req, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);

	snprintf(out, outlen, "-");
	for (const char *p = strstr(req, "\r\n"); p != NULL;
	    p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
			const char *v = p + 3 + n;

			while (*v == ' ')
				v++;
			snprintf(out, outlen, "%.*s", (int)strcspn(v, "\r\n"),
			    v);
			return;
		}
	}
}

static void
stub_serve(int lfd, const struct stub_reply *replies, size_t n)
{
	bool used[32] = { false };

	for (;;) {
		char req[8192], method[16], path[1024], tok[512], auth[512];
		const struct stub_reply *r = NULL;
		size_t len = 0;
		FILE *log;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		while (len < sizeof(req) - 1) {
			ssize_t k = read(fd, req + len, sizeof(req) - 1 - len);

			if (k <= 0)
				break;
			len += (size_t)k;
			req[len] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
		req[len] = '\0';
		if (sscanf(req, "%15s %1023s", method, path) != 2) {
			close(fd);
			continue;
		}
		request_header(req, "X-aws-ec2-metadata-token", tok,
		    sizeof(tok));
		request_header(req, "Authorization", auth, sizeof(auth));
		if ((log = fopen(stub.log, "a")) != NULL) {
			fprintf(log, "%s %s token=%s auth=%s\n", method, path,
			    tok, auth);
			fclose(log);
		}
		for (size_t i = 0; i < n && i < 32 && r == NULL; i++) {
			if (!used[i] && strcmp(replies[i].method, method) == 0 &&
			    strcmp(replies[i].path, path) == 0) {
				r = &replies[i];
				used[i] = !replies[i].sticky;
			}
		}
		dprintf(fd, "HTTP/1.1 %d Stub\r\nContent-Type: text/plain\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		    r != NULL ? r->status : 404,
		    strlen(r != NULL ? r->body : "not found"),
		    r != NULL ? r->body : "not found");
		close(fd);
	}
}

static void
stub_start(const struct stub_reply *replies, size_t n)
{
	struct sockaddr_in sa = { 0 };
	socklen_t salen = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(lfd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &salen), 0);
	snprintf(stub.url, sizeof(stub.url), "http://127.0.0.1:%d",
	    ntohs(sa.sin_port));
	snprintf(stub.log, sizeof(stub.log), "%s/stub.log", home);
	fflush(NULL);
	stub.pid = fork();
	assert_true(stub.pid >= 0);
	if (stub.pid == 0)
		stub_serve(lfd, replies, n);
	close(lfd);
}

static void
stub_stop(void)
{
	if (stub.pid > 0) {
		kill(stub.pid, SIGKILL);
		waitpid(stub.pid, NULL, 0);
	}
	stub.pid = 0;
}

/* The request log so far (static buffer). */
static const char *
stub_requests(void)
{
	static char buf[16384];
	FILE *f = fopen(stub.log, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
use_stub_imds(void)
{
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", stub.url, 1);
}

/*
 * The environment.
 */

static void
test_env_keys(void **state)
{
	struct credentials *c;

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	c = resolve_ok(NULL);
	assert_source(c, "environment variables");
	assert_false(credentials_temporary(c));
	assert_int_equal(credentials_expiration(c), -1);
	assert_keys(c, 0, "AKIDENV", SECRET, NULL);
	assert_keys(c, INT64_MAX / 2, "AKIDENV", SECRET, NULL);
	credentials_free(c);

	setenv("AWS_SESSION_TOKEN", TOKEN, 1);
	setenv("AWS_SECURITY_TOKEN", "legacy", 1);
	c = resolve_ok(NULL);
	assert_keys(c, 1767225600, "AKIDENV", SECRET, TOKEN);
	credentials_free(c);
	credentials_free(NULL);
}

/* botocore also reads the old AWS_SECURITY_TOKEN. */
static void
test_env_legacy_token(void **state)
{
	struct credentials *c;

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	setenv("AWS_SECURITY_TOKEN", TOKEN, 1);
	setenv("AWS_SESSION_TOKEN", "", 1);
	c = resolve_ok(NULL);
	assert_keys(c, 0, "AKIDENV", SECRET, TOKEN);
	credentials_free(c);
}

static void
test_env_partial(void **state)
{
	struct credentials *c;

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	resolve_fails(NULL, "AWS_ACCESS_KEY_ID is set but "
	    "AWS_SECRET_ACCESS_KEY is not");
	setenv("AWS_SECRET_ACCESS_KEY", "", 1);
	resolve_fails(NULL, "AWS_SECRET_ACCESS_KEY is not");

	/* A secret alone is not a credential: the files come next. */
	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	write_home(".aws/credentials", "[default]\n"
	    "aws_access_key_id = AKIDFILE\n"
	    "aws_secret_access_key = " SECRET2 "\n");
	c = resolve_ok(NULL);
	assert_keys(c, 0, "AKIDFILE", SECRET2, NULL);
	credentials_free(c);
}

static void
test_env_bad_values(void **state)
{
	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET " ", 1);
	resolve_fails(NULL, "AWS_SECRET_ACCESS_KEY contains a blank, a "
	    "control character or a non-ASCII byte");
	setenv("AWS_SECRET_ACCESS_KEY", SECRET "\n", 1);
	resolve_fails(NULL, "AWS_SECRET_ACCESS_KEY contains a blank");
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	setenv("AWS_SESSION_TOKEN", TOKEN "\r\nX-Evil: 1", 1);
	resolve_fails(NULL, "AWS_SESSION_TOKEN contains a blank");
	unsetenv("AWS_SESSION_TOKEN");
	setenv("AWS_SECURITY_TOKEN", "caf\xc3\xa9", 1);
	resolve_fails(NULL, "AWS_SECURITY_TOKEN contains");
	unsetenv("AWS_SECURITY_TOKEN");
	setenv("AWS_ACCESS_KEY_ID", "AKID "
	    "0123456789012345678901234567890123456789", 1);
	resolve_fails(NULL, "AWS_ACCESS_KEY_ID contains");
}

/* Only --profile sets the environment's keys aside, not AWS_PROFILE. */
static void
test_env_and_profiles(void **state)
{
	struct credentials *c;
	char want[512];

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	write_home(".aws/credentials", "[default]\n"
	    "aws_access_key_id = AKIDDEFAULT\n"
	    "aws_secret_access_key = " SECRET2 "\n"
	    "[prod]\n"
	    "aws_access_key_id = AKIDPROD\n"
	    "aws_secret_access_key = " SECRET2 "\n");
	c = resolve_ok(NULL);
	assert_keys(c, 0, "AKIDENV", SECRET, NULL);
	credentials_free(c);

	setenv("AWS_PROFILE", "prod", 1);
	c = resolve_ok(NULL);
	assert_source(c, "environment variables");
	credentials_free(c);

	c = resolve_ok("prod");
	snprintf(want, sizeof(want), "%s/.aws/credentials (profile prod)",
	    home);
	assert_string_equal(credentials_source(c), want);
	assert_keys(c, 0, "AKIDPROD", SECRET2, NULL);
	credentials_free(c);
}

/*
 * The shared files.
 */

static void
test_files_credentials(void **state)
{
	struct credentials *c;

	(void)state;
	write_home(".aws/credentials", "[default]\n"
	    "aws_access_key_id = AKIDFILE\n"
	    "aws_secret_access_key = " SECRET "\n"
	    "aws_session_token = " TOKEN "\n");
	c = resolve_ok(NULL);
	assert_source(c, in_home("/.aws/credentials (profile default)"));
	assert_keys(c, 0, "AKIDFILE", SECRET, TOKEN);
	assert_false(credentials_temporary(c));
	credentials_free(c);
}

static void
test_files_config_keys(void **state)
{
	struct credentials *c;

	(void)state;
	write_home(".aws/config", "[default]\n"
	    "region = eu-west-1\n"
	    "aws_access_key_id = AKIDCONF\n"
	    "aws_secret_access_key = " SECRET "\n"
	    "[profile prod]\n"
	    "aws_access_key_id = AKIDCONFPROD\n"
	    "aws_secret_access_key = " SECRET2 "\n"
	    "aws_security_token = " TOKEN "\n"
	    "[prod]\n"
	    "aws_access_key_id = NOTAPROFILE\n");
	c = resolve_ok(NULL);
	assert_source(c, in_home("/.aws/config (profile default)"));
	assert_keys(c, 0, "AKIDCONF", SECRET, NULL);
	credentials_free(c);
	c = resolve_ok("prod");
	assert_source(c, in_home("/.aws/config (profile prod)"));
	assert_keys(c, 0, "AKIDCONFPROD", SECRET2, TOKEN);
	credentials_free(c);
}

/* The credentials file is read first and wins. */
static void
test_files_credentials_first(void **state)
{
	struct credentials *c;

	(void)state;
	write_home(".aws/config", "[profile prod]\n"
	    "aws_access_key_id = AKIDCONF\n"
	    "aws_secret_access_key = " SECRET "\n");
	write_home(".aws/credentials", "[prod]\n"
	    "aws_access_key_id = AKIDCRED\n"
	    "aws_secret_access_key = " SECRET2 "\n");
	setenv("AWS_PROFILE", "prod", 1);
	c = resolve_ok(NULL);
	assert_source(c, in_home("/.aws/credentials (profile prod)"));
	assert_keys(c, 0, "AKIDCRED", SECRET2, NULL);
	credentials_free(c);
}

/* --profile, then AWS_PROFILE, then AWS_DEFAULT_PROFILE, then default. */
static void
test_files_profile_order(void **state)
{
	static const char *const names[] = { "default", "a", "b", "c" };
	struct credentials *c;
	char text[1024] = "";

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		char sect[256];

		snprintf(sect, sizeof(sect), "[%s]\naws_access_key_id = "
		    "AKID%zu\naws_secret_access_key = " SECRET "\n", names[i],
		    i);
		strcat(text, sect);
	}
	write_home(".aws/credentials", text);
	c = resolve_ok(NULL);
	assert_keys(c, 0, "AKID0", SECRET, NULL);
	credentials_free(c);
	setenv("AWS_DEFAULT_PROFILE", "c", 1);
	c = resolve_ok(NULL);
	assert_keys(c, 0, "AKID3", SECRET, NULL);
	credentials_free(c);
	setenv("AWS_PROFILE", "b", 1);
	c = resolve_ok(NULL);
	assert_keys(c, 0, "AKID2", SECRET, NULL);
	credentials_free(c);
	c = resolve_ok("a");
	assert_keys(c, 0, "AKID1", SECRET, NULL);
	assert_source(c, in_home("/.aws/credentials (profile a)"));
	credentials_free(c);
	c = resolve_ok("");     /* an empty --profile is no --profile */
	assert_keys(c, 0, "AKID2", SECRET, NULL);
	credentials_free(c);
}

/* AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE, "~/" meaning HOME. */
static void
test_files_custom_paths(void **state)
{
	struct credentials *c;
	char want[512];

	(void)state;
	write_home("creds", "[default]\naws_access_key_id = AKIDCUSTOM\n"
	    "aws_secret_access_key = " SECRET "\n");
	write_home("conf", "[profile x]\naws_access_key_id = AKIDCONF\n"
	    "aws_secret_access_key = " SECRET "\n");
	write_home(".aws/credentials", "[default]\naws_access_key_id = "
	    "AKIDDEFAULT\naws_secret_access_key = " SECRET "\n");
	snprintf(want, sizeof(want), "%s/creds", home);
	setenv("AWS_SHARED_CREDENTIALS_FILE", want, 1);
	c = resolve_ok(NULL);
	assert_keys(c, 0, "AKIDCUSTOM", SECRET, NULL);
	assert_source(c, in_home("/creds (profile default)"));
	credentials_free(c);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "~/creds", 1);
	setenv("AWS_CONFIG_FILE", "~/conf", 1);
	c = resolve_ok(NULL);
	assert_source(c, in_home("/creds (profile default)"));
	credentials_free(c);
	c = resolve_ok("x");
	assert_source(c, in_home("/conf (profile x)"));
	credentials_free(c);
}

static void
test_files_profile_missing(void **state)
{
	(void)state;
	config_fails("nope", "profile nope not found in ~/.aws/credentials "
	    "or ~/.aws/config");
	setenv("AWS_PROFILE", "gone", 1);
	config_fails(NULL, "profile gone not found in");
	/* Even "default", when it is named. */
	setenv("AWS_PROFILE", "default", 1);
	config_fails(NULL, "profile default not found in");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/creds", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/conf", 1);
	config_fails("nope", "profile nope not found in /nonexistent/creds "
	    "or /nonexistent/conf");
	/* A profile that exists without keys is not an error. */
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_CONFIG_FILE");
	unsetenv("AWS_PROFILE");
	write_home(".aws/config", "[profile r]\nregion = eu-west-1\n");
	resolve_fails("r", "no AWS credentials found");
}

static void
test_files_partial(void **state)
{
	char want[512];

	(void)state;
	write_home(".aws/credentials", "[default]\n"
	    "aws_access_key_id = AKIDFILE\n");
	snprintf(want, sizeof(want), "%s/.aws/credentials:1: profile default "
	    "has aws_access_key_id but no aws_secret_access_key", home);
	config_fails(NULL, want);
	write_home(".aws/credentials", "\n[default]\n"
	    "aws_secret_access_key = " SECRET "\n");
	snprintf(want, sizeof(want), "%s/.aws/credentials:2: profile default "
	    "has aws_secret_access_key but no aws_access_key_id", home);
	config_fails(NULL, want);
	write_home(".aws/credentials", "[default]\n"
	    "aws_access_key_id = AKID\n"
	    "aws_secret_access_key = " SECRET "\x01\n");
	snprintf(want, sizeof(want), "%s/.aws/credentials:3: "
	    "aws_secret_access_key contains", home);
	config_fails(NULL, want);
}

/* Sources the SDKs know and ec2backup does not are refused, not skipped. */
static void
test_files_other_source(void **state)
{
	struct credentials *c;
	char want[512];

	(void)state;
	write_home(".aws/config", "[profile admin]\n"
	    "role_arn = arn:aws:iam::123456789012:role/admin\n"
	    "source_profile = default\n");
	snprintf(want, sizeof(want), "%s/.aws/config:2: profile admin uses "
	    "role_arn, which ec2backup does not support", home);
	config_fails("admin", want);
	/* ... even next to static keys, which the SDKs would not use. */
	write_home(".aws/credentials", "[admin]\n"
	    "aws_access_key_id = AKID\n"
	    "aws_secret_access_key = " SECRET "\n");
	config_fails("admin", want);
	/* credential_process comes after the credentials file's keys. */
	write_home(".aws/config", "[profile p]\n"
	    "credential_process = /usr/bin/false\n"
	    "aws_access_key_id = AKIDCONF\n"
	    "aws_secret_access_key = " SECRET "\n");
	snprintf(want, sizeof(want), "%s/.aws/config:2: profile p uses "
	    "credential_process", home);
	config_fails("p", want);
	write_home(".aws/credentials", "[p]\n"
	    "aws_access_key_id = AKIDCRED\n"
	    "aws_secret_access_key = " SECRET "\n");
	c = resolve_ok("p");
	assert_keys(c, 0, "AKIDCRED", SECRET, NULL);
	credentials_free(c);
}

static void
test_files_parse_error(void **state)
{
	char want[512];

	(void)state;
	write_home(".aws/credentials", "[default]\n"
	    "aws_access_key_id = AKID\n"
	    SECRET "\n");
	snprintf(want, sizeof(want), "%s/.aws/credentials:3: expected "
	    "[section], key = value or a comment", home);
	config_fails(NULL, want);
	/* A broken file stops the search even with the keys in another. */
	write_home(".aws/config", "[default]\naws_access_key_id = A\n"
	    "aws_secret_access_key = " SECRET "\n");
	config_fails(NULL, want);
}

/*
 * Nothing anywhere.
 */

static void
test_nothing_found(void **state)
{
	(void)state;
	assert_int_equal(credentials_resolve(NULL, &(struct credentials *){ 0 },
	    err, sizeof(err)), -1);
	assert_string_equal(err, "no AWS credentials found: not in the "
	    "environment, not in ~/.aws/credentials or ~/.aws/config (profile "
	    "default), no container credentials, and the instance metadata "
	    "service is disabled (AWS_EC2_METADATA_DISABLED); set "
	    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, configure a profile, or "
	    "attach an instance role");

	/* A closed port: the metadata service "did not answer". */
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	write_home(".aws/config", "[profile empty]\n");
	setenv("AWS_CONFIG_FILE", "~/.aws/config", 1);
	resolve_fails("empty", "no AWS credentials found: the environment "
	    "was not used with --profile, not in ~/.aws/credentials or "
	    "~/.aws/config (profile empty), no container credentials, and the "
	    "instance metadata service did not answer; set AWS_ACCESS_KEY_ID/"
	    "AWS_SECRET_ACCESS_KEY, configure a profile, or attach an "
	    "instance role");
}

/*
 * Container credentials.
 */

static void
test_full_uri_allowed(void **state)
{
	static const struct {
		const char *url;
		bool ok;
	} cases[] = {
		{ "https://example.com/creds", true },
		{ "HTTPS://example.com", true },
		{ "http://127.0.0.1/creds", true },
		{ "http://127.0.0.1:8080/creds?x=1", true },
		{ "http://127.200.3.4:1/", true },
		{ "http://localhost:9911/get", true },
		{ "http://LocalHost/", true },
		{ "http://169.254.170.2/v2/credentials/abc", true },
		{ "http://169.254.170.23/v1/credentials", true },
		{ "http://[fd00:ec2::23]/v1/credentials", true },
		{ "http://[fd00:0ec2:0000::0023]:80/", true },
		{ "http://[::1]:8080/", true },
		{ "http://example.com/creds", false },
		{ "http://169.254.170.3/", false },
		{ "http://169.254.169.254/latest/", false },
		{ "http://127.0.0.1.example.com/", false },
		{ "http://127.0.0.1@example.com/", false },
		{ "http://user:pw@127.0.0.1/", false },
		{ "https://user@example.com/", false },
		{ "http://0x7f.0.0.1/", false },
		{ "http://2130706433/", false },
		{ "http://[fd00:ec2::24]/", false },
		{ "http://[::2]/", false },
		{ "http://fd00:ec2::23/", false },
		{ "http://[fd00:ec2::23/", false },
		{ "http://127.0.0.1:0/", false },
		{ "http://127.0.0.1:65536/", false },
		{ "http://127.0.0.1:80x/", false },
		{ "http://127.0.0.1:/", false },
		{ "http:///creds", false },
		{ "https://", false },
		{ "ftp://127.0.0.1/", false },
		{ "file:///etc/passwd", false },
		{ "http://127.0.0.1/a b", false },
		{ "http://127.0.0.1/\r\nX: y", false },
		{ "", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (credentials_full_uri_allowed(cases[i].url) != cases[i].ok)
			fail_msg("%s: expected %s", cases[i].url,
			    cases[i].ok ? "allowed" : "refused");
	assert_false(credentials_full_uri_allowed(NULL));
}

/* Settings are checked before anything is sent. */
static void
test_container_settings(void **state)
{
	char path[512];

	(void)state;
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/", 1);
	resolve_fails(NULL, "AWS_CONTAINER_CREDENTIALS_FULL_URI must be an "
	    "https URL, or http to a loopback address, 169.254.170.2, "
	    "169.254.170.23 or [fd00:ec2::23]");
	/* The relative URI comes first. */
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/", 1);
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/creds", 1);
	resolve_fails(NULL, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start "
	    "with '/'");
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/cr eds", 1);
	resolve_fails(NULL, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI contains a "
	    "blank");
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");

	/* A line break in the token would add a header of its own. */
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc\r\nX-Injected: 1", 1);
	resolve_fails(NULL, "AWS_CONTAINER_AUTHORIZATION_TOKEN: the token "
	    "contains a line break or a control character");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc\nX-Injected: 1", 1);
	resolve_fails(NULL, "contains a line break");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc\rdef", 1);
	resolve_fails(NULL, "contains a line break");
	/* The file wins over the variable, and is checked the same way. */
	write_home("token", "abc\r\nX-Injected: 1\n");
	snprintf(path, sizeof(path), "%s/token", home);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "fine", 1);
	resolve_fails(NULL, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: the "
	    "token contains a line break");
	write_home("token", "");
	resolve_fails(NULL, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: the "
	    "token is empty");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/nonexistent/tok", 1);
	resolve_fails(NULL, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: "
	    "/nonexistent/tok: No such file or directory");
}

static void
test_container_fetch(void **state)
{
	static const struct stub_reply replies[] = {
		{ "GET", "/creds", 200, CONTAINER_DOC("ASIACONTAINER1", E1),
		    false },
		{ "GET", "/creds", 200, CONTAINER_DOC("ASIACONTAINER2", E2),
		    false },
		{ "GET", "/creds", 200, CONTAINER_DOC("ASIACONTAINER3", E2),
		    false },
	};
	struct credentials *c;
	char url[128], path[512];

	(void)state;
	stub_start(replies, 3);
	snprintf(url, sizeof(url), "%s/creds", stub.url);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic abc=", 1);
	c = resolve_ok(NULL);
	assert_source(c, "container credentials");
	assert_true(credentials_temporary(c));
	assert_int_equal(credentials_expiration(c), E1_EPOCH);
	assert_keys(c, E1_EPOCH - 301, "ASIACONTAINER1", SECRET, TOKEN);
	/* Within five minutes of the end: new ones, with the token file's
	 * current content (it is read again at each refresh). */
	write_home("token", "from-file\n");
	snprintf(path, sizeof(path), "%s/token", home);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
	assert_keys(c, E1_EPOCH - 300, "ASIACONTAINER2", SECRET, TOKEN);
	assert_int_equal(credentials_expiration(c), E2_EPOCH);
	assert_string_equal(stub_requests(),
	    "GET /creds token=- auth=Basic abc=\n"
	    "GET /creds token=- auth=from-file\n");
	credentials_free(c);
	stub_stop();
}

static void
test_container_errors(void **state)
{
	static const struct stub_reply replies[] = {
		{ "GET", "/denied", 401, "{\"code\":\"AccessDenied\","
		    "\"message\":\"invalid authorization token\"}", false },
		{ "GET", "/notjson", 200, "<html>", false },
		{ "GET", "/notoken", 200, "{\"AccessKeyId\":\"ASIA\","
		    "\"SecretAccessKey\":\"" SECRET "\",\"Expiration\":\""
		    E1 "\"}", false },
		{ "GET", "/badtime", 200, "{\"AccessKeyId\":\"ASIA\","
		    "\"SecretAccessKey\":\"" SECRET "\",\"Token\":\"" TOKEN
		    "\",\"Expiration\":\"tomorrow\"}", false },
		{ "GET", "/flaky", 503, "busy", false },
		{ "GET", "/flaky", 200, CONTAINER_DOC("ASIAFLAKY", E1), false },
	};
	struct credentials *c;
	char url[128], want[256];

	(void)state;
	stub_start(replies, sizeof(replies) / sizeof(replies[0]));
	snprintf(url, sizeof(url), "%s/denied", stub.url);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	snprintf(want, sizeof(want), "container credentials from %s: HTTP 401:"
	    " AccessDenied: invalid authorization token", stub.url);
	resolve_fails(NULL, want);
	snprintf(url, sizeof(url), "%s/notjson", stub.url);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	resolve_fails(NULL, ": JSON: expected an object at byte 0");
	snprintf(url, sizeof(url), "%s/notoken", stub.url);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	resolve_fails(NULL, ": the document has no Token");
	snprintf(url, sizeof(url), "%s/badtime", stub.url);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	resolve_fails(NULL, ": Expiration is not an ISO 8601 UTC time");
	/* A 5xx is tried again (after a second). */
	snprintf(url, sizeof(url), "%s/flaky", stub.url);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	c = resolve_ok(NULL);
	assert_keys(c, 0, "ASIAFLAKY", SECRET, TOKEN);
	credentials_free(c);
	stub_stop();
}

/*
 * The instance metadata service.
 */

static void
test_imds_v2(void **state)
{
	static const struct stub_reply replies[] = {
		{ "PUT", "/latest/api/token", 200, "tok1", false },
		{ "GET", CREDS_PATH, 200, "backup-role\n", false },
		{ "GET", CREDS_PATH "backup-role", 200,
		    ROLE_DOC("Success", "ASIAIMDS1", SECRET, E1), false },
	};
	struct credentials *c;

	(void)state;
	stub_start(replies, 3);
	use_stub_imds();
	c = resolve_ok(NULL);
	assert_source(c, "instance role backup-role (IMDSv2)");
	assert_true(credentials_temporary(c));
	assert_int_equal(credentials_expiration(c), E1_EPOCH);
	assert_keys(c, E1_EPOCH - 3000, "ASIAIMDS1", SECRET, TOKEN);
	assert_string_equal(stub_requests(),
	    "PUT /latest/api/token token=- auth=-\n"
	    "GET " CREDS_PATH " token=tok1 auth=-\n"
	    "GET " CREDS_PATH "backup-role token=tok1 auth=-\n");
	credentials_free(c);
	stub_stop();
}

/* A token PUT answered 403, 404 or 405: IMDSv1, as botocore does. */
static void
test_imds_v1_fallback(void **state)
{
	static const struct stub_reply replies[] = {
		{ "PUT", "/latest/api/token", 405, "", false },
		{ "GET", CREDS_PATH, 200, "r", false },
		{ "GET", CREDS_PATH "r", 200,
		    ROLE_DOC("Success", "ASIAV1", SECRET, E1), false },
	};
	struct credentials *c;

	(void)state;
	stub_start(replies, 3);
	use_stub_imds();
	c = resolve_ok(NULL);
	assert_source(c, "instance role r (IMDSv1)");
	assert_string_equal(stub_requests(),
	    "PUT /latest/api/token token=- auth=-\n"
	    "GET " CREDS_PATH " token=- auth=-\n"
	    "GET " CREDS_PATH "r token=- auth=-\n");
	credentials_free(c);
	stub_stop();
}

static void
test_imds_v1_disabled(void **state)
{
	static const struct stub_reply replies[] = {
		{ "PUT", "/latest/api/token", 403, "", false },
	};

	(void)state;
	stub_start(replies, 1);
	use_stub_imds();
	setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
	resolve_fails(NULL, "and the instance metadata service refused a "
	    "session token (HTTP 403) and AWS_EC2_METADATA_V1_DISABLED forbids "
	    "IMDSv1;");
	assert_int_equal(count_lines(stub_requests()), 1);
	stub_stop();
}

/* Any other failure of the token request is not a reason to use v1. */
static void
test_imds_no_fallback(void **state)
{
	static const struct stub_reply replies[] = {
		{ "PUT", "/latest/api/token", 500, "", true },
	};

	(void)state;
	stub_start(replies, 1);
	use_stub_imds();
	resolve_fails(NULL, "and the instance metadata service answered HTTP "
	    "500 to the session token request;");
	assert_string_equal(stub_requests(),
	    "PUT /latest/api/token token=- auth=-\n");
	/* AWS_METADATA_SERVICE_NUM_ATTEMPTS tries again. */
	setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "3", 1);
	resolve_fails(NULL, "answered HTTP 500");
	assert_int_equal(count_lines(stub_requests()), 4);
	stub_stop();
}

static void
test_imds_failures(void **state)
{
	static const struct stub_reply replies[] = {
		{ "PUT", "/latest/api/token", 200, "tok", true },
		{ "GET", CREDS_PATH, 404, "", false },
		{ "GET", CREDS_PATH, 200, "../../x\n", false },
		{ "GET", CREDS_PATH, 200, "\n", false },
		{ "GET", CREDS_PATH, 200, "r1", false },
		{ "GET", CREDS_PATH "r1", 200, "{\"Code\" : "
		    "\"AssumeRoleUnauthorizedAccess\", \"Message\" : \"EC2 "
		    "cannot assume the role\", \"LastUpdated\" : "
		    "\"2026-01-01T00:00:00Z\"}", false },
		{ "GET", CREDS_PATH, 200, "r2", false },
		{ "GET", CREDS_PATH "r2", 200, ROLE_DOC("Success", "ASIA X",
		    SECRET, E1), false },
		{ "GET", CREDS_PATH, 200, "r3", false },
		{ "GET", CREDS_PATH "r3", 404, "", false },
		{ "GET", CREDS_PATH, 200, "r4", false },
		{ "GET", CREDS_PATH "r4", 200, "{\"Code\":\"Success\","
		    "\"AccessKeyId\":\"ASIA\",\"SecretAccessKey\":\"" SECRET
		    "\",\"Token\":\"" TOKEN "\",\"Expiration\":\"" E1 "\","
		    "\"SecretAccessKey\":\"" SECRET2 "\"}", false },
	};

	(void)state;
	stub_start(replies, sizeof(replies) / sizeof(replies[0]));
	use_stub_imds();
	resolve_fails(NULL, "and the instance has no IAM role (instance "
	    "metadata);");
	resolve_fails(NULL, "and the instance metadata service gave an "
	    "invalid role name;");
	resolve_fails(NULL, "gave an empty role name;");
	resolve_fails(NULL, "and instance role r1: Code is "
	    "AssumeRoleUnauthorizedAccess: EC2 cannot assume the role;");
	resolve_fails(NULL, "and instance role r2: AccessKeyId contains a "
	    "blank");
	resolve_fails(NULL, "answered HTTP 404 for role r3;");
	resolve_fails(NULL, "instance role r4: JSON: SecretAccessKey appears "
	    "twice");
	stub_stop();
}

/* A 401 to a token (expired on the service's side): one new token. */
static void
test_imds_token_renewed(void **state)
{
	static const struct stub_reply replies[] = {
		{ "PUT", "/latest/api/token", 200, "tok1\n", false },
		{ "GET", CREDS_PATH, 401, "", false },
		{ "PUT", "/latest/api/token", 200, "tok2", false },
		{ "GET", CREDS_PATH, 200, "r", false },
		{ "GET", CREDS_PATH "r", 200,
		    ROLE_DOC("Success", "ASIARENEWED", SECRET, E1), false },
		{ "GET", CREDS_PATH, 401, "", true },
		{ "PUT", "/latest/api/token", 200, "tok3", true },
	};
	struct credentials *c;
	struct sigv4_credentials sc;

	(void)state;
	stub_start(replies, sizeof(replies) / sizeof(replies[0]));
	use_stub_imds();
	c = resolve_ok(NULL);
	assert_keys(c, 0, "ASIARENEWED", SECRET, TOKEN);
	assert_string_equal(stub_requests(),
	    "PUT /latest/api/token token=- auth=-\n"
	    "GET " CREDS_PATH " token=tok1 auth=-\n"
	    "PUT /latest/api/token token=- auth=-\n"
	    "GET " CREDS_PATH " token=tok2 auth=-\n"
	    "GET " CREDS_PATH "r token=tok2 auth=-\n");
	/* Only once per request: a second 401 is an answer. */
	assert_int_equal(credentials_get(c, E1_EPOCH, &sc, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "the credentials from instance role r "
	    "(IMDSv2) expired at 2026-01-01T01:00:00Z and cannot be refreshed: "
	    "the instance metadata service answered HTTP 401 for the role "
	    "name");
	assert_int_equal(count_lines(stub_requests()), 8);
	credentials_free(c);
	stub_stop();
}

/*
 * Refresh: new credentials five minutes before the end; when that fails,
 * the current ones until they expire (asking again no more than once a
 * minute), then an error.
 */
static void
test_refresh(void **state)
{
	static const struct stub_reply replies[] = {
		{ "PUT", "/latest/api/token", 200, "tok1", false },
		{ "GET", CREDS_PATH, 200, "r", false },
		{ "GET", CREDS_PATH "r", 200,
		    ROLE_DOC("Success", "ASIAFIRST", SECRET, E1), false },
		{ "GET", CREDS_PATH, 200, "r", false },
		{ "GET", CREDS_PATH "r", 200,
		    ROLE_DOC("Success", "ASIASECOND", SECRET2, E2), false },
		{ "GET", CREDS_PATH, 500, "", true },
	};
	struct credentials *c;
	struct sigv4_credentials sc;

	(void)state;
	stub_start(replies, sizeof(replies) / sizeof(replies[0]));
	use_stub_imds();
	c = resolve_ok(NULL);
	assert_keys(c, E1_EPOCH - 301, "ASIAFIRST", SECRET, TOKEN);
	assert_int_equal(count_lines(stub_requests()), 3);
	assert_keys(c, E1_EPOCH - 300, "ASIASECOND", SECRET2, TOKEN);
	assert_int_equal(credentials_expiration(c), E2_EPOCH);
	/* The session token is reused: no second PUT. */
	assert_string_equal(stub_requests() + strlen(stub_requests()) -
	    strlen("GET " CREDS_PATH " token=tok1 auth=-\n"
	    "GET " CREDS_PATH "r token=tok1 auth=-\n"),
	    "GET " CREDS_PATH " token=tok1 auth=-\n"
	    "GET " CREDS_PATH "r token=tok1 auth=-\n");
	assert_int_equal(count_lines(stub_requests()), 5);

	log_set_level(LOG_LEVEL_ERROR);     /* the expected warnings */
	assert_keys(c, E2_EPOCH - 100, "ASIASECOND", SECRET2, TOKEN);
	assert_int_equal(count_lines(stub_requests()), 6);
	assert_keys(c, E2_EPOCH - 41, "ASIASECOND", SECRET2, TOKEN);
	assert_int_equal(count_lines(stub_requests()), 6);
	assert_keys(c, E2_EPOCH - 40, "ASIASECOND", SECRET2, TOKEN);
	assert_int_equal(count_lines(stub_requests()), 7);
	log_set_level(LOG_LEVEL_INFO);
	assert_int_equal(credentials_get(c, E2_EPOCH, &sc, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "the credentials from instance role r "
	    "(IMDSv2) expired at 2026-01-01T06:00:00Z and cannot be refreshed: "
	    "the instance metadata service answered HTTP 500 for the role "
	    "name");
	assert_int_equal(count_lines(stub_requests()), 8);
	credentials_free(c);
	stub_stop();
}

static void
test_imds_settings(void **state)
{
	(void)state;
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ftp://127.0.0.1/", 1);
	resolve_fails(NULL, "AWS_EC2_METADATA_SERVICE_ENDPOINT must be an "
	    "http:// or https:// URL");
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv5", 1);
	resolve_fails(NULL, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be "
	    "IPv4 or IPv6");
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1/", 1);
	setenv("AWS_METADATA_SERVICE_TIMEOUT", "soon", 1);
	resolve_fails(NULL, "AWS_METADATA_SERVICE_TIMEOUT must be a number of "
	    "seconds");
	setenv("AWS_METADATA_SERVICE_TIMEOUT", "0", 1);
	resolve_fails(NULL, "AWS_METADATA_SERVICE_TIMEOUT must be");
	setenv("AWS_METADATA_SERVICE_TIMEOUT", "0.5", 1);
	setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "0", 1);
	resolve_fails(NULL, "AWS_METADATA_SERVICE_NUM_ATTEMPTS must be a whole "
	    "number from 1 to 10");
	setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "2", 1);
	resolve_fails(NULL, "the instance metadata service did not answer;");
	/* "TRUE" disables it too. */
	setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
	resolve_fails(NULL, "is disabled (AWS_EC2_METADATA_DISABLED)");
}

/*
 * The JSON reader.
 */

static void
test_json_good(void **state)
{
	static const struct {
		const char *doc;
		const char *a;          /* value of "a", NULL: absent */
		const char *b;
	} cases[] = {
		{ "{}", NULL, NULL },
		{ " \t\r\n{ } \n", NULL, NULL },
		{ "{\"a\":\"x\"}", "x", NULL },
		{ "{\"b\" : \"\", \"a\" : \"1\"}", "1", "" },
		{ "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", "\"\\/\b\f\n\r\t",
		    NULL },
		{ "{\"a\":\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"}",
		    "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", NULL },
		{ "{\"a\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
		    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", NULL },
		{ "{\"n\":0,\"m\":-1.5e+10,\"o\":12.25E-3,\"t\":true,"
		    "\"f\":false,\"z\":null,\"a\":\"v\"}", "v", NULL },
		{ "{\"c\":\"x\",\"c\":\"y\",\"a\":\"v\"}", "v", NULL },
		{ "{\"\\u0061\":\"escaped name\"}", "escaped name", NULL },
		{ "{\"aa\":\"no\",\"A\":\"no\"}", NULL, NULL },
		{ "{\"a very long member name that is longer than sixty-four "
		    "bytes in all, so it cannot match\":\"x\",\"b\":\"y\"}",
		    NULL, "y" },
	};
	char e[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct credentials_json_field f[] = { { "a", NULL },
		    { "b", NULL } };

		if (credentials_json_parse(cases[i].doc, strlen(cases[i].doc),
		    f, 2, e, sizeof(e)) != 0)
			fail_msg("%s: %s", cases[i].doc, e);
		if (cases[i].a == NULL)
			assert_null(f[0].value);
		else
			assert_string_equal(f[0].value, cases[i].a);
		if (cases[i].b == NULL)
			assert_null(f[1].value);
		else
			assert_string_equal(f[1].value, cases[i].b);
		credentials_json_free(f, 2);
		assert_null(f[0].value);
	}
}

static void
test_json_bad(void **state)
{
	static const struct {
		const char *doc;
		size_t len;             /* 0: strlen */
		const char *err;
	} cases[] = {
		{ "", 0, "JSON: expected an object at byte 0" },
		{ "[]", 0, "JSON: expected an object at byte 0" },
		{ "\"a\"", 0, "JSON: expected an object at byte 0" },
		{ "{", 0, "JSON: expected a member name at byte 1" },
		{ "{\"a\":\"x\",}", 0, "JSON: expected a member name at byte "
		    "9" },
		{ "{\"a\" \"x\"}", 0, "JSON: expected ':' at byte 5" },
		{ "{\"z\":}", 0, "JSON: unexpected character at byte 5" },
		{ "{\"a\":}", 0, "JSON: a is not a string" },
		{ "{\"a\":\"x\" \"b\":\"y\"}", 0, "JSON: expected ',' or '}' "
		    "at byte 9" },
		{ "{\"a\":\"x\"} x", 0, "JSON: text after the object at byte "
		    "10" },
		{ "{\"a\":\"x\"}{}", 0, "JSON: text after the object" },
		{ "{\"a\":{\"b\":\"c\"}}", 0, "JSON: nested object or array" },
		{ "{\"z\":[1]}", 0, "JSON: nested object or array" },
		{ "{\"a\":1}", 0, "JSON: a is not a string" },
		{ "{\"a\":null}", 0, "JSON: a is not a string" },
		{ "{\"a\":\"x\",\"a\":\"y\"}", 0, "JSON: a appears twice" },
		{ "{\"a\":\"x", 0, "JSON: unterminated string" },
		{ "{\"a\":\"x\\", 0, "JSON: unterminated string" },
		{ "{\"a\":\"x\ty\"}", 0, "JSON: control character in a "
		    "string" },
		{ "{\"a\":\"\\x\"}", 0, "JSON: invalid escape" },
		{ "{\"a\":\"\\u12\"}", 0, "JSON: bad \\u escape" },
		{ "{\"a\":\"\\u12", 0, "JSON: short \\u escape" },
		{ "{\"a\":\"\\u0000\"}", 0, "JSON: \\u0000 in a string" },
		{ "{\"a\":\"\\udc00\"}", 0, "JSON: unpaired surrogate" },
		{ "{\"a\":\"\\ud800\"}", 0, "JSON: unpaired surrogate" },
		{ "{\"a\":\"\\ud800\\u0041\"}", 0, "JSON: unpaired "
		    "surrogate" },
		{ "{\"a\":\"\xc0\x80\"}", 0, "JSON: invalid UTF-8" },
		{ "{\"a\":\"\xed\xa0\x80\"}", 0, "JSON: invalid UTF-8" },
		{ "{\"a\":\"\xf5\x80\x80\x80\"}", 0, "JSON: invalid UTF-8" },
		{ "{\"a\":\"\xe2\x82\"}", 0, "JSON: invalid UTF-8" },
		{ "{\"a\":\"\xff\"}", 0, "JSON: invalid UTF-8" },
		{ "{\"a\":\"x\"\0}", 10, "JSON: NUL byte in the document" },
		{ "{\"n\":01}", 0, "JSON: expected ',' or '}'" },
		{ "{\"n\":1.}", 0, "JSON: bad number" },
		{ "{\"n\":-}", 0, "JSON: unexpected character" },
		{ "{\"n\":1e}", 0, "JSON: bad number" },
		{ "{\"n\":+1}", 0, "JSON: unexpected character" },
		{ "{\"n\":truex}", 0, "JSON: expected ',' or '}' at byte 9" },
		{ "{\"n\":truth}", 0, "JSON: unexpected character at byte 5" },
		{ "{\"n\":NaN}", 0, "JSON: unexpected character" },
		{ "{'a':'x'}", 0, "JSON: expected a member name" },
	};
	char e[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct credentials_json_field f[] = { { "a", NULL },
		    { "b", NULL } };
		size_t len = cases[i].len ? cases[i].len :
		    strlen(cases[i].doc);

		e[0] = '\0';
		if (credentials_json_parse(cases[i].doc, len, f, 2, e,
		    sizeof(e)) != -1)
			fail_msg("accepted: %s", cases[i].doc);
		if (strstr(e, cases[i].err) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].doc, e,
			    cases[i].err);
		assert_null(f[0].value);
		assert_null(f[1].value);
	}
}

static void
test_json_bounds(void **state)
{
	struct credentials_json_field f[] = {
		{ "SecretAccessKey", NULL }, { "Token", NULL },
	};
	size_t n = CREDENTIALS_DOC_MAX + 1;
	char *big = malloc(n), e[256];
	static const char doc[] = "{\"Token\":\"" TOKEN "\","
	    "\"SecretAccessKey\":\"" SECRET "\", \"x\": \"\\q\"}";

	(void)state;
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	assert_int_equal(credentials_json_parse(big, n, f, 2, e, sizeof(e)),
	    -1);
	assert_string_equal(e, "JSON: document too large");
	assert_int_equal(credentials_json_parse(big, n - 1, f, 2, e,
	    sizeof(e)), -1);        /* no closing brace within the limit */
	big[n - 2] = '}';
	assert_int_equal(credentials_json_parse(big, n - 1, f, 2, e,
	    sizeof(e)), 0);
	free(big);
	assert_int_equal(credentials_json_parse(NULL, 0, f, 2, e, sizeof(e)),
	    -1);
	/* The secrets read before the error are freed, and not quoted. */
	assert_int_equal(credentials_json_parse(doc, sizeof(doc) - 1, f, 2, e,
	    sizeof(e)), -1);
	assert_null(f[0].value);
	assert_null(f[1].value);
	assert_string_equal(e, "JSON: invalid escape at byte 119");
	assert_no_secret(e);
	/* A message that does not fit is cut, not overrun. */
	assert_int_equal(credentials_json_parse("[", 1, f, 2, e, 8), -1);
	assert_string_equal(e, "JSON: e");
	assert_int_equal(credentials_json_parse("[", 1, f, 2, NULL, 0), -1);
}

static void
test_parse_time(void **state)
{
	static const struct {
		const char *s;
		int64_t t;              /* -1: refused */
	} cases[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2017-05-17T15:09:54Z", 1495033794 },
		{ "2026-01-01T00:00:00Z", 1767225600 },
		{ "2024-02-29T23:59:59Z", 1709251199 },
		{ "2000-03-01T00:00:00Z", 951868800 },
		{ "2026-01-01T00:00:00.123Z", 1767225600 },
		{ "2026-01-01T02:00:00+02:00", 1767225600 },
		{ "2025-12-31T19:30:00-0430", 1767225600 },
		{ "9999-12-31T23:59:59Z", 253402300799 },
		{ "2026-01-01T00:00:00", -1 },
		{ "2026-01-01 00:00:00Z", -1 },
		{ "2026-1-01T00:00:00Z", -1 },
		{ "2023-02-29T00:00:00Z", -1 },
		{ "2100-02-29T00:00:00Z", -1 },
		{ "2026-13-01T00:00:00Z", -1 },
		{ "2026-04-31T00:00:00Z", -1 },
		{ "2026-01-01T24:00:00Z", -1 },
		{ "2026-01-01T00:60:00Z", -1 },
		{ "2026-01-01T00:00:60Z", -1 },
		{ "2026-01-01T00:00:00.Z", -1 },
		{ "2026-01-01T00:00:00Zjunk", -1 },
		{ "2026-01-01T00:00:00+24:00", -1 },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "", -1 },
		{ "tomorrow", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t = -7;
		int rc = credentials_parse_time(cases[i].s, &t);

		if (cases[i].t < 0) {
			if (rc != -1)
				fail_msg("accepted: %s", cases[i].s);
		} else if (rc != 0 || t != cases[i].t) {
			fail_msg("%s: %d %lld", cases[i].s, rc, (long long)t);
		}
	}
	assert_int_equal(credentials_parse_time(NULL, &(int64_t){ 0 }), -1);
}

/*
 * Region, endpoint, CA bundle.
 */

static void
region_is(const char *cli, const char *policy, const char *profile,
    const char *want, const char *want_source)
{
	char region[CREDENTIALS_REGION_MAX], source[1024];

	if (credentials_region(cli, policy, profile, region, sizeof(region),
	    source, sizeof(source), err, sizeof(err)) != 0)
		fail_msg("credentials_region: %s", err);
	assert_string_equal(region, want);
	assert_string_equal(source, want_source);
}

static void
region_fails(const char *cli, const char *want)
{
	char region[CREDENTIALS_REGION_MAX], source[64];

	assert_int_equal(credentials_region(cli, NULL, NULL, region,
	    sizeof(region), source, sizeof(source), err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err, want);
}

static void
test_region_order(void **state)
{
	char conf[512];

	(void)state;
	write_home(".aws/config", "[default]\nregion = eu-west-1\n"
	    "[profile prod]\nregion = ap-southeast-2\n");
	snprintf(conf, sizeof(conf), "%s/.aws/config (profile default)", home);
	region_is(NULL, NULL, NULL, "eu-west-1", conf);
	snprintf(conf, sizeof(conf), "%s/.aws/config (profile prod)", home);
	region_is(NULL, NULL, "prod", "ap-southeast-2", conf);
	setenv("AWS_PROFILE", "prod", 1);
	region_is(NULL, NULL, NULL, "ap-southeast-2", conf);
	setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
	region_is(NULL, NULL, "prod", "us-west-2", "AWS_DEFAULT_REGION");
	setenv("AWS_REGION", "us-east-2", 1);
	region_is(NULL, NULL, "prod", "us-east-2", "AWS_REGION");
	region_is(NULL, "eu-central-1", "prod", "eu-central-1", "the policy");
	region_is("cn-north-1", "eu-central-1", "prod", "cn-north-1",
	    "--region");
	region_is("", "", "prod", "us-east-2", "AWS_REGION");
	/* A profile missing from the config file has no region. */
	setenv("AWS_PROFILE", "missing", 1);
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	region_fails(NULL, "no AWS region");
}

static void
test_region_invalid(void **state)
{
	char want[512];

	(void)state;
	region_fails("US-EAST-1", "--region: \"US-EAST-1\" is not a region "
	    "name (lowercase letters, digits and '-')");
	setenv("AWS_REGION", "us east\n1", 1);
	region_fails(NULL, "AWS_REGION: \"us east?1\" is not a region name");
	unsetenv("AWS_REGION");
	region_fails("-us", "is not a region name");
	region_fails("0123456789012345678901234567890123456789012345678901234567"
	    "89abcd", "is not a region name");
	write_home(".aws/config", "[default]\nregion = eu_west_1\n");
	snprintf(want, sizeof(want), "%s/.aws/config (profile default): "
	    "\"eu_west_1\" is not a region name", home);
	region_fails(NULL, want);
	write_home(".aws/config", "[default\n");
	snprintf(want, sizeof(want), "%s/.aws/config:1: section header "
	    "without ']'", home);
	region_fails(NULL, want);
}

static void
test_region_none(void **state)
{
	char region[CREDENTIALS_REGION_MAX], source[64];

	(void)state;
	region_fails(NULL, "no AWS region: use --region, set region in the "
	    "policy, set AWS_REGION, or add region to the profile in "
	    "~/.aws/config");
	assert_int_equal(strlen(err), strlen("no AWS region: use --region, "
	    "set region in the policy, set AWS_REGION, or add region to the "
	    "profile in ~/.aws/config"));
	setenv("AWS_CONFIG_FILE", "/etc/aws.conf", 1);
	assert_int_equal(credentials_region(NULL, NULL, "prod", region,
	    sizeof(region), source, sizeof(source), err, sizeof(err)), -1);
	assert_string_equal(err, "no AWS region: use --region, set region in "
	    "the policy, set AWS_REGION, or add region to profile prod in "
	    "/etc/aws.conf");
	/* The metadata service is asked last, unless disabled. */
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
	region_fails(NULL, "no AWS region");
}

static void
test_region_imds(void **state)
{
	static const struct stub_reply replies[] = {
		{ "PUT", "/latest/api/token", 200, "tok", false },
		{ "GET", "/latest/meta-data/placement/region", 200,
		    "ap-northeast-3", false },
		{ "PUT", "/latest/api/token", 200, "tok", false },
		{ "GET", "/latest/meta-data/placement/region", 200,
		    "Not A Region", false },
	};

	(void)state;
	stub_start(replies, sizeof(replies) / sizeof(replies[0]));
	use_stub_imds();
	region_is(NULL, NULL, NULL, "ap-northeast-3", "instance metadata");
	region_fails(NULL, "no AWS region");
	/* Earlier sources do not ask it. */
	setenv("AWS_DEFAULT_REGION", "sa-east-1", 1);
	region_is(NULL, NULL, NULL, "sa-east-1", "AWS_DEFAULT_REGION");
	assert_int_equal(count_lines(stub_requests()), 4);
	stub_stop();
}

static void
endpoint_is(const char *cli, const char *region, const char *profile,
    const char *want, const char *want_source)
{
	char url[2048], source[1024];

	if (credentials_endpoint(cli, region, profile, url, sizeof(url),
	    source, sizeof(source), err, sizeof(err)) != 0)
		fail_msg("credentials_endpoint: %s", err);
	assert_string_equal(url, want);
	assert_string_equal(source, want_source);
}

static void
endpoint_fails(const char *cli, const char *region, const char *want)
{
	char url[64], source[64];

	if (credentials_endpoint(cli, region, NULL, url, sizeof(url), source,
	    sizeof(source), err, sizeof(err)) != -1)
		fail_msg("accepted: %s %s", cli ? cli : "(null)",
		    region ? region : "(null)");
	if (strstr(err, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err, want);
}

static void
test_endpoint_order(void **state)
{
	char where[512];

	(void)state;
	endpoint_is(NULL, "eu-west-1", NULL,
	    "https://ec2.eu-west-1.amazonaws.com", "the region");
	write_home(".aws/config", "[default]\n"
	    "endpoint_url = http://profile.test\n"
	    "[profile dev]\n"
	    "endpoint_url = http://dev.test\n"
	    "services = local\n"
	    "[services local]\n"
	    "s3 =\n"
	    "  endpoint_url = http://s3.test\n"
	    "ec2 =\n"
	    "  endpoint_url = http://ec2.local.test:4566\n");
	snprintf(where, sizeof(where), "%s/.aws/config:2", home);
	endpoint_is(NULL, "eu-west-1", NULL, "http://profile.test", where);
	snprintf(where, sizeof(where), "%s/.aws/config:10", home);
	endpoint_is(NULL, "eu-west-1", "dev", "http://ec2.local.test:4566",
	    where);
	setenv("AWS_PROFILE", "dev", 1);
	endpoint_is(NULL, "eu-west-1", NULL, "http://ec2.local.test:4566",
	    where);
	setenv("AWS_ENDPOINT_URL", "https://all.test", 1);
	endpoint_is(NULL, "eu-west-1", NULL, "https://all.test",
	    "AWS_ENDPOINT_URL");
	setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:8000/", 1);
	endpoint_is(NULL, "eu-west-1", NULL, "http://127.0.0.1:8000/",
	    "AWS_ENDPOINT_URL_EC2");
	endpoint_is("https://cli.test", "eu-west-1", NULL, "https://cli.test",
	    "--endpoint-url");
	/* Configured ones are all ignored on request; --endpoint-url not. */
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	endpoint_is(NULL, "eu-west-1", NULL,
	    "https://ec2.eu-west-1.amazonaws.com", "the region");
	endpoint_is("https://cli.test", "eu-west-1", NULL, "https://cli.test",
	    "--endpoint-url");
}

static void
test_endpoint_partitions(void **state)
{
	(void)state;
	endpoint_is(NULL, "cn-north-1", NULL,
	    "https://ec2.cn-north-1.amazonaws.com.cn", "the region");
	endpoint_is(NULL, "cn-northwest-1", NULL,
	    "https://ec2.cn-northwest-1.amazonaws.com.cn", "the region");
	endpoint_is(NULL, "us-gov-west-1", NULL,
	    "https://ec2.us-gov-west-1.amazonaws.com", "the region");
	endpoint_is(NULL, "eu-central-1", NULL,
	    "https://ec2.eu-central-1.amazonaws.com", "the region");
}

static void
test_endpoint_invalid(void **state)
{
	(void)state;
	endpoint_fails("ec2.example.com", "eu-west-1", "--endpoint-url: the "
	    "endpoint is not an http:// or https:// URL");
	endpoint_fails("http://", "eu-west-1", "not an http://");
	endpoint_fails("https:///path", "eu-west-1", "not an http://");
	endpoint_fails("http://a b", "eu-west-1", "not an http://");
	setenv("AWS_ENDPOINT_URL_EC2", "localhost:4566", 1);
	endpoint_fails(NULL, "eu-west-1", "AWS_ENDPOINT_URL_EC2: the endpoint "
	    "is not");
	unsetenv("AWS_ENDPOINT_URL_EC2");
	endpoint_fails(NULL, NULL, "no valid region for the EC2 endpoint");
	endpoint_fails(NULL, "Bad Region", "no valid region");
	endpoint_fails("https://a-very-long-host-name.example.com/and/a/path/"
	    "longer/than/sixty-four/bytes",
	    "eu-west-1", "--endpoint-url: the endpoint URL is too long");
}

static void
test_ca_bundle(void **state)
{
	char path[256];

	(void)state;
	assert_int_equal(credentials_ca_bundle(NULL, path, sizeof(path), err,
	    sizeof(err)), 0);
	assert_string_equal(path, "");
	write_home(".aws/config", "[profile corp]\nca_bundle = "
	    "/etc/corp-ca.pem\n");
	assert_int_equal(credentials_ca_bundle("corp", path, sizeof(path), err,
	    sizeof(err)), 1);
	assert_string_equal(path, "/etc/corp-ca.pem");
	setenv("AWS_CA_BUNDLE", "/etc/env-ca.pem", 1);
	assert_int_equal(credentials_ca_bundle("corp", path, sizeof(path), err,
	    sizeof(err)), 1);
	assert_string_equal(path, "/etc/env-ca.pem");
	assert_int_equal(credentials_ca_bundle("corp", path, 8, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "AWS_CA_BUNDLE: path too long");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		T(test_env_keys),
		T(test_env_legacy_token),
		T(test_env_partial),
		T(test_env_bad_values),
		T(test_env_and_profiles),
		T(test_files_credentials),
		T(test_files_config_keys),
		T(test_files_credentials_first),
		T(test_files_profile_order),
		T(test_files_custom_paths),
		T(test_files_profile_missing),
		T(test_files_partial),
		T(test_files_other_source),
		T(test_files_parse_error),
		T(test_nothing_found),
		T(test_full_uri_allowed),
		T(test_container_settings),
		T(test_container_fetch),
		T(test_container_errors),
		T(test_imds_v2),
		T(test_imds_v1_fallback),
		T(test_imds_v1_disabled),
		T(test_imds_no_fallback),
		T(test_imds_failures),
		T(test_imds_token_renewed),
		T(test_refresh),
		T(test_imds_settings),
		T(test_json_good),
		T(test_json_bad),
		T(test_json_bounds),
		T(test_parse_time),
		T(test_region_order),
		T(test_region_invalid),
		T(test_region_none),
		T(test_region_imds),
		T(test_endpoint_order),
		T(test_endpoint_partitions),
		T(test_endpoint_invalid),
		T(test_ca_bundle),
	};

	/* A failed stub request must not kill the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("credentials", tests, NULL, NULL);
}

/*
 * creds_probe: resolves credentials, region and endpoint with
 * src/credentials as ec2backup would, and prints what it found (never a
 * secret), so that the integration tests can watch the chain and the
 * refresh of temporary credentials.
 *
 * usage: creds_probe [--profile P] [--region R] [--policy-region R]
 *                    [--endpoint-url URL] [--no-region] [--debug]
 *                    [--at EPOCH ...] [--at -]
 *
 * Prints
 *
 *   source: <where the credentials came from>
 *   access_key_id: <the key id>
 *   token: yes|no
 *   expiration: <ISO 8601 UTC>|none
 *   region: <region> (from <where>)
 *   endpoint: <URL> (from <where>)
 *
 * then, for each --at in order, "at EPOCH: KEYID" after asking for the
 * credentials to sign with at that time (refreshing them when due), or
 * "at EPOCH: error: REASON".  "--at -" reads the times from standard
 * input, one per line, and flushes each answer, so a test can change the
 * emulator between two of them.  Exit status: 0; 3 when there are no
 * credentials or region, or credentials_get failed; 1 for other errors;
 * 2 for usage errors.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "credentials.h"
#include "log.h"

#define MAX_AT 64

static void
usage(void)
{
	fprintf(stderr, "usage: creds_probe [--profile P] [--region R] "
	    "[--policy-region R] [--endpoint-url URL] [--no-region] "
	    "[--debug] [--at EPOCH ...] [--at -]\n");
	exit(2);
}

static bool
parse_epoch(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || (*end != '\0' && *end != '\n'))
		return false;
	*out = (int64_t)v;
	return true;
}

static void
print_time(const char *label, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	if (t < 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		printf("%s: none\n", label);
		return;
	}
	printf("%s: %s\n", label, buf);
}

/* One credentials_get at time t; returns 0 or -1. */
static int
at(struct credentials *c, int64_t t)
{
	struct sigv4_credentials sc;
	char err[1024];

	if (credentials_get(c, t, &sc, err, sizeof(err)) != 0) {
		printf("at %lld: error: %s\n", (long long)t, err);
		fflush(stdout);
		return -1;
	}
	printf("at %lld: %s\n", (long long)t, sc.access_key_id);
	fflush(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *profile = NULL, *cli_region = NULL, *policy_region = NULL;
	const char *endpoint_url = NULL;
	int64_t times[MAX_AT];
	size_t ntimes = 0;
	bool stdin_times = false, want_region = true;
	struct credentials *c = NULL;
	struct sigv4_credentials sc;
	char err[1024], region[CREDENTIALS_REGION_MAX], source[4400];
	char endpoint[2048];
	int status = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--debug") == 0) {
			log_set_level(LOG_LEVEL_DEBUG);
		} else if (strcmp(a, "--no-region") == 0) {
			want_region = false;
		} else if (i + 1 >= argc) {
			usage();
		} else if (strcmp(a, "--profile") == 0) {
			profile = argv[++i];
		} else if (strcmp(a, "--region") == 0) {
			cli_region = argv[++i];
		} else if (strcmp(a, "--policy-region") == 0) {
			policy_region = argv[++i];
		} else if (strcmp(a, "--endpoint-url") == 0) {
			endpoint_url = argv[++i];
		} else if (strcmp(a, "--at") == 0) {
			i++;
			if (strcmp(argv[i], "-") == 0)
				stdin_times = true;
			else if (ntimes >= MAX_AT ||
			    !parse_epoch(argv[i], &times[ntimes++]))
				usage();
		} else {
			usage();
		}
	}

	if (credentials_resolve(profile, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "creds_probe: %s\n", err);
		return 3;
	}
	/* The key id as resolved, before any refresh: time 0 never asks. */
	printf("source: %s\n", credentials_source(c));
	if (credentials_get(c, 0, &sc, err, sizeof(err)) != 0) {
		fprintf(stderr, "creds_probe: %s\n", err);
		status = 3;
		goto done;
	}
	printf("access_key_id: %s\n", sc.access_key_id);
	printf("token: %s\n", sc.session_token != NULL &&
	    sc.session_token[0] != '\0' ? "yes" : "no");
	print_time("expiration", credentials_expiration(c));
	if (want_region) {
		if (credentials_region(cli_region, policy_region, profile,
		    region, sizeof(region), source, sizeof(source), err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "creds_probe: %s\n", err);
			status = 3;
			goto done;
		}
		printf("region: %s (from %s)\n", region, source);
		if (credentials_endpoint(endpoint_url, region, profile,
		    endpoint, sizeof(endpoint), source, sizeof(source), err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "creds_probe: %s\n", err);
			status = 1;
			goto done;
		}
		printf("endpoint: %s (from %s)\n", endpoint, source);
	}
	fflush(stdout);
	for (size_t i = 0; i < ntimes; i++)
		if (at(c, times[i]) != 0)
			status = 3;
	if (stdin_times) {
		char line[64];
		int64_t t;

		while (fgets(line, sizeof(line), stdin) != NULL) {
			if (!parse_epoch(line, &t)) {
				fprintf(stderr, "creds_probe: bad time on "
				    "standard input\n");
				status = 2;
				break;
			}
			if (at(c, t) != 0)
				status = 3;
		}
	}
done:
	credentials_free(c);
	if (fflush(stdout) != 0 || ferror(stdout))
		return 1;
	return status;
}

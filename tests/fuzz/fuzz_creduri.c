/*
 * libFuzzer target for credentials_full_uri_allowed (src/credentials.c),
 * which decides whether AWS_CONTAINER_CREDENTIALS_FULL_URI may be asked
 * for credentials.
 *
 * The input, up to its first NUL, is the URL.  When the check lets a URL
 * through, it must be an http(s) URL in visible ASCII without user
 * information, and libcurl, which makes the request, must read it the
 * same way: same scheme, no user, and for plain http a host that
 * credentials.h allows (loopback, localhost, 169.254.170.2,
 * 169.254.170.23, fd00:ec2::23).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "credentials.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static bool
allowed_http_host(const char *host)
{
	unsigned char a[16], b[16];
	char h[256];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127 ||
		    (inet_pton(AF_INET, "169.254.170.2", b) == 1 &&
		    memcmp(a, b, 4) == 0) ||
		    (inet_pton(AF_INET, "169.254.170.23", b) == 1 &&
		    memcmp(a, b, 4) == 0);
	if (n < 2 || n >= sizeof(h) || host[0] != '[' || host[n - 1] != ']')
		return false;
	memcpy(h, host + 1, n - 2);
	h[n - 2] = '\0';
	if (inet_pton(AF_INET6, h, a) != 1)
		return false;
	return (inet_pton(AF_INET6, "::1", b) == 1 && memcmp(a, b, 16) == 0) ||
	    (inet_pton(AF_INET6, "fd00:ec2::23", b) == 1 &&
	    memcmp(a, b, 16) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url, *scheme = NULL, *host = NULL, *user = NULL;
	const char *rest;
	bool https;
	CURLU *u;

	if ((url = malloc(size + 1)) == NULL)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	if (!credentials_full_uri_allowed(url)) {
		free(url);
		return 0;
	}

	https = strncasecmp(url, "https://", 8) == 0;
	check(https || strncasecmp(url, "http://", 7) == 0);
	rest = url + (https ? 8 : 7);
	check(*rest != '\0');
	for (const char *p = url; *p != '\0'; p++)
		check(*p > 0x20 && *p < 0x7f);
	check(memchr(rest, '@', strcspn(rest, "/?#")) == NULL);

	u = curl_url();
	check(u != NULL);
	/* The flags libcurl's easy interface parses CURLOPT_URL with. */
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_GUESS_SCHEME |
	    CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
		check(curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ==
		    CURLUE_OK);
		check(strcmp(scheme, https ? "https" : "http") == 0);
		check(curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_OK ||
		    user == NULL || user[0] == '\0');
		if (!https) {
			check(curl_url_get(u, CURLUPART_HOST, &host, 0) ==
			    CURLUE_OK);
			check(allowed_http_host(host));
		}
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
	free(url);
	return 0;
}

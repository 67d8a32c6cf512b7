/*
 * The transport: one libcurl multi handle, a list of transfers in flight,
 * and a loop that alternates between asking the caller for work (pump) and
 * letting libcurl move bytes.
 *
 * Connections live in the multi handle's cache, so a fresh easy handle per
 * request still reuses them.  TLS verification is always on: there is no
 * option to turn it off, only to add a CA bundle.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_REQUEST_TIMEOUT_MS 60000
#define DEFAULT_FIRST_BYTE_MS 30000
#define DEFAULT_IN_FLIGHT 8
#define DEFAULT_MAX_RESPONSE (64u * 1024 * 1024)
/* A body that trickles slower than this for this long is given up on. */
#define LOW_SPEED_BYTES 64
#define LOW_SPEED_SECONDS 30

struct xfer {
	struct http *h;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	int (*on_data)(void *, const char *, size_t);
	void (*on_done)(void *, const struct http_response *);
	void *arg;
	size_t bytes;
	int64_t server_date;
	int64_t started;           /* monotonic ms */
	bool answered;             /* a byte of the answer has come */
	const char *abort_reason;
	struct xfer *prev, *next;
	char errbuf[CURL_ERROR_SIZE];
};

struct http {
	CURLM *multi;
	char *ca_bundle;
	char *user_agent;
	long connect_timeout_ms;
	long request_timeout_ms;
	long first_byte_ms;
	int max_in_flight;
	size_t max_response;
	int in_flight;
	struct xfer *xfers;
};

int64_t
http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
curl_ready(char *err, size_t errlen)
{
	static bool done;

	if (!done && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return false;
	}
	done = true;
	return true;
}

struct http *
http_new(const struct http_config *cfg, char *err, size_t errlen)
{
	struct http *h;

	if (!curl_ready(err, errlen))
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto oom;
	h->connect_timeout_ms = cfg->connect_timeout_ms > 0 ?
	    cfg->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	h->request_timeout_ms = cfg->request_timeout_ms > 0 ?
	    cfg->request_timeout_ms : DEFAULT_REQUEST_TIMEOUT_MS;
	h->first_byte_ms = cfg->first_byte_timeout_ms > 0 ?
	    cfg->first_byte_timeout_ms : DEFAULT_FIRST_BYTE_MS;
	h->max_in_flight = cfg->max_in_flight > 0 ? cfg->max_in_flight :
	    DEFAULT_IN_FLIGHT;
	h->max_response = cfg->max_response > 0 ? cfg->max_response :
	    DEFAULT_MAX_RESPONSE;
	h->user_agent = strdup(cfg->user_agent ? cfg->user_agent :
	    "ec2backup");
	if (h->user_agent == NULL)
		goto oom;
	if (cfg->ca_bundle != NULL &&
	    (h->ca_bundle = strdup(cfg->ca_bundle)) == NULL)
		goto oom;
	if ((h->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "cannot create a libcurl multi handle");
		http_free(h);
		return NULL;
	}
	/* One connection per request in flight, kept for the next one. */
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
	    (long)h->max_in_flight);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)h->max_in_flight);
	return h;
oom:
	snprintf(err, errlen, "out of memory");
	http_free(h);
	return NULL;
}

/* Header lists hold the session token: wiped before they are freed. */
static void
headers_free(struct curl_slist *list)
{
	for (struct curl_slist *l = list; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

static void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	headers_free(x->headers);
	free(x->body);
	free(x);
}

static void
unlink_xfer(struct http *h, struct xfer *x)
{
	curl_multi_remove_handle(h->multi, x->easy);
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		h->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	h->in_flight--;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	while (h->xfers != NULL) {
		struct xfer *x = h->xfers;
		unlink_xfer(h, x);
		xfer_free(x);
	}
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	free(h->ca_bundle);
	free(h->user_agent);
	free(h);
}

int
http_free_slots(const struct http *h)
{
	return h->max_in_flight - h->in_flight;
}

static size_t
write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (x->bytes + len > x->h->max_response) {
		x->abort_reason = "response too large";
		return 0;
	}
	x->bytes += len;
	if (x->on_data != NULL && x->on_data(x->arg, data, len) != 0) {
		x->abort_reason = "response rejected";
		return 0;
	}
	return len;
}

static size_t
header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	char line[128];

	x->answered = true;
	/* Only Date is read: to tell a clock-skew problem from a bad key. */
	if (len > 5 && len < sizeof(line) && strncasecmp(data, "date:", 5) == 0) {
		memcpy(line, data + 5, len - 5);
		line[len - 5] = '\0';
		time_t t = curl_getdate(line, NULL);
		x->server_date = t > 0 ? (int64_t)t : -1;
	}
	return len;
}

/* A server that takes the request and says nothing is given up on after
 * first_byte_ms, long before the whole attempt's timeout. */
static int
progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (!x->answered && http_now_ms() - x->started > x->h->first_byte_ms) {
		x->abort_reason = "no answer came within the first-byte "
		    "timeout";
		return 1;
	}
	return 0;
}

/* Options every request shares, for the async and the blocking path. */
static void
common_options(CURL *e, const char *ua, const char *ca, long connect_ms,
    long timeout_ms, char *errbuf)
{
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BYTES);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_SECONDS);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
}

/* Request headers, plus "Expect:" so large POSTs are sent at once. */
static struct curl_slist *
header_list(const char *const *headers, size_t n)
{
	struct curl_slist *list = NULL, *grown;

	for (size_t i = 0; i <= n; i++) {
		grown = curl_slist_append(list, i < n ? headers[i] : "Expect:");
		if (grown == NULL) {
			headers_free(list);
			return NULL;
		}
		list = grown;
	}
	return list;
}

static void
set_method(CURL *e, const char *method, const char *body, size_t len)
{
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		return;
	}
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body != NULL ? body : "");
	if (strcmp(method, "POST") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
}

int
http_submit(struct http *h, const struct http_request *req)
{
	struct xfer *x;

	if (h->in_flight >= h->max_in_flight)
		return -1;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->h = h;
	x->on_data = req->on_data;
	x->on_done = req->on_done;
	x->arg = req->arg;
	x->server_date = -1;
	if (req->body_len > 0) {
		if ((x->body = malloc(req->body_len)) == NULL)
			goto fail;
		memcpy(x->body, req->body, req->body_len);
	}
	if ((x->headers = header_list(req->headers, req->nheaders)) == NULL)
		goto fail;
	if ((x->easy = curl_easy_init()) == NULL)
		goto fail;
	common_options(x->easy, h->user_agent, h->ca_bundle,
	    h->connect_timeout_ms, req->timeout_ms > 0 ? req->timeout_ms :
	    h->request_timeout_ms, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_URL, req->url);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	set_method(x->easy, req->method, x->body, req->body_len);
	if (req->once)
		curl_easy_setopt(x->easy, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(x->easy, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(x->easy, CURLOPT_NOPROGRESS, 0L);
	x->started = http_now_ms();
	if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK)
		goto fail;
	x->next = h->xfers;
	if (h->xfers != NULL)
		h->xfers->prev = x;
	h->xfers = x;
	h->in_flight++;
	return 0;
fail:
	xfer_free(x);
	return -1;
}

/* Has the request perhaps reached the server? Only "no" is certain. */
static bool
maybe_sent(CURL *e, CURLcode rc)
{
	long request_size = 0;

	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return false;
	default:
		break;
	}
	curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &request_size);
	return request_size > 0;
}

static void
finish(struct http *h, struct xfer *x, CURLcode rc, const char *abort_reason)
{
	struct http_response resp = { 0 };
	long status = 0;

	unlink_xfer(h, x);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	resp.status = (int)status;
	resp.transport_error = (int)rc;
	resp.server_date = x->server_date;
	resp.bytes = x->bytes;
	if (abort_reason == NULL)
		abort_reason = x->abort_reason;
	resp.aborted = abort_reason != NULL;
	if (abort_reason != NULL)
		resp.error = abort_reason;
	else if (rc != CURLE_OK)
		resp.error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
	else
		resp.error = "";
	resp.maybe_sent = rc == CURLE_OK || maybe_sent(x->easy, rc);
	if (x->on_done != NULL)
		x->on_done(x->arg, &resp);
	xfer_free(x);
}

static int
drain_messages(struct http *h)
{
	CURLMsg *m;
	int left, n = 0;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		struct xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		/* finish() may submit new requests from on_done. */
		finish(h, x, m->data.result, NULL);
		n++;
	}
	return n;
}

int
http_run(struct http *h, long (*pump)(void *), void *arg, int64_t deadline_ms)
{
	for (;;) {
		long wake = pump != NULL ? pump(arg) : -1;
		int running, numfds;
		long wait_ms;

		if (h->in_flight == 0 && wake < 0)
			return 0;
		if (deadline_ms > 0 && http_now_ms() >= deadline_ms) {
			while (h->xfers != NULL)
				finish(h, h->xfers, CURLE_OPERATION_TIMEDOUT,
				    "the run's time limit (--timeout) passed");
			return -1;
		}
		curl_multi_perform(h->multi, &running);
		if (drain_messages(h) > 0)
			continue;
		wait_ms = wake >= 0 && wake < 1000 ? wake : 1000;
		if (deadline_ms > 0) {
			int64_t left = deadline_ms - http_now_ms();
			if (left < wait_ms)
				wait_ms = left > 0 ? (long)left : 0;
		}
		if (wait_ms > 0)
			curl_multi_poll(h->multi, NULL, 0, (int)wait_ms, &numfds);
	}
}

struct fetch_buf {
	char *data;
	size_t len, max;
	bool too_big;
};

static size_t
fetch_write(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_buf *b = arg;
	size_t len = size * n;
	char *grown;

	if (b->len + len > b->max) {
		b->too_big = true;
		return 0;
	}
	if ((grown = malloc(b->len + len + 1)) == NULL)
		return 0;
	/* Copy rather than realloc, so no stray copy of a secret is left
	 * behind in freed memory; these documents are small. */
	if (b->data != NULL) {
		memcpy(grown, b->data, b->len);
		explicit_bzero(b->data, b->len);
		free(b->data);
	}
	memcpy(grown + b->len, data, len);
	b->len += len;
	grown[b->len] = '\0';
	b->data = grown;
	return len;
}

int
http_fetch(const char *method, const char *url, const char *const *headers,
    size_t nheaders, long timeout_ms, size_t max, const char *ca_bundle,
    char **body, int *status, char *err, size_t errlen)
{
	struct fetch_buf b = { NULL, 0, max, false };
	struct curl_slist *list = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *e = NULL;
	CURLcode rc;
	long code = 0;
	int ret = -1;

	*body = NULL;
	*status = 0;
	if (!curl_ready(err, errlen))
		return -1;
	if ((e = curl_easy_init()) == NULL ||
	    (list = header_list(headers, nheaders)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	common_options(e, "ec2backup", ca_bundle, timeout_ms, timeout_ms,
	    errbuf);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
	set_method(e, method, "", 0);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(e);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", b.too_big ? "response too large" :
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto fail;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	*status = (int)code;
	if (b.data == NULL && (b.data = calloc(1, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	*body = b.data;
	b.data = NULL;
	ret = 0;
fail:
	if (b.data != NULL) {
		explicit_bzero(b.data, b.len);
		free(b.data);
	}
	headers_free(list);
	if (e != NULL)
		curl_easy_cleanup(e);
	return ret;
}

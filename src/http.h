/*
 * HTTP transport on one libcurl multi handle.
 *
 * The transport moves bytes and knows nothing of EC2: it runs up to
 * max_in_flight requests at once over reused connections, streams each
 * response body to the caller as it arrives, and enforces timeouts, TLS
 * verification and a cap on response size.  Deciding what to send next —
 * rate limits, retries, re-signing — belongs to the caller, which the run
 * loop asks through a "pump" callback whenever a slot is free or the time
 * the caller asked to be woken has come.
 */
#ifndef EC2BACKUP_HTTP_H
#define EC2BACKUP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http;

struct http_config {
	const char *ca_bundle;       /* extra PEM bundle, or NULL */
	long connect_timeout_ms;     /* 0: 5000 */
	long request_timeout_ms;     /* 0: 60000; per attempt */
	long first_byte_timeout_ms;  /* 0: 30000; from the start of an
					attempt to the answer's first byte */
	int max_in_flight;           /* 0: 8 */
	size_t max_response;         /* 0: 64 MiB; larger bodies fail */
	const char *user_agent;      /* NULL: "ec2backup" */
};

struct http_response {
	int status;                  /* HTTP status, 0 when none came */
	int transport_error;         /* 0, or a libcurl error code */
	const char *error;           /* words for transport_error, or "" */
	bool maybe_sent;             /* the request may have reached the
					server (matters for non-idempotent
					calls) */
	bool aborted;                /* the caller's on_data refused it, or
					the run's deadline passed */
	int64_t server_date;         /* the Date header (epoch s), or -1 */
	size_t bytes;                /* body bytes received */
};

struct http_request {
	const char *method;          /* "GET", "POST" or "PUT" */
	const char *url;
	const char *const *headers;  /* "Name: value" lines, copied */
	size_t nheaders;
	const char *body;            /* copied; may be NULL */
	size_t body_len;
	long timeout_ms;             /* 0: the configured default */
	/* Not idempotent: sent on a new connection, because libcurl quietly
	 * sends a request again when a reused connection dies before the
	 * answer, and a second CreateSnapshot is a second snapshot. */
	bool once;

	/* Called with each piece of the body; return -1 to abort. */
	int (*on_data)(void *arg, const char *data, size_t len);
	/* Called exactly once when the request has ended, however. */
	void (*on_done)(void *arg, const struct http_response *resp);
	void *arg;
};

/*
 * Creates a transport.  Returns NULL and writes the reason to err when
 * libcurl cannot be set up.  The caller frees it with http_free, which
 * ends requests still in flight without calling their on_done.
 */
struct http *http_new(const struct http_config *cfg, char *err,
    size_t errlen);

void http_free(struct http *h);

/* How many more requests http_submit would accept now. */
int http_free_slots(const struct http *h);

/*
 * Starts a request; everything in req is copied.  Returns 0, or -1 when
 * no slot is free or memory ran out (on_done is then not called).
 */
int http_submit(struct http *h, const struct http_request *req);

/*
 * Runs until nothing is in flight and pump has nothing waiting.  pump is
 * called before waiting; it may submit requests and returns how many
 * milliseconds from now it wants to be called again even if nothing
 * happens, or -1 when it has nothing waiting.  deadline_ms is a monotonic
 * time (http_now_ms) after which every request in flight is aborted and
 * the run ends; 0 means none.  Returns 0, or -1 when the deadline passed.
 */
int http_run(struct http *h, long (*pump)(void *arg), void *arg,
    int64_t deadline_ms);

/* Monotonic milliseconds, for deadlines and backoff. */
int64_t http_now_ms(void);

/*
 * A single blocking request for small documents (instance metadata,
 * container credentials), trusting ca_bundle (or NULL) besides the
 * system's CAs.  Stores up to max bytes of body in *body (NUL
 * terminated; the caller frees it, wiping it first when it may hold a
 * secret) and the status in *status.  Returns 0, or -1 with a reason in
 * err on a transport error.
 */
int http_fetch(const char *method, const char *url,
    const char *const *headers, size_t nheaders, long timeout_ms,
    size_t max, const char *ca_bundle, char **body, int *status, char *err,
    size_t errlen);

#endif

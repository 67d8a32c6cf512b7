/*
 * EC2 calls: a queue of calls, a pump that sends them, and the rules for
 * what an answer means.
 *
 * A call is one EC2 request and its retries.  The pump (run by the HTTP
 * loop whenever a slot is free) sends the queued calls whose backoff has
 * passed and whose throttling bucket has a token.  When an attempt ends,
 * classify() decides from the error code in the body whether it succeeded,
 * should be retried (after a jittered, capped exponential backoff, within
 * a retry budget), is an answer about this one item, or is fatal for the
 * run.  Pagination and batching are built on top: a call's done callback
 * may queue the next page.
 *
 * CreateSnapshot is not idempotent: when its answer is lost after the
 * request may have reached EC2, we look for the snapshot by its tags
 * before trying again, so a retry never makes a second snapshot.
 */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ec2.h"
#include "ec2xml.h"
#include "http.h"
#include "log.h"
#include "query.h"
#include "sigv4.h"

#ifndef EC2BACKUP_VERSION
#define EC2BACKUP_VERSION "unknown"
#endif

#define DEFAULT_ATTEMPTS 5
#define DEFAULT_LOOKUP_MS 30000
#define THROTTLE_ATTEMPTS 10
#define BACKOFF_BASE_MS 100
#define THROTTLE_BASE_MS 1000
#define BACKOFF_CAP_MS 20000
/* EC2 refuses a second CreateSnapshot of a volume within 15 s. */
#define PER_VOLUME_WAIT_MS 15000
#define RETRY_QUOTA 500
#define RETRY_COST 5
#define RETRY_COST_TIMEOUT 10
#define SKEW_LIMIT_S 300
#define VOLUMES_PAGE "500"
#define SNAPSHOTS_PAGE "1000"
#define INSTANCES_PAGE "1000"

static const char *const action_names[EC2_NACTIONS] = {
	[EC2_DESCRIBE_VOLUMES] = "DescribeVolumes",
	[EC2_DESCRIBE_SNAPSHOTS] = "DescribeSnapshots",
	[EC2_DESCRIBE_IMAGES] = "DescribeImages",
	[EC2_CREATE_SNAPSHOT] = "CreateSnapshot",
	[EC2_DELETE_SNAPSHOT] = "DeleteSnapshot",
	[EC2_DESCRIBE_INSTANCES] = "DescribeInstances",
	[EC2_CREATE_SNAPSHOTS] = "CreateSnapshots",
};

const char *
ec2_action_name(enum ec2_action action)
{
	return (unsigned)action < EC2_NACTIONS ? action_names[action] : "?";
}

static const enum ec2xml_kind action_kinds[EC2_NACTIONS] = {
	[EC2_DESCRIBE_VOLUMES] = EC2XML_DESCRIBE_VOLUMES,
	[EC2_DESCRIBE_SNAPSHOTS] = EC2XML_DESCRIBE_SNAPSHOTS,
	[EC2_DESCRIBE_IMAGES] = EC2XML_DESCRIBE_IMAGES,
	[EC2_CREATE_SNAPSHOT] = EC2XML_CREATE_SNAPSHOT,
	[EC2_DELETE_SNAPSHOT] = EC2XML_DELETE_SNAPSHOT,
	[EC2_DESCRIBE_INSTANCES] = EC2XML_DESCRIBE_INSTANCES,
	[EC2_CREATE_SNAPSHOTS] = EC2XML_CREATE_SNAPSHOTS,
};

/* EC2's request token buckets (see docs: "Request throttling"):
 * CreateSnapshot, CreateSnapshots and DeleteSnapshot each have their
 * own. */
enum bucket_id { B_DESCRIBE, B_CREATE, B_DELETE, B_CREATE_SETS, NBUCKETS };

static const struct {
	double capacity, rate;
} bucket_defaults[NBUCKETS] = {
	[B_DESCRIBE] = { 100, 20 },
	[B_CREATE] = { 100, 5 },
	[B_DELETE] = { 100, 5 },
	[B_CREATE_SETS] = { 100, 5 },
};

static const enum bucket_id action_buckets[EC2_NACTIONS] = {
	[EC2_DESCRIBE_VOLUMES] = B_DESCRIBE,
	[EC2_DESCRIBE_SNAPSHOTS] = B_DESCRIBE,
	[EC2_DESCRIBE_IMAGES] = B_DESCRIBE,
	[EC2_CREATE_SNAPSHOT] = B_CREATE,
	[EC2_DELETE_SNAPSHOT] = B_DELETE,
	[EC2_DESCRIBE_INSTANCES] = B_DESCRIBE,
	[EC2_CREATE_SNAPSHOTS] = B_CREATE_SETS,
};

/*
 * EC2 starts its bucket when our first request arrives, which may be a
 * little after we start ours; a margin of 2% absorbs that head start.
 */
#define BUCKET_MARGIN 0.98

struct bucket {
	double tokens, capacity, rate; /* rate per millisecond */
	int64_t last_ms;
};

enum outcome {
	OUT_OK,
	OUT_ERROR,     /* EC2 answered with an error about this call */
	OUT_FAILED,    /* no usable answer (transport, parse, budget) */
	OUT_AMBIGUOUS  /* a create may or may not have happened */
};

struct call {
	struct ec2 *ec2;
	enum ec2_action action;
	char *form;
	size_t form_len;
	int attempts, throttles;
	int64_t not_before;
	int64_t first_sent;      /* wall clock (epoch s) of attempt 1 */
	bool idempotent;
	bool in_flight;
	struct ec2xml *parser;
	struct ec2xml_callbacks cbs;
	/* Before each attempt, and when an attempt that may have delivered
	 * items failed, so the owner can drop what it staged. */
	void (*begin)(void *arg);
	void (*discard)(void *arg);
	void (*done)(struct call *c, enum outcome out);
	void *arg;
	struct ec2_error error;
	struct call *next;
};

struct ec2 {
	struct http *http;
	char *endpoint;
	char *host;            /* Host header value: name[:port] */
	char *path;
	char *region;
	char *source;
	ec2_credentials_fn credentials;
	void *credentials_arg;
	int64_t deadline_ms;
	int64_t lookup_ms;
	int max_attempts;
	int quota;
	struct bucket buckets[NBUCKETS];
	struct call *queue, *queue_tail;
	size_t pending;        /* calls queued or in flight */
	uint64_t rng;
	bool answered;         /* some attempt got an HTTP answer */
	bool dated;            /* skew holds a measurement */
	int64_t skew;          /* local clock minus EC2's Date, seconds */
	char fatal[600];
	struct ec2_stats stats;
	void (*progress)(void *, enum ec2_action, size_t);
	void *progress_arg;
	void (*on_answer)(void *, size_t);
	void *on_answer_arg;
	/* The arrays of the ec2_apply running, for progress indexes. */
	struct ec2_create *creates;
	struct ec2_delete *deletes;
};

static void
error_set(struct ec2_error *e, const char *code, const char *message,
    const char *request_id)
{
	/* Cut to fit: these go into one log line. */
	snprintf(e->code, sizeof(e->code), "%.*s", (int)sizeof(e->code) - 1,
	    code);
	snprintf(e->message, sizeof(e->message), "%.*s",
	    (int)sizeof(e->message) - 1, message);
	snprintf(e->request_id, sizeof(e->request_id), "%.*s",
	    (int)sizeof(e->request_id) - 1, request_id != NULL ? request_id :
	    "");
}

const char *
ec2_error_text(const struct ec2_error *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s%s", e->code, *e->message ? ": " : "",
	    e->message, *e->request_id ? " (request " : "", e->request_id,
	    *e->request_id ? ")" : "");
	return buf;
}

/* xorshift64*: jitter only, nothing secret depends on it. */
static double
rand01(struct ec2 *ec2)
{
	ec2->rng ^= ec2->rng >> 12;
	ec2->rng ^= ec2->rng << 25;
	ec2->rng ^= ec2->rng >> 27;
	return (double)((ec2->rng * 2685821657736338717ULL) >> 11) /
	    (double)(1ULL << 53);
}

static int
parse_endpoint(struct ec2 *ec2, const char *url, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	int rc = -1;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen, "endpoint '%s' is not a URL", url);
		goto fail;
	}
	if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
		snprintf(err, errlen, "endpoint '%s': only https and http "
		    "URLs are supported", url);
		goto fail;
	}
	/* curl sends the port in Host only when it is not the default. */
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		path = NULL;
	ec2->path = strdup(path != NULL && *path ? path : "/");
	ec2->host = malloc(strlen(host) + (port ? strlen(port) : 0) + 2);
	if (ec2->path == NULL || ec2->host == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	sprintf(ec2->host, "%s%s%s", host, port ? ":" : "", port ? port : "");
	rc = 0;
fail:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

struct ec2 *
ec2_new(const struct ec2_config *cfg, char *err, size_t errlen)
{
	struct http_config hc = { 0 };
	struct ec2 *ec2 = calloc(1, sizeof(*ec2));
	double scale = cfg->rate_scale > 0 ? cfg->rate_scale : 1;
	int64_t now = http_now_ms();

	if (ec2 == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ec2->credentials = cfg->credentials;
	ec2->credentials_arg = cfg->credentials_arg;
	ec2->deadline_ms = cfg->deadline_ms;
	ec2->lookup_ms = cfg->lookup_ms > 0 ? cfg->lookup_ms :
	    DEFAULT_LOOKUP_MS;
	ec2->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts :
	    DEFAULT_ATTEMPTS;
	ec2->quota = RETRY_QUOTA;
	ec2->rng = (uint64_t)now * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
	if (ec2->rng == 0)
		ec2->rng = 1;
	for (int b = 0; b < NBUCKETS; b++) {
		ec2->buckets[b].capacity = bucket_defaults[b].capacity *
		    BUCKET_MARGIN;
		ec2->buckets[b].tokens = ec2->buckets[b].capacity;
		ec2->buckets[b].rate = bucket_defaults[b].rate * scale / 1000.0;
		ec2->buckets[b].last_ms = now;
	}
	ec2->endpoint = strdup(cfg->endpoint);
	ec2->region = strdup(cfg->region);
	ec2->source = strdup(cfg->credentials_source ?
	    cfg->credentials_source : "the credentials");
	if (ec2->endpoint == NULL || ec2->region == NULL ||
	    ec2->source == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (parse_endpoint(ec2, cfg->endpoint, err, errlen) != 0)
		goto fail;
	hc.ca_bundle = cfg->ca_bundle;
	hc.max_in_flight = cfg->jobs;
	hc.request_timeout_ms = cfg->timeout_ms;
	hc.user_agent = "ec2backup/" EC2BACKUP_VERSION;
	if ((ec2->http = http_new(&hc, err, errlen)) == NULL)
		goto fail;
	return ec2;
fail:
	ec2_free(ec2);
	return NULL;
}

static void
call_free(struct call *c)
{
	if (c == NULL)
		return;
	free(c->form);
	ec2xml_free(c->parser);
	free(c);
}

void
ec2_free(struct ec2 *ec2)
{
	if (ec2 == NULL)
		return;
	http_free(ec2->http);
	while (ec2->queue != NULL) {
		struct call *next = ec2->queue->next;
		call_free(ec2->queue);
		ec2->queue = next;
	}
	free(ec2->endpoint);
	free(ec2->host);
	free(ec2->path);
	free(ec2->region);
	free(ec2->source);
	free(ec2);
}

const char *
ec2_fatal(const struct ec2 *ec2)
{
	return ec2->fatal[0] ? ec2->fatal : NULL;
}

const struct ec2_stats *
ec2_stats(const struct ec2 *ec2)
{
	return &ec2->stats;
}

void
ec2_set_progress(struct ec2 *ec2, void (*fn)(void *, enum ec2_action,
    size_t), void *arg)
{
	ec2->progress = fn;
	ec2->progress_arg = arg;
}

void
ec2_set_answered(struct ec2 *ec2, void (*fn)(void *, size_t), void *arg)
{
	ec2->on_answer = fn;
	ec2->on_answer_arg = arg;
}

static void
tick_create(struct ec2 *ec2, const struct ec2_create *cr)
{
	if (ec2->progress != NULL)
		ec2->progress(ec2->progress_arg, EC2_CREATE_SNAPSHOT,
		    (size_t)(cr - ec2->creates));
}

static void
tick_delete(struct ec2 *ec2, const struct ec2_delete *d)
{
	if (ec2->progress != NULL)
		ec2->progress(ec2->progress_arg, EC2_DELETE_SNAPSHOT,
		    (size_t)(d - ec2->deletes));
}

static void set_fatal(struct ec2 *ec2, const char *fmt, ...)
    LOG_PRINTF(2, 3);

/* The first reason wins: later ones are consequences. */
static void
set_fatal(struct ec2 *ec2, const char *fmt, ...)
{
	va_list ap;

	if (ec2->fatal[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(ec2->fatal, sizeof(ec2->fatal), fmt, ap);
	va_end(ap);
}

/*
 * Queues a call for q (consumed).  Returns the call, or NULL when the
 * query failed or memory ran out (then q is freed and nothing queued).
 */
static struct call *
call_new(struct ec2 *ec2, enum ec2_action action, struct query *q,
    bool idempotent, void (*done)(struct call *, enum outcome), void *arg)
{
	struct call *c = calloc(1, sizeof(*c));

	if (c == NULL || query_form(q, &c->form, &c->form_len) != 0) {
		free(c);
		query_free(q);
		return NULL;
	}
	query_free(q);
	c->ec2 = ec2;
	c->action = action;
	c->idempotent = idempotent;
	c->done = done;
	c->arg = arg;
	return c;
}

static void
enqueue(struct ec2 *ec2, struct call *c)
{
	c->next = NULL;
	if (ec2->queue_tail != NULL)
		ec2->queue_tail->next = c;
	else
		ec2->queue = c;
	ec2->queue_tail = c;
}

static void
submit(struct ec2 *ec2, struct call *c)
{
	enqueue(ec2, c);
	ec2->pending++;
}

static void
bucket_refill(struct bucket *b, int64_t now)
{
	b->tokens += (double)(now - b->last_ms) * b->rate;
	if (b->tokens > b->capacity)
		b->tokens = b->capacity;
	b->last_ms = now;
}

/* Milliseconds until the bucket has a token. */
static long
bucket_wait(const struct bucket *b)
{
	return b->tokens >= 1 ? 0 : (long)((1 - b->tokens) / b->rate) + 1;
}

static int on_data(void *arg, const char *data, size_t len);
static void on_done(void *arg, const struct http_response *r);

/* Signs and sends one attempt; returns -1 when it cannot be sent. */
static int
send_attempt(struct ec2 *ec2, struct call *c)
{
	static const char content_type[] =
	    "application/x-www-form-urlencoded; charset=utf-8";
	struct sigv4_header sh = { "Content-Type", content_type };
	struct sigv4_credentials cred;
	struct sigv4_request sr = { "POST", ec2->host, ec2->path, NULL, &sh,
	    1, c->form, c->form_len, ec2->region, "ec2" };
	struct sigv4_signed sig = { 0 };
	struct http_request hr = { 0 };
	const char *headers[1 + SIGV4_OUT_MAX];
	char amz_date[SIGV4_DATE_LEN + 1], err[256];
	time_t now = time(NULL);
	struct tm tm;
	int rc = -1;

	if (ec2->credentials(ec2->credentials_arg, (int64_t)now, &cred, err,
	    sizeof(err)) != 0) {
		set_fatal(ec2, "cannot get credentials from %s: %s",
		    ec2->source, err);
		return -1;
	}
	gmtime_r(&now, &tm);
	if (sigv4_amz_date(&tm, amz_date) != 0 ||
	    sigv4_sign(&sr, &cred, amz_date, &sig, err, sizeof(err)) != 0) {
		set_fatal(ec2, "cannot sign the request: %s", err);
		return -1;
	}
	headers[0] = "Content-Type: application/x-www-form-urlencoded; "
	    "charset=utf-8";
	for (size_t i = 0; i < sig.nline; i++)
		headers[1 + i] = sig.line[i];
	c->parser = ec2xml_new(action_kinds[c->action], &c->cbs, c->arg);
	if (c->parser == NULL)
		goto fail;
	if (c->begin != NULL)
		c->begin(c->arg);
	hr.method = "POST";
	hr.url = ec2->endpoint;
	hr.headers = headers;
	hr.nheaders = 1 + sig.nline;
	hr.body = c->form;
	hr.body_len = c->form_len;
	hr.once = !c->idempotent;
	hr.on_data = on_data;
	hr.on_done = on_done;
	hr.arg = c;
	if (http_submit(ec2->http, &hr) != 0)
		goto fail;
	c->attempts++;
	if (c->first_sent == 0)
		c->first_sent = (int64_t)now;
	c->in_flight = true;
	ec2->stats.calls[c->action]++;
	log_debug("%s: attempt %d sent (%zu bytes)", action_names[c->action],
	    c->attempts, c->form_len);
	rc = 0;
fail:
	sigv4_signed_free(&sig);
	if (rc != 0) {
		ec2xml_free(c->parser);
		c->parser = NULL;
	}
	return rc;
}

static void finish_call(struct ec2 *ec2, struct call *c, enum outcome out);

static long
pump(void *arg)
{
	struct ec2 *ec2 = arg;
	int64_t now = http_now_ms();
	long wake = -1;
	struct call **link = &ec2->queue, *c, *failed = NULL;

	for (int b = 0; b < NBUCKETS; b++)
		bucket_refill(&ec2->buckets[b], now);
	ec2->queue_tail = NULL;
	while ((c = *link) != NULL) {
		struct bucket *b = &ec2->buckets[action_buckets[c->action]];
		long w;

		/* Nothing more is sent once the run cannot go on. */
		if (ec2->fatal[0] == '\0') {
			w = c->not_before > now ?
			    (long)(c->not_before - now) : bucket_wait(b);
			if (w > 0 || http_free_slots(ec2->http) == 0) {
				if (w > 0 && (wake < 0 || w < wake))
					wake = w;
				ec2->queue_tail = c;
				link = &c->next;
				continue;
			}
			b->tokens -= 1;
			if (send_attempt(ec2, c) == 0) {
				*link = c->next;
				continue;
			}
			set_fatal(ec2, "out of memory");
		}
		*link = c->next;
		c->next = failed;
		failed = c;
	}
	/* Done callbacks may queue calls, so they run after the scan. */
	while ((c = failed) != NULL) {
		failed = c->next;
		error_set(&c->error, "NotAttempted", ec2->fatal, NULL);
		finish_call(ec2, c, OUT_FAILED);
		wake = 0;
	}
	return wake;
}

static int
on_data(void *arg, const char *data, size_t len)
{
	struct call *c = arg;

	return ec2xml_feed(c->parser, data, len) == 0 ? 0 : -1;
}

static bool
code_in(const char *code, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(code, *set) == 0)
			return true;
	return false;
}

static const char *const throttling_codes[] = { "RequestLimitExceeded",
	"Throttling", "ThrottlingException", "ThrottledException",
	"RequestThrottledException", "TooManyRequestsException",
	"RequestThrottled", "SlowDown", "EC2ThrottledException",
	"BandwidthLimitExceeded", NULL };
static const char *const transient_codes[] = { "InternalError",
	"InternalFailure", "ServerInternal", "ServiceUnavailable",
	"Unavailable", "RequestTimeout", "RequestTimeoutException",
	"PriorRequestNotComplete", NULL };
/* Refusals of the credentials themselves: nothing else can succeed.  A
 * refusal of one action (UnauthorizedOperation: the IAM policy does not
 * allow it, perhaps only on one resource) fails that call alone. */
static const char *const auth_codes[] = { "AuthFailure",
	"SignatureDoesNotMatch", "InvalidClientTokenId", "IncompleteSignature",
	"MissingAuthenticationToken", "OptInRequired", "ExpiredToken", NULL };
static const char *const expired_codes[] = { "RequestExpired",
	"InvalidSecurity.RequestHasExpired", NULL };

/* Schedules another attempt after a backoff; false when none is left. */
static bool
retry(struct ec2 *ec2, struct call *c, bool throttled, bool timeout,
    long min_wait_ms)
{
	int limit = throttled ? THROTTLE_ATTEMPTS : ec2->max_attempts;
	int cost = timeout ? RETRY_COST_TIMEOUT : RETRY_COST;
	double base = throttled ? THROTTLE_BASE_MS : BACKOFF_BASE_MS;
	double cap, delay;

	if (c->attempts >= limit)
		return false;
	ec2xml_free(c->parser);
	c->parser = NULL;
	/* Throttling is paced by the buckets; the budget is for faults, so
	 * that a broken endpoint fails fast instead of being hammered. */
	if (!throttled) {
		if (ec2->quota < cost)
			return false;
		ec2->quota -= cost;
	}
	cap = base * (double)(1u << (c->attempts < 16 ? c->attempts - 1 : 15));
	if (cap > BACKOFF_CAP_MS)
		cap = BACKOFF_CAP_MS;
	delay = rand01(ec2) * cap;
	if (delay < min_wait_ms)
		delay = (double)min_wait_ms + rand01(ec2) * 1000;
	c->not_before = http_now_ms() + (int64_t)delay;
	ec2->stats.retries++;
	enqueue(ec2, c);
	return true;
}

/* The done callback owns c from here on (it frees or requeues it). */
static void
finish_call(struct ec2 *ec2, struct call *c, enum outcome out)
{
	ec2->pending--;
	c->done(c, out);
}

/* What the local clock says about a refused signature. */
static bool
skew_fatal(struct ec2 *ec2, const struct http_response *r)
{
	int64_t skew;
	char what[160];

	if (r->server_date < 0)
		return false;
	skew = (int64_t)time(NULL) - r->server_date;
	if (skew <= SKEW_LIMIT_S && skew >= -SKEW_LIMIT_S)
		return false;
	snprintf(what, sizeof(what), "%lld seconds %s", (long long)(skew < 0 ?
	    -skew : skew), skew > 0 ? "ahead of" : "behind");
	set_fatal(ec2, "EC2 refused the request's time: this machine's clock "
	    "is %s EC2's; synchronise it (NTP) and run again", what);
	return true;
}

static void
on_done(void *arg, const struct http_response *r)
{
	struct call *c = arg;
	struct ec2 *ec2 = c->ec2;
	const char *name = action_names[c->action];
	bool parsed = false;
	char text[800];

	c->in_flight = false;
	ec2->stats.bytes += r->bytes;
	if (r->status > 0)
		ec2->answered = true;
	if (r->server_date > 0) {
		ec2->dated = true;
		ec2->skew = (int64_t)time(NULL) - r->server_date;
	}
	if (!r->aborted && r->transport_error == 0)
		parsed = ec2xml_finish(c->parser) == 0;

	if (parsed && !ec2xml_is_error(c->parser)) {
		if (c->attempts == 1)
			ec2->quota += ec2->quota < RETRY_QUOTA ? 1 : 0;
		log_debug("%s: ok, %zu bytes (request %s)", name, r->bytes,
		    ec2xml_request_id(c->parser));
		finish_call(ec2, c, OUT_OK);
		return;
	}
	if (parsed) {
		const char *code = ec2xml_error_code(c->parser);

		error_set(&c->error, code, ec2xml_error_message(c->parser),
		    ec2xml_request_id(c->parser));
		log_debug("%s: %s", name, ec2_error_text(&c->error, text,
		    sizeof(text)));
		if (code_in(code, throttling_codes)) {
			ec2->stats.throttled++;
			/* EC2's bucket is empty; so is ours, then. */
			ec2->buckets[action_buckets[c->action]].tokens = 0;
			if (retry(ec2, c, true, false, 0))
				return;
		} else if (code_in(code, transient_codes)) {
			if (!c->idempotent) {
				finish_call(ec2, c, OUT_AMBIGUOUS);
				return;
			}
			if (retry(ec2, c, false, false, 0))
				return;
		} else if (strcmp(code, "SnapshotCreationPerVolumeRateExceeded")
		    == 0) {
			if (retry(ec2, c, true, false, PER_VOLUME_WAIT_MS))
				return;
		} else if (code_in(code, expired_codes)) {
			if (!skew_fatal(ec2, r) && c->attempts < 2 &&
			    retry(ec2, c, false, false, 0))
				return;
		} else if (code_in(code, auth_codes) && !skew_fatal(ec2, r)) {
			/* A request signed for one region and sent to another
			 * region's endpoint reads like a bad signature. */
			bool region = strstr(c->error.message, "region") != NULL;
			set_fatal(ec2, "EC2 refused the credentials from %s: %s%s",
			    ec2->source,
			    ec2_error_text(&c->error, text, sizeof(text)), region ?
			    "; the endpoint expects another region than the "
			    "requests are signed for: check --region, the "
			    "policy's region and AWS_REGION" : "");
		}
		finish_call(ec2, c, OUT_ERROR);
		return;
	}

	/* No usable answer: the connection failed or the body did not
	 * parse.  The parser's words explain a bad body best. */
	if (r->transport_error != 0 && ec2xml_failure(c->parser) == EC2XML_OK)
		error_set(&c->error, r->status >= 500 ? "HTTPError" :
		    "ConnectionError", r->error, NULL);
	else if (r->status == 401 || r->status == 403) {
		/* A refusal, whatever shape its body has. */
		snprintf(c->error.code, sizeof(c->error.code), "HTTP%d",
		    r->status);
		snprintf(c->error.message, sizeof(c->error.message),
		    "access refused, and the answer could not be read: %s",
		    ec2xml_failure_text(c->parser));
		log_debug("%s: %s", name, ec2_error_text(&c->error, text,
		    sizeof(text)));
		if (c->discard != NULL)
			c->discard(c->arg);
		if (r->status == 401 && !skew_fatal(ec2, r))
			set_fatal(ec2, "EC2 refused the credentials from %s: %s",
			    ec2->source, ec2_error_text(&c->error, text,
			    sizeof(text)));
		finish_call(ec2, c, OUT_ERROR);
		return;
	} else if (r->status >= 400) {
		snprintf(c->error.code, sizeof(c->error.code), "HTTP%d",
		    r->status);
		snprintf(c->error.message, sizeof(c->error.message),
		    "unreadable error response: %s",
		    ec2xml_failure_text(c->parser));
	} else
		error_set(&c->error, "MalformedResponse",
		    ec2xml_failure_text(c->parser), NULL);
	log_debug("%s: %s", name, ec2_error_text(&c->error, text, sizeof(text)));
	if (c->discard != NULL)
		c->discard(c->arg);
	if (!c->idempotent && r->maybe_sent) {
		finish_call(ec2, c, OUT_AMBIGUOUS);
		return;
	}
	/* An endpoint that has not answered once in this run, twice (no
	 * connection, or silence until a timeout): it is not EC2, or not
	 * reachable; waiting longer helps nobody.  A connection reset is
	 * retried as usual. */
	if (r->status == 0 && !ec2->answered && c->attempts >= 2 &&
	    (!r->maybe_sent || r->transport_error == CURLE_OPERATION_TIMEDOUT ||
	    r->transport_error == CURLE_ABORTED_BY_CALLBACK)) {
		set_fatal(ec2, r->maybe_sent ? "EC2 at %s does not answer: %s" :
		    "cannot reach EC2 at %s: %s", ec2->endpoint, r->error);
		finish_call(ec2, c, OUT_FAILED);
		return;
	}
	if ((r->status == 0 || r->status >= 500 || r->status == 200) &&
	    retry(ec2, c, false, r->transport_error ==
	    CURLE_OPERATION_TIMEDOUT, 0))
		return;
	if (!r->maybe_sent && r->transport_error != 0)
		set_fatal(ec2, "cannot reach EC2 at %s: %s", ec2->endpoint,
		    r->error);
	finish_call(ec2, c, OUT_FAILED);
}

/* Runs every queued call to its end. */
static int
run_all(struct ec2 *ec2)
{
	if (http_run(ec2->http, pump, ec2, ec2->deadline_ms) != 0) {
		set_fatal(ec2, "the run's time limit (--timeout) passed");
		/* Anything still queued fails now, with that reason. */
		pump(ec2);
		return -1;
	}
	return 0;
}

/*
 * Paginated describes.  A pager is one chain of pages: each page's done
 * callback queues the next page until EC2 sends no nextToken.  A chain
 * that does not end — a token sent before, a page that brings only items
 * already read, more pages than any listing can need — is cut short and
 * counts as not read, so the run keeps what it cannot see whole.
 */
#define MAX_PAGES 10000            /* 10,000,000 items at 1,000 a page */
#define MAX_EMPTY_PAGES 100        /* pages in a row with no item */

struct pager {
	struct ec2 *ec2;
	enum ec2_action action;
	/* The page's query without NextToken, or NULL when out of memory. */
	struct query *(*query)(struct pager *p);
	struct ec2xml_callbacks cbs;
	void (*begin)(void *p);
	void (*discard)(void *p);
	void *arg;               /* what the item callbacks fill in */
	char token[EC2XML_TOKEN_MAX + 1];
	uint64_t *seen;          /* hashes of the tokens received */
	size_t pages, empty;
	/* Items of the page being read, and how many were new; the item
	 * callbacks count them. */
	size_t page_items, page_new;
	bool ok;                 /* every page was read */
	struct ec2_error error;
};

static void pager_done(struct call *c, enum outcome out);

static void
pager_begin(void *arg)
{
	struct pager *p = arg;

	p->page_items = p->page_new = 0;
	if (p->begin != NULL)
		p->begin(p);
}

static int
pager_queue(struct pager *p)
{
	struct query *q = p->query(p);
	struct call *c;

	if (q != NULL && p->token[0] != '\0' &&
	    query_add(q, "NextToken", p->token) != 0) {
		query_free(q);
		q = NULL;
	}
	if (q == NULL || (c = call_new(p->ec2, p->action, q, true, pager_done,
	    p)) == NULL) {
		error_set(&p->error, "NotAttempted", "out of memory", NULL);
		return -1;
	}
	c->cbs = p->cbs;
	c->begin = pager_begin;
	c->discard = p->discard;
	submit(p->ec2, c);
	return 0;
}

static uint64_t
token_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* Why the chain must stop after this page, or NULL to go on. */
static const char *
pager_runaway(struct pager *p, const char *next)
{
	uint64_t h = token_hash(next);

	if (p->page_items > 0 && p->page_new == 0 &&
	    (p->cbs.snapshot != NULL || p->cbs.volume != NULL ||
	    p->cbs.instance != NULL))
		return "a page held only items already read";
	p->empty = p->page_items == 0 ? p->empty + 1 : 0;
	if (p->empty >= MAX_EMPTY_PAGES)
		return "too many empty pages in a row";
	if (p->pages >= MAX_PAGES)
		return "more pages than any listing can need";
	for (size_t i = 0; i + 1 < p->pages; i++)
		if (p->seen[i] == h)
			return "EC2 sent a NextToken it had sent before";
	p->seen[p->pages - 1] = h;
	return NULL;
}

static void
pager_done(struct call *c, enum outcome out)
{
	struct pager *p = c->arg;

	if (out == OUT_OK) {
		const char *next = ec2xml_next_token(c->parser);
		const char *why;
		uint64_t *grown;

		p->pages++;
		if (*next == '\0') {
			p->ok = true;
			goto done;
		}
		/* Room for this page's token, doubling. */
		if ((p->pages & (p->pages - 1)) == 0) {
			grown = realloc(p->seen, 2 * p->pages * sizeof(*grown));
			if (grown == NULL) {
				error_set(&p->error, "NotAttempted",
				    "out of memory", NULL);
				goto done;
			}
			p->seen = grown;
		}
		if ((why = pager_runaway(p, next)) != NULL) {
			char msg[160];
			snprintf(msg, sizeof(msg), "%s (page %zu); the listing "
			    "was cut short there", why, p->pages);
			error_set(&p->error, "EndlessListing", msg,
			    ec2xml_request_id(c->parser));
			goto done;
		}
		snprintf(p->token, sizeof(p->token), "%s", next);
		pager_queue(p);
	} else {
		p->error = c->error;
	}
done:
	call_free(c);
}

static void
pager_release(struct pager *p)
{
	free(p->seen);
	p->seen = NULL;
}

/* Adds Filter.N.Name=name and its values; returns -1 on failure. */
static int
add_filter(struct query *q, int n, const char *name,
    const char *const *values, size_t nvalues)
{
	if (query_addf(q, name, "Filter.%d.Name", n) != 0)
		return -1;
	for (size_t i = 0; i < nvalues; i++)
		if (query_addf(q, values[i], "Filter.%d.Value.%zu", n, i + 1)
		    != 0)
			return -1;
	return 0;
}

static struct query *
finish_query(struct query *q, int failed)
{
	if (failed) {
		query_free(q);
		return NULL;
	}
	return q;
}

/* --- volumes --- */

struct volume_job {
	struct inventory *inv;
	const char *const *ids;      /* check: these ids */
	size_t n;
	const struct ec2_tag *tags;  /* select: these tags */
	size_t ntags;
	struct inv_volume **found;   /* select: the matching volumes */
	size_t nfound, cap;
	struct inv_volume **seen;    /* every volume read: open addressing */
	size_t nseen, nseen_slots;
	bool oom;
};

/* A volume being deleted, or broken, is not one to snapshot or prune. */
static bool
volume_usable(const char *status)
{
	return strcmp(status, "available") == 0 ||
	    strcmp(status, "in-use") == 0 || strcmp(status, "creating") == 0;
}

static size_t
seen_slot(struct inv_volume *const *slots, size_t n, const void *v)
{
	size_t j = ((uintptr_t)v >> 4) * 0x9E3779B97F4A7C15ULL & (n - 1);

	while (slots[j] != NULL && slots[j] != v)
		j = (j + 1) & (n - 1);
	return j;
}

/* Records that the job read v; 1 when it had not before, 0 when it had,
 * -1 when out of memory. */
static int
seen_add(struct volume_job *job, struct inv_volume *v)
{
	size_t j;

	if ((job->nseen + 1) * 2 > job->nseen_slots) {
		size_t n = job->nseen_slots ? job->nseen_slots * 2 : 64;
		struct inv_volume **slots = calloc(n, sizeof(*slots));
		if (slots == NULL)
			return -1;
		for (size_t i = 0; i < job->nseen_slots; i++)
			if (job->seen[i] != NULL)
				slots[seen_slot(slots, n, job->seen[i])] =
				    job->seen[i];
		free(job->seen);
		job->seen = slots;
		job->nseen_slots = n;
	}
	j = seen_slot(job->seen, job->nseen_slots, v);
	if (job->seen[j] != NULL)
		return 0;
	job->seen[j] = v;
	job->nseen++;
	return 1;
}

/* Whether v carries every tag of the selection, byte for byte: EC2's
 * filters also match wildcards, and a server may answer loosely. */
static bool
tags_match(const struct volume_job *job, const struct ec2xml_tag *tags,
    size_t ntags)
{
	for (size_t i = 0; i < job->ntags; i++) {
		const char *have = ec2xml_tag_get(tags, ntags,
		    job->tags[i].key);
		if (have == NULL || strcmp(have, job->tags[i].value) != 0)
			return false;
	}
	return true;
}

static int
volume_item(void *arg, const struct ec2xml_volume *v)
{
	struct pager *p = arg;
	struct volume_job *job = p->arg;
	struct inv_volume *iv;
	int fresh;

	p->page_items++;
	if (job->tags == NULL) {
		if ((iv = inventory_find(job->inv, v->id)) == NULL)
			return 0;
		if ((fresh = seen_add(job, iv)) < 0)
			goto oom;
		p->page_new += (size_t)fresh;
		iv->exists = volume_usable(v->status);
		for (size_t t = 0; t < v->ntags; t++)
			if (inventory_volume_tag(job->inv, iv, v->tags[t].key,
			    v->tags[t].value) != 0)
				goto oom;
		return 0;
	}
	if (!tags_match(job, v->tags, v->ntags)) {
		log_debug("DescribeVolumes: %s does not carry exactly the "
		    "selected tags; left out", v->id);
		p->page_new++;       /* not a repeat: something was read */
		return 0;
	}
	if ((iv = inventory_volume(job->inv, v->id)) == NULL)
		goto oom;
	if ((fresh = seen_add(job, iv)) < 0)
		goto oom;
	if (!fresh)
		return 0;
	p->page_new++;
	if (!volume_usable(v->status))
		return 0;
	if (job->nfound == job->cap) {
		size_t cap = job->cap ? job->cap * 2 : 64;
		struct inv_volume **grown = realloc(job->found,
		    cap * sizeof(*grown));
		if (grown == NULL)
			goto oom;
		job->found = grown;
		job->cap = cap;
	}
	job->found[job->nfound++] = iv;
	iv->exists = true;
	iv->unchecked = false;
	for (size_t t = 0; t < v->ntags; t++)
		if (inventory_volume_tag(job->inv, iv, v->tags[t].key,
		    v->tags[t].value) != 0)
			goto oom;
	return 0;
oom:
	job->oom = true;
	return -1;
}

/*
 * A filter value that matches exactly value: EC2 reads '*' and '?' in
 * filter values as wildcards and a backslash as an escape.  Returns a
 * malloc'd string, or NULL when out of memory.
 */
static char *
filter_literal(const char *value)
{
	char *out = malloc(2 * strlen(value) + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (; *value != '\0'; value++) {
		if (*value == '*' || *value == '?' || *value == '\\')
			*o++ = '\\';
		*o++ = *value;
	}
	*o = '\0';
	return out;
}

static struct query *
volumes_query(struct pager *p)
{
	struct volume_job *job = p->arg;
	struct query *q = query_new("DescribeVolumes", EC2_API_VERSION);
	int failed = q == NULL;

	if (failed)
		return NULL;
	/* The volume-id filter, not VolumeId.N: an unknown id in VolumeId.N
	 * fails the whole call, where a filter just leaves it out. */
	if (job->tags == NULL)
		failed |= add_filter(q, 1, "volume-id", job->ids, job->n);
	for (size_t i = 0; i < job->ntags && !failed; i++) {
		char name[160];
		char *value = filter_literal(job->tags[i].value);
		const char *values[1] = { value };
		snprintf(name, sizeof(name), "tag:%s", job->tags[i].key);
		failed |= value == NULL || add_filter(q, (int)i + 1, name,
		    values, 1);
		free(value);
	}
	failed |= query_add(q, "MaxResults", VOLUMES_PAGE);
	return finish_query(q, failed);
}

/* How many of n items batch b holds: EC2_BATCH, or the rest. */
static size_t
batch_len(size_t n, size_t b)
{
	return n - b * EC2_BATCH < EC2_BATCH ? n - b * EC2_BATCH : EC2_BATCH;
}

static void
pager_init(struct pager *p, struct ec2 *ec2, enum ec2_action action,
    struct query *(*query)(struct pager *), void *arg)
{
	memset(p, 0, sizeof(*p));
	p->ec2 = ec2;
	p->action = action;
	p->query = query;
	p->arg = arg;
}

int
ec2_check_volumes(struct ec2 *ec2, struct inventory *inv,
    const char *const *ids, size_t n)
{
	size_t nbatches = (n + EC2_BATCH - 1) / EC2_BATCH;
	struct pager *pagers = calloc(nbatches ? nbatches : 1, sizeof(*pagers));
	struct volume_job *jobs = calloc(nbatches ? nbatches : 1,
	    sizeof(*jobs));
	int rc = 0;
	char text[800];

	if (pagers == NULL || jobs == NULL) {
		free(pagers);
		free(jobs);
		log_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (inventory_volume(inv, ids[i]) == NULL)
			rc = -1;
	for (size_t b = 0; b < nbatches && rc == 0; b++) {
		jobs[b].inv = inv;
		jobs[b].ids = ids + b * EC2_BATCH;
		jobs[b].n = batch_len(n, b);
		pager_init(&pagers[b], ec2, EC2_DESCRIBE_VOLUMES, volumes_query,
		    &jobs[b]);
		pagers[b].cbs.volume = volume_item;
		pager_queue(&pagers[b]);
	}
	run_all(ec2);
	for (size_t b = 0; b < nbatches; b++) {
		bool ok = pagers[b].ok && !jobs[b].oom;

		pager_release(&pagers[b]);
		free(jobs[b].seen);
		if (ok)
			continue;
		rc = -1;
		/* Not knowing is not "gone": say so, and keep everything. */
		for (size_t i = 0; i < jobs[b].n; i++) {
			struct inv_volume *iv = inventory_find(inv,
			    jobs[b].ids[i]);
			iv->exists = false;
			iv->unchecked = true;
		}
		/* Once the client has stopped, the run says why. */
		if (ec2->fatal[0] != '\0')
			continue;
		log_error("DescribeVolumes: could not check whether %zu "
		    "volumes (%s, ...) exist: %s; nothing is created or "
		    "deleted on them this run", jobs[b].n, jobs[b].ids[0],
		    jobs[b].oom ? "out of memory" : ec2_error_text(
		    &pagers[b].error, text, sizeof(text)));
	}
	free(pagers);
	free(jobs);
	return rc;
}

int
ec2_select_volumes(struct ec2 *ec2, struct inventory *inv,
    const struct ec2_tag *tags, size_t ntags, struct inv_volume ***out,
    size_t *nout)
{
	struct volume_job job = { 0 };
	struct pager p;
	char text[800];

	job.inv = inv;
	job.tags = tags;
	job.ntags = ntags;
	pager_init(&p, ec2, EC2_DESCRIBE_VOLUMES, volumes_query, &job);
	p.cbs.volume = volume_item;
	pager_queue(&p);
	run_all(ec2);
	pager_release(&p);
	free(job.seen);
	if (!p.ok || job.oom) {
		if (ec2->fatal[0] == '\0')
			log_error("DescribeVolumes: cannot list the volumes "
			    "tagged %s=%s%s: %s", tags[0].key, tags[0].value,
			    ntags > 1 ? " (and more tags)" : "", job.oom ?
			    "out of memory" : ec2_error_text(&p.error, text,
			    sizeof(text)));
		free(job.found);
		return -1;
	}
	if (out != NULL) {
		*out = job.found;
		*nout = job.nfound;
	} else {
		free(job.found);
	}
	return 0;
}

/* --- instances --- */

/* An instance that is going away is not one to snapshot or prune. */
static bool
instance_usable(const char *state)
{
	return strcmp(state, "shutting-down") != 0 &&
	    strcmp(state, "terminated") != 0;
}

/* Records what EC2 says of an instance the job asked about. */
static int
instance_fill(struct volume_job *job, struct inv_volume *iv,
    const struct ec2xml_instance *in)
{
	iv->kind = INV_INSTANCE;
	iv->exists = instance_usable(in->state);
	iv->unchecked = false;
	if ((iv->state = inventory_intern(job->inv, in->state)) == NULL)
		return -1;
	iv->nattached = 0;
	iv->root[0] = '\0';
	for (size_t k = 0; k < in->nmappings; k++) {
		const struct ec2xml_mapping *m = &in->mappings[k];
		bool is_root = in->root_device[0] != '\0' &&
		    strcmp(m->device, in->root_device) == 0;
		/* CreateSnapshots takes the volumes attached now. */
		if (m->volume_id[0] == '\0' || strcmp(m->status, "attached")
		    != 0)
			continue;
		if (inventory_attach(job->inv, iv, m->volume_id,
		    m->device[0] != '\0' ? m->device : NULL, is_root) != 0)
			return -1;
	}
	for (size_t t = 0; t < in->ntags; t++)
		if (inventory_volume_tag(job->inv, iv, in->tags[t].key,
		    in->tags[t].value) != 0)
			return -1;
	return 0;
}

static int
instance_item(void *arg, const struct ec2xml_instance *in)
{
	struct pager *p = arg;
	struct volume_job *job = p->arg;
	struct inv_volume *iv;
	int fresh;

	p->page_items++;
	if (job->tags == NULL) {
		if ((iv = inventory_find(job->inv, in->id)) == NULL ||
		    iv->kind != INV_INSTANCE)
			return 0;
		if ((fresh = seen_add(job, iv)) < 0)
			goto oom;
		p->page_new += (size_t)fresh;
		if (fresh && instance_fill(job, iv, in) != 0)
			goto oom;
		return 0;
	}
	if (!tags_match(job, in->tags, in->ntags)) {
		log_debug("DescribeInstances: %s does not carry exactly the "
		    "selected tags; left out", in->id);
		p->page_new++;
		return 0;
	}
	if ((iv = inventory_volume(job->inv, in->id)) == NULL)
		goto oom;
	iv->kind = INV_INSTANCE;
	if ((fresh = seen_add(job, iv)) < 0)
		goto oom;
	if (!fresh)
		return 0;
	p->page_new++;
	if (!instance_usable(in->state))
		return 0;
	if (job->nfound == job->cap) {
		size_t cap = job->cap ? job->cap * 2 : 64;
		struct inv_volume **grown = realloc(job->found,
		    cap * sizeof(*grown));
		if (grown == NULL)
			goto oom;
		job->found = grown;
		job->cap = cap;
	}
	job->found[job->nfound++] = iv;
	if (instance_fill(job, iv, in) != 0)
		goto oom;
	return 0;
oom:
	job->oom = true;
	return -1;
}

static struct query *
instances_query(struct pager *p)
{
	struct volume_job *job = p->arg;
	struct query *q = query_new("DescribeInstances", EC2_API_VERSION);
	int failed = q == NULL;

	if (failed)
		return NULL;
	/* The instance-id filter, not InstanceId.N: an unknown id there
	 * fails the whole call, and MaxResults cannot go with it. */
	if (job->tags == NULL)
		failed |= add_filter(q, 1, "instance-id", job->ids, job->n);
	for (size_t i = 0; i < job->ntags && !failed; i++) {
		char name[160];
		char *value = filter_literal(job->tags[i].value);
		const char *values[1] = { value };
		snprintf(name, sizeof(name), "tag:%s", job->tags[i].key);
		failed |= value == NULL || add_filter(q, (int)i + 1, name,
		    values, 1);
		free(value);
	}
	failed |= query_add(q, "MaxResults", INSTANCES_PAGE);
	return finish_query(q, failed);
}

int
ec2_check_instances(struct ec2 *ec2, struct inventory *inv,
    const char *const *ids, size_t n)
{
	size_t nbatches = (n + EC2_BATCH - 1) / EC2_BATCH;
	struct pager *pagers = calloc(nbatches ? nbatches : 1, sizeof(*pagers));
	struct volume_job *jobs = calloc(nbatches ? nbatches : 1,
	    sizeof(*jobs));
	int rc = 0;
	char text[800];

	if (pagers == NULL || jobs == NULL) {
		free(pagers);
		free(jobs);
		log_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct inv_volume *iv = inventory_volume(inv, ids[i]);
		if (iv == NULL)
			rc = -1;
		else
			iv->kind = INV_INSTANCE;
	}
	for (size_t b = 0; b < nbatches && rc == 0; b++) {
		jobs[b].inv = inv;
		jobs[b].ids = ids + b * EC2_BATCH;
		jobs[b].n = batch_len(n, b);
		pager_init(&pagers[b], ec2, EC2_DESCRIBE_INSTANCES,
		    instances_query, &jobs[b]);
		pagers[b].cbs.instance = instance_item;
		pager_queue(&pagers[b]);
	}
	run_all(ec2);
	for (size_t b = 0; b < nbatches; b++) {
		bool ok = pagers[b].ok && !jobs[b].oom;

		pager_release(&pagers[b]);
		free(jobs[b].seen);
		if (ok)
			continue;
		rc = -1;
		for (size_t i = 0; i < jobs[b].n; i++) {
			struct inv_volume *iv = inventory_find(inv,
			    jobs[b].ids[i]);
			iv->exists = false;
			iv->unchecked = true;
		}
		if (ec2->fatal[0] != '\0')
			continue;
		log_error("DescribeInstances: could not check whether %zu "
		    "instances (%s, ...) exist: %s; nothing is created or "
		    "deleted on them this run", jobs[b].n, jobs[b].ids[0],
		    jobs[b].oom ? "out of memory" : ec2_error_text(
		    &pagers[b].error, text, sizeof(text)));
	}
	free(pagers);
	free(jobs);
	return rc;
}

int
ec2_select_instances(struct ec2 *ec2, struct inventory *inv,
    const struct ec2_tag *tags, size_t ntags, struct inv_volume ***out,
    size_t *nout)
{
	struct volume_job job = { 0 };
	struct pager p;
	char text[800];

	job.inv = inv;
	job.tags = tags;
	job.ntags = ntags;
	pager_init(&p, ec2, EC2_DESCRIBE_INSTANCES, instances_query, &job);
	p.cbs.instance = instance_item;
	pager_queue(&p);
	run_all(ec2);
	pager_release(&p);
	free(job.seen);
	if (!p.ok || job.oom) {
		if (ec2->fatal[0] == '\0')
			log_error("DescribeInstances: cannot list the instances "
			    "tagged %s=%s%s: %s", tags[0].key, tags[0].value,
			    ntags > 1 ? " (and more tags)" : "", job.oom ?
			    "out of memory" : ec2_error_text(&p.error, text,
			    sizeof(text)));
		free(job.found);
		return -1;
	}
	if (out != NULL) {
		*out = job.found;
		*nout = job.nfound;
	} else {
		free(job.found);
	}
	return 0;
}

/* --- snapshots --- */

struct snapshot_job {
	struct inventory *inv;
	struct inv_volume *const *vols;
	size_t n;
	size_t *counts;           /* per volume, before this attempt */
	bool oom;
};

static void
snapshots_begin(void *arg)
{
	struct pager *p = arg;
	struct snapshot_job *job = p->arg;

	for (size_t i = 0; i < job->n; i++)
		job->counts[i] = job->vols[i]->nsnapshots;
}

static void
snapshots_discard(void *arg)
{
	struct pager *p = arg;
	struct snapshot_job *job = p->arg;

	for (size_t i = 0; i < job->n; i++)
		inventory_truncate(job->inv, job->vols[i], job->counts[i]);
}

static int
snapshot_item(void *arg, const struct ec2xml_snapshot *s)
{
	struct pager *p = arg;
	struct snapshot_job *job = p->arg;
	struct inv_volume *v = inventory_find(job->inv, s->volume_id), *at;
	struct inv_snapshot snap = { 0 }, *first = NULL;
	const char *date;

	p->page_items++;
	/* Only volumes of this batch were asked for. */
	if (v == NULL)
		return 0;
	snprintf(snap.id, sizeof(snap.id), "%s", s->id);
	snap.start = s->start;
	snap.state = (uint8_t)inv_state_parse(s->status);
	date = ec2xml_tag_get(s->tags, s->ntags, INV_TAG_DATE);
	snap.date = date != NULL ? inv_parse_date(date) : INV_NO_DATE;
	if (ec2xml_tag_get(s->tags, s->ntags, INV_TAG_PROTECT) != NULL)
		snap.flags |= INV_PROTECTED;
	switch (inventory_add_snapshot(job->inv, v, &snap,
	    ec2xml_tag_get(s->tags, s->ntags, INV_TAG_OWNER), s->description,
	    &first)) {
	case INV_ADDED:
		p->page_new++;
		break;
	case INV_REPEATED:
		break;
	case INV_CONFLICT:
		inventory_snapshot(job->inv, s->id, &at);
		log_warning("DescribeSnapshots: %s was listed twice with "
		    "different details (volume %s, state %s; then volume %s, "
		    "state %s): nothing is created or deleted on %s%s%s this "
		    "run", s->id, at != NULL ? at->id : "?", first != NULL ?
		    inv_state_name((enum inv_state)first->state) : "?",
		    v->id, inv_state_name((enum inv_state)snap.state),
		    at != NULL ? at->id : v->id, at != NULL && at != v ?
		    " and " : "", at != NULL && at != v ? v->id : "");
		break;
	case INV_NOMEM:
		job->oom = true;
		return -1;
	}
	return 0;
}

static struct query *
snapshots_query(struct pager *p)
{
	struct snapshot_job *job = p->arg;
	struct query *q = query_new("DescribeSnapshots", EC2_API_VERSION);
	int failed;

	if (q == NULL)
		return NULL;
	/* Without Owner, EC2 lists every public snapshot too. */
	failed = query_add(q, "Owner.1", "self");
	failed |= query_add(q, "Filter.1.Name", "volume-id");
	for (size_t i = 0; i < job->n && !failed; i++)
		failed |= query_addf(q, job->vols[i]->id, "Filter.1.Value.%zu",
		    i + 1);
	failed |= query_add(q, "MaxResults", SNAPSHOTS_PAGE);
	return finish_query(q, failed);
}

int
ec2_list_snapshots(struct ec2 *ec2, struct inventory *inv,
    struct inv_volume *const *vols, size_t n)
{
	size_t nbatches = (n + EC2_BATCH - 1) / EC2_BATCH;
	struct pager *pagers = calloc(nbatches ? nbatches : 1, sizeof(*pagers));
	struct snapshot_job *jobs = calloc(nbatches ? nbatches : 1,
	    sizeof(*jobs));
	size_t *counts = calloc(n ? n : 1, sizeof(*counts));
	int rc = 0;
	char text[800];

	if (pagers == NULL || jobs == NULL || counts == NULL) {
		free(pagers);
		free(jobs);
		free(counts);
		log_error("out of memory");
		return -1;
	}
	for (size_t b = 0; b < nbatches; b++) {
		jobs[b].inv = inv;
		jobs[b].vols = vols + b * EC2_BATCH;
		jobs[b].counts = counts + b * EC2_BATCH;
		jobs[b].n = batch_len(n, b);
		pager_init(&pagers[b], ec2, EC2_DESCRIBE_SNAPSHOTS,
		    snapshots_query, &jobs[b]);
		pagers[b].cbs.snapshot = snapshot_item;
		pagers[b].begin = snapshots_begin;
		pagers[b].discard = snapshots_discard;
		pager_queue(&pagers[b]);
	}
	run_all(ec2);
	for (size_t b = 0; b < nbatches; b++) {
		pager_release(&pagers[b]);
		for (size_t i = 0; i < jobs[b].n; i++)
			jobs[b].vols[i]->complete = pagers[b].ok &&
			    !jobs[b].oom && !jobs[b].vols[i]->conflict;
		if (pagers[b].ok && !jobs[b].oom)
			continue;
		rc = -1;
		/* Once the client has stopped, the run says why. */
		if (ec2->fatal[0] != '\0')
			continue;
		log_error("DescribeSnapshots: the listing of %zu volumes (%s, "
		    "...) is incomplete: %s; nothing is created or deleted on "
		    "them this run", jobs[b].n, jobs[b].vols[0]->id,
		    jobs[b].oom ? "out of memory" :
		    ec2_error_text(&pagers[b].error, text, sizeof(text)));
	}
	free(pagers);
	free(jobs);
	free(counts);
	return rc;
}

/* --- the snapshots of instance sets --- */

/* The set-size tag: 1 to INV_SET_SIZE_MAX, else 0. */
static uint16_t
parse_set_size(const char *s)
{
	unsigned v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 3)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (unsigned)(*s - '0');
	}
	return v >= 1 && v <= INV_SET_SIZE_MAX ? (uint16_t)v : 0;
}

static int
member_item(void *arg, const struct ec2xml_snapshot *s)
{
	struct pager *p = arg;
	struct snapshot_job *job = p->arg;
	const char *instance = ec2xml_tag_get(s->tags, s->ntags,
	    INV_TAG_INSTANCE);
	const char *set = ec2xml_tag_get(s->tags, s->ntags, INV_TAG_SET);
	struct inv_volume *v = NULL;
	struct inv_snapshot snap = { 0 };
	struct inv_member m = { 0 };
	const char *date;

	p->page_items++;
	for (size_t i = 0; instance != NULL && i < job->n && v == NULL; i++)
		if (strcmp(job->vols[i]->id, instance) == 0)
			v = job->vols[i];
	/* Only instances of this batch were asked for. */
	if (v == NULL)
		return 0;
	snprintf(snap.id, sizeof(snap.id), "%s", s->id);
	snap.start = s->start;
	snap.state = (uint8_t)inv_state_parse(s->status);
	date = ec2xml_tag_get(s->tags, s->ntags, INV_TAG_DATE);
	snap.date = date != NULL ? inv_parse_date(date) : INV_NO_DATE;
	if (ec2xml_tag_get(s->tags, s->ntags, INV_TAG_PROTECT) != NULL)
		snap.flags |= INV_PROTECTED;
	snprintf(m.volume, sizeof(m.volume), "%s", s->volume_id);
	/* A set id that does not fit is no set id: the snapshot is then a
	 * broken set of its own. */
	if (set != NULL && strlen(set) <= INV_ID_MAX)
		snprintf(m.set, sizeof(m.set), "%s", set);
	m.size = parse_set_size(ec2xml_tag_get(s->tags, s->ntags,
	    INV_TAG_SET_SIZE));
	switch (inventory_add_member(job->inv, v, &snap,
	    ec2xml_tag_get(s->tags, s->ntags, INV_TAG_OWNER), s->description,
	    &m, NULL)) {
	case INV_ADDED:
		p->page_new++;
		break;
	case INV_REPEATED:
		break;
	case INV_CONFLICT:
		log_warning("DescribeSnapshots: %s was listed twice with "
		    "different details: nothing is created or deleted on %s "
		    "this run", s->id, v->id);
		break;
	case INV_NOMEM:
		job->oom = true;
		return -1;
	}
	return 0;
}

static struct query *
members_query(struct pager *p)
{
	struct snapshot_job *job = p->arg;
	struct query *q = query_new("DescribeSnapshots", EC2_API_VERSION);
	int failed;

	if (q == NULL)
		return NULL;
	failed = query_add(q, "Owner.1", "self");
	failed |= query_add(q, "Filter.1.Name", "tag:" INV_TAG_INSTANCE);
	for (size_t i = 0; i < job->n && !failed; i++)
		failed |= query_addf(q, job->vols[i]->id, "Filter.1.Value.%zu",
		    i + 1);
	failed |= query_add(q, "MaxResults", SNAPSHOTS_PAGE);
	return finish_query(q, failed);
}

int
ec2_list_instance_snapshots(struct ec2 *ec2, struct inventory *inv,
    struct inv_volume *const *vols, size_t n)
{
	size_t nbatches = (n + EC2_BATCH - 1) / EC2_BATCH;
	struct pager *pagers = calloc(nbatches ? nbatches : 1, sizeof(*pagers));
	struct snapshot_job *jobs = calloc(nbatches ? nbatches : 1,
	    sizeof(*jobs));
	size_t *counts = calloc(n ? n : 1, sizeof(*counts));
	int rc = 0;
	char text[800];

	if (pagers == NULL || jobs == NULL || counts == NULL) {
		free(pagers);
		free(jobs);
		free(counts);
		log_error("out of memory");
		return -1;
	}
	for (size_t b = 0; b < nbatches; b++) {
		jobs[b].inv = inv;
		jobs[b].vols = vols + b * EC2_BATCH;
		jobs[b].counts = counts + b * EC2_BATCH;
		jobs[b].n = batch_len(n, b);
		pager_init(&pagers[b], ec2, EC2_DESCRIBE_SNAPSHOTS,
		    members_query, &jobs[b]);
		pagers[b].cbs.snapshot = member_item;
		pagers[b].begin = snapshots_begin;
		pagers[b].discard = snapshots_discard;
		pager_queue(&pagers[b]);
	}
	run_all(ec2);
	for (size_t b = 0; b < nbatches; b++) {
		bool ok = pagers[b].ok && !jobs[b].oom;

		pager_release(&pagers[b]);
		for (size_t i = 0; i < jobs[b].n; i++) {
			struct inv_volume *v = jobs[b].vols[i];
			v->complete = ok && !v->conflict;
			if (inventory_build_sets(inv, v) != 0) {
				v->complete = false;
				ok = false;
				jobs[b].oom = true;
			}
		}
		if (ok)
			continue;
		rc = -1;
		if (ec2->fatal[0] != '\0')
			continue;
		log_error("DescribeSnapshots: the listing of the sets of %zu "
		    "instances (%s, ...) is incomplete: %s; nothing is created "
		    "or deleted on them this run", jobs[b].n,
		    jobs[b].vols[0]->id, jobs[b].oom ? "out of memory" :
		    ec2_error_text(&pagers[b].error, text, sizeof(text)));
	}
	free(pagers);
	free(jobs);
	free(counts);
	return rc;
}

/* --- images --- */

struct image_job {
	struct inventory *inv;
	struct inv_snapshot *const *snaps;
	size_t n;
	bool oom;
};

static int
image_item(void *arg, const struct ec2xml_image *img)
{
	struct pager *p = arg;
	struct image_job *job = p->arg;

	p->page_items++;
	p->page_new++;
	for (size_t i = 0; i < img->nsnapshots; i++) {
		for (size_t j = 0; j < job->n; j++) {
			if (strcmp(job->snaps[j]->id, img->snapshot_ids[i]) != 0)
				continue;
			job->snaps[j]->ami = inventory_intern(job->inv, img->id);
			if (job->snaps[j]->ami == NULL) {
				job->oom = true;
				return -1;
			}
		}
	}
	return 0;
}

static struct query *
images_query(struct pager *p)
{
	struct image_job *job = p->arg;
	struct query *q = query_new("DescribeImages", EC2_API_VERSION);
	int failed;

	if (q == NULL)
		return NULL;
	failed = query_add(q, "Owner.1", "self");
	failed |= query_add(q, "Filter.1.Name",
	    "block-device-mapping.snapshot-id");
	for (size_t i = 0; i < job->n && !failed; i++)
		failed |= query_addf(q, job->snaps[i]->id,
		    "Filter.1.Value.%zu", i + 1);
	return finish_query(q, failed);
}

int
ec2_find_images(struct ec2 *ec2, struct inventory *inv,
    struct inv_snapshot *const *snaps, size_t n)
{
	size_t nbatches = (n + EC2_BATCH - 1) / EC2_BATCH;
	struct pager *pagers = calloc(nbatches ? nbatches : 1, sizeof(*pagers));
	struct image_job *jobs = calloc(nbatches ? nbatches : 1,
	    sizeof(*jobs));
	int rc = 0;
	char text[800];

	if (pagers == NULL || jobs == NULL) {
		free(pagers);
		free(jobs);
		log_error("out of memory");
		return -1;
	}
	for (size_t b = 0; b < nbatches; b++) {
		jobs[b].inv = inv;
		jobs[b].snaps = snaps + b * EC2_BATCH;
		jobs[b].n = batch_len(n, b);
		pager_init(&pagers[b], ec2, EC2_DESCRIBE_IMAGES, images_query,
		    &jobs[b]);
		pagers[b].cbs.image = image_item;
		pager_queue(&pagers[b]);
	}
	run_all(ec2);
	for (size_t b = 0; b < nbatches; b++) {
		pager_release(&pagers[b]);
		if (pagers[b].ok && !jobs[b].oom)
			continue;
		rc = -1;
		/* Once the client has stopped, the run says why. */
		if (ec2->fatal[0] != '\0')
			continue;
		log_error("DescribeImages: cannot tell which AMIs use %zu "
		    "snapshots (%s, ...): %s; they are not deleted this run",
		    jobs[b].n, jobs[b].snaps[0]->id, jobs[b].oom ?
		    "out of memory" : ec2_error_text(&pagers[b].error, text,
		    sizeof(text)));
	}
	free(pagers);
	free(jobs);
	return rc;
}

/* --- creating --- */

/*
 * After CreateSnapshot's answer is lost, the snapshot is looked for by
 * its tags, again and again with growing waits (EC2's listings can lag
 * behind its changes), until lookup_ms has passed.  The create is never
 * sent again: a second snapshot for the day takes a place of keep from an
 * older day, and nothing can prove that the first attempt did nothing.
 * A snapshot found counts only if that attempt could have made it: not in
 * state error, and started no earlier than the first attempt less
 * CLOCK_TOLERANCE_S (EC2 refuses requests whose time is further off than
 * that, so our clock and EC2's cannot be).
 */
#define LOOKUP_FIRST_MS 1000
#define CLOCK_TOLERANCE_S 900

/*
 * One ec2_apply: deletes that wait for a create are chained to it
 * (1-based indexes, 0 ends a chain) and queued when it has ended well.
 */
struct apply {
	struct ec2_delete *deletes;
	size_t *waiting;         /* per create: its first waiting delete */
	size_t *next;            /* per delete: the next one waiting */
};

struct create_job {
	struct ec2 *ec2;
	struct apply *ap;
	size_t index;
	struct ec2_create *cr;
	struct call *create;     /* kept while its lookups run */
	int64_t lookup_until;    /* monotonic ms */
	int64_t lookup_wait;     /* ms before the next lookup */
	int lookups;
	bool seen;               /* the answer or a lookup gave the id */
	char rejected[INV_ID_MAX + 1]; /* a match the lookup turned down */
	char rejected_why[64];
};

static void queue_delete(struct ec2 *ec2, struct ec2_delete *d);

/* A create has ended, one way or the other: what waited for it goes
 * now, or is held back if the snapshot was not made. */
static void
create_ended(struct create_job *job)
{
	struct apply *ap = job->ap;

	tick_create(job->ec2, job->cr);
	for (size_t k = ap->waiting[job->index]; k != 0; k = ap->next[k - 1]) {
		struct ec2_delete *d = &ap->deletes[k - 1];

		if (job->cr->ok) {
			queue_delete(job->ec2, d);
			continue;
		}
		d->held = true;
		error_set(&d->error, "Held", "the snapshot it made room for "
		    "was not created", NULL);
		tick_delete(job->ec2, d);
	}
}

/* Records a snapshot of a set once, however often it is listed. */
static void
add_member(struct ec2_create *cr, const struct ec2xml_snapshot *s)
{
	for (size_t k = 0; k < cr->nmembers && k < cr->members_max; k++)
		if (strcmp(cr->members[k].snapshot, s->id) == 0)
			return;
	if (cr->nmembers == 0)
		snprintf(cr->snapshot, sizeof(cr->snapshot), "%s", s->id);
	if (cr->nmembers < cr->members_max) {
		struct ec2_set_member *m = &cr->members[cr->nmembers];
		snprintf(m->snapshot, sizeof(m->snapshot), "%s", s->id);
		snprintf(m->volume, sizeof(m->volume), "%s", s->volume_id);
	}
	cr->nmembers++;
}

static int
created_item(void *arg, const struct ec2xml_snapshot *s)
{
	struct create_job *job = arg;

	if (job->cr->instance != NULL)
		add_member(job->cr, s);
	else
		snprintf(job->cr->snapshot, sizeof(job->cr->snapshot), "%s",
		    s->id);
	job->seen = true;
	return 0;
}

/* The create has EC2's answer, or has failed without one: the point in
 * time of what it made is fixed. */
static void
create_answered(struct create_job *job)
{
	struct ec2 *ec2 = job->ec2;

	job->cr->answered_ms = http_now_ms();
	if (ec2->on_answer != NULL)
		ec2->on_answer(ec2->on_answer_arg, (size_t)(job->cr -
		    ec2->creates));
}

/* A snapshot the lookup found: taken only if the lost attempt could have
 * made it. */
static int
lookup_item(void *arg, const struct ec2xml_snapshot *s)
{
	struct create_job *job = arg;
	enum inv_state state = inv_state_parse(s->status);
	int64_t earliest = job->create->first_sent - CLOCK_TOLERANCE_S;

	if (job->cr->volume != NULL && strcmp(s->volume_id, job->cr->volume)
	    != 0)
		return 0;
	if (state != INV_PENDING && state != INV_COMPLETED) {
		snprintf(job->rejected, sizeof(job->rejected), "%s", s->id);
		snprintf(job->rejected_why, sizeof(job->rejected_why),
		    "in state %s", inv_state_name(state));
		return 0;
	}
	if (s->start < earliest) {
		snprintf(job->rejected, sizeof(job->rejected), "%s", s->id);
		snprintf(job->rejected_why, sizeof(job->rejected_why),
		    "started %lld s before this attempt",
		    (long long)(job->create->first_sent - s->start));
		return 0;
	}
	if (job->cr->instance != NULL)
		add_member(job->cr, s);
	else
		snprintf(job->cr->snapshot, sizeof(job->cr->snapshot), "%s",
		    s->id);
	job->seen = true;
	return 0;
}

static struct query *
create_query(const struct ec2_create *cr)
{
	struct query *q = query_new(cr->instance != NULL ? "CreateSnapshots" :
	    "CreateSnapshot", EC2_API_VERSION);
	int failed = 0;

	if (q == NULL)
		return NULL;
	if (cr->instance != NULL) {
		failed |= query_add(q, "InstanceSpecification.InstanceId",
		    cr->instance);
		if (cr->exclude_boot)
			failed |= query_add(q,
			    "InstanceSpecification.ExcludeBootVolume", "true");
		for (size_t i = 0; i < cr->nexclude && !failed; i++)
			failed |= query_addf(q, cr->exclude[i],
			    "InstanceSpecification.ExcludeDataVolumeId.%zu",
			    i + 1);
		if (cr->copy_volume_tags)
			failed |= query_add(q, "CopyTagsFromSource", "volume");
	} else {
		failed |= query_add(q, "VolumeId", cr->volume);
	}
	if (cr->description != NULL)
		failed |= query_add(q, "Description", cr->description);
	if (cr->ntags > 0)
		failed |= query_add(q, "TagSpecification.1.ResourceType",
		    "snapshot");
	for (size_t i = 0; i < cr->ntags && !failed; i++) {
		failed |= query_addf(q, cr->tags[i].key,
		    "TagSpecification.1.Tag.%zu.Key", i + 1);
		failed |= query_addf(q, cr->tags[i].value,
		    "TagSpecification.1.Tag.%zu.Value", i + 1);
	}
	return finish_query(q, failed);
}

static struct query *
lookup_query(const struct ec2_create *cr)
{
	struct query *q = query_new("DescribeSnapshots", EC2_API_VERSION);
	const char *v = cr->volume;
	char *owner = filter_literal(cr->owner_tag);
	char *date = filter_literal(cr->date_tag);
	const char *values[1];
	int failed;

	if (cr->instance != NULL && q != NULL) {
		/* The set's id is made up for this request alone. */
		char *set = filter_literal(cr->set_tag);
		values[0] = set;
		failed = set == NULL || query_add(q, "Owner.1", "self") != 0 ||
		    add_filter(q, 1, "tag:" INV_TAG_SET, values, 1) != 0;
		free(set);
		free(owner);
		free(date);
		return finish_query(q, failed);
	}
	if (q == NULL || owner == NULL || date == NULL) {
		query_free(q);
		free(owner);
		free(date);
		return NULL;
	}
	failed = query_add(q, "Owner.1", "self");
	failed |= add_filter(q, 1, "volume-id", &v, 1);
	values[0] = owner;
	failed |= add_filter(q, 2, "tag:" INV_TAG_OWNER, values, 1);
	values[0] = date;
	failed |= add_filter(q, 3, "tag:" INV_TAG_DATE, values, 1);
	free(owner);
	free(date);
	return finish_query(q, failed);
}

static void lookup_done(struct call *c, enum outcome out);

/* Queues the next lookup; false when the time for them is over. */
static bool
queue_lookup(struct create_job *job)
{
	int64_t now = http_now_ms();
	struct query *q;
	struct call *lookup;

	if (now + job->lookup_wait > job->lookup_until)
		return false;
	if ((q = lookup_query(job->cr)) == NULL ||
	    (lookup = call_new(job->ec2, EC2_DESCRIBE_SNAPSHOTS, q, true,
	    lookup_done, job)) == NULL)
		return false;
	job->seen = false;
	lookup->cbs.snapshot = lookup_item;
	lookup->not_before = now + job->lookup_wait;
	job->lookup_wait *= 2;
	job->lookups++;
	submit(job->ec2, lookup);
	return true;
}

static void
lookup_done(struct call *c, enum outcome out)
{
	struct create_job *job = c->arg;
	struct call *create = job->create;
	char msg[sizeof(job->cr->error.message)], why[200];
	size_t room, n;

	const struct ec2_create *cr = job->cr;
	const char *what = cr->instance != NULL ? cr->instance : cr->volume;
	const char *action = cr->instance != NULL ? "CreateSnapshots" :
	    "CreateSnapshot";

	if (c != NULL)
		call_free(c);
	if (out == OUT_OK && job->seen && (cr->instance == NULL ||
	    cr->nmembers >= cr->set_size)) {
		job->cr->ok = true;
		job->cr->found_by_lookup = true;
		log_info("%s: %s: the answer was lost, but %s was created",
		    what, action, cr->instance != NULL ? cr->set_tag :
		    cr->snapshot);
		call_free(create);
		create_ended(job);
		return;
	}
	/* A lookup that failed, or found nothing (or not the whole set)
	 * yet: look again later. */
	if (job->ec2->fatal[0] == '\0' && queue_lookup(job))
		return;
	if (cr->instance != NULL && cr->nmembers > 0) {
		/* Part of the set is there: it exists, and the next run,
		 * which lists it whole or not, decides what it is. */
		job->cr->ok = true;
		job->cr->found_by_lookup = true;
		log_warning("%s: CreateSnapshots: the answer was lost; %zu of "
		    "the %zu snapshots of set %s were found", what,
		    cr->nmembers, cr->set_size, cr->set_tag);
		call_free(create);
		create_ended(job);
		return;
	}
	/* Not knowing, we do not try again: a second snapshot for the day
	 * is worse than none until the next run.  The last thing EC2 (or
	 * the network) said is what the user sees. */
	if (job->rejected[0] != '\0')
		snprintf(why, sizeof(why), "the answer was lost and no "
		    "snapshot this attempt made was found (%s is %s); not "
		    "sent again, so no snapshot was made", job->rejected,
		    job->rejected_why);
	else
		snprintf(why, sizeof(why), "the answer was lost and the "
		    "snapshot was not found in %d lookups; not sent again, so "
		    "no snapshot was made", job->lookups);
	room = sizeof(msg) - strlen(why) - 4;
	n = strlen(create->error.message);
	snprintf(msg, sizeof(msg), "%.*s (%s)", (int)(n < room ? n : room),
	    create->error.message, why);
	error_set(&job->cr->error, create->error.code, msg,
	    create->error.request_id);
	job->cr->ambiguous = true;
	call_free(create);
	create_ended(job);
}

static void
create_done(struct call *c, enum outcome out)
{
	struct create_job *job = c->arg;

	create_answered(job);
	if (out == OUT_OK && job->seen) {
		job->cr->ok = true;
		call_free(c);
		create_ended(job);
		return;
	}
	if (out == OUT_OK)
		error_set(&job->cr->error, "MalformedResponse",
		    job->cr->instance != NULL ? "CreateSnapshots answered "
		    "without a snapshot" : "CreateSnapshot answered without a "
		    "snapshot id", NULL);
	if (out != OUT_AMBIGUOUS) {
		if (out != OUT_OK)
			job->cr->error = c->error;
		call_free(c);
		create_ended(job);
		return;
	}
	/* The request may have reached EC2: look for what it made. */
	job->create = c;
	job->seen = false;
	job->lookup_wait = LOOKUP_FIRST_MS;
	job->lookup_until = http_now_ms() + job->ec2->lookup_ms;
	if (!queue_lookup(job)) {
		/* No time (or memory) to look: the same as not found. */
		job->lookup_until = 0;
		lookup_done(NULL, OUT_FAILED);
	}
}

static void
delete_done(struct call *c, enum outcome out)
{
	struct ec2_delete *d = c->arg;

	if (out == OUT_OK && !ec2xml_return(c->parser)) {
		/* EC2 said it did not delete it. */
		error_set(&d->error, "ReturnFalse", "DeleteSnapshot answered "
		    "false: the snapshot was not deleted",
		    ec2xml_request_id(c->parser));
	} else if (out == OUT_OK) {
		d->ok = true;
	} else if (out == OUT_ERROR &&
	    strcmp(c->error.code, "InvalidSnapshot.NotFound") == 0) {
		d->ok = true;       /* already gone: what we wanted */
		d->gone = true;
	} else {
		d->in_use = out == OUT_ERROR &&
		    strcmp(c->error.code, "InvalidSnapshot.InUse") == 0;
		d->error = c->error;
	}
	tick_delete(c->ec2, d);
	call_free(c);
}

static void
queue_delete(struct ec2 *ec2, struct ec2_delete *d)
{
	struct query *q = query_new("DeleteSnapshot", EC2_API_VERSION);
	struct call *c;

	if (q != NULL && query_add(q, "SnapshotId", d->snapshot) != 0) {
		query_free(q);
		q = NULL;
	}
	/* Deleting twice is harmless (the second finds nothing), so a lost
	 * answer can simply be retried. */
	if (q == NULL || (c = call_new(ec2, EC2_DELETE_SNAPSHOT, q, true,
	    delete_done, d)) == NULL) {
		error_set(&d->error, "NotAttempted", "cannot build the request",
		    NULL);
		tick_delete(ec2, d);
		return;
	}
	submit(ec2, c);
}

size_t
ec2_apply(struct ec2 *ec2, struct ec2_create *creates, size_t ncreates,
    struct ec2_delete *deletes, size_t ndeletes)
{
	struct create_job *jobs = calloc(ncreates + 1, sizeof(*jobs));
	struct apply ap = { deletes, calloc(ncreates + 1, sizeof(size_t)),
	    calloc(ndeletes + 1, sizeof(size_t)) };
	size_t failed = 0;

	if (jobs == NULL || ap.waiting == NULL || ap.next == NULL) {
		free(jobs);
		free(ap.waiting);
		free(ap.next);
		log_error("out of memory");
		return ncreates + ndeletes;
	}
	ec2->creates = creates;
	ec2->deletes = deletes;
	for (size_t j = 0; j < ndeletes; j++) {
		struct ec2_delete *d = &deletes[j];

		d->ok = d->gone = d->in_use = d->held = false;
		memset(&d->error, 0, sizeof(d->error));
		if (d->after > ncreates) {
			error_set(&d->error, "NotAttempted", "it waits for a "
			    "create that is not in this batch", NULL);
			d->held = true;
			tick_delete(ec2, d);
		} else if (d->after > 0) {
			ap.next[j] = ap.waiting[d->after - 1];
			ap.waiting[d->after - 1] = j + 1;
		}
	}
	for (size_t i = 0; i < ncreates; i++) {
		struct ec2_create *cr = &creates[i];
		struct query *q = create_query(cr);
		struct call *c;

		cr->ok = false;
		cr->found_by_lookup = false;
		cr->ambiguous = false;
		cr->snapshot[0] = '\0';
		cr->nmembers = 0;
		cr->answered_ms = 0;
		memset(&cr->error, 0, sizeof(cr->error));
		jobs[i] = (struct create_job){ .ec2 = ec2, .ap = &ap,
		    .index = i, .cr = cr };
		if (q == NULL || (c = call_new(ec2, cr->instance != NULL ?
		    EC2_CREATE_SNAPSHOTS : EC2_CREATE_SNAPSHOT, q, false,
		    create_done, &jobs[i])) == NULL) {
			error_set(&cr->error, "NotAttempted",
			    "cannot build the request", NULL);
			create_answered(&jobs[i]);
			create_ended(&jobs[i]);
			continue;
		}
		c->cbs.snapshot = created_item;
		submit(ec2, c);
	}
	/* Creates and deletes have their own EC2 buckets, so the deletes
	 * that wait for nothing go alongside the creates. */
	for (size_t j = 0; j < ndeletes; j++)
		if (deletes[j].after == 0)
			queue_delete(ec2, &deletes[j]);
	run_all(ec2);
	for (size_t i = 0; i < ncreates; i++)
		failed += !creates[i].ok;
	for (size_t j = 0; j < ndeletes; j++)
		failed += !deletes[j].ok;
	free(jobs);
	free(ap.waiting);
	free(ap.next);
	return failed;
}

/* --- permissions --- */

int
ec2_clock_skew(const struct ec2 *ec2, int64_t *skew)
{
	if (!ec2->dated)
		return -1;
	*skew = ec2->skew;
	return 0;
}

static void
probe_done(struct call *c, enum outcome out)
{
	struct ec2_probe *p = c->arg;

	p->error = c->error;
	if (out == OUT_ERROR && strcmp(c->error.code, "DryRunOperation") == 0)
		p->result = EC2_ALLOWED;
	else if (out == OUT_ERROR &&
	    strcmp(c->error.code, "UnauthorizedOperation") == 0)
		p->result = EC2_DENIED;
	else {
		p->result = EC2_UNKNOWN;
		if (out == OUT_OK)
			error_set(&p->error, "NoDryRunAnswer", "EC2 answered as "
			    "if DryRun were not set", NULL);
	}
	call_free(c);
}

static struct query *
probe_query(const struct ec2_probe *p)
{
	struct query *q;
	int failed = 0;

	if (p->action == EC2_CREATE_SNAPSHOT ||
	    p->action == EC2_CREATE_SNAPSHOTS) {
		struct ec2_create cr = { .tags = p->tags, .ntags = p->ntags };
		if (p->action == EC2_CREATE_SNAPSHOTS)
			cr.instance = p->resource;
		else
			cr.volume = p->resource;
		q = create_query(&cr);
	} else {
		q = query_new(action_names[p->action], EC2_API_VERSION);
		if (q != NULL && p->action == EC2_DELETE_SNAPSHOT)
			failed |= query_add(q, "SnapshotId", p->resource);
		else if (q != NULL && p->action != EC2_DESCRIBE_VOLUMES)
			failed |= query_add(q, "Owner.1", "self");
		if (q != NULL && p->action != EC2_DELETE_SNAPSHOT)
			failed |= query_add(q, "MaxResults", "5");
		q = q != NULL ? finish_query(q, failed) : NULL;
	}
	if (q != NULL && query_add(q, "DryRun", "true") != 0) {
		query_free(q);
		q = NULL;
	}
	return q;
}

void
ec2_probe(struct ec2 *ec2, struct ec2_probe *probes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct query *q = probe_query(&probes[i]);
		struct call *c;

		probes[i].result = EC2_UNKNOWN;
		memset(&probes[i].error, 0, sizeof(probes[i].error));
		/* A dry run changes nothing: safe to send again. */
		if (q == NULL || (c = call_new(ec2, probes[i].action, q, true,
		    probe_done, &probes[i])) == NULL) {
			error_set(&probes[i].error, "NotAttempted",
			    "cannot build the request", NULL);
			continue;
		}
		submit(ec2, c);
	}
	run_all(ec2);
}

size_t
ec2_create_snapshots(struct ec2 *ec2, struct ec2_create *creates, size_t n)
{
	return ec2_apply(ec2, creates, n, NULL, 0);
}

size_t
ec2_delete_snapshots(struct ec2 *ec2, struct ec2_delete *deletes, size_t n)
{
	return ec2_apply(ec2, NULL, 0, deletes, n);
}

/*
 * Unit tests for the streaming EC2 response parser (src/ec2xml.c).
 *
 * Every document is parsed several ways (whole, byte by byte, in random
 * chunks) and must give the same result each way.  libxml2's allocations
 * are counted (xmlMemSetup) so that a page of 20,000 items can be shown to
 * need no more memory than a small one.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/xmlmemory.h>

#include "ec2xml.h"

#define NS "http://ec2.amazonaws.com/doc/2016-11-15/"
#define XMLDECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

/* ---- counting allocator for libxml2 ---- */

union mem_header {
	size_t size;
	max_align_t align;
};

static size_t mem_now, mem_peak;

static void *
count_malloc(size_t n)
{
	union mem_header *h = malloc(sizeof *h + n);

	if (h == NULL)
		return NULL;
	h->size = n;
	mem_now += n;
	if (mem_now > mem_peak)
		mem_peak = mem_now;
	return h + 1;
}

static void
count_free(void *p)
{
	union mem_header *h;

	if (p == NULL)
		return;
	h = (union mem_header *)p - 1;
	mem_now -= h->size;
	free(h);
}

static void *
count_realloc(void *p, size_t n)
{
	union mem_header *h, *nh;
	size_t old;

	if (p == NULL)
		return count_malloc(n);
	h = (union mem_header *)p - 1;
	old = h->size;
	nh = realloc(h, sizeof *nh + n);
	if (nh == NULL)
		return NULL;
	nh->size = n;
	mem_now = mem_now - old + n;
	if (mem_now > mem_peak)
		mem_peak = mem_now;
	return nh + 1;
}

static char *
count_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = count_malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

/* ---- what the callbacks saw ---- */

#define KEEP 40

struct seen {
	size_t n;
	char items[KEEP][3072];
	size_t stop_at;            /* the callback fails on item stop_at */
	bool sequence;             /* items are the generated page */
	size_t bad;                /* generated items that did not match */
	char last_mapping[256];    /* an instance's last mapping, in full */
	size_t ntags;              /* the instance's tags */
};

static void
add_tags(char *buf, size_t size, const struct ec2xml_tag *tags, size_t n)
{
	size_t o = strlen(buf);

	for (size_t i = 0; i < n && o < size; i++) {
		int k = snprintf(buf + o, size - o, "%s%s=%s", i ? ";" : "",
		    tags[i].key, tags[i].value);
		if (k < 0)
			return;
		o += (size_t)k;
	}
}

static void gen_expect(size_t i, char *id, char *vol, int64_t *start);

static int
on_snapshot(void *arg, const struct ec2xml_snapshot *s)
{
	struct seen *c = arg;

	if (c->sequence) {
		char id[32], vol[32];
		int64_t start;

		gen_expect(c->n, id, vol, &start);
		if (strcmp(s->id, id) != 0 || strcmp(s->volume_id, vol) != 0 ||
		    s->start != start || s->ntags != 2 ||
		    strcmp(ec2xml_tag_get(s->tags, s->ntags,
		    "ec2backup:policy"), "prod") != 0)
			c->bad++;
	} else if (c->n < KEEP) {
		snprintf(c->items[c->n], sizeof c->items[c->n],
		    "%s|%s|%s|%lld|%s|", s->id, s->volume_id, s->status,
		    (long long)s->start, s->description);
		add_tags(c->items[c->n], sizeof c->items[c->n], s->tags,
		    s->ntags);
	}
	c->n++;
	return c->stop_at != 0 && c->n == c->stop_at;
}

static int
on_volume(void *arg, const struct ec2xml_volume *v)
{
	struct seen *c = arg;

	if (c->n < KEEP) {
		snprintf(c->items[c->n], sizeof c->items[c->n], "%s|%s|",
		    v->id, v->status);
		add_tags(c->items[c->n], sizeof c->items[c->n], v->tags,
		    v->ntags);
	}
	c->n++;
	return c->stop_at != 0 && c->n == c->stop_at;
}

static int
on_image(void *arg, const struct ec2xml_image *img)
{
	struct seen *c = arg;

	if (c->n < KEEP) {
		size_t o;

		snprintf(c->items[c->n], sizeof c->items[c->n], "%s|",
		    img->id);
		o = strlen(c->items[c->n]);
		for (size_t i = 0; i < img->nsnapshots; i++) {
			int k = snprintf(c->items[c->n] + o,
			    sizeof c->items[c->n] - o, "%s%s", i ? "," : "",
			    img->snapshot_ids[i]);
			if (k < 0 || (size_t)k >= sizeof c->items[c->n] - o)
				break;
			o += (size_t)k;
		}
	}
	c->n++;
	return c->stop_at != 0 && c->n == c->stop_at;
}

/* "id|state|root|n:dev=vol/status,...|tags" */
static int
on_instance(void *arg, const struct ec2xml_instance *in)
{
	struct seen *c = arg;

	if (c->n < KEEP) {
		char *b = c->items[c->n];
		size_t size = sizeof c->items[c->n], o;

		snprintf(b, size, "%s|%s|%s|%zu:", in->id, in->state,
		    in->root_device, in->nmappings);
		o = strlen(b);
		for (size_t i = 0; i < in->nmappings && o < size; i++) {
			const struct ec2xml_mapping *m = &in->mappings[i];
			int k = snprintf(b + o, size - o, "%s%s=%s/%s",
			    i ? "," : "", m->device, m->volume_id, m->status);

			if (k < 0)
				break;
			o += (size_t)k;
		}
		o = strlen(b);
		if (o + 1 < size) {
			b[o] = '|';
			b[o + 1] = '\0';
		}
		add_tags(b, size, in->tags, in->ntags);
	}
	c->ntags = in->ntags;
	c->last_mapping[0] = '\0';
	if (in->nmappings > 0) {
		const struct ec2xml_mapping *m =
		    &in->mappings[in->nmappings - 1];

		snprintf(c->last_mapping, sizeof c->last_mapping, "%s=%s/%s",
		    m->device, m->volume_id, m->status);
	}
	c->n++;
	return c->stop_at != 0 && c->n == c->stop_at;
}

static const struct ec2xml_callbacks callbacks = {
	.snapshot = on_snapshot,
	.volume = on_volume,
	.image = on_image,
	.instance = on_instance,
};

/* ---- feeding ---- */

enum chunking { WHOLE, BYTES, RANDOM, NCHUNKINGS };

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Feeds doc in the given chunking; returns the first non-zero result. */
static int
feed(struct ec2xml *x, const char *doc, size_t len, enum chunking how)
{
	size_t off = 0, n;
	size_t ones = 0;

	while (off < len) {
		switch (how) {
		case WHOLE:
			n = len;
			break;
		case BYTES:
			n = 1;
			break;
		default:
			if (ones > 0) {
				n = 1;
				ones--;
			} else if (next_random() % 8 == 0) {
				ones = next_random() % 64;
				n = 1;
			} else {
				n = 1 + next_random() % 16384;
			}
			break;
		}
		if (n > len - off)
			n = len - off;
		if (ec2xml_feed(x, doc + off, n) != 0)
			return -1;
		off += n;
	}
	return 0;
}

/* Parses doc of kind; returns what feed or finish returned.  The caller
 * frees *out. */
static int
parse_len(enum ec2xml_kind kind, const char *doc, size_t len,
    enum chunking how, struct seen *c, struct ec2xml **out)
{
	struct ec2xml *x = ec2xml_new(kind, &callbacks, c);
	int rc;

	assert_non_null(x);
	rc = feed(x, doc, len, how);
	if (rc == 0)
		rc = ec2xml_finish(x);
	*out = x;
	return rc;
}

static int
parse(enum ec2xml_kind kind, const char *doc, enum chunking how,
    struct seen *c, struct ec2xml **out)
{
	return parse_len(kind, doc, strlen(doc), how, c, out);
}

/* Parses doc every way; all must succeed with the same items, which are
 * left in *c (from the last way).  Returns the last parser. */
static struct ec2xml *
parse_ok(enum ec2xml_kind kind, const char *doc, struct seen *c)
{
	struct seen first;
	struct ec2xml *x = NULL;

	for (int how = 0; how < NCHUNKINGS; how++) {
		memset(c, 0, sizeof *c);
		ec2xml_free(x);
		if (parse(kind, doc, how, c, &x) != 0)
			fail_msg("chunking %d: %s", how,
			    ec2xml_failure_text(x));
		assert_int_equal(ec2xml_failure(x), EC2XML_OK);
		assert_string_equal(ec2xml_failure_text(x), "");
		assert_int_equal(ec2xml_items(x), c->n);
		if (how == 0) {
			first = *c;
		} else {
			assert_int_equal(c->n, first.n);
			for (size_t i = 0; i < c->n && i < KEEP; i++)
				assert_string_equal(c->items[i],
				    first.items[i]);
		}
	}
	return x;
}

/* Parses doc every way; each must fail with the given class and a text
 * containing want.  Returns the items seen with the last way. */
static size_t
parse_fails(enum ec2xml_kind kind, const char *doc, enum ec2xml_failure f,
    const char *want)
{
	struct seen c;
	struct ec2xml *x = NULL;

	for (int how = 0; how < NCHUNKINGS; how++) {
		memset(&c, 0, sizeof c);
		ec2xml_free(x);
		if (parse(kind, doc, how, &c, &x) != -1)
			fail_msg("chunking %d: parsed, expected \"%s\"", how,
			    want);
		if (ec2xml_failure(x) != f)
			fail_msg("chunking %d: failure %d, expected %d: %s",
			    how, ec2xml_failure(x), f,
			    ec2xml_failure_text(x));
		if (strstr(ec2xml_failure_text(x), want) == NULL)
			fail_msg("chunking %d: \"%s\" lacks \"%s\"", how,
			    ec2xml_failure_text(x), want);
		/* Failures stick, and say nothing that breaks a line. */
		assert_int_equal(ec2xml_feed(x, "<a/>", 4), -1);
		assert_int_equal(ec2xml_finish(x), -1);
		assert_null(strchr(ec2xml_failure_text(x), '\n'));
	}
	ec2xml_free(x);
	return c.n;
}

/* ---- documents ---- */

static const char snapshots_doc[] =
    XMLDECL
    "<DescribeSnapshotsResponse xmlns=\"" NS "\">\n"
    "    <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>\n"
    "    <snapshotSet>\n"
    "        <item>\n"
    "            <snapshotId>snap-1234567890abcdef0</snapshotId>\n"
    "            <volumeId>vol-1234567890abcdef0</volumeId>\n"
    "            <status>completed</status>\n"
    "            <startTime>2024-03-01T03:00:12.000Z</startTime>\n"
    "            <progress>100%</progress>\n"
    "            <ownerId>123456789012</ownerId>\n"
    "            <volumeSize>8</volumeSize>\n"
    "            <description>ec2backup prod vol-1234567890abcdef0"
    "</description>\n"
    "            <encrypted>true</encrypted>\n"
    "            <kmsKeyId>arn:aws:kms:us-east-1:123456789012:key/"
    "6876fb1b-example</kmsKeyId>\n"
    "            <tagSet>\n"
    "                <item>\n"
    "                    <key>ec2backup:policy</key>\n"
    "                    <value>prod</value>\n"
    "                </item>\n"
    "                <item>\n"
    "                    <key>ec2backup:date</key>\n"
    "                    <value>2024-03-01</value>\n"
    "                </item>\n"
    "                <item>\n"
    "                    <value>db &amp; logs &#x2713;</value>\n"
    "                    <key>Name</key>\n"
    "                </item>\n"
    "            </tagSet>\n"
    "            <storageTier>standard</storageTier>\n"
    "        </item>\n"
    "        <item>\n"
    "            <snapshotId>snap-0fedcba9876543210</snapshotId>\n"
    "            <volumeId>vol-1234567890abcdef0</volumeId>\n"
    "            <status>pending</status>\n"
    "            <startTime>2024-03-02T03:00:09Z</startTime>\n"
    "            <progress/>\n"
    "            <ownerId>123456789012</ownerId>\n"
    "            <volumeSize>8</volumeSize>\n"
    "            <description/>\n"
    "            <encrypted>false</encrypted>\n"
    "        </item>\n"
    "    </snapshotSet>\n"
    "    <nextToken>eyJ2IjoiMiIsImMiOiJ0b2tlbiJ9</nextToken>\n"
    "</DescribeSnapshotsResponse>\n";

#define SNAP1 "snap-1234567890abcdef0|vol-1234567890abcdef0|completed|" \
    "1709262012|ec2backup prod vol-1234567890abcdef0|" \
    "ec2backup:policy=prod;ec2backup:date=2024-03-01;" \
    "Name=db & logs \xe2\x9c\x93"
#define SNAP2 "snap-0fedcba9876543210|vol-1234567890abcdef0|pending|" \
    "1709348409||"

/* A snapshot page with one item whose body is given. */
#define SNAPSHOTS(body) \
    XMLDECL "<DescribeSnapshotsResponse xmlns=\"" NS "\">" \
    "<requestId>r-1</requestId><snapshotSet><item>" body "</item>" \
    "</snapshotSet></DescribeSnapshotsResponse>"
#define ITEM_OK "<snapshotId>snap-1</snapshotId>" \
    "<startTime>2024-01-01T00:00:00.000Z</startTime>"

static void
test_snapshots(void **state)
{
	struct seen c;
	struct ec2xml *x;

	(void)state;
	x = parse_ok(EC2XML_DESCRIBE_SNAPSHOTS, snapshots_doc, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.items[0], SNAP1);
	assert_string_equal(c.items[1], SNAP2);
	assert_string_equal(ec2xml_next_token(x),
	    "eyJ2IjoiMiIsImMiOiJ0b2tlbiJ9");
	assert_string_equal(ec2xml_request_id(x),
	    "59dbff89-35bd-4eac-99ed-be587EXAMPLE");
	assert_false(ec2xml_is_error(x));
	assert_string_equal(ec2xml_error_code(x), "");
	ec2xml_free(x);
}

/* Other API versions, a prefix instead of a default namespace, none. */
static void
test_namespaces(void **state)
{
	static const char *const docs[] = {
		"<DescribeSnapshotsResponse xmlns=\"http://ec2.amazonaws.com/"
		"doc/2013-10-15/\"><snapshotSet><item>" ITEM_OK "</item>"
		"</snapshotSet></DescribeSnapshotsResponse>",
		"<ec2:DescribeSnapshotsResponse xmlns:ec2=\"" NS "\">"
		"<ec2:snapshotSet><ec2:item><ec2:snapshotId>snap-1"
		"</ec2:snapshotId><ec2:startTime>2024-01-01T00:00:00.000Z"
		"</ec2:startTime></ec2:item></ec2:snapshotSet>"
		"</ec2:DescribeSnapshotsResponse>",
		"<DescribeSnapshotsResponse><snapshotSet><item>" ITEM_OK
		"</item></snapshotSet></DescribeSnapshotsResponse>",
		/* a prefixed root whose children are in no namespace */
		"<e:DescribeSnapshotsResponse xmlns:e=\"" NS "\"><snapshotSet>"
		"<item>" ITEM_OK "</item></snapshotSet>"
		"</e:DescribeSnapshotsResponse>",
	};
	struct seen c;

	(void)state;
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		struct ec2xml *x = parse_ok(EC2XML_DESCRIBE_SNAPSHOTS,
		    docs[i], &c);
		assert_int_equal(c.n, 1);
		assert_string_equal(c.items[0], "snap-1|||1704067200||");
		ec2xml_free(x);
	}
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS,
	    "<DescribeSnapshotsResponse xmlns=\"http://example.com/doc/\">"
	    "<snapshotSet/></DescribeSnapshotsResponse>",
	    EC2XML_FAIL_CONTENT, "namespace \"http://example.com/doc/\"");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS,
	    "<DescribeSnapshotsResponse xmlns=\"https://ec2.amazonaws.com/"
	    "doc/2016-11-15/\"><snapshotSet/></DescribeSnapshotsResponse>",
	    EC2XML_FAIL_CONTENT, "expected none or");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS,
	    "<DescribeSnapshotsResponse xmlns=\"http://ec2.amazonaws.com/"
	    "doc\"><snapshotSet/></DescribeSnapshotsResponse>",
	    EC2XML_FAIL_CONTENT, "namespace");
}

static void
test_empty_and_tokens(void **state)
{
	static const struct {
		const char *doc;
		const char *token;
	} cases[] = {
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\"><requestId>r"
		  "</requestId><snapshotSet/></DescribeSnapshotsResponse>",
		  "" },
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet>"
		  "</snapshotSet><nextToken/></DescribeSnapshotsResponse>",
		  "" },
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet>"
		  "\n  </snapshotSet><nextToken>\n  </nextToken>"
		  "</DescribeSnapshotsResponse>", "" },
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\"><nextToken>"
		  " abc/+= </nextToken><snapshotSet/>"
		  "</DescribeSnapshotsResponse>", "abc/+=" },
	};
	struct seen c;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ec2xml *x = parse_ok(EC2XML_DESCRIBE_SNAPSHOTS,
		    cases[i].doc, &c);
		assert_int_equal(c.n, 0);
		assert_string_equal(ec2xml_next_token(x), cases[i].token);
		ec2xml_free(x);
	}
	/* A page without its set is not an empty page. */
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS,
	    "<DescribeSnapshotsResponse xmlns=\"" NS "\"><requestId>r"
	    "</requestId></DescribeSnapshotsResponse>", EC2XML_FAIL_CONTENT,
	    "no <snapshotSet>");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS,
	    "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet/>"
	    "<nextToken>a</nextToken><nextToken>b</nextToken>"
	    "</DescribeSnapshotsResponse>", EC2XML_FAIL_CONTENT,
	    "more than one <nextToken>");
}

static void
test_missing_optional(void **state)
{
	struct seen c;
	struct ec2xml *x;

	(void)state;
	x = parse_ok(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(ITEM_OK), &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.items[0], "snap-1|||1704067200||");
	assert_string_equal(ec2xml_next_token(x), "");
	ec2xml_free(x);

	/* order is free: tags first, id last */
	x = parse_ok(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(
	    "<tagSet><item><key>k</key></item><item><value>orphan</value>"
	    "</item></tagSet><description>d</description>"
	    "<startTime>2024-01-01T00:00:00Z</startTime>"
	    "<status>error</status><snapshotId>snap-2</snapshotId>"), &c);
	assert_string_equal(c.items[0], "snap-2||error|1704067200|d|k=");
	ec2xml_free(x);
}

/* A snapshot without its id or a readable start time is an error. */
static void
test_required_fields(void **state)
{
	(void)state;
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(
	    "<startTime>2024-01-01T00:00:00.000Z</startTime>"),
	    EC2XML_FAIL_CONTENT, "snapshotSet/item[1]: snapshot without "
	    "<snapshotId>");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(
	    "<snapshotId></snapshotId>"
	    "<startTime>2024-01-01T00:00:00.000Z</startTime>"),
	    EC2XML_FAIL_CONTENT, "without <snapshotId>");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(
	    "<snapshotId>snap-1</snapshotId>"), EC2XML_FAIL_CONTENT,
	    "snapshot snap-1 without <startTime>");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(
	    "<snapshotId>snap-1</snapshotId>"
	    "<startTime>2024-01-01 00:00:00</startTime>"),
	    EC2XML_FAIL_CONTENT, "snapshotSet/item[1]/startTime: "
	    "\"2024-01-01 00:00:00\" is not an EC2 timestamp");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(
	    "<snapshotId>snap-1</snapshotId><startTime/>"),
	    EC2XML_FAIL_CONTENT, "is not an EC2 timestamp");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(
	    "<snapshotId>snap-1</snapshotId>"
	    "<startTime>2024-02-30T00:00:00.000Z</startTime>"),
	    EC2XML_FAIL_CONTENT, "is not an EC2 timestamp");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(ITEM_OK
	    "<snapshotId>snap-2</snapshotId>"), EC2XML_FAIL_CONTENT,
	    "more than one <snapshotId>");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(ITEM_OK
	    "<tagSet><item><key>a</key><key>b</key></item></tagSet>"),
	    EC2XML_FAIL_CONTENT,
	    "snapshotSet/item[1]/tagSet/item: more than one <key>");
}

/* Unknown elements at every depth, some named like known ones. */
static void
test_unknown_elements(void **state)
{
	static const char doc[] =
	    "<DescribeSnapshotsResponse xmlns=\"" NS "\">"
	    "<unknownTop><item><snapshotId>snap-evil1</snapshotId>"
	    "<startTime>2000-01-01T00:00:00Z</startTime></item></unknownTop>"
	    "<snapshotId>snap-evil2</snapshotId>"
	    "<requestId>r-2</requestId>"
	    "<snapshotSet>"
	    "<notAnItem><snapshotId>snap-evil3</snapshotId></notAnItem>"
	    "<item>"
	    "<x:snapshotId xmlns:x=\"urn:other\">snap-evil4</x:snapshotId>"
	    "<snapshotId>snap-good</snapshotId>"
	    "<restoreDetails><snapshotId>snap-evil5</snapshotId><status>x"
	    "</status><deeper><deepest a=\"1\"><tagSet><item><key>evil</key>"
	    "</item></tagSet></deepest></deeper></restoreDetails>"
	    "<startTime>2024-01-01T00:00:00.000Z</startTime>"
	    "<description>a<b>ignored</b>c<!-- comment -->d<?pi x?>"
	    "<![CDATA[<e>&]]></description>"
	    "<tagSet><bogus><key>evil</key></bogus>"
	    "<item><key>k</key><extra><value>evil</value></extra>"
	    "<value>v</value></item></tagSet>"
	    "<futureField><item/></futureField>"
	    "</item>"
	    "</snapshotSet>"
	    "<snapshotSet/>"
	    "<trailer><nextToken>evil</nextToken></trailer>"
	    "</DescribeSnapshotsResponse>";
	struct seen c;
	struct ec2xml *x;

	(void)state;
	x = parse_ok(EC2XML_DESCRIBE_SNAPSHOTS, doc, &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.items[0], "snap-good|||1704067200|acd<e>&|k=v");
	assert_string_equal(ec2xml_next_token(x), "");
	assert_string_equal(ec2xml_request_id(x), "r-2");
	ec2xml_free(x);
}

static const char volumes_doc[] =
    XMLDECL
    "<DescribeVolumesResponse xmlns=\"" NS "\">\n"
    "  <requestId>req-vol</requestId>\n"
    "  <volumeSet>\n"
    "    <item>\n"
    "      <volumeId>vol-1234567890abcdef0</volumeId>\n"
    "      <size>80</size>\n"
    "      <snapshotId/>\n"
    "      <availabilityZone>us-east-1a</availabilityZone>\n"
    "      <status>in-use</status>\n"
    "      <createTime>2023-01-01T00:00:00.000Z</createTime>\n"
    "      <attachmentSet>\n"
    "        <item>\n"
    "          <volumeId>vol-ATTACHMENT</volumeId>\n"
    "          <instanceId>i-1234567890abcdef0</instanceId>\n"
    "          <device>/dev/sdh</device>\n"
    "          <status>attached</status>\n"
    "          <attachTime>2023-01-01T00:00:00.000Z</attachTime>\n"
    "          <deleteOnTermination>false</deleteOnTermination>\n"
    "        </item>\n"
    "      </attachmentSet>\n"
    "      <tagSet><item><key>Backup</key><value>daily</value></item>"
    "</tagSet>\n"
    "      <volumeType>gp3</volumeType>\n"
    "      <operator><managed>false</managed></operator>\n"
    "    </item>\n"
    "    <item>\n"
    "      <attachmentSet/>\n"
    "      <status>available</status>\n"
    "      <volumeId>vol-0000000000000000b</volumeId>\n"
    "    </item>\n"
    "  </volumeSet>\n"
    "  <nextToken>vol-page-2</nextToken>\n"
    "</DescribeVolumesResponse>\n";

static void
test_volumes(void **state)
{
	struct seen c;
	struct ec2xml *x;

	(void)state;
	x = parse_ok(EC2XML_DESCRIBE_VOLUMES, volumes_doc, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.items[0],
	    "vol-1234567890abcdef0|in-use|Backup=daily");
	assert_string_equal(c.items[1], "vol-0000000000000000b|available|");
	assert_string_equal(ec2xml_next_token(x), "vol-page-2");
	assert_string_equal(ec2xml_request_id(x), "req-vol");
	ec2xml_free(x);

	x = parse_ok(EC2XML_DESCRIBE_VOLUMES,
	    "<DescribeVolumesResponse xmlns=\"" NS "\"><volumeSet/>"
	    "</DescribeVolumesResponse>", &c);
	assert_int_equal(c.n, 0);
	ec2xml_free(x);

	parse_fails(EC2XML_DESCRIBE_VOLUMES,
	    "<DescribeVolumesResponse xmlns=\"" NS "\"><volumeSet><item>"
	    "<attachmentSet><item><volumeId>vol-1</volumeId></item>"
	    "</attachmentSet></item></volumeSet></DescribeVolumesResponse>",
	    EC2XML_FAIL_CONTENT, "volumeSet/item[1]: volume without "
	    "<volumeId>");
	/* the snapshot root is not a volume page */
	parse_fails(EC2XML_DESCRIBE_VOLUMES, snapshots_doc,
	    EC2XML_FAIL_CONTENT, "unexpected root element "
	    "<DescribeSnapshotsResponse>, expected <DescribeVolumesResponse>");
}

static const char images_doc[] =
    XMLDECL
    "<DescribeImagesResponse xmlns=\"http://ec2.amazonaws.com/doc/"
    "2016-11-15/\">\n"
    "  <requestId>req-img</requestId>\n"
    "  <imagesSet>\n"
    "    <item>\n"
    "      <imageId>ami-1234567890abcdef0</imageId>\n"
    "      <imageLocation>123456789012/backup</imageLocation>\n"
    "      <imageState>available</imageState>\n"
    "      <productCodes><item><productCode>x</productCode></item>"
    "</productCodes>\n"
    "      <rootDeviceName>/dev/xvda</rootDeviceName>\n"
    "      <blockDeviceMapping>\n"
    "        <item>\n"
    "          <deviceName>/dev/xvda</deviceName>\n"
    "          <ebs>\n"
    "            <snapshotId>snap-1234567890abcdef0</snapshotId>\n"
    "            <volumeSize>8</volumeSize>\n"
    "            <deleteOnTermination>true</deleteOnTermination>\n"
    "          </ebs>\n"
    "        </item>\n"
    "        <item><deviceName>/dev/sdb</deviceName>"
    "<virtualName>ephemeral0</virtualName></item>\n"
    "        <item><ebs><volumeSize>100</volumeSize><snapshotId/></ebs>"
    "</item>\n"
    "        <item><ebs><snapshotId>snap-0000000000000000c</snapshotId>"
    "</ebs><deviceName>/dev/sdc</deviceName></item>\n"
    "      </blockDeviceMapping>\n"
    "      <tagSet><item><key>k</key><value>v</value></item></tagSet>\n"
    "      <description>ami with <snapshotId>snap-evil</snapshotId>"
    "</description>\n"
    "    </item>\n"
    "    <item><imageId>ami-0000000000000000d</imageId></item>\n"
    "  </imagesSet>\n"
    "  <nextToken></nextToken>\n"
    "</DescribeImagesResponse>\n";

static void
test_images(void **state)
{
	struct seen c;
	struct ec2xml *x;
	char *doc;
	size_t o, cap = 64 * 1024;

	(void)state;
	x = parse_ok(EC2XML_DESCRIBE_IMAGES, images_doc, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.items[0], "ami-1234567890abcdef0|"
	    "snap-1234567890abcdef0,snap-0000000000000000c");
	assert_string_equal(c.items[1], "ami-0000000000000000d|");
	assert_string_equal(ec2xml_next_token(x), "");
	assert_string_equal(ec2xml_request_id(x), "req-img");
	ec2xml_free(x);

	parse_fails(EC2XML_DESCRIBE_IMAGES,
	    "<DescribeImagesResponse xmlns=\"" NS "\"><imagesSet><item>"
	    "<name>x</name></item></imagesSet></DescribeImagesResponse>",
	    EC2XML_FAIL_CONTENT, "imagesSet/item[1]: image without "
	    "<imageId>");

	/* one mapping more than the limit */
	doc = malloc(cap);
	assert_non_null(doc);
	o = (size_t)snprintf(doc, cap, "<DescribeImagesResponse xmlns=\"" NS
	    "\"><imagesSet><item><imageId>ami-1</imageId>"
	    "<blockDeviceMapping>");
	for (int i = 0; i <= EC2XML_IMAGE_SNAPSHOTS_MAX; i++)
		o += (size_t)snprintf(doc + o, cap - o, "<item><ebs>"
		    "<snapshotId>snap-%d</snapshotId></ebs></item>", i);
	snprintf(doc + o, cap - o, "</blockDeviceMapping></item>"
	    "</imagesSet></DescribeImagesResponse>");
	parse_fails(EC2XML_DESCRIBE_IMAGES, doc, EC2XML_FAIL_LIMIT,
	    "more than 256 snapshots in one image");
	free(doc);
}

static void
test_create_snapshot(void **state)
{
	static const char doc[] =
	    XMLDECL
	    "<CreateSnapshotResponse xmlns=\"" NS "\">\n"
	    "  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>\n"
	    "  <snapshotId>snap-1234567890abcdef0</snapshotId>\n"
	    "  <volumeId>vol-1234567890abcdef0</volumeId>\n"
	    "  <status>pending</status>\n"
	    "  <startTime>2017-07-16T04:55:26.000Z</startTime>\n"
	    "  <progress/>\n"
	    "  <ownerId>123456789012</ownerId>\n"
	    "  <volumeSize>8</volumeSize>\n"
	    "  <encrypted>false</encrypted>\n"
	    "  <description>ec2backup: prod 2017-07-16</description>\n"
	    "  <tagSet>\n"
	    "    <item><key>ec2backup:policy</key><value>prod</value></item>\n"
	    "    <item><key>ec2backup:date</key><value>2017-07-16</value>"
	    "</item>\n"
	    "  </tagSet>\n"
	    "</CreateSnapshotResponse>\n";
	struct seen c;
	struct ec2xml *x;

	(void)state;
	x = parse_ok(EC2XML_CREATE_SNAPSHOT, doc, &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.items[0], "snap-1234567890abcdef0|"
	    "vol-1234567890abcdef0|pending|1500180926|"
	    "ec2backup: prod 2017-07-16|ec2backup:policy=prod;"
	    "ec2backup:date=2017-07-16");
	assert_string_equal(ec2xml_request_id(x),
	    "59dbff89-35bd-4eac-99ed-be587EXAMPLE");
	ec2xml_free(x);

	parse_fails(EC2XML_CREATE_SNAPSHOT,
	    "<CreateSnapshotResponse xmlns=\"" NS "\"><requestId>r"
	    "</requestId><status>pending</status></CreateSnapshotResponse>",
	    EC2XML_FAIL_CONTENT, "CreateSnapshotResponse: snapshot without "
	    "<snapshotId>");
	parse_fails(EC2XML_CREATE_SNAPSHOT,
	    "<CreateSnapshotResponse xmlns=\"" NS "\"><snapshotId>snap-1"
	    "</snapshotId><startTime>soon</startTime>"
	    "</CreateSnapshotResponse>", EC2XML_FAIL_CONTENT,
	    "startTime: \"soon\" is not an EC2 timestamp");
}

static void
test_return(void **state)
{
	struct seen c;
	struct ec2xml *x;

	(void)state;
	x = parse_ok(EC2XML_DELETE_SNAPSHOT, XMLDECL
	    "<DeleteSnapshotResponse xmlns=\"" NS "\">\n"
	    "  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>\n"
	    "  <return>true</return>\n"
	    "</DeleteSnapshotResponse>", &c);
	assert_true(ec2xml_return(x));
	assert_false(ec2xml_is_error(x));
	assert_int_equal(ec2xml_items(x), 0);
	ec2xml_free(x);

	x = parse_ok(EC2XML_CREATE_TAGS,
	    "<CreateTagsResponse xmlns=\"" NS "\"><requestId>r</requestId>"
	    "<return> false\n</return></CreateTagsResponse>", &c);
	assert_false(ec2xml_return(x));
	ec2xml_free(x);

	parse_fails(EC2XML_CREATE_TAGS,
	    "<CreateTagsResponse xmlns=\"" NS "\"><return>yes</return>"
	    "</CreateTagsResponse>", EC2XML_FAIL_CONTENT,
	    "return: \"yes\" is neither true nor false");
	parse_fails(EC2XML_DELETE_SNAPSHOT,
	    "<DeleteSnapshotResponse xmlns=\"" NS "\"><requestId>r"
	    "</requestId></DeleteSnapshotResponse>", EC2XML_FAIL_CONTENT,
	    "no <return> in <DeleteSnapshotResponse>");
	parse_fails(EC2XML_DELETE_SNAPSHOT,
	    "<CreateTagsResponse xmlns=\"" NS "\"><return>true</return>"
	    "</CreateTagsResponse>", EC2XML_FAIL_CONTENT,
	    "expected <DeleteSnapshotResponse>");
	parse_fails(EC2XML_DELETE_SNAPSHOT,
	    "<DeleteSnapshotResponse xmlns=\"" NS "\"><return>true</return>"
	    "<return>false</return></DeleteSnapshotResponse>",
	    EC2XML_FAIL_CONTENT, "more than one <return>");
}

/* ---- error documents ---- */

static void
test_error_response(void **state)
{
	static const char doc[] =
	    XMLDECL
	    "<Response><Errors><Error><Code>InvalidSnapshot.NotFound</Code>"
	    "<Message>The snapshot 'snap-1234567890abcdef0' does not exist."
	    "</Message></Error></Errors>"
	    "<RequestID>ea966190-f9aa-478e-9ede-example</RequestID>"
	    "</Response>";
	static const enum ec2xml_kind kinds[] = {
		EC2XML_DESCRIBE_SNAPSHOTS, EC2XML_DESCRIBE_VOLUMES,
		EC2XML_DESCRIBE_IMAGES, EC2XML_CREATE_SNAPSHOT,
		EC2XML_DELETE_SNAPSHOT, EC2XML_CREATE_TAGS,
		EC2XML_DESCRIBE_INSTANCES, EC2XML_CREATE_SNAPSHOTS,
		EC2XML_ERROR_ONLY,
	};
	struct seen c;

	(void)state;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		struct ec2xml *x = parse_ok(kinds[i], doc, &c);

		assert_true(ec2xml_is_error(x));
		assert_string_equal(ec2xml_error_code(x),
		    "InvalidSnapshot.NotFound");
		assert_string_equal(ec2xml_error_message(x),
		    "The snapshot 'snap-1234567890abcdef0' does not exist.");
		assert_string_equal(ec2xml_request_id(x),
		    "ea966190-f9aa-478e-9ede-example");
		assert_string_equal(ec2xml_next_token(x), "");
		assert_int_equal(c.n, 0);
		ec2xml_free(x);
	}
}

static void
test_error_shapes(void **state)
{
	struct seen c;
	struct ec2xml *x;

	(void)state;
	/* the Query-protocol shape */
	x = parse_ok(EC2XML_DESCRIBE_VOLUMES,
	    "<ErrorResponse><Error><Type>Sender</Type>"
	    "<Code>RequestLimitExceeded</Code><Message>Request limit "
	    "exceeded.</Message></Error><RequestId>abc-123</RequestId>"
	    "</ErrorResponse>", &c);
	assert_true(ec2xml_is_error(x));
	assert_string_equal(ec2xml_error_code(x), "RequestLimitExceeded");
	assert_string_equal(ec2xml_error_message(x), "Request limit "
	    "exceeded.");
	assert_string_equal(ec2xml_request_id(x), "abc-123");
	ec2xml_free(x);

	/* in an EC2 namespace; the first error counts; no message */
	x = parse_ok(EC2XML_ERROR_ONLY,
	    "<Response xmlns=\"" NS "\"><Errors><Error><Detail><Code>no"
	    "</Code></Detail><Code>AuthFailure</Code></Error><Error>"
	    "<Code>Second</Code><Message>second</Message></Error></Errors>"
	    "<RequestId>r-9</RequestId><RequestID>r-10</RequestID>"
	    "</Response>", &c);
	assert_string_equal(ec2xml_error_code(x), "AuthFailure");
	assert_string_equal(ec2xml_error_message(x), "");
	assert_string_equal(ec2xml_request_id(x), "r-9");
	ec2xml_free(x);

	parse_fails(EC2XML_ERROR_ONLY,
	    "<Response><Errors><Error><Message>m</Message></Error></Errors>"
	    "</Response>", EC2XML_FAIL_CONTENT,
	    "error document without <Code>");
	parse_fails(EC2XML_DELETE_SNAPSHOT,
	    "<Response><Errors><Error><Code/></Error></Errors></Response>",
	    EC2XML_FAIL_CONTENT, "error document without <Code>");
	parse_fails(EC2XML_ERROR_ONLY,
	    "<DeleteSnapshotResponse xmlns=\"" NS "\"><return>true</return>"
	    "</DeleteSnapshotResponse>", EC2XML_FAIL_CONTENT,
	    "expected an EC2 error document");
	/* Front ends and other services: any namespace on an error
	 * document, and <Errors> under <ErrorResponse> too. */
	x = parse_ok(EC2XML_ERROR_ONLY,
	    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
	    "2011-06-15/\"><Error><Code>AccessDenied</Code></Error>"
	    "</ErrorResponse>", &c);
	assert_string_equal(ec2xml_error_code(x), "AccessDenied");
	ec2xml_free(x);
	x = parse_ok(EC2XML_DESCRIBE_VOLUMES,
	    "<ErrorResponse><Errors><Error><Code>AuthFailure</Code><Message>"
	    "AWS was not able to validate the provided access credentials"
	    "</Message></Error></Errors><RequestID>q-1</RequestID>"
	    "</ErrorResponse>", &c);
	assert_true(ec2xml_is_error(x));
	assert_string_equal(ec2xml_error_code(x), "AuthFailure");
	assert_string_equal(ec2xml_request_id(x), "q-1");
	ec2xml_free(x);
	/* A success document keeps to EC2's namespaces. */
	parse_fails(EC2XML_DELETE_SNAPSHOT,
	    "<DeleteSnapshotResponse xmlns=\"https://sts.amazonaws.com/doc/"
	    "2011-06-15/\"><return>true</return></DeleteSnapshotResponse>",
	    EC2XML_FAIL_CONTENT, "namespace");
	parse_fails(EC2XML_ERROR_ONLY,
	    "<html><body>503 Service Unavailable</body></html>",
	    EC2XML_FAIL_CONTENT, "unexpected root element <html>");
}

static bool
valid_utf8_line(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t n;

		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (*p < 0x80)
			n = 1;
		else if (*p >= 0xc2 && *p <= 0xdf)
			n = 2;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 3;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 4;
		else
			return false;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		if (n == 2 && p[0] == 0xc2 && p[1] <= 0x9f)
			return false;          /* C1 control */
		p += n;
	}
	return true;
}

/* Messages are quoted in one log line: no control characters. */
static void
test_error_cleaning(void **state)
{
	struct seen c;
	struct ec2xml *x;
	char *doc;
	size_t o, cap = 64 * 1024;

	(void)state;
	x = parse_ok(EC2XML_ERROR_ONLY,
	    "<Response><Errors><Error><Code>\n  Bad&#9;Code\n</Code>"
	    "<Message>  first&#10;second&#13;&#10;third&#9;tab&#x7f;del"
	    "&#x85;nel&#x9b;[31mcsi&#x2028;ls&#x202e;rlo   spaces "
	    "caf\xc3\xa9 \xe2\x9c\x93  </Message></Error></Errors>"
	    "<RequestID>id\nwith\rbreaks</RequestID></Response>", &c);
	assert_string_equal(ec2xml_error_code(x), "Bad Code");
	assert_string_equal(ec2xml_error_message(x), "first second third "
	    "tab del nel [31mcsi ls rlo spaces caf\xc3\xa9 \xe2\x9c\x93");
	assert_string_equal(ec2xml_request_id(x), "id with breaks");
	ec2xml_free(x);

	/* A raw escape byte is not XML at all. */
	parse_fails(EC2XML_ERROR_ONLY, "<Response><Errors><Error><Code>X"
	    "</Code><Message>\x1b[2J</Message></Error></Errors></Response>",
	    EC2XML_FAIL_SYNTAX, "line 1");

	/* Over-long texts are cut on a character boundary, marked "...". */
	doc = malloc(cap);
	assert_non_null(doc);
	o = (size_t)snprintf(doc, cap, "<Response><Errors><Error><Code>");
	for (int i = 0; i < 300; i++)
		o += (size_t)snprintf(doc + o, cap - o, "C");
	o += (size_t)snprintf(doc + o, cap - o, "</Code><Message>x");
	for (int i = 0; i < 3000; i++)
		o += (size_t)snprintf(doc + o, cap - o, "\xc3\xa9");
	snprintf(doc + o, cap - o, "</Message></Error></Errors><RequestID>"
	    "%0200d</RequestID></Response>", 7);
	x = parse_ok(EC2XML_ERROR_ONLY, doc, &c);
	assert_int_equal(strlen(ec2xml_error_code(x)), EC2XML_CODE_MAX + 3);
	assert_memory_equal(ec2xml_error_code(x) + EC2XML_CODE_MAX, "...", 4);
	/* 1 + 2 * 2047 bytes fit; the half of the next character goes */
	assert_int_equal(strlen(ec2xml_error_message(x)), 4095 + 3);
	assert_true(valid_utf8_line(ec2xml_error_message(x)));
	assert_int_equal(strlen(ec2xml_request_id(x)),
	    EC2XML_REQUEST_ID_MAX + 3);
	ec2xml_free(x);
	free(doc);
}

/* ---- malformed, truncated and hostile documents ---- */

static void
test_truncated(void **state)
{
	size_t len = strlen(snapshots_doc);
	const char *end = strstr(snapshots_doc, "</DescribeSnapshotsResponse>");
	size_t complete = (size_t)(end - snapshots_doc) +
	    strlen("</DescribeSnapshotsResponse>");

	(void)state;
	/* Every cut before the root closes is detected at finish. */
	for (size_t cut = 0; cut <= len; cut++) {
		struct seen c;
		struct ec2xml *x;
		int rc;

		memset(&c, 0, sizeof c);
		rc = parse_len(EC2XML_DESCRIBE_SNAPSHOTS, snapshots_doc, cut,
		    cut % 2 ? BYTES : WHOLE, &c, &x);
		if (cut >= complete) {
			assert_int_equal(rc, 0);
			assert_int_equal(c.n, 2);
		} else {
			if (rc != -1 ||
			    ec2xml_failure(x) != EC2XML_FAIL_TRUNCATED)
				fail_msg("cut %zu: rc %d failure %d: %s", cut,
				    rc, ec2xml_failure(x),
				    ec2xml_failure_text(x));
			assert_true(c.n <= 2);
		}
		ec2xml_free(x);
	}
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, "", EC2XML_FAIL_TRUNCATED,
	    "empty body");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, "  \n", EC2XML_FAIL_TRUNCATED,
	    "before the root element");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, XMLDECL,
	    EC2XML_FAIL_TRUNCATED, "before the root element");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS,
	    "<DescribeSnapshotsResponse xmlns=\"" NS "\">\n<snapshotSet>\n"
	    "<item><snapshotId>snap-1</snapshotId>\n<startTime>2024",
	    EC2XML_FAIL_TRUNCATED, "truncated: the body ended on line 4 "
	    "inside snapshotSet/item[1]/startTime, expected </startTime>");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS,
	    "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet>"
	    "<item><restoreDetails><a>", EC2XML_FAIL_TRUNCATED,
	    "inside snapshotSet/item[1]/..., expected </item>");
	parse_fails(EC2XML_DELETE_SNAPSHOT,
	    "<DeleteSnapshotResponse xmlns=\"" NS "\"><return>true</return>",
	    EC2XML_FAIL_TRUNCATED, "expected </DeleteSnapshotResponse>");
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *doc;
		const char *want;
	} cases[] = {
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet>"
		  "</item></snapshotSet></DescribeSnapshotsResponse>",
		  "line 1, column" },
		{ "not xml at all", "line 1" },
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\">\n<snapshotSet>"
		  "\n<item a=b/></snapshotSet></DescribeSnapshotsResponse>",
		  "line 3" },
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet/>"
		  "</DescribeSnapshotsResponse><DescribeSnapshotsResponse/>",
		  "Extra content" },
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet>"
		  "<item><p:snapshotId>x</p:snapshotId></item></snapshotSet>"
		  "</DescribeSnapshotsResponse>", "prefix p" },
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet>"
		  "<item>&undefined;</item></snapshotSet>"
		  "</DescribeSnapshotsResponse>", "undefined" },
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet>"
		  "<item><description>\x01</description></item></snapshotSet>"
		  "</DescribeSnapshotsResponse>", "line 1" },
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet>"
		  "<item><description>&#0;</description></item></snapshotSet>"
		  "</DescribeSnapshotsResponse>", "line 1" },
		/* not UTF-8 */
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet>"
		  "<item><description>caf\xe9\xff</description></item>"
		  "</snapshotSet></DescribeSnapshotsResponse>", "line 1" },
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet>"
		  "<item><description>\xc0\x80</description></item>"
		  "</snapshotSet></DescribeSnapshotsResponse>", "line 1" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, cases[i].doc,
		    EC2XML_FAIL_SYNTAX, cases[i].want);
}

/* A declared encoding other than UTF-8 is read and given out as UTF-8. */
static void
test_latin1(void **state)
{
	struct seen c;
	struct ec2xml *x;

	(void)state;
	x = parse_ok(EC2XML_DESCRIBE_SNAPSHOTS,
	    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
	    "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet><item>"
	    ITEM_OK "<description>caf\xe9</description></item></snapshotSet>"
	    "</DescribeSnapshotsResponse>", &c);
	assert_string_equal(c.items[0], "snap-1|||1704067200|caf\xc3\xa9|");
	ec2xml_free(x);
}

static char fifo_path[256];
static int fifo_fd = -1;
#define MARKER "FILE-CONTENT-MARKER"

static int
fifo_setup(void **state)
{
	char dir[] = "/tmp/ec2xml-test-XXXXXX";

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(fifo_path, sizeof fifo_path, "%s/fifo", dir);
	if (mkfifo(fifo_path, 0600) != 0)
		return -1;
	/* Read-write and non-blocking: nobody blocks on the fifo, and what
	 * is written stays in it unless someone reads it. */
	fifo_fd = open(fifo_path, O_RDWR | O_NONBLOCK);
	if (fifo_fd < 0)
		return -1;
	return 0;
}

static int
fifo_teardown(void **state)
{
	char dir[256];
	char *slash;

	(void)state;
	if (fifo_fd >= 0)
		close(fifo_fd);
	unlink(fifo_path);
	snprintf(dir, sizeof dir, "%s", fifo_path);
	slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		rmdir(dir);
	}
	return 0;
}

/* DOCTYPEs are refused before anything they name is read. */
static void
test_doctype_external_entity(void **state)
{
	static const struct {
		const char *head;      /* the fifo's path goes between */
		const char *tail;
	} forms[] = {
		{ "<!DOCTYPE DescribeSnapshotsResponse [\n<!ENTITY xxe SYSTEM "
		  "\"file://", "\">\n]>\n<DescribeSnapshotsResponse xmlns=\""
		  NS "\"><requestId>&xxe;</requestId><snapshotSet/>"
		  "</DescribeSnapshotsResponse>" },
		{ "<!DOCTYPE DescribeSnapshotsResponse SYSTEM \"",
		  "\">\n<DescribeSnapshotsResponse xmlns=\"" NS "\">"
		  "<snapshotSet/></DescribeSnapshotsResponse>" },
		{ "<!DOCTYPE r [<!ENTITY % p SYSTEM \"", "\"> %p;]>"
		  "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet/>"
		  "</DescribeSnapshotsResponse>" },
		{ "<!DOCTYPE r PUBLIC \"-//x//y\" \"", "\">"
		  "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet/>"
		  "</DescribeSnapshotsResponse>" },
	};
	char doc[1024], got[64];
	ssize_t n;

	(void)state;
	n = write(fifo_fd, MARKER, strlen(MARKER));
	assert_int_equal(n, (ssize_t)strlen(MARKER));
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		snprintf(doc, sizeof doc, "%s%s%s", forms[i].head, fifo_path,
		    forms[i].tail);
		parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, doc, EC2XML_FAIL_SYNTAX,
		    "DOCTYPE");
	}
	/* The marker is still unread in the fifo. */
	n = read(fifo_fd, got, sizeof got);
	assert_int_equal(n, (ssize_t)strlen(MARKER));
	assert_memory_equal(got, MARKER, strlen(MARKER));
}

static void
test_billion_laughs(void **state)
{
	static const char doc[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE lolz [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"
	    "&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"
	    "&lol1;&lol1;&lol1;\">\n"
	    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"
	    "&lol2;&lol2;&lol2;\">\n"
	    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"
	    "&lol3;&lol3;&lol3;\">\n"
	    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"
	    "&lol4;&lol4;&lol4;\">\n"
	    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"
	    "&lol5;&lol5;&lol5;\">\n"
	    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"
	    "&lol6;&lol6;&lol6;\">\n"
	    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"
	    "&lol7;&lol7;&lol7;\">\n"
	    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;"
	    "&lol8;&lol8;&lol8;\">\n"
	    "]>\n"
	    "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet><item>"
	    "<snapshotId>snap-1</snapshotId><description>&lol9;"
	    "</description></item></snapshotSet></DescribeSnapshotsResponse>";
	clock_t t0 = clock();

	(void)state;
	mem_peak = mem_now;
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, doc, EC2XML_FAIL_SYNTAX,
	    "line 2, column");
	assert_true(clock() - t0 < CLOCKS_PER_SEC);
	assert_true(mem_peak - mem_now < 256 * 1024);
}

static char *
nested(int depth)
{
	size_t cap = (size_t)depth * 8 + 512, o;
	char *doc = malloc(cap);

	assert_non_null(doc);
	o = (size_t)snprintf(doc, cap, "<DescribeSnapshotsResponse xmlns=\""
	    NS "\"><snapshotSet><item>" ITEM_OK);
	/* root, snapshotSet and item are three levels */
	for (int i = 3; i < depth; i++)
		o += (size_t)snprintf(doc + o, cap - o, "<a>");
	for (int i = 3; i < depth; i++)
		o += (size_t)snprintf(doc + o, cap - o, "</a>");
	snprintf(doc + o, cap - o, "</item></snapshotSet>"
	    "</DescribeSnapshotsResponse>");
	return doc;
}

static void
test_depth(void **state)
{
	struct seen c;
	struct ec2xml *x;
	char *doc;
	clock_t t0;

	(void)state;
	doc = nested(EC2XML_DEPTH_MAX);
	x = parse_ok(EC2XML_DESCRIBE_SNAPSHOTS, doc, &c);
	assert_int_equal(c.n, 1);
	ec2xml_free(x);
	free(doc);

	doc = nested(EC2XML_DEPTH_MAX + 1);
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, doc, EC2XML_FAIL_LIMIT,
	    "snapshotSet/item[1]: elements nested more than 32 deep");
	free(doc);

	t0 = clock();
	doc = nested(100000);
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, doc, EC2XML_FAIL_LIMIT,
	    "nested more than 32 deep");
	free(doc);
	assert_true(clock() - t0 < 5 * CLOCKS_PER_SEC);
}

static void
test_ids(void **state)
{
	struct seen c;
	struct ec2xml *x;

	(void)state;
	/* 23 characters, and surrounding whitespace, are fine */
	x = parse_ok(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(
	    "<snapshotId>\n  snap-0123456789abcdef01\n</snapshotId>"
	    "<volumeId>vol-0123456789abcdef012</volumeId>"
	    "<startTime>2024-01-01T00:00:00.000Z</startTime>"), &c);
	assert_string_equal(c.items[0], "snap-0123456789abcdef01|"
	    "vol-0123456789abcdef012||1704067200||");
	ec2xml_free(x);

	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(
	    "<snapshotId>snap-0123456789abcdef0123</snapshotId>"
	    "<startTime>2024-01-01T00:00:00.000Z</startTime>"),
	    EC2XML_FAIL_CONTENT,
	    "snapshotSet/item[1]/snapshotId: longer than 23 characters");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(ITEM_OK
	    "<volumeId>vol-01234567890123456789012345678901234567890"
	    "</volumeId>"), EC2XML_FAIL_CONTENT,
	    "volumeId: longer than 23 characters");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(
	    "<snapshotId>snap 1</snapshotId>"), EC2XML_FAIL_CONTENT,
	    "snapshotId \"snap 1\" has a character that no id has");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(
	    "<snapshotId>snap-&lt;1&gt;</snapshotId>"), EC2XML_FAIL_CONTENT,
	    "has a character that no id has");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(
	    "<snapshotId>snap-\xc3\xa9</snapshotId>"), EC2XML_FAIL_CONTENT,
	    "has a character that no id has");
	parse_fails(EC2XML_DESCRIBE_VOLUMES,
	    "<DescribeVolumesResponse xmlns=\"" NS "\"><volumeSet><item>"
	    "<volumeId>vol-000000000000000000000</volumeId></item>"
	    "</volumeSet></DescribeVolumesResponse>", EC2XML_FAIL_CONTENT,
	    "volumeSet/item[1]/volumeId: longer than 23 characters");
}

static char *
repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t cap = strlen(head) + strlen(unit) * n + strlen(tail) + 1, o;
	char *s = malloc(cap);

	assert_non_null(s);
	o = (size_t)snprintf(s, cap, "%s", head);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s", unit);
	snprintf(s + o, cap - o, "%s", tail);
	return s;
}

#define HEAD "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet><item>" \
    ITEM_OK
#define TAIL "</item></snapshotSet></DescribeSnapshotsResponse>"

static void
test_text_limits(void **state)
{
	static const struct {
		const char *head;
		const char *unit;
		size_t ok;             /* this many units fit, one more not */
		const char *tail;
		const char *want;
	} cases[] = {
		{ HEAD "<description>", "d", EC2XML_DESCRIPTION_MAX,
		  "</description>" TAIL,
		  "snapshotSet/item[1]/description: longer than 1024 bytes" },
		{ HEAD "<description>", "\xc3\xa9", EC2XML_DESCRIPTION_MAX / 2,
		  "</description>" TAIL, "longer than 1024 bytes" },
		{ HEAD "<tagSet><item><key>", "k", EC2XML_TAG_KEY_MAX,
		  "</key></item></tagSet>" TAIL,
		  "tagSet/item/key: longer than 512 bytes" },
		{ HEAD "<tagSet><item><key>k</key><value>", "v",
		  EC2XML_TAG_VALUE_MAX, "</value></item></tagSet>" TAIL,
		  "tagSet/item/value: longer than 1024 bytes" },
		{ HEAD "<tagSet>", "<item><key>k</key><value>v</value></item>",
		  EC2XML_TAGS_MAX, "</tagSet>" TAIL, "more than 64 tags" },
		{ HEAD "<status>", "s", EC2XML_STATUS_MAX, "</status>" TAIL,
		  "status: longer than 32 characters" },
		{ "<DescribeSnapshotsResponse xmlns=\"" NS "\"><snapshotSet/>"
		  "<nextToken>", "t", EC2XML_TOKEN_MAX,
		  "</nextToken></DescribeSnapshotsResponse>",
		  "nextToken: longer than 4096 characters" },
	};
	struct seen c;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *doc = repeat(cases[i].head, cases[i].unit, cases[i].ok,
		    cases[i].tail);
		struct ec2xml *x = parse_ok(EC2XML_DESCRIBE_SNAPSHOTS, doc,
		    &c);
		ec2xml_free(x);
		free(doc);
		doc = repeat(cases[i].head, cases[i].unit, cases[i].ok + 1,
		    cases[i].tail);
		parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, doc, EC2XML_FAIL_LIMIT,
		    cases[i].want);
		free(doc);
	}
}

/* Full tags: the largest item there can be, delivered intact. */
static void
test_largest_item(void **state)
{
	size_t cap = 200 * 1024, o;
	char *doc = malloc(cap);
	struct seen c;
	struct ec2xml *x;
	char key[EC2XML_TAG_KEY_MAX + 1], value[EC2XML_TAG_VALUE_MAX + 1];

	(void)state;
	assert_non_null(doc);
	memset(value, 'v', EC2XML_TAG_VALUE_MAX);
	value[EC2XML_TAG_VALUE_MAX] = '\0';
	o = (size_t)snprintf(doc, cap, "%s<tagSet>", HEAD);
	for (int i = 0; i < EC2XML_TAGS_MAX; i++) {
		memset(key, 'a' + i % 26, EC2XML_TAG_KEY_MAX);
		key[EC2XML_TAG_KEY_MAX] = '\0';
		o += (size_t)snprintf(doc + o, cap - o, "<item><key>%s</key>"
		    "<value>%s</value></item>", key, value);
	}
	snprintf(doc + o, cap - o, "</tagSet>%s", TAIL);
	x = parse_ok(EC2XML_DESCRIBE_SNAPSHOTS, doc, &c);
	assert_int_equal(c.n, 1);
	ec2xml_free(x);
	free(doc);
}

static void
test_max_bytes(void **state)
{
	struct ec2xml *x;
	struct seen c;
	size_t len = strlen(snapshots_doc);

	(void)state;
	memset(&c, 0, sizeof c);
	x = ec2xml_new(EC2XML_DESCRIBE_SNAPSHOTS, &callbacks, &c);
	assert_non_null(x);
	ec2xml_set_max_bytes(x, len);
	assert_int_equal(ec2xml_feed(x, snapshots_doc, len), 0);
	assert_int_equal(ec2xml_finish(x), 0);
	assert_int_equal(c.n, 2);
	ec2xml_free(x);

	x = ec2xml_new(EC2XML_DESCRIBE_SNAPSHOTS, NULL, NULL);
	assert_non_null(x);
	ec2xml_set_max_bytes(x, len - 1);
	assert_int_equal(ec2xml_feed(x, snapshots_doc, 100), 0);
	assert_int_equal(ec2xml_feed(x, snapshots_doc + 100, len - 100), -1);
	assert_int_equal(ec2xml_failure(x), EC2XML_FAIL_LIMIT);
	assert_non_null(strstr(ec2xml_failure_text(x),
	    "body larger than"));
	assert_int_equal(ec2xml_finish(x), -1);
	ec2xml_free(x);
}

/* Names are interned by libxml2; a flood of distinct ones is refused. */
static void
test_many_names(void **state)
{
	size_t cap = 20000 * 40 + 512, o;
	char *doc = malloc(cap);

	(void)state;
	assert_non_null(doc);
	o = (size_t)snprintf(doc, cap, "%s", HEAD);
	for (int i = 0; i < 20000; i++)
		o += (size_t)snprintf(doc + o, cap - o, "<u%d/>", i);
	snprintf(doc + o, cap - o, "%s", TAIL);
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, doc, EC2XML_FAIL_LIMIT,
	    "more than 10000 distinct names");
	free(doc);
}

static void
test_callback_stop(void **state)
{
	struct seen c;
	struct ec2xml *x;

	(void)state;
	for (int how = 0; how < NCHUNKINGS; how++) {
		memset(&c, 0, sizeof c);
		c.stop_at = 1;
		assert_int_equal(parse(EC2XML_DESCRIBE_SNAPSHOTS, snapshots_doc,
		    how, &c, &x), -1);
		assert_int_equal(ec2xml_failure(x), EC2XML_FAIL_CALLBACK);
		assert_non_null(strstr(ec2xml_failure_text(x),
		    "snapshotSet/item[1]: stopped by the caller"));
		assert_int_equal(c.n, 1);
		ec2xml_free(x);
	}
}

static void
test_usage(void **state)
{
	struct ec2xml *x;
	static const char doc[] = "<DeleteSnapshotResponse xmlns=\"" NS "\">"
	    "<return>true</return></DeleteSnapshotResponse>";

	(void)state;
	assert_null(ec2xml_new((enum ec2xml_kind)99, NULL, NULL));
	ec2xml_free(NULL);

	x = ec2xml_new(EC2XML_DELETE_SNAPSHOT, NULL, NULL);
	assert_non_null(x);
	assert_int_equal(ec2xml_feed(x, doc, 0), 0);
	assert_int_equal(ec2xml_feed(x, doc, strlen(doc)), 0);
	assert_int_equal(ec2xml_finish(x), 0);
	assert_int_equal(ec2xml_finish(x), 0);
	assert_true(ec2xml_return(x));
	assert_int_equal(ec2xml_feed(x, " ", 1), -1);
	assert_int_equal(ec2xml_failure(x), EC2XML_FAIL_USAGE);
	ec2xml_free(x);

	/* a document shorter than the four bytes libxml2 sniffs */
	x = ec2xml_new(EC2XML_DELETE_SNAPSHOT, NULL, NULL);
	assert_non_null(x);
	assert_int_equal(ec2xml_feed(x, "<a", 2), 0);
	assert_int_equal(ec2xml_finish(x), -1);
	assert_int_equal(ec2xml_failure(x), EC2XML_FAIL_TRUNCATED);
	ec2xml_free(x);

	/* an unused parser */
	x = ec2xml_new(EC2XML_DESCRIBE_IMAGES, NULL, NULL);
	ec2xml_free(x);
}

static void
test_tag_get(void **state)
{
	static const struct ec2xml_tag tags[] = {
		{ "Name", "db" }, { "ec2backup:policy", "prod" },
		{ "Name", "second" }, { "empty", "" },
	};

	(void)state;
	assert_string_equal(ec2xml_tag_get(tags, 4, "Name"), "db");
	assert_string_equal(ec2xml_tag_get(tags, 4, "ec2backup:policy"),
	    "prod");
	assert_string_equal(ec2xml_tag_get(tags, 4, "empty"), "");
	assert_null(ec2xml_tag_get(tags, 4, "name"));
	assert_null(ec2xml_tag_get(tags, 0, "Name"));
}

/* ---- CreateSnapshots ---- */

static const char create_snapshots_doc[] =
    XMLDECL
    "<CreateSnapshotsResponse xmlns=\"" NS "\">\n"
    "  <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>\n"
    "  <snapshotSet>\n"
    "    <item>\n"
    "      <snapshotId>snap-0a1b2c3d4e5f67890</snapshotId>\n"
    "      <volumeId>vol-0a1b2c3d4e5f67890</volumeId>\n"
    "      <state>pending</state>\n"
    "      <startTime>2026-01-02T03:04:05.000Z</startTime>\n"
    "      <progress/>\n"
    "      <ownerId>111122223333</ownerId>\n"
    "      <volumeSize>8</volumeSize>\n"
    "      <description>nightly</description>\n"
    "      <encrypted>false</encrypted>\n"
    "      <tagSet>\n"
    "        <item><key>ManagedBy</key><value>ec2backup</value></item>\n"
    "        <item><key>Name</key><value>root</value></item>\n"
    "      </tagSet>\n"
    "      <availabilityZone>us-east-1a</availabilityZone>\n"
    "      <sseType>none</sseType>\n"
    "    </item>\n"
    "    <item>\n"
    "      <status>completed</status>\n"
    "      <snapshotId>snap-0b1b2c3d4e5f67890</snapshotId>\n"
    "      <volumeId>vol-0b1b2c3d4e5f67890</volumeId>\n"
    "      <state>pending</state>\n"
    "      <startTime>2026-01-02T03:04:05.000Z</startTime>\n"
    "      <progress>0%</progress>\n"
    "      <ownerId>111122223333</ownerId>\n"
    "      <volumeSize>100</volumeSize>\n"
    "      <description>nightly</description>\n"
    "      <encrypted>true</encrypted>\n"
    "      <outpostArn>arn:aws:outposts:us-east-1:111122223333:outpost/"
    "op-1</outpostArn>\n"
    "      <restoreDetails><snapshotId>snap-evil</snapshotId>"
    "<state>evil</state></restoreDetails>\n"
    "    </item>\n"
    "  </snapshotSet>\n"
    "</CreateSnapshotsResponse>\n";

#define CSNAP1 "snap-0a1b2c3d4e5f67890|vol-0a1b2c3d4e5f67890|pending|" \
    "1767323045|nightly|ManagedBy=ec2backup;Name=root"
#define CSNAP2 "snap-0b1b2c3d4e5f67890|vol-0b1b2c3d4e5f67890|pending|" \
    "1767323045|nightly|"

/* A CreateSnapshots response with one item whose body is given. */
#define CREATE_SNAPSHOTS(body) \
    "<CreateSnapshotsResponse xmlns=\"" NS "\"><requestId>r-1</requestId>" \
    "<snapshotSet><item>" body "</item></snapshotSet>" \
    "</CreateSnapshotsResponse>"

static void
test_create_snapshots(void **state)
{
	struct seen c;
	struct ec2xml *x;

	(void)state;
	x = parse_ok(EC2XML_CREATE_SNAPSHOTS, create_snapshots_doc, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.items[0], CSNAP1);
	assert_string_equal(c.items[1], CSNAP2);
	assert_int_equal(ec2xml_items(x), 2);
	assert_string_equal(ec2xml_request_id(x),
	    "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
	assert_string_equal(ec2xml_next_token(x), "");
	assert_false(ec2xml_is_error(x));
	ec2xml_free(x);

	/* <state> is optional; <status> is not its name here */
	x = parse_ok(EC2XML_CREATE_SNAPSHOTS, CREATE_SNAPSHOTS(ITEM_OK
	    "<status>completed</status>"), &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.items[0], "snap-1|||1704067200||");
	ec2xml_free(x);

	/* nor is <state> a DescribeSnapshots or CreateSnapshot name */
	x = parse_ok(EC2XML_DESCRIBE_SNAPSHOTS, SNAPSHOTS(ITEM_OK
	    "<state>completed</state><state>twice</state>"), &c);
	assert_string_equal(c.items[0], "snap-1|||1704067200||");
	ec2xml_free(x);
	x = parse_ok(EC2XML_CREATE_SNAPSHOT,
	    "<CreateSnapshotResponse xmlns=\"" NS "\">" ITEM_OK
	    "<state>pending</state></CreateSnapshotResponse>", &c);
	assert_string_equal(c.items[0], "snap-1|||1704067200||");
	ec2xml_free(x);

	/* an empty set, and another API version */
	x = parse_ok(EC2XML_CREATE_SNAPSHOTS,
	    "<CreateSnapshotsResponse xmlns=\"http://ec2.amazonaws.com/doc/"
	    "2013-10-15/\"><snapshotSet/></CreateSnapshotsResponse>", &c);
	assert_int_equal(c.n, 0);
	ec2xml_free(x);

	parse_fails(EC2XML_CREATE_SNAPSHOTS, CREATE_SNAPSHOTS(
	    "<startTime>2024-01-01T00:00:00.000Z</startTime>"
	    "<state>pending</state>"), EC2XML_FAIL_CONTENT,
	    "snapshotSet/item[1]: snapshot without <snapshotId>");
	parse_fails(EC2XML_CREATE_SNAPSHOTS, CREATE_SNAPSHOTS(
	    "<snapshotId>snap-1</snapshotId><state>pending</state>"),
	    EC2XML_FAIL_CONTENT, "snapshotSet/item[1]: snapshot snap-1 "
	    "without <startTime>");
	parse_fails(EC2XML_CREATE_SNAPSHOTS, CREATE_SNAPSHOTS(
	    "<snapshotId>snap-1</snapshotId><startTime>now</startTime>"),
	    EC2XML_FAIL_CONTENT, "snapshotSet/item[1]/startTime: \"now\" is "
	    "not an EC2 timestamp");
	parse_fails(EC2XML_CREATE_SNAPSHOTS, CREATE_SNAPSHOTS(ITEM_OK
	    "<state>pending</state><state>error</state>"),
	    EC2XML_FAIL_CONTENT, "snapshotSet/item[1]: more than one <state>");
	parse_fails(EC2XML_CREATE_SNAPSHOTS, CREATE_SNAPSHOTS(ITEM_OK
	    "<snapshotId>snap-2</snapshotId>"), EC2XML_FAIL_CONTENT,
	    "more than one <snapshotId>");
	parse_fails(EC2XML_CREATE_SNAPSHOTS, CREATE_SNAPSHOTS(ITEM_OK
	    "<volumeId>vol 1</volumeId>"), EC2XML_FAIL_CONTENT,
	    "snapshotSet/item[1]/volumeId: volumeId \"vol 1\" has a "
	    "character that no id has");
	parse_fails(EC2XML_CREATE_SNAPSHOTS, CREATE_SNAPSHOTS(ITEM_OK
	    "<state>pending-pending-pending-pending-p</state>"),
	    EC2XML_FAIL_LIMIT,
	    "snapshotSet/item[1]/state: longer than 32 characters");
	parse_fails(EC2XML_CREATE_SNAPSHOTS, CREATE_SNAPSHOTS(ITEM_OK
	    "<tagSet><item><key>a</key><value>1</value><value>2</value>"
	    "</item></tagSet>"), EC2XML_FAIL_CONTENT,
	    "snapshotSet/item[1]/tagSet/item: more than one <value>");
	parse_fails(EC2XML_CREATE_SNAPSHOTS,
	    "<CreateSnapshotsResponse xmlns=\"" NS "\"><requestId>r"
	    "</requestId></CreateSnapshotsResponse>", EC2XML_FAIL_CONTENT,
	    "no <snapshotSet> in <CreateSnapshotsResponse>");
	/* the singular and plural responses are not each other */
	parse_fails(EC2XML_CREATE_SNAPSHOTS,
	    "<CreateSnapshotResponse xmlns=\"" NS "\">" ITEM_OK
	    "</CreateSnapshotResponse>", EC2XML_FAIL_CONTENT,
	    "unexpected root element <CreateSnapshotResponse>, expected "
	    "<CreateSnapshotsResponse>");
	parse_fails(EC2XML_CREATE_SNAPSHOT, create_snapshots_doc,
	    EC2XML_FAIL_CONTENT, "unexpected root element "
	    "<CreateSnapshotsResponse>, expected <CreateSnapshotResponse>");
	parse_fails(EC2XML_DESCRIBE_SNAPSHOTS, create_snapshots_doc,
	    EC2XML_FAIL_CONTENT, "expected <DescribeSnapshotsResponse>");
	parse_fails(EC2XML_CREATE_SNAPSHOTS,
	    "<CreateSnapshotsResponse xmlns=\"" NS "\"><snapshotSet><item>"
	    ITEM_OK "<tagSet><item><key>", EC2XML_FAIL_TRUNCATED,
	    "inside snapshotSet/item[1]/tagSet/item/key, expected </key>");
}

/* ---- DescribeInstances ---- */

/* In two parts: ISO C promises string literals of 4095 bytes only. */
static const char instances_doc_1[] =
    XMLDECL
    "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/"
    "2016-11-15/\">\n"
    "  <requestId>d15d204f-fc31-4600-85d3-5c86e5483b92</requestId>\n"
    "  <reservationSet>\n"
    "    <item>\n"
    "      <reservationId>r-0123456789abcdef0</reservationId>\n"
    "      <ownerId>123456789012</ownerId>\n"
    "      <groupSet>\n"
    "        <item><groupId>sg-4e970e7e</groupId>"
    "<groupName>notebook</groupName><instanceId>i-evil0</instanceId>"
    "</item>\n"
    "      </groupSet>\n"
    "      <instancesSet>\n"
    "        <item>\n"
    "          <instanceId>i-0fde9cece00000001</instanceId>\n"
    "          <imageId>ami-30fe7300</imageId>\n"
    "          <instanceState>\n"
    "            <code>80</code>\n"
    "            <name>stopped</name>\n"
    "          </instanceState>\n"
    "          <privateDnsName/>\n"
    "          <dnsName/>\n"
    "          <reason>User initiated (2013-03-01 17:24:16 GMT)</reason>\n"
    "          <keyName>aws</keyName>\n"
    "          <amiLaunchIndex>0</amiLaunchIndex>\n"
    "          <productCodes/>\n"
    "          <instanceType>m1.small</instanceType>\n"
    "          <launchTime>2012-10-16T20:00:13.000Z</launchTime>\n"
    "          <placement>\n"
    "            <availabilityZone>us-west-2a</availabilityZone>\n"
    "            <groupName/>\n"
    "            <tenancy>default</tenancy>\n"
    "          </placement>\n"
    "          <monitoring><state>disabled</state></monitoring>\n"
    "          <groupSet><item><groupId>sg-4e970e7e</groupId>"
    "<groupName>notebook</groupName></item></groupSet>\n"
    "          <stateReason>\n"
    "            <code>Client.UserInitiatedShutdown</code>\n"
    "            <message>Client.UserInitiatedShutdown: User initiated "
    "shutdown</message>\n"
    "          </stateReason>\n"
    "          <architecture>x86_64</architecture>\n"
    "          <rootDeviceType>ebs</rootDeviceType>\n"
    "          <rootDeviceName>/dev/sda1</rootDeviceName>\n"
    "          <blockDeviceMapping>\n"
    "            <item>\n"
    "              <deviceName>/dev/sda1</deviceName>\n"
    "              <ebs>\n"
    "                <volumeId>vol-0bc71579a00000001</volumeId>\n"
    "                <status>attached</status>\n"
    "                <attachTime>2012-10-16T20:00:21.000Z</attachTime>\n"
    "                <deleteOnTermination>true</deleteOnTermination>\n"
    "              </ebs>\n"
    "            </item>\n"
    "          </blockDeviceMapping>\n"
    "          <virtualizationType>paravirtual</virtualizationType>\n"
    "          <clientToken/>\n"
    "          <tagSet>\n"
    "            <item><key>notebook</key><value/></item>\n"
    "          </tagSet>\n"
    "          <hypervisor>xen</hypervisor>\n"
    "          <networkInterfaceSet/>\n"
    "          <ebsOptimized>false</ebsOptimized>\n"
    "        </item>\n"
    "      </instancesSet>\n"
    "    </item>\n";
static const char instances_doc_2[] =
    "    <item>\n"
    "      <reservationId>r-6670ce54</reservationId>\n"
    "      <ownerId>123456789012</ownerId>\n"
    "      <groupSet/>\n"
    "      <blockDeviceMapping><item><deviceName>/dev/evil</deviceName>"
    "</item></blockDeviceMapping>\n"
    "      <instancesSet>\n"
    "        <item>\n"
    "          <instanceId>i-078f1b94a00000002</instanceId>\n"
    "          <imageId>ami-c4d643f4</imageId>\n"
    "          <instanceState><code>16</code><name>running</name>"
    "</instanceState>\n"
    "          <productCodes><item><productCode>abc</productCode>"
    "<type>marketplace</type></item></productCodes>\n"
    "          <instanceType>m5.large</instanceType>\n"
    "          <placement><availabilityZone>us-west-2b</availabilityZone>"
    "<availabilityZoneId>usw2-az2</availabilityZoneId>"
    "<tenancy>default</tenancy></placement>\n"
    "          <monitoring><state>enabled</state></monitoring>\n"
    "          <rootDeviceType>ebs</rootDeviceType>\n"
    "          <blockDeviceMapping>\n"
    "            <item><deviceName>/dev/xvda</deviceName><ebs>"
    "<volumeId>vol-0a8d2e99100000002</volumeId><status>attached</status>"
    "<attachTime>2023-03-09T16:44:07.000Z</attachTime>"
    "<deleteOnTermination>true</deleteOnTermination></ebs></item>\n"
    "            <item><ebs><deleteOnTermination>false"
    "</deleteOnTermination><status>attaching</status>"
    "<volumeId>vol-0a8d2e99100000003</volumeId></ebs>"
    "<deviceName>/dev/sdf</deviceName></item>\n"
    "            <item><deviceName>/dev/sdg</deviceName>"
    "<noDevice/><volumeId>vol-evil</volumeId><status>evil</status>"
    "</item>\n"
    "            <item><deviceName>/dev/sdh</deviceName><ebs>"
    "<volumeId>vol-0a8d2e99100000004</volumeId><status>detaching"
    "</status><attachment><volumeId>vol-evil</volumeId>"
    "<status>evil</status></attachment><volumeOwnerId>123456789012"
    "</volumeOwnerId><tagSet><item><key>evil</key></item></tagSet>"
    "</ebs></item>\n"
    "          </blockDeviceMapping>\n"
    "          <rootDeviceName>/dev/xvda</rootDeviceName>\n"
    "          <networkInterfaceSet>\n"
    "            <item>\n"
    "              <networkInterfaceId>eni-0123</networkInterfaceId>\n"
    "              <status>in-use</status>\n"
    "              <attachment>\n"
    "                <attachmentId>eni-attach-1</attachmentId>\n"
    "                <deviceIndex>0</deviceIndex>\n"
    "                <status>attached</status>\n"
    "                <instanceId>i-evil1</instanceId>\n"
    "              </attachment>\n"
    "              <tagSet><item><key>evil</key><value>eni</value>"
    "</item></tagSet>\n"
    "            </item>\n"
    "          </networkInterfaceSet>\n"
    "          <iamInstanceProfile><arn>arn:aws:iam::123456789012:"
    "instance-profile/x</arn><id>AIPAEXAMPLE</id></iamInstanceProfile>\n"
    "          <metadataOptions><state>applied</state>"
    "<httpTokens>required</httpTokens></metadataOptions>\n"
    "          <tagSet>\n"
    "            <item><key>Name</key><value>db-1</value></item>\n"
    "            <item><key>ec2backup:policy</key><value>prod</value>"
    "</item>\n"
    "          </tagSet>\n"
    "          <hypervisor>xen</hypervisor>\n"
    "        </item>\n"
    "        <item>\n"
    "          <instanceId> i-0000000000000000c </instanceId>\n"
    "          <instanceState><name>terminated</name><code>48</code>"
    "</instanceState>\n"
    "          <rootDeviceType>instance-store</rootDeviceType>\n"
    "          <rootDeviceName>/dev/sda1</rootDeviceName>\n"
    "          <blockDeviceMapping/>\n"
    "        </item>\n"
    "      </instancesSet>\n"
    "      <requesterId>940372691376</requesterId>\n"
    "    </item>\n"
    "  </reservationSet>\n"
    "  <nextToken>eyJpbnN0YW5jZXMiOiAyfQ==</nextToken>\n"
    "</DescribeInstancesResponse>\n";
static char instances_doc[sizeof instances_doc_1 + sizeof instances_doc_2];

static int
instances_setup(void **state)
{
	(void)state;
	snprintf(instances_doc, sizeof instances_doc, "%s%s", instances_doc_1,
	    instances_doc_2);
	return 0;
}

#define INST1 "i-0fde9cece00000001|stopped|/dev/sda1|1:" \
    "/dev/sda1=vol-0bc71579a00000001/attached|notebook="
#define INST2 "i-078f1b94a00000002|running|/dev/xvda|4:" \
    "/dev/xvda=vol-0a8d2e99100000002/attached," \
    "/dev/sdf=vol-0a8d2e99100000003/attaching,/dev/sdg=/," \
    "/dev/sdh=vol-0a8d2e99100000004/detaching|" \
    "Name=db-1;ec2backup:policy=prod"
#define INST3 "i-0000000000000000c|terminated|/dev/sda1|0:|"

/* A DescribeInstances page with one instance whose body is given. */
#define INSTANCES(body) \
    "<DescribeInstancesResponse xmlns=\"" NS "\"><reservationSet><item>" \
    "<instancesSet><item>" body "</item></instancesSet></item>" \
    "</reservationSet></DescribeInstancesResponse>"
#define INSTANCE_OK "<instanceId>i-1</instanceId>"
/* ... and one mapping whose body is given */
#define MAPPING(body) INSTANCES(INSTANCE_OK "<blockDeviceMapping><item>" \
    body "</item></blockDeviceMapping>")

static void
test_instances(void **state)
{
	struct seen c;
	struct ec2xml *x;

	(void)state;
	x = parse_ok(EC2XML_DESCRIBE_INSTANCES, instances_doc, &c);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.items[0], INST1);
	assert_string_equal(c.items[1], INST2);
	assert_string_equal(c.items[2], INST3);
	assert_int_equal(ec2xml_items(x), 3);
	assert_string_equal(ec2xml_request_id(x),
	    "d15d204f-fc31-4600-85d3-5c86e5483b92");
	assert_string_equal(ec2xml_next_token(x), "eyJpbnN0YW5jZXMiOiAyfQ==");
	assert_false(ec2xml_is_error(x));
	ec2xml_free(x);

	/* the least there is: an id */
	x = parse_ok(EC2XML_DESCRIBE_INSTANCES, INSTANCES(INSTANCE_OK), &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.items[0], "i-1|||0:|");
	ec2xml_free(x);

	/* empty pages: no reservation, a reservation without instances */
	x = parse_ok(EC2XML_DESCRIBE_INSTANCES,
	    "<DescribeInstancesResponse xmlns=\"" NS "\"><requestId>r"
	    "</requestId><reservationSet/><nextToken/>"
	    "</DescribeInstancesResponse>", &c);
	assert_int_equal(c.n, 0);
	assert_string_equal(ec2xml_next_token(x), "");
	ec2xml_free(x);
	x = parse_ok(EC2XML_DESCRIBE_INSTANCES,
	    "<DescribeInstancesResponse><reservationSet><item>"
	    "<instancesSet/></item></reservationSet>"
	    "</DescribeInstancesResponse>", &c);
	assert_int_equal(c.n, 0);
	ec2xml_free(x);

	/* mappings: empty ones count, whitespace is trimmed, an empty
	 * <ebs> leaves the volume "" */
	x = parse_ok(EC2XML_DESCRIBE_INSTANCES, MAPPING(
	    "<deviceName>\n  xvdf\n</deviceName><ebs><volumeId>\n"
	    "vol-1 </volumeId><status/></ebs></item><item/><item><ebs/>"),
	    &c);
	assert_string_equal(c.items[0], "i-1|||3:xvdf=vol-1/,=/,=/|");
	ec2xml_free(x);

	/* without callbacks the items are still counted */
	x = ec2xml_new(EC2XML_DESCRIBE_INSTANCES, NULL, NULL);
	assert_non_null(x);
	assert_int_equal(ec2xml_feed(x, instances_doc,
	    strlen(instances_doc)), 0);
	assert_int_equal(ec2xml_finish(x), 0);
	assert_int_equal(ec2xml_items(x), 3);
	ec2xml_free(x);
	/* nor does a snapshot callback see instances */
	{
		static const struct ec2xml_callbacks snap_only = {
			.snapshot = on_snapshot,
		};

		memset(&c, 0, sizeof c);
		x = ec2xml_new(EC2XML_DESCRIBE_INSTANCES, &snap_only, &c);
		assert_non_null(x);
		assert_int_equal(ec2xml_feed(x, instances_doc,
		    strlen(instances_doc)), 0);
		assert_int_equal(ec2xml_finish(x), 0);
		assert_int_equal(c.n, 0);
		assert_int_equal(ec2xml_items(x), 3);
		ec2xml_free(x);
	}
}

static void
test_instances_invalid(void **state)
{
	(void)state;
	/* required and malformed ids */
	assert_int_equal(parse_fails(EC2XML_DESCRIBE_INSTANCES, INSTANCES(
	    "<imageId>ami-1</imageId><networkInterfaceSet><item><attachment>"
	    "<instanceId>i-evil</instanceId></attachment></item>"
	    "</networkInterfaceSet>"), EC2XML_FAIL_CONTENT,
	    "reservationSet/item[1]/instancesSet/item[1]: instance without "
	    "<instanceId>"), 0);
	assert_int_equal(parse_fails(EC2XML_DESCRIBE_INSTANCES, INSTANCES(
	    "<instanceId/>"), EC2XML_FAIL_CONTENT,
	    "instance without <instanceId>"), 0);
	parse_fails(EC2XML_DESCRIBE_INSTANCES, INSTANCES(
	    "<instanceId>i-0123456789abcdef012345</instanceId>"),
	    EC2XML_FAIL_CONTENT, "reservationSet/item[1]/instancesSet/"
	    "item[1]/instanceId: longer than 23 characters");
	parse_fails(EC2XML_DESCRIBE_INSTANCES, INSTANCES(
	    "<instanceId>i/1</instanceId>"), EC2XML_FAIL_CONTENT,
	    "instanceId \"i/1\" has a character that no id has");
	parse_fails(EC2XML_DESCRIBE_INSTANCES, MAPPING(
	    "<ebs><volumeId>vol-0123456789abcdef01234</volumeId></ebs>"),
	    EC2XML_FAIL_CONTENT, "instancesSet/item[1]/blockDeviceMapping/"
	    "item[1]/ebs/volumeId: longer than 23 characters");
	parse_fails(EC2XML_DESCRIBE_INSTANCES, MAPPING(
	    "<ebs><volumeId>vol-1;</volumeId></ebs>"), EC2XML_FAIL_CONTENT,
	    "volumeId \"vol-1;\" has a character that no id has");

	/* one of each field per instance, per mapping, per ebs */
	parse_fails(EC2XML_DESCRIBE_INSTANCES, INSTANCES(INSTANCE_OK
	    "<instanceId>i-2</instanceId>"), EC2XML_FAIL_CONTENT,
	    "instancesSet/item[1]: more than one <instanceId>");
	parse_fails(EC2XML_DESCRIBE_INSTANCES, INSTANCES(INSTANCE_OK
	    "<instanceState><name>running</name><name>stopped</name>"
	    "</instanceState>"), EC2XML_FAIL_CONTENT,
	    "instancesSet/item[1]/instanceState: more than one <name>");
	parse_fails(EC2XML_DESCRIBE_INSTANCES, INSTANCES(INSTANCE_OK
	    "<instanceState><name>running</name></instanceState>"
	    "<instanceState><name>stopped</name></instanceState>"),
	    EC2XML_FAIL_CONTENT, "more than one <name>");
	parse_fails(EC2XML_DESCRIBE_INSTANCES, INSTANCES(INSTANCE_OK
	    "<rootDeviceName>/dev/sda1</rootDeviceName>"
	    "<rootDeviceName>/dev/xvda</rootDeviceName>"),
	    EC2XML_FAIL_CONTENT, "more than one <rootDeviceName>");
	parse_fails(EC2XML_DESCRIBE_INSTANCES, MAPPING(
	    "<deviceName>/dev/sdf</deviceName>"
	    "<deviceName>/dev/sdg</deviceName>"), EC2XML_FAIL_CONTENT,
	    "instancesSet/item[1]/blockDeviceMapping/item[1]: more than one "
	    "<deviceName>");
	parse_fails(EC2XML_DESCRIBE_INSTANCES, MAPPING(
	    "<deviceName>/dev/sda1</deviceName></item><item>"
	    "<ebs><volumeId>vol-1</volumeId><volumeId>vol-2</volumeId></ebs>"),
	    EC2XML_FAIL_CONTENT, "blockDeviceMapping/item[2]/ebs: more than "
	    "one <volumeId>");
	parse_fails(EC2XML_DESCRIBE_INSTANCES, MAPPING(
	    "<ebs><volumeId>vol-1</volumeId></ebs>"
	    "<ebs><volumeId>vol-2</volumeId></ebs>"), EC2XML_FAIL_CONTENT,
	    "more than one <volumeId>");
	parse_fails(EC2XML_DESCRIBE_INSTANCES, MAPPING(
	    "<ebs><status>attached</status><status>detached</status></ebs>"),
	    EC2XML_FAIL_CONTENT, "ebs: more than one <status>");
	parse_fails(EC2XML_DESCRIBE_INSTANCES, INSTANCES(INSTANCE_OK
	    "<tagSet><item><key>a</key><key>b</key></item></tagSet>"),
	    EC2XML_FAIL_CONTENT,
	    "instancesSet/item[1]/tagSet/item: more than one <key>");

	/* the page */
	parse_fails(EC2XML_DESCRIBE_INSTANCES,
	    "<DescribeInstancesResponse xmlns=\"" NS "\"><requestId>r"
	    "</requestId><nextToken/></DescribeInstancesResponse>",
	    EC2XML_FAIL_CONTENT,
	    "no <reservationSet> in <DescribeInstancesResponse>");
	parse_fails(EC2XML_DESCRIBE_INSTANCES,
	    "<DescribeInstancesResponse xmlns=\"" NS "\"><reservationSet/>"
	    "<nextToken>a</nextToken><nextToken>b</nextToken>"
	    "</DescribeInstancesResponse>", EC2XML_FAIL_CONTENT,
	    "more than one <nextToken>");
	parse_fails(EC2XML_DESCRIBE_INSTANCES, volumes_doc,
	    EC2XML_FAIL_CONTENT, "unexpected root element "
	    "<DescribeVolumesResponse>, expected <DescribeInstancesResponse>");
	parse_fails(EC2XML_DESCRIBE_VOLUMES, instances_doc,
	    EC2XML_FAIL_CONTENT, "unexpected root element "
	    "<DescribeInstancesResponse>");
	parse_fails(EC2XML_DESCRIBE_INSTANCES,
	    "<DescribeInstancesResponse xmlns=\"urn:other\"><reservationSet/>"
	    "</DescribeInstancesResponse>", EC2XML_FAIL_CONTENT,
	    "namespace \"urn:other\"");

	/* cut short: the path names the reservation, instance, mapping */
	parse_fails(EC2XML_DESCRIBE_INSTANCES,
	    "<DescribeInstancesResponse xmlns=\"" NS "\"><reservationSet>"
	    "<item><instancesSet><item>" INSTANCE_OK "</item></instancesSet>"
	    "</item><item><instancesSet><item>" INSTANCE_OK "</item><item>"
	    "<blockDeviceMapping><item/><item><ebs><volumeId>vol-",
	    EC2XML_FAIL_TRUNCATED, "inside reservationSet/item[2]/"
	    "instancesSet/item[2]/blockDeviceMapping/item[2]/ebs/volumeId, "
	    "expected </volumeId>");
	parse_fails(EC2XML_DESCRIBE_INSTANCES,
	    "<DescribeInstancesResponse xmlns=\"" NS "\"><reservationSet>"
	    "<item><instancesSet><item>" INSTANCE_OK "<placement>",
	    EC2XML_FAIL_TRUNCATED, "inside reservationSet/item[1]/"
	    "instancesSet/item[1]/..., expected </item>");
}

/* Every limit of an instance: at the limit it parses, one more fails. */
static void
test_instance_limits(void **state)
{
	static const struct {
		const char *head;
		const char *unit;
		size_t ok;             /* this many units fit, one more not */
		const char *tail;
		enum ec2xml_failure f;
		const char *want;
	} cases[] = {
#define IHEAD "<DescribeInstancesResponse xmlns=\"" NS "\"><reservationSet>" \
    "<item><instancesSet><item>" INSTANCE_OK
#define ITAIL "</item></instancesSet></item></reservationSet>" \
    "</DescribeInstancesResponse>"
		{ IHEAD "<rootDeviceName>", "d", EC2XML_DEVICE_MAX,
		  "</rootDeviceName>" ITAIL, EC2XML_FAIL_LIMIT,
		  "instancesSet/item[1]/rootDeviceName: longer than 64 "
		  "characters" },
		{ IHEAD "<blockDeviceMapping><item><deviceName>", "d",
		  EC2XML_DEVICE_MAX, "</deviceName></item>"
		  "</blockDeviceMapping>" ITAIL, EC2XML_FAIL_LIMIT,
		  "blockDeviceMapping/item[1]/deviceName: longer than 64 "
		  "characters" },
		{ IHEAD "<blockDeviceMapping><item><ebs><status>", "s",
		  EC2XML_STATUS_MAX, "</status></ebs></item>"
		  "</blockDeviceMapping>" ITAIL, EC2XML_FAIL_LIMIT,
		  "blockDeviceMapping/item[1]/ebs/status: longer than 32 "
		  "characters" },
		{ IHEAD "<instanceState><name>", "n", EC2XML_STATUS_MAX,
		  "</name></instanceState>" ITAIL, EC2XML_FAIL_LIMIT,
		  "instanceState/name: longer than 32 characters" },
		{ IHEAD "<blockDeviceMapping>", "<item><deviceName>/dev/sdf"
		  "</deviceName><ebs><volumeId>vol-1</volumeId></ebs></item>",
		  EC2XML_MAPPINGS_MAX, "</blockDeviceMapping>" ITAIL,
		  EC2XML_FAIL_LIMIT, "reservationSet/item[1]/instancesSet/"
		  "item[1]/blockDeviceMapping: more than 256 block device "
		  "mappings in one instance" },
		/* two sets count together */
		{ IHEAD, "<blockDeviceMapping><item/></blockDeviceMapping>",
		  EC2XML_MAPPINGS_MAX, ITAIL, EC2XML_FAIL_LIMIT,
		  "more than 256 block device mappings" },
		{ IHEAD "<tagSet>", "<item><key>k</key><value>v</value></item>",
		  EC2XML_TAGS_MAX, "</tagSet>" ITAIL, EC2XML_FAIL_LIMIT,
		  "instancesSet/item[1]/tagSet: more than 64 tags" },
		{ IHEAD "<tagSet><item><key>", "k", EC2XML_TAG_KEY_MAX,
		  "</key></item></tagSet>" ITAIL, EC2XML_FAIL_LIMIT,
		  "tagSet/item/key: longer than 512 bytes" },
#undef IHEAD
#undef ITAIL
	};
	struct seen c;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *doc = repeat(cases[i].head, cases[i].unit, cases[i].ok,
		    cases[i].tail);
		struct ec2xml *x = parse_ok(EC2XML_DESCRIBE_INSTANCES, doc,
		    &c);

		assert_int_equal(c.n, 1);
		ec2xml_free(x);
		free(doc);
		doc = repeat(cases[i].head, cases[i].unit, cases[i].ok + 1,
		    cases[i].tail);
		parse_fails(EC2XML_DESCRIBE_INSTANCES, doc, cases[i].f,
		    cases[i].want);
		free(doc);
	}
}

/* The largest instance there can be is delivered intact, and the next
 * instance starts from nothing. */
static void
test_largest_instance(void **state)
{
	size_t cap = 400 * 1024, o;
	char *doc = malloc(cap);
	char dev[EC2XML_DEVICE_MAX + 1], status[EC2XML_STATUS_MAX + 1];
	char want[256];
	struct seen c;
	struct ec2xml *x;

	(void)state;
	assert_non_null(doc);
	memset(dev, 'd', EC2XML_DEVICE_MAX);
	dev[EC2XML_DEVICE_MAX] = '\0';
	memset(status, 's', EC2XML_STATUS_MAX);
	status[EC2XML_STATUS_MAX] = '\0';
	o = (size_t)snprintf(doc, cap, "<DescribeInstancesResponse xmlns=\""
	    NS "\"><reservationSet><item><instancesSet><item>"
	    "<instanceId>i-0123456789abcdef01234</instanceId>"
	    "<rootDeviceName>%s</rootDeviceName><instanceState><name>%s"
	    "</name></instanceState><blockDeviceMapping>", dev, status);
	for (int i = 0; i < EC2XML_MAPPINGS_MAX; i++)
		o += (size_t)snprintf(doc + o, cap - o, "<item><deviceName>"
		    "%.60s%04d</deviceName><ebs><volumeId>vol-%019d"
		    "</volumeId><status>%s</status></ebs></item>", dev, i, i,
		    status);
	o += (size_t)snprintf(doc + o, cap - o, "</blockDeviceMapping>"
	    "<tagSet>");
	for (int i = 0; i < EC2XML_TAGS_MAX; i++)
		o += (size_t)snprintf(doc + o, cap - o, "<item><key>k%d</key>"
		    "<value>v</value></item>", i);
	snprintf(doc + o, cap - o, "</tagSet></item><item><instanceId>i-2"
	    "</instanceId></item></instancesSet></item></reservationSet>"
	    "</DescribeInstancesResponse>");
	assert_true(strlen(doc) < cap - 1);

	/* the last instance is the small one: look at the first alone */
	x = parse_ok(EC2XML_DESCRIBE_INSTANCES, doc, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.items[1], "i-2|||0:|");
	ec2xml_free(x);

	memset(&c, 0, sizeof c);
	c.stop_at = 1;
	assert_int_equal(parse(EC2XML_DESCRIBE_INSTANCES, doc, RANDOM, &c,
	    &x), -1);
	assert_int_equal(ec2xml_failure(x), EC2XML_FAIL_CALLBACK);
	assert_int_equal(c.n, 1);
	snprintf(want, sizeof want, "i-0123456789abcdef01234|%s|%s|256:"
	    "%.60s0000=vol-0000000000000000000/%s,", status, dev, dev,
	    status);
	assert_memory_equal(c.items[0], want, strlen(want));
	snprintf(want, sizeof want, "%.60s0255=vol-0000000000000000255/%s",
	    dev, status);
	assert_string_equal(c.last_mapping, want);
	assert_int_equal(c.ntags, EC2XML_TAGS_MAX);
	ec2xml_free(x);
	free(doc);
}

/* The instance callback stops the parse, in whichever chunk. */
static void
test_instance_callback_stop(void **state)
{
	struct seen c;
	struct ec2xml *x;

	(void)state;
	for (int how = 0; how < NCHUNKINGS; how++) {
		/* instances are counted in their reservation */
		for (size_t stop = 1; stop <= 3; stop++) {
			static const char *const where[] = {
				"reservationSet/item[1]/instancesSet/item[1]:",
				"reservationSet/item[2]/instancesSet/item[1]:",
				"reservationSet/item[2]/instancesSet/item[2]:",
			};

			memset(&c, 0, sizeof c);
			c.stop_at = stop;
			assert_int_equal(parse(EC2XML_DESCRIBE_INSTANCES,
			    instances_doc, how, &c, &x), -1);
			assert_int_equal(ec2xml_failure(x),
			    EC2XML_FAIL_CALLBACK);
			if (strstr(ec2xml_failure_text(x), where[stop - 1]) ==
			    NULL || strstr(ec2xml_failure_text(x),
			    " stopped by the caller") == NULL)
				fail_msg("stop %zu: %s", stop,
				    ec2xml_failure_text(x));
			assert_int_equal(c.n, stop);
			assert_string_equal(c.items[stop - 1],
			    stop == 1 ? INST1 : stop == 2 ? INST2 : INST3);
			/* nothing more is delivered */
			assert_int_equal(ec2xml_feed(x, "</a>", 4), -1);
			assert_int_equal(ec2xml_finish(x), -1);
			assert_int_equal(c.n, stop);
			ec2xml_free(x);
		}

		memset(&c, 0, sizeof c);
		c.stop_at = 1;
		assert_int_equal(parse(EC2XML_CREATE_SNAPSHOTS,
		    create_snapshots_doc, how, &c, &x), -1);
		assert_int_equal(ec2xml_failure(x), EC2XML_FAIL_CALLBACK);
		assert_non_null(strstr(ec2xml_failure_text(x),
		    "snapshotSet/item[1]: stopped by the caller"));
		assert_int_equal(c.n, 1);
		ec2xml_free(x);
	}
}

/* ---- a huge page ---- */

#define HUGE_ITEMS 20000
#define HUGE_START 1704067200      /* 2024-01-01T00:00:00Z */

static void
gen_expect(size_t i, char *id, char *vol, int64_t *start)
{
	snprintf(id, 32, "snap-%017zx", i * 7919);
	snprintf(vol, 32, "vol-%017zx", i % 100);
	*start = HUGE_START + (int64_t)i * 61;
}

static char *
huge_page(size_t items, size_t *len)
{
	size_t cap = items * 800 + 1024, o;
	char *doc = malloc(cap);

	assert_non_null(doc);
	o = (size_t)snprintf(doc, cap, XMLDECL "<DescribeSnapshotsResponse "
	    "xmlns=\"" NS "\">\n<requestId>huge</requestId>\n<snapshotSet>\n");
	for (size_t i = 0; i < items; i++) {
		char id[32], vol[32], when[32];
		int64_t start;
		time_t t;
		struct tm tm;

		gen_expect(i, id, vol, &start);
		t = (time_t)start;
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
		o += (size_t)snprintf(doc + o, cap - o,
		    "<item><snapshotId>%s</snapshotId><volumeId>%s</volumeId>"
		    "<status>completed</status><startTime>%s</startTime>"
		    "<progress>100%%</progress><ownerId>123456789012</ownerId>"
		    "<volumeSize>8</volumeSize><description>ec2backup prod %s"
		    "</description><encrypted>false</encrypted><tagSet>"
		    "<item><key>ec2backup:policy</key><value>prod</value>"
		    "</item><item><key>ec2backup:date</key>"
		    "<value>2024-01-01</value></item></tagSet>"
		    "<storageTier>standard</storageTier></item>\n",
		    id, vol, when, vol);
	}
	o += (size_t)snprintf(doc + o, cap - o, "</snapshotSet>\n"
	    "<nextToken>next</nextToken>\n</DescribeSnapshotsResponse>\n");
	*len = o;
	return doc;
}

/* libxml2's peak memory while parsing a page of the given size. */
static size_t
page_peak(size_t items, enum chunking how, size_t *doclen)
{
	struct seen c;
	struct ec2xml *x;
	size_t len, base;
	char *doc = huge_page(items, &len);

	memset(&c, 0, sizeof c);
	c.sequence = true;
	base = mem_now;
	mem_peak = mem_now;
	assert_int_equal(parse_len(EC2XML_DESCRIBE_SNAPSHOTS, doc, len, how,
	    &c, &x), 0);
	assert_int_equal(c.n, items);
	assert_int_equal(c.bad, 0);
	assert_int_equal(ec2xml_items(x), items);
	assert_string_equal(ec2xml_next_token(x), "next");
	ec2xml_free(x);
	free(doc);
	*doclen = len;
	return mem_peak - base;
}

static void
test_huge_page(void **state)
{
	size_t small_len, huge_len, small, huge;

	(void)state;
	small = page_peak(10, RANDOM, &small_len);
	huge = page_peak(HUGE_ITEMS, RANDOM, &huge_len);
	print_message("page of %d items: %zu bytes; libxml2 peak %zu bytes "
	    "(%zu for 10 items)\n", HUGE_ITEMS, huge_len, huge, small);
	assert_true(huge_len > 10000000);
	/* Memory follows the chunks and one item, not the page. */
	assert_true(huge < 256 * 1024);
	assert_true(huge < small + 128 * 1024);
	/* byte by byte, a smaller page */
	(void)page_peak(300, BYTES, &small_len);
	/* all at once: the parser hands libxml2 small slices */
	huge = page_peak(HUGE_ITEMS, WHOLE, &huge_len);
	assert_true(huge < 512 * 1024);
}

/* Bytes libxml2 cannot decode: a failure, and not a word on standard
 * error (cron would mail it). */
static void
test_quiet_on_bad_encoding(void **state)
{
	static const char body[] = "<\0\0\0\0";
	char path[] = "/tmp/ec2xml-stderr-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct ec2xml *x;
	struct stat st;

	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	x = ec2xml_new(EC2XML_DESCRIBE_SNAPSHOTS, NULL, NULL);
	assert_non_null(x);
	ec2xml_feed(x, body, sizeof(body) - 1);
	assert_int_equal(ec2xml_finish(x), -1);
	ec2xml_free(x);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	unlink(path);
	assert_int_equal(st.st_size, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshots),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_empty_and_tokens),
		cmocka_unit_test(test_missing_optional),
		cmocka_unit_test(test_required_fields),
		cmocka_unit_test(test_unknown_elements),
		cmocka_unit_test(test_volumes),
		cmocka_unit_test(test_images),
		cmocka_unit_test(test_create_snapshot),
		cmocka_unit_test(test_create_snapshots),
		cmocka_unit_test_setup(test_instances, instances_setup),
		cmocka_unit_test_setup(test_instances_invalid,
		    instances_setup),
		cmocka_unit_test(test_instance_limits),
		cmocka_unit_test(test_largest_instance),
		cmocka_unit_test_setup(test_instance_callback_stop,
		    instances_setup),
		cmocka_unit_test(test_return),
		cmocka_unit_test(test_error_response),
		cmocka_unit_test(test_error_shapes),
		cmocka_unit_test(test_error_cleaning),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_latin1),
		cmocka_unit_test_setup_teardown(test_doctype_external_entity,
		    fifo_setup, fifo_teardown),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_text_limits),
		cmocka_unit_test(test_largest_item),
		cmocka_unit_test(test_max_bytes),
		cmocka_unit_test(test_many_names),
		cmocka_unit_test(test_callback_stop),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_quiet_on_bad_encoding),
		cmocka_unit_test(test_tag_get),
		cmocka_unit_test(test_huge_page),
	};
	int failed;

	/* Before libxml2 allocates anything. */
	if (xmlMemSetup(count_free, count_malloc, count_realloc,
	    count_strdup) != 0)
		return 1;
	xmlInitParser();
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return failed;
}

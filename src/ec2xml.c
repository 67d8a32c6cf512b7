/*
 * The streaming EC2 response parser on libxml2's SAX2 push interface.
 *
 * The one idea: every open element has a role, found from its parent's role
 * and its local name in the edges table; an element without a role is
 * skipped with its subtree (only counted, never looked at).  Text elements
 * collect their characters into one bounded buffer and store the result
 * when they close; item elements reset the per-item scratch space when
 * they open and hand it to the callback when they close.  Nothing is kept
 * across items but the page-level fields (request id, next token, error).
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/dict.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>

#include "ec2xml.h"
#include "text.h"
#include "inventory.h"

static_assert(EC2XML_ID_MAX <= INV_ID_MAX, "ids must fit struct inv_snapshot");

#define EC2_NS_PREFIX "http://ec2.amazonaws.com/doc/"
#define NS_MAX 128                 /* longer root namespaces are refused */
#define TIME_MAX 40                /* "2019-02-28T21:28:32.000Z" is 24 */
#define RETURN_MAX 8
#define TEXT_MAX EC2XML_TOKEN_MAX  /* the largest text field */
#define FAILURE_TEXT_MAX 512
#define PATH_MAX_TEXT 160
#define ELLIPSIS "..."
/* libxml2 is given at most this much at once, so that its buffer stays
 * small (and under its 10 MB lookahead limit) whatever the caller feeds. */
#define SLICE (64 * 1024)
/* libxml2 interns every element and attribute name for the life of the
 * parse; EC2 uses a few hundred, so a body with more is not one of its. */
#define NAMES_MAX 10000

static_assert(EC2XML_MESSAGE_MAX <= TEXT_MAX, "text buffer too small");

#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_arg;
#else
typedef xmlErrorPtr xml_error_arg;
#endif

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

enum role {
	R_NONE,
	/* roots */
	R_SNAPSHOTS_ROOT,
	R_VOLUMES_ROOT,
	R_IMAGES_ROOT,
	R_CREATE_ROOT,             /* CreateSnapshotResponse: also an item */
	R_CREATE_SNAPSHOTS_ROOT,
	R_INSTANCES_ROOT,
	R_RETURN_ROOT,             /* DeleteSnapshot, CreateTags */
	R_RESPONSE_ROOT,           /* <Response><Errors><Error> */
	R_ERROR_RESPONSE_ROOT,     /* <ErrorResponse><Error> */
	/* containers */
	R_SNAPSHOT_SET,
	R_SNAPSHOT,
	R_VOLUME_SET,
	R_VOLUME,
	R_IMAGE_SET,
	R_IMAGE,
	R_TAG_SET,
	R_TAG,
	R_MAPPINGS,
	R_MAPPING,
	R_EBS,
	/* CreateSnapshots: its own set and item, so that <state> is read
	 * there and only there */
	R_SNAPSHOT_INFO_SET,
	R_SNAPSHOT_INFO,
	/* DescribeInstances */
	R_RESERVATION_SET,
	R_RESERVATION,
	R_INSTANCE_SET,
	R_INSTANCE,
	R_INSTANCE_STATE,
	R_INSTANCE_MAPPINGS,
	R_INSTANCE_MAPPING,
	R_INSTANCE_EBS,
	R_ERRORS,
	R_ERROR,
	/* text */
	T_REQUEST_ID,
	T_NEXT_TOKEN,
	T_RETURN,
	T_SNAPSHOT_ID,
	T_SNAPSHOT_VOLUME_ID,
	T_SNAPSHOT_STATUS,
	T_SNAPSHOT_STATE,
	T_START_TIME,
	T_DESCRIPTION,
	T_VOLUME_ID,
	T_VOLUME_STATUS,
	T_IMAGE_ID,
	T_MAPPING_SNAPSHOT_ID,
	T_INSTANCE_ID,
	T_INSTANCE_STATE_NAME,
	T_ROOT_DEVICE,
	T_DEVICE_NAME,
	T_MAPPING_VOLUME_ID,
	T_MAPPING_STATUS,
	T_TAG_KEY,
	T_TAG_VALUE,
	T_ERROR_CODE,
	T_ERROR_MESSAGE,
	R_COUNT
};

static_assert(R_COUNT <= 64, "roles must fit the seen bit sets");

enum text_kind {
	TX_NONE,
	TX_ID,                     /* trimmed, [A-Za-z0-9._-]; too long is
				      malformed */
	TX_WORD,                   /* trimmed; too long is refused */
	TX_RAW,                    /* exact; too long is refused */
	TX_LOG                     /* truncated and cleaned for a log line */
};

struct role_info {
	const char *name;
	unsigned char text;        /* enum text_kind */
	unsigned short max;        /* bytes of text */
};

static const struct role_info roles[R_COUNT] = {
	[R_NONE] = { "", TX_NONE, 0 },
	[R_SNAPSHOTS_ROOT] = { "DescribeSnapshotsResponse", TX_NONE, 0 },
	[R_VOLUMES_ROOT] = { "DescribeVolumesResponse", TX_NONE, 0 },
	[R_IMAGES_ROOT] = { "DescribeImagesResponse", TX_NONE, 0 },
	[R_CREATE_ROOT] = { "CreateSnapshotResponse", TX_NONE, 0 },
	[R_CREATE_SNAPSHOTS_ROOT] = { "CreateSnapshotsResponse", TX_NONE, 0 },
	[R_INSTANCES_ROOT] = { "DescribeInstancesResponse", TX_NONE, 0 },
	[R_RETURN_ROOT] = { "", TX_NONE, 0 },   /* named by the kind */
	[R_RESPONSE_ROOT] = { "Response", TX_NONE, 0 },
	[R_ERROR_RESPONSE_ROOT] = { "ErrorResponse", TX_NONE, 0 },
	[R_SNAPSHOT_SET] = { "snapshotSet", TX_NONE, 0 },
	[R_SNAPSHOT] = { "item", TX_NONE, 0 },
	[R_VOLUME_SET] = { "volumeSet", TX_NONE, 0 },
	[R_VOLUME] = { "item", TX_NONE, 0 },
	[R_IMAGE_SET] = { "imagesSet", TX_NONE, 0 },
	[R_IMAGE] = { "item", TX_NONE, 0 },
	[R_TAG_SET] = { "tagSet", TX_NONE, 0 },
	[R_TAG] = { "item", TX_NONE, 0 },
	[R_MAPPINGS] = { "blockDeviceMapping", TX_NONE, 0 },
	[R_MAPPING] = { "item", TX_NONE, 0 },
	[R_EBS] = { "ebs", TX_NONE, 0 },
	[R_SNAPSHOT_INFO_SET] = { "snapshotSet", TX_NONE, 0 },
	[R_SNAPSHOT_INFO] = { "item", TX_NONE, 0 },
	[R_RESERVATION_SET] = { "reservationSet", TX_NONE, 0 },
	[R_RESERVATION] = { "item", TX_NONE, 0 },
	[R_INSTANCE_SET] = { "instancesSet", TX_NONE, 0 },
	[R_INSTANCE] = { "item", TX_NONE, 0 },
	[R_INSTANCE_STATE] = { "instanceState", TX_NONE, 0 },
	[R_INSTANCE_MAPPINGS] = { "blockDeviceMapping", TX_NONE, 0 },
	[R_INSTANCE_MAPPING] = { "item", TX_NONE, 0 },
	[R_INSTANCE_EBS] = { "ebs", TX_NONE, 0 },
	[R_ERRORS] = { "Errors", TX_NONE, 0 },
	[R_ERROR] = { "Error", TX_NONE, 0 },
	[T_REQUEST_ID] = { "requestId", TX_LOG, EC2XML_REQUEST_ID_MAX },
	[T_NEXT_TOKEN] = { "nextToken", TX_WORD, EC2XML_TOKEN_MAX },
	[T_RETURN] = { "return", TX_WORD, RETURN_MAX },
	[T_SNAPSHOT_ID] = { "snapshotId", TX_ID, EC2XML_ID_MAX },
	[T_SNAPSHOT_VOLUME_ID] = { "volumeId", TX_ID, EC2XML_ID_MAX },
	[T_SNAPSHOT_STATUS] = { "status", TX_WORD, EC2XML_STATUS_MAX },
	[T_SNAPSHOT_STATE] = { "state", TX_WORD, EC2XML_STATUS_MAX },
	[T_START_TIME] = { "startTime", TX_WORD, TIME_MAX },
	[T_DESCRIPTION] = { "description", TX_RAW, EC2XML_DESCRIPTION_MAX },
	[T_VOLUME_ID] = { "volumeId", TX_ID, EC2XML_ID_MAX },
	[T_VOLUME_STATUS] = { "status", TX_WORD, EC2XML_STATUS_MAX },
	[T_IMAGE_ID] = { "imageId", TX_ID, EC2XML_ID_MAX },
	[T_MAPPING_SNAPSHOT_ID] = { "snapshotId", TX_ID, EC2XML_ID_MAX },
	[T_INSTANCE_ID] = { "instanceId", TX_ID, EC2XML_ID_MAX },
	[T_INSTANCE_STATE_NAME] = { "name", TX_WORD, EC2XML_STATUS_MAX },
	[T_ROOT_DEVICE] = { "rootDeviceName", TX_WORD, EC2XML_DEVICE_MAX },
	[T_DEVICE_NAME] = { "deviceName", TX_WORD, EC2XML_DEVICE_MAX },
	[T_MAPPING_VOLUME_ID] = { "volumeId", TX_ID, EC2XML_ID_MAX },
	[T_MAPPING_STATUS] = { "status", TX_WORD, EC2XML_STATUS_MAX },
	[T_TAG_KEY] = { "key", TX_RAW, EC2XML_TAG_KEY_MAX },
	[T_TAG_VALUE] = { "value", TX_RAW, EC2XML_TAG_VALUE_MAX },
	[T_ERROR_CODE] = { "Code", TX_LOG, EC2XML_CODE_MAX },
	[T_ERROR_MESSAGE] = { "Message", TX_LOG, EC2XML_MESSAGE_MAX },
};

/* Which child of which parent has which role; everything else is skipped. */
static const struct edge {
	unsigned char parent;
	unsigned char child;
	const char *name;
} edges[] = {
	{ R_SNAPSHOTS_ROOT, T_REQUEST_ID, "requestId" },
	{ R_SNAPSHOTS_ROOT, R_SNAPSHOT_SET, "snapshotSet" },
	{ R_SNAPSHOTS_ROOT, T_NEXT_TOKEN, "nextToken" },
	{ R_SNAPSHOT_SET, R_SNAPSHOT, "item" },
	{ R_SNAPSHOT, T_SNAPSHOT_ID, "snapshotId" },
	{ R_SNAPSHOT, T_SNAPSHOT_VOLUME_ID, "volumeId" },
	{ R_SNAPSHOT, T_SNAPSHOT_STATUS, "status" },
	{ R_SNAPSHOT, T_START_TIME, "startTime" },
	{ R_SNAPSHOT, T_DESCRIPTION, "description" },
	{ R_SNAPSHOT, R_TAG_SET, "tagSet" },

	{ R_CREATE_ROOT, T_REQUEST_ID, "requestId" },
	{ R_CREATE_ROOT, T_SNAPSHOT_ID, "snapshotId" },
	{ R_CREATE_ROOT, T_SNAPSHOT_VOLUME_ID, "volumeId" },
	{ R_CREATE_ROOT, T_SNAPSHOT_STATUS, "status" },
	{ R_CREATE_ROOT, T_START_TIME, "startTime" },
	{ R_CREATE_ROOT, T_DESCRIPTION, "description" },
	{ R_CREATE_ROOT, R_TAG_SET, "tagSet" },

	{ R_VOLUMES_ROOT, T_REQUEST_ID, "requestId" },
	{ R_VOLUMES_ROOT, R_VOLUME_SET, "volumeSet" },
	{ R_VOLUMES_ROOT, T_NEXT_TOKEN, "nextToken" },
	{ R_VOLUME_SET, R_VOLUME, "item" },
	{ R_VOLUME, T_VOLUME_ID, "volumeId" },
	{ R_VOLUME, T_VOLUME_STATUS, "status" },
	{ R_VOLUME, R_TAG_SET, "tagSet" },

	{ R_TAG_SET, R_TAG, "item" },
	{ R_TAG, T_TAG_KEY, "key" },
	{ R_TAG, T_TAG_VALUE, "value" },

	{ R_IMAGES_ROOT, T_REQUEST_ID, "requestId" },
	{ R_IMAGES_ROOT, R_IMAGE_SET, "imagesSet" },
	{ R_IMAGES_ROOT, T_NEXT_TOKEN, "nextToken" },
	{ R_IMAGE_SET, R_IMAGE, "item" },
	{ R_IMAGE, T_IMAGE_ID, "imageId" },
	{ R_IMAGE, R_MAPPINGS, "blockDeviceMapping" },
	{ R_MAPPINGS, R_MAPPING, "item" },
	{ R_MAPPING, R_EBS, "ebs" },
	{ R_EBS, T_MAPPING_SNAPSHOT_ID, "snapshotId" },

	{ R_CREATE_SNAPSHOTS_ROOT, T_REQUEST_ID, "requestId" },
	{ R_CREATE_SNAPSHOTS_ROOT, R_SNAPSHOT_INFO_SET, "snapshotSet" },
	{ R_SNAPSHOT_INFO_SET, R_SNAPSHOT_INFO, "item" },
	{ R_SNAPSHOT_INFO, T_SNAPSHOT_ID, "snapshotId" },
	{ R_SNAPSHOT_INFO, T_SNAPSHOT_VOLUME_ID, "volumeId" },
	{ R_SNAPSHOT_INFO, T_SNAPSHOT_STATE, "state" },
	{ R_SNAPSHOT_INFO, T_START_TIME, "startTime" },
	{ R_SNAPSHOT_INFO, T_DESCRIPTION, "description" },
	{ R_SNAPSHOT_INFO, R_TAG_SET, "tagSet" },

	{ R_INSTANCES_ROOT, T_REQUEST_ID, "requestId" },
	{ R_INSTANCES_ROOT, R_RESERVATION_SET, "reservationSet" },
	{ R_INSTANCES_ROOT, T_NEXT_TOKEN, "nextToken" },
	{ R_RESERVATION_SET, R_RESERVATION, "item" },
	{ R_RESERVATION, R_INSTANCE_SET, "instancesSet" },
	{ R_INSTANCE_SET, R_INSTANCE, "item" },
	{ R_INSTANCE, T_INSTANCE_ID, "instanceId" },
	{ R_INSTANCE, R_INSTANCE_STATE, "instanceState" },
	{ R_INSTANCE_STATE, T_INSTANCE_STATE_NAME, "name" },
	{ R_INSTANCE, T_ROOT_DEVICE, "rootDeviceName" },
	{ R_INSTANCE, R_INSTANCE_MAPPINGS, "blockDeviceMapping" },
	{ R_INSTANCE_MAPPINGS, R_INSTANCE_MAPPING, "item" },
	{ R_INSTANCE_MAPPING, T_DEVICE_NAME, "deviceName" },
	{ R_INSTANCE_MAPPING, R_INSTANCE_EBS, "ebs" },
	{ R_INSTANCE_EBS, T_MAPPING_VOLUME_ID, "volumeId" },
	{ R_INSTANCE_EBS, T_MAPPING_STATUS, "status" },
	{ R_INSTANCE, R_TAG_SET, "tagSet" },

	{ R_RETURN_ROOT, T_REQUEST_ID, "requestId" },
	{ R_RETURN_ROOT, T_RETURN, "return" },

	{ R_RESPONSE_ROOT, R_ERRORS, "Errors" },
	{ R_RESPONSE_ROOT, T_REQUEST_ID, "RequestID" },
	{ R_RESPONSE_ROOT, T_REQUEST_ID, "RequestId" },
	{ R_ERRORS, R_ERROR, "Error" },
	{ R_ERROR_RESPONSE_ROOT, R_ERROR, "Error" },
	{ R_ERROR_RESPONSE_ROOT, R_ERRORS, "Errors" },
	{ R_ERROR_RESPONSE_ROOT, T_REQUEST_ID, "RequestId" },
	{ R_ERROR_RESPONSE_ROOT, T_REQUEST_ID, "RequestID" },
	{ R_ERROR, T_ERROR_CODE, "Code" },
	{ R_ERROR, T_ERROR_MESSAGE, "Message" },
};

/* The success root of each kind. */
static const struct {
	const char *name;
	unsigned char role;
	unsigned char set;         /* the item set the page must have */
} kinds[] = {
	[EC2XML_DESCRIBE_SNAPSHOTS] = { "DescribeSnapshotsResponse",
	    R_SNAPSHOTS_ROOT, R_SNAPSHOT_SET },
	[EC2XML_DESCRIBE_VOLUMES] = { "DescribeVolumesResponse",
	    R_VOLUMES_ROOT, R_VOLUME_SET },
	[EC2XML_DESCRIBE_IMAGES] = { "DescribeImagesResponse",
	    R_IMAGES_ROOT, R_IMAGE_SET },
	[EC2XML_CREATE_SNAPSHOT] = { "CreateSnapshotResponse",
	    R_CREATE_ROOT, R_NONE },
	[EC2XML_DELETE_SNAPSHOT] = { "DeleteSnapshotResponse",
	    R_RETURN_ROOT, R_NONE },
	[EC2XML_CREATE_TAGS] = { "CreateTagsResponse", R_RETURN_ROOT,
	    R_NONE },
	[EC2XML_DESCRIBE_INSTANCES] = { "DescribeInstancesResponse",
	    R_INSTANCES_ROOT, R_RESERVATION_SET },
	[EC2XML_CREATE_SNAPSHOTS] = { "CreateSnapshotsResponse",
	    R_CREATE_SNAPSHOTS_ROOT, R_SNAPSHOT_INFO_SET },
	[EC2XML_ERROR_ONLY] = { NULL, R_NONE, R_NONE },
};

/* One entry per kind; EC2XML_ERROR_ONLY is the last kind. */
static_assert(sizeof kinds / sizeof kinds[0] == EC2XML_ERROR_ONLY + 1,
    "every kind needs its entry in kinds[]");

#define BIT(r) ((uint64_t)1 << (r))
/* Text fields of an item, as opposed to those of the page. */
#define ITEM_FIELDS (BIT(T_SNAPSHOT_ID) | BIT(T_SNAPSHOT_VOLUME_ID) | \
    BIT(T_SNAPSHOT_STATUS) | BIT(T_SNAPSHOT_STATE) | BIT(T_START_TIME) | \
    BIT(T_DESCRIPTION) | BIT(T_VOLUME_ID) | BIT(T_VOLUME_STATUS) | \
    BIT(T_IMAGE_ID) | BIT(T_INSTANCE_ID) | BIT(T_INSTANCE_STATE_NAME) | \
    BIT(T_ROOT_DEVICE))
/* Text fields of an instance's block device mapping: once per mapping. */
#define MAPPING_FIELDS (BIT(T_DEVICE_NAME) | BIT(T_MAPPING_VOLUME_ID) | \
    BIT(T_MAPPING_STATUS))
/* Text fields that may repeat (one per mapping, one per tag). */
#define REPEATED_FIELDS (BIT(T_MAPPING_SNAPSHOT_ID) | BIT(T_TAG_KEY) | \
    BIT(T_TAG_VALUE))

/* The text of one of an instance's block device mappings. */
struct mapping_text {
	char device[EC2XML_DEVICE_MAX + 1];
	char volume_id[EC2XML_ID_MAX + 1];
	char status[EC2XML_STATUS_MAX + 1];
};

/* The item being read: everything one callback needs, nothing more. */
struct item {
	char id[EC2XML_ID_MAX + 1];
	char volume_id[EC2XML_ID_MAX + 1];
	char status[EC2XML_STATUS_MAX + 1]; /* an instance's: its state */
	char description[EC2XML_DESCRIPTION_MAX + 1];
	char root_device[EC2XML_DEVICE_MAX + 1];
	int64_t start;
	uint64_t seen;             /* BIT(role) of the fields read */
	struct ec2xml_tag tags[EC2XML_TAGS_MAX];
	size_t ntags;
	const char *tag_key;       /* of the tag being read, or NULL */
	const char *tag_value;
	size_t tag_mark;           /* arena length when that tag opened */
	size_t arena_len;
	char arena[EC2XML_TAGS_MAX *
	    (EC2XML_TAG_KEY_MAX + 1 + EC2XML_TAG_VALUE_MAX + 1)];
	char snapshot_ids[EC2XML_IMAGE_SNAPSHOTS_MAX][EC2XML_ID_MAX + 1];
	const char *snapshot_ptrs[EC2XML_IMAGE_SNAPSHOTS_MAX];
	size_t nsnapshots;
	/* an instance's mappings; the last one is the one being read */
	struct mapping_text mapping_text[EC2XML_MAPPINGS_MAX];
	struct ec2xml_mapping mappings[EC2XML_MAPPINGS_MAX];
	size_t nmappings;
	uint64_t mapping_seen;     /* BIT(role) of that mapping's fields */
};

struct ec2xml {
	enum ec2xml_kind kind;
	struct ec2xml_callbacks cb;
	void *arg;
	xmlParserCtxtPtr ctxt;
	size_t max_bytes;
	size_t nbytes;             /* fed so far */
	unsigned char head[4];     /* held until libxml2 can sniff them */
	size_t nhead;
	bool in_parse;             /* inside xmlParseChunk */
	bool finished;

	/* the open elements */
	unsigned char stack[EC2XML_DEPTH_MAX];
	int top;                   /* elements with a role */
	int depth;                 /* all elements */
	int skip;                  /* depth inside a skipped subtree */
	bool root_seen;
	bool root_closed;
	bool is_error;
	char ns[NS_MAX + 1];
	bool has_ns;
	uint64_t seen;             /* BIT(role) of page fields and sets read */
	size_t item_no;            /* items opened */
	size_t reservation_no;     /* DescribeInstances reservations opened */
	size_t reservation_mark;   /* item_no when the last one opened */
	size_t nitems;             /* items delivered */
	size_t nerrors;            /* <Error> elements read */

	/* the text element being read */
	char text[TEXT_MAX + 1];
	size_t text_len;
	size_t text_ws;            /* whitespace held back by trimming */
	bool text_cut;

	/* results */
	char request_id[EC2XML_REQUEST_ID_MAX + sizeof ELLIPSIS];
	char next_token[EC2XML_TOKEN_MAX + 1];
	bool ret;
	char code[EC2XML_CODE_MAX + sizeof ELLIPSIS];
	char message[EC2XML_MESSAGE_MAX + sizeof ELLIPSIS];
	enum ec2xml_failure failure;
	char failure_text[FAILURE_TEXT_MAX];

	struct item item;
};

static bool
is_xml_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
is_id_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/*
 * Copies at most srclen bytes of src into dst (dstsize bytes) for one log
 * line: unsafe characters and whitespace runs become one space, the ends
 * are trimmed, invalid bytes become '?', a sequence cut by truncation is
 * dropped, and "..." marks text that did not fit.
 */
static void
clean_copy(char *dst, size_t dstsize, const char *src, size_t srclen,
    bool cut)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t room, o = 0, i = 0, n, outlen;
	const char *out;
	bool space = false;
	uint32_t cp;

	assert(dstsize > sizeof ELLIPSIS);
	room = dstsize - sizeof ELLIPSIS;
	while (i < srclen) {
		n = text_utf8_decode(s + i, srclen - i, &cp);
		if (n == 0 && cut && srclen - i < 4)
			break;         /* the tail of a cut sequence */
		if (n == 0) {
			cp = '?';
			n = 1;
			out = "?";
			outlen = 1;
		} else {
			out = src + i;
			outlen = n;
		}
		i += n;
		if (text_unsafe(cp) || cp == ' ') {
			space = o > 0;
			continue;
		}
		if (o + (space ? 1 : 0) + outlen > room) {
			cut = true;
			break;
		}
		if (space)
			dst[o++] = ' ';
		space = false;
		memcpy(dst + o, out, outlen);
		o += outlen;
	}
	if (cut) {
		memcpy(dst + o, ELLIPSIS, sizeof ELLIPSIS);
		o += sizeof ELLIPSIS - 1;
	}
	dst[o] = '\0';
}

/*
 * The path of the open elements below the root, for messages.  Items are
 * numbered from 1 in the page, an instance in its reservation, a mapping
 * in its instance.
 */
static const char *
path(struct ec2xml *x, char *buf, size_t size)
{
	size_t o = 0;
	int n;

	buf[0] = '\0';
	for (int i = 1; i < x->top; i++) {
		enum role r = x->stack[i];
		size_t no = 0;

		if (r == R_SNAPSHOT || r == R_VOLUME || r == R_IMAGE ||
		    r == R_SNAPSHOT_INFO)
			no = x->item_no;
		else if (r == R_INSTANCE)      /* counted in its reservation */
			no = x->item_no - x->reservation_mark;
		else if (r == R_RESERVATION)
			no = x->reservation_no;
		else if (r == R_INSTANCE_MAPPING)
			no = x->item.nmappings;
		if (no > 0)
			n = snprintf(buf + o, size - o, "%s%s[%zu]",
			    o ? "/" : "", roles[r].name, no);
		else
			n = snprintf(buf + o, size - o, "%s%s",
			    o ? "/" : "", roles[r].name);
		if (n < 0 || (size_t)n >= size - o)
			break;
		o += (size_t)n;
	}
	if (o == 0 && x->top > 0) {
		enum role r = x->stack[0];
		snprintf(buf, size, "%s", r == R_RETURN_ROOT ?
		    kinds[x->kind].name : roles[r].name);
	}
	return buf;
}

static void
vfail_at(struct ec2xml *x, enum ec2xml_failure failure, int line, int col,
    const char *fmt, va_list ap) PRINTF_LIKE(5, 0);

/*
 * Records the first failure, prefixed with its position when known.  The
 * text is cleaned because it may quote what the document said.
 */
static void
vfail_at(struct ec2xml *x, enum ec2xml_failure failure, int line, int col,
    const char *fmt, va_list ap)
{
	char raw[FAILURE_TEXT_MAX];
	int n = 0;
	long byte = -1;

	if (x->failure != EC2XML_OK)
		return;
	x->failure = failure;
	if (x->ctxt != NULL && x->in_parse)
		byte = xmlByteConsumed(x->ctxt);
	if (byte < 0)
		byte = (long)x->nbytes;
	if (line > 0)
		n = snprintf(raw, sizeof raw, "line %d, column %d, byte %ld: ",
		    line, col, byte);
	else
		n = snprintf(raw, sizeof raw, "byte %ld: ", byte);
	if (n < 0 || (size_t)n >= sizeof raw)
		n = 0;
	vsnprintf(raw + n, sizeof raw - (size_t)n, fmt, ap);
	clean_copy(x->failure_text, sizeof x->failure_text, raw, strlen(raw),
	    false);
}

static void fail(struct ec2xml *x, enum ec2xml_failure failure,
    const char *fmt, ...) PRINTF_LIKE(3, 4);

/*
 * Fails at the parser's position.  libxml2 is not stopped (it may still be
 * using its input when a handler runs): once a failure is recorded every
 * handler returns at once and ec2xml_feed refuses more bytes.
 */
static void
fail(struct ec2xml *x, enum ec2xml_failure failure, const char *fmt, ...)
{
	va_list ap;
	int line = 0, col = 0;

	if (x->failure != EC2XML_OK)
		return;
	if (x->ctxt != NULL && x->in_parse && x->ctxt->input != NULL) {
		line = xmlSAX2GetLineNumber(x->ctxt);
		col = xmlSAX2GetColumnNumber(x->ctxt);
	}
	va_start(ap, fmt);
	vfail_at(x, failure, line, col, fmt, ap);
	va_end(ap);
}

static void fail_at(struct ec2xml *x, enum ec2xml_failure failure, int line,
    int col, const char *fmt, ...) PRINTF_LIKE(5, 6);

static void
fail_at(struct ec2xml *x, enum ec2xml_failure failure, int line, int col,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_at(x, failure, line, col, fmt, ap);
	va_end(ap);
}

/* ---- item scratch space ---- */

static void
item_reset(struct item *it)
{
	it->id[0] = '\0';
	it->volume_id[0] = '\0';
	it->status[0] = '\0';
	it->description[0] = '\0';
	it->start = 0;
	it->seen = 0;
	it->ntags = 0;
	it->tag_key = NULL;
	it->tag_value = NULL;
	it->arena_len = 0;
	it->nsnapshots = 0;
	it->root_device[0] = '\0';
	it->nmappings = 0;
	it->mapping_seen = 0;
}

/* The instance's mapping being read. */
static struct mapping_text *
mapping_now(struct item *it)
{
	assert(it->nmappings > 0);
	return &it->mapping_text[it->nmappings - 1];
}

/* Appends s to the tag arena; the limits on tags bound its use. */
static const char *
arena_add(struct item *it, const char *s, size_t len)
{
	char *p = it->arena + it->arena_len;

	assert(len + 1 <= sizeof it->arena - it->arena_len);
	memcpy(p, s, len);
	p[len] = '\0';
	it->arena_len += len + 1;
	return p;
}

static void
deliver(struct ec2xml *x, enum role r)
{
	struct item *it = &x->item;
	char where[PATH_MAX_TEXT];
	int rc = 0;

	path(x, where, sizeof where);
	switch (r) {
	case R_SNAPSHOT:
	case R_SNAPSHOT_INFO:
	case R_CREATE_ROOT:
		if (it->id[0] == '\0') {
			fail(x, EC2XML_FAIL_CONTENT,
			    "%s: snapshot without <snapshotId>", where);
			return;
		}
		if (!(it->seen & BIT(T_START_TIME))) {
			fail(x, EC2XML_FAIL_CONTENT,
			    "%s: snapshot %s without <startTime>", where,
			    it->id);
			return;
		}
		x->nitems++;
		if (x->cb.snapshot != NULL) {
			struct ec2xml_snapshot s = {
				.id = it->id,
				.volume_id = it->volume_id,
				.status = it->status,
				.start = it->start,
				.description = it->description,
				.tags = it->tags,
				.ntags = it->ntags,
			};
			rc = x->cb.snapshot(x->arg, &s);
		}
		break;
	case R_VOLUME:
		if (it->id[0] == '\0') {
			fail(x, EC2XML_FAIL_CONTENT,
			    "%s: volume without <volumeId>", where);
			return;
		}
		x->nitems++;
		if (x->cb.volume != NULL) {
			struct ec2xml_volume v = {
				.id = it->id,
				.status = it->status,
				.tags = it->tags,
				.ntags = it->ntags,
			};
			rc = x->cb.volume(x->arg, &v);
		}
		break;
	case R_IMAGE:
		if (it->id[0] == '\0') {
			fail(x, EC2XML_FAIL_CONTENT,
			    "%s: image without <imageId>", where);
			return;
		}
		x->nitems++;
		if (x->cb.image != NULL) {
			struct ec2xml_image img = {
				.id = it->id,
				.snapshot_ids = it->snapshot_ptrs,
				.nsnapshots = it->nsnapshots,
			};
			rc = x->cb.image(x->arg, &img);
		}
		break;
	case R_INSTANCE:
		if (it->id[0] == '\0') {
			fail(x, EC2XML_FAIL_CONTENT,
			    "%s: instance without <instanceId>", where);
			return;
		}
		x->nitems++;
		if (x->cb.instance != NULL) {
			struct ec2xml_instance in = {
				.id = it->id,
				.state = it->status,
				.root_device = it->root_device,
				.mappings = it->mappings,
				.nmappings = it->nmappings,
				.tags = it->tags,
				.ntags = it->ntags,
			};
			rc = x->cb.instance(x->arg, &in);
		}
		break;
	default:
		return;
	}
	if (rc != 0)
		fail(x, EC2XML_FAIL_CALLBACK, "%s: stopped by the caller",
		    where);
}

/* ---- text ---- */

static void
text_begin(struct ec2xml *x)
{
	x->text_len = 0;
	x->text_ws = 0;
	x->text_cut = false;
}

static void
text_add(struct ec2xml *x, enum role r, const unsigned char *s, size_t n)
{
	const struct role_info *ri = &roles[r];
	char where[PATH_MAX_TEXT];

	switch (ri->text) {
	case TX_LOG:
		if (n > ri->max - x->text_len) {
			n = ri->max - x->text_len;
			x->text_cut = true;
		}
		memcpy(x->text + x->text_len, s, n);
		x->text_len += n;
		return;
	case TX_RAW:
		if (n > ri->max - x->text_len) {
			fail(x, EC2XML_FAIL_LIMIT, "%s: longer than %u bytes",
			    path(x, where, sizeof where), (unsigned)ri->max);
			return;
		}
		memcpy(x->text + x->text_len, s, n);
		x->text_len += n;
		return;
	case TX_ID:
	case TX_WORD:
		for (size_t i = 0; i < n; i++) {
			if (is_xml_space(s[i])) {
				if (x->text_len > 0)
					x->text_ws++;
				continue;
			}
			if (x->text_ws + 1 > ri->max - x->text_len) {
				fail(x, ri->text == TX_ID ?
				    EC2XML_FAIL_CONTENT : EC2XML_FAIL_LIMIT,
				    "%s: longer than %u characters",
				    path(x, where, sizeof where),
				    (unsigned)ri->max);
				return;
			}
			/* Inner whitespace is kept (as spaces): in an id it
			 * is then refused as a bad character. */
			for (; x->text_ws > 0; x->text_ws--)
				x->text[x->text_len++] = ' ';
			x->text[x->text_len++] = (char)s[i];
		}
		return;
	default:
		return;
	}
}

static int
check_id(struct ec2xml *x, const char *what)
{
	char where[PATH_MAX_TEXT];

	for (size_t i = 0; i < x->text_len; i++) {
		if (!is_id_char((unsigned char)x->text[i])) {
			fail(x, EC2XML_FAIL_CONTENT,
			    "%s: %s \"%.*s\" has a character that no id has",
			    path(x, where, sizeof where), what,
			    (int)x->text_len, x->text);
			return -1;
		}
	}
	return 0;
}

/* Stores the text of a closing text element where it belongs. */
static void
text_end(struct ec2xml *x, enum role r)
{
	struct item *it = &x->item;
	char where[PATH_MAX_TEXT];
	char *t = x->text;

	t[x->text_len] = '\0';
	if (roles[r].text == TX_ID && check_id(x, roles[r].name) != 0)
		return;
	switch (r) {
	case T_REQUEST_ID:
		clean_copy(x->request_id, sizeof x->request_id, t,
		    x->text_len, x->text_cut);
		break;
	case T_ERROR_CODE:
		clean_copy(x->code, sizeof x->code, t, x->text_len,
		    x->text_cut);
		break;
	case T_ERROR_MESSAGE:
		clean_copy(x->message, sizeof x->message, t, x->text_len,
		    x->text_cut);
		break;
	case T_NEXT_TOKEN:
		memcpy(x->next_token, t, x->text_len + 1);
		break;
	case T_RETURN:
		if (strcmp(t, "true") == 0) {
			x->ret = true;
		} else if (strcmp(t, "false") == 0) {
			x->ret = false;
		} else {
			fail(x, EC2XML_FAIL_CONTENT,
			    "%s: \"%s\" is neither true nor false",
			    path(x, where, sizeof where), t);
		}
		break;
	case T_SNAPSHOT_ID:
	case T_VOLUME_ID:
	case T_IMAGE_ID:
	case T_INSTANCE_ID:
		memcpy(it->id, t, x->text_len + 1);
		break;
	case T_SNAPSHOT_VOLUME_ID:
		memcpy(it->volume_id, t, x->text_len + 1);
		break;
	case T_SNAPSHOT_STATUS:
	case T_SNAPSHOT_STATE:
	case T_VOLUME_STATUS:
	case T_INSTANCE_STATE_NAME:
		memcpy(it->status, t, x->text_len + 1);
		break;
	case T_ROOT_DEVICE:
		memcpy(it->root_device, t, x->text_len + 1);
		break;
	case T_DEVICE_NAME:
		memcpy(mapping_now(it)->device, t, x->text_len + 1);
		break;
	case T_MAPPING_VOLUME_ID:
		memcpy(mapping_now(it)->volume_id, t, x->text_len + 1);
		break;
	case T_MAPPING_STATUS:
		memcpy(mapping_now(it)->status, t, x->text_len + 1);
		break;
	case T_START_TIME:
		if (inv_parse_time(t, &it->start) != 0)
			fail(x, EC2XML_FAIL_CONTENT,
			    "%s: \"%s\" is not an EC2 timestamp "
			    "(YYYY-MM-DDThh:mm:ss.sssZ)",
			    path(x, where, sizeof where), t);
		break;
	case T_DESCRIPTION:
		memcpy(it->description, t, x->text_len + 1);
		break;
	case T_MAPPING_SNAPSHOT_ID:
		/* An empty one names no snapshot. */
		if (x->text_len > 0) {
			memcpy(it->snapshot_ids[it->nsnapshots], t,
			    x->text_len + 1);
			it->snapshot_ptrs[it->nsnapshots] =
			    it->snapshot_ids[it->nsnapshots];
			it->nsnapshots++;
		}
		break;
	case T_TAG_KEY:
		it->tag_key = arena_add(it, t, x->text_len);
		break;
	case T_TAG_VALUE:
		it->tag_value = arena_add(it, t, x->text_len);
		break;
	default:
		break;
	}
}

/* ---- SAX handlers ---- */

static bool
ns_ok(const char *uri)
{
	return uri == NULL ||
	    strncmp(uri, EC2_NS_PREFIX, sizeof EC2_NS_PREFIX - 1) == 0;
}

static enum role
root_role(struct ec2xml *x, const char *name)
{
	if (strcmp(name, "Response") == 0)
		return R_RESPONSE_ROOT;
	if (strcmp(name, "ErrorResponse") == 0)
		return R_ERROR_RESPONSE_ROOT;
	if (kinds[x->kind].name != NULL &&
	    strcmp(name, kinds[x->kind].name) == 0)
		return kinds[x->kind].role;
	return R_NONE;
}

static void
open_root(struct ec2xml *x, const char *name, const char *uri)
{
	enum role r = root_role(x, name);

	x->root_seen = true;
	if (r == R_NONE) {
		if (kinds[x->kind].name != NULL)
			fail(x, EC2XML_FAIL_CONTENT,
			    "unexpected root element <%.64s>, expected <%s> "
			    "or an EC2 error document", name,
			    kinds[x->kind].name);
		else
			fail(x, EC2XML_FAIL_CONTENT,
			    "unexpected root element <%.64s>, expected an "
			    "EC2 error document (<Response> or "
			    "<ErrorResponse>)", name);
		return;
	}
	/* Error documents come from front ends and other services too
	 * (STS puts its own namespace on <ErrorResponse>): any namespace. */
	if ((!ns_ok(uri) && r != R_RESPONSE_ROOT &&
	    r != R_ERROR_RESPONSE_ROOT) || (uri != NULL &&
	    strlen(uri) > NS_MAX)) {
		fail(x, EC2XML_FAIL_CONTENT,
		    "<%s> is in namespace \"%.80s\", expected none or "
		    "\"" EC2_NS_PREFIX "...\"", name, uri);
		return;
	}
	if (uri != NULL) {
		x->has_ns = true;
		snprintf(x->ns, sizeof x->ns, "%s", uri);
	}
	x->is_error = r == R_RESPONSE_ROOT || r == R_ERROR_RESPONSE_ROOT;
	x->stack[x->top++] = (unsigned char)r;
	if (r == R_CREATE_ROOT) {
		x->item_no++;
		item_reset(&x->item);
	}
}

static enum role
child_role(enum role parent, const char *name)
{
	for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
		if (edges[i].parent == parent &&
		    strcmp(edges[i].name, name) == 0)
			return edges[i].child;
	return R_NONE;
}

static uint64_t *
seen_set(struct ec2xml *x, enum role r)
{
	if (BIT(r) & REPEATED_FIELDS)
		return NULL;
	if (BIT(r) & MAPPING_FIELDS)
		return &x->item.mapping_seen;
	return (BIT(r) & ITEM_FIELDS) ? &x->item.seen : &x->seen;
}

/*
 * Decides whether a child with role r is read (1), skipped (0) or makes
 * the document invalid (-1), and prepares for reading it.
 */
static int
open_child(struct ec2xml *x, enum role r)
{
	struct item *it = &x->item;
	struct mapping_text *mt;
	char where[PATH_MAX_TEXT];
	uint64_t *seen;

	switch (r) {
	case R_ERROR:
		return x->nerrors == 0;   /* the first error is the one */
	case R_SNAPSHOT:
	case R_VOLUME:
	case R_IMAGE:
	case R_SNAPSHOT_INFO:
	case R_INSTANCE:
		x->item_no++;
		item_reset(it);
		return 1;
	case R_RESERVATION:
		x->reservation_no++;
		x->reservation_mark = x->item_no;
		return 1;
	case R_INSTANCE_MAPPING:
		if (it->nmappings == EC2XML_MAPPINGS_MAX) {
			fail(x, EC2XML_FAIL_LIMIT,
			    "%s: more than %d block device mappings in one "
			    "instance", path(x, where, sizeof where),
			    EC2XML_MAPPINGS_MAX);
			return -1;
		}
		/* Every mapping counts, with "" for what it lacks. */
		mt = &it->mapping_text[it->nmappings];
		mt->device[0] = '\0';
		mt->volume_id[0] = '\0';
		mt->status[0] = '\0';
		it->mappings[it->nmappings].device = mt->device;
		it->mappings[it->nmappings].volume_id = mt->volume_id;
		it->mappings[it->nmappings].status = mt->status;
		it->nmappings++;
		it->mapping_seen = 0;
		return 1;
	case R_TAG:
		if (it->ntags == EC2XML_TAGS_MAX) {
			fail(x, EC2XML_FAIL_LIMIT, "%s: more than %d tags",
			    path(x, where, sizeof where), EC2XML_TAGS_MAX);
			return -1;
		}
		it->tag_key = NULL;
		it->tag_value = NULL;
		it->tag_mark = it->arena_len;
		return 1;
	case T_TAG_KEY:
	case T_TAG_VALUE:
		if ((r == T_TAG_KEY ? it->tag_key : it->tag_value) != NULL) {
			fail(x, EC2XML_FAIL_CONTENT, "%s: more than one <%s>",
			    path(x, where, sizeof where), roles[r].name);
			return -1;
		}
		break;
	case T_MAPPING_SNAPSHOT_ID:
		if (it->nsnapshots == EC2XML_IMAGE_SNAPSHOTS_MAX) {
			fail(x, EC2XML_FAIL_LIMIT,
			    "%s: more than %d snapshots in one image",
			    path(x, where, sizeof where),
			    EC2XML_IMAGE_SNAPSHOTS_MAX);
			return -1;
		}
		break;
	default:
		break;
	}
	if (roles[r].text == TX_NONE) {
		x->seen |= BIT(r);
		return 1;
	}
	seen = seen_set(x, r);
	if (seen != NULL) {
		if (*seen & BIT(r)) {
			if (roles[r].text == TX_LOG)
				return 0;
			fail(x, EC2XML_FAIL_CONTENT, "%s: more than one <%s>",
			    path(x, where, sizeof where), roles[r].name);
			return -1;
		}
		*seen |= BIT(r);
	}
	text_begin(x);
	return 1;
}

static void
on_start(void *arg, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
    int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	struct ec2xml *x = arg;
	const char *name = (const char *)localname;
	const char *ns = (const char *)uri;
	enum role r;
	int rc;

	(void)prefix;
	(void)nb_namespaces;
	(void)namespaces;
	(void)nb_attributes;
	(void)nb_defaulted;
	(void)attributes;
	if (x->failure != EC2XML_OK)
		return;
	if (xmlDictSize(x->ctxt->dict) > NAMES_MAX) {
		fail(x, EC2XML_FAIL_LIMIT, "more than %d distinct names",
		    NAMES_MAX);
		return;
	}
	if (x->depth == EC2XML_DEPTH_MAX) {
		char where[PATH_MAX_TEXT];
		fail(x, EC2XML_FAIL_LIMIT,
		    "%s: elements nested more than %d deep",
		    path(x, where, sizeof where), EC2XML_DEPTH_MAX);
		return;
	}
	x->depth++;
	if (x->skip > 0) {
		x->skip++;
		return;
	}
	if (x->depth == 1) {
		open_root(x, name, ns);
		return;
	}
	r = R_NONE;
	if (ns == NULL || (x->has_ns && strcmp(ns, x->ns) == 0))
		r = child_role(x->stack[x->top - 1], name);
	rc = r == R_NONE ? 0 : open_child(x, r);
	if (rc < 0)
		return;
	if (rc == 0) {
		x->skip = 1;
		return;
	}
	x->stack[x->top++] = (unsigned char)r;
}

static void
on_end(void *arg, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri)
{
	struct ec2xml *x = arg;
	struct item *it = &x->item;
	enum role r;

	(void)localname;
	(void)prefix;
	(void)uri;
	if (x->failure != EC2XML_OK)
		return;
	x->depth--;
	if (x->skip > 0) {
		x->skip--;
		return;
	}
	r = x->stack[x->top - 1];
	if (roles[r].text != TX_NONE) {
		text_end(x, r);
		if (x->failure != EC2XML_OK)
			return;
	}
	switch (r) {
	case R_TAG:
		if (it->tag_key != NULL) {
			it->tags[it->ntags].key = it->tag_key;
			it->tags[it->ntags].value =
			    it->tag_value != NULL ? it->tag_value : "";
			it->ntags++;
		} else {
			/* A tag without a key is no tag. */
			it->arena_len = it->tag_mark;
		}
		break;
	case R_SNAPSHOT:
	case R_VOLUME:
	case R_IMAGE:
	case R_CREATE_ROOT:
	case R_SNAPSHOT_INFO:
	case R_INSTANCE:
		deliver(x, r);
		break;
	case R_ERROR:
		x->nerrors++;
		break;
	default:
		break;
	}
	x->top--;
	if (x->depth == 0)
		x->root_closed = true;
}

static void
on_text(void *arg, const xmlChar *ch, int len)
{
	struct ec2xml *x = arg;
	enum role r;

	if (x->failure != EC2XML_OK || x->skip > 0 || x->top == 0 ||
	    len <= 0)
		return;
	r = x->stack[x->top - 1];
	if (roles[r].text != TX_NONE)
		text_add(x, r, ch, (size_t)len);
}

static void
on_doctype(void *arg, const xmlChar *name, const xmlChar *external_id,
    const xmlChar *system_id)
{
	struct ec2xml *x = arg;

	(void)name;
	(void)external_id;
	(void)system_id;
	fail(x, EC2XML_FAIL_SYNTAX,
	    "document type declarations (DOCTYPE) are not allowed");
	/* Safe here: libxml2 checks for a stop right after this handler,
	 * before reading any of the declaration's subset. */
	xmlStopParser(x->ctxt);
}

static void
on_entity_decl(void *arg, const xmlChar *name, int type,
    const xmlChar *public_id, const xmlChar *system_id, xmlChar *content)
{
	(void)name;
	(void)type;
	(void)public_id;
	(void)system_id;
	(void)content;
	fail(arg, EC2XML_FAIL_SYNTAX, "entity declarations are not allowed");
}

static xmlEntityPtr
on_get_entity(void *arg, const xmlChar *name)
{
	fail(arg, EC2XML_FAIL_SYNTAX, "entity &%.64s; is not allowed",
	    (const char *)name);
	return NULL;
}

static void
on_reference(void *arg, const xmlChar *name)
{
	fail(arg, EC2XML_FAIL_SYNTAX, "entity &%.64s; is not allowed",
	    (const char *)name);
}

static xmlParserInputPtr
on_resolve_entity(void *arg, const xmlChar *public_id,
    const xmlChar *system_id)
{
	(void)public_id;
	(void)system_id;
	fail(arg, EC2XML_FAIL_SYNTAX, "external entities are not allowed");
	return NULL;
}

/*
 * libxml2's own diagnostics.  The parser is not stopped from here (libxml2
 * may still be using its input); a fatal error disables the SAX handlers
 * and the others return early once a failure is recorded.
 */
static void
on_xml_error(void *arg, xml_error_arg e)
{
	struct ec2xml *x = arg;

	if (e == NULL || e->level == XML_ERR_WARNING)
		return;
	fail_at(x, EC2XML_FAIL_SYNTAX, e->line, e->int2, "%s",
	    e->message != NULL ? e->message : "not well-formed");
}

static void
quiet_generic_error(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

/* ---- the public interface ---- */

struct ec2xml *
ec2xml_new(enum ec2xml_kind kind, const struct ec2xml_callbacks *callbacks,
    void *arg)
{
	struct ec2xml *x;

	if ((unsigned)kind > EC2XML_ERROR_ONLY)
		return NULL;
	xmlInitParser();
	/* Some of libxml2's errors (encoding, I/O) go to its global channel,
	 * which prints on standard error: the parser reports them itself. */
	xmlSetGenericErrorFunc(NULL, quiet_generic_error);
	x = calloc(1, sizeof *x);
	if (x == NULL)
		return NULL;
	x->kind = kind;
	if (callbacks != NULL)
		x->cb = *callbacks;
	x->arg = arg;
	x->max_bytes = EC2XML_DEFAULT_MAX_BYTES;
	return x;
}

void
ec2xml_set_max_bytes(struct ec2xml *x, size_t max_bytes)
{
	x->max_bytes = max_bytes;
}

static int
start_parser(struct ec2xml *x)
{
	xmlSAXHandler sax;

	memset(&sax, 0, sizeof sax);
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_text;
	sax.ignorableWhitespace = on_text;
	sax.internalSubset = on_doctype;
	sax.externalSubset = on_doctype;
	sax.entityDecl = on_entity_decl;
	sax.getEntity = on_get_entity;
	sax.getParameterEntity = on_get_entity;
	sax.reference = on_reference;
	sax.resolveEntity = on_resolve_entity;
	sax.serror = on_xml_error;

	x->ctxt = xmlCreatePushParserCtxt(&sax, x, (const char *)x->head,
	    (int)x->nhead, NULL);
	if (x->ctxt == NULL) {
		fail(x, EC2XML_FAIL_NOMEM, "out of memory");
		return -1;
	}
	/* No XML_PARSE_NOENT (entities stay unexpanded), no DTD loading,
	 * no network; XML_PARSE_HUGE stays off so libxml2's limits hold. */
	xmlCtxtUseOptions(x->ctxt, XML_PARSE_NONET | XML_PARSE_NOCDATA);
	return 0;
}

static int
parse(struct ec2xml *x, const char *buf, size_t len, int terminate)
{
	int rc;

	do {
		int n = len > SLICE ? SLICE : (int)len;

		x->in_parse = true;
		rc = xmlParseChunk(x->ctxt, buf, n, terminate && n == (int)len);
		x->in_parse = false;
		if (x->failure != EC2XML_OK)
			return -1;
		if (rc != 0 && !x->ctxt->wellFormed) {
			/* An error libxml2 did not pass to on_xml_error. */
			fail(x, EC2XML_FAIL_SYNTAX,
			    "not well-formed (libxml2 error %d)", rc);
			return -1;
		}
		if (buf != NULL)
			buf += n;
		len -= (size_t)n;
	} while (len > 0);
	return 0;
}

int
ec2xml_feed(struct ec2xml *x, const char *buf, size_t len)
{
	size_t take;

	if (x->failure != EC2XML_OK)
		return -1;
	if (x->finished) {
		fail(x, EC2XML_FAIL_USAGE, "fed after the end of the body");
		return -1;
	}
	if (len == 0)
		return 0;
	if (len > x->max_bytes - x->nbytes) {
		x->nbytes = x->max_bytes;
		fail(x, EC2XML_FAIL_LIMIT, "body larger than %zu bytes",
		    x->max_bytes);
		return -1;
	}
	x->nbytes += len;
	if (x->ctxt == NULL) {
		/* libxml2 sniffs the encoding from the first four bytes. */
		take = sizeof x->head - x->nhead;
		if (take > len)
			take = len;
		memcpy(x->head + x->nhead, buf, take);
		x->nhead += take;
		buf += take;
		len -= take;
		if (x->nhead < sizeof x->head)
			return 0;
		if (start_parser(x) != 0)
			return -1;
	}
	return parse(x, buf, len, 0);
}

/*
 * Names what a truncated document was still waiting for.  It replaces a
 * failure found in the last, cut-off bytes, which would only describe
 * their debris.
 */
static void
fail_truncated(struct ec2xml *x)
{
	char where[PATH_MAX_TEXT];
	const char *open;
	int line = 0;

	if (x->ctxt != NULL && x->ctxt->input != NULL)
		line = x->ctxt->input->line;
	x->failure = EC2XML_OK;
	if (!x->root_seen) {
		fail(x, EC2XML_FAIL_TRUNCATED,
		    "%s before the root element (line %d)",
		    x->nbytes == 0 ? "empty body" : "body ended", line);
		return;
	}
	if (x->top == 0) {
		fail(x, EC2XML_FAIL_TRUNCATED,
		    "truncated: the body ended on line %d in its root element",
		    line);
		return;
	}
	path(x, where, sizeof where);
	open = roles[x->stack[x->top - 1]].name;
	if (x->stack[x->top - 1] == R_RETURN_ROOT)
		open = kinds[x->kind].name;
	fail(x, EC2XML_FAIL_TRUNCATED,
	    "truncated: the body ended on line %d inside %s%s, expected "
	    "</%s>", line, where, x->skip > 0 ? "/..." : "", open);
}

int
ec2xml_finish(struct ec2xml *x)
{
	if (x->finished || x->failure != EC2XML_OK)
		return x->failure == EC2XML_OK ? 0 : -1;
	x->finished = true;
	if (x->ctxt == NULL) {
		if (x->nhead == 0) {
			fail_truncated(x);
			return -1;
		}
		if (start_parser(x) != 0)
			return -1;
	}
	/* Whatever goes wrong now while the root is open comes from the
	 * end of the body: libxml2 even reports a start tag cut after "<D"
	 * as an element <D>. */
	parse(x, NULL, 0, 1);
	if (!x->root_closed) {
		fail_truncated(x);
		return -1;
	}
	if (x->failure != EC2XML_OK)
		return -1;
	if (x->is_error) {
		if (x->code[0] == '\0')
			fail(x, EC2XML_FAIL_CONTENT,
			    "error document without <Code>");
	} else if (kinds[x->kind].set != R_NONE) {
		if (!(x->seen & BIT(kinds[x->kind].set)))
			fail(x, EC2XML_FAIL_CONTENT, "no <%s> in <%s>",
			    roles[kinds[x->kind].set].name,
			    kinds[x->kind].name);
	} else if (kinds[x->kind].role == R_RETURN_ROOT) {
		if (!(x->seen & BIT(T_RETURN)))
			fail(x, EC2XML_FAIL_CONTENT, "no <return> in <%s>",
			    kinds[x->kind].name);
	}
	return x->failure == EC2XML_OK ? 0 : -1;
}

enum ec2xml_failure
ec2xml_failure(const struct ec2xml *x)
{
	return x->failure;
}

const char *
ec2xml_failure_text(const struct ec2xml *x)
{
	return x->failure_text;
}

bool
ec2xml_is_error(const struct ec2xml *x)
{
	return x->is_error;
}

const char *
ec2xml_error_code(const struct ec2xml *x)
{
	return x->code;
}

const char *
ec2xml_error_message(const struct ec2xml *x)
{
	return x->message;
}

const char *
ec2xml_request_id(const struct ec2xml *x)
{
	return x->request_id;
}

const char *
ec2xml_next_token(const struct ec2xml *x)
{
	return x->next_token;
}

bool
ec2xml_return(const struct ec2xml *x)
{
	return x->ret;
}

size_t
ec2xml_items(const struct ec2xml *x)
{
	return x->nitems;
}

void
ec2xml_free(struct ec2xml *x)
{
	if (x == NULL)
		return;
	if (x->ctxt != NULL)
		xmlFreeParserCtxt(x->ctxt);
	free(x);
}

const char *
ec2xml_tag_get(const struct ec2xml_tag *tags, size_t ntags, const char *key)
{
	for (size_t i = 0; i < ntags; i++)
		if (strcmp(tags[i].key, key) == 0)
			return tags[i].value;
	return NULL;
}

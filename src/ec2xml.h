/*
 * Streaming parser for EC2 Query API responses.
 *
 * Response bytes go in as libcurl delivers them (ec2xml_feed) and each item
 * comes out through a callback as soon as its element closes, so memory
 * follows one item, never the page.  A body is read as either the success
 * document of the expected kind or an EC2 error document, decided by its
 * root element; the caller then decides on the error code in the body, not
 * on the HTTP status.
 *
 * Elements are matched by local name; the root may carry no namespace or
 * one starting with "http://ec2.amazonaws.com/doc/" (any API version);
 * below it, elements in the root's namespace or in none are matched, and
 * those in any other namespace count as unknown.  Unknown elements are
 * skipped with their whole subtree at any depth, so an attachmentSet's
 * volumeId never reads as the volume's.  Element order inside an item is
 * free.
 *
 * The parser never reads a file or the network: a document with a DOCTYPE
 * is refused, entity references other than the five predefined ones (and
 * character references) are errors, and every depth, text length, count,
 * the number of distinct element names and the total size are bounded
 * (the limits below).  libxml2 is handed at most 64 KiB at a time, so its
 * own buffers stay small whatever the size of the caller's chunks.
 * Failures say where (line, column, byte) and what was expected.  A body
 * that ends before its root element closes fails in ec2xml_finish, so a
 * listing cut short is never taken as whole; items already delivered by
 * then belong to an incomplete listing.
 *
 * Threads: no global state besides libxml2's own.  ec2xml_new calls
 * xmlInitParser(); a program that parses from several threads calls
 * xmlInitParser() once from its main thread first.  One parser is used by
 * one thread at a time; distinct parsers are independent.
 */
#ifndef EC2BACKUP_EC2XML_H
#define EC2BACKUP_EC2XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Resource ids (snap-, vol-, ami-): longer ones are malformed. */
#define EC2XML_ID_MAX 23
#define EC2XML_STATUS_MAX 32
/* Bytes of UTF-8: EC2 allows 255 characters of description, 127 of tag
 * key and 256 of tag value, four bytes each at most.  Longer is refused. */
#define EC2XML_DESCRIPTION_MAX 1024
#define EC2XML_TAG_KEY_MAX 512
#define EC2XML_TAG_VALUE_MAX 1024
/* EC2 allows 50 tags; "aws:" system tags do not count against that. */
#define EC2XML_TAGS_MAX 64
/* Snapshot ids listed in one image's block device mappings. */
#define EC2XML_IMAGE_SNAPSHOTS_MAX 256
/* Block device mappings of one instance (EC2 attaches at most 128). */
#define EC2XML_MAPPINGS_MAX 256
/* Device names ("/dev/sdf", "xvdf"). */
#define EC2XML_DEVICE_MAX 64
#define EC2XML_TOKEN_MAX 4096
/* Error code, message and request id are truncated (with "...") past
 * these many bytes and cleaned to fit in one log line. */
#define EC2XML_CODE_MAX 128
#define EC2XML_MESSAGE_MAX 4096
#define EC2XML_REQUEST_ID_MAX 128
/* Elements open at once, the root included. */
#define EC2XML_DEPTH_MAX 32
#define EC2XML_DEFAULT_MAX_BYTES ((size_t)64 << 20)

enum ec2xml_kind {
	EC2XML_DESCRIBE_SNAPSHOTS,
	EC2XML_DESCRIBE_VOLUMES,
	EC2XML_DESCRIBE_IMAGES,
	EC2XML_CREATE_SNAPSHOT,
	EC2XML_DELETE_SNAPSHOT,
	EC2XML_CREATE_TAGS,
	EC2XML_DESCRIBE_INSTANCES,
	EC2XML_CREATE_SNAPSHOTS,   /* snapshotSet/item, with <state> where
				      the others have <status> */
	EC2XML_ERROR_ONLY          /* an error document and nothing else */
};

enum ec2xml_failure {
	EC2XML_OK,
	EC2XML_FAIL_SYNTAX,        /* not well-formed, bad encoding, DOCTYPE or
				      entity */
	EC2XML_FAIL_TRUNCATED,     /* the body ended before the root closed */
	EC2XML_FAIL_CONTENT,       /* well-formed, but not a valid response of
				      the kind: wrong root or namespace, field
				      missing, duplicated or malformed */
	EC2XML_FAIL_LIMIT,         /* a size, depth or count limit */
	EC2XML_FAIL_CALLBACK,      /* a callback returned non-zero */
	EC2XML_FAIL_NOMEM,
	EC2XML_FAIL_USAGE          /* fed after ec2xml_finish */
};

/* All strings below are NUL-terminated, owned by the parser and valid only
 * during the callback that receives them; "" means absent. */
struct ec2xml_tag {
	const char *key;
	const char *value;
};

struct ec2xml_snapshot {
	const char *id;            /* always present */
	const char *volume_id;
	const char *status;        /* as EC2 spells it; see inv_state_parse */
	int64_t start;             /* startTime, UTC seconds; always present */
	const char *description;
	const struct ec2xml_tag *tags;
	size_t ntags;
};

struct ec2xml_volume {
	const char *id;            /* always present */
	const char *status;
	const struct ec2xml_tag *tags;
	size_t ntags;
};

struct ec2xml_image {
	const char *id;            /* always present */
	const char *const *snapshot_ids; /* from blockDeviceMapping/item/ebs */
	size_t nsnapshots;
};

/* An instance's blockDeviceMapping/item: an EBS volume attached to it. */
struct ec2xml_mapping {
	const char *device;        /* deviceName */
	const char *volume_id;     /* ebs/volumeId; "" for other devices */
	const char *status;        /* ebs/status: attaching, attached, ... */
};

/* reservationSet/item/instancesSet/item. */
struct ec2xml_instance {
	const char *id;            /* instanceId; always present */
	const char *state;         /* instanceState/name */
	const char *root_device;   /* rootDeviceName */
	const struct ec2xml_mapping *mappings;
	size_t nmappings;
	const struct ec2xml_tag *tags;
	size_t ntags;
};

/*
 * Called once per item of the kind parsed (CreateSnapshot: once, for the
 * snapshot under the root, when the root closes; CreateSnapshots: once
 * per snapshot of the set, its <state> as status).  Return 0 to go on;
 * any other value stops the parse with EC2XML_FAIL_CALLBACK.  Unused
 * members may be NULL.
 */
struct ec2xml_callbacks {
	int (*snapshot)(void *arg, const struct ec2xml_snapshot *snapshot);
	int (*volume)(void *arg, const struct ec2xml_volume *volume);
	int (*image)(void *arg, const struct ec2xml_image *image);
	int (*instance)(void *arg, const struct ec2xml_instance *instance);
};

struct ec2xml;

/*
 * Returns a parser for one response body of the given kind (or an error
 * document), or NULL when out of memory or kind is not an ec2xml_kind.
 * The callbacks are copied; arg is passed to them untouched.  The caller
 * frees the parser with ec2xml_free.
 */
struct ec2xml *ec2xml_new(enum ec2xml_kind kind,
    const struct ec2xml_callbacks *callbacks, void *arg);

/* Caps the body at max_bytes (default EC2XML_DEFAULT_MAX_BYTES); call it
 * before the first ec2xml_feed. */
void ec2xml_set_max_bytes(struct ec2xml *x, size_t max_bytes);

/*
 * Parses the next len bytes of the body, calling back for each item that
 * closes in them.  Returns 0, or -1 on failure (see ec2xml_failure); after
 * a failure every call returns -1 and no callback runs again.
 */
int ec2xml_feed(struct ec2xml *x, const char *buf, size_t len);

/*
 * Ends the body and checks that the document was complete and valid for
 * its kind.  Returns 0 (the document may be an error document: see
 * ec2xml_is_error) or -1 on failure.  Calling it again returns the same.
 */
int ec2xml_finish(struct ec2xml *x);

/* The failure class, EC2XML_OK when none. */
enum ec2xml_failure ec2xml_failure(const struct ec2xml *x);

/* A one-line description of the failure ("line 3, column 7, byte 118:
 * ..."), or "" when none; owned by the parser. */
const char *ec2xml_failure_text(const struct ec2xml *x);

/* True once the root element read is an EC2 error document. */
bool ec2xml_is_error(const struct ec2xml *x);

/* The error document's code, message and the request id (of a success or
 * an error document), cleaned for one log line; "" when absent.  Owned by
 * the parser, valid until ec2xml_free. */
const char *ec2xml_error_code(const struct ec2xml *x);
const char *ec2xml_error_message(const struct ec2xml *x);
const char *ec2xml_request_id(const struct ec2xml *x);

/* The page's nextToken, "" when absent or empty (the last page); owned by
 * the parser, valid until ec2xml_free. */
const char *ec2xml_next_token(const struct ec2xml *x);

/* DeleteSnapshot, CreateTags: the <return> value (false until read). */
bool ec2xml_return(const struct ec2xml *x);

/* How many items were passed to the callbacks (or would have been). */
size_t ec2xml_items(const struct ec2xml *x);

/* Frees the parser; NULL is allowed. */
void ec2xml_free(struct ec2xml *x);

/* The value of the first tag named key, or NULL when there is none. */
const char *ec2xml_tag_get(const struct ec2xml_tag *tags, size_t ntags,
    const char *key);

#endif

/*
 * EC2 Query API parameters: an ordered list of name/value pairs.
 *
 * Every EC2 request is Action, Version and a flat list of dotted names
 * ("Filter.1.Value.2").  A query keeps the pairs already percent-encoded
 * with the RFC 3986 rule that SigV4 uses (only A-Z a-z 0-9 - _ . ~ stay as
 * they are, everything else becomes %XX with uppercase hex, space is %20),
 * so the POST body and the GET query string are the exact bytes that get
 * signed.  Sizes are bounded when a pair is added; a failed add makes the
 * query unusable (every later call fails with the same errno), so a caller
 * that forgets to check one add still cannot send a partial request.
 */
#ifndef EC2BACKUP_QUERY_H
#define EC2BACKUP_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#define QUERY_PARAMS_MAX 4096           /* pairs, with Action and Version */
#define QUERY_NAME_MAX 255              /* bytes of a name before encoding */
#define QUERY_VALUE_MAX 65536           /* bytes of a value before encoding */
#define QUERY_RENDER_MAX (1024 * 1024)  /* bytes of a rendered query */

struct query;

/*
 * Starts a query for action (e.g. "DescribeSnapshots") and API version
 * (e.g. "2016-11-15").  Returns NULL with errno set (EINVAL for an empty
 * argument, ENOMEM).  The caller frees the query with query_free.
 */
struct query *query_new(const char *action, const char *version);

void query_free(struct query *q);

/*
 * Appends the pair name=value; both are copied.  The name must be
 * non-empty; the value may be empty.  Returns 0, or -1 with errno EINVAL
 * (bad argument), E2BIG (a QUERY_*_MAX bound would be exceeded) or ENOMEM;
 * after a failure the query stays failed.
 */
int query_add(struct query *q, const char *name, const char *value);

/*
 * query_add with a printf-style name, e.g.
 * query_addf(q, id, "Filter.%d.Value.%d", i, j).  A name that would exceed
 * QUERY_NAME_MAX fails with E2BIG instead of being truncated.
 */
int query_addf(struct query *q, const char *value, const char *namefmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Number of pairs, Action and Version included. */
size_t query_count(const struct query *q);

/*
 * The application/x-www-form-urlencoded body for a POST: Action, Version,
 * then the pairs in the order added, joined with '&'.  On success stores a
 * NUL-terminated string the caller frees with free() in *out and its length
 * in *len (len may be NULL) and returns 0; returns -1 with errno set when
 * the query has failed or memory runs out.
 */
int query_form(const struct query *q, char **out, size_t *len);

/*
 * The canonical query string for a GET: every pair, sorted by encoded name
 * and then encoded value (byte order), joined with '&'.  Sending exactly
 * this string keeps it identical to what the signer canonicalises.
 * Ownership and errors as for query_form.
 */
int query_canonical(const struct query *q, char **out, size_t *len);

/* True for the bytes RFC 3986 leaves unreserved: A-Z a-z 0-9 - _ . ~ */
bool query_unreserved(unsigned char c);

/* Length of the percent-encoding of the len bytes at s. */
size_t query_encoded_len(const void *s, size_t len);

/*
 * Writes the percent-encoding of the len bytes at s to dst, which must have
 * room for query_encoded_len(s, len) bytes; writes no NUL.  Returns the
 * position after the last byte written.
 */
char *query_encode(char *dst, const void *s, size_t len);

#endif

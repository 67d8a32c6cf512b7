/*
 * Where ec2backup's AWS credentials, region and endpoint come from.
 *
 * Credentials are looked for in the AWS SDKs' order: the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), the shared
 * files (~/.aws/credentials, then ~/.aws/config), the container credentials
 * endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI), and the
 * instance role through the instance metadata service (IMDSv2: a session
 * token first, IMDSv1 only when the token request is refused with 403, 404
 * or 405).  The first source that yields credentials wins; a source that is
 * configured but broken (a file that does not parse, a profile named but
 * missing, a container endpoint that fails) ends the search with an error
 * rather than falling through to another identity.
 *
 * A struct credentials owns its secrets: the secret key, the session token
 * and the metadata token are wiped with OPENSSL_cleanse when they are
 * replaced or freed.  No message written here, logged or returned in err,
 * ever contains a secret.  Temporary credentials (container, instance
 * role) are fetched again by credentials_get when they come within five
 * minutes of their expiration.
 */
#ifndef EC2BACKUP_CREDENTIALS_H
#define EC2BACKUP_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sigv4.h"

#define CREDENTIALS_REFRESH_BEFORE 300  /* seconds before Expiration */
#define CREDENTIALS_RETRY_AFTER 60      /* seconds between failed refreshes
					   while the old ones still hold */
#define CREDENTIALS_DOC_MAX 65536       /* bytes of a credentials document */
#define CREDENTIALS_REGION_MAX 64       /* bytes of a region name, with NUL */

struct credentials;

/*
 * Trusts the CAs in path (or, with NULL, none) besides the system's for
 * every later request to the container and instance metadata endpoints,
 * as --ca-bundle and AWS_CA_BUNDLE do for EC2.  The path is copied.
 */
void credentials_set_ca_bundle(const char *path);

/*
 * Finds credentials.  profile is the --profile argument or NULL; when it
 * is given the environment's keys are skipped (as the AWS CLI does),
 * otherwise the profile is AWS_PROFILE, else AWS_DEFAULT_PROFILE, else
 * "default".  On success returns 0 and stores in *out credentials that the
 * caller frees with credentials_free.  Returns -2 with one line in err
 * when the configuration cannot be used (a profile named but missing, a
 * malformed shared file, a credential source ec2backup does not
 * implement), -1 when a source is broken or none yields credentials
 * (then err names every source tried and what to do).
 */
int credentials_resolve(const char *profile, struct credentials **out,
    char *err, size_t errlen);

/*
 * Names where c came from, e.g. "environment variables",
 * "/root/.aws/credentials (profile prod)", "container credentials",
 * "instance role backup-role (IMDSv2)".  Never holds a secret; the string
 * belongs to c.
 */
const char *credentials_source(const struct credentials *c);

/* True for credentials with an expiration (container, instance role). */
bool credentials_temporary(const struct credentials *c);

/* Their expiration (epoch seconds), or -1 for long-term credentials. */
int64_t credentials_expiration(const struct credentials *c);

/*
 * An ec2_credentials_fn: c is a struct credentials.  Fills *out with
 * strings owned by c, valid until the next call or credentials_free.  At
 * now (epoch seconds) within CREDENTIALS_REFRESH_BEFORE of the expiration,
 * fetches new ones first (reusing the metadata token until its TTL ends).
 * When that fails and the current ones have not expired yet, keeps them,
 * logs a warning and tries again no sooner than CREDENTIALS_RETRY_AFTER
 * later; once they have expired, returns -1 with the reason in err.
 */
int credentials_get(void *c, int64_t now, struct sigv4_credentials *out,
    char *err, size_t errlen);

/* Wipes every secret of c and frees it; NULL is allowed. */
void credentials_free(struct credentials *c);

/*
 * The region: cli_region (--region), then policy_region, AWS_REGION,
 * AWS_DEFAULT_REGION, the profile's region in the config file (profile
 * chosen as in credentials_resolve), then the instance's placement region
 * from the metadata service unless AWS_EC2_METADATA_DISABLED is true.
 * NULL or empty arguments are skipped.  Returns 0 with the region in out
 * and where it came from in source ("--region", "the policy",
 * "AWS_REGION", "/root/.aws/config (profile prod)", "instance
 * metadata"); -1 with a message in err saying where to set one.
 */
int credentials_region(const char *cli_region, const char *policy_region,
    const char *profile, char *out, size_t outlen, char *source,
    size_t sourcelen, char *err, size_t errlen);

/*
 * The EC2 endpoint: cli_url (--endpoint-url), then AWS_ENDPOINT_URL_EC2,
 * then AWS_ENDPOINT_URL, then the profile's "services" ec2 endpoint_url,
 * then its endpoint_url (all but cli_url ignored when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true), else
 * https://ec2.REGION.amazonaws.com (.amazonaws.com.cn for cn- regions).
 * Returns 0 with the URL in out and where it came from in source
 * ("--endpoint-url", "AWS_ENDPOINT_URL_EC2", "FILE:LINE", "the region");
 * -1 with a message in err when the chosen URL is not http(s) or does not
 * fit, or, for the default, region is not a valid region name.
 */
int credentials_endpoint(const char *cli_url, const char *region,
    const char *profile, char *out, size_t outlen, char *source,
    size_t sourcelen, char *err, size_t errlen);

/*
 * An extra CA bundle: AWS_CA_BUNDLE, then the profile's ca_bundle in the
 * config file.  Returns 1 with the path in out, 0 when none is set (out is
 * then ""), -1 with a message in err.
 */
int credentials_ca_bundle(const char *profile, char *out, size_t outlen,
    char *err, size_t errlen);

/*
 * Pieces of the above, for the unit tests.
 */

/*
 * One member wanted from a flat JSON object.  value is set to a malloc'd
 * NUL-terminated copy when the member is present; the caller releases all
 * of them with credentials_json_free, which wipes them.
 */
struct credentials_json_field {
	const char *name;
	char *value;
};

/*
 * Reads a JSON object of at most CREDENTIALS_DOC_MAX bytes whose members
 * are strings, numbers, true, false or null (no nested objects or arrays),
 * storing the string values of the wanted names in fields.  Strings must
 * be valid UTF-8; \u escapes are decoded, \u0000 is refused.  Returns 0,
 * or -1 with a message that never quotes the document (every value is
 * then freed).
 */
int credentials_json_parse(const char *doc, size_t len,
    struct credentials_json_field *fields, size_t nfields, char *err,
    size_t errlen);

void credentials_json_free(struct credentials_json_field *fields,
    size_t nfields);

/*
 * Parses an ISO 8601 UTC time as IMDS and container endpoints write it,
 * "2017-05-17T15:09:54Z" (fractions of a second and a +HH:MM offset are
 * accepted).  Returns 0 with epoch seconds in *out, or -1.
 */
int credentials_parse_time(const char *s, int64_t *out);

/*
 * True when AWS_CONTAINER_CREDENTIALS_FULL_URI may be url: https, or http
 * to a loopback address, localhost, 169.254.170.2, 169.254.170.23 or
 * fd00:ec2::23, without user information in the URL.
 */
bool credentials_full_uri_allowed(const char *url);

#endif

/*
 * The AWS shared files, ~/.aws/credentials and ~/.aws/config, read for
 * one profile.
 *
 * Both are INI files: "[section]" headers, "key = value" (or "key: value")
 * lines, whole-line comments starting with '#' or ';', and indented lines
 * that continue the previous key, which the SDKs use for nested settings
 * ("ec2 =" followed by "  endpoint_url = ...").  In the credentials file a
 * profile is a bare "[name]"; in the config file it is "[profile name]",
 * except "[default]".  Key names are case-insensitive, values are kept as
 * written (no inline comments), as botocore does; an empty value leaves
 * the setting unset.  A service endpoint comes from the profile's
 * "services = NAME" and a "[services NAME]" section holding "ec2 =" and an
 * indented "endpoint_url = URL".
 *
 * Parsing is pure (a buffer in, a struct out).  Errors read
 * "FILE:LINE: message" and never quote a line of the file, so a secret
 * pasted in the wrong place is not echoed.  Secret values are wiped with
 * OPENSSL_cleanse when the profile is freed, and so is the file buffer.
 */
#ifndef EC2BACKUP_AWSCONFIG_H
#define EC2BACKUP_AWSCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define AWSCONFIG_FILE_MAX (1024 * 1024)  /* bytes read from a file */
#define AWSCONFIG_VALUE_MAX 16384         /* bytes of one value */
#define AWSCONFIG_PROFILE_MAX 128         /* bytes of a profile name */

enum awsconfig_kind {
	AWSCONFIG_CREDENTIALS,   /* sections are bare profile names */
	AWSCONFIG_CONFIG,        /* "[profile NAME]", "[default]" */
};

/* One setting: value is NULL (and line 0) when the profile lacks it. */
struct awsconfig_value {
	char *value;
	int line;
};

/* What one file says about one profile; all strings owned by it. */
struct awsconfig_profile {
	bool found;        /* the file has a section for the profile */
	int line;          /* line of that section header */
	struct awsconfig_value access_key_id;
	struct awsconfig_value secret_access_key;  /* secret */
	struct awsconfig_value session_token;      /* secret; also read
	                                              from the older
	                                              aws_security_token */
	struct awsconfig_value region;
	struct awsconfig_value endpoint_url;       /* all services */
	struct awsconfig_value ca_bundle;
	struct awsconfig_value services;           /* a [services] name */
	struct awsconfig_value ec2_endpoint_url;   /* from that section;
	                                              line is in it */
	/* The first setting of a credential source ec2backup does not
	 * implement (role_arn, credential_source, web_identity_token_file,
	 * sso_session, sso_start_url, credential_process): the key's name,
	 * a static string, and its line; NULL and 0 when there is none. */
	const char *other_source;
	int other_source_line;
};

/*
 * Parses the len bytes at buf, a file of the given kind named filename
 * (used in messages only), for profile.  On success returns 0 and fills
 * *out (out->found tells whether the profile exists); the caller releases
 * it with awsconfig_profile_free.  On a syntax error anywhere in the file,
 * a duplicate setting in the profile, or an invalid profile name, returns
 * -1, leaves *out empty and writes "FILE:LINE: message" to err.
 */
int awsconfig_parse(const char *buf, size_t len, const char *filename,
    enum awsconfig_kind kind, const char *profile,
    struct awsconfig_profile *out, char *err, size_t errlen);

/*
 * Reads path (at most AWSCONFIG_FILE_MAX bytes, a regular file) and parses
 * it as awsconfig_parse does.  Returns 1 with an empty *out when the file
 * does not exist, 0 on success, -1 with a message in err otherwise.
 */
int awsconfig_load(const char *path, enum awsconfig_kind kind,
    const char *profile, struct awsconfig_profile *out, char *err,
    size_t errlen);

/* Wipes and frees every value of p and empties it; p itself is kept. */
void awsconfig_profile_free(struct awsconfig_profile *p);

#endif

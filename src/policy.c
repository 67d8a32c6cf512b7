/*
 * Loading and validating policy files.
 *
 * The settings a policy file may hold are described once, in the tables
 * below (name, type, bounds, help); the loader, the "did you mean" hints and
 * a test that compares them with docs/ec2backup.cfg.5 all read the same
 * tables, so they cannot drift apart.  Every problem is reported with the
 * line of the offending setting, and loading keeps going after an error so
 * that one `ec2backup check` run lists everything that is wrong.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "text.h"
#include "tz.h"

#define POLICY_FILE_MAX (1024 * 1024)
#define POLICY_DESCRIPTION_MAX 255
#define POLICY_SNAPSHOT_TAGS_MAX 47 /* EC2 allows 50; we write 3 */
#define POLICY_SET_TAGS_MAX 43  /* and 7 on the snapshots of a set */
#define POLICY_MAX_DELETES_MAX 1000000

enum setting_type { SET_STRING, SET_INT, SET_BOOL, SET_GROUP, SET_LIST,
	SET_STRINGS, SET_DURATION };

struct setting {
	const char *name;
	enum setting_type type;
	long min, max;          /* for SET_INT */
};

static const struct setting root_settings[] = {
	{ "name", SET_STRING, 0, 0 },
	{ "region", SET_STRING, 0, 0 },
	{ "keep", SET_INT, POLICY_KEEP_MIN, POLICY_KEEP_MAX },
	{ "retain", SET_GROUP, 0, 0 },
	{ "timezone", SET_STRING, 0, 0 },
	{ "volumes", SET_LIST, 0, 0 },
	{ "select", SET_GROUP, 0, 0 },
	{ "snapshot_tags", SET_LIST, 0, 0 },
	{ "copy_tags", SET_STRINGS, 0, 0 },
	{ "adopt", SET_BOOL, 0, 0 },
	{ "max_deletes", SET_INT, 0, POLICY_MAX_DELETES_MAX },
	{ "monitor", SET_GROUP, 0, 0 },
	{ "on_success", SET_STRINGS, 0, 0 },
	{ "on_failure", SET_STRINGS, 0, 0 },
	{ "hook_timeout", SET_INT, 1, POLICY_HOOK_TIMEOUT_MAX },
	{ "instances", SET_LIST, 0, 0 },
	{ "exclude_boot_volume", SET_BOOL, 0, 0 },
	{ "exclude_volumes", SET_STRINGS, 0, 0 },
	{ "copy_volume_tags", SET_BOOL, 0, 0 },
	{ "pre_snapshot", SET_STRINGS, 0, 0 },
	{ "post_snapshot", SET_STRINGS, 0, 0 },
	{ "pre_snapshot_failure", SET_STRING, 0, 0 },
	{ NULL, 0, 0, 0 }
};

static const struct setting monitor_settings[] = {
	{ "warn", SET_DURATION, 0, POLICY_DURATION_MAX },
	{ "crit", SET_DURATION, 0, POLICY_DURATION_MAX },
	{ NULL, 0, 0, 0 }
};

static const struct setting retain_settings[] = {
	{ "daily", SET_INT, 0, POLICY_RETAIN_MAX },
	{ "weekly", SET_INT, 0, POLICY_RETAIN_MAX },
	{ "monthly", SET_INT, 0, POLICY_RETAIN_MAX },
	{ "yearly", SET_INT, 0, POLICY_RETAIN_MAX },
	{ NULL, 0, 0, 0 }
};

static const struct setting volume_settings[] = {
	{ "id", SET_STRING, 0, 0 },
	{ "description", SET_STRING, 0, 0 },
	{ "keep", SET_INT, POLICY_KEEP_MIN, POLICY_KEEP_MAX },
	{ "pre_snapshot", SET_STRINGS, 0, 0 },
	{ "post_snapshot", SET_STRINGS, 0, 0 },
	{ NULL, 0, 0, 0 }
};

static const struct setting instance_settings[] = {
	{ "id", SET_STRING, 0, 0 },
	{ "description", SET_STRING, 0, 0 },
	{ "keep", SET_INT, POLICY_KEEP_MIN, POLICY_KEEP_MAX },
	{ "exclude_boot_volume", SET_BOOL, 0, 0 },
	{ "exclude_volumes", SET_STRINGS, 0, 0 },
	{ "pre_snapshot", SET_STRINGS, 0, 0 },
	{ "post_snapshot", SET_STRINGS, 0, 0 },
	{ NULL, 0, 0, 0 }
};

static const struct setting select_settings[] = {
	{ "resource", SET_STRING, 0, 0 },
	{ "tags", SET_LIST, 0, 0 },
	{ NULL, 0, 0, 0 }
};

static const struct setting tag_settings[] = {
	{ "key", SET_STRING, 0, 0 },
	{ "value", SET_STRING, 0, 0 },
	{ NULL, 0, 0, 0 }
};

/* Where diagnostics go and how many there were, for one file. */
struct loader {
	FILE *diag;
	const char *path;
	size_t errors;
	size_t warnings;
};

#if defined(__GNUC__)
#define FMT(a, b) __attribute__((format(printf, a, b)))
#else
#define FMT(a, b)
#endif

/* One line per problem, whatever the file holds: what the message quotes
 * from it (a name with a newline, say) is escaped. */
static void
vdiag(struct loader *ld, int line, const char *kind, const char *fmt,
    va_list ap)
{
	char msg[1024], safe[sizeof(msg) * TEXT_ESCAPE_GROWTH];
	char path[PATH_MAX * TEXT_ESCAPE_GROWTH];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	text_escape(msg, safe, sizeof(safe));
	text_escape(ld->path, path, sizeof(path));
	if (line > 0)
		fprintf(ld->diag, "%s:%d: %s: %s\n", path, line, kind, safe);
	else
		fprintf(ld->diag, "%s: %s: %s\n", path, kind, safe);
}

static void FMT(3, 4)
error_at(struct loader *ld, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(ld, line, "error", fmt, ap);
	va_end(ap);
	ld->errors++;
}

static void FMT(3, 4)
warning_at(struct loader *ld, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(ld, line, "warning", fmt, ap);
	va_end(ap);
	ld->warnings++;
}

static int
line_of(const config_setting_t *s)
{
	int line = (int)config_setting_source_line(s);

	return line > 0 ? line : 1;
}

/* The known name nearest to name, if it is near enough to be a typo. */
static const char *
suggest(const struct setting *table, const char *name)
{
	const char *names[32];
	size_t n = 0;

	for (const struct setting *s = table; s->name != NULL && n < 32; s++)
		names[n++] = s->name;
	return text_nearest(name, names, n);
}

static const char *
type_word(enum setting_type t)
{
	switch (t) {
	case SET_STRING: return "a string";
	case SET_INT: return "an integer";
	case SET_BOOL: return "true or false";
	case SET_GROUP: return "a group { ... }";
	case SET_LIST: return "a list ( ... )";
	case SET_STRINGS: return "a list of strings ( \"...\", ... )";
	case SET_DURATION: return "a duration such as \"28h\", \"2d\" or "
	    "\"90m\", or 0";
	}
	return "?";
}

static const char *
config_type_word(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a number with a fraction";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array [ ... ]";
	case CONFIG_TYPE_LIST: return "a list ( ... )";
	case CONFIG_TYPE_GROUP: return "a group { ... }";
	}
	return "unknown";
}

static bool
has_type(const config_setting_t *s, enum setting_type t)
{
	int ct = config_setting_type(s);

	switch (t) {
	case SET_STRING: return ct == CONFIG_TYPE_STRING;
	case SET_INT: return ct == CONFIG_TYPE_INT || ct == CONFIG_TYPE_INT64;
	case SET_BOOL: return ct == CONFIG_TYPE_BOOL;
	case SET_GROUP: return ct == CONFIG_TYPE_GROUP;
	/* An empty list and an empty array look alike to a person. */
	case SET_LIST: return ct == CONFIG_TYPE_LIST ||
		    (ct == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0);
	case SET_STRINGS:
		if (ct != CONFIG_TYPE_LIST && ct != CONFIG_TYPE_ARRAY)
			return false;
		for (int i = 0; i < config_setting_length(s); i++)
			if (config_setting_type(config_setting_get_elem(s, i))
			    != CONFIG_TYPE_STRING)
				return false;
		return true;
	case SET_DURATION: return ct == CONFIG_TYPE_STRING ||
		    ct == CONFIG_TYPE_INT || ct == CONFIG_TYPE_INT64;
	}
	return false;
}

/*
 * A duration: 0 (off), or a whole number with a unit, s m h d ("28h",
 * "2d", "90m"), at most POLICY_DURATION_MAX seconds.  Returns seconds, or
 * -1 when it is not one.
 */
static long
get_duration(const config_setting_t *m)
{
	const char *s, *units = "smhd";
	static const long scale[] = { 1, 60, 3600, 86400 };
	const char *u;
	long v = 0;

	if (config_setting_type(m) != CONFIG_TYPE_STRING)
		return config_setting_get_int64(m) == 0 ? 0 : -1;
	s = config_setting_get_string(m);
	if (strcmp(s, "0") == 0)
		return 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > POLICY_DURATION_MAX)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (s[0] == '\0' || s[1] != '\0' || (u = strchr(units, *s)) == NULL)
		return -1;
	if (v > POLICY_DURATION_MAX / scale[u - units])
		return -1;
	return v * scale[u - units];
}

/*
 * Checks that every member of group is a known setting of the right type
 * and, for integers, within bounds.  Returns true when all are fine.
 * context names the group in messages ("retain", "volume", ...).
 */
static bool
check_members(struct loader *ld, const config_setting_t *group,
    const struct setting *table, const char *context)
{
	bool ok = true;
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(group, i);
		const char *name = config_setting_name(m);
		const struct setting *s;

		for (s = table; s->name != NULL; s++)
			if (strcmp(s->name, name) == 0)
				break;
		if (s->name == NULL) {
			const char *hint = suggest(table, name);
			if (hint != NULL)
				error_at(ld, line_of(m),
				    "unknown setting '%s'%s%s (did you mean "
				    "'%s'?)", name, context ? " in " : "",
				    context ? context : "", hint);
			else
				error_at(ld, line_of(m),
				    "unknown setting '%s'%s%s", name,
				    context ? " in " : "",
				    context ? context : "");
			ok = false;
			continue;
		}
		if (!has_type(m, s->type)) {
			error_at(ld, line_of(m), "'%s' must be %s, not %s",
			    name, type_word(s->type), config_type_word(m));
			ok = false;
			continue;
		}
		if (s->type == SET_INT) {
			long long v = config_setting_get_int64(m);
			if (v < s->min || v > s->max) {
				error_at(ld, line_of(m),
				    "'%s' is %lld; it must be %ld to %ld",
				    name, v, s->min, s->max);
				ok = false;
			}
		}
		if (s->type == SET_DURATION && get_duration(m) < 0) {
			error_at(ld, line_of(m), "'%s' must be %s (at most "
			    "%ld days)", name, type_word(s->type),
			    s->max / 86400);
			ok = false;
		}
	}
	return ok;
}

/* Members are checked already; these read them or give the default. */
static const char *
get_string(const config_setting_t *group, const char *name)
{
	config_setting_t *m = config_setting_get_member(group, name);

	return m != NULL && config_setting_type(m) == CONFIG_TYPE_STRING ?
	    config_setting_get_string(m) : NULL;
}

static long
get_int(const config_setting_t *group, const char *name, long dflt)
{
	config_setting_t *m = config_setting_get_member(group, name);

	if (m == NULL || (config_setting_type(m) != CONFIG_TYPE_INT &&
	    config_setting_type(m) != CONFIG_TYPE_INT64))
		return dflt;
	return (long)config_setting_get_int64(m);
}

static bool
has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7F)
			return true;
	return false;
}

bool
policy_valid_volume_id(const char *s)
{
	size_t n;

	if (strncmp(s, "vol-", 4) != 0)
		return false;
	n = strlen(s + 4);
	if (n != 8 && n != 17)
		return false;
	for (const char *p = s + 4; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

bool
policy_valid_instance_id(const char *s)
{
	size_t n;

	if (strncmp(s, "i-", 2) != 0)
		return false;
	n = strlen(s + 2);
	if (n != 8 && n != 17)
		return false;
	for (const char *p = s + 2; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

bool
policy_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > POLICY_NAME_MAX)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
		    *p == '-'))
			return false;
	return true;
}

/* AWS region names: "us-east-1", "us-gov-west-1", "cn-north-1". */
static bool
valid_region(const char *s)
{
	const char *p = s;
	int parts = 0;

	if (strlen(s) > 32)
		return false;
	for (;;) {
		const char *start = p;
		while (*p >= 'a' && *p <= 'z')
			p++;
		if (p == start)
			break;
		parts++;
		if (*p != '-')
			return false;
		p++;
	}
	if (parts < 2 || *p < '1' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0';
}

/*
 * Reads a { key; value; } list into tags.  Returns false when an entry had
 * a problem (reported) or memory ran out (not reported: the caller tells
 * the two apart by the error count).
 */
static bool
read_tags(struct loader *ld, const config_setting_t *list, const char *what,
    bool for_snapshots, struct policy_tag **out, size_t *nout)
{
	int n = config_setting_length(list);
	bool ok = true;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return true;
	*out = calloc((size_t)n, sizeof(**out));
	if (*out == NULL)
		return false;
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, i);
		int line = line_of(g);
		const char *key, *value;
		long klen, vlen;

		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			error_at(ld, line, "each entry of %s must be a group "
			    "{ key = \"...\"; value = \"...\"; }", what);
			ok = false;
			continue;
		}
		if (!check_members(ld, g, tag_settings, what)) {
			ok = false;
			continue;
		}
		key = get_string(g, "key");
		value = get_string(g, "value");
		if (key == NULL) {
			error_at(ld, line, "tag in %s has no 'key'", what);
			ok = false;
			continue;
		}
		if (value == NULL) {
			error_at(ld, line, "tag '%s' in %s has no 'value' "
			    "(use value = \"\"; for an empty one)", key, what);
			ok = false;
			continue;
		}
		klen = text_utf8_length(key);
		vlen = text_utf8_length(value);
		if (klen < 0 || vlen < 0) {
			error_at(ld, line, "tag '%s' in %s is not valid UTF-8",
			    klen < 0 ? "?" : key, what);
			ok = false;
			continue;
		}
		if (klen < 1 || klen > POLICY_TAG_KEY_MAX) {
			error_at(ld, line, "tag key in %s must be 1 to %d "
			    "characters, not %ld", what, POLICY_TAG_KEY_MAX,
			    klen);
			ok = false;
			continue;
		}
		if (vlen > POLICY_TAG_VALUE_MAX) {
			error_at(ld, line, "value of tag '%s' in %s must be at "
			    "most %d characters, not %ld", key, what,
			    POLICY_TAG_VALUE_MAX, vlen);
			ok = false;
			continue;
		}
		if (has_control(key) || has_control(value)) {
			error_at(ld, line, "tag '%s' in %s contains control "
			    "characters", key, what);
			ok = false;
			continue;
		}
		if (strncmp(key, "aws:", 4) == 0) {
			error_at(ld, line, "tag key '%s' in %s: keys starting "
			    "with 'aws:' are reserved by AWS", key, what);
			ok = false;
			continue;
		}
		if (for_snapshots && strncmp(key, "ec2backup:", 10) == 0) {
			error_at(ld, line, "tag key '%s' in %s: keys starting "
			    "with 'ec2backup:' are written by ec2backup itself",
			    key, what);
			ok = false;
			continue;
		}
		for (size_t j = 0; j < *nout; j++) {
			if (strcmp((*out)[j].key, key) == 0) {
				error_at(ld, line, "tag '%s' appears twice in "
				    "%s (first at line %d)", key, what,
				    (*out)[j].line);
				ok = false;
				key = NULL;
				break;
			}
		}
		if (key == NULL)
			continue;
		(*out)[*nout].key = strdup(key);
		(*out)[*nout].value = strdup(value);
		(*out)[*nout].line = line;
		if ((*out)[*nout].key == NULL || (*out)[*nout].value == NULL)
			return false;
		(*nout)++;
	}
	return ok;
}

static bool read_hook(struct loader *ld, const config_setting_t *root,
    const char *name, char ***out);

static void
free_argv(char **argv)
{
	for (char **a = argv; a != NULL && *a != NULL; a++)
		free(*a);
	free(argv);
}

static void
free_freeze(struct policy_freeze *f)
{
	free_argv(f->pre);
	free_argv(f->post);
	f->pre = f->post = NULL;
}

/*
 * pre_snapshot and post_snapshot of group (the policy, a volume or an
 * instance).  A pre hook with no post hook is allowed (a flush needs no
 * undoing) but warned about: a freeze without a thaw hangs the machine.
 * Returns false only when out of memory.
 */
static bool
read_freeze(struct loader *ld, const config_setting_t *group,
    struct policy_freeze *out)
{
	config_setting_t *pre = config_setting_get_member(group,
	    "pre_snapshot");

	if (!read_hook(ld, group, "pre_snapshot", &out->pre) ||
	    !read_hook(ld, group, "post_snapshot", &out->post))
		return false;
	if (out->pre != NULL && out->post == NULL)
		warning_at(ld, line_of(pre), "pre_snapshot without "
		    "post_snapshot: nothing undoes what it does; if it freezes "
		    "a filesystem, give a post_snapshot that thaws it");
	return true;
}

/*
 * exclude_volumes: volume ids, appended to (*out, *n) without repeats.
 * what names the list in messages.  Returns false only when out of
 * memory.
 */
static bool
read_exclude(struct loader *ld, const config_setting_t *list,
    const char *what, char (**out)[POLICY_VOLUME_ID_MAX + 1], size_t *n)
{
	int len = config_setting_length(list);
	char (*grown)[POLICY_VOLUME_ID_MAX + 1];

	if (len == 0)
		return true;
	if (*n + (size_t)len > POLICY_EXCLUDE_MAX) {
		error_at(ld, line_of(list), "%s: %zu volumes left out; EC2 "
		    "allows at most %d", what, *n + (size_t)len,
		    POLICY_EXCLUDE_MAX);
		return true;
	}
	if ((grown = realloc(*out, (*n + (size_t)len) * sizeof(**out))) ==
	    NULL)
		return false;
	*out = grown;
	for (int i = 0; i < len; i++) {
		config_setting_t *e = config_setting_get_elem(list, i);
		const char *id = config_setting_get_string(e);
		bool twice = false;

		if (!policy_valid_volume_id(id)) {
			error_at(ld, line_of(e), "'%s' in %s is not a volume "
			    "id (expected vol- and 8 or 17 lowercase hex "
			    "digits)", id, what);
			continue;
		}
		for (size_t j = 0; j < *n && !twice; j++)
			twice = strcmp((*out)[j], id) == 0;
		if (twice) {
			error_at(ld, line_of(e), "volume %s is left out twice "
			    "(%s)", id, what);
			continue;
		}
		memcpy((*out)[(*n)++], id, strlen(id) + 1);
	}
	return true;
}

/* description of an entry: printable UTF-8 that fits EC2's limit. */
static bool
valid_description(const char *desc)
{
	return text_utf8_length(desc) >= 0 && !has_control(desc) &&
	    strlen(desc) <= POLICY_DESCRIPTION_MAX;
}

static bool
read_instances(struct loader *ld, const config_setting_t *list,
    struct policy *p)
{
	int n = config_setting_length(list);
	bool ok = true;

	if (n == 0)
		return true;
	p->instances = calloc((size_t)n, sizeof(*p->instances));
	if (p->instances == NULL)
		return false;
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, i);
		config_setting_t *m;
		int line = line_of(g);
		struct policy_instance *in;
		const char *id, *desc;

		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			error_at(ld, line, "each entry of 'instances' must be "
			    "a group { id = \"i-...\"; }");
			continue;
		}
		if (!check_members(ld, g, instance_settings, "instance"))
			continue;
		id = get_string(g, "id");
		if (id == NULL) {
			error_at(ld, line, "instance has no 'id'");
			continue;
		}
		if (!policy_valid_instance_id(id)) {
			error_at(ld, line, "'%s' is not an instance id "
			    "(expected i- and 8 or 17 lowercase hex digits)",
			    id);
			continue;
		}
		for (size_t j = 0; j < p->ninstances && id != NULL; j++) {
			if (strcmp(p->instances[j].id, id) == 0) {
				error_at(ld, line, "instance %s is listed twice "
				    "(first at line %d)", id,
				    p->instances[j].line);
				id = NULL;
			}
		}
		if (id == NULL)
			continue;
		desc = get_string(g, "description");
		if (desc != NULL && !valid_description(desc)) {
			error_at(ld, line, "description of instance %s must be "
			    "printable UTF-8 of at most %d bytes", id,
			    POLICY_DESCRIPTION_MAX);
			continue;
		}
		in = &p->instances[p->ninstances++];
		memcpy(in->id, id, strlen(id) + 1);
		in->line = line;
		in->keep = (int)get_int(g, "keep", p->keep);
		in->exclude_boot = p->exclude_boot;
		if ((m = config_setting_get_member(g,
		    "exclude_boot_volume")) != NULL)
			in->exclude_boot = config_setting_get_bool(m);
		if (p->nexclude > 0) {
			in->exclude = malloc(p->nexclude * sizeof(*in->exclude));
			if (in->exclude == NULL)
				return false;
			memcpy(in->exclude, p->exclude, p->nexclude *
			    sizeof(*in->exclude));
			in->nexclude = p->nexclude;
		}
		if ((m = config_setting_get_member(g, "exclude_volumes")) !=
		    NULL && !read_exclude(ld, m, "exclude_volumes of the "
		    "instance", &in->exclude, &in->nexclude))
			return false;
		if (desc != NULL && (in->description = strdup(desc)) == NULL)
			return false;
		if (!read_freeze(ld, g, &in->freeze))
			return false;
	}
	return ok;
}

static bool
read_volumes(struct loader *ld, const config_setting_t *list,
    struct policy *p)
{
	int n = config_setting_length(list);
	bool ok = true;

	if (n == 0)
		return true;
	p->volumes = calloc((size_t)n, sizeof(*p->volumes));
	if (p->volumes == NULL)
		return false;
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, i);
		int line = line_of(g);
		struct policy_volume *v;
		const char *id, *desc;

		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			error_at(ld, line, "each entry of 'volumes' must be a "
			    "group { id = \"vol-...\"; }");
			ok = false;
			continue;
		}
		if (!check_members(ld, g, volume_settings, "volume")) {
			ok = false;
			continue;
		}
		id = get_string(g, "id");
		if (id == NULL) {
			error_at(ld, line, "volume has no 'id'");
			ok = false;
			continue;
		}
		if (!policy_valid_volume_id(id)) {
			error_at(ld, line, "'%s' is not a volume id (expected "
			    "vol- and 8 or 17 lowercase hex digits)", id);
			ok = false;
			continue;
		}
		for (size_t j = 0; j < p->nvolumes; j++) {
			if (strcmp(p->volumes[j].id, id) == 0) {
				error_at(ld, line, "volume %s is listed twice "
				    "(first at line %d)", id,
				    p->volumes[j].line);
				ok = false;
				id = NULL;
				break;
			}
		}
		if (id == NULL)
			continue;
		desc = get_string(g, "description");
		if (desc != NULL && !valid_description(desc)) {
			error_at(ld, line, "description of volume %s must be "
			    "printable UTF-8 of at most %d bytes", id,
			    POLICY_DESCRIPTION_MAX);
			ok = false;
			continue;
		}
		v = &p->volumes[p->nvolumes++];
		memcpy(v->id, id, strlen(id) + 1);
		v->line = line;
		v->keep = (int)get_int(g, "keep", p->keep);
		if (desc != NULL && (v->description = strdup(desc)) == NULL)
			return false;
		if (!read_freeze(ld, g, &v->freeze))
			return false;
	}
	return ok;
}

static void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->file);
	free(p->region);
	free(p->timezone);
	for (size_t i = 0; i < p->nvolumes; i++) {
		free(p->volumes[i].description);
		free_freeze(&p->volumes[i].freeze);
	}
	free(p->volumes);
	for (size_t i = 0; i < p->ninstances; i++) {
		free(p->instances[i].description);
		free(p->instances[i].exclude);
		free_freeze(&p->instances[i].freeze);
	}
	free(p->instances);
	free(p->exclude);
	free_freeze(&p->freeze);
	for (size_t i = 0; i < p->nselect_tags; i++) {
		free(p->select_tags[i].key);
		free(p->select_tags[i].value);
	}
	free(p->select_tags);
	for (size_t i = 0; i < p->nsnapshot_tags; i++) {
		free(p->snapshot_tags[i].key);
		free(p->snapshot_tags[i].value);
	}
	free(p->snapshot_tags);
	for (size_t i = 0; i < p->ncopy_tags; i++)
		free(p->copy_tags[i]);
	free(p->copy_tags);
	free_argv(p->on_success);
	free_argv(p->on_failure);
	free(p);
}

/* The file name without directories and without a ".cfg" ending. */
static char *
name_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;
	char *name;

	base = base != NULL ? base + 1 : path;
	n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".cfg") == 0)
		n -= 4;
	if ((name = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(name, base, n);
	name[n] = '\0';
	return name;
}

/*
 * Reports credentials in a policy file.  Policy files are often readable
 * by everyone and checked into repositories; a key in one is a leak.
 */
static void
scan_secrets(struct loader *ld, const char *text, mode_t mode)
{
	static const char *const words[] = { "aws_secret_access_key",
	    "aws_access_key_id", "aws_session_token", "secret", "password",
	    "token" };
	int line = 1;
	const char *p = text;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		const char *what = NULL;

		for (size_t i = 0; i < len && what == NULL; i++) {
			/* Access key ids: AKIA/ASIA and 16 more. */
			if (len - i >= 20 && (strncmp(p + i, "AKIA", 4) == 0 ||
			    strncmp(p + i, "ASIA", 4) == 0)) {
				size_t j = 4;
				while (j < 20 && ((p[i + j] >= 'A' &&
				    p[i + j] <= 'Z') || (p[i + j] >= '0' &&
				    p[i + j] <= '9')))
					j++;
				if (j == 20)
					what = "an AWS access key id";
			}
			for (size_t w = 0; w < sizeof(words) / sizeof(*words)
			    && what == NULL; w++) {
				size_t wl = strlen(words[w]);
				if (len - i >= wl &&
				    strncasecmp(p + i, words[w], wl) == 0)
					what = "a credential";
			}
		}
		if (what != NULL) {
			if (mode & (S_IRGRP | S_IROTH))
				warning_at(ld, line, "this looks like %s, and "
				    "the file is readable by %s; policy files "
				    "should not contain credentials at all (use "
				    "~/.aws/credentials or an instance role)",
				    what, mode & S_IROTH ? "everyone" :
				    "its group");
			else
				warning_at(ld, line, "this looks like %s; "
				    "policy files should not contain "
				    "credentials at all (use ~/.aws/credentials "
				    "or an instance role)", what);
			return; /* one warning per file is enough */
		}
		if (eol == NULL)
			break;
		p = eol + 1;
		line++;
	}
}

/*
 * libconfig 1.5 reads an integer without an L suffix into an int, so
 * 4294967297 silently becomes 1, and one with L past 2^63 overflows.
 * Every number in the text is therefore read here first, and one libconfig
 * would not keep exactly is an error at its line.  Strings and comments
 * are skipped as libconfig skips them; floats are left to libconfig.
 */
static void
scan_numbers(struct loader *ld, const char *text)
{
	const char *p = text;
	int line = 1;

	while (*p != '\0') {
		const char *start = p;
		bool hex, big, neg = false;
		unsigned long long v = 0, lim;
		size_t len;

		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/');
			    p++)
				line += *p == '\n';
			p += *p != '\0' ? 2 : 0;
		} else if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				line += *p == '\n';
			}
			p += *p != '\0';
		} else if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    *p == '*') {
			/* A name may hold digits: "key2" is not a number. */
			while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' &&
			    *p <= 'z') || (*p >= '0' && *p <= '9') ||
			    *p == '-' || *p == '_' || *p == '*')
				p++;
		} else if ((*p >= '0' && *p <= '9') || ((*p == '-' ||
		    *p == '+') && p[1] >= '0' && p[1] <= '9')) {
			neg = *p == '-';
			p += *p == '-' || *p == '+';
			hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
			len = strspn(p, "0123456789abcdefABCDEFxX.+-L");
			/* Exponents and fractions make a float. */
			if (!hex && (memchr(p, '.', len) != NULL ||
			    memchr(p, 'e', len) != NULL ||
			    memchr(p, 'E', len) != NULL)) {
				p += len;
				continue;
			}
			big = len > 0 && p[len - 1] == 'L';
			lim = big ? (unsigned long long)INT64_MAX :
			    (unsigned long long)INT32_MAX;
			for (size_t i = hex ? 2 : 0; i < len && p[i] != 'L'; i++) {
				unsigned d = p[i] <= '9' ? (unsigned)(p[i] - '0') :
				    (unsigned)((p[i] | 0x20) - 'a' + 10);
				unsigned base = hex ? 16 : 10;
				if (d >= base || v > (lim + neg - d) / base) {
					v = lim + 2;
					break;
				}
				v = v * base + d;
			}
			if (v > lim + neg)
				error_at(ld, line, "the number %.*s is out of "
				    "range: no setting takes a number that "
				    "large", (int)(p + len - start > 40 ? 40 :
				    p + len - start), start);
			p += len;
		} else {
			p++;
		}
	}
}

/*
 * libconfig's @include opens another file, relative to the working
 * directory, without any of the checks a policy file gets (regular file,
 * size, credentials); a policy is one file, so it is refused.  Returns
 * true when the text has one (each reported at its line).
 */
static bool
scan_includes(struct loader *ld, const char *text)
{
	bool found = false;
	int line = 1;

	for (const char *p = text; *p != '\0'; line++) {
		const char *eol = strchr(p, '\n');
		p += strspn(p, " \t\r");
		if (strncmp(p, "@include", 8) == 0) {
			error_at(ld, line, "@include is not supported: put "
			    "everything of a policy in its file, one policy "
			    "per file");
			found = true;
		}
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	return found;
}

/*
 * copy_tags: volume tag keys written on the snapshots too.  They share
 * EC2's 50 tags with snapshot_tags and ec2backup's own three.  Returns
 * false only when out of memory.
 */
static bool
read_copy_tags(struct loader *ld, const config_setting_t *list,
    struct policy *p)
{
	int n = config_setting_length(list);

	if (n == 0)
		return true;
	if ((size_t)n + p->nsnapshot_tags > POLICY_SNAPSHOT_TAGS_MAX) {
		error_at(ld, line_of(list), "copy_tags and snapshot_tags add up "
		    "to %zu tags; at most %d (EC2 allows 50 tags and ec2backup "
		    "writes 3)", (size_t)n + p->nsnapshot_tags,
		    POLICY_SNAPSHOT_TAGS_MAX);
		return true;
	}
	if ((p->copy_tags = calloc((size_t)n, sizeof(*p->copy_tags))) == NULL)
		return false;
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(list, i);
		int line = line_of(e);
		const char *key = config_setting_type(e) == CONFIG_TYPE_STRING ?
		    config_setting_get_string(e) : NULL;
		long klen = key != NULL ? text_utf8_length(key) : -1;
		bool twice = false;

		if (key == NULL) {
			error_at(ld, line, "each entry of copy_tags must be a "
			    "tag key in quotes, such as \"Name\"");
			continue;
		}
		if (klen < 1 || klen > POLICY_TAG_KEY_MAX || has_control(key)) {
			error_at(ld, line, "'%s' in copy_tags is not a tag key "
			    "(1 to %d characters)", klen < 0 ? "?" : key,
			    POLICY_TAG_KEY_MAX);
			continue;
		}
		if (strncmp(key, "aws:", 4) == 0 ||
		    strncmp(key, "ec2backup:", 10) == 0) {
			error_at(ld, line, "'%s' in copy_tags cannot be copied: "
			    "keys starting with 'aws:' or 'ec2backup:' are "
			    "written by AWS and ec2backup only", key);
			continue;
		}
		for (size_t j = 0; j < p->ncopy_tags && !twice; j++)
			twice = strcmp(p->copy_tags[j], key) == 0;
		if (twice) {
			error_at(ld, line, "'%s' appears twice in copy_tags",
			    key);
			continue;
		}
		if ((p->copy_tags[p->ncopy_tags] = strdup(key)) == NULL)
			return false;
		p->ncopy_tags++;
	}
	return true;
}

/*
 * on_success, on_failure: a command as an argument list, run without a
 * shell.  Stores a NULL-terminated copy in *out (NULL when not set).
 * Returns false only when out of memory.
 */
static bool
read_hook(struct loader *ld, const config_setting_t *root, const char *name,
    char ***out)
{
	config_setting_t *s = config_setting_get_member(root, name);
	int n;

	*out = NULL;
	if (s == NULL || !has_type(s, SET_STRINGS))
		return true;
	if ((n = config_setting_length(s)) == 0) {
		error_at(ld, line_of(s), "'%s' is empty; give the program and "
		    "its arguments, such as ( \"/usr/bin/logger\", \"backup "
		    "failed\" )", name);
		return true;
	}
	if ((*out = calloc((size_t)n + 1, sizeof(**out))) == NULL)
		return false;
	for (int i = 0; i < n; i++) {
		const char *a = config_setting_get_string(
		    config_setting_get_elem(s, i));
		if (((*out)[i] = strdup(a)) == NULL)
			return false;
	}
	if ((*out)[0][0] != '/')
		error_at(ld, line_of(s), "'%s' must start with the program's "
		    "absolute path, not '%s' (cron and systemd run with a "
		    "short PATH)", name, (*out)[0]);
	return true;
}

/* Reads a whole regular file of bounded size; the caller frees it. */
static char *
read_file(struct loader *ld, mode_t *mode)
{
	FILE *f;
	struct stat st;
	char *buf = NULL;
	size_t n;
	int fd;

	/* Non-blocking, so that a FIFO or a device is refused below instead
	 * of blocking the run forever. */
	if ((fd = open(ld->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1 ||
	    (f = fdopen(fd, "r")) == NULL) {
		error_at(ld, 0, "cannot read: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0) {
		error_at(ld, 0, "cannot read: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		error_at(ld, 0, "not a regular file");
		goto fail;
	}
	if (st.st_size > POLICY_FILE_MAX) {
		error_at(ld, 0, "file is larger than %d bytes; is this a "
		    "policy file?", POLICY_FILE_MAX);
		goto fail;
	}
	*mode = st.st_mode;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		error_at(ld, 0, "cannot read: %s", strerror(errno));
		free(buf);
		buf = NULL;
		goto fail;
	}
	buf[n] = '\0';
	if (strlen(buf) != n) {
		error_at(ld, 0, "file contains NUL bytes; is this a policy "
		    "file?");
		free(buf);
		buf = NULL;
	}
fail:
	fclose(f);
	return buf;
}

/*
 * A policy backs up volumes or instances, never both, and some settings
 * make sense for one kind only: each such mix is an error that says what
 * to use instead.
 */
static void
check_resource(struct loader *ld, const config_setting_t *root,
    const struct policy *p)
{
	static const struct {
		const char *name;
		enum policy_resource only;
		const char *instead;
	} only[] = {
		{ "volumes", POLICY_VOLUMES, "list the instances in "
		    "'instances', or write a second policy for the volumes" },
		{ "adopt", POLICY_VOLUMES, "the snapshots of an instance set "
		    "are always tagged, so there is nothing to adopt" },
		{ "copy_tags", POLICY_VOLUMES, "use copy_volume_tags = true; "
		    "(EC2 copies every tag of each volume to its snapshot)" },
		{ "exclude_boot_volume", POLICY_INSTANCES, "it applies to "
		    "instance policies" },
		{ "exclude_volumes", POLICY_INSTANCES, "it applies to "
		    "instance policies; list only the volumes to back up" },
		{ "copy_volume_tags", POLICY_INSTANCES, "use copy_tags = "
		    "( \"Name\", ... ); to choose the tags to copy" },
	};

	for (size_t i = 0; i < sizeof(only) / sizeof(*only); i++) {
		config_setting_t *m = config_setting_get_member(root,
		    only[i].name);
		if (m == NULL || only[i].only == p->resource)
			continue;
		error_at(ld, line_of(m), "'%s' cannot be used in %s policy: "
		    "%s", only[i].name, p->resource == POLICY_INSTANCES ?
		    "an instance" : "a volume", only[i].instead);
	}
}

/*
 * Loads one file.  Returns the policy, or NULL when it had errors (all
 * reported) or memory ran out.
 */
static struct policy *
load_file(struct loader *ld)
{
	config_t cfg;
	config_setting_t *root, *s;
	struct policy *p = NULL;
	char *text;
	const char *str;
	mode_t mode = 0;
	size_t errors_before = ld->errors;
	char tzerr[128];

	if ((text = read_file(ld, &mode)) == NULL)
		return NULL;
	scan_secrets(ld, text, mode);
	scan_numbers(ld, text);
	config_init(&cfg);
	if (scan_includes(ld, text))
		goto done;
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		const char *msg = config_error_text(&cfg);
		/* libconfig's words: "syntax error", "duplicate setting
		 * name", ... */
		error_at(ld, config_error_line(&cfg), "%s",
		    msg != NULL ? msg : "syntax error");
		goto done;
	}
	root = config_root_setting(&cfg);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto done;
	p->max_deletes = -1;
	check_members(ld, root, root_settings, NULL);

	str = get_string(root, "name");
	if (str != NULL) {
		if (!policy_valid_name(str))
			error_at(ld, line_of(config_lookup(&cfg, "name")),
			    "policy name '%s' is not valid (1 to %d of "
			    "A-Z a-z 0-9 _ . -)", str, POLICY_NAME_MAX);
		p->name = strdup(str);
	} else {
		p->name = name_from_path(ld->path);
		if (p->name != NULL && !policy_valid_name(p->name))
			error_at(ld, 1, "the file name gives the policy name "
			    "'%s', which is not valid (1 to %d of A-Z a-z 0-9 "
			    "_ . -); set 'name' or rename the file", p->name,
			    POLICY_NAME_MAX);
	}

	if ((str = get_string(root, "region")) != NULL) {
		if (!valid_region(str))
			error_at(ld, line_of(config_lookup(&cfg, "region")),
			    "'%s' is not an AWS region name (such as "
			    "us-east-1)", str);
		p->region = strdup(str);
	}

	if (config_setting_get_member(root, "keep") == NULL)
		error_at(ld, 1, "missing required setting 'keep' (how many "
		    "snapshots to keep per volume, %d to %d)", POLICY_KEEP_MIN,
		    POLICY_KEEP_MAX);
	p->keep = (int)get_int(root, "keep", POLICY_KEEP_MIN);

	if ((s = config_setting_get_member(root, "retain")) != NULL &&
	    config_setting_type(s) == CONFIG_TYPE_GROUP &&
	    check_members(ld, s, retain_settings, "retain")) {
		p->retain.daily = (int)get_int(s, "daily", 0);
		p->retain.weekly = (int)get_int(s, "weekly", 0);
		p->retain.monthly = (int)get_int(s, "monthly", 0);
		p->retain.yearly = (int)get_int(s, "yearly", 0);
	}

	str = get_string(root, "timezone");
	p->timezone = strdup(str != NULL ? str : "UTC");
	if (str != NULL) {
		struct tz *zone = NULL;
		if (tz_load(str, &zone, tzerr, sizeof(tzerr)) != 0)
			error_at(ld, line_of(config_lookup(&cfg, "timezone")),
			    "time zone '%s': %s (use an IANA name "
			    "such as Europe/Helsinki)", str, tzerr);
		tz_free(zone);
	}

	if ((s = config_setting_get_member(root, "adopt")) != NULL &&
	    config_setting_type(s) == CONFIG_TYPE_BOOL)
		p->adopt = config_setting_get_bool(s);
	p->max_deletes = get_int(root, "max_deletes", -1);

	/* Instance policies: what is left out of every instance comes
	 * before the instances, which add their own. */
	if ((s = config_setting_get_member(root, "exclude_boot_volume")) !=
	    NULL && config_setting_type(s) == CONFIG_TYPE_BOOL)
		p->exclude_boot = config_setting_get_bool(s);
	if ((s = config_setting_get_member(root, "exclude_volumes")) != NULL &&
	    has_type(s, SET_STRINGS) && !read_exclude(ld, s,
	    "exclude_volumes", &p->exclude, &p->nexclude))
		goto oom;
	if ((s = config_setting_get_member(root, "copy_volume_tags")) !=
	    NULL && config_setting_type(s) == CONFIG_TYPE_BOOL)
		p->copy_volume_tags = config_setting_get_bool(s);

	if ((s = config_setting_get_member(root, "volumes")) != NULL &&
	    has_type(s, SET_LIST) && !read_volumes(ld, s, p) &&
	    ld->errors == errors_before)
		goto oom;
	if ((s = config_setting_get_member(root, "instances")) != NULL &&
	    has_type(s, SET_LIST) && !read_instances(ld, s, p))
		goto oom;
	if (s != NULL)
		p->resource = POLICY_INSTANCES;

	if ((s = config_setting_get_member(root, "select")) != NULL &&
	    config_setting_type(s) == CONFIG_TYPE_GROUP &&
	    check_members(ld, s, select_settings, "select")) {
		config_setting_t *tags = config_setting_get_member(s, "tags");
		const char *res = get_string(s, "resource");
		if (res != NULL && strcmp(res, "instance") == 0)
			p->resource = POLICY_INSTANCES;
		else if (res != NULL && strcmp(res, "volume") != 0)
			error_at(ld, line_of(config_setting_get_member(s,
			    "resource")), "select: resource '%s' is not "
			    "\"volume\" or \"instance\"", res);
		if ((res == NULL || strcmp(res, "volume") == 0) &&
		    config_setting_get_member(root, "instances") != NULL)
			error_at(ld, line_of(s), "this policy lists instances, "
			    "so its select must choose instances too: add "
			    "resource = \"instance\";");
		if (tags == NULL || config_setting_length(tags) == 0)
			error_at(ld, line_of(s), "'select' needs at least one "
			    "tag: select = { tags = ( { key = \"Backup\"; "
			    "value = \"daily\"; } ); };");
		else if (!read_tags(ld, tags, "select", false, &p->select_tags,
		    &p->nselect_tags) && ld->errors == errors_before)
			goto oom;
	}
	check_resource(ld, root, p);

	if ((s = config_setting_get_member(root, "snapshot_tags")) != NULL &&
	    has_type(s, SET_LIST)) {
		if (config_setting_length(s) > POLICY_SNAPSHOT_TAGS_MAX)
			error_at(ld, line_of(s), "at most %d snapshot_tags (EC2 "
			    "allows 50 tags and ec2backup writes 3)",
			    POLICY_SNAPSHOT_TAGS_MAX);
		else if (!read_tags(ld, s, "snapshot_tags", true,
		    &p->snapshot_tags, &p->nsnapshot_tags) &&
		    ld->errors == errors_before)
			goto oom;
	}

	if ((s = config_setting_get_member(root, "copy_tags")) != NULL &&
	    has_type(s, SET_STRINGS) && !read_copy_tags(ld, s, p) &&
	    ld->errors == errors_before)
		goto oom;

	p->monitor.warn = POLICY_MONITOR_WARN;
	p->monitor.crit = POLICY_MONITOR_CRIT;
	if ((s = config_setting_get_member(root, "monitor")) != NULL &&
	    has_type(s, SET_GROUP) && check_members(ld, s, monitor_settings,
	    "monitor")) {
		config_setting_t *m;
		if ((m = config_setting_get_member(s, "warn")) != NULL)
			p->monitor.warn = get_duration(m);
		if ((m = config_setting_get_member(s, "crit")) != NULL)
			p->monitor.crit = get_duration(m);
		if (p->monitor.warn > 0 && p->monitor.crit > 0 &&
		    p->monitor.warn > p->monitor.crit)
			error_at(ld, line_of(s), "monitor: warn (%lds) is later "
			    "than crit (%lds); warn should come first",
			    p->monitor.warn, p->monitor.crit);
	}
	p->hook_timeout = (int)get_int(root, "hook_timeout",
	    POLICY_HOOK_TIMEOUT);
	if (!read_hook(ld, root, "on_success", &p->on_success) ||
	    !read_hook(ld, root, "on_failure", &p->on_failure) ||
	    !read_freeze(ld, root, &p->freeze))
		goto oom;
	if ((str = get_string(root, "pre_snapshot_failure")) != NULL) {
		if (strcmp(str, "snapshot") == 0)
			p->pre_failure = POLICY_PRE_SNAPSHOT;
		else if (strcmp(str, "skip") != 0)
			error_at(ld, line_of(config_setting_get_member(root,
			    "pre_snapshot_failure")), "pre_snapshot_failure "
			    "is '%s'; it must be \"skip\" (no snapshot when "
			    "the pre_snapshot hook fails) or \"snapshot\" "
			    "(one anyway, tagged ec2backup:consistency = "
			    "crash)", str);
	}

	if (p->resource == POLICY_INSTANCES &&
	    p->nsnapshot_tags > POLICY_SET_TAGS_MAX)
		error_at(ld, line_of(config_setting_get_member(root,
		    "snapshot_tags")), "at most %d snapshot_tags in an "
		    "instance policy (EC2 allows 50 tags and ec2backup writes "
		    "7 on the snapshots of a set)", POLICY_SET_TAGS_MAX);

	if (config_setting_get_member(root, "volumes") == NULL &&
	    config_setting_get_member(root, "instances") == NULL &&
	    config_setting_get_member(root, "select") == NULL)
		error_at(ld, 1, "policy has neither 'volumes', 'instances' nor "
		    "'select'; list volumes or instances by id, or select "
		    "them by tag");
	else if (p->nvolumes == 0 && p->ninstances == 0 &&
	    p->nselect_tags == 0 && ld->errors == errors_before)
		error_at(ld, 1, "policy selects nothing: its list is empty "
		    "and there is no 'select'");

	if (p->name == NULL || p->timezone == NULL ||
	    (p->file = strdup(ld->path)) == NULL ||
	    (p->region == NULL && get_string(root, "region") != NULL))
		goto oom;
	goto done;
oom:
	error_at(ld, 0, "out of memory");
done:
	config_destroy(&cfg);
	free(text);
	if (p != NULL && ld->errors != errors_before) {
		policy_free(p);
		p = NULL;
	}
	return p;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
ends_with_cfg(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".cfg") == 0 && name[0] != '.';
}

/* Appends path's policy files (one, or a directory's *.cfg) to files. */
static int
expand_path(struct loader *ld, const char *path, char ***files,
    size_t *nfiles)
{
	struct stat st;
	DIR *dir;
	struct dirent *e;
	char **names = NULL;
	size_t nnames = 0, base = *nfiles;
	int rc = -1;

	if (stat(path, &st) != 0) {
		error_at(ld, 0, "cannot read: %s", strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		char **grown = realloc(*files, (*nfiles + 1) * sizeof(**files));
		if (grown == NULL)
			return -1;
		*files = grown;
		if (((*files)[(*nfiles)] = strdup(path)) == NULL)
			return -1;
		(*nfiles)++;
		return 0;
	}
	if ((dir = opendir(path)) == NULL) {
		error_at(ld, 0, "cannot read directory: %s", strerror(errno));
		return 0;
	}
	while ((e = readdir(dir)) != NULL) {
		char **grown;
		size_t len;

		if (!ends_with_cfg(e->d_name))
			continue;
		grown = realloc(names, (nnames + 1) * sizeof(*names));
		if (grown == NULL)
			goto fail;
		names = grown;
		len = strlen(path) + strlen(e->d_name) + 2;
		if ((names[nnames] = malloc(len)) == NULL)
			goto fail;
		snprintf(names[nnames], len, "%s%s%s", path,
		    path[strlen(path) - 1] == '/' ? "" : "/", e->d_name);
		nnames++;
	}
	if (nnames == 0) {
		error_at(ld, 0, "no policy files (*.cfg) in this directory");
		rc = 0;
		goto fail;
	}
	qsort(names, nnames, sizeof(*names), compare_names);
	{
		char **grown = realloc(*files,
		    (base + nnames + 1) * sizeof(**files));
		if (grown == NULL)
			goto fail;
		*files = grown;
	}
	for (size_t i = 0; i < nnames; i++)
		(*files)[(*nfiles)++] = names[i];
	nnames = 0;
	rc = 0;
fail:
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	closedir(dir);
	return rc;
}

/* A volume listed by id, for finding the volumes of two policies. */
struct listed_volume {
	const char *id;
	size_t policy;
	int line;
};

static int
cmp_listed(const void *va, const void *vb)
{
	const struct listed_volume *a = va, *b = vb;
	int c = strcmp(a->id, b->id);

	if (c != 0)
		return c;
	return (a->policy > b->policy) - (a->policy < b->policy);
}

/*
 * Duplicate names are errors; a volume in two policies is a warning (both
 * snapshot it), louder when both adopt it (then neither deletes its
 * untagged snapshots).  Volumes are sorted by id, so this stays fast with
 * thousands of policies.
 */
static void
cross_check(struct policy_set *set, FILE *diag_out)
{
	struct listed_volume *all;
	size_t n = 0;

	for (size_t i = 0; i < set->npolicies; i++) {
		struct policy *p = set->policies[i];
		struct loader ld = { diag_out, p->file, 0, 0 };

		for (size_t j = 0; j < i; j++) {
			if (strcmp(p->name, set->policies[j]->name) != 0)
				continue;
			error_at(&ld, 1, "policy name '%s' is already used by "
			    "%s; names must be unique", p->name,
			    set->policies[j]->file);
			break;
		}
		set->nerrors += ld.errors;
		n += p->nvolumes + p->ninstances;
	}
	if ((all = malloc((n ? n : 1) * sizeof(*all))) == NULL) {
		fprintf(diag_out, "ec2backup: out of memory\n");
		set->nerrors++;
		return;
	}
	n = 0;
	for (size_t i = 0; i < set->npolicies; i++) {
		for (size_t v = 0; v < set->policies[i]->nvolumes; v++)
			all[n++] = (struct listed_volume){
			    set->policies[i]->volumes[v].id, i,
			    set->policies[i]->volumes[v].line };
		for (size_t v = 0; v < set->policies[i]->ninstances; v++)
			all[n++] = (struct listed_volume){
			    set->policies[i]->instances[v].id, i,
			    set->policies[i]->instances[v].line };
	}
	qsort(all, n, sizeof(*all), cmp_listed);
	for (size_t a = 0; a < n; a++) {
		for (size_t b = a + 1; b < n && strcmp(all[a].id, all[b].id)
		    == 0; b++) {
			const struct policy *p = set->policies[all[b].policy];
			const struct policy *q = set->policies[all[a].policy];
			struct loader ld = { diag_out, p->file, 0, 0 };

			if (p == q || strcmp(p->name, q->name) == 0)
				continue;
			if (p->adopt && q->adopt)
				warning_at(&ld, all[b].line, "volume %s is also "
				    "managed by policy '%s' (%s:%d), and both "
				    "adopt its untagged snapshots: neither "
				    "will delete them; set adopt in one policy "
				    "only", all[b].id, q->name, q->file,
				    all[a].line);
			else
				warning_at(&ld, all[b].line, "%s %s is also "
				    "managed by policy '%s' (%s:%d); both will "
				    "snapshot it", strncmp(all[b].id, "i-", 2)
				    == 0 ? "instance" : "volume", all[b].id,
				    q->name, q->file, all[a].line);
			set->nwarnings += ld.warnings;
		}
	}
	free(all);
}

struct policy_set *
policy_load_all(char *const *paths, size_t npaths, FILE *diag_out)
{
	static char *const default_paths[] = { POLICY_DEFAULT_DIR };
	struct policy_set *set;
	char **files = NULL;
	size_t nfiles = 0;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	if (npaths == 0) {
		paths = default_paths;
		npaths = 1;
	}
	for (size_t i = 0; i < npaths; i++) {
		struct loader ld = { diag_out, paths[i], 0, 0 };
		if (expand_path(&ld, paths[i], &files, &nfiles) != 0)
			goto oom;
		set->nerrors += ld.errors;
	}
	set->nfiles = nfiles;
	if (nfiles > 0 &&
	    (set->policies = calloc(nfiles, sizeof(*set->policies))) == NULL)
		goto oom;
	for (size_t i = 0; i < nfiles; i++) {
		struct loader ld = { diag_out, files[i], 0, 0 };
		struct policy *p = load_file(&ld);

		set->nerrors += ld.errors;
		set->nwarnings += ld.warnings;
		if (p != NULL)
			set->policies[set->npolicies++] = p;
	}
	cross_check(set, diag_out);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	return set;
oom:
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	policy_set_free(set);
	return NULL;
}

void
policy_set_free(struct policy_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->npolicies; i++)
		policy_free(set->policies[i]);
	free(set->policies);
	free(set);
}

size_t
policy_set_nvolumes(const struct policy_set *set)
{
	size_t n = 0;

	for (size_t i = 0; i < set->npolicies; i++)
		n += set->policies[i]->nvolumes;
	return n;
}

const char *const *
policy_setting_names(void)
{
	static const char *names[96];

	if (names[0] == NULL) {
		size_t n = 0;
		const struct setting *tables[] = { root_settings,
		    retain_settings, volume_settings, instance_settings,
		    select_settings, tag_settings, monitor_settings };
		for (size_t t = 0; t < sizeof(tables) / sizeof(*tables); t++)
			for (const struct setting *s = tables[t];
			    s->name != NULL && n + 1 < 96; s++)
				names[n++] = s->name;
	}
	return names;
}

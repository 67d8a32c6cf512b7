/*
 * Policy loading: a table of broken policy files, each with the exact
 * diagnostics `ec2backup check` must print, then the shipped examples,
 * cross-file rules, and the settings table against the manual page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

struct bad_case {
	const char *name;
	const char *text;
	const char *expect;   /* "FILE" stands for the file's path */
};

#define VOL "vol-0123456789abcdef0"
#define INST "i-0123456789abcdef0"

static const struct bad_case bad_cases[] = {
	{ "syntax error",
	  "keep = 7;\nvolumes = ( { id = \"" VOL "\"; } ;\n",
	  "FILE:2: error: syntax error\n" },
	/* libconfig reports where it gave up: the end of the file. */
	{ "unterminated string",
	  "keep = 7;\nname = \"abc;\n",
	  "FILE:3: error: syntax error\n" },
	{ "misspelt setting",
	  "kepe = 7;\nvolumes = ( { id = \"" VOL "\"; } );\n",
	  "FILE:1: error: unknown setting 'kepe' (did you mean 'keep'?)\n"
	  "FILE:1: error: missing required setting 'keep' (how many "
	  "snapshots to keep per volume, 1 to 1000)\n" },
	{ "unknown setting",
	  "keep = 7;\ncolour = \"blue\";\nvolumes = ( { id = \"" VOL
	  "\"; } );\n",
	  "FILE:2: error: unknown setting 'colour'\n" },
	{ "keep as a string",
	  "keep = \"7\";\nvolumes = ( { id = \"" VOL "\"; } );\n",
	  "FILE:1: error: 'keep' must be an integer, not a string\n" },
	{ "keep with a fraction",
	  "volumes = ( { id = \"" VOL "\"; } );\nkeep = 7.5;\n",
	  "FILE:2: error: 'keep' must be an integer, not a number with a "
	  "fraction\n" },
	{ "keep zero",
	  "keep = 0;\nvolumes = ( { id = \"" VOL "\"; } );\n",
	  "FILE:1: error: 'keep' is 0; it must be 1 to 1000\n" },
	{ "keep too large",
	  "keep = 1001;\nvolumes = ( { id = \"" VOL "\"; } );\n",
	  "FILE:1: error: 'keep' is 1001; it must be 1 to 1000\n" },
	{ "a monitor threshold that is not a duration",
	  "keep = 1;\nvolumes = ( { id = \"" VOL "\"; } );\n"
	  "monitor = {\n  warn = \"28x\";\n  crit = \"400d\"; };\n",
	  "FILE:4: error: 'warn' must be a duration such as \"28h\", \"2d\" "
	  "or \"90m\", or 0 (at most 366 days)\n"
	  "FILE:5: error: 'crit' must be a duration such as \"28h\", \"2d\" "
	  "or \"90m\", or 0 (at most 366 days)\n" },
	{ "monitor warn after crit",
	  "keep = 1;\nvolumes = ( { id = \"" VOL "\"; } );\n"
	  "monitor = { warn = \"2d\"; crit = \"36h\"; };\n",
	  "FILE:3: error: monitor: warn (172800s) is later than crit "
	  "(129600s); warn should come first\n" },
	{ "a hook without an absolute path",
	  "keep = 1;\nvolumes = ( { id = \"" VOL "\"; } );\n"
	  "on_failure = [ \"mail\", \"root\" ];\non_success = ( );\n",
	  "FILE:4: error: 'on_success' is empty; give the program and its "
	  "arguments, such as ( \"/usr/bin/logger\", \"backup failed\" )\n"
	  "FILE:3: error: 'on_failure' must start with the program's absolute "
	  "path, not 'mail' (cron and systemd run with a short PATH)\n" },
	/* libconfig exits the process when it includes a directory; an
	 * @include is refused before libconfig reads the text. */
	{ "an @include of a directory",
	  "@include \".\"\nkeep = 1;\nvolumes = ( { id = \"" VOL "\"; } );\n",
	  "FILE:1: error: @include is not supported: put everything of a "
	  "policy in its file, one policy per file\n" },
	/* One line per problem, whatever a quoted value holds. */
	{ "a newline in a quoted value",
	  "name = \"a\\nb: error: forged\";\nkeep = 1;\n"
	  "volumes = ( { id = \"" VOL "\"; } );\n",
	  "FILE:1: error: policy name 'a\\nb: error: forged' is not valid (1 "
	  "to 64 of A-Z a-z 0-9 _ . -)\n" },
	/* libconfig 1.5 would read these as 1 and 0. */
	{ "keep of 2^32 + 1",
	  "keep = 4294967297;\nvolumes = ( { id = \"" VOL "\"; } );\n",
	  "FILE:1: error: the number 4294967297 is out of range: no setting "
	  "takes a number that large\n" },
	{ "max_deletes of 2^32",
	  "keep = 2;\nmax_deletes = 4294967296;\n"
	  "volumes = ( { id = \"" VOL "\"; } );\n",
	  "FILE:2: error: the number 4294967296 is out of range: no setting "
	  "takes a number that large\n" },
	{ "volume keep in hexadecimal past 2^31",
	  "keep = 2;\nvolumes = ( { id = \"" VOL "\";\n  keep = 0x80000001; } "
	  ");\n",
	  "FILE:3: error: the number 0x80000001 is out of range: no setting "
	  "takes a number that large\n"
	  "FILE:3: error: 'keep' is -2147483647; it must be 1 to 1000\n" },
	{ "a 64-bit number past 2^63",
	  "keep = 2;\nretain = { daily = 9223372036854775808L; };\n"
	  "volumes = ( { id = \"" VOL "\"; } );\n",
	  "FILE:2: error: the number 9223372036854775808L is out of range: no "
	  "setting takes a number that large\n"
	  "FILE:2: error: 'daily' is 9223372036854775807; it must be 0 to "
	  "1000\n" },
	{ "numbers in names, strings and comments are not read",
	  "keep = 2; # 99999999999\nname = \"p99999999999\";\n"
	  "snapshot_tags = ( { key = \"k99999999999\"; value = \"1e99\"; } );\n"
	  "/* 4294967297\n */ volumes = ( { id = \"" VOL "\"; } );\n"
	  "max_deletes = 1e1; max_deletes2 = -4294967297;\n",
	  "FILE:6: error: the number -4294967297 is out of range: no setting "
	  "takes a number that large\n"
	  "FILE:6: error: 'max_deletes' must be an integer, not a number with "
	  "a fraction\n"
	  "FILE:6: error: unknown setting 'max_deletes2' (did you mean "
	  "'max_deletes'?)\n" },
	{ "keep missing",
	  "volumes = ( { id = \"" VOL "\"; } );\n",
	  "FILE:1: error: missing required setting 'keep' (how many "
	  "snapshots to keep per volume, 1 to 1000)\n" },
	{ "short volume id",
	  "keep = 7;\nvolumes = (\n  { id = \"vol-123\"; }\n);\n",
	  "FILE:3: error: 'vol-123' is not a volume id (expected vol- and 8 "
	  "or 17 lowercase hex digits)\n" },
	{ "uppercase volume id",
	  "keep = 7;\nvolumes = ( { id = \"vol-0123456789ABCDEF0\"; } );\n",
	  "FILE:2: error: 'vol-0123456789ABCDEF0' is not a volume id "
	  "(expected vol- and 8 or 17 lowercase hex digits)\n" },
	{ "volume listed twice",
	  "keep = 7;\nvolumes = (\n  { id = \"" VOL "\"; },\n"
	  "  { id = \"vol-0a1b2c3d\"; },\n  { id = \"" VOL "\"; }\n);\n",
	  "FILE:5: error: volume " VOL " is listed twice (first at line 3)\n" },
	{ "volume without id",
	  "keep = 7;\nvolumes = (\n  { description = \"db\"; }\n);\n",
	  "FILE:3: error: volume has no 'id'\n" },
	{ "misspelt volume setting",
	  "keep = 7;\nvolumes = (\n  { id = \"" VOL "\";\n    kep = 3; }\n);\n",
	  "FILE:4: error: unknown setting 'kep' in volume (did you mean "
	  "'keep'?)\n" },
	{ "volume keep out of range",
	  "keep = 7;\nvolumes = ( { id = \"" VOL "\"; keep = 5000; } );\n",
	  "FILE:2: error: 'keep' is 5000; it must be 1 to 1000\n" },
	{ "volume entry not a group",
	  "keep = 7;\nvolumes = ( \"" VOL "\" );\n",
	  "FILE:2: error: each entry of 'volumes' must be a group { id = "
	  "\"vol-...\"; }\n" },
	{ "volumes not a list",
	  "keep = 7;\nvolumes = \"" VOL "\";\n",
	  "FILE:2: error: 'volumes' must be a list ( ... ), not a string\n" },
	{ "unknown time zone",
	  "keep = 7;\ntimezone = \"Mars/Olympus_Mons\";\nvolumes = ( { id = \""
	  VOL "\"; } );\n",
	  "FILE:2: error: time zone 'Mars/Olympus_Mons': TZ_MISSING "
	  "(use an IANA name such as Europe/Helsinki)\n" },
	{ "time zone escaping the zone directory",
	  "keep = 7;\ntimezone = \"../../etc/passwd\";\nvolumes = ( { id = \""
	  VOL "\"; } );\n",
	  "FILE:2: error: time zone '../../etc/passwd': TZ_BADNAME "
	  "(use an IANA name such as Europe/Helsinki)\n" },
	{ "neither volumes nor select",
	  "keep = 7;\n",
	  "FILE:1: error: policy has neither 'volumes', 'instances' nor "
	  "'select'; list volumes or instances by id, or select them by tag"
	  "\n" },
	{ "select without tags",
	  "keep = 7;\nselect = {\n  tags = ();\n};\n",
	  "FILE:2: error: 'select' needs at least one tag: select = { tags = "
	  "( { key = \"Backup\"; value = \"daily\"; } ); };\n" },
	{ "select tag reserved by AWS",
	  "keep = 7;\nselect = { tags = (\n  { key = \"aws:backup\"; value = "
	  "\"x\"; }\n); };\n",
	  "FILE:3: error: tag key 'aws:backup' in select: keys starting with "
	  "'aws:' are reserved by AWS\n" },
	{ "tag key too long",
	  "keep = 7;\nselect = { tags = ( { key = \""
	  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	  "\"; value = \"x\"; } ); };\n",
	  "FILE:2: error: tag key in select must be 1 to 128 characters, not "
	  "129\n" },
	{ "tag value too long",
	  "keep = 7;\nvolumes = ( { id = \"" VOL "\"; } );\n"
	  "snapshot_tags = ( { key = \"Team\"; value = \""
	  "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
	  "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
	  "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
	  "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
	  "\"; } );\n",
	  "FILE:3: error: value of tag 'Team' in snapshot_tags must be at "
	  "most 256 characters, not 257\n" },
	{ "snapshot tag reserved by ec2backup",
	  "keep = 7;\nvolumes = ( { id = \"" VOL "\"; } );\n"
	  "snapshot_tags = (\n  { key = \"ec2backup:policy\"; value = "
	  "\"other\"; }\n);\n",
	  "FILE:4: error: tag key 'ec2backup:policy' in snapshot_tags: keys "
	  "starting with 'ec2backup:' are written by ec2backup itself\n" },
	{ "tag without value",
	  "keep = 7;\nselect = { tags = (\n  { key = \"Backup\"; }\n); };\n",
	  "FILE:3: error: tag 'Backup' in select has no 'value' (use value = "
	  "\"\"; for an empty one)\n" },
	{ "tag twice",
	  "keep = 7;\nvolumes = ( { id = \"" VOL "\"; } );\nsnapshot_tags = (\n"
	  "  { key = \"Team\"; value = \"a\"; },\n"
	  "  { key = \"Team\"; value = \"b\"; }\n);\n",
	  "FILE:5: error: tag 'Team' appears twice in snapshot_tags (first at "
	  "line 4)\n" },
	{ "misspelt tag setting",
	  "keep = 7;\nselect = { tags = (\n  { key = \"Backup\"; vaule = "
	  "\"x\"; }\n); };\n",
	  "FILE:3: error: unknown setting 'vaule' in select (did you mean "
	  "'value'?)\n" },
	{ "invalid policy name",
	  "name = \"my policy\";\nkeep = 7;\nvolumes = ( { id = \"" VOL
	  "\"; } );\n",
	  "FILE:1: error: policy name 'my policy' is not valid (1 to 64 of "
	  "A-Z a-z 0-9 _ . -)\n" },
	{ "misspelt retain rule",
	  "keep = 7;\nretain = {\n  dayly = 7;\n};\nvolumes = ( { id = \"" VOL
	  "\"; } );\n",
	  "FILE:3: error: unknown setting 'dayly' in retain (did you mean "
	  "'daily'?)\n" },
	{ "negative retain",
	  "keep = 7;\nretain = { weekly = -1; };\nvolumes = ( { id = \"" VOL
	  "\"; } );\n",
	  "FILE:2: error: 'weekly' is -1; it must be 0 to 1000\n" },
	{ "adopt as a string",
	  "keep = 7;\nadopt = \"yes\";\nvolumes = ( { id = \"" VOL "\"; } );\n",
	  "FILE:2: error: 'adopt' must be true or false, not a string\n" },
	{ "negative max_deletes",
	  "keep = 7;\nmax_deletes = -5;\nvolumes = ( { id = \"" VOL
	  "\"; } );\n",
	  "FILE:2: error: 'max_deletes' is -5; it must be 0 to 1000000\n" },
	{ "region that is not one",
	  "keep = 7;\nregion = \"Europe\";\nvolumes = ( { id = \"" VOL
	  "\"; } );\n",
	  "FILE:2: error: 'Europe' is not an AWS region name (such as "
	  "us-east-1)\n" },
	{ "setting given twice",
	  "keep = 7;\nkeep = 8;\nvolumes = ( { id = \"" VOL "\"; } );\n",
	  "FILE:2: error: duplicate setting name\n" },
	{ "empty volume list",
	  "keep = 7;\nvolumes = ();\n",
	  "FILE:1: error: policy selects nothing: its list is empty and "
	  "there is no 'select'\n" },
	{ "a malformed instance id, and one listed twice",
	  "keep = 2;\ninstances = (\n  { id = \"i-xyz\"; },\n"
	  "  { id = \"" INST "\"; },\n  { id = \"" INST "\"; } );\n",
	  "FILE:3: error: 'i-xyz' is not an instance id (expected i- and 8 or "
	  "17 lowercase hex digits)\n"
	  "FILE:5: error: instance " INST " is listed twice (first at line "
	  "4)\n" },
	{ "volumes and instances in one policy",
	  "keep = 2;\nvolumes = ( { id = \"" VOL "\"; } );\n"
	  "instances = ( { id = \"" INST "\"; } );\n",
	  "FILE:2: error: 'volumes' cannot be used in an instance policy: "
	  "list the instances in 'instances', or write a second policy for "
	  "the volumes\n" },
	{ "volume-only settings in an instance policy",
	  "keep = 2;\nselect = { resource = \"instance\"; tags = ( { key = "
	  "\"B\"; value = \"1\"; } ); };\nadopt = true;\n"
	  "copy_tags = ( \"Name\" );\n",
	  "FILE:3: error: 'adopt' cannot be used in an instance policy: the "
	  "snapshots of an instance set are always tagged, so there is "
	  "nothing to adopt\n"
	  "FILE:4: error: 'copy_tags' cannot be used in an instance policy: "
	  "use copy_volume_tags = true; (EC2 copies every tag of each volume "
	  "to its snapshot)\n" },
	{ "instance-only settings in a volume policy",
	  "keep = 2;\nvolumes = ( { id = \"" VOL "\"; } );\n"
	  "exclude_boot_volume = true;\ncopy_volume_tags = true;\n",
	  "FILE:3: error: 'exclude_boot_volume' cannot be used in a volume "
	  "policy: it applies to instance policies\n"
	  "FILE:4: error: 'copy_volume_tags' cannot be used in a volume "
	  "policy: use copy_tags = ( \"Name\", ... ); to choose the tags to "
	  "copy\n" },
	{ "exclusions that EC2 would refuse",
	  "keep = 2;\nexclude_volumes = ( \"" VOL "\", \"vol-1\" );\n"
	  "instances = ( { id = \"" INST "\"; exclude_volumes = ( \"" VOL
	  "\" ); } );\n",
	  "FILE:2: error: 'vol-1' in exclude_volumes is not a volume id "
	  "(expected vol- and 8 or 17 lowercase hex digits)\n"
	  "FILE:3: error: volume " VOL " is left out twice (exclude_volumes "
	  "of the instance)\n" },
	{ "a select of an unknown resource",
	  "keep = 2;\ninstances = ( { id = \"" INST "\"; } );\n"
	  "select = { resource = \"instances\"; tags = ( { key = \"B\"; "
	  "value = \"1\"; } ); };\n",
	  "FILE:3: error: select: resource 'instances' is not \"volume\" or "
	  "\"instance\"\n" },
	{ "a select of volumes in an instance policy",
	  "keep = 2;\ninstances = ( { id = \"" INST "\"; } );\n"
	  "select = { tags = ( { key = \"B\"; value = \"1\"; } ); };\n",
	  "FILE:3: error: this policy lists instances, so its select must "
	  "choose instances too: add resource = \"instance\";\n" },
	{ "freeze hooks that are not absolute, and an unknown failure mode",
	  "keep = 2;\nvolumes = ( { id = \"" VOL "\"; pre_snapshot = ( "
	  "\"fsfreeze\", \"-f\", \"/data\" ); post_snapshot = ( "
	  "\"/sbin/fsfreeze\", \"-u\", \"/data\" ); } );\n"
	  "pre_snapshot_failure = \"ignore\";\n",
	  "FILE:2: error: 'pre_snapshot' must start with the program's "
	  "absolute path, not 'fsfreeze' (cron and systemd run with a short "
	  "PATH)\n"
	  "FILE:3: error: pre_snapshot_failure is 'ignore'; it must be "
	  "\"skip\" (no snapshot when the pre_snapshot hook fails) or "
	  "\"snapshot\" (one anyway, tagged ec2backup:consistency = crash)"
	  "\n" },
	{ "several problems in one file",
	  "kepe = 7;\nvolumes = (\n  { id = \"vol-xyz\"; }\n);\n"
	  "timezone = 3;\n",
	  "FILE:1: error: unknown setting 'kepe' (did you mean 'keep'?)\n"
	  "FILE:5: error: 'timezone' must be a string, not an integer\n"
	  "FILE:1: error: missing required setting 'keep' (how many "
	  "snapshots to keep per volume, 1 to 1000)\n"
	  "FILE:3: error: 'vol-xyz' is not a volume id (expected vol- and 8 "
	  "or 17 lowercase hex digits)\n" },
};

static char tmpdir[64];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ec2backup-test-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Replaces every "FILE" in pattern with path. */
static char *
expand(const char *pattern, const char *path)
{
	size_t cap = strlen(pattern) * 4 + strlen(path) * 16 + 1;
	char *out = malloc(cap), *o = out;

	assert_non_null(out);
	while (*pattern != '\0') {
		if (strncmp(pattern, "FILE", 4) == 0) {
			o += sprintf(o, "%s", path);
			pattern += 4;
		} else {
			*o++ = *pattern++;
		}
	}
	*o = '\0';
	return out;
}

/* Loads paths, returns the diagnostics; the caller frees both. */
static struct policy_set *
load(char *const *paths, size_t n, char **diag_text)
{
	size_t len;
	FILE *diag = open_memstream(diag_text, &len);
	struct policy_set *set;

	assert_non_null(diag);
	set = policy_load_all(paths, n, diag);
	assert_int_equal(fclose(diag), 0);
	assert_non_null(set);
	return set;
}

/* The time zone loader's own words, which this test does not own. */
static const char *
tz_reason(const char *name)
{
	static char buf[4][160];
	static int next;
	struct policy_set *set;
	char path[128], *diag, *start, *end;
	char *paths[1];
	char text[200];

	snprintf(path, sizeof(path), "%s/tz-probe.cfg", tmpdir);
	snprintf(text, sizeof(text), "keep = 1;\ntimezone = \"%s\";\n"
	    "volumes = ( { id = \"" VOL "\"; } );\n", name);
	write_file(path, text, 0600);
	paths[0] = path;
	set = load(paths, 1, &diag);
	policy_set_free(set);
	unlink(path);
	start = strstr(diag, "': ");
	end = strstr(diag, " (use an IANA");
	assert_non_null(start);
	assert_non_null(end);
	start += 3;
	snprintf(buf[next], sizeof(buf[next]), "%.*s", (int)(end - start),
	    start);
	free(diag);
	return buf[next++ % 4];
}

static void
test_bad_case(void **state)
{
	const struct bad_case *c = *state;
	char path[128], *paths[1], *diag, *want, *w;
	struct policy_set *set;

	snprintf(path, sizeof(path), "%s/case-%zu.cfg", tmpdir,
	    (size_t)(c - bad_cases));
	write_file(path, c->text, 0600);
	paths[0] = path;
	set = load(paths, 1, &diag);
	want = expand(c->expect, path);
	/* The zone loader words its own reasons; only the reason differs,
	 * so splice in what it says for the same name. */
	if ((w = strstr(want, "TZ_MISSING")) != NULL ||
	    (w = strstr(want, "TZ_BADNAME")) != NULL) {
		const char *r = tz_reason(w[3] == 'M' ? "Mars/Olympus_Mons" :
		    "../../etc/passwd");
		char *fixed = malloc(strlen(want) + strlen(r) + 1);
		assert_non_null(fixed);
		assert_true(strlen(r) > 0);
		sprintf(fixed, "%.*s%s%s", (int)(w - want), want, r, w + 10);
		free(want);
		want = fixed;
	}
	if (strcmp(diag, want) != 0)
		print_error("case '%s':\nwant:\n%sgot:\n%s", c->name, want,
		    diag);
	assert_string_equal(diag, want);
	assert_true(set->nerrors > 0);
	assert_int_equal(set->npolicies, 0);
	assert_int_equal(set->nfiles, 1);
	unlink(path);
	policy_set_free(set);
	free(want);
	free(diag);
}

static void
test_examples(void **state)
{
	char *paths[] = { "policies" };
	struct policy_set *set;
	char *diag;
	const struct policy *p;

	(void)state;
	set = load(paths, 1, &diag);
	assert_string_equal(diag, "");
	assert_int_equal(set->nerrors, 0);
	assert_int_equal(set->nwarnings, 0);
	assert_int_equal(set->npolicies, 4);
	/* Sorted by file name. */
	p = set->policies[0];
	assert_string_equal(p->name, "daily-databases");
	assert_string_equal(p->region, "eu-west-1");
	assert_int_equal(p->keep, 7);
	assert_int_equal(p->max_deletes, 20);
	assert_int_equal(p->nvolumes, 3);
	assert_string_equal(p->volumes[0].id, "vol-0123456789abcdef0");
	assert_string_equal(p->volumes[0].description, "orders database");
	assert_int_equal(p->volumes[0].keep, 7);
	assert_int_equal(p->volumes[2].keep, 14);
	assert_int_equal(p->nsnapshot_tags, 1);
	assert_string_equal(p->snapshot_tags[0].key, "CostCenter");
	assert_string_equal(p->timezone, "UTC");
	assert_false(p->adopt);
	p = set->policies[1];
	assert_string_equal(p->name, "database-instance");
	assert_int_equal(p->resource, POLICY_INSTANCES);
	assert_int_equal(p->ninstances, 1);
	assert_string_equal(p->instances[0].id, "i-0abcdef1234567890");
	assert_true(p->instances[0].exclude_boot);
	assert_true(p->copy_volume_tags);
	assert_null(p->freeze.pre);   /* commented out */
	p = set->policies[2];
	assert_string_equal(p->name, "helsinki-office");
	assert_string_equal(p->timezone, "Europe/Helsinki");
	assert_int_equal(p->retain.daily, 14);
	assert_int_equal(p->retain.monthly, 6);
	assert_int_equal(p->nselect_tags, 2);
	p = set->policies[3];
	assert_string_equal(p->name, "tagged-volumes"); /* from file name */
	assert_null(p->region);
	assert_int_equal(p->max_deletes, -1);
	assert_int_equal(p->retain.weekly, 8);
	assert_int_equal(p->retain.yearly, 3);
	assert_int_equal(p->retain.daily, 0);
	assert_int_equal(p->nvolumes, 0);
	assert_string_equal(p->select_tags[0].key, "Backup");
	assert_string_equal(p->select_tags[0].value, "daily");
	assert_int_equal(policy_set_nvolumes(set), 4);
	policy_set_free(set);
	free(diag);
}

static void
test_duplicate_names(void **state)
{
	char a[128], b[128], *paths[2], *diag, *want;
	struct policy_set *set;

	(void)state;
	snprintf(a, sizeof(a), "%s/a.cfg", tmpdir);
	snprintf(b, sizeof(b), "%s/b.cfg", tmpdir);
	write_file(a, "name = \"prod\";\nkeep = 1;\nvolumes = ( { id = \""
	    VOL "\"; } );\n", 0600);
	write_file(b, "name = \"prod\";\nkeep = 1;\nvolumes = ( { id = "
	    "\"vol-0a1b2c3d\"; } );\n", 0600);
	paths[0] = a;
	paths[1] = b;
	set = load(paths, 2, &diag);
	want = malloc(512);
	assert_non_null(want);
	snprintf(want, 512, "%s:1: error: policy name 'prod' is already used "
	    "by %s; names must be unique\n", b, a);
	assert_string_equal(diag, want);
	assert_int_equal(set->nerrors, 1);
	policy_set_free(set);
	free(want);
	free(diag);
	unlink(a);
	unlink(b);
}

static void
test_instance_policy(void **state)
{
	char a[128], *paths[1], *diag;
	struct policy_set *set;
	const struct policy *p;
	const struct policy_instance *in;

	(void)state;
	snprintf(a, sizeof(a), "%s/db.cfg", tmpdir);
	write_file(a, "keep = 3;\nexclude_volumes = ( \"vol-0a1b2c3d\" );\n"
	    "pre_snapshot = ( \"/sbin/fsfreeze\", \"-f\", \"/data\" );\n"
	    "post_snapshot = ( \"/sbin/fsfreeze\", \"-u\", \"/data\" );\n"
	    "pre_snapshot_failure = \"snapshot\";\ncopy_volume_tags = true;\n"
	    "instances = (\n  { id = \"" INST "\"; keep = 5; "
	    "exclude_boot_volume = true;\n    exclude_volumes = ( \"" VOL
	    "\" );\n    pre_snapshot = ( \"/usr/bin/sync\" ); },\n"
	    "  { id = \"i-0a1b2c3d\"; }\n);\n", 0600);
	paths[0] = a;
	set = load(paths, 1, &diag);
	/* A pre hook without a post hook is allowed, and warned about. */
	assert_non_null(strstr(diag, ":10: warning: pre_snapshot without "
	    "post_snapshot"));
	assert_int_equal(set->nerrors, 0);
	assert_int_equal(set->npolicies, 1);
	p = set->policies[0];
	assert_int_equal(p->resource, POLICY_INSTANCES);
	assert_int_equal(p->ninstances, 2);
	assert_int_equal(p->pre_failure, POLICY_PRE_SNAPSHOT);
	assert_true(p->copy_volume_tags);
	assert_string_equal(p->freeze.pre[2], "/data");
	assert_null(p->freeze.pre[3]);
	in = &p->instances[0];
	assert_string_equal(in->id, INST);
	assert_int_equal(in->keep, 5);
	assert_true(in->exclude_boot);
	/* The policy's exclusions, then the instance's own. */
	assert_int_equal(in->nexclude, 2);
	assert_string_equal(in->exclude[0], "vol-0a1b2c3d");
	assert_string_equal(in->exclude[1], VOL);
	assert_string_equal(in->freeze.pre[0], "/usr/bin/sync");
	assert_null(in->freeze.post);
	in = &p->instances[1];
	assert_int_equal(in->keep, 3);
	assert_false(in->exclude_boot);
	assert_int_equal(in->nexclude, 1);
	assert_null(in->freeze.pre);
	policy_set_free(set);
	free(diag);
	unlink(a);
}

static void
test_shared_volume_warns(void **state)
{
	char a[128], b[128], *paths[2], *diag, *want;
	struct policy_set *set;

	(void)state;
	snprintf(a, sizeof(a), "%s/a.cfg", tmpdir);
	snprintf(b, sizeof(b), "%s/b.cfg", tmpdir);
	write_file(a, "keep = 1;\nvolumes = ( { id = \"" VOL "\"; } );\n",
	    0600);
	write_file(b, "keep = 1;\nvolumes = (\n  { id = \"vol-0a1b2c3d\"; },\n"
	    "  { id = \"" VOL "\"; }\n);\n", 0600);
	paths[0] = a;
	paths[1] = b;
	set = load(paths, 2, &diag);
	want = malloc(512);
	assert_non_null(want);
	snprintf(want, 512, "%s:4: warning: volume " VOL " is also managed "
	    "by policy 'a' (%s:2); both will snapshot it\n", b, a);
	assert_string_equal(diag, want);
	assert_int_equal(set->nerrors, 0);
	assert_int_equal(set->nwarnings, 1);
	assert_int_equal(set->npolicies, 2);
	policy_set_free(set);
	free(want);
	free(diag);
	unlink(a);
	unlink(b);
}

static void
test_shared_adopt_warns(void **state)
{
	char a[128], b[128], *paths[2], *diag, *want;
	struct policy_set *set;

	(void)state;
	snprintf(a, sizeof(a), "%s/a.cfg", tmpdir);
	snprintf(b, sizeof(b), "%s/b.cfg", tmpdir);
	write_file(a, "keep = 1;\nadopt = true;\nvolumes = ( { id = \"" VOL
	    "\"; } );\n", 0600);
	write_file(b, "keep = 1;\nadopt = true;\nvolumes = ( { id = \"" VOL
	    "\"; } );\n", 0600);
	paths[0] = a;
	paths[1] = b;
	set = load(paths, 2, &diag);
	want = malloc(512);
	assert_non_null(want);
	snprintf(want, 512, "%s:3: warning: volume " VOL " is also managed "
	    "by policy 'a' (%s:3), and both adopt its untagged snapshots: "
	    "neither will delete them; set adopt in one policy only\n", b, a);
	assert_string_equal(diag, want);
	assert_int_equal(set->nerrors, 0);
	assert_int_equal(set->nwarnings, 1);
	policy_set_free(set);
	free(want);
	free(diag);
	unlink(a);
	unlink(b);
}

/* A FIFO is refused at once, never read (reading one blocks for ever). */
static void
test_fifo_refused(void **state)
{
	char a[128], *paths[1], *diag, *want;
	struct policy_set *set;

	(void)state;
	snprintf(a, sizeof(a), "%s/fifo.cfg", tmpdir);
	assert_int_equal(mkfifo(a, 0600), 0);
	paths[0] = a;
	set = load(paths, 1, &diag);
	want = malloc(512);
	assert_non_null(want);
	snprintf(want, 512, "%s: error: not a regular file\n", a);
	assert_string_equal(diag, want);
	assert_int_equal(set->nerrors, 1);
	policy_set_free(set);
	free(want);
	free(diag);
	unlink(a);
}

static void
test_secret_warning(void **state)
{
	char a[128], *paths[1], *diag, *want;
	struct policy_set *set;
	const char *text = "keep = 1;\nvolumes = ( { id = \"" VOL "\"; } );\n"
	    "# key AKIAIOSFODNN7EXAMPLE for the backup user\n";

	(void)state;
	snprintf(a, sizeof(a), "%s/leaky.cfg", tmpdir);
	want = malloc(512);
	assert_non_null(want);
	paths[0] = a;

	write_file(a, text, 0644);
	set = load(paths, 1, &diag);
	snprintf(want, 512, "%s:3: warning: this looks like an AWS access key "
	    "id, and the file is readable by everyone; policy files should "
	    "not contain credentials at all (use ~/.aws/credentials or an "
	    "instance role)\n", a);
	assert_string_equal(diag, want);
	assert_int_equal(set->nerrors, 0);
	assert_int_equal(set->nwarnings, 1);
	assert_int_equal(set->npolicies, 1); /* a warning, not an error */
	policy_set_free(set);
	free(diag);

	write_file(a, text, 0600);
	set = load(paths, 1, &diag);
	snprintf(want, 512, "%s:3: warning: this looks like an AWS access key "
	    "id; policy files should not contain credentials at all (use "
	    "~/.aws/credentials or an instance role)\n", a);
	assert_string_equal(diag, want);
	policy_set_free(set);
	free(diag);
	free(want);
	unlink(a);
}

static void
test_paths(void **state)
{
	char empty[128], missing[128], *paths[1], *diag, *want;
	struct policy_set *set;

	(void)state;
	want = malloc(512);
	assert_non_null(want);

	snprintf(empty, sizeof(empty), "%s/empty", tmpdir);
	assert_int_equal(mkdir(empty, 0700), 0);
	paths[0] = empty;
	set = load(paths, 1, &diag);
	snprintf(want, 512, "%s: error: no policy files (*.cfg) in this "
	    "directory\n", empty);
	assert_string_equal(diag, want);
	assert_int_equal(set->nerrors, 1);
	assert_int_equal(set->nfiles, 0);
	policy_set_free(set);
	free(diag);
	rmdir(empty);

	snprintf(missing, sizeof(missing), "%s/nope.cfg", tmpdir);
	paths[0] = missing;
	set = load(paths, 1, &diag);
	snprintf(want, 512, "%s: error: cannot read: No such file or "
	    "directory\n", missing);
	assert_string_equal(diag, want);
	assert_int_equal(set->nerrors, 1);
	policy_set_free(set);
	free(diag);
	free(want);
}

static void
test_name_from_file(void **state)
{
	char a[128], *paths[1], *diag;
	struct policy_set *set;

	(void)state;
	snprintf(a, sizeof(a), "%s/web.servers.cfg", tmpdir);
	write_file(a, "keep = 3;\nvolumes = ( { id = \"" VOL "\"; } );\n",
	    0600);
	paths[0] = a;
	set = load(paths, 1, &diag);
	assert_string_equal(diag, "");
	assert_int_equal(set->npolicies, 1);
	assert_string_equal(set->policies[0]->name, "web.servers");
	assert_int_equal(set->policies[0]->volumes[0].keep, 3);
	policy_set_free(set);
	free(diag);
	unlink(a);
}

static void
test_ids_and_names(void **state)
{
	(void)state;
	assert_true(policy_valid_volume_id("vol-0a1b2c3d"));
	assert_true(policy_valid_volume_id("vol-0123456789abcdef0"));
	assert_false(policy_valid_volume_id("vol-0a1b2c3"));
	assert_false(policy_valid_volume_id("vol-0a1b2c3g"));
	assert_false(policy_valid_volume_id("snap-0a1b2c3d"));
	assert_false(policy_valid_volume_id("vol-0123456789abcdef01"));
	assert_false(policy_valid_volume_id(""));
	assert_true(policy_valid_name("a"));
	assert_true(policy_valid_name("Prod_db-1.x"));
	assert_false(policy_valid_name(""));
	assert_false(policy_valid_name("a b"));
	assert_false(policy_valid_name("a/b"));
	assert_true(policy_valid_name(
	    "0123456789012345678901234567890123456789012345678901234567890123"));
	assert_false(policy_valid_name(
	    "01234567890123456789012345678901234567890123456789012345678901234"));
}

/* The loader's table and the manual page must describe the same settings. */
static void
test_settings_documented(void **state)
{
	FILE *f = fopen("docs/ec2backup.cfg.5", "r");
	char *man = NULL;
	size_t len = 0;
	const char *const *names = policy_setting_names();

	(void)state;
	assert_non_null(f);
	assert_true(getdelim(&man, &len, '\0', f) > 0);
	fclose(f);
	for (size_t i = 0; names[i] != NULL; i++) {
		char needle[80];
		snprintf(needle, sizeof(needle), "\n.It Cm %s", names[i]);
		if (strstr(man, needle) == NULL)
			print_error("setting '%s' is not documented\n",
			    names[i]);
		assert_non_null(strstr(man, needle));
	}
	free(man);
}

#define NBAD (sizeof(bad_cases) / sizeof(*bad_cases))
_Static_assert(NBAD >= 25, "at least 25 broken policy files");

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_duplicate_names),
		cmocka_unit_test(test_shared_volume_warns),
		cmocka_unit_test(test_instance_policy),
		cmocka_unit_test(test_shared_adopt_warns),
		cmocka_unit_test(test_fifo_refused),
		cmocka_unit_test(test_secret_warning),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_name_from_file),
		cmocka_unit_test(test_ids_and_names),
		cmocka_unit_test(test_settings_documented),
	};
	struct CMUnitTest tests[NBAD + sizeof(fixed) / sizeof(*fixed)];
	size_t n = 0;

	/* One test per broken file, named after it. */
	for (size_t i = 0; i < NBAD; i++) {
		struct CMUnitTest t = cmocka_unit_test_prestate(test_bad_case,
		    (void *)&bad_cases[i]);
		t.name = bad_cases[i].name;
		tests[n++] = t;
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("policy", tests, n, setup_dir,
	    remove_dir);
}

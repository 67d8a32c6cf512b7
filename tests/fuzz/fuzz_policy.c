/*
 * libFuzzer target for the policy loader (src/policy.c).
 *
 * The input is one policy file, or two when it holds a NUL byte: it is
 * split at the first one, and a later NUL stays in the second file, which
 * the loader must then refuse.  Each file is a memfd handed to
 * policy_load_all by its /proc/self/fd path, so the loader opens and reads
 * it as it reads any file; diagnostics go to /dev/null.  What comes back
 * is checked against policy.h and the manual (ec2backup.cfg.5): every
 * loaded policy has a valid name, its file, a time zone that loads, keep,
 * retain and max_deletes within bounds, valid and distinct volume ids,
 * tags of the allowed lengths and without duplicates, and the counts of
 * the set add up.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "policy.h"
#include "tz.h"

/* Limits from the manual that policy.h does not name. */
#define DESCRIPTION_MAX 255
#define SNAPSHOT_TAGS_MAX 47
#define MAX_DELETES_MAX 1000000L

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;
static int fds[2] = { -1, -1 };
static char paths[2][32];

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
setup(void)
{
	if (devnull != NULL)
		return;
	devnull = fopen("/dev/null", "w");
	check(devnull != NULL);
	for (int i = 0; i < 2; i++) {
		fds[i] = memfd_create("policy", MFD_CLOEXEC);
		check(fds[i] >= 0);
		snprintf(paths[i], sizeof(paths[i]), "/proc/self/fd/%d",
		    fds[i]);
	}
}

static void
put(int fd, const uint8_t *p, size_t n)
{
	size_t off = 0;

	check(ftruncate(fd, 0) == 0);
	while (off < n) {
		ssize_t w = pwrite(fd, p + off, n - off, (off_t)off);

		check(w > 0);
		off += (size_t)w;
	}
}

/* Code points of valid UTF-8 (no overlong forms or surrogates), or -1. */
static long
utf8_count(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	long n = 0;

	while (*s != '\0') {
		uint32_t cp, min;
		int extra;

		if (*s < 0x80) {
			cp = *s;
			extra = 0;
			min = 0;
		} else if (*s >= 0xc0 && *s <= 0xdf) {
			cp = *s & 0x1f;
			extra = 1;
			min = 0x80;
		} else if (*s >= 0xe0 && *s <= 0xef) {
			cp = *s & 0x0f;
			extra = 2;
			min = 0x800;
		} else if (*s >= 0xf0 && *s <= 0xf7) {
			cp = *s & 0x07;
			extra = 3;
			min = 0x10000;
		} else {
			return -1;
		}
		s++;
		for (int i = 0; i < extra; i++, s++) {
			if ((*s & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (*s & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		n++;
	}
	return n;
}

static bool
printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static void
check_region(const char *s)
{
	size_t n = strlen(s);

	check(n > 0 && n <= 32);
	for (size_t i = 0; i < n; i++)
		check((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-');
}

static void
check_tags(const struct policy_tag *tags, size_t n, bool for_snapshots)
{
	check(n == 0 || tags != NULL);
	for (size_t i = 0; i < n; i++) {
		const struct policy_tag *t = &tags[i];
		long klen, vlen;

		check(t->key != NULL && t->value != NULL);
		klen = utf8_count(t->key);
		vlen = utf8_count(t->value);
		check(klen >= 1 && klen <= POLICY_TAG_KEY_MAX);
		check(vlen >= 0 && vlen <= POLICY_TAG_VALUE_MAX);
		check(printable(t->key) && printable(t->value));
		check(strncmp(t->key, "aws:", 4) != 0);
		check(!for_snapshots || strncmp(t->key, "ec2backup:", 10) != 0);
		check(t->line >= 1);
		for (size_t j = 0; j < i; j++)
			check(strcmp(tags[j].key, t->key) != 0);
	}
}

static void
check_policy(const struct policy *p, size_t nfiles)
{
	struct tz *zone = NULL;
	char err[128];
	bool known_file = false;

	check(p->name != NULL && policy_valid_name(p->name));
	check(p->file != NULL);
	for (size_t k = 0; k < nfiles; k++)
		known_file |= strcmp(p->file, paths[k]) == 0;
	check(known_file);
	if (p->region != NULL)
		check_region(p->region);
	check(p->timezone != NULL);
	check(tz_load(p->timezone, &zone, err, sizeof(err)) == 0);
	tz_free(zone);

	check(p->keep >= POLICY_KEEP_MIN && p->keep <= POLICY_KEEP_MAX);
	check(p->retain.daily >= 0 && p->retain.daily <= POLICY_RETAIN_MAX);
	check(p->retain.weekly >= 0 && p->retain.weekly <= POLICY_RETAIN_MAX);
	check(p->retain.monthly >= 0 &&
	    p->retain.monthly <= POLICY_RETAIN_MAX);
	check(p->retain.yearly >= 0 && p->retain.yearly <= POLICY_RETAIN_MAX);
	check(p->max_deletes == -1 ||
	    (p->max_deletes >= 0 && p->max_deletes <= MAX_DELETES_MAX));

	check(p->nvolumes > 0 || p->nselect_tags > 0);
	for (size_t i = 0; i < p->nvolumes; i++) {
		const struct policy_volume *v = &p->volumes[i];

		check(memchr(v->id, '\0', sizeof(v->id)) != NULL);
		check(policy_valid_volume_id(v->id));
		check(v->keep >= POLICY_KEEP_MIN && v->keep <= POLICY_KEEP_MAX);
		check(v->line >= 1);
		if (v->description != NULL)
			check(strlen(v->description) <= DESCRIPTION_MAX &&
			    utf8_count(v->description) >= 0 &&
			    printable(v->description));
		for (size_t j = 0; j < i; j++)
			check(strcmp(p->volumes[j].id, v->id) != 0);
	}
	check_tags(p->select_tags, p->nselect_tags, false);
	check(p->nsnapshot_tags <= SNAPSHOT_TAGS_MAX);
	check_tags(p->snapshot_tags, p->nsnapshot_tags, true);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[2];
	const uint8_t *nul;
	struct policy_set *set;
	size_t nfiles = 1, nvol = 0, last = 0;

	setup();
	nul = memchr(data, '\0', size);
	if (nul != NULL) {
		size_t first = (size_t)(nul - data);

		put(fds[0], data, first);
		put(fds[1], nul + 1, size - first - 1);
		nfiles = 2;
	} else {
		put(fds[0], data, size);
	}
	argv[0] = paths[0];
	argv[1] = paths[1];

	set = policy_load_all(argv, nfiles, devnull);
	check(set != NULL);
	check(set->nfiles == nfiles);
	check(set->npolicies <= set->nfiles);
	/* A file is left out only for an error, and it was reported. */
	check(set->nfiles - set->npolicies <= set->nerrors);
	check(set->npolicies == 0 || set->policies != NULL);
	for (size_t i = 0; i < set->npolicies; i++) {
		const struct policy *p = set->policies[i];
		size_t k = 0;

		check(p != NULL);
		check_policy(p, nfiles);
		/* In command-line order. */
		while (strcmp(p->file, paths[k]) != 0)
			k++;
		check(i == 0 || k > last);
		last = k;
		nvol += p->nvolumes;
		if (set->nerrors == 0)
			for (size_t j = 0; j < i; j++)
				check(strcmp(set->policies[j]->name,
				    p->name) != 0);
	}
	check(policy_set_nvolumes(set) == nvol);
	if (set->nerrors == 0)
		check(set->npolicies == set->nfiles);
	policy_set_free(set);
	return 0;
}

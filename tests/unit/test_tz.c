/*
 * Tests of src/tz.c: local time compared with glibc's localtime_r (the
 * only place TZ is set is here), the footer rule beyond the transition
 * table, zone names, and broken zone files in a temporary TZDIR.
 */
#include <errno.h>
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

#include "tz.h"

#define SYSTEM_TZDIR "/usr/share/zoneinfo"

static const char *const zones[] = {
	"Europe/Helsinki", "America/New_York", "Australia/Lord_Howe",
	"Asia/Kolkata", "Pacific/Chatham", "America/Sao_Paulo", "UTC",
	"Etc/UTC", "Europe/Dublin", "Africa/Casablanca", "America/Nuuk",
	"Asia/Jerusalem", "Pacific/Apia", "America/St_Johns",
	"Antarctica/Troll", "Australia/Sydney", "America/Santiago",
	"Asia/Tehran", "Pacific/Kiritimati", "Etc/GMT+12", "Europe/London",
	"Asia/Gaza", "America/Scoresbysund", "Europe/Moscow",
	"America/Los_Angeles", "Asia/Kathmandu",
};

/* A small deterministic generator, so every run tests the same instants. */
static uint64_t
rng_next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
set_libc_zone(const char *spec)
{
	assert_int_equal(setenv("TZ", spec, 1), 0);
	tzset();
}

static int64_t
ymd_utc(int y, int m, int d)
{
	return tz_days_from_civil(y, m, d) * 86400;
}

/* Fails the test, naming the zone and instant, when tz and glibc differ. */
static void
check_instant(const struct tz *zone, int64_t t)
{
	struct tz_tm mine;
	struct tm ref;
	time_t tt = (time_t)t;

	assert_non_null(localtime_r(&tt, &ref));
	tz_to_local(zone, t, &mine);
	if (mine.year != ref.tm_year + 1900 || mine.month != ref.tm_mon + 1 ||
	    mine.day != ref.tm_mday || mine.hour != ref.tm_hour ||
	    mine.min != ref.tm_min || mine.sec != ref.tm_sec ||
	    mine.wday != ref.tm_wday || mine.yday != ref.tm_yday ||
	    mine.gmtoff != ref.tm_gmtoff || mine.isdst != (ref.tm_isdst > 0))
		fail_msg("%s at %lld: tz %04d-%02d-%02d %02d:%02d:%02d "
		    "off %ld dst %d, libc %04d-%02d-%02d %02d:%02d:%02d "
		    "off %ld dst %d", tz_name(zone), (long long)t, mine.year,
		    mine.month, mine.day, mine.hour, mine.min, mine.sec,
		    mine.gmtoff, mine.isdst, ref.tm_year + 1900,
		    ref.tm_mon + 1, ref.tm_mday, ref.tm_hour, ref.tm_min,
		    ref.tm_sec, ref.tm_gmtoff, ref.tm_isdst);
}

/* Finds every offset change between lo and hi (day steps, then
 * bisection) and checks the seconds around each. */
static size_t
check_edges(const struct tz *zone, int64_t lo, int64_t hi)
{
	size_t nedges = 0;
	struct tm a, b;
	time_t ta, tb;

	for (int64_t t = lo; t < hi; t += 43200) {
		ta = (time_t)t;
		tb = (time_t)(t + 43200);
		localtime_r(&ta, &a);
		localtime_r(&tb, &b);
		if (a.tm_gmtoff == b.tm_gmtoff && a.tm_isdst == b.tm_isdst)
			continue;
		int64_t l = t, h = t + 43200;  /* offset(l) != offset(h) */
		while (h - l > 1) {
			int64_t mid = l + (h - l) / 2;
			time_t tm_ = (time_t)mid;
			struct tm m;
			localtime_r(&tm_, &m);
			if (m.tm_gmtoff == a.tm_gmtoff &&
			    m.tm_isdst == a.tm_isdst)
				l = mid;
			else
				h = mid;
		}
		static const int64_t around[] = { -7200, -3601, -3600,
		    -1800, -1, 0, 1, 1799, 1800, 3599, 3600, 7200 };
		for (size_t i = 0; i < sizeof(around) / sizeof(around[0]); i++)
			check_instant(zone, h + around[i]);
		nedges++;
	}
	return nedges;
}

static void
test_against_libc(void **state)
{
	uint64_t seed = 20250629;
	int64_t lo = ymd_utc(1900, 1, 1), hi = ymd_utc(2100, 12, 31);
	size_t nedges = 0;

	(void)state;
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		struct tz *zone;
		char err[128], spec[300];

		assert_int_equal(tz_load(zones[z], &zone, err, sizeof(err)), 0);
		assert_string_equal(tz_name(zone), zones[z]);
		snprintf(spec, sizeof(spec), ":%s", zones[z]);
		set_libc_zone(spec);
		for (int i = 0; i < 3000; i++)
			check_instant(zone, lo + (int64_t)(rng_next(&seed) %
			    (uint64_t)(hi - lo)));
		nedges += check_edges(zone, lo, hi);
		tz_free(zone);
	}
	/* The zones above change offset thousands of times in 1900..2100. */
	assert_true(nedges > 3000);
}

static void
test_known_days(void **state)
{
	struct tz *hel, *ny;
	struct tz_tm tm;
	char err[128];

	(void)state;
	assert_int_equal(tz_load("Europe/Helsinki", &hel, err, 128), 0);
	assert_int_equal(tz_load("America/New_York", &ny, err, 128), 0);
	/* 2025-03-30 01:00 UTC: Helsinki goes from 03:00 EET to 04:00. */
	tz_to_local(hel, ymd_utc(2025, 3, 30) + 3600 - 1, &tm);
	assert_int_equal(tm.hour, 2);
	assert_int_equal(tm.gmtoff, 7200);
	tz_to_local(hel, ymd_utc(2025, 3, 30) + 3600, &tm);
	assert_int_equal(tm.hour, 4);
	assert_int_equal(tm.gmtoff, 10800);
	assert_int_equal(tm.isdst, 1);
	/* 23:30 local on 2025-11-01 in New York is 03:30 UTC the next day. */
	assert_int_equal(tz_local_day(ny, ymd_utc(2025, 11, 2) + 3 * 3600 +
	    1800), tz_days_from_civil(2025, 11, 1));
	/* The footer rule, far beyond the table: 2300-07-01 in DST. */
	tz_to_local(hel, ymd_utc(2300, 7, 1), &tm);
	assert_int_equal(tm.gmtoff, 10800);
	tz_to_local(ny, ymd_utc(2300, 1, 1), &tm);
	assert_int_equal(tm.gmtoff, -18000);
	assert_int_equal(tm.year, 2299);
	assert_int_equal(tm.month, 12);
	assert_int_equal(tm.day, 31);
	assert_int_equal(tm.hour, 19);
	tz_free(hel);
	tz_free(ny);
}

static void
test_civil(void **state)
{
	int y, m, d;
	char buf[TZ_DATE_MAX];

	(void)state;
	assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(tz_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(tz_days_from_civil(1969, 12, 31), -1);
	for (int64_t days = -800000; days < 800000; days += 7) {
		tz_civil_from_days(days, &y, &m, &d);
		assert_int_equal(tz_days_from_civil(y, m, d), days);
	}
	tz_format_date(tz_days_from_civil(2024, 2, 29), buf);
	assert_string_equal(buf, "2024-02-29");
	tz_format_date(tz_days_from_civil(987, 1, 2), buf);
	assert_string_equal(buf, "0987-01-02");
	/* Absurd instants are clamped, never overflow. */
	struct tz_tm tm;
	tz_to_utc(INT64_MAX, &tm);
	assert_true(tm.year > 8000000);
	tz_to_utc(INT64_MIN, &tm);
	assert_true(tm.year < -8000000);
	tz_format_date(INT64_MIN, buf);
	assert_true(strlen(buf) < TZ_DATE_MAX);
}

static void
test_names(void **state)
{
	static const char *const bad[] = {
		"", "/etc/passwd", "../etc/passwd", "Europe/../UTC",
		"Europe/", "Europe//Helsinki", "Europe/Hel sinki",
		"Europe/Helsinki\n", "Europe/Hel.sinki", "Europe\\Helsinki",
		"~root", "a;b", "Europe/Helsinki%",
	};
	struct tz *zone = (struct tz *)&zone;
	char err[128], longname[TZ_NAME_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tz_load(bad[i], &zone, err, sizeof(err)), -1);
		assert_null(zone);
		assert_string_equal(err, "invalid time zone name");
	}
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(tz_load(longname, &zone, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid time zone name");
	assert_int_equal(tz_load(NULL, &zone, err, sizeof(err)), -1);

	assert_int_equal(tz_load("Nowhere/Atlantis", &zone, err, 128), -1);
	assert_null(zone);
	assert_string_equal(err, "unknown time zone");
	/* A directory is not a zone. */
	assert_int_equal(tz_load("Europe", &zone, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown time zone"));
	/* Names with the allowed punctuation load. */
	assert_int_equal(tz_load("Etc/GMT+5", &zone, err, sizeof(err)), 0);
	tz_free(zone);
	assert_int_equal(tz_load("America/Port-au-Prince", &zone, err, 128), 0);
	tz_free(zone);
	/* A short err buffer is never overrun. */
	char tiny[4];
	assert_int_equal(tz_load("../x", &zone, tiny, sizeof(tiny)), -1);
	assert_string_equal(tiny, "inv");
	tz_free(NULL);
}

/* --- a temporary TZDIR --- */

struct tmpdir {
	char path[64];
};

static int
setup_tmpdir(void **state)
{
	struct tmpdir *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/test_tz.XXXXXX");
	if (mkdtemp(d->path) == NULL) {
		free(d);
		return -1;
	}
	*state = d;
	return setenv("TZDIR", d->path, 1);
}

static int
teardown_tmpdir(void **state)
{
	struct tmpdir *d = *state;
	char cmd[128];

	unsetenv("TZDIR");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	int rc = system(cmd);
	free(d);
	return rc == 0 ? 0 : -1;
}

static void
write_file(const struct tmpdir *d, const char *name, const void *data,
    size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", d->path, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static unsigned char *
read_system_zone(const char *name, size_t *len)
{
	char path[256];
	unsigned char *buf = malloc(TZ_FILE_MAX);
	FILE *f;

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/%s", SYSTEM_TZDIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	*len = fread(buf, 1, TZ_FILE_MAX, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static size_t
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return 4;
}

/*
 * Builds a version 2 TZif file with one transition (in 1811, to a type
 * with offset std_off) and footer rule, so everything after 1811 follows
 * the rule.  Returns the length.
 */
static size_t
make_tzif(unsigned char *buf, int32_t std_off, const char *rule)
{
	unsigned char *p = buf;

	for (int block = 0; block < 2; block++) {
		memcpy(p, "TZif2", 5);
		memset(p + 5, 0, 15);
		p += 20;
		p += put32(p, 0);     /* isutcnt */
		p += put32(p, 0);     /* isstdcnt */
		p += put32(p, 0);     /* leapcnt */
		p += put32(p, 1);     /* timecnt */
		p += put32(p, 1);     /* typecnt */
		p += put32(p, 4);     /* charcnt */
		if (block == 0) {
			p += put32(p, (uint32_t)INT32_MIN);
		} else {
			int64_t t = -5000000000LL;
			p += put32(p, (uint32_t)((uint64_t)t >> 32));
			p += put32(p, (uint32_t)t);
		}
		*p++ = 0;              /* the transition's type */
		p += put32(p, (uint32_t)std_off);
		*p++ = 0;              /* isdst */
		*p++ = 0;              /* abbreviation index */
		memcpy(p, "XXX", 4);
		p += 4;
	}
	*p++ = '\n';
	memcpy(p, rule, strlen(rule));
	p += strlen(rule);
	*p++ = '\n';
	return (size_t)(p - buf);
}

/*
 * Footer rules compared with glibc instant by instant from 1971 to 2100
 * (glibc evaluates a rule for any year before 1971 as if it were 1970).
 */
static void
test_footer_rules(void **state)
{
	static const struct {
		const char *rule;
		int32_t std_off;
	} cases[] = {
		{ "EET-2EEST,M3.5.0/3,M10.5.0/4", 7200 },
		{ "EST5EDT,M3.2.0,M11.1.0", -18000 },
		{ "NZST-12NZDT,M9.5.0,M4.1.0/3", 43200 },
		{ "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", 45900 },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 37800 },
		{ "IST-2IDT,M3.4.4/26,M10.5.0", 7200 },
		{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", -7200 },
		{ "XXX3YYY,J60/2,J300/2", -10800 },
		{ "XXX3YYY,59/2,299/2", -10800 },
		{ "XXX-5:45", 20700 },
		{ "<+0545>-5:45", 20700 },
		{ "<-03>3", -10800 },
		{ "AAA+3:30BBB+2:30,M4.1.0/0,M10.5.6/23:59:59", -12600 },
		{ "GMT0IST,M10.5.0,M3.5.0/1", 0 },
	};
	struct tmpdir *d = *state;
	unsigned char buf[512];
	uint64_t seed = 42;
	int64_t lo = ymd_utc(1971, 1, 1), hi = ymd_utc(2100, 12, 31);

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct tz *zone;
		char err[128], name[32], spec[160];
		size_t len = make_tzif(buf, cases[c].std_off, cases[c].rule);

		snprintf(name, sizeof(name), "Rule%zu", c);
		write_file(d, name, buf, len);
		if (tz_load(name, &zone, err, sizeof(err)) != 0)
			fail_msg("%s: %s", cases[c].rule, err);
		snprintf(spec, sizeof(spec), ":%s/%s", d->path, name);
		set_libc_zone(spec);
		for (int i = 0; i < 2000; i++)
			check_instant(zone, lo + (int64_t)(rng_next(&seed) %
			    (uint64_t)(hi - lo)));
		check_edges(zone, ymd_utc(1990, 1, 1), ymd_utc(2060, 1, 1));
		tz_free(zone);
	}
}

/* Rules whose meaning is checked by hand (TZif v3 extensions). */
static void
test_footer_v3(void **state)
{
	struct tmpdir *d = *state;
	unsigned char buf[512];
	struct tz *zone;
	struct tz_tm tm;
	char err[128];
	size_t len;

	/* DST all year: the end (Dec 31 25:00) meets the next start. */
	len = make_tzif(buf, -18000, "EST5EDT,0/0,J365/25");
	write_file(d, "AllYear", buf, len);
	assert_int_equal(tz_load("AllYear", &zone, err, sizeof(err)), 0);
	for (int y = 2030; y < 2200; y += 7) {
		static const int64_t at[] = { 0, 1, 3600 * 4, 3600 * 5,
		    3600 * 6, 86400 * 180, -1, -3600 * 5 };
		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			tz_to_local(zone, ymd_utc(y, 1, 1) + at[i], &tm);
			assert_int_equal(tm.gmtoff, -14400);
			assert_int_equal(tm.isdst, 1);
		}
	}
	tz_free(zone);

	/* A change at -1:00 (the evening before) and at 167 hours. */
	len = make_tzif(buf, -7200, "<-02>2<-01>,M3.5.0/-1,M10.5.0/167");
	write_file(d, "Far", buf, len);
	assert_int_equal(tz_load("Far", &zone, err, sizeof(err)), 0);
	/* 2050: last Sunday of March is the 27th; -1:00 local std
	 * (UTC-2) is 2050-03-26 23:00 -02 = 2050-03-27 01:00 UTC. */
	tz_to_local(zone, ymd_utc(2050, 3, 27) + 3600 - 1, &tm);
	assert_int_equal(tm.gmtoff, -7200);
	tz_to_local(zone, ymd_utc(2050, 3, 27) + 3600, &tm);
	assert_int_equal(tm.gmtoff, -3600);
	assert_int_equal(tm.day, 27);
	assert_int_equal(tm.hour, 0);
	/* Last Sunday of October 2050 is the 30th; +167h local DST is
	 * 2050-11-05 23:00 -01 = 2050-11-06 00:00 UTC. */
	tz_to_local(zone, ymd_utc(2050, 11, 6) - 1, &tm);
	assert_int_equal(tm.gmtoff, -3600);
	tz_to_local(zone, ymd_utc(2050, 11, 6), &tm);
	assert_int_equal(tm.gmtoff, -7200);
	tz_free(zone);

	/*
	 * A rule that ends on the last evening of the year: the end of 1994
	 * falls on 1995-01-01 02:29:59 UTC, after the UTC new year, and the
	 * 1995 start follows an hour later.
	 */
	len = make_tzif(buf, -12600,
	    "AAA+3:30BBB+2:30,M1.1.0/0,M12.5.6/23:59:59");
	write_file(d, "YearEnd", buf, len);
	assert_int_equal(tz_load("YearEnd", &zone, err, sizeof(err)), 0);
	static const struct {
		int64_t at;
		long off;
	} ye[] = {
		{ 0, -9000 }, { 2 * 3600 + 1798, -9000 },
		{ 2 * 3600 + 1799, -12600 }, { 3 * 3600 + 1799, -12600 },
		{ 3 * 3600 + 1800, -9000 },
	};
	for (size_t i = 0; i < sizeof(ye) / sizeof(ye[0]); i++) {
		tz_to_local(zone, ymd_utc(1995, 1, 1) + ye[i].at, &tm);
		assert_int_equal(tm.gmtoff, ye[i].off);
	}
	tz_free(zone);

	/*
	 * DST without a rule: the US rules, as glibc and tzcode assume.
	 * (Not compared with glibc, which reads freed memory on such a
	 * footer.)  2030: 10 March and 3 November.
	 */
	len = make_tzif(buf, 3600, "CET-1CEST");
	write_file(d, "NoRule", buf, len);
	assert_int_equal(tz_load("NoRule", &zone, err, sizeof(err)), 0);
	static const struct {
		const char *at;
		long off;
	} nr[] = {
		{ "2030-03-10T00:59:59Z", 3600 },
		{ "2030-03-10T01:00:00Z", 7200 },
		{ "2030-11-02T23:59:59Z", 7200 },
		{ "2030-11-03T00:00:00Z", 3600 },
	};
	for (size_t i = 0; i < sizeof(nr) / sizeof(nr[0]); i++) {
		int y, mo, dd, h, mi, se;
		assert_int_equal(sscanf(nr[i].at, "%d-%d-%dT%d:%d:%dZ", &y,
		    &mo, &dd, &h, &mi, &se), 6);
		tz_to_local(zone, ymd_utc(y, mo, dd) + h * 3600 + mi * 60 + se,
		    &tm);
		assert_int_equal(tm.gmtoff, nr[i].off);
	}
	tz_free(zone);

	/* No transitions at all: the footer rules every instant. */
	len = make_tzif(buf, 7200, "EET-2EEST,M3.5.0/3,M10.5.0/4");
	/* Rewrite both timecnt fields to 0 and drop the transitions. */
	{
		unsigned char out[512], *p = out;
		const unsigned char *q = buf;
		for (int block = 0; block < 2; block++) {
			unsigned ts = block == 0 ? 4 : 8;
			memcpy(p, q, 44);
			put32(p + 32, 0);
			p += 44;
			q += 44 + ts + 1;
			memcpy(p, q, 6 + 4);
			p += 10;
			q += 10;
		}
		memcpy(p, q, (size_t)(buf + len - q));
		p += buf + len - q;
		write_file(d, "NoTrans", out, (size_t)(p - out));
	}
	assert_int_equal(tz_load("NoTrans", &zone, err, sizeof(err)), 0);
	tz_to_local(zone, ymd_utc(1850, 7, 1), &tm);
	assert_int_equal(tm.gmtoff, 10800);
	tz_to_local(zone, ymd_utc(1850, 1, 1), &tm);
	assert_int_equal(tm.gmtoff, 7200);
	tz_free(zone);

	/* An empty footer: the last type holds forever. */
	len = make_tzif(buf, 3600, "");
	write_file(d, "Fixed", buf, len);
	assert_int_equal(tz_load("Fixed", &zone, err, sizeof(err)), 0);
	tz_to_local(zone, ymd_utc(2500, 7, 1), &tm);
	assert_int_equal(tm.gmtoff, 3600);
	assert_int_equal(tm.hour, 1);
	tz_free(zone);
}

static void
expect_refused(const struct tmpdir *d, const void *data, size_t len,
    const char *why)
{
	struct tz *zone = (struct tz *)&zone;
	char err[128];

	write_file(d, "Broken", data, len);
	if (tz_load("Broken", &zone, err, sizeof(err)) != -1)
		fail_msg("a broken file (%zu bytes, %s) was accepted", len,
		    why);
	assert_null(zone);
	if (strstr(err, why) == NULL)
		fail_msg("reason \"%s\", expected \"%s\"", err, why);
}

static void
test_broken_files(void **state)
{
	struct tmpdir *d = *state;
	unsigned char buf[512], *zone_file, *big;
	struct tz *zone;
	char err[128];
	size_t len, zlen;

	/* Every proper prefix of a real zone file is refused. */
	zone_file = read_system_zone("Europe/Helsinki", &zlen);
	write_file(d, "Whole", zone_file, zlen);
	assert_int_equal(tz_load("Whole", &zone, err, sizeof(err)), 0);
	tz_free(zone);
	for (size_t n = 0; n < zlen; n++) {
		write_file(d, "Broken", zone_file, n);
		assert_int_equal(tz_load("Broken", &zone, err, sizeof(err)),
		    -1);
		assert_true(strstr(err, "truncated") != NULL ||
		    strstr(err, "not a TZif") != NULL);
	}

	/* Random damage never crashes and never reads out of bounds. */
	uint64_t seed = 7;
	unsigned char *copy = malloc(zlen);
	assert_non_null(copy);
	for (int i = 0; i < 2000; i++) {
		memcpy(copy, zone_file, zlen);
		for (int k = 0; k < 1 + (int)(rng_next(&seed) % 4); k++)
			copy[rng_next(&seed) % zlen] =
			    (unsigned char)rng_next(&seed);
		write_file(d, "Fuzz", copy, zlen);
		if (tz_load("Fuzz", &zone, err, sizeof(err)) == 0) {
			struct tz_tm tm;
			for (int64_t t = -3000000000LL; t < 5000000000LL;
			    t += 99999999)
				tz_to_local(zone, t, &tm);
			tz_free(zone);
		}
	}
	free(copy);

	len = make_tzif(buf, 7200, "EET-2EEST,M3.5.0/3,M10.5.0/4");
	memcpy(copy = malloc(len), buf, len);
	assert_non_null(copy);

	memcpy(buf, "TZjf", 4);
	expect_refused(d, buf, len, "not a TZif");
	memcpy(buf, copy, len);
	buf[4] = '9';
	expect_refused(d, buf, len, "unsupported TZif version");
	memcpy(buf, copy, len);

	/* A huge count in the 64-bit header. */
	size_t h2 = 44 + 4 + 1 + 6 + 4;
	put32(buf + h2 + 32, 0xffffffffU);
	expect_refused(d, buf, len, "truncated");
	memcpy(buf, copy, len);
	/* Zero time types. */
	put32(buf + h2 + 36, 0);
	expect_refused(d, buf, len, "bad counts");
	memcpy(buf, copy, len);
	/* A transition pointing at a type that does not exist. */
	buf[h2 + 44 + 8] = 3;
	expect_refused(d, buf, len, "bad type index");
	memcpy(buf, copy, len);
	/* An offset of a week. */
	put32(buf + h2 + 44 + 8 + 1, 7 * 86400);
	expect_refused(d, buf, len, "bad time type");
	memcpy(buf, copy, len);
	/* An abbreviation index past the strings. */
	buf[h2 + 44 + 8 + 1 + 5] = 9;
	expect_refused(d, buf, len, "bad time type");
	free(copy);

	/* Bad footers. */
	static const char *const bad_rules[] = {
		"EET", "EE-2", "EET-2EEST,M3.5.0/3",
		"EET-2EEST,M13.5.0,M10.5.0",
		"EET-2EEST,M3.6.0,M10.5.0", "EET-2EEST,M3.5.7,M10.5.0",
		"EET-2EEST,J0,J365", "EET-2EEST,366,0", "EET-25",
		"EET-2EEST,M3.5.0/168,M10.5.0", "EET-2EEST,M3.5.0,M10.5.0x",
		"<+03", "<>-3", "EET-2:60", "EET-2EEST,M3.5.0/3:5:99,M10.5.0",
	};
	for (size_t i = 0; i < sizeof(bad_rules) / sizeof(bad_rules[0]); i++) {
		len = make_tzif(buf, 7200, bad_rules[i]);
		expect_refused(d, buf, len, "bad footer rule");
	}
	/* A footer without its closing newline. */
	len = make_tzif(buf, 7200, "EET-2");
	expect_refused(d, buf, len - 1, "truncated");
	/* Transitions out of order: two equal instants. */
	{
		unsigned char two[600], *p = two;
		len = make_tzif(buf, 7200, "EET-2");
		memcpy(p, buf, 44 + 4 + 1 + 6 + 4);  /* v1 block as is */
		p += 44 + 4 + 1 + 6 + 4;
		memcpy(p, buf + h2, 44);
		put32(p + 32, 2);
		p += 44;
		memset(p, 0, 16);   /* two transitions at 0 */
		p += 16;
		*p++ = 0;
		*p++ = 0;
		memcpy(p, buf + h2 + 44 + 8 + 1, 10);
		p += 10;
		memcpy(p, "\nEET-2\n", 7);
		p += 7;
		expect_refused(d, two, (size_t)(p - two), "out of order");
	}
	/* Too big: a valid start padded past the cap. */
	big = calloc(1, TZ_FILE_MAX + 10);
	assert_non_null(big);
	memcpy(big, zone_file, zlen);
	expect_refused(d, big, TZ_FILE_MAX + 10, "too large");
	free(big);
	free(zone_file);
}

static void
test_utc_without_tzdata(void **state)
{
	struct tmpdir *d = *state;
	struct tz *zone;
	struct tz_tm tm;
	char err[128];

	/* TZDIR is an empty directory: UTC still works, others do not. */
	(void)d;
	assert_int_equal(tz_load("UTC", &zone, err, sizeof(err)), 0);
	tz_to_local(zone, ymd_utc(2024, 2, 29) + 86399, &tm);
	assert_int_equal(tm.year, 2024);
	assert_int_equal(tm.month, 2);
	assert_int_equal(tm.day, 29);
	assert_int_equal(tm.hour, 23);
	assert_int_equal(tm.gmtoff, 0);
	tz_free(zone);
	assert_int_equal(tz_load("Etc/UTC", &zone, err, sizeof(err)), 0);
	tz_free(zone);
	assert_int_equal(tz_load("Europe/Helsinki", &zone, err, 128), -1);
	assert_string_equal(err, "unknown time zone");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_civil),
		cmocka_unit_test(test_known_days),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_against_libc),
		cmocka_unit_test_setup_teardown(test_footer_rules,
		    setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_footer_v3,
		    setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_broken_files,
		    setup_tmpdir, teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_utc_without_tzdata,
		    setup_tmpdir, teardown_tmpdir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Time zones from compiled TZif files (RFC 8536), without global state.
 *
 * A zone is a table of transitions (UTC instant -> local time type) and,
 * for instants after the last transition, the POSIX TZ rule stored in the
 * file's footer.  The table of a "slim" file may end decades ago and the
 * one of a "fat" file ends in 2037, so the rule is part of the answer, not
 * a fallback.  Everything read from the file is bounds-checked and a file
 * that does not add up is refused: a wrong offset would silently move
 * snapshots to another day.
 */
#include "tz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_HEADER_LEN 44
#define TZ_FOOTER_MAX 255
/* RFC 8536 asks UT offsets to lie within (-25h, +26h). */
#define TZ_OFFSET_MIN (-89999)
#define TZ_OFFSET_MAX 93599
#define TZ_RULE_HOURS_MAX 167      /* TZif v3 extension of rule times */

struct tz_ttype {
	int32_t utoff;             /* seconds east of UTC */
	bool isdst;
};

enum tz_date_kind {
	TZ_DATE_JULIAN1,           /* Jn: 1..365, February 29 never counted */
	TZ_DATE_JULIAN0,           /* n: 0..365, February 29 counted */
	TZ_DATE_MWD                /* Mm.w.d: day d of week w of month m */
};

struct tz_date {
	enum tz_date_kind kind;
	int n, m, w, d;
	int32_t secs;              /* local time of the change; may be < 0
				      or over 24h */
};

struct tz_rule {
	int32_t std_off;           /* seconds east of UTC */
	int32_t dst_off;
	bool has_dst;
	struct tz_date start, end; /* std -> dst, dst -> std */
};

struct tz {
	char *name;
	int64_t *times;            /* ascending transition instants */
	uint8_t *types;            /* type index of each transition */
	size_t ntimes;
	struct tz_ttype *ttypes;
	size_t nttypes;
	bool has_rule;
	struct tz_rule rule;
};

/* Floor division and modulo, for instants before the epoch. */
static int64_t
tz_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t
tz_days_from_civil(int year, int month, int day)
{
	/* Howard Hinnant's days_from_civil, in 64-bit arithmetic. */
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = tz_floordiv(y, 400);
	int64_t yoe = y - era * 400;
	int64_t mp = (month + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void
tz_civil_from_days(int64_t days, int *year, int *month, int *day)
{
	int64_t z = days + 719468;
	int64_t era = tz_floordiv(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);

	if (y > INT_MAX)
		y = INT_MAX;
	if (y < INT_MIN)
		y = INT_MIN;
	*year = (int)y;
	*month = (int)m;
	*day = (int)d;
}

void
tz_format_date(int64_t days, char out[TZ_DATE_MAX])
{
	int y, m, d;

	if (days > TZ_UTC_LIMIT / 86400)
		days = TZ_UTC_LIMIT / 86400;
	if (days < -TZ_UTC_LIMIT / 86400)
		days = -TZ_UTC_LIMIT / 86400;
	tz_civil_from_days(days, &y, &m, &d);
	snprintf(out, TZ_DATE_MAX, "%04d-%02d-%02d", y, m, d);
}

void
tz_format_time(int64_t utc, char out[TZ_TIME_MAX])
{
	struct tz_tm tm;

	tz_to_utc(utc, &tm);
	snprintf(out, TZ_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.year,
	    tm.month, tm.day, tm.hour, tm.min, tm.sec);
}

static bool
tz_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
tz_month_days(int64_t y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return m == 2 && tz_leap(y) ? 29 : mdays[m - 1];
}

static int64_t
tz_clamp(int64_t utc)
{
	if (utc > TZ_UTC_LIMIT)
		return TZ_UTC_LIMIT;
	if (utc < -TZ_UTC_LIMIT)
		return -TZ_UTC_LIMIT;
	return utc;
}

/* Breaks down local seconds (UTC plus offset) into out. */
static void
tz_breakdown(int64_t local, long gmtoff, int isdst, struct tz_tm *out)
{
	int64_t days = tz_floordiv(local, 86400);
	int64_t secs = local - days * 86400;

	tz_civil_from_days(days, &out->year, &out->month, &out->day);
	out->hour = (int)(secs / 3600);
	out->min = (int)(secs / 60 % 60);
	out->sec = (int)(secs % 60);
	/* 1970-01-01 was a Thursday. */
	out->wday = (int)(((days + 4) % 7 + 7) % 7);
	out->yday = (int)(days - tz_days_from_civil(out->year, 1, 1));
	out->isdst = isdst;
	out->gmtoff = gmtoff;
}

void
tz_to_utc(int64_t utc, struct tz_tm *out)
{
	tz_breakdown(tz_clamp(utc), 0, 0, out);
}

/* The day (since the epoch) on which rule date r falls in year y. */
static int64_t
tz_rule_day(const struct tz_date *r, int64_t y)
{
	int64_t jan1 = tz_days_from_civil((int)y, 1, 1);
	int64_t first, day;
	int wd;

	switch (r->kind) {
	case TZ_DATE_JULIAN1:
		return jan1 + r->n - 1 + (tz_leap(y) && r->n >= 60);
	case TZ_DATE_JULIAN0:
		return jan1 + r->n;
	case TZ_DATE_MWD:
		break;
	}
	first = tz_days_from_civil((int)y, r->m, 1);
	wd = (int)(((first + 4) % 7 + 7) % 7);
	day = first + (r->d - wd + 7) % 7 + 7 * (r->w - 1);
	/* Week 5 means the last such weekday of the month. */
	while (day >= first + tz_month_days(y, r->m))
		day -= 7;
	return day;
}

/* The offset the footer rule gives at utc. */
static void
tz_rule_offset(const struct tz_rule *r, int64_t utc, int32_t *off,
    bool *isdst)
{
	int64_t best = 0, y;
	bool found = false, best_dst = false;
	int yy, mm, dd;

	*off = r->std_off;
	*isdst = false;
	if (!r->has_dst)
		return;
	tz_civil_from_days(tz_floordiv(utc, 86400), &yy, &mm, &dd);
	/*
	 * Rule times may reach 167 hours past the rule's day, so the
	 * changes of the neighbouring years are looked at too; the latest
	 * change at or before utc decides.  On a tie the later year wins,
	 * which makes "DST all year" rules (end meets next start) work.
	 */
	for (y = (int64_t)yy - 1; y <= (int64_t)yy + 1; y++) {
		int64_t start = tz_rule_day(&r->start, y) * 86400 +
		    r->start.secs - r->std_off;
		int64_t end = tz_rule_day(&r->end, y) * 86400 +
		    r->end.secs - r->dst_off;
		int64_t t[2] = { start < end ? start : end,
		    start < end ? end : start };
		bool dst[2] = { start < end, !(start < end) };

		for (int i = 0; i < 2; i++) {
			if (t[i] <= utc && (!found || t[i] >= best)) {
				best = t[i];
				best_dst = dst[i];
				found = true;
			}
		}
	}
	if (found && best_dst) {
		*off = r->dst_off;
		*isdst = true;
	}
}

void
tz_to_local(const struct tz *zone, int64_t utc, struct tz_tm *out)
{
	int32_t off;
	bool isdst;
	size_t lo, hi;

	utc = tz_clamp(utc);
	if (zone->ntimes > 0 && utc < zone->times[0]) {
		/* Before the first transition: time type 0 (RFC 8536). */
		off = zone->ttypes[0].utoff;
		isdst = zone->ttypes[0].isdst;
	} else if (zone->has_rule &&
	    (zone->ntimes == 0 || utc >= zone->times[zone->ntimes - 1])) {
		tz_rule_offset(&zone->rule, utc, &off, &isdst);
	} else if (zone->ntimes == 0) {
		off = zone->ttypes[0].utoff;
		isdst = zone->ttypes[0].isdst;
	} else {
		/* The last transition at or before utc. */
		lo = 0;
		hi = zone->ntimes;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (zone->times[mid] <= utc)
				lo = mid;
			else
				hi = mid;
		}
		off = zone->ttypes[zone->types[lo]].utoff;
		isdst = zone->ttypes[zone->types[lo]].isdst;
	}
	tz_breakdown(utc + off, off, isdst, out);
}

int64_t
tz_local_day(const struct tz *zone, int64_t utc)
{
	struct tz_tm tm;

	tz_to_local(zone, utc, &tm);
	return tz_days_from_civil(tm.year, tm.month, tm.day);
}

const char *
tz_name(const struct tz *zone)
{
	return zone->name;
}

void
tz_free(struct tz *zone)
{
	if (zone == NULL)
		return;
	free(zone->name);
	free(zone->times);
	free(zone->types);
	free(zone->ttypes);
	free(zone);
}

/* --- the POSIX TZ string of the footer --- */

static bool
tz_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
tz_isalpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Reads an unsigned number of at most 3 digits within [lo, hi]. */
static bool
tz_parse_num(const char **sp, int lo, int hi, int *out)
{
	const char *s = *sp;
	int v = 0, n = 0;

	while (tz_isdigit(*s) && n < 3) {
		v = v * 10 + (*s++ - '0');
		n++;
	}
	if (n == 0 || tz_isdigit(*s) || v < lo || v > hi)
		return false;
	*sp = s;
	*out = v;
	return true;
}

/* A zone abbreviation: three or more letters, or <...> with digits and
 * signs too. */
static bool
tz_parse_abbr(const char **sp)
{
	const char *s = *sp;
	size_t n = 0;

	if (*s == '<') {
		s++;
		while (tz_isalpha(*s) || tz_isdigit(*s) || *s == '+' ||
		    *s == '-') {
			s++;
			n++;
		}
		if (*s != '>' || n < 3)
			return false;
		s++;
	} else {
		while (tz_isalpha(*s)) {
			s++;
			n++;
		}
		if (n < 3)
			return false;
	}
	*sp = s;
	return true;
}

/* [+-]hh[:mm[:ss]] with hh in [0, maxh]; returns seconds. */
static bool
tz_parse_hms(const char **sp, int maxh, int32_t *out)
{
	const char *s = *sp;
	int sign = 1, h, m = 0, sec = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (!tz_parse_num(&s, 0, maxh, &h))
		return false;
	if (*s == ':') {
		s++;
		if (!tz_parse_num(&s, 0, 59, &m))
			return false;
		if (*s == ':') {
			s++;
			if (!tz_parse_num(&s, 0, 59, &sec))
				return false;
		}
	}
	*sp = s;
	*out = sign * (h * 3600 + m * 60 + sec);
	return true;
}

static bool
tz_parse_date(const char **sp, struct tz_date *r)
{
	const char *s = *sp;

	if (*s == 'J') {
		s++;
		r->kind = TZ_DATE_JULIAN1;
		if (!tz_parse_num(&s, 1, 365, &r->n))
			return false;
	} else if (*s == 'M') {
		s++;
		r->kind = TZ_DATE_MWD;
		if (!tz_parse_num(&s, 1, 12, &r->m) || *s++ != '.' ||
		    !tz_parse_num(&s, 1, 5, &r->w) || *s++ != '.' ||
		    !tz_parse_num(&s, 0, 6, &r->d))
			return false;
	} else {
		r->kind = TZ_DATE_JULIAN0;
		if (!tz_parse_num(&s, 0, 365, &r->n))
			return false;
	}
	r->secs = 2 * 3600;
	if (*s == '/') {
		s++;
		if (!tz_parse_hms(&s, TZ_RULE_HOURS_MAX, &r->secs))
			return false;
	}
	*sp = s;
	return true;
}

/* Parses a POSIX TZ string such as "EET-2EEST,M3.5.0/3,M10.5.0/4". */
static bool
tz_parse_rule(const char *s, struct tz_rule *r)
{
	int32_t west;

	memset(r, 0, sizeof(*r));
	if (!tz_parse_abbr(&s) || !tz_parse_hms(&s, 24, &west))
		return false;
	/* POSIX offsets count west of Greenwich. */
	r->std_off = -west;
	if (*s == '\0')
		return true;
	if (!tz_parse_abbr(&s))
		return false;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*s != ',' && *s != '\0') {
		if (!tz_parse_hms(&s, 24, &west))
			return false;
		r->dst_off = -west;
	}
	if (*s == '\0') {
		/* No rule given: the US rules, as glibc and tzcode assume. */
		r->start = (struct tz_date){ TZ_DATE_MWD, 0, 3, 2, 0, 7200 };
		r->end = (struct tz_date){ TZ_DATE_MWD, 0, 11, 1, 0, 7200 };
		return true;
	}
	if (*s++ != ',' || !tz_parse_date(&s, &r->start) || *s++ != ',' ||
	    !tz_parse_date(&s, &r->end) || *s != '\0')
		return false;
	return true;
}

/* --- reading the file --- */

/* Fails when the name could leave the zone directory or is not a name. */
static bool
tz_valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' ||
	    name[n - 1] == '/' || strstr(name, "//") != NULL ||
	    strstr(name, "..") != NULL)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!tz_isalpha(*p) && !tz_isdigit(*p) && *p != '/' &&
		    *p != '_' && *p != '+' && *p != '-')
			return false;
	return true;
}

static uint32_t
tz_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
tz_be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)tz_be32(p) << 32 | tz_be32(p + 4));
}

struct tz_header {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static bool
tz_read_header(const unsigned char *p, size_t len, struct tz_header *h)
{
	if (len < TZ_HEADER_LEN || memcmp(p, "TZif", 4) != 0)
		return false;
	h->version = (char)p[4];
	h->isutcnt = tz_be32(p + 20);
	h->isstdcnt = tz_be32(p + 24);
	h->leapcnt = tz_be32(p + 28);
	h->timecnt = tz_be32(p + 32);
	h->typecnt = tz_be32(p + 36);
	h->charcnt = tz_be32(p + 40);
	return true;
}

/* Bytes of the data block after a header; 64-bit math cannot overflow. */
static uint64_t
tz_block_len(const struct tz_header *h, unsigned timesz)
{
	return (uint64_t)h->timecnt * timesz + h->timecnt +
	    (uint64_t)h->typecnt * 6 + h->charcnt +
	    (uint64_t)h->leapcnt * (timesz + 4) + h->isstdcnt + h->isutcnt;
}

/* Parses the data block at p (checked to hold the whole block) into z. */
static const char *
tz_read_block(const unsigned char *p, const struct tz_header *h,
    unsigned timesz, struct tz *z)
{
	const unsigned char *idx, *tt;

	if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0 ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
		return "corrupt zone file (bad counts)";
	z->ntimes = h->timecnt;
	z->nttypes = h->typecnt;
	z->times = calloc(z->ntimes ? z->ntimes : 1, sizeof(*z->times));
	z->types = calloc(z->ntimes ? z->ntimes : 1, 1);
	z->ttypes = calloc(z->nttypes, sizeof(*z->ttypes));
	if (z->times == NULL || z->types == NULL || z->ttypes == NULL)
		return "out of memory";
	idx = p + (size_t)h->timecnt * timesz;
	tt = idx + h->timecnt;
	for (size_t i = 0; i < z->ntimes; i++) {
		z->times[i] = timesz == 8 ? tz_be64(p + i * 8) :
		    (int32_t)tz_be32(p + i * 4);
		z->types[i] = idx[i];
		if (idx[i] >= h->typecnt)
			return "corrupt zone file (bad type index)";
		if (i > 0 && z->times[i] <= z->times[i - 1])
			return "corrupt zone file (transitions out of order)";
	}
	for (size_t i = 0; i < z->nttypes; i++) {
		int32_t off = (int32_t)tz_be32(tt + i * 6);
		if (off < TZ_OFFSET_MIN || off > TZ_OFFSET_MAX ||
		    tt[i * 6 + 4] > 1 || tt[i * 6 + 5] >= h->charcnt)
			return "corrupt zone file (bad time type)";
		z->ttypes[i].utoff = off;
		z->ttypes[i].isdst = tt[i * 6 + 4] == 1;
	}
	/*
	 * Leap second records (the "right/" zones) are skipped: the planner
	 * works in days, and a few seconds never matter there.
	 */
	return NULL;
}

/* Parses a whole TZif file; returns NULL or the reason it is refused. */
static const char *
tz_parse(const unsigned char *buf, size_t len, struct tz *z)
{
	struct tz_header h;
	uint64_t blk;
	const unsigned char *p = buf, *end = buf + len, *nl;
	char footer[TZ_FOOTER_MAX + 1];
	size_t flen;

	if (!tz_read_header(p, len, &h))
		return len < 4 || memcmp(p, "TZif", 4) == 0 ?
		    "zone file is truncated" : "not a TZif zone file";
	if (h.version != '\0' && h.version != '2' && h.version != '3' &&
	    h.version != '4')
		return "unsupported TZif version";
	blk = tz_block_len(&h, 4);
	if (blk > (uint64_t)(end - p) - TZ_HEADER_LEN)
		return "zone file is truncated";
	if (h.version == '\0')
		return tz_read_block(p + TZ_HEADER_LEN, &h, 4, z);

	/* Version 2 and later: skip the 32-bit block, use the 64-bit one. */
	p += TZ_HEADER_LEN + blk;
	if (!tz_read_header(p, (size_t)(end - p), &h))
		return (size_t)(end - p) < TZ_HEADER_LEN ?
		    "zone file is truncated" : "corrupt zone file (bad header)";
	blk = tz_block_len(&h, 8);
	if (blk > (uint64_t)(end - p) - TZ_HEADER_LEN)
		return "zone file is truncated";
	{
		const char *why = tz_read_block(p + TZ_HEADER_LEN, &h, 8, z);
		if (why != NULL)
			return why;
	}
	p += TZ_HEADER_LEN + blk;

	/* The footer: "\n" TZ-string "\n". */
	if (p >= end || *p != '\n')
		return "zone file is truncated";
	p++;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)
		return "zone file is truncated";
	flen = (size_t)(nl - p);
	if (flen > TZ_FOOTER_MAX)
		return "corrupt zone file (footer too long)";
	memcpy(footer, p, flen);
	footer[flen] = '\0';
	if (flen > 0) {
		if (!tz_parse_rule(footer, &z->rule))
			return "corrupt zone file (bad footer rule)";
		z->has_rule = true;
	}
	return NULL;
}

/* Reads at most TZ_FILE_MAX bytes of path; NULL and a reason on failure. */
static unsigned char *
tz_read_file(const char *path, size_t *lenp, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			snprintf(err, errlen, "unknown time zone");
		else
			snprintf(err, errlen, "cannot open zone file: %s",
			    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "unknown time zone (not a zone file)");
		goto fail;
	}
	/* One byte more than allowed, to notice a file that is too big. */
	buf = malloc(TZ_FILE_MAX + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	while (len < TZ_FILE_MAX + 1) {
		n = read(fd, buf + len, TZ_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "cannot read zone file: %s",
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > TZ_FILE_MAX) {
		snprintf(err, errlen, "zone file too large");
		goto fail;
	}
	close(fd);
	*lenp = len;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

int
tz_load(const char *name, struct tz **out, char *err, size_t errlen)
{
	struct tz *z = NULL;
	unsigned char *buf = NULL;
	const char *dir, *why;
	char path[PATH_MAX];
	size_t len;
	int n;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (name == NULL || !tz_valid_name(name)) {
		snprintf(err, errlen, "invalid time zone name");
		return -1;
	}
	z = calloc(1, sizeof(*z));
	if (z == NULL || (z->name = strdup(name)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
		/* Built in, so that the default zone needs no tzdata. */
		z->nttypes = 1;
		z->ttypes = calloc(1, sizeof(*z->ttypes));
		if (z->ttypes == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		*out = z;
		return 0;
	}
	dir = getenv("TZDIR");
	if (dir == NULL || dir[0] == '\0')
		dir = TZ_DEFAULT_DIR;
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "zone file path too long");
		goto fail;
	}
	buf = tz_read_file(path, &len, err, errlen);
	if (buf == NULL)
		goto fail;
	why = tz_parse(buf, len, z);
	if (why != NULL) {
		snprintf(err, errlen, "%s", why);
		goto fail;
	}
	free(buf);
	*out = z;
	return 0;
fail:
	free(buf);
	tz_free(z);
	return -1;
}

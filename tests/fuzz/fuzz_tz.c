/*
 * libFuzzer target for the zone file reader (src/tz.c): TZif data and the
 * POSIX TZ rule in its footer.
 *
 * The low three bits of the first byte say how many instants follow (8
 * bytes each, big-endian); the rest is the zone file.  It is written to a
 * memfd and loaded with TZDIR=/proc/self/fd and the descriptor's number as
 * the zone name, as tz_load loads any zone.  A zone that loads is then
 * asked for local time at those instants, at fixed edge cases and twice a
 * year from 1960 to 2060; every answer must be a real calendar time with
 * an offset within RFC 8536's bounds that adds up to the instant, and
 * tz_local_day must agree with it.
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

#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 8536: UT offsets lie within (-25h, +26h). */
#define OFFSET_MIN (-89999L)
#define OFFSET_MAX 93599L

static int fd = -1;
static char name[16];

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
setup(void)
{
	if (fd >= 0)
		return;
	fd = memfd_create("zone", MFD_CLOEXEC);
	check(fd >= 0);
	snprintf(name, sizeof(name), "%d", fd);
	check(setenv("TZDIR", "/proc/self/fd", 1) == 0);
}

static void
put(const uint8_t *p, size_t n)
{
	size_t off = 0;

	check(ftruncate(fd, 0) == 0);
	while (off < n) {
		ssize_t w = pwrite(fd, p + off, n - off, (off_t)off);

		check(w > 0);
		off += (size_t)w;
	}
}

static int
month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

static void
check_at(const struct tz *zone, int64_t utc)
{
	struct tz_tm tm;
	int64_t clamped = utc, days;

	if (clamped > TZ_UTC_LIMIT)
		clamped = TZ_UTC_LIMIT;
	if (clamped < -TZ_UTC_LIMIT)
		clamped = -TZ_UTC_LIMIT;
	tz_to_local(zone, utc, &tm);
	check(tm.month >= 1 && tm.month <= 12);
	check(tm.day >= 1 && tm.day <= month_days(tm.year, tm.month));
	check(tm.hour >= 0 && tm.hour <= 23);
	check(tm.min >= 0 && tm.min <= 59);
	check(tm.sec >= 0 && tm.sec <= 59);
	check(tm.isdst == 0 || tm.isdst == 1);
	check(tm.gmtoff >= OFFSET_MIN && tm.gmtoff <= OFFSET_MAX);
	days = tz_days_from_civil(tm.year, tm.month, tm.day);
	check(days * 86400 + tm.hour * 3600 + tm.min * 60 + tm.sec ==
	    clamped + tm.gmtoff);
	check(tm.wday == (int)(((days + 4) % 7 + 7) % 7));
	check(tm.yday == (int)(days - tz_days_from_civil(tm.year, 1, 1)));
	check(tz_local_day(zone, utc) == days);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t edges[] = {
		INT64_MIN, INT64_MIN + 1, -TZ_UTC_LIMIT - 1, -TZ_UTC_LIMIT,
		-TZ_UTC_LIMIT + 1, (int64_t)INT32_MIN - 1, INT32_MIN, -86401,
		-1, 0, 1, 86399, 86400, INT32_MAX, (int64_t)INT32_MAX + 1,
		(int64_t)UINT32_MAX, 4102444800, 253402300799,
		TZ_UTC_LIMIT - 1, TZ_UTC_LIMIT, TZ_UTC_LIMIT + 1, INT64_MAX,
	};
	int64_t at[7];
	size_t nat = 0;
	struct tz *zone = (struct tz *)&nat;
	char err[128];

	if (size < 1)
		return 0;
	setup();
	nat = data[0] & 7;
	data++;
	size--;
	if (nat * 8 > size)
		nat = size / 8;
	for (size_t i = 0; i < nat; i++) {
		uint64_t v = 0;

		for (size_t k = 0; k < 8; k++)
			v = v << 8 | data[i * 8 + k];
		at[i] = (int64_t)v;
	}
	data += nat * 8;
	size -= nat * 8;
	put(data, size);

	err[0] = '\0';
	if (tz_load(name, &zone, err, sizeof(err)) != 0) {
		check(zone == NULL);
		check(err[0] != '\0');
		return 0;
	}
	check(zone != NULL);
	check(strcmp(tz_name(zone), name) == 0);
	for (size_t i = 0; i < nat; i++) {
		check_at(zone, at[i]);
		if (at[i] > INT64_MIN)
			check_at(zone, at[i] - 1);
		if (at[i] < INT64_MAX)
			check_at(zone, at[i] + 1);
	}
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		check_at(zone, edges[i]);
	for (int y = 1960; y <= 2060; y++) {
		check_at(zone, tz_days_from_civil(y, 1, 15) * 86400 + 43200);
		check_at(zone, tz_days_from_civil(y, 7, 15) * 86400 + 43200);
	}
	tz_free(zone);
	return 0;
}

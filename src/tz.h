/*
 * Time zones without global state.
 *
 * The planner must turn UTC instants into local calendar days of a policy's
 * zone, for many zones in one run, without touching TZ or calling
 * localtime() (which read and write process-wide state).  tz_load reads the
 * compiled zone file (TZif, as shipped by tzdata) once; tz_to_local is then
 * a pure function of its arguments.  After the file's last transition the
 * POSIX TZ rule in the file's footer gives local time, so zones work past
 * 2037 and with "slim" files alike.
 */
#ifndef EC2BACKUP_TZ_H
#define EC2BACKUP_TZ_H

#include <stddef.h>
#include <stdint.h>

#define TZ_NAME_MAX 255            /* bytes of a zone name */
#define TZ_FILE_MAX (256 * 1024)   /* bytes of a zone file */
#define TZ_DATE_MAX 16             /* "YYYY-MM-DD" and its NUL, with room */
#define TZ_TIME_MAX 32             /* "YYYY-MM-DDTHH:MM:SSZ" and its NUL */

/*
 * Instants are clamped to +-TZ_UTC_LIMIT seconds (about 8.9 million years),
 * so years always fit an int.
 */
#define TZ_UTC_LIMIT ((int64_t)1 << 48)

struct tz;

/* A broken-down local time. */
struct tz_tm {
	int year;     /* e.g. 2026 */
	int month;    /* 1..12 */
	int day;      /* 1..31 */
	int hour;     /* 0..23 */
	int min;      /* 0..59 */
	int sec;      /* 0..59 (leap seconds are not modelled) */
	int wday;     /* 0 = Sunday .. 6 */
	int yday;     /* 0..365 */
	int isdst;    /* 1 when daylight saving time is in effect */
	long gmtoff;  /* seconds east of UTC in effect at that instant */
};

/*
 * Loads zone name (an IANA name such as "Europe/Helsinki", or "UTC") from
 * $TZDIR or /usr/share/zoneinfo.  Names with "..", a leading "/" or other
 * characters outside [A-Za-z0-9/_+-], empty components or more than
 * TZ_NAME_MAX bytes are refused.  "UTC" and "Etc/UTC" need no file.  On
 * success returns 0 and stores a zone the caller frees with tz_free; on
 * failure returns -1 and writes a short reason (without the name) to err.
 */
int tz_load(const char *name, struct tz **out, char *err, size_t errlen);

/* Frees zone; NULL is allowed. */
void tz_free(struct tz *zone);

/* The zone's name as given to tz_load; owned by the zone. */
const char *tz_name(const struct tz *zone);

/* Converts UTC seconds since the epoch to local time in zone. */
void tz_to_local(const struct tz *zone, int64_t utc, struct tz_tm *out);

/* The local calendar day (days since 1970-01-01) of utc in zone. */
int64_t tz_local_day(const struct tz *zone, int64_t utc);

/* Converts UTC seconds to a UTC broken-down time (gmtoff 0). */
void tz_to_utc(int64_t utc, struct tz_tm *out);

/* Days since 1970-01-01 of a proleptic Gregorian date; pure arithmetic. */
int64_t tz_days_from_civil(int year, int month, int day);

/* The inverse of tz_days_from_civil. */
void tz_civil_from_days(int64_t days, int *year, int *month, int *day);

/* Writes days as "YYYY-MM-DD" into out, which holds TZ_DATE_MAX bytes. */
void tz_format_date(int64_t days, char out[TZ_DATE_MAX]);

/* Writes UTC seconds as "YYYY-MM-DDTHH:MM:SSZ" into out (TZ_TIME_MAX). */
void tz_format_time(int64_t utc, char out[TZ_TIME_MAX]);

#endif

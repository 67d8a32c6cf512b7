/*
 * One line per message on standard error, prefixed with the program name
 * and, below error, the level; with --syslog, the same line goes to syslog
 * without the prefix (syslog adds its own).  Everything that could forge
 * a second line or reorder this one (newlines, control and bidi
 * characters from EC2's answers) is escaped.
 *
 * On a terminal a progress line may sit at the bottom of standard error;
 * a message first clears it and then draws it again, so the two never
 * run into each other.  Warnings and errors can also be kept, for the
 * JSON document that -o json writes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "text.h"

#define LINE_MAX_BYTES 2048
#define KEPT_MAX 1000

static enum log_level threshold = LOG_LEVEL_INFO;
static bool to_syslog;
static bool colour;
static char progress[256];     /* the line shown, "" when none */

static struct kept {
	char **lines;
	size_t n, dropped;
} kept[2];                     /* warnings, errors */
static bool keeping;

void
log_set_level(enum log_level level)
{
	threshold = level;
}

enum log_level
log_get_level(void)
{
	return threshold;
}

int
log_level_parse(const char *s)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "debug", LOG_LEVEL_DEBUG },
		{ "info", LOG_LEVEL_INFO },
		{ "warning", LOG_LEVEL_WARNING },
		{ "warn", LOG_LEVEL_WARNING },
		{ "error", LOG_LEVEL_ERROR },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return (int)names[i].level;
	return -1;
}

void
log_use_syslog(bool on)
{
	if (on && !to_syslog)
		openlog("ec2backup", LOG_PID, LOG_DAEMON);
	else if (!on && to_syslog)
		closelog();
	to_syslog = on;
}

void
log_use_colour(bool on)
{
	colour = on;
}

void
log_keep(bool on)
{
	keeping = on;
}

const char *const *
log_kept(enum log_level level, size_t *n, size_t *dropped)
{
	struct kept *k = &kept[level == LOG_LEVEL_ERROR];

	*n = k->n;
	if (dropped != NULL)
		*dropped = k->dropped;
	return (const char *const *)k->lines;
}

void
log_kept_free(void)
{
	for (int i = 0; i < 2; i++) {
		for (size_t j = 0; j < kept[i].n; j++)
			free(kept[i].lines[j]);
		free(kept[i].lines);
		memset(&kept[i], 0, sizeof(kept[i]));
	}
}

static void
keep(enum log_level level, const char *line)
{
	struct kept *k = &kept[level == LOG_LEVEL_ERROR];
	char **grown, *copy;

	if (k->n == KEPT_MAX) {
		k->dropped++;
		return;
	}
	if ((k->n & (k->n - 1)) == 0) {
		grown = realloc(k->lines, (k->n ? 2 * k->n : 8) *
		    sizeof(*grown));
		if (grown == NULL)
			return;
		k->lines = grown;
	}
	if ((copy = strdup(line)) != NULL)
		k->lines[k->n++] = copy;
}

void
log_progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(progress, sizeof(progress), fmt, ap);
	va_end(ap);
	/* \033[K clears what a longer line before left. */
	fprintf(stderr, "\r%s\033[K", progress);
	fflush(stderr);
}

void
log_progress_end(void)
{
	if (progress[0] == '\0')
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	progress[0] = '\0';
}

static void
vlog(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const prefix[] = { "debug: ", "", "warning: ",
	    "error: " };
	static const char *const tint[] = { "", "", "\033[33m", "\033[31m" };
	static const int priority[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING,
	    LOG_ERR };
	char raw[LINE_MAX_BYTES];
	char line[LINE_MAX_BYTES * TEXT_ESCAPE_GROWTH];

	if (level < threshold && !(keeping && level >= LOG_LEVEL_WARNING))
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	text_escape(raw, line, sizeof(line));
	if (keeping && level >= LOG_LEVEL_WARNING)
		keep(level, line);
	if (level < threshold)
		return;
	/* What the program said before comes first, also when both go
	 * to one pipe (cron, 2>&1). */
	fflush(stdout);
	if (progress[0] != '\0')
		fputs("\r\033[K", stderr);
	if (colour && tint[level][0] != '\0')
		fprintf(stderr, "ec2backup: %s%s\033[0m%s\n", tint[level],
		    prefix[level], line);
	else
		fprintf(stderr, "ec2backup: %s%s\n", prefix[level], line);
	if (progress[0] != '\0')
		fprintf(stderr, "%s", progress);
	if (to_syslog)
		syslog(priority[level], "%s%s", prefix[level], line);
}

void
log_reason(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || len == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

#define LOG_FUNCTION(name, level)            \
	void name(const char *fmt, ...)      \
	{                                    \
		va_list ap;                  \
		va_start(ap, fmt);           \
		vlog(level, fmt, ap);        \
		va_end(ap);                  \
	}

LOG_FUNCTION(log_debug, LOG_LEVEL_DEBUG)
LOG_FUNCTION(log_info, LOG_LEVEL_INFO)
LOG_FUNCTION(log_warning, LOG_LEVEL_WARNING)
LOG_FUNCTION(log_error, LOG_LEVEL_ERROR)

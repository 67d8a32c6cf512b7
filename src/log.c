/*
 * One line per message on standard error, prefixed with the program name
 * and, below error, the level; with --syslog, the same line goes to syslog
 * without the prefix (syslog adds its own).  Newlines inside a message are
 * replaced, so a message from EC2 can never forge a second log line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static enum log_level threshold = LOG_LEVEL_INFO;
static bool to_syslog;

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

static void
vlog(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const prefix[] = { "debug: ", "", "warning: ",
	    "error: " };
	static const int priority[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING,
	    LOG_ERR };
	char line[2048];

	if (level < threshold)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	for (char *p = line; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "ec2backup: %s%s\n", prefix[level], line);
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

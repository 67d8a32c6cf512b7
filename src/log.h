/*
 * Messages for people: "ec2backup: context: reason", one line each.
 *
 * Levels filter what reaches standard error (or syslog, for cron).  What
 * could forge a line (newlines, control and bidi characters) is escaped.
 * Callers never put secrets in a message: the log does not know what is
 * secret.
 */
#ifndef EC2BACKUP_LOG_H
#define EC2BACKUP_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_ERROR
};

/* Sets the threshold; messages below it are dropped.  Default: info. */
void log_set_level(enum log_level level);

enum log_level log_get_level(void);

/* Parses "debug", "info", "warning" (or "warn"), "error"; -1 if unknown. */
int log_level_parse(const char *s);

/* Sends messages to syslog (facility daemon, ident "ec2backup") too. */
void log_use_syslog(bool on);


#if defined(__GNUC__)
#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LOG_PRINTF(a, b)
#endif

/* Colours the level of warnings and errors (for a terminal). */
void log_use_colour(bool on);

/*
 * Keeps every warning and error (as written, escaped), whatever the
 * level shown, so that a JSON document can carry them.  log_kept gives
 * those of one level (LOG_LEVEL_WARNING or LOG_LEVEL_ERROR), at most
 * 1000, and how many more were dropped; the strings live until
 * log_kept_free.
 */
void log_keep(bool on);
const char *const *log_kept(enum log_level level, size_t *n,
    size_t *dropped);
void log_kept_free(void);

/*
 * A progress line at the bottom of standard error (call it only when
 * standard error is a terminal): each call replaces the line, messages
 * clear it and draw it again under themselves, and log_progress_end
 * removes it.
 */
void log_progress(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_progress_end(void);

/*
 * Writes a reason into err (len bytes, nothing when err is NULL), for
 * functions that return -1 and let the caller word the message.
 */
void log_reason(char *err, size_t len, const char *fmt, ...)
    LOG_PRINTF(3, 4);

void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warning(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_error(const char *fmt, ...) LOG_PRINTF(1, 2);

#endif

/**
 * @file log.h  Logging to stderr
 *
 * One line per event, "LEVEL message". Call-related lines start with the
 * call id so that one grep follows a call.
 */
#ifndef SWITCH_LOG_H
#define SWITCH_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_vprintf(enum log_level level, const char *fmt, va_list ap);
void log_printf(enum log_level level, const char *fmt, ...);

/* Formats are re_printf formats: %r for struct pl, %J for struct sa, %m for
 * errno values, %H for printer functions. */
#define log_debug(...) \
	do { if (log_get_level() <= LOG_LEVEL_DEBUG) \
		log_printf(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)  log_printf(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_printf(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_printf(LOG_LEVEL_ERROR, __VA_ARGS__)

/** Route libre's own debug output (DEBUG_WARNING etc.) into our log. */
void log_capture_libre(void);

/** s as a JSON string, quoted and escaped (for ctl --json output) */
int json_str(struct re_printf *pf, const char *s);

#endif

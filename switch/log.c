/**
 * @file log.c  Logging to stderr
 */
#include <stdio.h>
#include <time.h>
#include <sys/time.h>
#include "core.h"
#define DEBUG_MODULE "log"
#define DEBUG_LEVEL 5
#include <re_dbg.h>

static enum log_level min_level = LOG_LEVEL_INFO;

static const char *level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};


void log_set_level(enum log_level level)
{
	min_level = level;
}


enum log_level log_get_level(void)
{
	return min_level;
}


void log_vprintf(enum log_level level, const char *fmt, va_list ap)
{
	struct timeval tv;
	struct tm tm;
	char ts[32];
	va_list aq;

	if (level < min_level)
		return;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);

	/* %v takes a va_list pointer; a va_list parameter is already an
	 * array-decayed pointer on x86_64, hence the local copy. One
	 * re_fprintf per line keeps lines whole between threads. */
	va_copy(aq, ap);
	(void)re_fprintf(stderr, "%s.%03ld %-5s %v\n", ts,
			 (long)(tv.tv_usec / 1000), level_names[level],
			 fmt, &aq);
	va_end(aq);
}


void log_printf(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprintf(level, fmt, ap);
	va_end(ap);
}


static void libre_dbg_handler(int level, const char *p, size_t len,
			      void *arg)
{
	enum log_level l;
	(void)arg;

	/* Drop the trailing newline libre puts on each line. */
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		--len;

	switch (level) {
	case DBG_EMERG:
	case DBG_ALERT:
	case DBG_CRIT:
	case DBG_ERR:     l = LOG_LEVEL_ERROR; break;
	case DBG_WARNING: l = LOG_LEVEL_WARN;  break;
	case DBG_NOTICE:
	case DBG_INFO:    l = LOG_LEVEL_INFO;  break;
	default:          l = LOG_LEVEL_DEBUG; break;
	}

	log_printf(l, "libre: %b", p, len);
}


void log_capture_libre(void)
{
	dbg_init(DBG_INFO, DBG_NONE);
	dbg_handler_set(libre_dbg_handler, NULL);
}


int json_str(struct re_printf *pf, const char *s)
{
	int err = re_hprintf(pf, "\"");

	for (; s && *s && !err; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			err = re_hprintf(pf, "\\%c", c);
		else if (c < 0x20)
			err = re_hprintf(pf, "\\u%04x", c);
		else
			err = re_hprintf(pf, "%c", c);
	}

	return err | re_hprintf(pf, "\"");
}

/**
 * @file app.h  Dialplan applications: the registry
 *
 * An app is one file in apps/ defining `const struct app app_NAME` (NAME
 * being the file name); meson lists the files and generates the table
 * (apps/meson.build), so a new app is one new file plus one line there.
 *
 * Apps describe themselves: name, syntax, a one-line description and a
 * check of their data, so `switchboard --check` rejects an unknown app or
 * bad data at load time (FreeSWITCH finds out when a call hits it).
 * Data is checked after $1..$9 substitution is known to be possible but
 * before ${var} expansion: a check must accept any "${...}" reference
 * (and $1..$9 capture) where a value will only be known at run time.
 *
 * Running an app needs a call; that part of struct app comes with the
 * call engine.
 */
#ifndef SWITCH_APP_H
#define SWITCH_APP_H

enum app_flags {
	APP_NONE       = 0,
	APP_ENDS_CALL  = 1 << 0,  /* nothing after it runs (hangup, transfer) */
	APP_NEEDS_DATA = 1 << 1,  /* data is required                        */
	APP_MEDIA      = 1 << 2,  /* needs the call's media (answers early)   */
};

struct app {
	const char *name;
	const char *syntax;        /* e.g. "user/ID|group/NAME[,|...]"      */
	const char *descr;         /* one line                               */
	unsigned flags;

	/**
	 * Check data at load time: return 0, or an errno with a one-line
	 * reason written to msg (msgsz bytes). NULL: any data is fine.
	 */
	int (*check)(const char *data, char *msg, size_t msgsz);
};

/** Find an app by name (NULL if unknown). */
const struct app *app_find(const char *name);

/** The registry, sorted by name, NULL-terminated. */
const struct app *const *app_list(void);

/** Print "name syntax - descr" lines (for `switchboard --apps`). */
int  app_print_all(struct re_printf *pf, void *unused);

/**
 * Check data for app as `--check` does: NULL data is "", APP_NEEDS_DATA
 * rejects blank data, then app->check runs. Returns 0 or an errno with a
 * one-line reason in msg.
 */
int  app_check(const struct app *app, const char *data,
	       char *msg, size_t msgsz);


/*
 * Shared by the checks (registry.c). A reference is "${NAME}" (braces may
 * nest: ${a_${b}}) or a capture "$1".."$9": its value is only known at run
 * time, so a check accepts any part of the data that holds one.
 */

/* True if s contains a ${...} reference or a $1..$9 capture. */
bool app_data_is_dynamic(const char *s);
bool app_pl_is_dynamic(const struct pl *pl);

/* The check of apps that take no data: anything but blanks is an error. */
int  app_check_none(const char *data, char *msg, size_t msgsz);

/* The check of VAR=VALUE data (set, export): VAR of [A-Za-z0-9_.-]. */
int  app_check_assign(const char *data, char *msg, size_t msgsz);

/* Write the reason to msg (if any) and return err: `return app_fail(...)` */
int  app_fail(char *msg, size_t msgsz, int err, const char *fmt, ...);

/* Strip blanks (space, tab, CR, LF) at both ends. */
void app_trim(struct pl *pl);

/**
 * Cut the next field off *rest at sep, never inside a reference. Start
 * with rest set to the whole data; returns false once rest is used up.
 * "a,,b" gives "a", "" and "b"; "" gives one empty field.
 */
bool app_field(struct pl *rest, struct pl *field, char sep);

/* Next blank-separated word of *rest (references stay whole); false at end. */
bool app_word(struct pl *rest, struct pl *word);

/* Non-empty, and every character is a letter, a digit, one of extra or
 * part of a reference. */
bool app_pl_valid(const struct pl *pl, const char *extra);

/* A mailbox name as in the directory's mailbox attribute */
int  app_check_mailbox(const struct pl *box, char *msg, size_t msgsz);

/* A whole decimal number up to max: 0, EINVAL (not one) or ERANGE. */
int  app_pl_uint(const struct pl *pl, uint32_t max, uint32_t *valp);

#endif

/**
 * @file registry.c  The dialplan application registry
 *
 * The table is generated at build time (contrib/gen_apps.py) from the list
 * of app files in apps/meson.build, already sorted by name: nothing to
 * register at start-up, nothing to get out of order, and app_find() can
 * bisect it. The helpers below are shared by the apps' load-time checks.
 */
#include <stdarg.h>
#include <ctype.h>
#include "core.h"
#include "app.h"


/* apps_table.c, generated */
extern const struct app *const app_table[];
extern const size_t app_table_len;


const struct app *app_find(const char *name)
{
	size_t lo = 0, hi = app_table_len;

	if (!name)
		return NULL;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, app_table[mid]->name);

		if (c == 0)
			return app_table[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}

	return NULL;
}


const struct app *const *app_list(void)
{
	return app_table;
}


int app_print_all(struct re_printf *pf, void *unused)
{
	const struct app *const *ap;
	int err = 0;
	(void)unused;

	for (ap = app_table; *ap && !err; ap++) {
		const struct app *a = *ap;
		bool syn = str_isset(a->syntax);

		err = re_hprintf(pf, "%s%s%s - %s\n", a->name,
				 syn ? " " : "", syn ? a->syntax : "",
				 a->descr);
	}

	return err;
}


int app_check(const struct app *app, const char *data,
	      char *msg, size_t msgsz)
{
	struct pl pl;

	if (!app)
		return EINVAL;

	if (msg && msgsz)
		msg[0] = '\0';

	pl_set_str(&pl, data ? data : "");
	app_trim(&pl);

	if ((app->flags & APP_NEEDS_DATA) && !pl.l)
		return app_fail(msg, msgsz, EINVAL, "needs data: %s",
				app->syntax);

	return app->check ? app->check(data ? data : "", msg, msgsz) : 0;
}


int app_fail(char *msg, size_t msgsz, int err, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !msgsz)
		return err;

	va_start(ap, fmt);
	(void)re_vsnprintf(msg, msgsz, fmt, ap);
	va_end(ap);

	return err;
}


int app_check_none(const char *data, char *msg, size_t msgsz)
{
	struct pl pl;

	pl_set_str(&pl, data ? data : "");
	app_trim(&pl);

	/* Not ignored as FreeSWITCH does: data here is a misplaced action */
	if (pl.l)
		return app_fail(msg, msgsz, EINVAL, "takes no data (got '%r')",
				&pl);

	return 0;
}


int app_check_assign(const char *data, char *msg, size_t msgsz)
{
	struct pl rest, name;

	pl_set_str(&rest, data ? data : "");

	/* The whole assignment may come from a variable */
	if (app_pl_is_dynamic(&rest) && !pl_strchr(&rest, '='))
		return 0;

	(void)app_field(&rest, &name, '=');
	if (!rest.p)
		return app_fail(msg, msgsz, EINVAL,
				"'%r' has no '=': VAR=VALUE", &name);

	if (!app_pl_valid(&name, "_.-"))
		return app_fail(msg, msgsz, EINVAL,
				"invalid variable name '%r' (letters, digits,"
				" _ . -)", &name);

	return 0;
}


/* Length of the reference that starts at p, 0 if none does. */
static size_t ref_len(const char *p, const char *end)
{
	const char *q;
	unsigned depth = 1;

	if (end - p < 2 || p[0] != '$')
		return 0;

	if (p[1] >= '1' && p[1] <= '9')
		return 2;

	if (p[1] != '{')
		return 0;

	for (q = p + 2; q < end; q++) {
		if (*q == '{') {
			++depth;
		}
		else if (*q == '}' && --depth == 0) {
			/* "${}" names nothing */
			return q > p + 2 ? (size_t)(q + 1 - p) : 0;
		}
	}

	return 0;  /* unterminated: the engine's template compiler says so */
}


bool app_pl_is_dynamic(const struct pl *pl)
{
	const char *p, *end;

	if (!pl || !pl->p)
		return false;

	end = pl->p + pl->l;
	for (p = pl->p; p < end; p++) {
		if (ref_len(p, end))
			return true;
	}

	return false;
}


bool app_data_is_dynamic(const char *s)
{
	struct pl pl;

	if (!s)
		return false;

	pl_set_str(&pl, s);

	return app_pl_is_dynamic(&pl);
}


static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


void app_trim(struct pl *pl)
{
	if (!pl || !pl->p)
		return;

	while (pl->l && is_blank(pl->p[0])) {
		++pl->p;
		--pl->l;
	}
	while (pl->l && is_blank(pl->p[pl->l - 1]))
		--pl->l;
}


bool app_field(struct pl *rest, struct pl *field, char sep)
{
	size_t i = 0;

	if (!rest || !field || !rest->p)
		return false;

	while (i < rest->l) {
		size_t n = ref_len(rest->p + i, rest->p + rest->l);

		if (n) {
			i += n;
			continue;
		}

		if (rest->p[i] == sep) {
			field->p = rest->p;
			field->l = i;
			rest->p += i + 1;
			rest->l -= i + 1;
			return true;
		}

		++i;
	}

	/* The last field; a NULL rest marks the end, so "a," still gives
	 * its trailing empty field */
	*field = *rest;
	rest->p = NULL;
	rest->l = 0;

	return true;
}


bool app_word(struct pl *rest, struct pl *word)
{
	size_t i = 0;

	if (!rest || !word || !rest->p)
		return false;

	app_trim(rest);
	if (!rest->l)
		return false;

	while (i < rest->l && !is_blank(rest->p[i])) {
		size_t n = ref_len(rest->p + i, rest->p + rest->l);

		i += n ? n : 1;
	}

	word->p = rest->p;
	word->l = i;
	rest->p += i;
	rest->l -= i;

	return true;
}


bool app_pl_valid(const struct pl *pl, const char *extra)
{
	size_t i = 0;

	if (!pl || !pl->p || !pl->l)
		return false;

	while (i < pl->l) {
		char c = pl->p[i];
		size_t n = ref_len(pl->p + i, pl->p + pl->l);

		if (n) {
			i += n;
			continue;
		}

		if (!isalnum((unsigned char)c) &&
		    !(extra && c && strchr(extra, c)))
			return false;

		++i;
	}

	return true;
}


int app_pl_uint(const struct pl *pl, uint32_t max, uint32_t *valp)
{
	uint64_t v = 0;
	size_t i;

	if (!pl || !pl->p || !pl->l)
		return EINVAL;

	for (i = 0; i < pl->l; i++) {
		if (!isdigit((unsigned char)pl->p[i]))
			return EINVAL;
	}

	/* Digits checked first: "99999999999x" is not a number, not a
	 * number too large */
	for (i = 0; i < pl->l; i++) {
		v = v * 10 + (uint64_t)(pl->p[i] - '0');
		if (v > max)
			return ERANGE;
	}

	if (valp)
		*valp = (uint32_t)v;

	return 0;
}


int app_check_mailbox(const struct pl *box, char *msg, size_t msgsz)
{
	if (!app_pl_valid(box, "_.+-"))
		return app_fail(msg, msgsz, EINVAL, "invalid mailbox '%r'"
				" (letters, digits, _ . + -)", box);

	return 0;
}

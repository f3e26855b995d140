/**
 * @file dialplan_test.c  Run the dialplan's <test> elements at load time
 *
 *   <test context="default" caller="1001" destination_number="1002"
 *         extension="internal" actions="bridge user/1002; voicemail 1002"
 *         time="2026-11-23T10:00"/>
 *
 * A test that no longer holds makes the config invalid, with the test's
 * FILE:LINE: an edit that breaks a route is caught by --check or refused
 * by a reload, before a call finds out.
 */
#include <time.h>
#include "core.h"
#include "app.h"
#include "config.h"
#include "config_int.h"
#include "dialplan.h"
#include "dialplan_int.h"


/* "app data; app data" with white space collapsed, for comparing */
static int normalise(struct mbuf *mb, const char *s)
{
	bool space = false, start = true;
	int err = 0;

	for (; *s && !err; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			space = !start;
			continue;
		}
		if (*s == ';') {
			err = mbuf_write_str(mb, "; ");
			space = false;
			start = true;
			continue;
		}
		if (space)
			err = mbuf_write_u8(mb, ' ');
		err |= mbuf_write_u8(mb, (uint8_t)*s);
		space = false;
		start = false;
	}

	return err;
}


static int steps_text(char **textp, const struct list *steps)
{
	struct mbuf *mb = mbuf_alloc(128), *tmp = mbuf_alloc(128);
	struct le *le;
	int err = 0;

	if (!mb || !tmp) {
		err = ENOMEM;
		goto out;
	}

	for (le = steps->head; le && !err; le = le->next) {
		const struct dp_step *s = le->data;

		err = mbuf_printf(tmp, "%s%s%s%s", le == steps->head ? "" : "; ",
				  s->app->name, s->data && *s->data ? " " : "",
				  s->data ? s->data : "");
	}

	if (!err) {
		(void)mbuf_write_u8(tmp, 0);
		err = normalise(mb, (const char *)tmp->buf);
	}
	if (!err) {
		mb->pos = 0;
		err = mbuf_strdup(mb, textp, mb->end);
	}

 out:
	mem_deref(mb);
	mem_deref(tmp);
	return err;
}


static int normalised(char **outp, const char *s)
{
	struct mbuf *mb = mbuf_alloc(128);
	int err;

	if (!mb)
		return ENOMEM;

	err = normalise(mb, s);
	if (!err) {
		mb->pos = 0;
		err = mbuf_strdup(mb, outp, mb->end);
	}

	mem_deref(mb);
	return err;
}


static void fail(struct loader *ld, const struct dp_test *t,
		 const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsdprintf(&msg, fmt, ap);
	va_end(ap);

	(void)config_error_add(ld->errl, t->file, t->line,
			       "test: %s calling %s in context %s: %s",
			       t->caller, t->destination, t->context,
			       msg ? msg : "failed");
	mem_deref(msg);
	++ld->nerr;
}


static bool parse_time(const char *s, time_t *tp)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M", &tm);
	if (!end || *end)
		return false;

	tm.tm_isdst = -1;
	*tp = mktime(&tm);
	return *tp != (time_t)-1;
}


static int run_test(struct loader *ld, const struct dp_test *t)
{
	const struct config *cfg = ld->cfg;
	const struct config_user *u;
	struct list steps = LIST_INIT;
	struct dp_channel ch;
	const char *ext = NULL;
	char *got = NULL, *want = NULL;
	struct pl id;
	int err;

	memset(&ch, 0, sizeof(ch));
	pl_set_str(&id, t->caller);
	u = config_user_find(cfg, &id);

	ch.destination_number = t->destination;
	ch.caller_id_number = t->caller;
	ch.caller_id_name = u && u->name ? u->name : t->caller;
	ch.network_addr = "127.0.0.1";
	ch.context = t->context;
	ch.now = time(NULL);

	if (t->time && !parse_time(t->time, &ch.now)) {
		fail(ld, t, "time=\"%s\": expected YYYY-MM-DDTHH:MM", t->time);
		return 0;
	}

	err = dialplan_hunt(cfg->dialplan, &ch, &steps, &ext, NULL);
	if (err == ENOENT) {
		fail(ld, t, "there is no such context");
		return 0;
	}
	if (err)
		goto out;

	if (t->extension && strcmp(t->extension, ext ? ext : "")) {
		if (ext)
			fail(ld, t, "reaches extension \"%s\", expected \"%s\"",
			     ext, t->extension);
		else
			fail(ld, t, "reaches no extension, expected \"%s\"",
			     t->extension);
	}

	if (t->actions) {
		err  = steps_text(&got, &steps);
		err |= normalised(&want, t->actions);
		if (err)
			goto out;

		if (strcmp(got, want))
			fail(ld, t, "actions \"%s\", expected \"%s\"",
			     got[0] ? got : "(none)", want);
	}

 out:
	list_flush(&steps);
	mem_deref(got);
	mem_deref(want);
	return err;
}


int dialplan_run_tests(struct loader *ld)
{
	struct le *le;
	int err = 0;

	if (!ld->cfg->dialplan)
		return 0;

	for (le = ld->cfg->dialplan->tests.head; le && !err; le = le->next)
		err = run_test(ld, le->data);

	return err;
}

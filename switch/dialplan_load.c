/**
 * @file dialplan_load.c  Compile <dialplan> XML into the hunt structures
 *
 * Every mistake an administrator can make in a dialplan that is visible
 * without a call is reported here with its FILE:LINE: a bad regular
 * expression, a field name that does not exist, an unknown application or
 * data it refuses, $3 where the expression captures two groups, a
 * duplicate context.
 */
#include <stdlib.h>
#include "core.h"
#include "app.h"
#include "config.h"
#include "config_int.h"
#include "dialplan.h"
#include "dialplan_int.h"


static void action_destructor(void *arg)
{
	struct dp_action *a = arg;

	list_unlink(&a->le);
	mem_deref(a->data);
	mem_deref(a->file);
}


static void cond_destructor(void *arg)
{
	struct dp_cond *c = arg;

	list_unlink(&c->le);
	list_flush(&c->actions);
	list_flush(&c->anti);
	if (c->re)
		pcre2_code_free(c->re);
	mem_deref(c->var);
	mem_deref(c->expr);
	mem_deref(c->file);
}


static void ext_destructor(void *arg)
{
	struct dp_ext *e = arg;

	list_unlink(&e->le);
	list_flush(&e->conds);
	mem_deref(e->name);
	mem_deref(e->file);
}


static void ctx_destructor(void *arg)
{
	struct dp_context *ctx = arg;

	hash_unlink(&ctx->he);
	list_flush(&ctx->exts);
	mem_deref(ctx->name);
	mem_deref(ctx->file);
}


static void test_destructor(void *arg)
{
	struct dp_test *t = arg;

	list_unlink(&t->le);
	mem_deref(t->context);
	mem_deref(t->caller);
	mem_deref(t->destination);
	mem_deref(t->extension);
	mem_deref(t->actions);
	mem_deref(t->time);
	mem_deref(t->file);
}


/* file and line of a node, for objects that outlive the XML */
static int locate(struct loader *ld, const xmlNode *n, char **filep,
		  int *linep)
{
	xmlChar *f = node_file(n, ld->cfg->file);
	int err = str_dup(filep, f ? (const char *)f : "?");

	xmlFree(f);
	*linep = node_line(n);
	return err;
}


static const struct {
	const char *name;
	enum dp_field field;
} fields[] = {
	{"destination_number", DPF_DESTINATION_NUMBER},
	{"caller_id_number",   DPF_CALLER_ID_NUMBER},
	{"caller_id_name",     DPF_CALLER_ID_NAME},
	{"network_addr",       DPF_NETWORK_ADDR},
	{"context",            DPF_CONTEXT},
};


static int parse_field(struct loader *ld, const xmlNode *n,
		       struct dp_cond *c, const char *f)
{
	size_t i, len = strlen(f);

	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		if (!strcmp(f, fields[i].name)) {
			c->field = fields[i].field;
			return 0;
		}
	}

	if (len > 3 && f[0] == '$' && f[1] == '{' && f[len - 1] == '}') {
		c->field = DPF_VAR;
		return re_sdprintf(&c->var, "%b", f + 2, len - 3);
	}

	add_error_at(ld, n, "<condition field=\"%s\">: unknown field (use "
		     "destination_number, caller_id_number, caller_id_name, "
		     "network_addr, context or ${variable})", f);
	return 0;
}


/* "1-5", "1,7", "2-4,6": days of the week, 1 = Sunday */
static bool parse_wdays(const char *s, uint8_t *maskp)
{
	uint8_t mask = 0;

	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b = a;

		if (end == s || a < 1 || a > 7)
			return false;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a || b > 7)
				return false;
			s = end;
		}
		for (; a <= b; a++)
			mask |= (uint8_t)(1u << a);
		if (*s == ',')
			++s;
		else if (*s)
			return false;
	}

	*maskp = mask;
	return mask != 0;
}


/* "08:00-17:30"; from may be later than to (over midnight) */
static bool parse_tod(const char *s, int16_t *fromp, int16_t *top)
{
	unsigned h1, m1, h2, m2;
	char tail;

	if (sscanf(s, "%2u:%2u-%2u:%2u%c", &h1, &m1, &h2, &m2, &tail) != 4 ||
	    h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59)
		return false;

	*fromp = (int16_t)(h1 * 60 + m1);
	*top = (int16_t)(h2 * 60 + m2);
	return true;
}


static int load_action(struct loader *ld, const xmlNode *n,
		       struct dp_cond *c, bool anti)
{
	char *appname = attr(n, "application");
	struct dp_action *a;
	int max, err = 0;

	a = mem_zalloc(sizeof(*a), action_destructor);
	if (!a) {
		err = ENOMEM;
		goto out;
	}

	err = attr_dup(&a->data, n, "data");
	err |= locate(ld, n, &a->file, &a->line);
	if (err)
		goto out;

	a->app = app_find(appname ? appname : "");
	if (!a->app) {
		add_error_at(ld, n, "unknown application \"%s\" (see "
			     "'switchboard --apps')", appname ? appname : "");
		goto out;
	}

	max = dialplan_max_capture(a->data);
	if (anti && max >= 0) {
		add_error_at(ld, n, "<anti-action data=\"%s\">: $%d: an "
			     "anti-action runs when the expression did not "
			     "match, so there are no captures", a->data, max);
		goto out;
	}
	if (max > 0 && (!c->re || (uint32_t)max > c->ngroups)) {
		add_error_at(ld, n, "<action data=\"%s\">: $%d, but the "
			     "expression captures %u group(s)", a->data, max,
			     c->re ? c->ngroups : 0);
		goto out;
	}

	/* The app checks its data (a $N or ${var} part is a run-time value
	 * it accepts) */
	{
		char msg[256] = "";

		if ((a->app->flags & APP_NEEDS_DATA) &&
		    (!a->data || !*a->data))
			add_error_at(ld, n, "%s needs data (syntax: %s %s)",
				     a->app->name, a->app->name,
				     a->app->syntax);
		else if (app_check(a->app, a->data, msg, sizeof(msg)))
			add_error_at(ld, n, "%s \"%s\": %s (syntax: %s %s)",
				     a->app->name, a->data ? a->data : "",
				     msg[0] ? msg : "invalid data",
				     a->app->name, a->app->syntax);
	}

	list_append(anti ? &c->anti : &c->actions, &a->le, a);
	a = NULL;

 out:
	mem_deref(a);
	xmlFree(appname);
	return err;
}


static int load_condition(struct loader *ld, const xmlNode *n,
			  struct dp_ext *ext)
{
	char *field = attr(n, "field"), *expr = attr(n, "expression");
	char *brk = attr(n, "break"), *wday = attr(n, "wday");
	char *tod = attr(n, "time-of-day");
	const xmlNode *k;
	struct dp_cond *c;
	int err = 0;

	c = mem_zalloc(sizeof(*c), cond_destructor);
	if (!c) {
		err = ENOMEM;
		goto out;
	}

	c->tod_from = c->tod_to = -1;
	err = locate(ld, n, &c->file, &c->line);
	if (err)
		goto out;

	if (field && (err = parse_field(ld, n, c, field)))
		goto out;

	if (field && !expr)
		add_error_at(ld, n, "<condition field=\"%s\"> needs an "
			     "expression", field);
	if (expr && !field)
		add_error_at(ld, n, "<condition expression=\"%s\"> needs a "
			     "field", expr);

	if (expr && field) {
		int code;
		PCRE2_SIZE off;

		err = str_dup(&c->expr, expr);
		if (err)
			goto out;

		c->re = pcre2_compile((PCRE2_SPTR)expr, PCRE2_ZERO_TERMINATED,
				      0, &code, &off, NULL);
		if (!c->re) {
			PCRE2_UCHAR buf[160];

			pcre2_get_error_message(code, buf, sizeof(buf));
			add_error_at(ld, n, "<condition expression=\"%s\">: "
				     "bad regular expression at offset %zu: %s",
				     expr, (size_t)off, buf);
		}
		else {
			(void)pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE);
			(void)pcre2_pattern_info(c->re, PCRE2_INFO_CAPTURECOUNT,
						 &c->ngroups);
		}
	}

	if (wday && !parse_wdays(wday, &c->wdays))
		add_error_at(ld, n, "<condition wday=\"%s\">: expected days "
			     "1-7 (1 = Sunday) as a list or ranges, e.g. 2-6",
			     wday);
	if (tod && !parse_tod(tod, &c->tod_from, &c->tod_to))
		add_error_at(ld, n, "<condition time-of-day=\"%s\">: expected "
			     "HH:MM-HH:MM", tod);

	if (!brk || !strcmp(brk, "on-false"))
		c->brk = DP_BREAK_ON_FALSE;
	else if (!strcmp(brk, "on-true"))
		c->brk = DP_BREAK_ON_TRUE;
	else if (!strcmp(brk, "always"))
		c->brk = DP_BREAK_ALWAYS;
	else
		c->brk = DP_BREAK_NEVER;

	for (k = n->children; k && !err; k = k->next) {
		if (is_elem(k, "action"))
			err = load_action(ld, k, c, false);
		else if (is_elem(k, "anti-action"))
			err = load_action(ld, k, c, true);
	}

	list_append(&ext->conds, &c->le, c);
	c = NULL;

 out:
	mem_deref(c);
	xmlFree(field);
	xmlFree(expr);
	xmlFree(brk);
	xmlFree(wday);
	xmlFree(tod);
	return err;
}


static int load_extension(struct loader *ld, const xmlNode *n,
			  struct dp_context *ctx)
{
	char *cont = attr(n, "continue");
	const xmlNode *k;
	struct dp_ext *e;
	int err;

	e = mem_zalloc(sizeof(*e), ext_destructor);
	if (!e) {
		xmlFree(cont);
		return ENOMEM;
	}

	e->cont = cont && !strcmp(cont, "true");
	xmlFree(cont);

	err  = attr_dup(&e->name, n, "name");
	err |= locate(ld, n, &e->file, &e->line);

	for (k = n->children; k && !err; k = k->next) {
		if (is_elem(k, "condition"))
			err = load_condition(ld, k, e);
	}

	if (err)
		mem_deref(e);
	else
		list_append(&ctx->exts, &e->le, e);

	return err;
}


static int load_context(struct loader *ld, const xmlNode *n)
{
	struct dialplan *dp = ld->cfg->dialplan;
	const struct dp_context *dup;
	struct dp_context *ctx;
	const xmlNode *k;
	int err;

	ctx = mem_zalloc(sizeof(*ctx), ctx_destructor);
	if (!ctx)
		return ENOMEM;

	err  = attr_dup(&ctx->name, n, "name");
	err |= locate(ld, n, &ctx->file, &ctx->line);
	if (err || !ctx->name)
		goto out;

	dup = dialplan_context(dp, ctx->name);
	if (dup) {
		add_error_at(ld, n, "duplicate context \"%s\" (first defined "
			     "at %s:%d)", ctx->name, dup->file, dup->line);
		goto out;
	}

	for (k = n->children; k && !err; k = k->next) {
		if (is_elem(k, "extension"))
			err = load_extension(ld, k, ctx);
	}
	if (err)
		goto out;

	dialplan_add_context(dp, ctx);
	ctx = NULL;

 out:
	mem_deref(ctx);
	return err;
}


static int load_test(struct loader *ld, const xmlNode *n)
{
	struct dp_test *t;
	int err;

	t = mem_zalloc(sizeof(*t), test_destructor);
	if (!t)
		return ENOMEM;

	err  = attr_dup(&t->context, n, "context");
	err |= attr_dup(&t->caller, n, "caller");
	err |= attr_dup(&t->destination, n, "destination_number");
	err |= attr_dup(&t->extension, n, "extension");
	err |= attr_dup(&t->actions, n, "actions");
	err |= attr_dup(&t->time, n, "time");
	err |= locate(ld, n, &t->file, &t->line);

	if (err)
		mem_deref(t);
	else
		list_append(&ld->cfg->dialplan->tests, &t->le, t);

	return err;
}


int dialplan_load(struct loader *ld, const xmlNode *dpn)
{
	const xmlNode *n;
	int err = 0;

	if (!ld->cfg->dialplan) {
		err = dialplan_alloc(&ld->cfg->dialplan);
		if (err)
			return err;
	}

	for (n = dpn->children; n && !err; n = n->next) {
		if (is_elem(n, "context"))
			err = load_context(ld, n);
		else if (is_elem(n, "test"))
			err = load_test(ld, n);
	}

	return err;
}

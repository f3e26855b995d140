/**
 * @file dialplan.c  The XML dialplan: objects, hunting, expansion
 */
#include <time.h>
#include "core.h"
#include "app.h"
#include "dialplan.h"
#include "dialplan_int.h"


static void dialplan_destructor(void *arg)
{
	struct dialplan *dp = arg;

	hash_flush(dp->contexts);
	mem_deref(dp->contexts);
	list_flush(&dp->tests);
	if (dp->md)
		pcre2_match_data_free(dp->md);
}


int dialplan_alloc(struct dialplan **dpp)
{
	struct dialplan *dp;
	int err;

	dp = mem_zalloc(sizeof(*dp), dialplan_destructor);
	if (!dp)
		return ENOMEM;

	err = hash_alloc(&dp->contexts, 32);
	if (err)
		goto out;

	dp->md = pcre2_match_data_create(DP_MAX_CAPTURES, NULL);
	if (!dp->md)
		err = ENOMEM;

 out:
	if (err)
		mem_deref(dp);
	else
		*dpp = dp;

	return err;
}


static bool context_cmp(struct le *le, void *arg)
{
	const struct dp_context *ctx = le->data;

	return 0 == strcmp(ctx->name, arg);
}


struct dp_context *dialplan_context(const struct dialplan *dp,
				    const char *name)
{
	struct le *le;

	if (!dp || !name)
		return NULL;

	le = hash_lookup(dp->contexts, hash_joaat_str(name), context_cmp,
			 (void *)name);

	return le ? le->data : NULL;
}


void dialplan_add_context(struct dialplan *dp, struct dp_context *ctx)
{
	hash_append(dp->contexts, hash_joaat_str(ctx->name), &ctx->he, ctx);
	++dp->ncontexts;
}


bool dialplan_has_context(const struct dialplan *dp, const char *name)
{
	return dialplan_context(dp, name) != NULL;
}


uint32_t dialplan_context_count(const struct dialplan *dp)
{
	return dp ? dp->ncontexts : 0;
}


int dialplan_max_capture(const char *s)
{
	int max = -1;

	for (; s && *s; s++) {
		if (s[0] == '$' && s[1] >= '0' && s[1] <= '9' &&
		    s[1] - '0' > max)
			max = s[1] - '0';
	}

	return max;
}


/* ---- hunting ---- */

static const char *field_name(const struct dp_cond *c)
{
	switch (c->field) {

	case DPF_DESTINATION_NUMBER: return "destination_number";
	case DPF_CALLER_ID_NUMBER:   return "caller_id_number";
	case DPF_CALLER_ID_NAME:     return "caller_id_name";
	case DPF_NETWORK_ADDR:       return "network_addr";
	case DPF_CONTEXT:            return "context";
	case DPF_VAR:                return c->var;
	default:                     return "";
	}
}


static const char *field_value(const struct dp_cond *c,
			       const struct dp_channel *ch)
{
	const char *v = NULL;

	switch (c->field) {

	case DPF_DESTINATION_NUMBER: v = ch->destination_number; break;
	case DPF_CALLER_ID_NUMBER:   v = ch->caller_id_number;   break;
	case DPF_CALLER_ID_NAME:     v = ch->caller_id_name;     break;
	case DPF_NETWORK_ADDR:       v = ch->network_addr;       break;
	case DPF_CONTEXT:            v = ch->context;            break;
	case DPF_VAR:
		v = ch->var ? ch->var(c->var, ch->arg) : NULL;
		break;
	default:
		break;
	}

	return v ? v : "";
}


static bool time_ok(const struct dp_cond *c, time_t now)
{
	struct tm tm;
	int mins;

	if (!c->wdays && c->tod_from < 0)
		return true;

	localtime_r(&now, &tm);

	/* wday: 1 = Sunday, as in the XML dialplan administrators know */
	if (c->wdays && !(c->wdays & (1u << (tm.tm_wday + 1))))
		return false;

	if (c->tod_from >= 0) {
		mins = tm.tm_hour * 60 + tm.tm_min;
		if (c->tod_from <= c->tod_to) {
			if (mins < c->tod_from || mins > c->tod_to)
				return false;
		}
		else if (mins < c->tod_from && mins > c->tod_to) {
			return false;     /* over midnight: 22:00-06:00 */
		}
	}

	return true;
}


/* data with $0..$9 replaced by the condition's captures */
static int substitute(char **outp, const char *data, const char *subject,
		      const PCRE2_SIZE *ov, uint32_t nmatch)
{
	struct mbuf *mb = mbuf_alloc(64);
	const char *p;
	int err = 0;

	if (!mb)
		return ENOMEM;

	for (p = data ? data : ""; *p && !err; p++) {
		uint32_t n;

		if (p[0] != '$' || p[1] < '0' || p[1] > '9') {
			err = mbuf_write_u8(mb, (uint8_t)*p);
			continue;
		}

		n = (uint32_t)(p[1] - '0');
		if (ov && n < nmatch && ov[2 * n] != PCRE2_UNSET)
			err = mbuf_write_mem(mb, (const uint8_t *)subject +
					     ov[2 * n],
					     ov[2 * n + 1] - ov[2 * n]);
		++p;
	}

	if (!err) {
		mb->pos = 0;
		err = mbuf_strdup(mb, outp, mb->end);
	}

	mem_deref(mb);
	return err;
}


static void step_destructor(void *arg)
{
	struct dp_step *s = arg;

	list_unlink(&s->le);
	mem_deref(s->data);
}


static int add_steps(struct list *steps, const struct list *actions,
		     bool anti, const struct dp_ext *ext, const char *subject,
		     const PCRE2_SIZE *ov, uint32_t nmatch)
{
	struct le *le;
	int err = 0;

	for (le = actions->head; le && !err; le = le->next) {
		const struct dp_action *a = le->data;
		struct dp_step *s;

		s = mem_zalloc(sizeof(*s), step_destructor);
		if (!s)
			return ENOMEM;

		s->app = a->app;
		s->anti = anti;
		s->extension = ext->name;
		s->file = a->file;
		s->line = a->line;
		err = substitute(&s->data, a->data, subject, ov, nmatch);
		list_append(steps, &s->le, s);
	}

	return err;
}


static bool eval(const struct dialplan *dp, const struct dp_cond *c,
		 const struct dp_channel *ch, const char **subjectp,
		 uint32_t *nmatchp)
{
	const char *subject = field_value(c, ch);
	int rc;

	*subjectp = subject;
	*nmatchp = 0;

	if (!time_ok(c, ch->now))
		return false;

	if (!c->re)
		return true;

	rc = pcre2_match(c->re, (PCRE2_SPTR)subject, strlen(subject), 0, 0,
			 dp->md, NULL);
	if (rc < 0)
		return false;

	*nmatchp = rc ? (uint32_t)rc : DP_MAX_CAPTURES;
	return true;
}


static int trace_cond(struct mbuf *trace, const struct dp_ext *ext,
		      const struct dp_cond *c, const char *subject, bool ok)
{
	int err;

	if (!trace)
		return 0;

	err = mbuf_printf(trace, "%s:%d extension \"%s\": ", c->file, c->line,
			  ext->name);
	if (c->field != DPF_NONE)
		err |= mbuf_printf(trace, "%s \"%s\" =~ /%s/", field_name(c),
				   subject, c->expr ? c->expr : "");
	if (c->wdays || c->tod_from >= 0)
		err |= mbuf_printf(trace, "%s(day/time)",
				   c->field != DPF_NONE ? " and " : "");
	err |= mbuf_printf(trace, " -> %s\n", ok ? "true" : "false");

	return err;
}


int dialplan_hunt(const struct dialplan *dp, const struct dp_channel *ch,
		  struct list *steps, const char **extp, struct mbuf *trace)
{
	const struct dp_context *ctx;
	const char *last_match = NULL;
	struct le *le;
	int err = 0;

	if (!dp || !ch || !steps)
		return EINVAL;

	if (extp)
		*extp = NULL;

	ctx = dialplan_context(dp, ch->context);
	if (!ctx)
		return ENOENT;

	for (le = ctx->exts.head; le && !err; le = le->next) {
		const struct dp_ext *ext = le->data;
		bool proceed = true;
		struct le *cle;

		for (cle = ext->conds.head; cle && !err; cle = cle->next) {
			const struct dp_cond *c = cle->data;
			const char *subject;
			uint32_t nmatch;
			bool ok;

			ok = eval(dp, c, ch, &subject, &nmatch);
			err = trace_cond(trace, ext, c, subject, ok);

			if (ok)
				err |= add_steps(steps, &c->actions, false,
						 ext, subject, c->re ?
						 pcre2_get_ovector_pointer(
							 dp->md) : NULL,
						 nmatch);
			else
				err |= add_steps(steps, &c->anti, true, ext,
						 subject, NULL, 0);

			proceed = ok;

			if (c->brk == DP_BREAK_ALWAYS ||
			    (c->brk == DP_BREAK_ON_FALSE && !ok) ||
			    (c->brk == DP_BREAK_ON_TRUE && ok))
				break;
		}

		if (!proceed)
			continue;

		last_match = ext->name;
		if (!ext->cont)
			break;
	}

	if (extp)
		*extp = last_match;

	return err;
}


/* ---- run-time expansion ---- */

int dialplan_expand_vars(char **outp, const char *data,
			 const struct dp_channel *ch)
{
	struct mbuf *mb = mbuf_alloc(64);
	const char *p, *end;
	int err = 0;

	if (!mb)
		return ENOMEM;

	for (p = data ? data : ""; *p && !err; p++) {
		char name[128];
		const char *v;
		size_t n;

		if (p[0] != '$' || p[1] != '{' || !(end = strchr(p, '}'))) {
			err = mbuf_write_u8(mb, (uint8_t)*p);
			continue;
		}

		n = (size_t)(end - p - 2);
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, p + 2, n);
		name[n] = '\0';

		v = ch && ch->var ? ch->var(name, ch->arg) : NULL;
		if (!v && ch) {
			/* the channel fields are variables too */
			if (!strcmp(name, "destination_number"))
				v = ch->destination_number;
			else if (!strcmp(name, "caller_id_number"))
				v = ch->caller_id_number;
			else if (!strcmp(name, "caller_id_name"))
				v = ch->caller_id_name;
			else if (!strcmp(name, "network_addr"))
				v = ch->network_addr;
			else if (!strcmp(name, "context"))
				v = ch->context;
		}
		if (v)
			err = mbuf_write_str(mb, v);
		p = end;
	}

	if (!err) {
		mb->pos = 0;
		err = mbuf_strdup(mb, outp, mb->end);
	}

	mem_deref(mb);
	return err;
}

/**
 * @file config.c  Configuration object: defaults, lookups, errors
 *
 * The defaults live here, in one place; the shipped etc/switchboard.xml
 * documents each of them where the setting appears.
 */
#include <stdarg.h>
#include <stdlib.h>
#include "core.h"
#include "config.h"
#include "dialplan.h"
#include "codec.h"


static void config_destructor(void *arg)
{
	struct config *cfg = arg;

	mem_deref(cfg->dialplan);
	list_flush(&cfg->groups);
	list_flush(&cfg->trunks);
	list_flush(&cfg->tgroups);
	hash_flush(cfg->users);   /* users are on both lists; hash owns */
	mem_deref(cfg->users);
	list_clear(&cfg->userl);
	list_flush(&cfg->listens);
	mem_deref(cfg->confdir);
	mem_deref(cfg->file);
	mem_deref(cfg->domain);
	mem_deref(cfg->voicemail.mail_command);
	mem_deref(cfg->voicemail.mail_from);
}


int config_alloc(struct config **cfgp, const char *confdir)
{
	static const char *const defcodecs[] = {"opus", "G722", "PCMU",
						"PCMA"};
	struct config *cfg;
	size_t i;
	int err;

	cfg = mem_zalloc(sizeof(*cfg), config_destructor);
	if (!cfg)
		return ENOMEM;

	err  = str_dup(&cfg->confdir, confdir);
	err |= re_sdprintf(&cfg->file, "%s/switchboard.xml", confdir);
	err |= hash_alloc(&cfg->users, 256);
	if (err)
		goto out;

	/* RFC 3261 10.3 step 7 leaves the numbers to us; these are what
	 * desk phones cope with. */
	cfg->registrar.min_expires     = 60;
	cfg->registrar.max_expires     = 3600;
	cfg->registrar.default_expires = 3600;
	/* libre closes idle TCP/TLS connections after 900 s */
	cfg->registrar.tcp_max_expires = 840;
	cfg->registrar.max_contacts    = 10;

	cfg->auth.algov[0]       = DIGEST_MD5;
	cfg->auth.algoc          = 1;
	cfg->auth.nonce_lifetime = 300;
	cfg->auth.max_failures   = 5;
	cfg->auth.failure_window = 60;
	cfg->auth.lockout        = 300;

	cfg->log_level = LOG_LEVEL_INFO;

	cfg->media.port_min   = 20000;
	cfg->media.port_max   = 30000;
	cfg->media.timeout_ms = 60000;
	cfg->calls.timeout    = 30;
	cfg->voicemail.max_messages = 100;
	cfg->voicemail.max_length   = 180;
	cfg->voicemail.silence      = 5;
	cfg->voicemail.mail_retry   = 60;

	/* wideband first: two HD phones talk HD; a shared codec is always
	 * preferred to transcoding (sdpneg.h) */
	for (i = 0; i < sizeof(defcodecs) / sizeof(defcodecs[0]); i++) {
		const struct codec *c = codec_find(defcodecs[i]);

		if (c)
			cfg->media.codecs.v[cfg->media.codecs.n++] = c;
	}

	/* an empty dialplan when the config has none */
	err = dialplan_alloc(&cfg->dialplan);
	if (err)
		goto out;

 out:
	if (err)
		mem_deref(cfg);
	else
		*cfgp = cfg;

	return err;
}


static bool user_cmp(struct le *le, void *arg)
{
	const struct config_user *u = le->data;
	const struct pl *id = arg;

	return 0 == pl_strcmp(id, u->id);
}


const struct config_user *config_user_find(const struct config *cfg,
					   const struct pl *id)
{
	struct le *le;

	if (!cfg || !pl_isset(id))
		return NULL;

	le = hash_lookup(cfg->users, hash_joaat(
				 (const uint8_t *)id->p, id->l),
			 user_cmp, (void *)id);

	return le ? le->data : NULL;
}


const struct config_group *config_group_find(const struct config *cfg,
					     const char *id)
{
	struct le *le;

	for (le = cfg ? cfg->groups.head : NULL; le; le = le->next) {
		const struct config_group *g = le->data;
		if (!strcmp(g->id, id))
			return g;
	}

	return NULL;
}


int config_duration_ms(uint64_t *msp, const char *s)
{
	char *end;
	unsigned long long v;
	uint64_t mul;

	if (!msp || !s || !*s)
		return EINVAL;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return EINVAL;

	if (!*end || !strcmp(end, "s"))
		mul = 1000;
	else if (!strcmp(end, "ms"))
		mul = 1;
	else if (!strcmp(end, "m"))
		mul = 60 * 1000;
	else if (!strcmp(end, "h"))
		mul = 3600 * 1000;
	else
		return EINVAL;

	if (v > UINT64_MAX / mul / 1000)
		return ERANGE;

	*msp = v * mul;
	return 0;
}


static void error_destructor(void *arg)
{
	struct config_error *e = arg;

	list_unlink(&e->le);
	mem_deref(e->file);
	mem_deref(e->msg);
}


int config_error_add(struct list *errl, const char *file, int line,
		     const char *fmt, ...)
{
	struct config_error *e;
	va_list ap;
	int err;

	e = mem_zalloc(sizeof(*e), error_destructor);
	if (!e)
		return ENOMEM;

	e->line = line;
	err = str_dup(&e->file, file ? file : "?");

	va_start(ap, fmt);
	err |= re_vsdprintf(&e->msg, fmt, ap);
	va_end(ap);

	if (err) {
		mem_deref(e);
		return err;
	}

	list_append(errl, &e->le, e);
	return 0;
}


int config_errors_print(struct re_printf *pf, const struct list *errl)
{
	struct le *le;
	int err = 0;

	for (le = list_head(errl); le; le = le->next) {
		const struct config_error *e = le->data;

		err |= re_hprintf(pf, "%s:%d: %s\n", e->file, e->line, e->msg);
	}

	return err;
}


const struct codec_list *config_user_codecs(const struct config *cfg,
					    const struct config_user *u)
{
	return u && u->codecs.n ? &u->codecs : &cfg->media.codecs;
}


bool codec_list_has(const struct codec_list *l, const struct codec *c)
{
	unsigned i;

	for (i = 0; l && i < l->n; i++) {
		if (l->v[i] == c)
			return true;
	}

	return false;
}


const struct config_trunk *config_trunk_find(const struct config *cfg,
					     const char *name)
{
	struct le *le;

	for (le = cfg && name ? cfg->trunks.head : NULL; le; le = le->next) {
		const struct config_trunk *t = le->data;

		if (!strcmp(t->name, name))
			return t;
	}

	return NULL;
}


const char *cos_name(enum cos c)
{
	switch (c) {
	case COS_INTERNAL:      return "internal";
	case COS_LOCAL:         return "local";
	case COS_INTERNATIONAL: return "international";
	default:                return "national";
	}
}


const struct config_tgroup *config_tgroup_find(const struct config *cfg,
					       const char *name)
{
	struct le *le;

	for (le = cfg && name ? cfg->tgroups.head : NULL; le; le = le->next) {
		const struct config_tgroup *g = le->data;

		if (!strcmp(g->name, name))
			return g;
	}

	return NULL;
}

/**
 * @file config_trunk.c  The <trunks> section: providers the PBX reaches
 *
 * Each <trunk> becomes a struct config_trunk; what the schema cannot say
 * is checked here with FILE:LINE: names are unique, registration needs
 * credentials, cert and ca go with TLS only (and a TLS trunk needs a CA:
 * a provider whose certificate is checked against nothing is not
 * authenticated), the from addresses are IPs.
 */
#include <stdlib.h>
#include <libxml/tree.h>
#include "core.h"
#include "config.h"
#include "config_int.h"


static void trunk_destructor(void *arg)
{
	struct config_trunk *t = arg;

	list_unlink(&t->le);
	mem_deref(t->name);
	mem_deref(t->host);
	mem_deref(t->username);
	mem_deref(t->password);
	mem_deref(t->cert);
	mem_deref(t->ca);
	mem_deref(t->context);
	mem_deref(t->country_code);
	mem_deref(t->area_code);
	mem_deref(t->intl_prefix);
	mem_deref(t->natl_prefix);
	mem_deref(t->caller_id);
	mem_deref(t->user);
	mem_deref(t->file);
}


static void user_destructor(void *arg)
{
	struct config_user *u = arg;

	mem_deref(u->id);
	mem_deref(u->name);
	mem_deref(u->context);
	mem_deref(u->file);
}


/* The trunk as the caller of its inbound calls */
static int make_user(struct config_trunk *t)
{
	struct config_user *u = mem_zalloc(sizeof(*u), user_destructor);
	int err;

	if (!u)
		return ENOMEM;

	err  = re_sdprintf(&u->id, "trunk/%s", t->name);
	err |= re_sdprintf(&u->name, "trunk %s", t->name);
	err |= str_dup(&u->context, t->context);
	err |= str_dup(&u->file, t->file);
	u->line = t->line;
	u->codecs = t->codecs;
	u->cos = COS_INTERNAL;          /* no call from a trunk to a trunk */

	if (err)
		mem_deref(u);
	else
		t->user = u;

	return err;
}


static void load_from(struct loader *ld, const xmlNode *n,
		      struct config_trunk *t)
{
	char *v = attr(n, "from"), *tok, *save = NULL, *p;

	/* the host itself, when it is an address */
	if (sa_set_str(&t->from[0], t->host, 0) == 0)
		t->nfrom = 1;

	if (!v)
		return;

	for (p = v; (tok = strtok_r(p, " ,\t", &save)); p = NULL) {
		struct sa a;

		if (sa_set_str(&a, tok, 0)) {
			add_error_at(ld, n, "from: \"%s\" is not an IP address",
				     tok);
			continue;
		}
		if (t->nfrom == TRUNK_FROM_MAX) {
			add_error_at(ld, n, "from: at most %u addresses",
				     TRUNK_FROM_MAX);
			break;
		}
		t->from[t->nfrom++] = a;
	}

	xmlFree(v);
}


static int load_trunk(struct loader *ld, const xmlNode *n)
{
	struct config *cfg = ld->cfg;
	struct config_trunk *t;
	xmlChar *file;
	char *v;
	int err;

	t = mem_zalloc(sizeof(*t), trunk_destructor);
	if (!t)
		return ENOMEM;

	t->tp = SIP_TRANSP_TCP;
	t->expires = 600;

	err  = attr_dup(&t->name, n, "name");
	err |= attr_dup(&t->host, n, "host");
	err |= attr_dup(&t->username, n, "username");
	err |= attr_dup(&t->password, n, "password");
	err |= attr_dup(&t->context, n, "context");
	err |= attr_dup(&t->country_code, n, "country-code");
	err |= attr_dup(&t->area_code, n, "area-code");
	err |= attr_dup(&t->intl_prefix, n, "international-prefix");
	err |= attr_dup(&t->natl_prefix, n, "national-prefix");
	err |= attr_dup(&t->caller_id, n, "caller-id");
	err |= attr_file(ld, n, "cert", &t->cert);
	err |= attr_file(ld, n, "ca", &t->ca);
	file = node_file(n, cfg->file);
	err |= str_dup(&t->file, (const char *)file);
	xmlFree(file);
	t->line = node_line(n);
	if (!err && !t->context)
		err = str_dup(&t->context, "from-trunk");
	if (!err && !t->intl_prefix)
		err = str_dup(&t->intl_prefix, "00");
	if (!err && !t->natl_prefix)
		err = str_dup(&t->natl_prefix, "0");
	if (err || !t->name || !t->host) {
		mem_deref(t);
		return err ? err : EINVAL;
	}

	v = attr(n, "transport");
	t->tp_set = v != NULL;
	if (v)
		t->tp = !strcmp(v, "udp") ? SIP_TRANSP_UDP :
			!strcmp(v, "tls") ? SIP_TRANSP_TLS : SIP_TRANSP_TCP;
	xmlFree(v);

	v = attr(n, "local");
	if (v && sa_decode(&t->local, v, strlen(v)))
		add_error_at(ld, n, "local=\"%s\": not an IP:port", v);
	xmlFree(v);

	v = attr(n, "port");
	if (v)
		t->port = (uint16_t)atoi(v);
	xmlFree(v);

	attr_yesno(n, "register", &t->reg);
	attr_yesno(n, "pai", &t->pai);
	attr_seconds(ld, n, "expires", &t->expires);
	attr_seconds(ld, n, "ping", &t->ping);
	attr_count(ld, n, "max-calls", &t->max_calls);
	attr_codecs(ld, n, &t->codecs);
	load_from(ld, n, t);
	err = make_user(t);
	if (err) {
		mem_deref(t);
		return err;
	}

	if (config_trunk_find(cfg, t->name)) {
		const struct config_trunk *o = config_trunk_find(cfg, t->name);

		add_error_at(ld, n, "duplicate trunk name \"%s\" (first "
			     "defined at %s:%d)", t->name, o->file, o->line);
	}
	if (t->reg && (!t->username || !t->password))
		add_error_at(ld, n, "trunk %s: register=\"yes\" needs username "
			     "and password", t->name);
	if (t->tp != SIP_TRANSP_TLS && (t->cert || t->ca))
		add_error_at(ld, n, "trunk %s: cert and ca apply to "
			     "transport=\"tls\" only", t->name);
	if (t->tp != SIP_TRANSP_TLS && sa_isset(&t->local, SA_ADDR))
		add_error_at(ld, n, "trunk %s: local applies to "
			     "transport=\"tls\" only", t->name);
	if (t->tp == SIP_TRANSP_TLS && !t->ca)
		add_error_at(ld, n, "trunk %s: transport=\"tls\" needs "
			     "ca=\"FILE\" (the provider's certificate is "
			     "checked against it)", t->name);
	if (t->expires && t->expires < 60)
		add_error_at(ld, n, "trunk %s: expires under 60 s",
			     t->name);

	list_append(&cfg->trunks, &t->le, t);
	return 0;
}


static void tgroup_destructor(void *arg)
{
	struct config_tgroup *g = arg;

	list_unlink(&g->le);
	mem_deref(g->name);
	mem_deref(g->trunks);
}


static int load_tgroup(struct loader *ld, const xmlNode *n)
{
	struct config_tgroup *g;
	int err;

	g = mem_zalloc(sizeof(*g), tgroup_destructor);
	if (!g)
		return ENOMEM;

	err  = attr_dup(&g->name, n, "name");
	err |= attr_dup(&g->trunks, n, "trunks");
	if (err || !g->name || !g->trunks) {
		mem_deref(g);
		return err ? err : EINVAL;
	}

	if (config_tgroup_find(ld->cfg, g->name))
		add_error_at(ld, n, "duplicate trunk group \"%s\"", g->name);

	list_append(&ld->cfg->tgroups, &g->le, g);
	return 0;
}


/* every member of every group is a trunk (in any order in the file) */
static void check_tgroups(struct loader *ld, const xmlNode *trunks)
{
	const xmlNode *n;

	for (n = trunks->children; n; n = n->next) {
		char *v, *tok, *save = NULL, *p;

		if (!is_elem(n, "group"))
			continue;
		v = attr(n, "trunks");
		for (p = v; v && (tok = strtok_r(p, " \t", &save)); p = NULL) {
			if (!config_trunk_find(ld->cfg, tok))
				add_error_at(ld, n, "trunk group: %s is not a "
					     "trunk", tok);
		}
		xmlFree(v);
	}
}


int config_load_trunks(struct loader *ld, const xmlNode *trunks)
{
	const xmlNode *n;
	int err = 0;

	for (n = trunks->children; n && !err; n = n->next) {
		if (is_elem(n, "trunk"))
			err = load_trunk(ld, n);
		else if (is_elem(n, "group"))
			err = load_tgroup(ld, n);
	}

	if (!err)
		check_tgroups(ld, trunks);

	return err;
}

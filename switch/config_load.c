/**
 * @file config_load.c  Read CONFDIR/switchboard.xml into a struct config
 *
 * Three passes, all of which report "FILE:LINE: message":
 *   1. parse with XInclude (a fault in an included file names that file);
 *   2. RelaxNG validation against the embedded etc/schema/switchboard.rng
 *      (unknown elements and attributes, value formats);
 *   3. semantic checks while building the config (duplicate ids, addresses,
 *      files that must exist, ranges).
 *
 * libxml2 reports errors in included content against the parent document
 * (LIBRARY-NOTES.md 5), but it keeps the included nodes' own line numbers
 * and leaves XINCLUDE_START/END marker nodes around them. node_file() walks
 * back to the nearest enclosing marker to name the right file.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <libxml/xinclude.h>
#include <libxml/relaxng.h>
#include "core.h"
#include "config.h"
#include "codec.h"
#include "config_schema.h"
#include "config_int.h"

extern const char schema_rng[];
extern const size_t schema_rng_len;

enum {
	XML_FLAGS = XML_PARSE_NONET | XML_PARSE_NOBASEFIX | XML_PARSE_BIG_LINES
};




static xmlChar *marker_href(const xmlNode *start)
{
	const xmlAttr *a;

	for (a = start->properties; a; a = a->next) {
		if (!xmlStrcmp(a->name, (const xmlChar *)"href"))
			return xmlNodeListGetString(start->doc, a->children,
						    1);
	}

	return NULL;
}


/* Returns an xmlMalloc'd path of the file that node came from. */
xmlChar *node_file(const xmlNode *node, const char *mainfile)
{
	const xmlNode *n, *s;

	for (n = node; n && n->type != XML_DOCUMENT_NODE; n = n->parent) {
		int depth = 0;

		for (s = n->prev; s; s = s->prev) {

			if (s->type == XML_XINCLUDE_END) {
				++depth;
			}
			else if (s->type == XML_XINCLUDE_START) {
				xmlChar *href, *base, *uri;

				if (depth) {
					--depth;
					continue;
				}

				/* xmlGetProp() ignores non-element nodes */
				href = marker_href(s);
				base = node_file(s, mainfile);
				uri  = href ? xmlBuildURI(href, base) : NULL;
				xmlFree(href);
				if (uri) {
					xmlFree(base);
					return uri;
				}
				return base;
			}
		}
	}

	return xmlStrdup((const xmlChar *)mainfile);
}


int node_line(const xmlNode *node)
{
	long line = node ? xmlGetLineNo(node) : 0;

	return line > 0 ? (int)line : 0;
}


void add_error_at(struct loader *ld, const xmlNode *node,
			 const char *fmt, ...)
{
	xmlChar *file = node_file(node, ld->cfg->file);
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsdprintf(&msg, fmt, ap);
	va_end(ap);

	(void)config_error_add(ld->errl, (const char *)file, node_line(node),
			       "%s", msg ? msg : "error");
	mem_deref(msg);
	xmlFree(file);
	++ld->nerr;
}


/* Parser and XInclude errors: libxml2 knows file and line itself. */
static void parse_error_handler(void *arg, xmlErrorPtr e)
{
	struct loader *ld = arg;
	char msg[512];
	size_t n;

	if (!e || e->level == XML_ERR_WARNING)
		return;

	str_ncpy(msg, e->message ? e->message : "error", sizeof(msg));
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';

	/* An XInclude error sits on the xi:include element of the parent */
	if (e->node && e->domain == XML_FROM_XINCLUDE) {
		add_error_at(ld, e->node, "%s", msg);
		return;
	}

	(void)config_error_add(ld->errl, e->file ? e->file : ld->cfg->file,
			       e->line, "%s", msg);
	++ld->nerr;
}


static void valid_error_handler(void *arg, xmlErrorPtr e)
{
	struct loader *ld = arg;
	char msg[512];
	size_t n;

	if (!e)
		return;

	str_ncpy(msg, e->message ? e->message : "invalid", sizeof(msg));
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';

	if (e->node) {
		add_error_at(ld, e->node, "%s", msg);
		return;
	}

	(void)config_error_add(ld->errl, e->file ? e->file : ld->cfg->file,
			       e->line, "%s", msg);
	++ld->nerr;
}


static void schema_err_handler(const xmlNode *node, const char *msg,
			       void *arg)
{
	add_error_at(arg, node, "%s", msg);
}


static int validate(struct loader *ld)
{
	xmlRelaxNGParserCtxtPtr pctx;
	xmlRelaxNGValidCtxtPtr vctx = NULL;
	xmlRelaxNGPtr schema = NULL;
	struct schema *sch = NULL;
	int r, err = 0;

	/* First our own walk over the same schema, for messages that name
	 * the element and attribute; then libxml2's validator as a
	 * backstop for what the walk does not cover. */
	err = schema_alloc(&sch, schema_rng, schema_rng_len);
	if (err) {
		log_error("config: the built-in schema does not load: %m",
			  err);
		return err;
	}
	r = schema_check(sch, ld->doc, schema_err_handler, ld);
	mem_deref(sch);
	if (r)
		return EINVAL;

	pctx = xmlRelaxNGNewMemParserCtxt(schema_rng, (int)schema_rng_len);
	if (!pctx)
		return ENOMEM;

	schema = xmlRelaxNGParse(pctx);
	if (!schema) {
		log_error("config: the built-in schema does not compile");
		err = EPROTO;
		goto out;
	}

	vctx = xmlRelaxNGNewValidCtxt(schema);
	if (!vctx) {
		err = ENOMEM;
		goto out;
	}

	xmlRelaxNGSetValidStructuredErrors(vctx, valid_error_handler, ld);

	r = xmlRelaxNGValidateDoc(vctx, ld->doc);
	if (r != 0) {
		if (!ld->nerr)
			add_error_at(ld, xmlDocGetRootElement(ld->doc),
				     "does not match the schema");
		err = EINVAL;
	}

 out:
	if (vctx)
		xmlRelaxNGFreeValidCtxt(vctx);
	if (schema)
		xmlRelaxNGFree(schema);
	xmlRelaxNGFreeParserCtxt(pctx);
	return err;
}


/* ---- semantic pass ---- */

bool is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
		0 == xmlStrcmp(n->name, (const xmlChar *)name);
}


/* Attribute value or NULL; the caller xmlFree()s it. */
char *attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetProp((xmlNode *)n, (const xmlChar *)name);
}


int attr_dup(char **dst, const xmlNode *n, const char *name)
{
	char *v = attr(n, name);
	int err = 0;

	if (v) {
		mem_deref(*dst);
		*dst = NULL;
		err = str_dup(dst, v);
		xmlFree(v);
	}

	return err;
}


/* A duration attribute in whole seconds (sub-second values round up). */
void attr_seconds(struct loader *ld, const xmlNode *n, const char *name,
		  uint32_t *valp)
{
	char *v = attr(n, name);
	uint64_t ms;

	if (!v)
		return;

	if (config_duration_ms(&ms, v) || ms / 1000 > UINT32_MAX)
		add_error_at(ld, n, "%s=\"%s\": not a duration", name, v);
	else
		*valp = (uint32_t)((ms + 999) / 1000);

	xmlFree(v);
}


void attr_count(struct loader *ld, const xmlNode *n, const char *name,
		uint32_t *valp)
{
	char *v = attr(n, name), *end;
	unsigned long long u;

	if (!v)
		return;

	errno = 0;
	u = strtoull(v, &end, 10);
	if (errno || *end || end == v || u > UINT32_MAX)
		add_error_at(ld, n, "%s=\"%s\": not a count", name, v);
	else
		*valp = (uint32_t)u;

	xmlFree(v);
}


/* Resolve a path relative to CONFDIR and check that it can be read. */
int attr_file(struct loader *ld, const xmlNode *n, const char *name,
	      char **pathp)
{
	char *v = attr(n, name);
	int err;

	if (!v)
		return 0;

	if (v[0] == '/')
		err = str_dup(pathp, v);
	else
		err = re_sdprintf(pathp, "%s/%s", ld->cfg->confdir, v);

	if (!err && access(*pathp, R_OK) != 0)
		add_error_at(ld, n, "%s=\"%s\": cannot read %s: %m", name, v,
			     *pathp, errno);

	xmlFree(v);
	return err;
}


static void listen_destructor(void *arg)
{
	struct config_listen *l = arg;

	list_unlink(&l->le);
	mem_deref(l->cert);
	mem_deref(l->ca);
}


static int load_listen(struct loader *ld, const xmlNode *n)
{
	struct config_listen *l;
	char *tp = attr(n, "transport"), *addr = attr(n, "address");
	char *vc = attr(n, "verify-client");
	struct le *le;
	int err = 0;

	l = mem_zalloc(sizeof(*l), listen_destructor);
	if (!l) {
		err = ENOMEM;
		goto out;
	}

	if (tp && !strcmp(tp, "tcp"))
		l->tp = SIP_TRANSP_TCP;
	else if (tp && !strcmp(tp, "tls"))
		l->tp = SIP_TRANSP_TLS;
	else
		l->tp = SIP_TRANSP_UDP;

	if (!addr || sa_decode(&l->addr, addr, strlen(addr)) ||
	    !sa_port(&l->addr)) {
		add_error_at(ld, n, "address=\"%s\": not an IP:port",
			     addr ? addr : "");
		goto out;
	}

	/* LIBRARY-NOTES 1.1: libre takes Via/Contact from the bound
	 * address, so a wildcard would advertise 0.0.0.0. */
	if (sa_is_any(&l->addr))
		add_error_at(ld, n, "address=\"%s\": bind to a concrete IP "
			     "address, not a wildcard", addr);

	err  = attr_file(ld, n, "cert", &l->cert);
	err |= attr_file(ld, n, "ca", &l->ca);
	if (err)
		goto out;

	l->verify_client = vc && !strcmp(vc, "yes");

	if (l->tp == SIP_TRANSP_TLS && !l->cert)
		add_error_at(ld, n, "a tls listener needs cert=\"FILE\" "
			     "(certificate chain and key in one PEM)");
	if (l->tp != SIP_TRANSP_TLS && (l->cert || l->ca))
		add_error_at(ld, n, "cert and ca apply to tls listeners only");
	if (l->verify_client && !l->ca)
		add_error_at(ld, n, "verify-client=\"yes\" needs ca=\"FILE\"");

	for (le = ld->cfg->listens.head; le; le = le->next) {
		const struct config_listen *o = le->data;

		if (o->tp == l->tp && sa_cmp(&o->addr, &l->addr, SA_ALL))
			add_error_at(ld, n, "duplicate %s listener on %J",
				     tp ? tp : "udp", &l->addr);
		/* TCP and TLS share the port space */
		else if (o->tp != SIP_TRANSP_UDP && l->tp != SIP_TRANSP_UDP &&
			 sa_cmp(&o->addr, &l->addr, SA_ALL))
			add_error_at(ld, n, "tcp and tls cannot share %J",
				     &l->addr);
	}

	list_append(&ld->cfg->listens, &l->le, l);
	l = NULL;

 out:
	mem_deref(l);
	xmlFree(tp);
	xmlFree(addr);
	xmlFree(vc);
	return err;
}


static void load_auth(struct loader *ld, const xmlNode *n)
{
	struct config *cfg = ld->cfg;
	char *algs = attr(n, "algorithms");

	if (algs) {
		struct pl pl, word;

		pl_set_str(&pl, algs);
		cfg->auth.algoc = 0;

		while (!re_regex(pl.p, pl.l, "[^ \t]+", &word)) {
			enum digest_algo a;
			size_t i;
			bool dup = false;

			a = pl_strcasecmp(&word, "SHA-256") ? DIGEST_MD5
				: DIGEST_SHA256;
			for (i = 0; i < cfg->auth.algoc; i++)
				dup |= cfg->auth.algov[i] == a;

			if (dup)
				add_error_at(ld, n, "algorithm %r listed twice",
					     &word);
			else if (cfg->auth.algoc < DIGEST_ALGOC)
				cfg->auth.algov[cfg->auth.algoc++] = a;

			pl_advance(&pl, word.p + word.l - pl.p);
		}

		xmlFree(algs);
	}

	attr_seconds(ld, n, "nonce-lifetime", &cfg->auth.nonce_lifetime);
	attr_count(ld, n, "max-failures", &cfg->auth.max_failures);
	attr_seconds(ld, n, "failure-window", &cfg->auth.failure_window);
	attr_seconds(ld, n, "lockout", &cfg->auth.lockout);

	if (!cfg->auth.nonce_lifetime)
		add_error_at(ld, n, "nonce-lifetime must be at least 1s");
	/* lockout.c keeps the times of the last max-failures failures */
	if (cfg->auth.max_failures < 1 || cfg->auth.max_failures > 100)
		add_error_at(ld, n, "max-failures must be from 1 to 100");
	if (!cfg->auth.failure_window)
		add_error_at(ld, n, "failure-window must be at least 1s");
}


static void load_registrar(struct loader *ld, const xmlNode *n)
{
	struct config *cfg = ld->cfg;

	attr_seconds(ld, n, "min-expires", &cfg->registrar.min_expires);
	attr_seconds(ld, n, "max-expires", &cfg->registrar.max_expires);
	attr_seconds(ld, n, "default-expires",
		     &cfg->registrar.default_expires);
	attr_seconds(ld, n, "tcp-max-expires",
		     &cfg->registrar.tcp_max_expires);
	attr_count(ld, n, "max-contacts", &cfg->registrar.max_contacts);

	if (cfg->registrar.min_expires > cfg->registrar.max_expires)
		add_error_at(ld, n, "min-expires is above max-expires");
	if (cfg->registrar.default_expires < cfg->registrar.min_expires ||
	    cfg->registrar.default_expires > cfg->registrar.max_expires)
		add_error_at(ld, n, "default-expires must lie between "
			     "min-expires and max-expires");
	if (!cfg->registrar.max_contacts)
		add_error_at(ld, n, "max-contacts must be at least 1");
}


void attr_yesno(const xmlNode *n, const char *name, bool *valp)
{
	char *v = attr(n, name);

	if (v)
		*valp = !strcmp(v, "yes");
	xmlFree(v);
}


/* "opus PCMU" (spaces or commas) into l; unknown names are errors */
void attr_codecs(struct loader *ld, const xmlNode *n, struct codec_list *l)
{
	char *v = attr(n, "codecs"), *tok, *save = NULL, *p;

	if (!v)
		return;

	l->n = 0;
	for (p = v; (tok = strtok_r(p, " ,\t", &save)); p = NULL) {
		const struct codec *c = codec_find(tok);

		if (!c) {
			add_error_at(ld, n, "codecs: unknown codec \"%s\" "
				     "(known: opus G722 PCMU PCMA)", tok);
			continue;
		}
		if (codec_list_has(l, c))
			continue;
		if (l->n == CODEC_LIST_MAX)
			break;
		l->v[l->n++] = c;
	}

	if (!l->n)
		add_error_at(ld, n, "codecs=\"%s\": no codec", v);

	xmlFree(v);
}


static void load_media(struct loader *ld, const xmlNode *n)
{
	struct config *cfg = ld->cfg;
	char *addr = attr(n, "address"), *ports = attr(n, "ports");
	unsigned lo, hi;

	if (addr && sa_set_str(&cfg->media.addr, addr, 0))
		add_error_at(ld, n, "address=\"%s\": not an IP address", addr);

	if (ports) {
		if (sscanf(ports, "%u-%u", &lo, &hi) != 2 || lo < 1024 ||
		    hi > 65535 || hi < lo + 3)
			add_error_at(ld, n, "ports=\"%s\": expected LOW-HIGH "
				     "within 1024-65535 (RTP takes an even "
				     "port and the next one)", ports);
		else {
			cfg->media.port_min = (uint16_t)lo;
			cfg->media.port_max = (uint16_t)hi;
		}
	}

	{
		uint32_t secs = cfg->media.timeout_ms / 1000;

		attr_seconds(ld, n, "rtp-timeout", &secs);
		cfg->media.timeout_ms = secs * 1000;
	}

	attr_codecs(ld, n, &cfg->media.codecs);

	attr_count(ld, n, "workers", &cfg->media.workers);
	if (cfg->media.workers > 64)
		add_error_at(ld, n, "workers=\"%u\": at most 64 (0: one per "
			     "core)", cfg->media.workers);

	xmlFree(addr);
	xmlFree(ports);
}


static int load_settings(struct loader *ld, const xmlNode *set)
{
	struct config *cfg = ld->cfg;
	const xmlNode *n;
	int err = 0;

	for (n = set->children; n && !err; n = n->next) {

		if (is_elem(n, "domain")) {
			err = attr_dup(&cfg->domain, n, "name");
		}
		else if (is_elem(n, "listen")) {
			err = load_listen(ld, n);
		}
		else if (is_elem(n, "registrar")) {
			load_registrar(ld, n);
		}
		else if (is_elem(n, "media")) {
			load_media(ld, n);
		}
		else if (is_elem(n, "auth")) {
			load_auth(ld, n);
		}
		else if (is_elem(n, "voicemail")) {
			attr_count(ld, n, "max-messages",
				   &cfg->voicemail.max_messages);
			attr_seconds(ld, n, "max-length",
				     &cfg->voicemail.max_length);
			attr_seconds(ld, n, "silence", &cfg->voicemail.silence);
			attr_seconds(ld, n, "mail-retry",
				     &cfg->voicemail.mail_retry);
			(void)attr_dup(&cfg->voicemail.mail_command, n,
				       "mail-command");
			(void)attr_dup(&cfg->voicemail.mail_from, n,
				       "mail-from");
			if (!cfg->voicemail.max_length ||
			    !cfg->voicemail.silence)
				add_error_at(ld, n, "voicemail: max-length and "
					     "silence must be above 0");
		}
		else if (is_elem(n, "dns")) {
			char *v = attr(n, "servers"), *tok, *save = NULL;
			char *p = v;

			while (v && (tok = strtok_r(p, " \t", &save))) {
				p = NULL;
				if (cfg->dns.n == 4)
					break;
				if (sa_decode(&cfg->dns.servers[cfg->dns.n],
					      tok, strlen(tok)))
					add_error_at(ld, n, "servers: \"%s\" "
						     "is not an IP:port", tok);
				else
					++cfg->dns.n;
			}
			xmlFree(v);
		}
		else if (is_elem(n, "limits")) {
			attr_count(ld, n, "max-calls", &cfg->limits.max_calls);
			attr_count(ld, n, "calls-per-second",
				   &cfg->limits.cps);
		}
		else if (is_elem(n, "store")) {
			char *v = attr(n, "sync");
			cfg->store_full_sync = v && !strcmp(v, "full");
			xmlFree(v);
		}
		else if (is_elem(n, "log")) {
			char *v = attr(n, "level");
			if (v && !strcmp(v, "debug"))
				cfg->log_level = LOG_LEVEL_DEBUG;
			else if (v && !strcmp(v, "warn"))
				cfg->log_level = LOG_LEVEL_WARN;
			else if (v && !strcmp(v, "error"))
				cfg->log_level = LOG_LEVEL_ERROR;
			else
				cfg->log_level = LOG_LEVEL_INFO;
			xmlFree(v);
		}
	}

	return err;
}


static void user_destructor(void *arg)
{
	struct config_user *u = arg;

	hash_unlink(&u->he);
	list_unlink(&u->le);
	mem_deref(u->id);
	mem_deref(u->name);
	if (u->password)
		memset(u->password, 0, strlen(u->password));
	mem_deref(u->password);
	mem_deref(u->context);
	mem_deref(u->mailbox);
	if (u->vm_pin)
		memset(u->vm_pin, 0, strlen(u->vm_pin));
	mem_deref(u->vm_pin);
	mem_deref(u->email);
	mem_deref(u->file);
}


static int load_user(struct loader *ld, const xmlNode *n)
{
	struct config *cfg = ld->cfg;
	struct config_user *u;
	const struct config_user *dup;
	xmlChar *file;
	char *hex;
	struct pl id;
	int err = 0;

	u = mem_zalloc(sizeof(*u), user_destructor);
	if (!u)
		return ENOMEM;

	err |= attr_dup(&u->id, n, "id");
	err |= attr_dup(&u->name, n, "name");
	err |= attr_dup(&u->password, n, "password");
	err |= attr_dup(&u->context, n, "context");
	err |= attr_dup(&u->mailbox, n, "mailbox");
	err |= attr_dup(&u->vm_pin, n, "vm-pin");
	err |= attr_dup(&u->email, n, "email");
	if (err || !u->id)
		goto out;

	if (!u->context)
		err = str_dup(&u->context, "default");

	file = node_file(n, cfg->file);
	err |= str_dup(&u->file, (const char *)file);
	xmlFree(file);
	u->line = node_line(n);
	if (err)
		goto out;

	attr_count(ld, n, "max-contacts", &u->max_contacts);
	attr_codecs(ld, n, &u->codecs);

	{
		char *v = attr(n, "mwi");

		u->mwi_unsolicited = v && !strcmp(v, "unsolicited");
		xmlFree(v);
	}

	u->cos = COS_NATIONAL;
	{
		char *cos = attr(n, "cos");

		if (cos)
			u->cos = !strcmp(cos, "internal") ? COS_INTERNAL :
				!strcmp(cos, "local") ? COS_LOCAL :
				!strcmp(cos, "international") ?
				COS_INTERNATIONAL : COS_NATIONAL;
		xmlFree(cos);
	}

	hex = attr(n, "ha1");
	if (hex) {
		u->has_ha1[DIGEST_MD5] = 0 == digest_ha1_from_hex(
			u->ha1[DIGEST_MD5], DIGEST_MD5, hex);
		if (!u->has_ha1[DIGEST_MD5])
			add_error_at(ld, n, "ha1: not 32 hex digits");
		xmlFree(hex);
	}

	hex = attr(n, "ha1-sha256");
	if (hex) {
		u->has_ha1[DIGEST_SHA256] = 0 == digest_ha1_from_hex(
			u->ha1[DIGEST_SHA256], DIGEST_SHA256, hex);
		if (!u->has_ha1[DIGEST_SHA256])
			add_error_at(ld, n, "ha1-sha256: not 64 hex digits");
		xmlFree(hex);
	}

	if (u->password && (u->has_ha1[DIGEST_MD5] ||
			    u->has_ha1[DIGEST_SHA256]))
		add_error_at(ld, n, "user %s: give either password or ha1, "
			     "not both", u->id);

	pl_set_str(&id, u->id);
	dup = config_user_find(cfg, &id);
	if (dup) {
		add_error_at(ld, n, "duplicate user id \"%s\" (first defined "
			     "at %s:%d)", u->id, dup->file, dup->line);
		goto out;
	}

	hash_append(cfg->users, hash_joaat_str(u->id), &u->he, u);
	list_append(&cfg->userl, &u->le, u);
	++cfg->user_count;
	u = NULL;

 out:
	mem_deref(u);
	return err;
}


static void group_destructor(void *arg)
{
	struct config_group *g = arg;

	list_unlink(&g->le);
	mem_deref(g->id);
	mem_deref(g->members);
}


static int add_group(struct loader *ld, const xmlNode *n, const char *id,
		     const char *members)
{
	struct config_group *g;
	char *strategy;
	int err;

	if (!id)
		return 0;

	if (config_group_find(ld->cfg, id)) {
		add_error_at(ld, n, "duplicate group id \"%s\"", id);
		return 0;
	}

	g = mem_zalloc(sizeof(*g), group_destructor);
	if (!g)
		return ENOMEM;

	err  = str_dup(&g->id, id);
	err |= str_dup(&g->members, members ? members : "");
	strategy = attr(n, "strategy");
	g->sequential = strategy && !strcmp(strategy, "sequential");
	xmlFree(strategy);

	if (err)
		mem_deref(g);
	else
		list_append(&ld->cfg->groups, &g->le, g);

	return err;
}


static int load_directory(struct loader *ld, const xmlNode *dir)
{
	const xmlNode *n;
	int err = 0;

	for (n = dir->children; n && !err; n = n->next) {
		if (is_elem(n, "user"))
			err = load_user(ld, n);
	}

	/* Groups may name users defined after them: second loop. */
	for (n = dir->children; n && !err; n = n->next) {
		char *id, *members;
		struct pl pl, m, idpl;

		if (!is_elem(n, "group"))
			continue;

		id = attr(n, "id");
		members = attr(n, "members");

		pl_set_str(&idpl, id ? id : "");
		if (config_user_find(ld->cfg, &idpl))
			add_error_at(ld, n, "group id \"%s\" is also a user id",
				     id);

		pl_set_str(&pl, members ? members : "");
		while (!re_regex(pl.p, pl.l, "[^ \t\r\n]+", &m)) {
			if (!config_user_find(ld->cfg, &m))
				add_error_at(ld, n, "group %s: member %r is "
					     "not a user", id, &m);
			pl_advance(&pl, m.p + m.l - pl.p);
		}

		err = add_group(ld, n, id, members);

		xmlFree(id);
		xmlFree(members);
	}

	return err;
}


static int load_root(struct loader *ld)
{
	const xmlNode *root = xmlDocGetRootElement(ld->doc), *n;
	struct config *cfg = ld->cfg;
	int err = 0;

	for (n = root->children; n && !err; n = n->next) {
		if (is_elem(n, "settings"))
			err = load_settings(ld, n);
		else if (is_elem(n, "directory"))
			err = load_directory(ld, n);
		else if (is_elem(n, "dialplan"))
			err = dialplan_load(ld, n);
		else if (is_elem(n, "trunks"))
			err = config_load_trunks(ld, n);
	}
	if (err)
		return err;

	/* The tests see the whole config (users may come after the
	 * dialplan); they make sense only if the rest is sound. */
	if (!ld->nerr) {
		err = dialplan_run_tests(ld);
		if (err)
			return err;
	}

	if (list_isempty(&cfg->listens))
		add_error_at(ld, root, "no <listen> in <settings>: the PBX "
			     "would not be reachable");

	/* RTP is anchored on the first listener's address by default */
	if (!sa_isset(&cfg->media.addr, SA_ADDR) &&
	    !list_isempty(&cfg->listens)) {
		const struct config_listen *l = list_ledata(cfg->listens.head);
		sa_cpy(&cfg->media.addr, &l->addr);
		sa_set_port(&cfg->media.addr, 0);
	}

	/* The realm defaults to the first listener's address */
	if (!cfg->domain && !list_isempty(&cfg->listens)) {
		const struct config_listen *l = list_ledata(cfg->listens.head);
		err = re_sdprintf(&cfg->domain, "%j", &l->addr);
	}

	return err;
}


int config_load(struct config **cfgp, struct list *errl,
		const char *confdir)
{
	struct loader ld;
	char absdir[PATH_MAX];
	int err;

	if (!cfgp || !errl || !confdir)
		return EINVAL;

	memset(&ld, 0, sizeof(ld));
	ld.errl = errl;

	if (!realpath(confdir, absdir)) {
		err = errno;
		(void)config_error_add(errl, confdir, 0,
				       "cannot open config folder: %m", err);
		return EINVAL;
	}

	err = config_alloc(&ld.cfg, absdir);
	if (err)
		return err;

	xmlSetStructuredErrorFunc(&ld, parse_error_handler);

	ld.doc = xmlReadFile(ld.cfg->file, NULL, XML_FLAGS);
	if (!ld.doc) {
		if (!ld.nerr)
			(void)config_error_add(errl, ld.cfg->file, 0,
					       "cannot read file");
		err = EINVAL;
		goto out;
	}

	if (xmlXIncludeProcessFlags(ld.doc, XML_FLAGS | XML_PARSE_XINCLUDE)
	    < 0 || ld.nerr) {
		if (!ld.nerr)
			(void)config_error_add(errl, ld.cfg->file, 0,
					       "XInclude processing failed");
		err = EINVAL;
		goto out;
	}

	err = validate(&ld);
	if (err)
		goto out;

	err = load_root(&ld);
	if (!err && ld.nerr)
		err = EINVAL;

 out:
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (ld.doc)
		xmlFreeDoc(ld.doc);

	if (err)
		mem_deref(ld.cfg);
	else
		*cfgp = ld.cfg;

	return err;
}

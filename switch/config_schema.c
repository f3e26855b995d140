/**
 * @file config_schema.c  Readable validation driven by the RelaxNG schema
 */
#include <stdlib.h>
#include <libxml/parser.h>
#include <libxml/xmlregexp.h>
#include "core.h"
#include "config_schema.h"

#define RNG_NS "http://relaxng.org/ns/structure/1.0"
#define DOC_NS "urn:switchboard:doc"

/* One <element> of the schema, with what may appear in it. */
struct sdef {
	struct le le;             /* in schema.defs */
	const xmlNode *node;      /* the <element> of the schema */
	const char *name;
	struct list attrs;        /* struct sattr */
	struct list kids;         /* struct skid  */
	bool any_attr;
};

struct sattr {
	struct le le;
	const char *name;
	bool required;
	const xmlNode *type;      /* value pattern, NULL for any text */
};

struct skid {
	struct le le;
	const char *name;
	struct sdef *def;
};

struct schema {
	xmlDoc *doc;
	struct list defs;
	struct sdef *root;
};

static struct sdef *compile(struct schema *s, const xmlNode *el);


static bool rng(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && n->ns &&
		!xmlStrcmp(n->ns->href, (const xmlChar *)RNG_NS) &&
		(!name || !xmlStrcmp(n->name, (const xmlChar *)name));
}


/* Attribute of a schema node; the schema doc outlives every use. */
static const char *prop(const xmlNode *n, const char *name)
{
	const xmlAttr *a;

	for (a = n->properties; a; a = a->next) {
		if (!a->ns && !xmlStrcmp(a->name, (const xmlChar *)name) &&
		    a->children && a->children->content)
			return (const char *)a->children->content;
	}

	return NULL;
}


static const xmlNode *find_define(const struct schema *s, const char *name)
{
	const xmlNode *n;

	for (n = xmlDocGetRootElement(s->doc)->children; n; n = n->next) {
		const char *dn;

		if (!rng(n, "define"))
			continue;
		dn = prop(n, "name");
		if (dn && !strcmp(dn, name))
			return n;
	}

	return NULL;
}


static const xmlNode *first_pattern(const xmlNode *n)
{
	for (n = n ? n->children : NULL; n; n = n->next) {
		if (rng(n, NULL) && xmlStrcmp(n->name,
					      (const xmlChar *)"param"))
			return n;
	}
	return NULL;
}


static void sdef_destructor(void *arg)
{
	struct sdef *d = arg;

	list_unlink(&d->le);
	list_flush(&d->attrs);
	list_flush(&d->kids);
}


static void item_destructor(void *arg)
{
	struct le *le = arg;  /* first member of sattr and skid */

	list_unlink(le);
}


static void collect(struct schema *s, struct sdef *d, const xmlNode *pat,
		    bool optional)
{
	const xmlNode *c;

	for (c = pat->children; c; c = c->next) {

		if (!rng(c, NULL))
			continue;

		if (rng(c, "element")) {
			struct skid *k = mem_zalloc(sizeof(*k),
						    item_destructor);
			if (!k)
				continue;
			k->name = prop(c, "name");
			k->def = compile(s, c);
			list_append(&d->kids, &k->le, k);
		}
		else if (rng(c, "attribute")) {
			const xmlNode *t = first_pattern(c);
			struct sattr *a;

			if (rng(t, "anyName")) {
				d->any_attr = true;
				continue;
			}

			a = mem_zalloc(sizeof(*a), item_destructor);
			if (!a)
				continue;
			a->name = prop(c, "name");
			a->required = !optional;
			a->type = rng(t, "text") ? NULL : t;
			list_append(&d->attrs, &a->le, a);
		}
		else if (rng(c, "ref")) {
			const xmlNode *def = find_define(s, prop(c, "name"));
			if (def)
				collect(s, d, def, optional);
		}
		else if (rng(c, "optional") || rng(c, "zeroOrMore") ||
			 rng(c, "choice")) {
			collect(s, d, c, true);
		}
		else if (rng(c, "oneOrMore") || rng(c, "interleave") ||
			 rng(c, "group")) {
			collect(s, d, c, optional);
		}
	}
}


static struct sdef *compile(struct schema *s, const xmlNode *el)
{
	struct sdef *d;
	struct le *le;

	/* defines may be used in several places: compile each once */
	for (le = s->defs.head; le; le = le->next) {
		d = le->data;
		if (d->node == el)
			return d;
	}

	d = mem_zalloc(sizeof(*d), sdef_destructor);
	if (!d)
		return NULL;

	d->node = el;
	d->name = prop(el, "name");
	list_append(&s->defs, &d->le, d);

	collect(s, d, el, false);
	return d;
}


static void schema_destructor(void *arg)
{
	struct schema *s = arg;

	list_flush(&s->defs);
	if (s->doc)
		xmlFreeDoc(s->doc);
}


int schema_alloc(struct schema **sp, const char *rngtext, size_t len)
{
	struct schema *s;
	const xmlNode *start, *el;
	int err = 0;

	s = mem_zalloc(sizeof(*s), schema_destructor);
	if (!s)
		return ENOMEM;

	s->doc = xmlReadMemory(rngtext, (int)len, "switchboard.rng", NULL,
			       XML_PARSE_NONET | XML_PARSE_NOBLANKS);
	if (!s->doc) {
		err = EPROTO;
		goto out;
	}

	for (start = xmlDocGetRootElement(s->doc)->children; start;
	     start = start->next) {
		if (rng(start, "start"))
			break;
	}

	el = first_pattern(start);
	if (!rng(el, "element")) {
		err = EPROTO;
		goto out;
	}

	s->root = compile(s, el);
	if (!s->root)
		err = ENOMEM;

 out:
	if (err)
		mem_deref(s);
	else
		*sp = s;

	return err;
}


/* ---- values ---- */

static bool all_digits(const char *v)
{
	if (!*v)
		return false;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return false;
	}
	return true;
}


static bool check_data(const xmlNode *data, const char *v)
{
	const char *type = prop(data, "type");
	const xmlNode *p;

	if (type && !strcmp(type, "nonNegativeInteger") && !all_digits(v))
		return false;
	if (type && !strcmp(type, "unsignedShort") &&
	    (!all_digits(v) || strlen(v) > 5 || atoi(v) > 65535))
		return false;

	for (p = data->children; p; p = p->next) {
		const char *pn;
		xmlChar *pv;
		bool ok = true;

		if (!rng(p, "param"))
			continue;

		pn = prop(p, "name");
		pv = xmlNodeGetContent(p);
		if (pn && pv && !strcmp(pn, "pattern")) {
			/* XSD regexps match the whole value */
			xmlRegexpPtr re = xmlRegexpCompile(pv);
			ok = re && xmlRegexpExec(re, (const xmlChar *)v) == 1;
			if (re)
				xmlRegFreeRegexp(re);
		}
		else if (pn && pv && !strcmp(pn, "minLength")) {
			ok = strlen(v) >= (size_t)atoi((const char *)pv);
		}
		xmlFree(pv);
		if (!ok)
			return false;
	}

	return true;
}


static bool check_value(const struct schema *s, const xmlNode *t,
			const char *v)
{
	const xmlNode *c;

	if (!t || rng(t, "text"))
		return true;

	if (rng(t, "data"))
		return check_data(t, v);

	if (rng(t, "value")) {
		xmlChar *want = xmlNodeGetContent(t);
		bool ok = want && !strcmp((const char *)want, v);
		xmlFree(want);
		return ok;
	}

	if (rng(t, "choice")) {
		for (c = t->children; c; c = c->next) {
			if (rng(c, NULL) && check_value(s, c, v))
				return true;
		}
		return false;
	}

	if (rng(t, "ref"))
		return check_value(s, first_pattern(find_define(
					s, prop(t, "name"))), v);

	if (rng(t, "oneOrMore") || rng(t, "zeroOrMore"))
		return check_value(s, first_pattern(t), v);

	if (rng(t, "list")) {
		char buf[1024], *tok, *save = NULL, *p = buf;
		bool any = false;

		str_ncpy(buf, v, sizeof(buf));
		while ((tok = strtok_r(p, " \t\r\n", &save))) {
			if (!check_value(s, first_pattern(t), tok))
				return false;
			any = true;
			p = NULL;
		}
		return any;
	}

	return true;
}


struct expect {
	const struct schema *s;
	const xmlNode *t;
};


/* What a valid value looks like, for the message. */
static int print_expected(struct re_printf *pf, const struct expect *e)
{
	const struct schema *s = e->s;
	const xmlNode *t = e->t;
	struct expect sub = {s, NULL};
	const xmlNode *c;
	const char *doc;
	int err = 0;
	bool first = true;

	if (!t)
		return 0;

	if (rng(t, "ref")) {
		const xmlNode *def = find_define(s, prop(t, "name"));
		const xmlAttr *a;

		/* <define sb:doc="..."> describes a type in words */
		for (a = def ? def->properties : NULL; a; a = a->next) {
			if (a->ns && !xmlStrcmp(a->ns->href,
						(const xmlChar *)DOC_NS) &&
			    a->children) {
				doc = (const char *)a->children->content;
				return re_hprintf(pf, "%s", doc);
			}
		}
		sub.t = first_pattern(def);
		return print_expected(pf, &sub);
	}

	if (rng(t, "choice")) {
		err |= re_hprintf(pf, "one of:");
		for (c = t->children; c; c = c->next) {
			xmlChar *v;
			if (!rng(c, "value"))
				continue;
			v = xmlNodeGetContent(c);
			err |= re_hprintf(pf, "%s %s", first ? "" : ",", v);
			first = false;
			xmlFree(v);
		}
		return err;
	}

	if (rng(t, "list") || rng(t, "oneOrMore")) {
		sub.t = first_pattern(rng(t, "list") ? first_pattern(t) : t);
		return re_hprintf(pf, "a space-separated list, each %H",
				  print_expected, &sub);
	}

	if (rng(t, "data")) {
		const char *type = prop(t, "type");
		for (c = t->children; c; c = c->next) {
			const char *pn = prop(c, "name");
			if (rng(c, "param") && pn && !strcmp(pn, "pattern")) {
				xmlChar *v = xmlNodeGetContent(c);
				err = re_hprintf(pf, "a value matching %s", v);
				xmlFree(v);
				return err;
			}
		}
		if (type && !strcmp(type, "nonNegativeInteger"))
			return re_hprintf(pf, "a whole number");
		if (type && !strcmp(type, "unsignedShort"))
			return re_hprintf(pf, "a number from 0 to 65535");
		return re_hprintf(pf, "a non-empty value");
	}

	return 0;
}


/* ---- walking the config ---- */

struct walk {
	const struct schema *s;
	schema_err_h *errh;
	void *arg;
	int n;
};


static void report(struct walk *w, const xmlNode *node, const char *fmt,
		   ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsdprintf(&msg, fmt, ap);
	va_end(ap);

	w->errh(node, msg ? msg : "invalid", w->arg);
	mem_deref(msg);
	++w->n;
}


static int print_names(struct re_printf *pf, const struct list *l)
{
	struct le *le;
	int err = 0;

	/* sattr and skid both start with le, name */
	for (le = l->head; le; le = le->next) {
		const struct skid *k = le->data;
		err |= re_hprintf(pf, "%s%s", le == l->head ? "" : ", ",
				  k->name);
	}

	return err;
}


static bool known_ns_attr(const xmlAttr *a)
{
	/* xml:base, xml:lang and namespace-qualified extension attributes
	 * are not the schema's business */
	return a->ns != NULL;
}


static void walk(struct walk *w, const xmlNode *node, const struct sdef *d)
{
	const xmlAttr *a;
	const xmlNode *c;
	struct le *le;

	for (a = node->properties; a; a = a->next) {
		const struct sattr *sa = NULL;
		xmlChar *v;

		if (known_ns_attr(a) || d->any_attr)
			continue;

		for (le = d->attrs.head; le; le = le->next) {
			const struct sattr *x = le->data;
			if (!xmlStrcmp(a->name, (const xmlChar *)x->name)) {
				sa = x;
				break;
			}
		}

		if (!sa) {
			report(w, node, "<%s>: unknown attribute \"%s\" "
			       "(allowed: %H)", d->name, a->name,
			       print_names, &d->attrs);
			continue;
		}

		v = xmlNodeListGetString(node->doc, a->children, 1);
		if (!check_value(w->s, sa->type, v ? (const char *)v : "")) {
			struct expect e = {w->s, sa->type};

			report(w, node, "<%s %s=\"%s\">: expected %H", d->name,
			       sa->name, v ? (const char *)v : "",
			       print_expected, &e);
		}
		xmlFree(v);
	}

	for (le = d->attrs.head; le; le = le->next) {
		const struct sattr *x = le->data;

		if (x->required &&
		    !xmlHasProp((xmlNode *)node, (const xmlChar *)x->name))
			report(w, node, "<%s>: missing attribute \"%s\"",
			       d->name, x->name);
	}

	for (c = node->children; c; c = c->next) {
		const struct sdef *kd = NULL;

		if (c->type != XML_ELEMENT_NODE)
			continue;

		for (le = d->kids.head; le; le = le->next) {
			const struct skid *k = le->data;
			if (!xmlStrcmp(c->name, (const xmlChar *)k->name)) {
				kd = k->def;
				break;
			}
		}

		if (!kd) {
			if (list_isempty(&d->kids))
				report(w, c, "<%s> is not allowed inside <%s>",
				       c->name, d->name);
			else
				report(w, c, "unknown element <%s> inside "
				       "<%s> (allowed: %H)", c->name, d->name,
				       print_names, &d->kids);
			continue;
		}

		walk(w, c, kd);
	}
}


int schema_check(const struct schema *s, const xmlDoc *doc,
		 schema_err_h *errh, void *arg)
{
	struct walk w = {s, errh, arg, 0};
	const xmlNode *root = xmlDocGetRootElement((xmlDoc *)doc);

	if (!root || xmlStrcmp(root->name, (const xmlChar *)s->root->name)) {
		report(&w, root, "the root element must be <%s>",
		       s->root->name);
		return w.n;
	}

	walk(&w, root, s->root);
	return w.n;
}

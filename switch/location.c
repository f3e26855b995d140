/**
 * @file location.c  Location store: AOR -> contact bindings
 *
 * Memory is the working copy, the store is the truth after a restart.
 * Every change is written to the store (one transaction) before memory
 * changes, so a REGISTER is only acknowledged once it would survive a
 * crash, and a store failure leaves memory exactly as it was.
 */
#include <ctype.h>
#include <errno.h>
#include <time.h>
#include "core.h"
#include "store.h"
#include "location.h"

enum {
	AOR_HASH_SIZE   = 256,
	EXPIRE_TICK_MS  = 1000,
	OPS_ON_STACK    = 4,    /* phones send one Contact; more is rare */
};

/** All bindings of one address-of-record */
struct aor {
	struct le he;           /* in location.aors                    */
	struct le sle;          /* in location.aorl, sorted by name    */
	char *name;             /* shared (mem_ref) by its bindings    */
	struct list bindings;   /* struct binding                      */
};

struct location {
	struct hash *aors;      /* struct aor, by hash_joaat_str(name) */
	struct list aorl;       /* struct aor, by name (for apply)     */
	struct store *st;
	struct tmr tmr;
	uint32_t max_contacts;  /* 0: no limit                         */
	uint32_t nbindings;
	uint32_t naors;
	uint64_t next_expiry;   /* no binding expires before this      */
};

/*
 * The plan for one Contact of a REGISTER. It is computed completely
 * (matches, checks, allocations) before anything is written, so the
 * write to the store and the change in memory cannot disagree.
 */
struct op {
	const struct location_contact *c;
	struct binding *old;    /* existing binding this contact updates  */
	struct binding *dup;    /* other binding with the contact's URI,
				   made redundant by an instance match     */
	bool skip;              /* superseded by a later contact          */
	struct binding *nb;     /* new state: a new object for an insert,
				   &upd for an update                     */
	struct binding upd;     /* new state of old (owned references)    */
};


/*
 * URI comparison, RFC 3261 19.1.4. libre 1.1.0 has no uri_cmp, so this
 * is ours: escapes are decoded before comparing; user and password are
 * case-sensitive, everything else is not; the port must be equal (no
 * port is not the same as 5060); the parameters transport, user, ttl,
 * method and maddr must match when either side has them, others only
 * when both do; headers must match both ways.
 */

static int esc_next(const struct pl *pl, size_t *ip)
{
	const char *p = pl->p;
	size_t i = *ip;

	if (p[i] == '%' && i + 2 < pl->l &&
	    isxdigit((unsigned char)p[i + 1]) &&
	    isxdigit((unsigned char)p[i + 2])) {
		*ip = i + 3;
		return ch_hex(p[i + 1]) << 4 | ch_hex(p[i + 2]);
	}

	*ip = i + 1;
	return (unsigned char)p[i];
}


static bool esc_eq(const struct pl *a, const struct pl *b, bool ci)
{
	size_t i = 0, j = 0;

	while (i < a->l && j < b->l) {
		int ca = esc_next(a, &i);
		int cb = esc_next(b, &j);

		if (ci) {
			ca = tolower(ca);
			cb = tolower(cb);
		}
		if (ca != cb)
			return false;
	}

	return i == a->l && j == b->l;
}


struct comp_find {
	const struct pl *name;
	struct pl val;
	bool found;
};


static int comp_find_h(const struct pl *name, const struct pl *val,
		       void *arg)
{
	struct comp_find *cf = arg;

	if (pl_casecmp(name, cf->name))
		return 0;

	cf->val = *val;
	cf->found = true;

	return 1;  /* stop */
}


struct comp_check {
	const struct pl *other;
	bool headers;
	bool eq;
};


static bool param_strict(const struct pl *name)
{
	static const char *const strict[] = {
		"transport", "user", "ttl", "method", "maddr"
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(strict); i++) {
		struct pl s;

		pl_set_str(&s, strict[i]);
		if (!pl_casecmp(name, &s))
			return true;
	}

	return false;
}


/* Is the component name=val of one URI matched by the other URI? */
static int comp_check_h(const struct pl *name, const struct pl *val,
			void *arg)
{
	struct comp_check *cc = arg;
	struct comp_find cf = { .name = name };

	if (cc->headers)
		(void)uri_headers_apply(cc->other, comp_find_h, &cf);
	else
		(void)uri_params_apply(cc->other, comp_find_h, &cf);

	if (cf.found)
		cc->eq = esc_eq(val, &cf.val, true);
	else
		cc->eq = !cc->headers && !param_strict(name);

	return cc->eq ? 0 : 1;
}


static bool comps_eq(const struct pl *a, const struct pl *b, bool headers)
{
	struct comp_check cc = { .other = b, .headers = headers, .eq = true };

	if (headers)
		(void)uri_headers_apply(a, comp_check_h, &cc);
	else
		(void)uri_params_apply(a, comp_check_h, &cc);
	if (!cc.eq)
		return false;

	cc.other = a;
	if (headers)
		(void)uri_headers_apply(b, comp_check_h, &cc);
	else
		(void)uri_params_apply(b, comp_check_h, &cc);

	return cc.eq;
}


static bool host_eq(const struct uri *a, const struct uri *b)
{
	struct sa sa, sb;

	if (a->af != b->af)
		return false;

	/* IP literals compare as addresses ("::1" equals "0::1") */
	if (a->af != AF_UNSPEC && !sa_set(&sa, &a->host, 0) &&
	    !sa_set(&sb, &b->host, 0))
		return sa_cmp(&sa, &sb, SA_ADDR);

	return !pl_casecmp(&a->host, &b->host);
}


static bool uri_eq(const struct pl *a, const struct pl *b)
{
	struct uri ua, ub;

	if (uri_decode(&ua, a) || uri_decode(&ub, b))
		return !pl_cmp(a, b);

	return !pl_casecmp(&ua.scheme, &ub.scheme) &&
		esc_eq(&ua.user, &ub.user, false) &&
		esc_eq(&ua.password, &ub.password, false) &&
		host_eq(&ua, &ub) &&
		ua.port == ub.port &&
		comps_eq(&ua.params, &ub.params, false) &&
		comps_eq(&ua.headers, &ub.headers, true);
}


/* Objects */

static void binding_destructor(void *arg)
{
	struct binding *b = arg;

	list_unlink(&b->le);
	mem_deref(b->aor);
	mem_deref(b->uri);
	mem_deref(b->callid);
	mem_deref(b->user_agent);
	mem_deref(b->instance);
}


/* Release the references held by a staged (non-mem) binding. */
static void staged_release(struct binding *b)
{
	b->aor = mem_deref(b->aor);
	b->uri = mem_deref(b->uri);
	b->callid = mem_deref(b->callid);
	b->user_agent = mem_deref(b->user_agent);
	b->instance = mem_deref(b->instance);
}


static void aor_destructor(void *arg)
{
	struct aor *rec = arg;

	hash_unlink(&rec->he);
	list_unlink(&rec->sle);
	list_flush(&rec->bindings);
	mem_deref(rec->name);
}


static bool aor_cmp_h(struct le *le, void *arg)
{
	const struct aor *rec = le->data;

	return 0 == strcmp(rec->name, arg);
}


static struct aor *aor_find(const struct location *loc, const char *name)
{
	struct le *le;

	le = hash_lookup(loc->aors, hash_joaat_str(name), aor_cmp_h,
			 (void *)name);

	return le ? le->data : NULL;
}


static int aor_alloc(struct aor **recp, const char *name)
{
	struct aor *rec;
	int err;

	rec = mem_zalloc(sizeof(*rec), aor_destructor);
	if (!rec)
		return ENOMEM;

	err = str_dup(&rec->name, name);
	if (err) {
		mem_deref(rec);
		return err;
	}

	*recp = rec;

	return 0;
}


/* Link a new AOR into the hash and the sorted list. Searching from the
 * tail keeps the load (which reads AORs in order) linear. */
static void aor_link(struct location *loc, struct aor *rec)
{
	struct le *le = list_tail(&loc->aorl);

	while (le && strcmp(((struct aor *)le->data)->name, rec->name) > 0)
		le = le->prev;

	if (le)
		list_insert_after(&loc->aorl, le, &rec->sle, rec);
	else
		list_prepend(&loc->aorl, &rec->sle, rec);

	hash_append(loc->aors, hash_joaat_str(rec->name), &rec->he, rec);
	++loc->naors;
}


static void aor_drop_if_empty(struct location *loc, struct aor *rec)
{
	if (!list_isempty(&rec->bindings))
		return;

	--loc->naors;
	mem_deref(rec);
}


static void binding_link(struct location *loc, struct aor *rec,
			 struct binding *b)
{
	list_append(&rec->bindings, &b->le, b);
	++loc->nbindings;

	if (b->expires < loc->next_expiry)
		loc->next_expiry = b->expires;
}


static void binding_drop(struct location *loc, struct binding *b)
{
	--loc->nbindings;
	mem_deref(b);
}


/* Expiry */

void location_expire(struct location *loc, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	struct le *le;

	if (!loc || now < loc->next_expiry)
		return;

	/* One statement, one transaction. If it fails (the store logs
	 * why) the bindings still leave memory: they are dead either way,
	 * and the next load skips them. */
	(void)store_binding_purge(loc->st, now);

	le = list_head(&loc->aorl);
	while (le) {
		struct aor *rec = le->data;
		struct le *ble = list_head(&rec->bindings);

		le = le->next;

		while (ble) {
			struct binding *b = ble->data;

			ble = ble->next;

			if (b->expires > now) {
				if (b->expires < next)
					next = b->expires;
				continue;
			}

			log_debug("binding expired aor=%s uri=%s",
				  b->aor, b->uri);
			binding_drop(loc, b);
		}

		aor_drop_if_empty(loc, rec);
	}

	loc->next_expiry = next;
}


static void tmr_handler(void *arg)
{
	struct location *loc = arg;

	tmr_start(&loc->tmr, EXPIRE_TICK_MS, tmr_handler, loc);

	location_expire(loc, (uint64_t)time(NULL));
}


/* Register */

static void find_match(struct aor *rec, const struct location_contact *c,
		       struct binding **oldp, struct binding **dupp)
{
	struct binding *by_inst = NULL, *by_uri = NULL;
	struct le *le;

	if (!rec)
		goto out;

	LIST_FOREACH(&rec->bindings, le) {
		struct binding *b = le->data;
		struct pl bu;

		/* RFC 5626 6: the same instance is the same device, whatever
		 * its Contact URI is now */
		if (!by_inst && pl_isset(&c->instance) && b->instance &&
		    !pl_strcmp(&c->instance, b->instance))
			by_inst = b;

		pl_set_str(&bu, b->uri);
		if (!by_uri && uri_eq(&c->uri, &bu))
			by_uri = b;
	}

 out:
	*oldp = by_inst ? by_inst : by_uri;
	*dupp = (by_inst && by_uri != by_inst) ? by_uri : NULL;
}


static bool touches(const struct op *a, const struct binding *b)
{
	return b && (a->old == b || a->dup == b);
}


/* Two Contacts of one request that name the same binding: the later one
 * wins, as if the request had listed only it. */
static bool supersedes(const struct op *later, const struct op *op)
{
	if (uri_eq(&later->c->uri, &op->c->uri))
		return true;

	if (pl_isset(&later->c->instance) && pl_isset(&op->c->instance) &&
	    !pl_cmp(&later->c->instance, &op->c->instance))
		return true;

	return touches(later, op->old) || touches(later, op->dup);
}


/* RFC 3261 10.3 step 7: same Call-ID and a CSeq that is not higher is an
 * old or reordered request; it must not change the binding. */
static bool out_of_order(const struct binding *b,
			 const struct location_req *req)
{
	return b && !pl_strcmp(&req->callid, b->callid) &&
		req->cseq <= b->cseq;
}


/* A string of the request, shared with a binding that has the same text
 * already (a refresh then allocates nothing). */
static int shared_str(char **strp, struct aor *rec, const struct pl *pl,
		      size_t off)
{
	struct le *le;

	*strp = NULL;
	if (!pl_isset(pl))
		return 0;

	LIST_FOREACH(rec ? &rec->bindings : NULL, le) {
		char *s = *(char **)((char *)le->data + off);

		if (s && !pl_strcmp(pl, s)) {
			*strp = mem_ref(s);
			return 0;
		}
	}

	return pl_strdup(strp, pl);
}


static int keep_or_dup(char **dstp, const struct pl *pl, char *old)
{
	if (!pl_isset(pl)) {
		*dstp = NULL;
		return 0;
	}

	if (old && !pl_strcmp(pl, old)) {
		*dstp = mem_ref(old);
		return 0;
	}

	return pl_strdup(dstp, pl);
}


/* Fill the new state of one binding (references are owned by it). */
static int stage(struct binding *nb, const struct op *op, struct aor *rec,
		 const struct location_req *req, char *callid, char *ua,
		 uint64_t now)
{
	const struct binding *old = op->old;
	int err;

	nb->aor = mem_ref(rec->name);
	nb->callid = mem_ref(callid);
	nb->user_agent = mem_ref(ua);

	err = keep_or_dup(&nb->uri, &op->c->uri, old ? old->uri : NULL);
	if (err)
		return err;

	err = keep_or_dup(&nb->instance, &op->c->instance,
			  old ? old->instance : NULL);
	if (err)
		return err;

	nb->cseq = req->cseq;
	nb->expires = now + op->c->expires;
	nb->q = op->c->q;
	nb->src = req->src;
	nb->laddr = req->laddr;
	nb->tp = req->tp;
	nb->updated = now;

	return 0;
}


static void ops_release(struct op *opv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (opv[i].nb == &opv[i].upd)
			staged_release(&opv[i].upd);
		else
			mem_deref(opv[i].nb);
		opv[i].nb = NULL;
	}
}


static int store_ops(struct location *loc, const char *aor,
		     struct op *opv, size_t n)
{
	bool changes = false;
	size_t i;
	int err;

	for (i = 0; i < n; i++)
		changes |= !opv[i].skip && (opv[i].old || opv[i].nb);
	if (!changes)
		return 0;

	err = store_begin(loc->st);
	if (err)
		return err;

	for (i = 0; i < n && !err; i++) {
		const struct op *op = &opv[i];

		if (op->skip)
			continue;

		if (op->dup)
			err = store_binding_del(loc->st, aor, op->dup->uri);

		/* An update that moves to a new URI is a new row */
		if (!err && op->old &&
		    (!op->nb || strcmp(op->old->uri, op->nb->uri)))
			err = store_binding_del(loc->st, aor, op->old->uri);

		if (!err && op->nb)
			err = store_binding_put(loc->st, op->nb);
	}

	if (err) {
		store_rollback(loc->st);
		return err;
	}

	return store_commit(loc->st);
}


/* Cannot fail: everything was allocated and stored beforehand. */
static void apply_ops(struct location *loc, struct aor *rec,
		      struct op *opv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct op *op = &opv[i];

		if (op->skip)
			continue;

		if (op->dup)
			binding_drop(loc, op->dup);

		if (!op->nb) {
			if (op->old) {
				log_debug("binding removed aor=%s uri=%s",
					  op->old->aor, op->old->uri);
				binding_drop(loc, op->old);
			}
			continue;
		}

		if (op->old) {
			/* Swap the new state in, keep the list position;
			 * upd then holds the old references to release. */
			struct binding tmp = *op->old;

			*op->old = op->upd;
			op->old->le = tmp.le;
			op->upd = tmp;
			memset(&op->upd.le, 0, sizeof(op->upd.le));

			if (op->old->expires < loc->next_expiry)
				loc->next_expiry = op->old->expires;
		}
		else {
			log_debug("binding added aor=%s uri=%s",
				  op->nb->aor, op->nb->uri);
			binding_link(loc, rec, op->nb);
			op->nb = NULL;  /* now owned by the AOR */
		}
	}

	aor_drop_if_empty(loc, rec);
}


int location_register(struct location *loc, const struct location_req *req,
		      const struct location_contact *cv, size_t cc,
		      uint64_t now)
{
	struct op opv_stack[OPS_ON_STACK];
	struct op *opv = opv_stack;
	struct aor *rec, *newrec = NULL;
	char *callid = NULL, *ua = NULL;
	uint32_t before, after;
	size_t i, j;
	int err = 0;

	if (!loc || !req || !req->aor || !pl_isset(&req->callid) ||
	    (cc && !cv))
		return EINVAL;

	/* Expired bindings take no part in the rules below */
	location_expire(loc, now);

	if (cc > OPS_ON_STACK) {
		opv = mem_zalloc(cc * sizeof(*opv), NULL);
		if (!opv)
			return ENOMEM;
	}
	else {
		memset(opv_stack, 0, sizeof(opv_stack));
	}

	rec = aor_find(loc, req->aor);

	/* 1. Plan: match each contact, without changing anything */
	for (i = 0; i < cc; i++) {
		opv[i].c = &cv[i];
		find_match(rec, &cv[i], &opv[i].old, &opv[i].dup);
	}

	before = after = rec ? list_count(&rec->bindings) : 0;

	for (i = 0; i < cc; i++) {
		struct op *op = &opv[i];

		/* RFC 3261 10.3 step 7 */
		if (out_of_order(op->old, req) || out_of_order(op->dup, req)) {
			err = EPROTO;
			goto out;
		}

		for (j = i + 1; j < cc && !op->skip; j++)
			op->skip = supersedes(&opv[j], op);

		if (op->skip)
			continue;

		after -= (op->old ? 1 : 0) + (op->dup ? 1 : 0);
		after += op->c->expires ? 1 : 0;
	}

	/* RFC 3261 10.3 step 8 leaves the limit to local policy. A request
	 * that does not add bindings passes even over the limit, so phones
	 * of an AOR whose limit was lowered can still refresh and leave. */
	if (loc->max_contacts && after > loc->max_contacts && after > before) {
		err = EOVERFLOW;
		goto out;
	}

	/* 2. Allocate the new state */
	if (!rec && after) {
		err = aor_alloc(&newrec, req->aor);
		if (err)
			goto out;
		rec = newrec;
	}

	if (after) {
		err = shared_str(&callid, rec, &req->callid,
				 offsetof(struct binding, callid));
		if (!err)
			err = shared_str(&ua, rec, &req->user_agent,
					 offsetof(struct binding, user_agent));
		if (err)
			goto out;
	}

	for (i = 0; i < cc; i++) {
		struct op *op = &opv[i];

		if (op->skip || !op->c->expires)
			continue;

		if (op->old) {
			op->nb = &op->upd;
		}
		else {
			op->nb = mem_zalloc(sizeof(*op->nb),
					    binding_destructor);
			if (!op->nb) {
				err = ENOMEM;
				goto out;
			}
		}

		err = stage(op->nb, op, rec, req, callid, ua, now);
		if (err)
			goto out;
	}

	/* 3. Store, then 4. memory */
	if (rec) {
		err = store_ops(loc, rec->name, opv, cc);
		if (err)
			goto out;
	}

	if (newrec) {
		aor_link(loc, newrec);
		newrec = NULL;
	}

	if (rec)
		apply_ops(loc, rec, opv, cc);

 out:
	ops_release(opv, cc);
	if (opv != opv_stack)
		mem_deref(opv);
	mem_deref(newrec);
	mem_deref(callid);
	mem_deref(ua);

	return err;
}


int location_unregister_all(struct location *loc,
			    const struct location_req *req, uint64_t now)
{
	struct aor *rec;
	struct le *le;
	int err;

	if (!loc || !req || !req->aor)
		return EINVAL;

	location_expire(loc, now);

	rec = aor_find(loc, req->aor);
	if (!rec)
		return 0;

	/* RFC 3261 10.3 step 6 */
	LIST_FOREACH(&rec->bindings, le) {
		if (out_of_order(le->data, req))
			return EPROTO;
	}

	err = store_binding_del_aor(loc->st, rec->name);
	if (err)
		return err;

	log_debug("bindings removed aor=%s count=%u", rec->name,
		  list_count(&rec->bindings));

	loc->nbindings -= list_count(&rec->bindings);
	list_flush(&rec->bindings);
	aor_drop_if_empty(loc, rec);

	return 0;
}


/* Queries */

const struct list *location_lookup(struct location *loc, const char *aor)
{
	struct aor *rec;

	if (!loc || !aor)
		return NULL;

	/* Only live bindings: drop whatever expired since the last tick */
	location_expire(loc, (uint64_t)time(NULL));

	rec = aor_find(loc, aor);

	return rec ? &rec->bindings : NULL;
}


bool location_has_binding_from(struct location *loc, const char *aor,
			       const struct sa *src, uint64_t now)
{
	struct aor *rec;
	struct le *le;

	if (!loc || !aor || !src)
		return false;

	rec = aor_find(loc, aor);
	if (!rec)
		return false;

	LIST_FOREACH(&rec->bindings, le) {
		const struct binding *b = le->data;

		if (b->expires > now && sa_cmp(&b->src, src, SA_ADDR))
			return true;
	}

	return false;
}


void location_apply(struct location *loc, location_apply_h *h, void *arg)
{
	uint64_t now = (uint64_t)time(NULL);
	struct le *le, *ble;

	if (!loc || !h)
		return;

	/* h must not change the location (it runs on our lists) */
	LIST_FOREACH(&loc->aorl, le) {
		const struct aor *rec = le->data;

		LIST_FOREACH(&rec->bindings, ble) {
			const struct binding *b = ble->data;

			if (b->expires > now && h(b, arg))
				return;
		}
	}
}


uint32_t location_count(const struct location *loc)
{
	return loc ? loc->nbindings : 0;
}


uint32_t location_aor_count(const struct location *loc)
{
	return loc ? loc->naors : 0;
}


/* Start-up */

struct load_ctx {
	struct location *loc;
	uint64_t now;
	int err;
};


static int binding_copy(struct binding **bp, const struct binding *src,
			struct aor *rec)
{
	struct binding *b;
	int err;

	b = mem_zalloc(sizeof(*b), binding_destructor);
	if (!b)
		return ENOMEM;

	*b = *src;
	memset(&b->le, 0, sizeof(b->le));
	b->aor = mem_ref(rec->name);
	b->uri = b->callid = b->user_agent = b->instance = NULL;

	err = str_dup(&b->uri, src->uri);
	if (!err)
		err = str_dup(&b->callid, src->callid);
	if (!err && src->user_agent)
		err = str_dup(&b->user_agent, src->user_agent);
	if (!err && src->instance)
		err = str_dup(&b->instance, src->instance);

	if (err) {
		mem_deref(b);
		return err;
	}

	*bp = b;

	return 0;
}


static void load_h(const struct binding *src, void *arg)
{
	struct load_ctx *ctx = arg;
	struct location *loc = ctx->loc;
	struct binding *b;
	struct aor *rec;

	if (ctx->err || src->expires <= ctx->now)
		return;

	rec = aor_find(loc, src->aor);
	if (!rec) {
		ctx->err = aor_alloc(&rec, src->aor);
		if (ctx->err)
			return;
		aor_link(loc, rec);
	}

	ctx->err = binding_copy(&b, src, rec);
	if (ctx->err) {
		aor_drop_if_empty(loc, rec);
		return;
	}

	binding_link(loc, rec, b);
}


static void location_destructor(void *arg)
{
	struct location *loc = arg;

	tmr_cancel(&loc->tmr);
	hash_flush(loc->aors);  /* each AOR unlinks itself from aorl */
	mem_deref(loc->aors);
	mem_deref(loc->st);
}


int location_alloc(struct location **locp, struct store *st,
		   uint32_t max_contacts)
{
	struct load_ctx ctx = { .now = (uint64_t)time(NULL) };
	struct location *loc;
	int err;

	if (!locp || !st)
		return EINVAL;

	loc = mem_zalloc(sizeof(*loc), location_destructor);
	if (!loc)
		return ENOMEM;

	loc->st = mem_ref(st);
	loc->max_contacts = max_contacts;
	loc->next_expiry = UINT64_MAX;
	tmr_init(&loc->tmr);

	err = hash_alloc(&loc->aors, AOR_HASH_SIZE);
	if (err)
		goto out;

	/* Registrations that ran out while we were down are gone */
	err = store_binding_purge(st, ctx.now);
	if (err)
		goto out;

	ctx.loc = loc;
	err = store_binding_load(st, load_h, &ctx);
	if (!err)
		err = ctx.err;
	if (err)
		goto out;

	log_info("location: %u bindings of %u AORs loaded from %s",
		 loc->nbindings, loc->naors, store_path(st));

	tmr_start(&loc->tmr, EXPIRE_TICK_MS, tmr_handler, loc);

 out:
	if (err)
		mem_deref(loc);
	else
		*locp = loc;

	return err;
}

/**
 * @file location_register.c  Location store: applying a REGISTER
 *
 * RFC 3261 10.3 steps 6-8. A request is planned completely (matches,
 * ordering and limit checks, allocations), then written to the store in
 * one transaction, and only then applied to memory, which cannot fail:
 * a store failure leaves memory exactly as it was.
 */
#include <errno.h>
#include "core.h"
#include "store.h"
#include "uri.h"
#include "location.h"
#include "location_int.h"

enum {
	OPS_ON_STACK    = 4,    /* phones send one Contact; more is rare */
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


/* Release the references held by a staged (non-mem) binding. */
static void staged_release(struct binding *b)
{
	b->aor = mem_deref(b->aor);
	b->uri = mem_deref(b->uri);
	b->callid = mem_deref(b->callid);
	b->user_agent = mem_deref(b->user_agent);
	b->instance = mem_deref(b->instance);
}


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
		if (!by_uri && uri_equal(&c->uri, &bu))
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
	if (uri_equal(&later->c->uri, &op->c->uri))
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
	uint32_t before, after, max;
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
	max = req->max_contacts ? req->max_contacts : loc->max_contacts;
	if (max && after > max && after > before) {
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


static int drop_aor(struct location *loc, struct aor *rec)
{
	int err;

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


int location_unregister_all(struct location *loc,
			    const struct location_req *req, uint64_t now)
{
	struct aor *rec;
	struct le *le;

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

	return drop_aor(loc, rec);
}


int location_drop_aor(struct location *loc, const char *aor)
{
	struct aor *rec;

	if (!loc || !aor)
		return EINVAL;

	rec = aor_find(loc, aor);

	return rec ? drop_aor(loc, rec) : 0;
}

/**
 * @file location.c  Location store: AOR -> contact bindings
 *
 * Memory is the working copy, the store is the truth after a restart.
 * Every change is written to the store (one transaction) before memory
 * changes, so a REGISTER is only acknowledged once it would survive a
 * crash, and a store failure leaves memory exactly as it was. That
 * write-then-apply sequence of a REGISTER is in location_register.c.
 */
#include <errno.h>
#include <time.h>
#include "core.h"
#include "store.h"
#include "location.h"
#include "location_int.h"

enum {
	AOR_HASH_SIZE   = 256,
	EXPIRE_TICK_MS  = 1000,
};


/* Objects */

void binding_destructor(void *arg)
{
	struct binding *b = arg;

	list_unlink(&b->le);
	mem_deref(b->aor);
	mem_deref(b->uri);
	mem_deref(b->callid);
	mem_deref(b->user_agent);
	mem_deref(b->instance);
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


struct aor *aor_find(const struct location *loc, const char *name)
{
	struct le *le;

	le = hash_lookup(loc->aors, hash_joaat_str(name), aor_cmp_h,
			 (void *)name);

	return le ? le->data : NULL;
}


int aor_alloc(struct aor **recp, const char *name)
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
void aor_link(struct location *loc, struct aor *rec)
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


void aor_drop_if_empty(struct location *loc, struct aor *rec)
{
	if (!list_isempty(&rec->bindings))
		return;

	--loc->naors;
	mem_deref(rec);
}


void binding_link(struct location *loc, struct aor *rec, struct binding *b)
{
	list_append(&rec->bindings, &b->le, b);
	++loc->nbindings;

	if (b->expires < loc->next_expiry)
		loc->next_expiry = b->expires;
}


void binding_drop(struct location *loc, struct binding *b)
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


static int load(struct location *loc, uint64_t now)
{
	struct load_ctx ctx = { .now = now, .loc = loc };
	int err;

	err = store_binding_load(loc->st, load_h, &ctx);
	if (!err)
		err = ctx.err;

	return err;
}


/* A group commit failed (disk full, I/O error): the bindings in memory
 * that it carried are not on disk, and their REGISTERs were refused.
 * Memory follows the disk again. */
static void lost_handler(void *arg)
{
	struct location *loc = arg;
	int err;

	hash_flush(loc->aors);
	loc->nbindings = 0;
	loc->naors = 0;
	loc->next_expiry = UINT64_MAX;

	err = load(loc, (uint64_t)time(NULL));
	log_error("location: a store commit failed; %u bindings reloaded "
		  "from the store%s", loc->nbindings,
		  err ? " (incompletely)" : "");
}


static void location_destructor(void *arg)
{
	struct location *loc = arg;

	store_set_lost_handler(loc->st, NULL, NULL);
	tmr_cancel(&loc->tmr);
	hash_flush(loc->aors);  /* each AOR unlinks itself from aorl */
	mem_deref(loc->aors);
	mem_deref(loc->st);
}


int location_alloc(struct location **locp, struct store *st,
		   uint32_t max_contacts)
{
	uint64_t now = (uint64_t)time(NULL);
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
	err = store_binding_purge(st, now);
	if (err)
		goto out;

	err = load(loc, now);
	if (err)
		goto out;

	log_info("location: %u bindings of %u AORs loaded from %s",
		 loc->nbindings, loc->naors, store_path(st));

	store_set_lost_handler(st, lost_handler, loc);

	tmr_start(&loc->tmr, EXPIRE_TICK_MS, tmr_handler, loc);

 out:
	if (err)
		mem_deref(loc);
	else
		*locp = loc;

	return err;
}

/**
 * @file location_int.h  Location store, shared by its own files only
 *
 * location.c           the objects, expiry, queries and start-up
 * location_register.c  REGISTER: plan, write to the store, then memory
 *
 * Include after core.h, store.h and location.h.
 */
#ifndef SWITCH_LOCATION_INT_H
#define SWITCH_LOCATION_INT_H

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


void binding_destructor(void *arg);
void binding_link(struct location *loc, struct aor *rec, struct binding *b);
void binding_drop(struct location *loc, struct binding *b);

struct aor *aor_find(const struct location *loc, const char *name);
int  aor_alloc(struct aor **recp, const char *name);
void aor_link(struct location *loc, struct aor *rec);
void aor_drop_if_empty(struct location *loc, struct aor *rec);

#endif

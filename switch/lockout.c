/**
 * @file lockout.c  Lock-out of sources that fail authentication
 *
 * One entry per source address, holding the times of its last
 * max_failures failures (a sliding window: the source locks when the
 * oldest of them is younger than window_s). Entries without a failure in
 * the window, or whose lock ended, are dropped lazily, so in normal
 * operation the table holds only the sources failing right now.
 */
#include "core.h"
#include "lockout.h"


enum {
	MAX_FAILURES_DEFAULT = 5,
	MAX_FAILURES_LIMIT   = 100,   /* bounds the per-entry ring */
	WINDOW_DEFAULT       = 60,
	DURATION_DEFAULT     = 300,
	MAX_ENTRIES_DEFAULT  = 65536,
	USER_SLOTS           = 4,
	USER_LEN             = 24,
};

struct lockout {
	struct lockout_params prm;
	uint64_t window_ms;
	uint64_t duration_ms;
	struct hash *ht;
	struct list idle;     /* unlocked, least recent failure first */
	struct list locked;   /* locked, earliest end first            */
	uint32_t count;
	uint32_t nlocked;
	uint64_t last_ms;     /* newest now_ms seen, for lockout_debug */
};

/* Per-user counts exist only to say who failed when a lock is shown */
struct user_count {
	char name[USER_LEN];
	uint32_t count;
};

struct src {
	struct le he;
	struct le le;             /* in idle or locked */
	struct sa addr;
	uint64_t last_ms;
	uint64_t locked_until;    /* 0 while not locked */
	uint32_t n;               /* failures in ring   */
	uint32_t pos;             /* next ring slot     */
	struct user_count userv[USER_SLOTS];
	uint32_t others;          /* users beyond the slots */
	uint64_t ring[];          /* max_failures failure times */
};


static void src_destructor(void *arg)
{
	struct src *s = arg;

	hash_unlink(&s->he);
	list_unlink(&s->le);
}


static void destructor(void *arg)
{
	struct lockout *l = arg;

	list_flush(&l->idle);
	list_flush(&l->locked);
	mem_deref(l->ht);
}


static void src_free(struct lockout *l, struct src *s)
{
	if (s->locked_until)
		--l->nlocked;
	--l->count;
	mem_deref(s);
}


static void purge(struct lockout *l, uint64_t now_ms)
{
	struct src *s;

	/* One lock duration for all: the locked list is sorted by end */
	while (l->locked.head) {
		s = l->locked.head->data;
		if (now_ms < s->locked_until)
			break;
		src_free(l, s);
	}

	/* No failure within the window: nothing left to count */
	while (l->idle.head) {
		s = l->idle.head->data;
		if (now_ms < s->last_ms + l->window_ms)
			break;
		src_free(l, s);
	}
}


static bool src_cmp_handler(struct le *le, void *arg)
{
	const struct src *s = le->data;

	return sa_cmp(&s->addr, arg, SA_ADDR);
}


static struct src *src_find(const struct lockout *l, const struct sa *addr)
{
	struct le *le;

	le = hash_lookup(l->ht, sa_hash(addr, SA_ADDR), src_cmp_handler,
			 (void *)addr);

	return le ? le->data : NULL;
}


static struct src *src_new(struct lockout *l, const struct sa *addr)
{
	struct src *s;

	/* Bounded memory: forget the stalest unlocked source first; only a
	 * table full of locked sources gives up its oldest lock. */
	if (l->count >= l->prm.max_entries) {
		struct le *victim = l->idle.head ? l->idle.head
						 : l->locked.head;
		if (victim)
			src_free(l, victim->data);
	}

	s = mem_zalloc(sizeof(*s) + l->prm.max_failures * sizeof(s->ring[0]),
		       src_destructor);
	if (!s)
		return NULL;

	sa_cpy(&s->addr, addr);
	sa_set_port(&s->addr, 0);

	hash_append(l->ht, sa_hash(addr, SA_ADDR), &s->he, s);
	list_append(&l->idle, &s->le, s);
	++l->count;

	return s;
}


/* Names come from the network: keep them printable for the log */
static void user_name(char *buf, const struct pl *user)
{
	size_t i, n = 0;

	if (user && user->p)
		n = user->l < USER_LEN - 1 ? user->l : USER_LEN - 1;

	for (i = 0; i < n; i++) {
		char c = user->p[i];
		buf[i] = (c > 0x20 && c < 0x7f) ? c : '?';
	}

	buf[n] = '\0';

	if (!n)
		str_ncpy(buf, "-", USER_LEN);
}


static void user_count(struct src *s, const struct pl *user)
{
	char name[USER_LEN];
	size_t i;

	user_name(name, user);

	for (i = 0; i < USER_SLOTS; i++) {
		struct user_count *uc = &s->userv[i];

		if (!uc->count) {
			memcpy(uc->name, name, sizeof(uc->name));
			uc->count = 1;
			return;
		}

		if (!strcmp(uc->name, name)) {
			++uc->count;
			return;
		}
	}

	++s->others;
}


static void tick(struct lockout *l, uint64_t now_ms)
{
	if (now_ms > l->last_ms)
		l->last_ms = now_ms;

	purge(l, now_ms);
}


int lockout_alloc(struct lockout **lp, const struct lockout_params *prm)
{
	struct lockout *l;
	uint32_t bsize;
	int err;

	if (!lp)
		return EINVAL;

	if (prm && prm->max_failures > MAX_FAILURES_LIMIT)
		return EINVAL;

	l = mem_zalloc(sizeof(*l), destructor);
	if (!l)
		return ENOMEM;

	if (prm)
		l->prm = *prm;

	/* Zero means default, so a config may set only what it changes */
	if (!l->prm.max_failures)
		l->prm.max_failures = MAX_FAILURES_DEFAULT;
	if (!l->prm.window_s)
		l->prm.window_s = WINDOW_DEFAULT;
	if (!l->prm.duration_s)
		l->prm.duration_s = DURATION_DEFAULT;
	if (!l->prm.max_entries)
		l->prm.max_entries = MAX_ENTRIES_DEFAULT;

	l->window_ms   = 1000ull * l->prm.window_s;
	l->duration_ms = 1000ull * l->prm.duration_s;
	list_init(&l->idle);
	list_init(&l->locked);

	bsize = l->prm.max_entries / 8;
	bsize = bsize < 16 ? 16 : bsize > 8192 ? 8192 : bsize;

	err = hash_alloc(&l->ht, hash_valid_size(bsize));
	if (err)
		goto out;

 out:
	if (err)
		mem_deref(l);
	else
		*lp = l;

	return err;
}


bool lockout_is_locked(struct lockout *l, const struct sa *src,
		       uint64_t now_ms)
{
	struct src *s;

	if (!l || !src || !sa_isset(src, SA_ADDR))
		return false;

	tick(l, now_ms);

	s = src_find(l, src);

	return s && s->locked_until && now_ms < s->locked_until;
}


bool lockout_fail(struct lockout *l, const struct sa *src,
		  const struct pl *user, uint64_t now_ms)
{
	struct src *s;
	uint64_t oldest;

	if (!l || !src || !sa_isset(src, SA_ADDR))
		return false;

	tick(l, now_ms);

	s = src_find(l, src);
	if (s && s->locked_until) {

		/* Already locked: it is not extended, so that one bad
		 * phone cannot keep its address locked for ever; but the
		 * user is counted, so that guessing the password of a user
		 * exempt from the lock (lockout_user_failures) ends too. */
		if (now_ms < s->locked_until) {
			user_count(s, user);
			return false;
		}

		/* The lock ended (purge stops at the first live lock, so an
		 * entry locked under an earlier clock may linger); start
		 * over. */
		src_free(l, s);
		s = NULL;
	}

	if (!s) {
		s = src_new(l, src);
		if (!s)
			return false;
	}

	s->ring[s->pos] = now_ms;
	s->pos = (s->pos + 1) % l->prm.max_failures;
	if (s->n < l->prm.max_failures)
		++s->n;

	s->last_ms = now_ms;
	user_count(s, user);

	/* Keep the idle list sorted by last failure */
	list_unlink(&s->le);
	list_append(&l->idle, &s->le, s);

	if (s->n < l->prm.max_failures)
		return false;

	/* The ring is full: pos is the oldest of the last max_failures */
	oldest = s->ring[s->pos];
	if (now_ms >= oldest + l->window_ms)
		return false;

	s->locked_until = now_ms + l->duration_ms;
	list_unlink(&s->le);
	list_append(&l->locked, &s->le, s);
	++l->nlocked;

	return true;
}


uint32_t lockout_user_failures(struct lockout *l, const struct sa *src,
			       const struct pl *user, uint64_t now_ms)
{
	char name[USER_LEN];
	struct src *s;
	size_t i;

	if (!l || !src || !sa_isset(src, SA_ADDR))
		return 0;

	tick(l, now_ms);

	s = src_find(l, src);
	if (!s)
		return 0;

	user_name(name, user);
	for (i = 0; i < USER_SLOTS && s->userv[i].count; i++) {
		if (!strcmp(s->userv[i].name, name))
			return s->userv[i].count;
	}

	/* not in a slot: as many as the users we could not name */
	return s->others;
}


void lockout_success(struct lockout *l, const struct sa *src,
		     const struct pl *user, uint64_t now_ms)
{
	(void)l;
	(void)src;
	(void)user;
	(void)now_ms;
}


uint32_t lockout_locked_count(struct lockout *l, uint64_t now_ms)
{
	if (!l)
		return 0;

	tick(l, now_ms);

	return l->nlocked;
}


int lockout_debug(struct re_printf *pf, const struct lockout *l)
{
	struct le *le;
	int err;

	if (!l)
		return 0;

	err = re_hprintf(pf, "lockout: %u sources tracked, %u locked"
			 " (%u failures in %us lock for %us, max %u)\n",
			 l->count, l->nlocked, l->prm.max_failures,
			 l->prm.window_s, l->prm.duration_s,
			 l->prm.max_entries);

	LIST_FOREACH(&l->locked, le) {
		const struct src *s = le->data;
		uint64_t left = s->locked_until > l->last_ms ?
			s->locked_until - l->last_ms : 0;
		size_t i;

		err |= re_hprintf(pf, "  %j locked for %llus more:",
				  &s->addr,
				  (unsigned long long)((left + 999) / 1000));

		for (i = 0; i < USER_SLOTS && s->userv[i].count; i++) {
			err |= re_hprintf(pf, " %s x%u", s->userv[i].name,
					  s->userv[i].count);
		}

		if (s->others)
			err |= re_hprintf(pf, " (others) x%u", s->others);

		err |= re_hprintf(pf, "\n");
	}

	return err;
}

/**
 * @file tmrheap.c  libre's timers on a binary heap instead of a sorted list
 *
 * libre 1.1.0 keeps the timers of a thread in one list sorted by expiry;
 * tmr_start() finds the place by walking it (from the end; from the
 * start for a delay of 0). On UDP every call leaves a 32 s Timer J
 * behind its BYE (RFC 3261 17.2.2), so at hundreds of calls a second
 * there are tens of thousands of timers and each new one - every SIP
 * transaction starts two - walked thousands of them (perf: 69 % of the
 * signalling thread in list_apply at 600 calls/s).
 *
 * libre calls tmr_start(), tmr_cancel() (= tmr_start(t, 0, NULL, NULL)),
 * tmr_poll() and tmr_next_timeout() through its PLT, so the definitions
 * in the executable take their place, as sipdecode.c does for
 * sip_msg_decode(). Here the running timers of a thread are a binary
 * min-heap (four children a node, the keys stored in the heap) ordered
 * by expiry and then by start order (libre's list kept equal expiries
 * in start order too): start, cancel and expiry are O(log n). The fields the rest of libre reads keep their meaning: th is
 * NULL when a timer is not running (tmr_isrunning), jfs is its expiry
 * (tmr_get_expire). A running timer's list element, which nothing else
 * reads, holds its place in the heap (le.prev). The list libre passes
 * to tmr_poll() stays empty.
 *
 * Only the switchboard binary and test_tmrheap link this file.
 */
#include <stdlib.h>
#include "core.h"
#include "tmrheap.h"

/* The keys live in the heap, next to the pointer: comparing two entries
 * touches no timer (each timer is somewhere in a libre object: a cache
 * miss). Four children per node halve the levels. */
struct entry {
	uint64_t jfs;
	uint64_t seq;
	struct tmr *t;
};

struct theap {
	struct entry *v;
	size_t n, cap;
	uint64_t seq;
};

enum { ARITY = 4 };

/* one heap per thread, as libre has one list per thread */
static __thread struct theap heap;


static size_t pos_of(const struct tmr *t)
{
	return (size_t)(uintptr_t)t->le.prev;     /* index + 1 */
}


static void put(size_t i, const struct entry *e)
{
	heap.v[i] = *e;
	e->t->le.prev = (struct le *)(uintptr_t)(i + 1);
}


static bool before(const struct entry *a, const struct entry *b)
{
	if (a->jfs != b->jfs)
		return a->jfs < b->jfs;

	return a->seq < b->seq;
}


static void sift_up(size_t i, const struct entry *e)
{
	while (i > 0) {
		size_t parent = (i - 1) / ARITY;

		if (!before(e, &heap.v[parent]))
			break;

		put(i, &heap.v[parent]);
		i = parent;
	}

	put(i, e);
}


static void sift_down(size_t i, const struct entry *e)
{
	for (;;) {
		size_t c = ARITY * i + 1, best, k;

		if (c >= heap.n)
			break;

		best = c;
		for (k = c + 1; k < c + ARITY && k < heap.n; k++) {
			if (before(&heap.v[k], &heap.v[best]))
				best = k;
		}

		if (!before(&heap.v[best], e))
			break;

		put(i, &heap.v[best]);
		i = best;
	}

	put(i, e);
}


static void heap_remove(struct tmr *t)
{
	size_t i = pos_of(t);
	struct entry last;

	if (!i || i > heap.n || heap.v[i - 1].t != t)
		return;                 /* not ours: never started here */

	--i;
	last = heap.v[--heap.n];
	t->le.prev = NULL;

	if (i < heap.n) {
		if (i > 0 && before(&last, &heap.v[(i - 1) / ARITY]))
			sift_up(i, &last);
		else
			sift_down(i, &last);
	}

	if (!heap.n) {
		free(heap.v);
		heap.v = NULL;
		heap.cap = 0;
	}
}


static bool heap_push(struct tmr *t)
{
	struct entry e;

	if (heap.n == heap.cap) {
		size_t cap = heap.cap ? 2 * heap.cap : 256;
		struct entry *v = realloc(heap.v, cap * sizeof(*v));

		if (!v)
			return false;
		heap.v = v;
		heap.cap = cap;
	}

	e.jfs = t->jfs;
	e.seq = ++heap.seq;
	e.t = t;
	sift_up(heap.n++, &e);

	return true;
}


void tmr_start(struct tmr *tmr, uint64_t delay, tmr_h *th, void *arg)
{
	if (!tmr)
		return;

	if (tmr->th)
		heap_remove(tmr);

	tmr->th  = th;
	tmr->arg = arg;

	if (!th)
		return;

	tmr->jfs = tmr_jiffies() + delay;

	if (!heap_push(tmr)) {
		log_error("timers: out of memory, a timer of %llu ms is lost",
			  (unsigned long long)delay);
		tmr->th = NULL;
	}
}


void tmr_cancel(struct tmr *tmr)
{
	tmr_start(tmr, 0, NULL, NULL);
}


void tmr_poll(struct list *tmrl)
{
	uint64_t now = tmr_jiffies();
	(void)tmrl;

	while (heap.n && heap.v[0].jfs <= now) {
		struct tmr *t = heap.v[0].t;
		tmr_h *th = t->th;
		void *arg = t->arg;

		heap_remove(t);
		t->th = NULL;

		if (th)
			th(arg);
	}
}


uint64_t tmr_next_timeout(struct list *tmrl)
{
	uint64_t now = tmr_jiffies();
	uint64_t jfs;
	(void)tmrl;

	if (!heap.n)
		return 0;

	jfs = heap.v[0].jfs;

	return jfs > now ? jfs - now : 1;
}


size_t tmrheap_count(void)
{
	return heap.n;
}

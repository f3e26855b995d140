/**
 * @file wheel.c  A hashed timing wheel on top of one libre timer
 *
 * SLOTS lists, one per tick; a timer goes in the slot of the tick it is
 * due in and waits there for as many turns of the wheel as it needs
 * (its due time says when: a slot's timers not due yet stay). The tick
 * visits every slot from the last visited up to now, so a late tick
 * (a busy loop) loses nothing.
 */
#include <time.h>
#include "core.h"
#include "wheel.h"

enum {
	WHEEL_TICK_MS = 20,
	SLOTS         = 2048,   /* 41 s a turn */
};

static struct {
	struct list slot[SLOTS];
	struct tmr tick;
	uint64_t next;          /* the next tick (ms / WHEEL_TICK_MS) to run */
	uint32_t count;
	bool ticking;
} wheel;


static uint64_t mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


static void tick_handler(void *arg);

static void tick_start(void)
{
	if (wheel.ticking)
		return;

	wheel.ticking = true;
	tmr_start(&wheel.tick, WHEEL_TICK_MS, tick_handler, NULL);
}


static void tick_handler(void *arg)
{
	uint64_t now = mono_ms();
	uint64_t upto = now / WHEEL_TICK_MS;
	struct list due = LIST_INIT;
	(void)arg;

	wheel.ticking = false;

	/* at most one turn: beyond that every slot has been seen */
	if (wheel.next > upto)
		upto = wheel.next - 1;      /* early: nothing to run yet */
	else if (upto - wheel.next >= SLOTS)
		wheel.next = upto - SLOTS + 1;

	/* first take out what is due, then fire it: a handler may cancel
	 * or free any other timer, also one due in this very tick */
	for (; wheel.next <= upto; wheel.next++) {
		struct list *l = &wheel.slot[wheel.next % SLOTS];
		struct le *le = l->head;

		while (le) {
			struct wtmr *t = le->data;

			le = le->next;
			if (t->due > now)
				continue;

			list_unlink(&t->le);
			list_append(&due, &t->le, t);
		}
	}

	while (due.head) {
		struct wtmr *t = due.head->data;
		wtmr_h *h = t->h;

		list_unlink(&t->le);
		t->h = NULL;
		--wheel.count;
		h(t->arg);
	}

	if (wheel.count)
		tick_start();
}


void wtmr_init(struct wtmr *t)
{
	if (t)
		memset(t, 0, sizeof(*t));
}


void wtmr_cancel(struct wtmr *t)
{
	if (!t || !t->h)
		return;

	list_unlink(&t->le);
	t->h = NULL;
	--wheel.count;
}


void wtmr_start(struct wtmr *t, uint64_t ms, wtmr_h *h, void *arg)
{
	uint64_t now, slot;

	if (!t)
		return;

	wtmr_cancel(t);
	if (!h)
		return;

	now = mono_ms();
	if (!wheel.count && !wheel.ticking)
		wheel.next = now / WHEEL_TICK_MS;

	t->due = now + ms;
	t->h = h;
	t->arg = arg;

	/* the first tick at or after the due time (a tick runs slot s once
	 * now >= s x TICK), never one the wheel has already passed */
	slot = (t->due + WHEEL_TICK_MS - 1) / WHEEL_TICK_MS;
	if (slot < wheel.next)
		slot = wheel.next;

	list_append(&wheel.slot[slot % SLOTS], &t->le, t);
	++wheel.count;
	tick_start();
}


bool wtmr_isrunning(const struct wtmr *t)
{
	return t && t->h;
}


uint32_t wheel_count(void)
{
	return wheel.count;
}


void wheel_close(void)
{
	size_t i;

	for (i = 0; i < SLOTS; i++) {
		struct le *le;

		while ((le = wheel.slot[i].head)) {
			struct wtmr *t = le->data;

			list_unlink(le);
			t->h = NULL;
		}
	}

	tmr_cancel(&wheel.tick);
	wheel.ticking = false;
	wheel.count = 0;
}

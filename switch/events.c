/**
 * @file events.c  A small publish/subscribe bus inside the process
 *
 * Handlers may do anything to the bus while it publishes: deref their own
 * subscription or another one (the next in line included), subscribe, or
 * publish again. A publish keeps a cursor on the subscription it will call
 * next; a subscription that goes away moves every cursor pointing at it
 * on, so the walk never touches freed memory. Subscriptions made during a
 * publish see the next event, not the one in flight (their seq is past the
 * publish's horizon).
 */
#include "core.h"
#include "events.h"


/* One publish in progress; nested publishes form a stack */
struct cursor {
	struct le *next;           /* the subscription to call next */
	struct cursor *outer;
};

struct events {
	struct list subs;          /* struct events_sub, in order */
	struct cursor *cursor;     /* innermost publish, or NULL */
	uint64_t seq;
};

struct events_sub {
	struct le le;
	struct events *ev;         /* mem_ref'd: outlives its subs */
	uint64_t seq;              /* order of subscription */
	unsigned mask;
	events_h *h;
	void *arg;
};


static void sub_destructor(void *arg)
{
	struct events_sub *sub = arg;
	struct cursor *c;

	for (c = sub->ev->cursor; c; c = c->outer) {
		if (c->next == &sub->le)
			c->next = sub->le.next;
	}

	list_unlink(&sub->le);
	mem_deref(sub->ev);
}


int events_alloc(struct events **evp)
{
	struct events *ev;

	if (!evp)
		return EINVAL;

	ev = mem_zalloc(sizeof(*ev), NULL);
	if (!ev)
		return ENOMEM;

	list_init(&ev->subs);
	*evp = ev;

	return 0;
}


int events_subscribe(struct events_sub **subp, struct events *ev,
		     unsigned mask, events_h *h, void *arg)
{
	const unsigned all = (1u << EVENT_TYPES) - 1;
	struct events_sub *sub;

	if (!subp || !ev || !h || !(mask & all))
		return EINVAL;

	sub = mem_zalloc(sizeof(*sub), sub_destructor);
	if (!sub)
		return ENOMEM;

	sub->ev   = mem_ref(ev);
	sub->seq  = ev->seq++;
	sub->mask = mask & all;
	sub->h    = h;
	sub->arg  = arg;
	list_append(&ev->subs, &sub->le, sub);

	*subp = sub;

	return 0;
}


void events_publish(struct events *ev, enum event_type type,
		    const void *payload)
{
	struct cursor cur;
	uint64_t horizon;

	if (!ev || (unsigned)type >= EVENT_TYPES)
		return;

	/* a handler may drop the last reference to the bus */
	mem_ref(ev);

	horizon = ev->seq;
	cur.next = list_head(&ev->subs);
	cur.outer = ev->cursor;
	ev->cursor = &cur;

	while (cur.next) {
		struct events_sub *sub = cur.next->data;

		/* appended in order: the rest subscribed during this
		 * publish */
		if (sub->seq >= horizon)
			break;

		cur.next = cur.next->next;

		if (sub->mask & (1u << type))
			sub->h(type, payload, sub->arg);
	}

	ev->cursor = cur.outer;
	mem_deref(ev);
}

/**
 * @file test_events.c  The in-process event bus (switch/events.c)
 *
 * Handlers that change the bus while it publishes are the point: each
 * case does one such change and checks who was called. Memory errors
 * (a freed subscription touched) show under -fsanitize=address, as do
 * leaks: libre 1.1.0 as packaged has no MEM_DEBUG for mem_get_stat().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "core.h"
#include "events.h"


#define ALL ((1u << EVENT_TYPES) - 1)

/* What the handlers did, in order: "a1 b1 ..." (name, event type) */
struct rec {
	char log[256];
	struct events *ev;
	struct events_sub *subv[4];
	const void *payload;
	bool payload_ok;
};

struct hctx {
	struct rec *r;
	char name;
	int idx;           /* this handler's own slot in r->subv */
	int victim;        /* slot to deref during the handler, or -1 */
	int add;           /* slot to subscribe into, or -1 */
	bool republish;
	bool drop_bus;
};


static void note(struct rec *r, char name, enum event_type type)
{
	size_t n = strlen(r->log);

	(void)re_snprintf(r->log + n, sizeof(r->log) - n, "%s%c%d",
			  n ? " " : "", name, (int)type);
}


static void plain_h(enum event_type type, const void *payload, void *arg)
{
	struct hctx *h = arg;

	note(h->r, h->name, type);
	if (payload == h->r->payload)
		h->r->payload_ok = true;
}


static struct hctx added_ctx;

static void action_h(enum event_type type, const void *payload, void *arg)
{
	struct hctx *h = arg;
	struct rec *r = h->r;

	note(r, h->name, type);

	if (h->victim >= 0)
		r->subv[h->victim] = mem_deref(r->subv[h->victim]);

	if (h->add >= 0 && !r->subv[h->add]) {
		added_ctx.r = r;
		added_ctx.name = 'n';
		assert_int_equal(events_subscribe(&r->subv[h->add], r->ev,
						  ALL, plain_h, &added_ctx),
				 0);
	}

	if (h->republish && type == EVENT_CALL_STARTED)
		events_publish(r->ev, EVENT_CALL_ANSWERED, payload);

	if (h->drop_bus)
		r->ev = mem_deref(r->ev);
}


static void sub(struct rec *r, int slot, unsigned mask, events_h *h,
		struct hctx *ctx)
{
	ctx->r = r;
	ctx->idx = slot;
	assert_int_equal(events_subscribe(&r->subv[slot], r->ev, mask, h,
					  ctx), 0);
}


static void init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(events_alloc(&r->ev), 0);
}


static void fini(struct rec *r)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(r->subv); i++)
		r->subv[i] = mem_deref(r->subv[i]);
	r->ev = mem_deref(r->ev);
}


static void test_order_and_mask(void **state)
{
	struct hctx a = {.name = 'a'}, b = {.name = 'b'}, c = {.name = 'c'};
	struct call_event ce = {.id = "x"};
	struct rec r;
	(void)state;

	init(&r);
	sub(&r, 0, ALL, plain_h, &a);
	sub(&r, 1, 1u << EVENT_CALL_ENDED, plain_h, &b);
	sub(&r, 2, (1u << EVENT_CALL_STARTED) | (1u << EVENT_CALL_ENDED),
	    plain_h, &c);

	r.payload = &ce;
	events_publish(r.ev, EVENT_CALL_STARTED, &ce);
	events_publish(r.ev, EVENT_CALL_ANSWERED, &ce);
	events_publish(r.ev, EVENT_CALL_ENDED, &ce);
	assert_string_equal(r.log, "a0 c0 a1 a2 b2 c2");
	assert_true(r.payload_ok);

	/* out of range: nobody */
	r.log[0] = '\0';
	events_publish(r.ev, EVENT_TYPES, &ce);
	events_publish(r.ev, (enum event_type)-1, &ce);
	events_publish(NULL, EVENT_CALL_ENDED, &ce);
	assert_string_equal(r.log, "");

	/* unsubscribed: no longer called, the others still in order */
	r.subv[0] = mem_deref(r.subv[0]);
	events_publish(r.ev, EVENT_CALL_ENDED, &ce);
	assert_string_equal(r.log, "b2 c2");

	fini(&r);
}


static void test_bad_args(void **state)
{
	struct events *ev = NULL;
	struct events_sub *s = NULL;
	struct hctx a = {.name = 'a'};
	(void)state;

	assert_int_equal(events_alloc(NULL), EINVAL);
	assert_int_equal(events_alloc(&ev), 0);

	assert_int_equal(events_subscribe(NULL, ev, ALL, plain_h, &a),
			 EINVAL);
	assert_int_equal(events_subscribe(&s, NULL, ALL, plain_h, &a),
			 EINVAL);
	assert_int_equal(events_subscribe(&s, ev, ALL, NULL, &a), EINVAL);
	assert_int_equal(events_subscribe(&s, ev, 0, plain_h, &a), EINVAL);
	assert_int_equal(events_subscribe(&s, ev, 1u << EVENT_TYPES,
					  plain_h, &a), EINVAL);
	assert_null(s);

	/* an empty bus publishes to nobody */
	events_publish(ev, EVENT_CALL_ENDED, NULL);

	mem_deref(ev);
}


/* A handler that drops its own subscription: the next still runs */
static void test_deref_self(void **state)
{
	struct hctx a = {.name = 'a', .victim = 0, .add = -1};
	struct hctx b = {.name = 'b', .victim = -1, .add = -1};
	struct rec r;
	(void)state;

	init(&r);
	sub(&r, 0, ALL, action_h, &a);
	sub(&r, 1, ALL, action_h, &b);

	events_publish(r.ev, EVENT_CALL_ENDED, NULL);
	assert_string_equal(r.log, "a2 b2");
	assert_null(r.subv[0]);

	events_publish(r.ev, EVENT_CALL_ENDED, NULL);
	assert_string_equal(r.log, "a2 b2 b2");

	fini(&r);
}


/* A handler that drops the next subscription: it is not called, the one
 * after it is */
static void test_deref_next(void **state)
{
	struct hctx a = {.name = 'a', .victim = 1, .add = -1};
	struct hctx b = {.name = 'b', .victim = -1, .add = -1};
	struct hctx c = {.name = 'c', .victim = -1, .add = -1};
	struct rec r;
	(void)state;

	init(&r);
	sub(&r, 0, ALL, action_h, &a);
	sub(&r, 1, ALL, action_h, &b);
	sub(&r, 2, ALL, action_h, &c);

	events_publish(r.ev, EVENT_CALL_ENDED, NULL);
	assert_string_equal(r.log, "a2 c2");

	fini(&r);
}


/* The last handler drops itself and the one before it */
static void test_deref_all(void **state)
{
	struct hctx a = {.name = 'a', .victim = -1, .add = -1};
	struct hctx b = {.name = 'b', .victim = 0, .add = -1};
	struct rec r;
	(void)state;

	init(&r);
	sub(&r, 0, ALL, action_h, &a);
	sub(&r, 1, ALL, action_h, &b);

	/* b drops a, then (second round) there is nothing before b */
	events_publish(r.ev, EVENT_CALL_ENDED, NULL);
	b.victim = 1;
	events_publish(r.ev, EVENT_CALL_ENDED, NULL);
	assert_string_equal(r.log, "a2 b2 b2");
	assert_null(r.subv[0]);
	assert_null(r.subv[1]);

	events_publish(r.ev, EVENT_CALL_ENDED, NULL);
	assert_string_equal(r.log, "a2 b2 b2");

	fini(&r);
}


/* A subscription made during a publish gets the next event only */
static void test_subscribe_during_publish(void **state)
{
	struct hctx a = {.name = 'a', .victim = -1, .add = 2};
	struct hctx b = {.name = 'b', .victim = -1, .add = -1};
	struct rec r;
	(void)state;

	init(&r);
	sub(&r, 0, ALL, action_h, &a);
	sub(&r, 1, ALL, action_h, &b);

	events_publish(r.ev, EVENT_CALL_STARTED, NULL);
	assert_string_equal(r.log, "a0 b0");
	assert_non_null(r.subv[2]);

	events_publish(r.ev, EVENT_CALL_ENDED, NULL);
	assert_string_equal(r.log, "a0 b0 a2 b2 n2");

	fini(&r);
}


/* A handler publishes again; the inner publish drops a subscription the
 * outer one has not reached yet */
static void test_nested_publish(void **state)
{
	struct hctx a = {.name = 'a', .victim = -1, .add = -1,
			 .republish = true};
	struct hctx b = {.name = 'b', .victim = 2, .add = -1};
	struct hctx c = {.name = 'c', .victim = -1, .add = -1};
	struct rec r;
	(void)state;

	init(&r);
	sub(&r, 0, ALL, action_h, &a);
	sub(&r, 1, 1u << EVENT_CALL_ANSWERED, action_h, &b);
	sub(&r, 2, ALL, action_h, &c);

	/* a0 -> publish 1: a1 b1 (b drops c) -> back in 0: b does not
	 * want 0, c is gone */
	events_publish(r.ev, EVENT_CALL_STARTED, NULL);
	assert_string_equal(r.log, "a0 a1 b1");
	assert_null(r.subv[2]);

	fini(&r);
}


/* A handler drops the last reference to the bus: the publish finishes,
 * the subscriptions keep working until they are dropped */
static void test_drop_bus_during_publish(void **state)
{
	struct hctx a = {.name = 'a', .victim = -1, .add = -1,
			 .drop_bus = true};
	struct hctx b = {.name = 'b', .victim = -1, .add = -1};
	struct rec r;
	(void)state;

	init(&r);
	sub(&r, 0, ALL, action_h, &a);
	sub(&r, 1, ALL, action_h, &b);

	events_publish(r.ev, EVENT_CALL_ENDED, NULL);
	assert_string_equal(r.log, "a2 b2");
	assert_null(r.ev);

	/* subscriptions hold the bus; dropping them frees it (ASan) */
	fini(&r);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_mask),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_deref_self),
		cmocka_unit_test(test_deref_next),
		cmocka_unit_test(test_deref_all),
		cmocka_unit_test(test_subscribe_during_publish),
		cmocka_unit_test(test_nested_publish),
		cmocka_unit_test(test_drop_bus_during_publish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/**
 * @file test_location.c  Unit tests for the location store
 *
 * RFC 3261 10.3 steps 6-8 (Call-ID/CSeq ordering, add/refresh/remove,
 * limits), RFC 5626 instance matching, expiry, and reload from the store.
 */
#include "core.h"
#include "location.h"
#include "store.h"

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <sqlite3.h>
#include <cmocka.h>
#include "unit_util.h"

enum { MAX_CONTACTS = 3 };

struct fixture {
	char dir[64];
	struct store *st;
	struct location *loc;
	uint64_t now;          /* the real clock: lookup and load use it */
};


static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;

	strcpy(f->dir, "/tmp/sb-test-location-XXXXXX");
	if (!mkdtemp(f->dir))
		goto fail;
	if (store_open(&f->st, f->dir))
		goto fail;
	if (location_alloc(&f->loc, f->st, MAX_CONTACTS))
		goto fail;

	f->now = (uint64_t)time(NULL);
	*state = f;

	return 0;

 fail:
	mem_deref(f->st);
	free(f);
	return -1;
}


static int teardown(void **state)
{
	struct fixture *f = *state;

	mem_deref(f->loc);
	mem_deref(f->st);
	rm_tree(f->dir);
	free(f);

	return 0;
}


static struct location_req req_make(const char *aor, const char *callid,
				    uint32_t cseq)
{
	struct location_req req;

	memset(&req, 0, sizeof(req));
	req.aor = aor;
	pl_set_str(&req.callid, callid);
	req.cseq = cseq;
	sa_set_str(&req.src, "192.0.2.10", 5062);
	sa_set_str(&req.laddr, "127.0.0.1", 5060);
	req.tp = SIP_TRANSP_UDP;
	pl_set_str(&req.user_agent, "TestPhone/1.0");

	return req;
}


static struct location_contact contact_make(const char *uri,
					    uint32_t expires)
{
	struct location_contact c;

	memset(&c, 0, sizeof(c));
	pl_set_str(&c.uri, uri);
	c.expires = expires;
	c.q = 1000;

	return c;
}


/* Register one contact */
static int reg1(struct fixture *f, const char *aor, const char *callid,
		uint32_t cseq, const char *uri, uint32_t expires, uint64_t now)
{
	struct location_req req = req_make(aor, callid, cseq);
	struct location_contact c = contact_make(uri, expires);

	return location_register(f->loc, &req, &c, 1, now);
}


static const struct binding *find_uri(const struct list *l, const char *uri)
{
	struct le *le;

	LIST_FOREACH(l, le) {
		const struct binding *b = le->data;

		if (!strcmp(b->uri, uri))
			return b;
	}

	return NULL;
}


static void count_h(const struct binding *b, void *arg)
{
	(void)b;
	++*(unsigned *)arg;
}


static unsigned stored(struct fixture *f)
{
	unsigned n = 0;

	assert_int_equal(store_binding_load(f->st, count_h, &n), 0);

	return n;
}


static void test_register_lookup(void **state)
{
	struct fixture *f = *state;
	const struct binding *b;
	const struct list *l;
	struct sa sa;

	assert_int_equal(reg1(f, "1001", "cid-a", 1, "sip:1001@192.0.2.10:5062",
			      3600, f->now), 0);

	l = location_lookup(f->loc, "1001");
	assert_non_null(l);
	assert_int_equal(list_count(l), 1);
	b = list_head(l)->data;
	assert_string_equal(b->aor, "1001");
	assert_string_equal(b->uri, "sip:1001@192.0.2.10:5062");
	assert_string_equal(b->callid, "cid-a");
	assert_int_equal(b->cseq, 1);
	assert_int_equal(b->expires, f->now + 3600);
	assert_int_equal(b->updated, f->now);
	assert_int_equal(b->q, 1000);
	assert_int_equal(b->tp, SIP_TRANSP_UDP);
	assert_string_equal(b->user_agent, "TestPhone/1.0");
	assert_null(b->instance);
	sa_set_str(&sa, "192.0.2.10", 5062);
	assert_true(sa_cmp(&b->src, &sa, SA_ALL));

	assert_null(location_lookup(f->loc, "1002"));
	assert_int_equal(location_count(f->loc), 1);
	assert_int_equal(location_aor_count(f->loc), 1);
	assert_int_equal(stored(f), 1);
}


static void test_refresh_extends(void **state)
{
	struct fixture *f = *state;
	const struct binding *b;
	const char *uri = "sip:1001@192.0.2.10:5062";

	assert_int_equal(reg1(f, "1001", "cid-a", 1, uri, 3600, f->now), 0);
	assert_int_equal(reg1(f, "1001", "cid-a", 2, uri, 3600, f->now + 100),
			 0);

	assert_int_equal(location_count(f->loc), 1);
	b = find_uri(location_lookup(f->loc, "1001"), uri);
	assert_non_null(b);
	assert_int_equal(b->expires, f->now + 100 + 3600);
	assert_int_equal(b->updated, f->now + 100);
	assert_int_equal(b->cseq, 2);
	assert_int_equal(stored(f), 1);
}


static void test_second_contact(void **state)
{
	struct fixture *f = *state;
	const struct list *l;

	assert_int_equal(reg1(f, "1001", "cid-a", 1, "sip:1001@192.0.2.10",
			      3600, f->now), 0);
	assert_int_equal(reg1(f, "1001", "cid-b", 1, "sip:1001@192.0.2.20",
			      1800, f->now), 0);

	l = location_lookup(f->loc, "1001");
	assert_int_equal(list_count(l), 2);
	assert_non_null(find_uri(l, "sip:1001@192.0.2.10"));
	assert_int_equal(find_uri(l, "sip:1001@192.0.2.20")->expires,
			 f->now + 1800);
	assert_int_equal(location_count(f->loc), 2);
	assert_int_equal(location_aor_count(f->loc), 1);
	assert_int_equal(stored(f), 2);
}


/* Several contacts in one REGISTER go in together */
static void test_multi_contact(void **state)
{
	struct fixture *f = *state;
	struct location_req req = req_make("1001", "cid-m", 1);
	struct location_contact cv[3];
	const struct list *l;

	cv[0] = contact_make("sip:1001@192.0.2.1", 3600);
	cv[1] = contact_make("sip:1001@192.0.2.2", 3600);
	cv[1].q = 500;
	/* the same contact twice: the last one wins */
	cv[2] = contact_make("SIP:1001@192.0.2.1", 60);

	assert_int_equal(location_register(f->loc, &req, cv, 3, f->now), 0);

	l = location_lookup(f->loc, "1001");
	assert_int_equal(list_count(l), 2);
	assert_int_equal(find_uri(l, "sip:1001@192.0.2.2")->q, 500);
	assert_int_equal(find_uri(l, "SIP:1001@192.0.2.1")->expires,
			 f->now + 60);
	assert_int_equal(stored(f), 2);
}


/* A request's own limit (a user's max-contacts) overrides the default */
static void test_max_contacts_per_request(void **state)
{
	struct fixture *f = *state;
	struct location_req req = req_make("1002", "cid-1", 1);
	struct location_contact c;

	req.max_contacts = 1;
	c = contact_make("sip:1002@192.0.2.1", 3600);
	assert_int_equal(location_register(f->loc, &req, &c, 1, f->now), 0);

	pl_set_str(&req.callid, "cid-2");
	c = contact_make("sip:1002@192.0.2.2", 3600);
	assert_int_equal(location_register(f->loc, &req, &c, 1, f->now),
			 EOVERFLOW);

	/* a larger own limit than the default is honoured too */
	req.max_contacts = MAX_CONTACTS + 1;
	assert_int_equal(location_register(f->loc, &req, &c, 1, f->now), 0);
	assert_int_equal(list_count(location_lookup(f->loc, "1002")), 2);
}


/* RFC 3261 10.3 step 8 (local policy): the limit is all or nothing */
static void test_max_contacts(void **state)
{
	struct fixture *f = *state;
	struct location_req req = req_make("1001", "cid-x", 1);
	struct location_contact cv[2];
	const struct list *l;
	char uri[64];
	int i;

	for (i = 0; i < MAX_CONTACTS; i++) {
		re_snprintf(uri, sizeof(uri), "sip:1001@192.0.2.%d", i + 1);
		assert_int_equal(reg1(f, "1001", uri, 1, uri, 3600, f->now),
				 0);
	}

	assert_int_equal(reg1(f, "1001", "cid-new", 1, "sip:1001@192.0.2.99",
			      3600, f->now), EOVERFLOW);

	/* with a refresh in the same request: still nothing changes */
	cv[0] = contact_make("sip:1001@192.0.2.1", 7200);
	cv[1] = contact_make("sip:1001@192.0.2.99", 3600);
	pl_set_str(&req.callid, "sip:1001@192.0.2.1");
	req.cseq = 2;
	assert_int_equal(location_register(f->loc, &req, cv, 2, f->now + 10),
			 EOVERFLOW);

	l = location_lookup(f->loc, "1001");
	assert_int_equal(list_count(l), MAX_CONTACTS);
	assert_null(find_uri(l, "sip:1001@192.0.2.99"));
	assert_int_equal(find_uri(l, "sip:1001@192.0.2.1")->expires,
			 f->now + 3600);
	assert_int_equal(find_uri(l, "sip:1001@192.0.2.1")->cseq, 1);
	assert_int_equal(location_count(f->loc), MAX_CONTACTS);
	assert_int_equal(stored(f), MAX_CONTACTS);

	/* at the limit, a refresh passes, and so does a swap of one
	 * contact for another */
	assert_int_equal(location_register(f->loc, &req, cv, 1, f->now + 10),
			 0);
	cv[0].expires = 0;
	req.cseq = 3;
	assert_int_equal(location_register(f->loc, &req, cv, 2, f->now + 10),
			 0);
	l = location_lookup(f->loc, "1001");
	assert_int_equal(list_count(l), MAX_CONTACTS);
	assert_null(find_uri(l, "sip:1001@192.0.2.1"));
	assert_non_null(find_uri(l, "sip:1001@192.0.2.99"));
	assert_int_equal(stored(f), MAX_CONTACTS);
}


/* RFC 3261 10.3 step 7: same Call-ID, CSeq not higher: request fails */
static void test_cseq_order(void **state)
{
	struct fixture *f = *state;
	struct location_req req = req_make("1001", "cid-a", 5);
	struct location_contact cv[2];
	const struct binding *b;
	const struct list *l;
	const char *uri = "sip:1001@192.0.2.10";

	assert_int_equal(reg1(f, "1001", "cid-a", 5, uri, 3600, f->now), 0);

	assert_int_equal(reg1(f, "1001", "cid-a", 5, uri, 60, f->now + 1),
			 EPROTO);
	assert_int_equal(reg1(f, "1001", "cid-a", 4, uri, 60, f->now + 1),
			 EPROTO);
	assert_int_equal(reg1(f, "1001", "cid-a", 4, uri, 0, f->now + 1),
			 EPROTO);

	/* one stale contact spoils the whole request */
	cv[0] = contact_make("sip:1001@192.0.2.77", 3600);
	cv[1] = contact_make(uri, 60);
	assert_int_equal(location_register(f->loc, &req, cv, 2, f->now + 1),
			 EPROTO);

	l = location_lookup(f->loc, "1001");
	assert_int_equal(list_count(l), 1);
	b = find_uri(l, uri);
	assert_int_equal(b->cseq, 5);
	assert_int_equal(b->expires, f->now + 3600);
	assert_int_equal(stored(f), 1);

	/* a higher CSeq goes through */
	assert_int_equal(reg1(f, "1001", "cid-a", 6, uri, 60, f->now + 1), 0);
	assert_int_equal(find_uri(location_lookup(f->loc, "1001"),
				  uri)->expires, f->now + 61);
}


/* RFC 3261 10.3 step 7: another Call-ID updates whatever its CSeq */
static void test_callid_replaces(void **state)
{
	struct fixture *f = *state;
	const struct binding *b;
	const struct list *l;

	assert_int_equal(reg1(f, "1001", "cid-a", 100,
			      "sip:1001@192.0.2.10;transport=udp", 3600,
			      f->now), 0);

	/* an equivalent URI (RFC 3261 19.1.4): case, escapes, parameters
	 * only one side has */
	assert_int_equal(reg1(f, "1001", "cid-b", 1,
			      "SIP:%31001@192.0.2.10;Transport=UDP;ob", 600,
			      f->now + 5), 0);

	l = location_lookup(f->loc, "1001");
	assert_int_equal(list_count(l), 1);
	b = list_head(l)->data;
	assert_string_equal(b->callid, "cid-b");
	assert_int_equal(b->cseq, 1);
	assert_int_equal(b->expires, f->now + 605);
	/* the binding takes the URI as the phone sent it last */
	assert_string_equal(b->uri, "SIP:%31001@192.0.2.10;Transport=UDP;ob");
	assert_int_equal(stored(f), 1);

	/* not equivalent: no port is not port 5060 */
	assert_int_equal(reg1(f, "1001", "cid-c", 1,
			      "sip:1001@192.0.2.10:5060;transport=udp", 600,
			      f->now + 5), 0);
	assert_int_equal(location_count(f->loc), 2);
	assert_int_equal(stored(f), 2);
}


/* RFC 5626: the same +sip.instance is the same device at a new URI */
static void test_instance(void **state)
{
	struct fixture *f = *state;
	struct location_req req = req_make("1001", "cid-a", 1);
	struct location_contact c;
	const struct binding *b;
	const struct list *l;
	const char *inst =
		"\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"";

	c = contact_make("sip:1001@192.0.2.10:5062", 3600);
	pl_set_str(&c.instance, inst);
	assert_int_equal(location_register(f->loc, &req, &c, 1, f->now), 0);

	/* the phone moved (new address, rebooted: new Call-ID) */
	req = req_make("1001", "cid-b", 1);
	sa_set_str(&req.src, "198.51.100.7", 1024);
	c = contact_make("sip:1001@198.51.100.7:1024", 3600);
	pl_set_str(&c.instance, inst);
	assert_int_equal(location_register(f->loc, &req, &c, 1, f->now + 1),
			 0);

	l = location_lookup(f->loc, "1001");
	assert_int_equal(list_count(l), 1);
	b = list_head(l)->data;
	assert_string_equal(b->uri, "sip:1001@198.51.100.7:1024");
	assert_string_equal(b->instance, inst);
	assert_string_equal(b->callid, "cid-b");
	assert_int_equal(stored(f), 1);

	/* a plain binding at the URI the device moves to next is the same
	 * contact: both collapse into one */
	assert_int_equal(reg1(f, "1001", "cid-c", 1, "sip:1001@192.0.2.99",
			      3600, f->now + 2), 0);
	assert_int_equal(location_count(f->loc), 2);
	req = req_make("1001", "cid-d", 1);
	c = contact_make("sip:1001@192.0.2.99", 1800);
	pl_set_str(&c.instance, inst);
	assert_int_equal(location_register(f->loc, &req, &c, 1, f->now + 3),
			 0);
	l = location_lookup(f->loc, "1001");
	assert_int_equal(list_count(l), 1);
	b = list_head(l)->data;
	assert_string_equal(b->uri, "sip:1001@192.0.2.99");
	assert_string_equal(b->instance, inst);
	assert_int_equal(b->expires, f->now + 3 + 1800);
	assert_int_equal(location_count(f->loc), 1);
	assert_int_equal(stored(f), 1);
}


static void test_expires0_removes_one(void **state)
{
	struct fixture *f = *state;
	const struct list *l;

	assert_int_equal(reg1(f, "1001", "cid-a", 1, "sip:1001@192.0.2.1",
			      3600, f->now), 0);
	assert_int_equal(reg1(f, "1001", "cid-b", 1, "sip:1001@192.0.2.2",
			      3600, f->now), 0);

	assert_int_equal(reg1(f, "1001", "cid-a", 2, "sip:1001@192.0.2.1", 0,
			      f->now + 1), 0);

	l = location_lookup(f->loc, "1001");
	assert_int_equal(list_count(l), 1);
	assert_non_null(find_uri(l, "sip:1001@192.0.2.2"));
	assert_int_equal(stored(f), 1);

	/* removing an unknown contact is not an error */
	assert_int_equal(reg1(f, "1001", "cid-z", 1, "sip:1001@192.0.2.9", 0,
			      f->now + 1), 0);
	assert_int_equal(reg1(f, "1009", "cid-z", 1, "sip:1009@192.0.2.9", 0,
			      f->now + 1), 0);
	assert_int_equal(location_count(f->loc), 1);

	/* the last one leaves: the AOR goes too */
	assert_int_equal(reg1(f, "1001", "cid-b", 2, "sip:1001@192.0.2.2", 0,
			      f->now + 1), 0);
	assert_null(location_lookup(f->loc, "1001"));
	assert_int_equal(location_aor_count(f->loc), 0);
	assert_int_equal(stored(f), 0);
}


static void test_unregister_all(void **state)
{
	struct fixture *f = *state;
	struct location_req req;

	assert_int_equal(reg1(f, "1001", "cid-a", 10, "sip:1001@192.0.2.1",
			      3600, f->now), 0);
	assert_int_equal(reg1(f, "1001", "cid-b", 1, "sip:1001@192.0.2.2",
			      3600, f->now), 0);
	assert_int_equal(reg1(f, "1002", "cid-c", 1, "sip:1002@192.0.2.3",
			      3600, f->now), 0);

	/* RFC 3261 10.3 step 6: same Call-ID, CSeq not higher */
	req = req_make("1001", "cid-a", 10);
	assert_int_equal(location_unregister_all(f->loc, &req, f->now + 1),
			 EPROTO);
	assert_int_equal(location_count(f->loc), 3);
	assert_int_equal(stored(f), 3);

	req.cseq = 11;
	assert_int_equal(location_unregister_all(f->loc, &req, f->now + 1), 0);
	assert_null(location_lookup(f->loc, "1001"));
	assert_int_equal(location_count(f->loc), 1);
	assert_int_equal(location_aor_count(f->loc), 1);
	assert_int_equal(stored(f), 1);

	/* nothing registered: nothing to do */
	assert_int_equal(location_unregister_all(f->loc, &req, f->now + 1), 0);
}


static void test_expiry(void **state)
{
	struct fixture *f = *state;
	const struct list *l;

	assert_int_equal(reg1(f, "1001", "cid-a", 1, "sip:1001@192.0.2.1", 60,
			      f->now), 0);
	assert_int_equal(reg1(f, "1001", "cid-b", 1, "sip:1001@192.0.2.2",
			      3600, f->now), 0);
	assert_int_equal(reg1(f, "1002", "cid-c", 1, "sip:1002@192.0.2.3", 120,
			      f->now), 0);

	location_expire(f->loc, f->now + 59);
	assert_int_equal(location_count(f->loc), 3);

	/* a binding lives until now < expires */
	location_expire(f->loc, f->now + 60);
	assert_int_equal(location_count(f->loc), 2);
	assert_int_equal(stored(f), 2);
	l = location_lookup(f->loc, "1001");
	assert_int_equal(list_count(l), 1);
	assert_non_null(find_uri(l, "sip:1001@192.0.2.2"));

	location_expire(f->loc, f->now + 3600);
	assert_int_equal(location_count(f->loc), 0);
	assert_int_equal(location_aor_count(f->loc), 0);
	assert_null(location_lookup(f->loc, "1001"));
	assert_int_equal(stored(f), 0);
}


/* Expired bindings are never returned, even before the timer ran */
static void test_lookup_hides_expired(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(reg1(f, "1001", "cid-a", 1, "sip:1001@192.0.2.1", 10,
			      f->now - 100), 0);
	assert_null(location_lookup(f->loc, "1001"));
	assert_int_equal(location_count(f->loc), 0);
	assert_int_equal(stored(f), 0);
}


static void test_reload(void **state)
{
	struct fixture *f = *state;
	struct location_req req;
	struct location_contact c;
	struct binding dead;
	const struct binding *b;
	const struct list *l;
	struct sa sa;

	req = req_make("1001", "cid-a", 7);
	c = contact_make("sip:1001@[2001:db8::5]:5061;transport=tls", 3600);
	c.q = 700;
	pl_set_str(&c.instance, "\"<urn:uuid:abc>\"");
	sa_set_str(&req.src, "2001:db8::5", 40123);
	sa_set_str(&req.laddr, "::1", 5061);
	req.tp = SIP_TRANSP_TLS;
	assert_int_equal(location_register(f->loc, &req, &c, 1, f->now), 0);

	req = req_make("1001", "cid-b", 3);
	req.user_agent = pl_null;  /* no User-Agent header */
	req.tp = SIP_TRANSP_TCP;
	c = contact_make("sip:1001@192.0.2.10:5070;transport=tcp", 120);
	assert_int_equal(location_register(f->loc, &req, &c, 1, f->now), 0);

	assert_int_equal(reg1(f, "1002", "cid-c", 1, "sip:1002@192.0.2.11",
			      600, f->now), 0);

	/* a row that ran out while the daemon was down */
	memset(&dead, 0, sizeof(dead));
	dead.aor = "1003";
	dead.uri = "sip:1003@192.0.2.12";
	dead.callid = "cid-d";
	dead.expires = f->now - 1;
	dead.updated = f->now - 3601;
	assert_int_equal(store_binding_put(f->st, &dead), 0);
	assert_int_equal(stored(f), 4);

	/* restart */
	f->loc = mem_deref(f->loc);
	assert_int_equal(location_alloc(&f->loc, f->st, MAX_CONTACTS), 0);

	assert_int_equal(location_count(f->loc), 3);
	assert_int_equal(location_aor_count(f->loc), 2);
	assert_null(location_lookup(f->loc, "1003"));
	assert_int_equal(stored(f), 3);

	l = location_lookup(f->loc, "1001");
	assert_int_equal(list_count(l), 2);

	b = find_uri(l, "sip:1001@[2001:db8::5]:5061;transport=tls");
	assert_non_null(b);
	assert_string_equal(b->aor, "1001");
	assert_string_equal(b->callid, "cid-a");
	assert_int_equal(b->cseq, 7);
	assert_int_equal(b->expires, f->now + 3600);
	assert_int_equal(b->updated, f->now);
	assert_int_equal(b->q, 700);
	assert_int_equal(b->tp, SIP_TRANSP_TLS);
	sa_set_str(&sa, "2001:db8::5", 40123);
	assert_true(sa_cmp(&b->src, &sa, SA_ALL));
	sa_set_str(&sa, "::1", 5061);
	assert_true(sa_cmp(&b->laddr, &sa, SA_ALL));
	assert_string_equal(b->instance, "\"<urn:uuid:abc>\"");
	assert_string_equal(b->user_agent, "TestPhone/1.0");

	b = find_uri(l, "sip:1001@192.0.2.10:5070;transport=tcp");
	assert_non_null(b);
	assert_int_equal(b->expires, f->now + 120);
	assert_int_equal(b->tp, SIP_TRANSP_TCP);
	assert_null(b->user_agent);
	assert_null(b->instance);
	sa_set_str(&sa, "192.0.2.10", 5062);
	assert_true(sa_cmp(&b->src, &sa, SA_ALL));

	/* the rules still hold after the restart (RFC 3261 10.3 step 7) */
	assert_int_equal(reg1(f, "1002", "cid-c", 1, "sip:1002@192.0.2.11",
			      600, f->now + 1), EPROTO);
	assert_int_equal(reg1(f, "1002", "cid-c", 2, "sip:1002@192.0.2.11",
			      600, f->now + 1), 0);
	assert_int_equal(location_count(f->loc), 3);
}


static void test_has_binding_from(void **state)
{
	struct fixture *f = *state;
	struct sa sa;

	assert_int_equal(reg1(f, "1001", "cid-a", 1, "sip:1001@192.0.2.10",
			      60, f->now), 0);

	/* the address counts, not the port (NAT rebinding) */
	sa_set_str(&sa, "192.0.2.10", 40000);
	assert_true(location_has_binding_from(f->loc, "1001", &sa, f->now));
	sa_set_str(&sa, "192.0.2.11", 5062);
	assert_false(location_has_binding_from(f->loc, "1001", &sa, f->now));
	sa_set_str(&sa, "192.0.2.10", 5062);
	assert_false(location_has_binding_from(f->loc, "1002", &sa, f->now));

	/* not once the binding has expired */
	assert_false(location_has_binding_from(f->loc, "1001", &sa,
					       f->now + 60));
}


struct walk {
	char seen[8][16];
	unsigned n;
	unsigned stop_at;
};


static bool walk_h(const struct binding *b, void *arg)
{
	struct walk *w = arg;

	str_ncpy(w->seen[w->n], b->aor, sizeof(w->seen[0]));

	return ++w->n == w->stop_at;
}


static void test_apply(void **state)
{
	struct fixture *f = *state;
	struct walk w;

	assert_int_equal(reg1(f, "1002", "c1", 1, "sip:1002@192.0.2.1", 60,
			      f->now), 0);
	assert_int_equal(reg1(f, "1003", "c2", 1, "sip:1003@192.0.2.2", 60,
			      f->now), 0);
	assert_int_equal(reg1(f, "1001", "c3", 1, "sip:1001@192.0.2.3", 60,
			      f->now), 0);
	assert_int_equal(reg1(f, "1002", "c4", 1, "sip:1002@192.0.2.4", 60,
			      f->now), 0);

	memset(&w, 0, sizeof(w));
	location_apply(f->loc, walk_h, &w);
	assert_int_equal(w.n, 4);
	assert_string_equal(w.seen[0], "1001");
	assert_string_equal(w.seen[1], "1002");
	assert_string_equal(w.seen[2], "1002");
	assert_string_equal(w.seen[3], "1003");

	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	location_apply(f->loc, walk_h, &w);
	assert_int_equal(w.n, 2);
}


/* A failed write leaves memory exactly as it was (an operator's trigger
 * makes the store refuse, as a full disk would) */
static void test_store_failure(void **state)
{
	struct fixture *f = *state;
	const char *uri = "sip:1001@192.0.2.1";
	struct location_req req;
	const struct list *l;
	sqlite3 *db;

	assert_int_equal(reg1(f, "1001", "cid-a", 1, uri, 3600, f->now), 0);
	/* end the group commit: the other connection needs the lock */
	assert_int_equal(store_flush(f->st), 0);

	assert_int_equal(sqlite3_open(store_path(f->st), &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"CREATE TRIGGER fi BEFORE INSERT ON bindings "
		"BEGIN SELECT RAISE(ABORT, 'injected'); END;"
		"CREATE TRIGGER fu BEFORE UPDATE ON bindings "
		"BEGIN SELECT RAISE(ABORT, 'injected'); END;"
		"CREATE TRIGGER fd BEFORE DELETE ON bindings "
		"BEGIN SELECT RAISE(ABORT, 'injected'); END;",
		NULL, NULL, NULL), SQLITE_OK);

	/* a new binding */
	assert_int_not_equal(reg1(f, "1002", "cid-b", 1, "sip:1002@192.0.2.2",
				  3600, f->now), 0);
	assert_null(location_lookup(f->loc, "1002"));
	assert_int_equal(location_aor_count(f->loc), 1);

	/* a refresh */
	assert_int_not_equal(reg1(f, "1001", "cid-a", 2, uri, 60, f->now), 0);
	l = location_lookup(f->loc, "1001");
	assert_int_equal(list_count(l), 1);
	assert_int_equal(find_uri(l, uri)->cseq, 1);
	assert_int_equal(find_uri(l, uri)->expires, f->now + 3600);

	/* a removal */
	assert_int_not_equal(reg1(f, "1001", "cid-a", 2, uri, 0, f->now), 0);
	req = req_make("1001", "cid-a", 2);
	assert_int_not_equal(location_unregister_all(f->loc, &req, f->now),
			     0);
	assert_int_equal(location_count(f->loc), 1);

	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER fi; DROP TRIGGER fu;"
				      "DROP TRIGGER fd;", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);

	/* and the same requests pass once the store works again */
	assert_int_equal(reg1(f, "1001", "cid-a", 2, uri, 60, f->now), 0);
	assert_int_equal(location_unregister_all(f->loc, &req, f->now), EPROTO);
	req.cseq = 3;
	assert_int_equal(location_unregister_all(f->loc, &req, f->now), 0);
	assert_int_equal(location_count(f->loc), 0);
	assert_int_equal(stored(f), 0);
}


static void test_bad_args(void **state)
{
	struct fixture *f = *state;
	struct location_req req = req_make("1001", "cid-a", 1);
	struct location *loc = NULL;

	assert_int_equal(location_alloc(&loc, NULL, 1), EINVAL);
	assert_int_equal(location_register(NULL, &req, NULL, 0, f->now),
			 EINVAL);
	req.callid = pl_null;
	assert_int_equal(location_register(f->loc, &req, NULL, 0, f->now),
			 EINVAL);
	assert_null(location_lookup(NULL, "1001"));
	assert_int_equal(location_count(NULL), 0);
}


int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_register_lookup),
		T(test_refresh_extends),
		T(test_second_contact),
		T(test_multi_contact),
		T(test_max_contacts),
		T(test_max_contacts_per_request),
		T(test_cseq_order),
		T(test_callid_replaces),
		T(test_instance),
		T(test_expires0_removes_one),
		T(test_unregister_all),
		T(test_expiry),
		T(test_lookup_hides_expired),
		T(test_reload),
		T(test_has_binding_from),
		T(test_apply),
		T(test_store_failure),
		T(test_bad_args),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}

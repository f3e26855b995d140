/**
 * @file test_uri.c  SIP URI comparison, RFC 3261 19.1.4
 *
 * Every pair is checked both ways round: the relation must be symmetric.
 * The examples marked "RFC" are the ones listed at the end of 19.1.4.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "core.h"
#include "uri.h"


struct pair {
	const char *a;
	const char *b;
	bool eq;
};


static bool equal_str(const char *a, const char *b)
{
	struct pl pa, pb;

	pl_set_str(&pa, a);
	pl_set_str(&pb, b);

	return uri_equal(&pa, &pb);
}


static void check(const struct pair *pv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct pair *p = &pv[i];

		if (equal_str(p->a, p->b) != p->eq)
			fail_msg("'%s' vs '%s': expected %s", p->a, p->b,
				 p->eq ? "equal" : "different");
		if (equal_str(p->b, p->a) != p->eq)
			fail_msg("'%s' vs '%s': expected %s", p->b, p->a,
				 p->eq ? "equal" : "different");
	}
}


/* RFC 3261 19.1.4: "Comparison of the userinfo of SIP and SIPS URIs is
 * case-sensitive ... Comparison of all other components of the URI is
 * case-insensitive" */
static void test_case(void **state)
{
	static const struct pair pv[] = {
		{"sip:alice@atlanta.com", "sip:alice@atlanta.com",    true},
		{"SIP:alice@atlanta.com", "sip:alice@atlanta.com",    true},
		{"sip:alice@AtLanTa.CoM", "sip:alice@atlanta.com",    true},
		{"sip:Alice@atlanta.com", "sip:alice@atlanta.com",    false},
		{"sip:alice:Pw@atlanta.com", "sip:alice:pw@atlanta.com",
		 false},
		{"sip:alice:pw@atlanta.com", "sip:alice:pw@atlanta.com",
		 true},
		{"sip:alice:pw@atlanta.com", "sip:alice@atlanta.com", false},
		/* RFC: userinfo differs in case */
		{"SIP:ALICE@AtLanTa.CoM;Transport=udp",
		 "sip:alice@AtLanTa.CoM;Transport=UDP",               false},
		/* RFC 3261 19.1.4: a SIP and a SIPS URI are never equal */
		{"sips:alice@atlanta.com", "sip:alice@atlanta.com",   false},
		/* RFC: a domain name never equals an IP address */
		{"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4", false},
		{"sip:bob@192.0.2.4", "sip:bob@192.0.2.4",            true},
		{"sip:bob@192.0.2.4", "sip:bob@192.0.2.5",            false},
		/* IP literals compare as addresses */
		{"sip:bob@[::1]", "sip:bob@[0::1]",                   true},
		{"sip:bob@[2001:DB8::1]", "sip:bob@[2001:db8::1]",    true},
		{"sip:bob@[2001:db8::1]", "sip:bob@[2001:db8::2]",    false},
	};

	(void)state;
	check(pv, ARRAY_SIZE(pv));
}


/* RFC 3261 19.1.4: "characters other than those in the reserved set are
 * equivalent to their encoding" */
static void test_escapes(void **state)
{
	static const struct pair pv[] = {
		/* RFC */
		{"sip:%61lice@atlanta.com;transport=TCP",
		 "sip:alice@AtLanTa.CoM;Transport=tcp",               true},
		{"sip:%61%6C%69%63%65@atlanta.com",
		 "sip:alice@atlanta.com",                             true},
		{"sip:%61%6c%69%63%65@atlanta.com",
		 "sip:%61%6C%69%63%65@atlanta.com",                   true},
		/* an escape decodes to a case-sensitive character */
		{"sip:%41lice@atlanta.com", "sip:alice@atlanta.com",  false},
		{"sip:%41lice@atlanta.com", "sip:Alice@atlanta.com",  true},
		{"sip:alice:p%77@atlanta.com",
		 "sip:alice:pw@atlanta.com",                          true},
		{"sip:alice@atlanta.com;foo=b%61r",
		 "sip:alice@atlanta.com;foo=bar",                     true},
	};

	(void)state;
	check(pv, ARRAY_SIZE(pv));
}


/* RFC 3261 19.1.4: "An IP address that is the result of a DNS lookup
 * of a host name does not match that host name"; and a URI without a
 * port is not equal to one with the default port */
static void test_port(void **state)
{
	static const struct pair pv[] = {
		/* RFC */
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060",     false},
		{"sips:bob@biloxi.com", "sips:bob@biloxi.com:5061",   false},
		/* RFC */
		{"sip:bob@biloxi.com",
		 "sip:bob@biloxi.com:6000;transport=tcp",             false},
		{"sip:bob@biloxi.com:5060", "sip:bob@biloxi.com:5060", true},
		{"sip:bob@biloxi.com:5060", "sip:bob@biloxi.com:5070", false},
		{"sip:bob@[2001:db8::1]:5060",
		 "sip:bob@[2001:db8::1]:5060",                        true},
		{"sip:bob@[2001:db8::1]", "sip:bob@[2001:db8::1]:5060", false},
	};

	(void)state;
	check(pv, ARRAY_SIZE(pv));
}


/* RFC 3261 19.1.4: "any uri-parameter appearing in both URIs must
 * match"; user, ttl, method and maddr (and transport, by the RFC's own
 * examples) "appearing in only one URI never match"; "all other
 * uri-parameters appearing in only one URI are ignored" */
static void test_params(void **state)
{
	static const struct pair pv[] = {
		/* RFC: all three equal each other */
		{"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5",
		 true},
		{"sip:carol@chicago.com", "sip:carol@chicago.com;security=on",
		 true},
		{"sip:carol@chicago.com;newparam=5",
		 "sip:carol@chicago.com;security=on",                 true},
		/* RFC: but not transitively */
		{"sip:carol@chicago.com;security=on",
		 "sip:carol@chicago.com;security=off",                false},
		/* RFC */
		{"sip:biloxi.com;transport=tcp;method=REGISTER",
		 "sip:biloxi.com;method=REGISTER;transport=tcp",      true},
		{"sip:carol@chicago.com;lr", "sip:carol@chicago.com", true},
		{"sip:carol@chicago.com;LR", "sip:carol@chicago.com;lr", true},

		/* RFC: transport in only one */
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp",
		 false},
		{"sip:bob@biloxi.com;transport=tcp",
		 "sip:bob@biloxi.com;transport=udp",                  false},
		{"sip:bob@biloxi.com;transport=TCP",
		 "sip:bob@biloxi.com;TRANSPORT=tcp",                  true},
		{"sip:+15551234@biloxi.com;user=phone",
		 "sip:+15551234@biloxi.com",                          false},
		{"sip:bob@biloxi.com;ttl=15", "sip:bob@biloxi.com",   false},
		{"sip:bob@biloxi.com;ttl=15", "sip:bob@biloxi.com;ttl=16",
		 false},
		{"sip:bob@biloxi.com;method=INVITE", "sip:bob@biloxi.com",
		 false},
		{"sip:bob@biloxi.com;maddr=239.255.255.1",
		 "sip:bob@biloxi.com",                                false},
		{"sip:bob@biloxi.com;maddr=239.255.255.1",
		 "sip:bob@biloxi.com;maddr=239.255.255.1",            true},
	};

	(void)state;
	check(pv, ARRAY_SIZE(pv));
}


/* RFC 3261 19.1.4: "URI header components are never ignored. Any
 * present header component MUST be present in both URIs and match" */
static void test_headers(void **state)
{
	static const struct pair pv[] = {
		/* RFC */
		{"sip:carol@chicago.com",
		 "sip:carol@chicago.com?Subject=next%20meeting",      false},
		/* RFC: order does not matter */
		{"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
		 "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
		 true},
		{"sip:alice@atlanta.com?subject=a",
		 "sip:alice@atlanta.com?subject=b",                   false},
		{"sip:alice@atlanta.com?subject=a&priority=urgent",
		 "sip:alice@atlanta.com?subject=a",                   false},
	};

	(void)state;
	check(pv, ARRAY_SIZE(pv));
}


/* What uri_decode() rejects only equals the very same text */
static void test_unparsable(void **state)
{
	static const struct pair pv[] = {
		{"", "",                                              true},
		{"garbage", "garbage",                                true},
		{"garbage", "GARBAGE",                                false},
		{"garbage", "sip:alice@atlanta.com",                  false},
	};
	struct pl pl = PL("sip:alice@atlanta.com");

	(void)state;
	check(pv, ARRAY_SIZE(pv));

	assert_false(uri_equal(NULL, &pl));
	assert_false(uri_equal(&pl, NULL));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_unparsable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

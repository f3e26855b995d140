/**
 * @file test_config.c  Config loading and validation
 *
 * Each case writes a config folder, loads it, and checks either the
 * values or the exact FILE:LINE of each error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>
#include "core.h"
#include "config.h"
#include "codec.h"

static char dir[256];


static void write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}


static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sb-test-config-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}


static int teardown(void **state)
{
	char cmd[300];
	(void)state;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}


/* Load; on failure return the errors as one string "file:line: msg\n"
 * with the folder prefix stripped. */
static int load(struct config **cfgp, char *errs, size_t sz)
{
	struct list errl = LIST_INIT;
	struct le *le;
	int err;
	size_t n = 0;

	errs[0] = '\0';
	err = config_load(cfgp, &errl, dir);

	for (le = errl.head; le; le = le->next) {
		const struct config_error *e = le->data;
		const char *f = strrchr(e->file, '/');

		n += (size_t)re_snprintf(errs + n, sz - n, "%s:%d: %s\n",
					 f ? f + 1 : e->file, e->line, e->msg);
	}

	list_flush(&errl);
	return err;
}


static void test_good_config(void **state)
{
	struct config *cfg = NULL;
	const struct config_user *u;
	const struct config_listen *l;
	struct pl id = PL("1001");
	char errs[2048];
	(void)state;

	write_file("switchboard.xml",
		"<switchboard xmlns:xi=\"http://www.w3.org/2001/XInclude\">\n"
		"  <settings>\n"
		"    <domain name=\"pbx.example.com\"/>\n"
		"    <listen transport=\"udp\" address=\"127.0.0.1:5060\"/>\n"
		"    <listen transport=\"tcp\" address=\"[::1]:5060\"/>\n"
		"    <registrar min-expires=\"30s\" max-expires=\"2h\"\n"
		"               default-expires=\"10m\" max-contacts=\"3\"/>\n"
		"    <auth algorithms=\"SHA-256 MD5\" nonce-lifetime=\"1m\"\n"
		"          max-failures=\"7\" lockout=\"500ms\"/>\n"
		"    <voicemail mail-command=\"/usr/bin/msmtp -t\"\n"
		"               mail-from=\"pbx@example.com\" mail-retry=\"2m\"/>\n"
		"  </settings>\n"
		"  <xi:include href=\"dir.xml\"/>\n"
		"</switchboard>\n");
	write_file("dir.xml",
		"<directory>\n"
		"  <user id=\"1001\" name=\"Alice\" password=\"pw\""
		" vm-pin=\"0042\" email=\"alice@example.com\"/>\n"
		"  <user id=\"1002\" ha1=\"0123456789abcdef0123456789ABCDEF\"/>\n"
		"  <group id=\"sales\" members=\"1001 1002\"/>\n"
		"</directory>\n");

	assert_int_equal(0, load(&cfg, errs, sizeof(errs)));
	assert_string_equal("pbx.example.com", cfg->domain);
	assert_int_equal(2, list_count(&cfg->listens));
	l = list_ledata(list_head(&cfg->listens));
	assert_int_equal(SIP_TRANSP_UDP, l->tp);
	assert_int_equal(5060, sa_port(&l->addr));
	l = list_ledata(list_tail(&cfg->listens));
	assert_int_equal(AF_INET6, sa_af(&l->addr));

	assert_int_equal(30, cfg->registrar.min_expires);
	assert_int_equal(7200, cfg->registrar.max_expires);
	assert_int_equal(600, cfg->registrar.default_expires);
	assert_int_equal(3, cfg->registrar.max_contacts);
	assert_int_equal(2, cfg->auth.algoc);
	assert_int_equal(DIGEST_SHA256, cfg->auth.algov[0]);
	assert_int_equal(DIGEST_MD5, cfg->auth.algov[1]);
	assert_int_equal(60, cfg->auth.nonce_lifetime);
	assert_int_equal(7, cfg->auth.max_failures);
	assert_int_equal(60, cfg->auth.failure_window);   /* default */
	assert_int_equal(1, cfg->auth.lockout);           /* rounds up */

	assert_int_equal(2, cfg->user_count);
	u = config_user_find(cfg, &id);
	assert_non_null(u);
	assert_string_equal("pw", u->password);
	assert_string_equal("default", u->context);
	assert_string_equal("0042", u->vm_pin);
	assert_string_equal("alice@example.com", u->email);
	assert_string_equal("/usr/bin/msmtp -t", cfg->voicemail.mail_command);
	assert_string_equal("pbx@example.com", cfg->voicemail.mail_from);
	assert_int_equal(120, cfg->voicemail.mail_retry);
	assert_non_null(strstr(u->file, "dir.xml"));
	assert_int_equal(2, u->line);

	id = (struct pl)PL("1002");
	u = config_user_find(cfg, &id);
	assert_non_null(u);
	assert_true(u->has_ha1[DIGEST_MD5]);
	assert_int_equal(0xAB, u->ha1[DIGEST_MD5][13]);

	mem_deref(cfg);
}


static void test_defaults(void **state)
{
	struct config *cfg = NULL;
	char errs[2048];
	(void)state;

	write_file("switchboard.xml",
		"<switchboard><settings>\n"
		"<listen transport=\"udp\" address=\"127.0.0.2:5070\"/>\n"
		"</settings></switchboard>\n");

	assert_int_equal(0, load(&cfg, errs, sizeof(errs)));
	/* realm: the first listener's address */
	assert_string_equal("127.0.0.2", cfg->domain);
	assert_int_equal(60, cfg->registrar.min_expires);
	assert_int_equal(3600, cfg->registrar.max_expires);
	assert_int_equal(1, cfg->auth.algoc);
	assert_int_equal(DIGEST_MD5, cfg->auth.algov[0]);
	assert_int_equal(5, cfg->auth.max_failures);
	assert_int_equal(300, cfg->auth.lockout);
	assert_null(cfg->voicemail.mail_command);   /* sendmail -t -i */
	assert_int_equal(60, cfg->voicemail.mail_retry);
	mem_deref(cfg);
}


static void expect_errors(const char *main_xml, const char *inc_xml,
			  const char *expected)
{
	struct config *cfg = NULL;
	char errs[4096], want[4096];

	/* "%s" in the expectation stands for the test folder */
	snprintf(want, sizeof(want), expected, dir);
	expected = want;

	write_file("switchboard.xml", main_xml);
	if (inc_xml)
		write_file("inc.xml", inc_xml);

	assert_int_equal(EINVAL, load(&cfg, errs, sizeof(errs)));
	assert_null(cfg);
	if (strcmp(errs, expected))
		print_error("got:\n%s\nexpected:\n%s\n", errs, expected);
	assert_string_equal(expected, errs);
}


static void test_syntax_error_line(void **state)
{
	(void)state;
	expect_errors(
		"<switchboard>\n"
		"  <settings>\n"
		"    <listen transport=\"udp\" address=\"127.0.0.1:5060\">\n"
		"  </settings>\n"
		"</switchboard>\n", NULL,
		"switchboard.xml:4: Opening and ending tag mismatch: listen "
		"line 3 and settings\n"
		"switchboard.xml:5: Opening and ending tag mismatch: settings "
		"line 2 and switchboard\n"
		"switchboard.xml:6: Premature end of data in tag switchboard "
		"line 1\n");
}


static void test_unknown_element_and_attribute(void **state)
{
	(void)state;
	expect_errors(
		"<switchboard>\n"
		"  <settings>\n"
		"    <listen transport=\"udp\" adress=\"127.0.0.1:5060\"/>\n"
		"    <listne transport=\"tcp\" address=\"127.0.0.1:5060\"/>\n"
		"  </settings>\n"
		"</switchboard>\n", NULL,
		"switchboard.xml:3: <listen>: unknown attribute \"adress\" "
		"(allowed: transport, address, cert, ca, verify-client)\n"
		"switchboard.xml:3: <listen>: missing attribute \"address\"\n"
		"switchboard.xml:4: unknown element <listne> inside <settings> "
		"(allowed: domain, listen, media, voicemail, dns, limits, http, "
		"node, registrar, auth, store, log)\n");
}


static void test_bad_values(void **state)
{
	(void)state;
	expect_errors(
		"<switchboard>\n"
		"  <settings>\n"
		"    <listen transport=\"sctp\" address=\"127.0.0.1:5060\"/>\n"
		"    <registrar min-expires=\"soon\"/>\n"
		"  </settings>\n"
		"</switchboard>\n", NULL,
		"switchboard.xml:3: <listen transport=\"sctp\">: expected one "
		"of: udp, tcp, tls\n"
		"switchboard.xml:4: <registrar min-expires=\"soon\">: expected "
		"a duration such as 30s, 500ms, 5m or 1h\n");
}


static void test_included_file_names_itself(void **state)
{
	(void)state;
	expect_errors(
		"<switchboard xmlns:xi=\"http://www.w3.org/2001/XInclude\">\n"
		"  <settings>\n"
		"    <listen transport=\"udp\" address=\"127.0.0.1:5060\"/>\n"
		"  </settings>\n"
		"  <xi:include href=\"inc.xml\"/>\n"
		"</switchboard>\n",
		"<directory>\n"
		"  <user id=\"1001\"/>\n"
		"\n"
		"  <user id=\"1002\" colour=\"red\"/>\n"
		"</directory>\n",
		"inc.xml:4: <user>: unknown attribute \"colour\" (allowed: id, "
		"name, password, ha1, ha1-sha256, context, mailbox, vm-pin, "
		"email, location, cos, site, max-contacts, codecs, mwi)\n");
}


static void test_included_syntax_error(void **state)
{
	(void)state;
	expect_errors(
		"<switchboard xmlns:xi=\"http://www.w3.org/2001/XInclude\">\n"
		"  <settings>\n"
		"    <listen transport=\"udp\" address=\"127.0.0.1:5060\"/>\n"
		"  </settings>\n"
		"  <xi:include href=\"inc.xml\"/>\n"
		"</switchboard>\n",
		"<directory>\n"
		"  <user id=\"1001\">\n"
		"</directory>\n",
		"inc.xml:3: Opening and ending tag mismatch: user line 2 and "
		"directory\n"
		"inc.xml:4: Premature end of data in tag directory line 1\n"
		"switchboard.xml:5: could not load "
		"%s/inc.xml, and no fallback was found\n");
}


static void test_semantic_errors(void **state)
{
	(void)state;
	expect_errors(
		"<switchboard xmlns:xi=\"http://www.w3.org/2001/XInclude\">\n"
		"  <settings>\n"
		"    <listen transport=\"udp\" address=\"127.0.0.1:5060\"/>\n"
		"    <listen transport=\"udp\" address=\"127.0.0.1:5060\"/>\n"
		"    <listen transport=\"tcp\" address=\"127.0.0:5060\"/>\n"
		"    <listen transport=\"tls\" address=\"127.0.0.1:5061\"/>\n"
		"    <registrar min-expires=\"2h\"/>\n"
		"  </settings>\n"
		"  <xi:include href=\"inc.xml\"/>\n"
		"</switchboard>\n",
		"<directory>\n"
		"  <user id=\"1001\" password=\"a\"/>\n"
		"  <user id=\"1001\" password=\"b\"/>\n"
		"  <group id=\"g\" members=\"1001 1009\"/>\n"
		"</directory>\n",
		"switchboard.xml:4: duplicate udp listener on 127.0.0.1:5060\n"
		"switchboard.xml:5: address=\"127.0.0:5060\": not an IP:port\n"
		"switchboard.xml:6: a tls listener needs cert=\"FILE\" "
		"(certificate chain and key in one PEM)\n"
		"switchboard.xml:7: min-expires is above max-expires\n"
		"switchboard.xml:7: default-expires must lie between "
		"min-expires and max-expires\n"
		"inc.xml:3: duplicate user id \"1001\" (first defined at "
		"%s/inc.xml:2)\n"
		"inc.xml:4: group g: member 1009 is not a user\n");
}


/* codec lists: the default, a user's own, unknown names */
static void test_codecs(void **state)
{
	struct config *cfg = NULL;
	const struct config_user *u;
	const struct codec_list *l;
	char errs[2048];
	struct pl id = PL("1001");
	(void)state;

	write_file("switchboard.xml",
		"<switchboard><settings>\n"
		"<listen transport=\"udp\" address=\"127.0.0.2:5070\"/>\n"
		"</settings><directory>\n"
		"<user id=\"1001\" password=\"a\" codecs=\"PCMA, pcmu\"/>\n"
		"<user id=\"1002\" password=\"a\"/>\n"
		"</directory></switchboard>\n");
	assert_int_equal(0, load(&cfg, errs, sizeof(errs)));
	l = &cfg->media.codecs;
	assert_int_equal(l->n, 4);
	assert_ptr_equal(l->v[0], codec_find("opus"));
	assert_ptr_equal(l->v[3], codec_find("PCMA"));
	u = config_user_find(cfg, &id);
	assert_non_null(u);
	l = config_user_codecs(cfg, u);
	assert_int_equal(l->n, 2);
	assert_ptr_equal(l->v[0], codec_find("PCMA"));
	assert_ptr_equal(l->v[1], codec_find("PCMU"));
	assert_true(codec_list_has(l, codec_find("PCMU")));
	assert_false(codec_list_has(l, codec_find("opus")));
	id = (struct pl)PL("1002");
	assert_ptr_equal(config_user_codecs(cfg, config_user_find(cfg, &id)),
			 &cfg->media.codecs);
	mem_deref(cfg);

	expect_errors(
		"<switchboard><settings>\n"
		"<listen transport=\"udp\" address=\"127.0.0.2:5070\"/>\n"
		"<media codecs=\"PCMU G729\"/>\n"
		"</settings><directory>\n"
		"<user id=\"1001\" password=\"a\" codecs=\" \"/>\n"
		"</directory></switchboard>\n", NULL,
		"switchboard.xml:3: codecs: unknown codec \"G729\" (known: "
		"opus G722 PCMU PCMA)\n"
		"switchboard.xml:5: codecs=\" \": no codec\n");
}


static void test_trunks(void **state)
{
	struct config *cfg = NULL;
	const struct config_trunk *t;
	char errs[2048];
	(void)state;

	write_file("switchboard.xml",
		"<switchboard><settings>\n"
		"<listen transport=\"udp\" address=\"127.0.0.2:5070\"/>\n"
		"</settings><trunks>\n"
		"<trunk name=\"itsp\" host=\"192.0.2.7\" port=\"5080\" "
		"register=\"yes\" username=\"u\" password=\"p\" ping=\"30s\" "
		"max-calls=\"30\" codecs=\"PCMA\" country-code=\"44\" "
		"from=\"192.0.2.8 192.0.2.9\" pai=\"yes\"/>\n"
		"<trunk name=\"b\" host=\"sip.example.net\"/>\n"
		"<group name=\"pstn\" trunks=\"itsp b\"/>\n"
		"</trunks></switchboard>\n");
	assert_int_equal(0, load(&cfg, errs, sizeof(errs)));
	t = config_trunk_find(cfg, "itsp");
	assert_non_null(t);
	assert_int_equal(t->tp, SIP_TRANSP_TCP);     /* the default */
	assert_int_equal(t->port, 5080);
	assert_true(t->reg);
	assert_int_equal(t->ping, 30);
	assert_int_equal(t->max_calls, 30);
	assert_int_equal(t->codecs.n, 1);
	assert_string_equal(t->country_code, "44");
	assert_string_equal(t->intl_prefix, "00");
	assert_string_equal(t->context, "from-trunk");
	assert_true(t->pai);
	/* the host (an address) and the two from addresses */
	assert_int_equal(t->nfrom, 3);
	assert_non_null(t->user);
	assert_string_equal(t->user->id, "trunk/itsp");
	assert_int_equal(t->user->cos, COS_INTERNAL);
	t = config_trunk_find(cfg, "b");
	assert_non_null(t);
	assert_int_equal(t->nfrom, 0);               /* a name: no address */
	assert_null(config_trunk_find(cfg, "c"));
	assert_non_null(config_tgroup_find(cfg, "pstn"));
	assert_string_equal(config_tgroup_find(cfg, "pstn")->trunks,
			    "itsp b");
	mem_deref(cfg);

	expect_errors(
		"<switchboard><settings>\n"
		"<listen transport=\"udp\" address=\"127.0.0.2:5070\"/>\n"
		"</settings><trunks>\n"
		"<trunk name=\"a\" host=\"192.0.2.7\" register=\"yes\"/>\n"
		"<trunk name=\"a\" host=\"192.0.2.7\" transport=\"tls\"/>\n"
		"<trunk name=\"c\" host=\"192.0.2.7\" from=\"x.example\"/>\n"
		"<group name=\"g\" trunks=\"a z\"/>\n"
		"</trunks></switchboard>\n", NULL,
		"switchboard.xml:4: trunk a: register=\"yes\" needs username "
		"and password\n"
		"switchboard.xml:5: duplicate trunk name \"a\" (first defined "
		"at %s/switchboard.xml:4)\n"
		"switchboard.xml:5: trunk a: transport=\"tls\" needs "
		"ca=\"FILE\" (the provider's certificate is checked against "
		"it)\n"
		"switchboard.xml:6: from: \"x.example\" is not an IP address\n"
		"switchboard.xml:7: trunk group: z is not a trunk\n");
}


static void test_missing_file(void **state)
{
	struct config *cfg = NULL;
	char errs[1024];
	(void)state;

	assert_int_equal(EINVAL, load(&cfg, errs, sizeof(errs)));
	assert_non_null(strstr(errs, "switchboard.xml:0:"));
}


static void test_duration(void **state)
{
	uint64_t ms;
	(void)state;

	assert_int_equal(0, config_duration_ms(&ms, "30"));
	assert_int_equal(30000, ms);
	assert_int_equal(0, config_duration_ms(&ms, "250ms"));
	assert_int_equal(250, ms);
	assert_int_equal(0, config_duration_ms(&ms, "5m"));
	assert_int_equal(300000, ms);
	assert_int_equal(0, config_duration_ms(&ms, "1h"));
	assert_int_equal(3600000, ms);
	assert_int_equal(EINVAL, config_duration_ms(&ms, "5d"));
	assert_int_equal(EINVAL, config_duration_ms(&ms, ""));
	assert_int_equal(EINVAL, config_duration_ms(&ms, "s"));
	assert_int_not_equal(0, config_duration_ms(&ms,
						   "99999999999999999999h"));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_config, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_error_line, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_unknown_element_and_attribute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_included_file_names_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(test_included_syntax_error,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_semantic_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_codecs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup,
						teardown),
		cmocka_unit_test(test_duration),
	};
	int r;

	libre_init();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return r;
}

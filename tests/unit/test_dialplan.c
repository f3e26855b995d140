/**
 * @file test_dialplan.c  The XML dialplan: compiling, hunting, tests
 *
 * Each case writes a config with a dialplan, loads it through the real
 * loader and hunts, or checks the exact FILE:LINE errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>
#include "core.h"
#include "app.h"
#include "config.h"
#include "dialplan.h"

static char dir[256];

static const char *head =
	"<switchboard>\n"
	"  <settings><listen transport=\"udp\" address=\"127.0.0.1:5060\"/>"
	"</settings>\n"
	"  <directory><user id=\"1001\" name=\"Alice\" password=\"a\"/>"
	"<user id=\"1002\" password=\"b\"/></directory>\n";   /* 3 lines */


static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sb-test-dialplan-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}


static int teardown(void **state)
{
	char cmd[300];
	(void)state;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}


static int load(struct config **cfgp, const char *dialplan, char *errs,
		size_t sz)
{
	struct list errl = LIST_INIT;
	char path[512];
	struct le *le;
	size_t n = 0;
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/switchboard.xml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s%s</switchboard>\n", head, dialplan);
	fclose(f);

	errs[0] = '\0';
	err = config_load(cfgp, &errl, dir);
	for (le = errl.head; le; le = le->next) {
		const struct config_error *e = le->data;
		const char *fn = strrchr(e->file, '/');

		n += (size_t)re_snprintf(errs + n, sz - n, "%s:%d: %s\n",
					 fn ? fn + 1 : e->file, e->line,
					 e->msg);
	}
	list_flush(&errl);

	return err;
}


static struct config *load_ok(const char *dialplan)
{
	struct config *cfg = NULL;
	char errs[4096];

	if (load(&cfg, dialplan, errs, sizeof(errs)))
		print_error("%s", errs);
	assert_non_null(cfg);
	return cfg;
}


static void expect_errors(const char *dialplan, const char *expected)
{
	struct config *cfg = NULL;
	char errs[4096], want[4096];

	/* "%s" in the expectation stands for the test folder */
	snprintf(want, sizeof(want), expected, dir);
	expected = want;

	assert_int_equal(EINVAL, load(&cfg, dialplan, errs, sizeof(errs)));
	assert_null(cfg);
	if (strcmp(errs, expected))
		print_error("got:\n%s\nexpected:\n%s\n", errs, expected);
	assert_string_equal(expected, errs);
}


/* Hunt dest from caller in ctx; return "ext|app data|app data" */
static const char *var_cb(const char *name, void *arg)
{
	const char *const *kv = arg;

	for (; kv && kv[0]; kv += 2) {
		if (!strcmp(kv[0], name))
			return kv[1];
	}
	return NULL;
}


static char *hunt(const struct config *cfg, const char *ctx,
		  const char *dest, const char *caller, time_t now,
		  const char *const *vars)
{
	struct list steps = LIST_INIT;
	struct dp_channel ch;
	const char *ext = NULL;
	static char out[1024];
	struct le *le;
	size_t n;

	memset(&ch, 0, sizeof(ch));
	ch.destination_number = dest;
	ch.caller_id_number = caller;
	ch.caller_id_name = "Alice";
	ch.network_addr = "192.0.2.7";
	ch.context = ctx;
	ch.var = var_cb;
	ch.arg = (void *)vars;
	ch.now = now ? now : time(NULL);

	assert_int_equal(0, dialplan_hunt(cfg->dialplan, &ch, &steps, &ext,
					  NULL));
	n = (size_t)re_snprintf(out, sizeof(out), "%s", ext ? ext : "-");
	for (le = steps.head; le; le = le->next) {
		const struct dp_step *s = le->data;
		n += (size_t)re_snprintf(out + n, sizeof(out) - n, "|%s %s",
					 s->app->name, s->data ? s->data : "");
	}
	list_flush(&steps);
	return out;
}


static const char *office =
	"  <dialplan>\n"                                             /*  4 */
	"    <context name=\"default\">\n"
	"      <extension name=\"internal\">\n"
	"        <condition field=\"destination_number\" "
	"expression=\"^(1\\d{3})$\">\n"
	"          <action application=\"bridge\" data=\"user/$1\"/>\n"
	"          <action application=\"voicemail\" data=\"$1\"/>\n"
	"        </condition>\n"
	"      </extension>\n"
	"      <extension name=\"outbound\">\n"
	"        <condition field=\"destination_number\" "
	"expression=\"^9(\\d{10})$\">\n"
	"          <action application=\"bridge\" "
	"data=\"trunk/itsp-a/+1$1|trunk/itsp-b/+1$1\"/>\n"
	"          <anti-action application=\"hangup\" "
	"data=\"NO_ROUTE_DESTINATION\"/>\n"
	"        </condition>\n"
	"      </extension>\n"
	"    </context>\n"
	"  </dialplan>\n";


static void test_captures_and_anti_actions(void **state)
{
	struct config *cfg = load_ok(office);
	(void)state;

	assert_string_equal(hunt(cfg, "default", "1002", "1001", 0, NULL),
			    "internal|bridge user/1002|voicemail 1002");
	assert_string_equal(hunt(cfg, "default", "95551234567", "1001", 0,
				 NULL),
			    "outbound|bridge trunk/itsp-a/+15551234567|"
			    "trunk/itsp-b/+15551234567");
	/* neither: the outbound anti-action is what runs */
	assert_string_equal(hunt(cfg, "default", "555", "1001", 0, NULL),
			    "-|hangup NO_ROUTE_DESTINATION");
	assert_true(dialplan_has_context(cfg->dialplan, "default"));
	assert_false(dialplan_has_context(cfg->dialplan, "other"));
	mem_deref(cfg);
}


static void test_continue_and_break(void **state)
{
	struct config *cfg = load_ok(
	"  <dialplan><context name=\"c\">\n"
	"    <extension name=\"vars\" continue=\"true\">\n"
	"      <condition><action application=\"set\" data=\"x=1\"/>"
	"</condition>\n"
	"    </extension>\n"
	"    <extension name=\"and\">\n"
	"      <condition field=\"destination_number\" expression=\"^2\">"
	"<action application=\"log\" data=\"INFO first\"/></condition>\n"
	"      <condition field=\"caller_id_number\" expression=\"^1001$\">"
	"<action application=\"log\" data=\"INFO second\"/></condition>\n"
	"    </extension>\n"
	"    <extension name=\"never\">\n"
	"      <condition field=\"destination_number\" expression=\"^3\" "
	"break=\"never\"><anti-action application=\"log\" data=\"INFO not3\"/>"
	"</condition>\n"
	"      <condition field=\"destination_number\" expression=\"^4\">"
	"<action application=\"log\" data=\"INFO four\"/></condition>\n"
	"    </extension>\n"
	"    <extension name=\"ontrue\">\n"
	"      <condition field=\"destination_number\" expression=\"^5\" "
	"break=\"on-true\"><action application=\"log\" data=\"INFO five\"/>"
	"</condition>\n"
	"      <condition field=\"destination_number\" expression=\"^x\">"
	"<action application=\"log\" data=\"INFO never\"/></condition>\n"
	"    </extension>\n"
	"  </context></dialplan>\n");
	(void)state;

	/* both conditions true: AND */
	assert_string_equal(hunt(cfg, "c", "200", "1001", 0, NULL),
			    "and|set x=1|log INFO first|log INFO second");
	/* the second false: the first's action stays, the hunt goes on;
	 * no extension ends it, the last one that matched is "vars" */
	assert_string_equal(hunt(cfg, "c", "200", "1002", 0, NULL),
			    "vars|set x=1|log INFO first|log INFO not3");
	/* break="never": a false condition does not end the extension */
	assert_string_equal(hunt(cfg, "c", "400", "1002", 0, NULL),
			    "never|set x=1|log INFO not3|log INFO four");
	/* break="on-true": a true condition ends the extension, matched */
	assert_string_equal(hunt(cfg, "c", "500", "1002", 0, NULL),
			    "ontrue|set x=1|log INFO not3|log INFO five");
	/* nothing matches but the continuing first extension */
	assert_string_equal(hunt(cfg, "c", "600", "1002", 0, NULL),
			    "vars|set x=1|log INFO not3");
	mem_deref(cfg);
}


static void test_variables_and_time(void **state)
{
	static const char *const vars[] = {"sip_user_agent", "baresip 1.0",
					   "x", "7", NULL};
	struct config *cfg = load_ok(
	"  <dialplan><context name=\"c\">\n"
	"    <extension name=\"ua\">\n"
	"      <condition field=\"${sip_user_agent}\" "
	"expression=\"^baresip (\\S+)\">"
	"<action application=\"log\" data=\"INFO v$1 ${x}\"/></condition>\n"
	"    </extension>\n"
	"    <extension name=\"office-hours\">\n"
	"      <condition wday=\"2-6\" time-of-day=\"08:00-17:00\">"
	"<action application=\"log\" data=\"INFO open\"/>"
	"<anti-action application=\"log\" data=\"INFO closed\"/>"
	"</condition>\n"
	"    </extension>\n"
	"  </context></dialplan>\n");
	struct dp_channel ch;
	struct tm tm;
	time_t mon10, sun10, mon20;
	char *out = NULL;
	(void)state;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 2026 - 1900; tm.tm_mon = 10; tm.tm_mday = 23;   /* Mon */
	tm.tm_hour = 10; tm.tm_isdst = -1;
	mon10 = mktime(&tm);
	tm.tm_hour = 20; tm.tm_isdst = -1;
	mon20 = mktime(&tm);
	tm.tm_mday = 22; tm.tm_hour = 10; tm.tm_isdst = -1;          /* Sun */
	sun10 = mktime(&tm);

	/* $1 at hunt time, ${x} left for run time */
	assert_string_equal(hunt(cfg, "c", "1", "1001", mon10, vars),
			    "ua|log INFO v1.0 ${x}");
	assert_string_equal(hunt(cfg, "c", "1", "1001", mon10, NULL),
			    "office-hours|log INFO open");
	assert_string_equal(hunt(cfg, "c", "1", "1001", mon20, NULL),
			    "-|log INFO closed");
	assert_string_equal(hunt(cfg, "c", "1", "1001", sun10, NULL),
			    "-|log INFO closed");

	memset(&ch, 0, sizeof(ch));
	ch.caller_id_number = "1001";
	ch.var = var_cb;
	ch.arg = (void *)vars;
	assert_int_equal(0, dialplan_expand_vars(&out,
			"${caller_id_number}:${x}:${unset}.", &ch));
	assert_string_equal(out, "1001:7:.");
	mem_deref(out);
	mem_deref(cfg);
}


static void test_tests_pass(void **state)
{
	char dp[4096];
	struct config *cfg;
	(void)state;

	snprintf(dp, sizeof(dp), "%s%s", office,
		 "  <dialplan>\n"
		 "    <test context=\"default\" caller=\"1001\" "
		 "destination_number=\"1002\" extension=\"internal\" "
		 "actions=\"bridge user/1002;  voicemail 1002\"/>\n"
		 "  </dialplan>\n");
	cfg = load_ok(dp);
	mem_deref(cfg);
}


static void test_compile_errors(void **state)
{
	(void)state;
	expect_errors(
	"  <dialplan>\n"                                             /*  4 */
	"    <context name=\"c\">\n"
	"      <extension name=\"e\">\n"
	"        <condition field=\"destination_number\" "
	"expression=\"^(1\\d{3}$\"/>\n"
	"        <condition field=\"destination_numbr\" expression=\"x\"/>\n"
	"        <condition field=\"destination_number\" expression=\"^(1)\">\n"
	"          <action application=\"brige\" data=\"user/$1\"/>\n"
	"          <action application=\"bridge\" data=\"user/$2\"/>\n"
	"          <anti-action application=\"bridge\" data=\"user/$1\"/>\n"
	"        </condition>\n"
	"      </extension>\n"
	"    </context>\n"
	"    <context name=\"c\"/>\n"
	"  </dialplan>\n",
	"switchboard.xml:7: <condition expression=\"^(1\\d{3}$\">: bad regular "
	"expression at offset 9: missing closing parenthesis\n"
	"switchboard.xml:8: <condition field=\"destination_numbr\">: unknown "
	"field (use destination_number, caller_id_number, caller_id_name, "
	"network_addr, context or ${variable})\n"
	"switchboard.xml:10: unknown application \"brige\" (see 'switchboard "
	"--apps')\n"
	"switchboard.xml:11: <action data=\"user/$2\">: $2, but the "
	"expression captures 1 group(s)\n"
	"switchboard.xml:12: <anti-action data=\"user/$1\">: $1: an "
	"anti-action runs when the expression did not match, so there are no "
	"captures\n"
	"switchboard.xml:16: duplicate context \"c\" (first defined at "
	"%s/switchboard.xml:5)\n");
}


/* the apps check their data at load time */
static void test_app_data_errors(void **state)
{
	(void)state;
	expect_errors(
	"  <dialplan><context name=\"c\"><extension name=\"e\"><condition>\n"
	"    <action application=\"sleep\" data=\"soon\"/>\n"
	"    <action application=\"bridge\"/>\n"
	"    <action application=\"sleep\" data=\"${delay}\"/>\n"
	"  </condition></extension></context></dialplan>\n",
	"switchboard.xml:5: sleep \"soon\": 'soon' is not a whole number of "
	"milliseconds (syntax: sleep MS)\n"
	"switchboard.xml:6: bridge needs data (syntax: bridge "
	"TARGET[,TARGET...][|TARGET...] (user/ID, group/NAME, "
	"trunk/NAME/NUMBER, tgroup/NAME/NUMBER))\n");
}


static void test_failing_tests(void **state)
{
	char dp[4096];
	(void)state;

	snprintf(dp, sizeof(dp), "%s%s", office,
		 "  <dialplan>\n"                                    /* 20 */
		 "    <test context=\"default\" caller=\"1001\" "
		 "destination_number=\"1002\" extension=\"outbound\"/>\n"
		 "    <test context=\"default\" caller=\"1001\" "
		 "destination_number=\"1002\" actions=\"bridge user/1003\"/>\n"
		 "    <test context=\"nowhere\" caller=\"1001\" "
		 "destination_number=\"1002\"/>\n"
		 "  </dialplan>\n");
	expect_errors(dp,
	"switchboard.xml:21: test: 1001 calling 1002 in context default: "
	"reaches extension \"internal\", expected \"outbound\"\n"
	"switchboard.xml:22: test: 1001 calling 1002 in context default: "
	"actions \"bridge user/1002; voicemail 1002\", expected "
	"\"bridge user/1003\"\n"
	"switchboard.xml:23: test: 1001 calling 1002 in context nowhere: "
	"there is no such context\n");
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_captures_and_anti_actions,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_continue_and_break,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_variables_and_time,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tests_pass, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_compile_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_app_data_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failing_tests, setup,
						teardown),
	};
	int r;

	libre_init();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return r;
}

/**
 * @file test_apps.c  The dialplan application registry and the apps' checks
 *
 * Every app checks its data the way `--check` will: through app_check(),
 * so a missing required argument is tested too. Each bad case must come
 * with a one-line reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <ctype.h>
#include <cmocka.h>
#include "core.h"
#include "app.h"


extern const struct app app_answer, app_bridge, app_echo, app_export,
	app_hangup, app_log, app_playback, app_pre_answer, app_ring_ready,
	app_set, app_sleep, app_transfer, app_unset, app_voicemail;

/* The symbol each file defines, named after the file */
static const struct {
	const char *name;
	const struct app *app;
} known[] = {
	{"answer",     &app_answer},
	{"bridge",     &app_bridge},
	{"echo",       &app_echo},
	{"export",     &app_export},
	{"hangup",     &app_hangup},
	{"log",        &app_log},
	{"playback",   &app_playback},
	{"pre_answer", &app_pre_answer},
	{"ring_ready", &app_ring_ready},
	{"set",        &app_set},
	{"sleep",      &app_sleep},
	{"transfer",   &app_transfer},
	{"unset",      &app_unset},
	{"voicemail",  &app_voicemail},
};


static void test_find_each(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(known); i++) {
		const struct app *a = app_find(known[i].name);

		assert_ptr_equal(a, known[i].app);
		assert_string_equal(a->name, known[i].name);
		assert_non_null(a->syntax);
		assert_non_null(a->descr);
		assert_true(strlen(a->descr) > 0);
		assert_null(strchr(a->descr, '\n'));
	}

	assert_null(app_find(NULL));
	assert_null(app_find(""));
	assert_null(app_find("Answer"));
	assert_null(app_find("ans"));
	assert_null(app_find("answerx"));
	assert_null(app_find("zzz"));
	assert_null(app_find("registry"));
}


static void test_table_sorted(void **state)
{
	const struct app *const *ap = app_list();
	const struct app *prev = NULL;
	size_t n = 0;
	(void)state;

	for (; *ap; ap++, n++) {
		const char *p;

		/* Bisection needs strictly increasing names */
		if (prev)
			assert_true(strcmp(prev->name, (*ap)->name) < 0);

		/* The generator takes names from file names: [a-z][a-z0-9_]* */
		assert_true(islower((unsigned char)(*ap)->name[0]));
		for (p = (*ap)->name; *p; p++)
			assert_true(islower((unsigned char)*p) ||
				    isdigit((unsigned char)*p) || *p == '_');

		assert_ptr_equal(app_find((*ap)->name), *ap);
		prev = *ap;
	}

	assert_true(n >= ARRAY_SIZE(known));
}


static void test_print_all(void **state)
{
	const struct app *const *ap;
	struct mbuf *mb = mbuf_alloc(1024);
	size_t lines = 0, n = 0, i;
	char *s = NULL;
	(void)state;

	assert_non_null(mb);
	assert_int_equal(mbuf_printf(mb, "%H", app_print_all, NULL), 0);

	mbuf_set_pos(mb, 0);
	assert_int_equal(mbuf_strdup(mb, &s, mbuf_get_left(mb)), 0);

	for (i = 0; s[i]; i++)
		lines += s[i] == '\n';
	for (ap = app_list(); *ap; ap++)
		++n;
	assert_int_equal(lines, n);

	assert_non_null(strstr(s, "answer - "));
	assert_non_null(strstr(s, "\nsleep MS - "));
	assert_non_null(strstr(s, "\nhangup [CAUSE] - "));

	mem_deref(s);
	mem_deref(mb);
}


struct tcase {
	const char *data;
	bool ok;
};


static void run_cases(const char *name, const struct tcase *tc, size_t n)
{
	const struct app *a = app_find(name);
	size_t i;

	assert_non_null(a);

	for (i = 0; i < n; i++) {
		char msg[256] = "";
		int err = app_check(a, tc[i].data, msg, sizeof(msg));

		if (tc[i].ok != !err)
			print_error("%s '%s': expected %s, got %d (%s)\n",
				    name, tc[i].data ? tc[i].data : "(null)",
				    tc[i].ok ? "ok" : "an error", err, msg);
		assert_int_equal(tc[i].ok, !err);

		if (!tc[i].ok) {
			/* One line that says why */
			assert_true(strlen(msg) > 0);
			assert_null(strchr(msg, '\n'));

			/* No message buffer: still refused, nothing written */
			assert_int_equal(app_check(a, tc[i].data, NULL, 0),
					 err);
		}
	}
}

#define CASES(name, ...) do {						\
		static const struct tcase tc_[] = {__VA_ARGS__};	\
		run_cases(name, tc_, ARRAY_SIZE(tc_));			\
	} while (0)


static void test_no_data_apps(void **state)
{
	static const char *const names[] = {
		"answer", "pre_answer", "ring_ready", "echo"
	};
	static const struct tcase tc[] = {
		{NULL,     true},
		{"",       true},
		{"  \t",   true},
		{"now",    false},
		{"${x}",   false},
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		run_cases(names[i], tc, ARRAY_SIZE(tc));
}


static void test_hangup(void **state)
{
	(void)state;

	CASES("hangup",
	      {NULL,                   true},
	      {"",                     true},
	      {"NORMAL_CLEARING",      true},
	      {"USER_BUSY",            true},
	      {" NO_ROUTE_DESTINATION ", true},
	      {"user_busy",            true},
	      {"ORIGINATOR_CANCEL",    true},
	      {"17",                   true},
	      {"16",                   true},
	      {"${cause}",             true},
	      {"BUSY",                 false},
	      {"USER_BUSY NOW",        false},
	      {"999",                  false},
	      {"0",                    false},
	      {"17x",                  false},
	      {"-1",                   false},
	      {"99999999999999999999", false});
}


static void test_bridge(void **state)
{
	(void)state;

	CASES("bridge",
	      {"user/1001",                                   true},
	      {"group/sales",                                 true},
	      {"trunk/itsp-a/+15555550100",                   true},
	      {"trunk/itsp/*97#",                             true},
	      {"user/1001,user/1002",                         true},
	      {"user/1001|group/sales|trunk/itsp/911",        true},
	      {" user/1001 , user/1002 | user/1003 ",         true},
	      {"user/$1",                                     true},
	      {"trunk/itsp-a/+1$1|trunk/itsp-b/+1$1",         true},
	      {"${targets}",                                  true},
	      {"user/${dest}",                                true},
	      {"${kind}/1001",                                true},
	      {"trunk/${route}",                              true},
	      {"user/1001,${more}",                           true},
	      {NULL,                                          false},
	      {"",                                            false},
	      {"user",                                        false},
	      {"user/",                                       false},
	      {"/1001",                                       false},
	      {"sofia/internal/1001",                         false},
	      {"User/1001",                                   false},
	      {"user/1001,,user/1002",                        false},
	      {"user/1001|",                                  false},
	      {"|user/1001",                                  false},
	      {"user/1001,",                                  false},
	      {"user/1001/x",                                 false},
	      {"group/a/b",                                   false},
	      {"user/10 01",                                  false},
	      {"user/10!01",                                  false},
	      {"trunk/itsp",                                  false},
	      {"trunk/itsp/",                                 false},
	      {"trunk//123",                                  false},
	      {"trunk/itsp/12a",                              false},
	      {"trunk/itsp/1+2",                              false},
	      {"trunk/itsp/123/4",                            false});
}


static void test_set_export(void **state)
{
	static const char *const names[] = {"set", "export"};
	static const struct tcase tc[] = {
		{"foo=bar",            true},
		{"call_timeout=30",    true},
		{"foo=",               true},
		{"a.b-c_D9=x y z",     true},
		{"foo==bar",           true},
		{"x=${y}",             true},
		{"${name}=1",          true},
		{"${assignment}",      true},
		{NULL,                 false},
		{"",                   false},
		{"foo",                false},
		{"=bar",               false},
		{"fo o=bar",           false},
		{"foo =bar",           false},
		{"f$oo=1",             false},
		{"a/b=1",              false},
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		run_cases(names[i], tc, ARRAY_SIZE(tc));
}


static void test_unset(void **state)
{
	(void)state;

	CASES("unset",
	      {"foo",      true},
	      {" a.b-c_d ", true},
	      {"${var}",   true},
	      {NULL,       false},
	      {"",         false},
	      {"foo=bar",  false},
	      {"foo bar",  false},
	      {"fo!o",     false});
}


static void test_playback(void **state)
{
	(void)state;

	CASES("playback",
	      {"/var/lib/switchboard/sounds/hello.wav",    true},
	      {"prompts/Hello.WAV",                        true},
	      {"${sounds_dir}/hello.wav",                  true},
	      {"${file}",                                  true},
	      {"tone://425,1000,4000",                     true},
	      {"tone://350+440,2000,4000,3",               true},
	      {"tone://480+620,500,500,0",                 true},
	      {"tone://1004,60000,0",                      true},
	      {"tone://${freq},100,100",                   true},
	      {"tone://${ringback}",                       true},
	      {NULL,                                       false},
	      {"",                                         false},
	      {"hello.mp3",                                false},
	      {".wav",                                     false},
	      {"wav",                                      false},
	      {"http://example.com/a.wav",                 false},
	      {"tone://",                                  false},
	      {"tone://425",                               false},
	      {"tone://425,1000",                          false},
	      {"tone://425,1000,4000,1,2",                 false},
	      {"tone://0,100,100",                         false},
	      {"tone://4000,100,100",                      false},
	      {"tone://425+,100,100",                      false},
	      {"tone://350+440+480,100,100",               false},
	      {"tone://425,0,100",                         false},
	      {"tone://425,100,60001",                     false},
	      {"tone://425,100,100,x",                     false},
	      {"tone://425, 100,100",                      false},
	      {"tone://4x5,100,100",                       false});
}


static void test_sleep(void **state)
{
	(void)state;

	CASES("sleep",
	      {"1000",                 true},
	      {"0",                    true},
	      {" 250 ",                true},
	      {"3600000",              true},
	      {"${delay}",             true},
	      {NULL,                   false},
	      {"",                     false},
	      {"1.5",                  false},
	      {"-1",                   false},
	      {"10s",                  false},
	      {"1 000",                false},
	      {"3600001",              false},
	      {"99999999999999999999", false});
}


static void test_log(void **state)
{
	(void)state;

	CASES("log",
	      {"hello",                                  true},
	      {"INFO hello world",                       true},
	      {"DEBUG x",                                true},
	      {"NOTICE y",                               true},
	      {"WARNING z",                              true},
	      {"ERR something broke",                    true},
	      {"Debug info for ${caller_id_number}",     true},
	      {"${level} message",                       true},
	      {"CRIT",                                   true},
	      {NULL,                                     false},
	      {"",                                       false},
	      {"INFO",                                   false},
	      {"WARNING   ",                             false},
	      {"CRIT fire in the server room",           false},
	      {"WARN x",                                 false},
	      {"ERROR x",                                false});
}


static void test_transfer(void **state)
{
	(void)state;

	CASES("transfer",
	      {"1000",                 true},
	      {"1000 default",         true},
	      {"*97 features",         true},
	      {"  1000   default  ",   true},
	      {"${dest}",              true},
	      {"$1 ${ctx}",            true},
	      {NULL,                   false},
	      {"",                     false},
	      {"1000 default XML",     false},
	      {"1000 a b",             false},
	      {"10!0",                 false},
	      {"1000 bad/ctx",         false});
}


static void test_voicemail(void **state)
{
	(void)state;

	CASES("voicemail",
	      {"1001",        true},
	      {"$1",          true},
	      {"sales.box",   true},
	      {"${mailbox}",  true},
	      {NULL,          false},
	      {"",            false},
	      {"1001 1002",   false},
	      {"10/01",       false});
}


static void test_dynamic(void **state)
{
	(void)state;

	assert_true(app_data_is_dynamic("${x}"));
	assert_true(app_data_is_dynamic("a${caller_id_number}b"));
	assert_true(app_data_is_dynamic("${a_${b}}"));
	assert_true(app_data_is_dynamic("$1"));
	assert_true(app_data_is_dynamic("user/$9"));

	assert_false(app_data_is_dynamic(NULL));
	assert_false(app_data_is_dynamic(""));
	assert_false(app_data_is_dynamic("plain"));
	assert_false(app_data_is_dynamic("$"));
	assert_false(app_data_is_dynamic("$0"));
	assert_false(app_data_is_dynamic("$x"));
	assert_false(app_data_is_dynamic("${"));
	assert_false(app_data_is_dynamic("${}"));
	assert_false(app_data_is_dynamic("${x"));
	assert_false(app_data_is_dynamic("{x}"));
}


static void test_fields(void **state)
{
	struct pl rest, f;
	(void)state;

	/* A separator inside a reference does not split */
	pl_set_str(&rest, "a,${f(x,y)},,b");
	assert_true(app_field(&rest, &f, ','));
	assert_int_equal(pl_strcmp(&f, "a"), 0);
	assert_true(app_field(&rest, &f, ','));
	assert_int_equal(pl_strcmp(&f, "${f(x,y)}"), 0);
	assert_true(app_field(&rest, &f, ','));
	assert_int_equal(f.l, 0);
	assert_true(app_field(&rest, &f, ','));
	assert_int_equal(pl_strcmp(&f, "b"), 0);
	assert_false(app_field(&rest, &f, ','));

	pl_set_str(&rest, "x ${a b} y");
	assert_true(app_word(&rest, &f));
	assert_int_equal(pl_strcmp(&f, "x"), 0);
	assert_true(app_word(&rest, &f));
	assert_int_equal(pl_strcmp(&f, "${a b}"), 0);
	assert_true(app_word(&rest, &f));
	assert_int_equal(pl_strcmp(&f, "y"), 0);
	assert_false(app_word(&rest, &f));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_each),
		cmocka_unit_test(test_table_sorted),
		cmocka_unit_test(test_print_all),
		cmocka_unit_test(test_no_data_apps),
		cmocka_unit_test(test_hangup),
		cmocka_unit_test(test_bridge),
		cmocka_unit_test(test_set_export),
		cmocka_unit_test(test_unset),
		cmocka_unit_test(test_playback),
		cmocka_unit_test(test_sleep),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_transfer),
		cmocka_unit_test(test_voicemail),
		cmocka_unit_test(test_dynamic),
		cmocka_unit_test(test_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

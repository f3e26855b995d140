/**
 * @file bridge.c  bridge TARGETS: ring targets, connect the first to answer
 *
 *   user/ID               every registered contact of a user
 *   group/NAME            a group of the directory, by its strategy
 *   trunk/NAME/NUMBER     NUMBER through a trunk
 *   tgroup/NAME/NUMBER    NUMBER through a trunk group's trunks in turn
 *
 * "," rings targets together, "|" tries the next set when one fails (busy,
 * declined, no answer within ${call_timeout}):
 *   user/1001,user/1002|trunk/itsp/+15555550100
 *
 * The check knows only the syntax: whether a user, group or trunk exists
 * is the directory's business, and a name can change with a reload.
 */
#include "core.h"
#include "app.h"


static const char *const syntax =
	"user/ID, group/NAME, trunk/NAME/NUMBER or tgroup/NAME/NUMBER, "
	"joined by , or |";

static const struct kind {
	const char *name;
	const char *what;   /* what follows the first '/' */
	bool number;        /* and then "/NUMBER"         */
} kinds[] = {
	{"user",  "ID",   false},
	{"group", "NAME", false},
	{"trunk", "NAME", true},
	{"tgroup", "NAME", true},
};


static bool dial_string_valid(const struct pl *num)
{
	size_t i = 0;

	if (app_pl_is_dynamic(num))
		return true;

	if (num->l && num->p[0] == '+')
		i = 1;

	if (i == num->l)
		return false;

	for (; i < num->l; i++) {
		if (!strchr("0123456789*#", num->p[i]))
			return false;
	}

	return true;
}


static int check_target(const struct pl *t, char *msg, size_t msgsz)
{
	const struct kind *k = NULL;
	struct pl rest = *t, kp, name, num;
	size_t i;

	/* All of it from a variable or a capture */
	if (app_pl_is_dynamic(t) && !pl_strchr(t, '/'))
		return 0;

	(void)app_field(&rest, &kp, '/');
	if (!rest.p)
		return app_fail(msg, msgsz, EINVAL, "target '%r' is not %s",
				t, syntax);

	if (app_pl_is_dynamic(&kp))
		return 0;

	for (i = 0; i < ARRAY_SIZE(kinds) && !k; i++) {
		if (!pl_strcmp(&kp, kinds[i].name))
			k = &kinds[i];
	}
	if (!k)
		return app_fail(msg, msgsz, EINVAL,
				"target '%r': unknown kind '%r' (user, group,"
				" trunk or tgroup)", t, &kp);

	(void)app_field(&rest, &name, '/');
	if (!name.l)
		return app_fail(msg, msgsz, EINVAL, "target '%r': no %s",
				t, k->what);

	if (k->number) {
		if (!rest.p) {
			if (app_pl_is_dynamic(&name))
				return 0;  /* may hold NAME/NUMBER */

			return app_fail(msg, msgsz, EINVAL,
					"target '%r': no number"
					" (%s/NAME/NUMBER)", t, k->name);
		}

		(void)app_field(&rest, &num, '/');
		if (!rest.p && !dial_string_valid(&num))
			return app_fail(msg, msgsz, EINVAL,
					"target '%r': '%r' is not a number"
					" (digits, * and #, a leading +)",
					t, &num);
	}

	if (rest.p)
		return app_fail(msg, msgsz, EINVAL,
				"target '%r': too many '/' (%s/%s%s)", t,
				k->name, k->what, k->number ? "/NUMBER" : "");

	/* The characters of ids and names in the directory */
	if (!app_pl_valid(&name, "_.+-"))
		return app_fail(msg, msgsz, EINVAL,
				"target '%r': invalid %s '%r' (letters,"
				" digits, _ . + -)", t, k->what, &name);

	return 0;
}


static int check(const char *data, char *msg, size_t msgsz)
{
	struct pl seq, par, group, target;
	int err;

	pl_set_str(&seq, data ? data : "");

	while (app_field(&seq, &group, '|')) {

		par = group;
		while (app_field(&par, &target, ',')) {

			app_trim(&target);
			if (!target.l)
				return app_fail(msg, msgsz, EINVAL,
						"empty target (two separators"
						" in a row, or one at an end)");

			err = check_target(&target, msg, msgsz);
			if (err)
				return err;
		}
	}

	return 0;
}


const struct app app_bridge = {
	.name   = "bridge",
	.syntax = "TARGET[,TARGET...][|TARGET...]"
		  " (user/ID, group/NAME, trunk/NAME/NUMBER, "
		  "tgroup/NAME/NUMBER)",
	.descr  = "Ring the targets (, together, | in turn); the first to"
		  " answer is connected",
	.flags  = APP_NEEDS_DATA,
	.check  = check,
};

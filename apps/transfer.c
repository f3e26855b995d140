/**
 * @file transfer.c  transfer EXTENSION [CONTEXT]: route the call again
 *
 * The dialplan starts over as if EXTENSION had been dialled, in CONTEXT
 * or the current one. Nothing after a transfer runs. Whether CONTEXT
 * exists is for the dialplan loader to say: this check sees only data.
 */
#include "core.h"
#include "app.h"


static int check(const char *data, char *msg, size_t msgsz)
{
	struct pl rest, ext, ctx, more;

	pl_set_str(&rest, data ? data : "");

	if (!app_word(&rest, &ext))
		return app_fail(msg, msgsz, EINVAL, "no extension");

	/* Dialled numbers: feature codes such as *97 included */
	if (!app_pl_valid(&ext, "_.+-*#"))
		return app_fail(msg, msgsz, EINVAL,
				"invalid extension '%r' (letters, digits,"
				" _ . + - * #)", &ext);

	if (!app_word(&rest, &ctx))
		return 0;

	if (!app_pl_valid(&ctx, "_.+-"))
		return app_fail(msg, msgsz, EINVAL,
				"invalid context name '%r' (letters, digits,"
				" _ . + -)", &ctx);

	if (app_word(&rest, &more)) {
		/* FreeSWITCH's third argument names the dialplan type */
		if (!pl_strcmp(&more, "XML"))
			return app_fail(msg, msgsz, EINVAL,
					"the dialplan is always XML here:"
					" drop 'XML'");

		return app_fail(msg, msgsz, EINVAL,
				"'%r' after the context: EXTENSION [CONTEXT]",
				&more);
	}

	return 0;
}


const struct app app_transfer = {
	.name   = "transfer",
	.syntax = "EXTENSION [CONTEXT]",
	.descr  = "Route the call again as if EXTENSION had been dialled",
	.flags  = APP_ENDS_CALL | APP_NEEDS_DATA,
	.check  = check,
};

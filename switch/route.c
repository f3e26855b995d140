/**
 * @file route.c  `switchboard ctl route NUMBER [--from USER]`: a dry run
 *
 * Hunting and running are separate (dialplan.h), so the dry run is the
 * hunt a call would make, printed: nothing is dialled.
 */
#include <time.h>
#include "core.h"
#include "app.h"
#include "config.h"
#include "dialplan.h"
#include "route.h"


int route_dry_run(struct re_printf *pf, const struct config *cfg,
		  int argc, char *argv[])
{
	const struct config_user *u = NULL;
	const char *from = NULL, *context = NULL, *ext = NULL;
	struct list steps = LIST_INIT;
	struct mbuf *trace = NULL;
	struct dp_channel ch;
	struct le *le;
	int i, n, err;

	if (argc < 2) {
		(void)re_hprintf(pf, "usage: route NUMBER [--from USER] "
				 "[--context NAME]\n");
		return EINVAL;
	}

	for (i = 2; i + 1 < argc; i += 2) {
		/* "--from" or "from": the second fits in XML comments */
		const char *opt = argv[i];

		if (!strncmp(opt, "--", 2))
			opt += 2;
		if (!strcmp(opt, "from"))
			from = argv[i + 1];
		else if (!strcmp(opt, "context"))
			context = argv[i + 1];
		else
			break;
	}
	if (i < argc) {
		(void)re_hprintf(pf, "route: unexpected \"%s\"\n", argv[i]);
		return EINVAL;
	}

	if (from) {
		struct pl id;

		pl_set_str(&id, from);
		u = config_user_find(cfg, &id);
		if (!u) {
			(void)re_hprintf(pf, "route: no user \"%s\" in the "
					 "directory\n", from);
			return ENOENT;
		}
	}

	/* the context of the calling user, as for a real call */
	if (!context)
		context = u ? u->context : "default";

	memset(&ch, 0, sizeof(ch));
	ch.destination_number = argv[1];
	ch.caller_id_number = from ? from : "";
	ch.caller_id_name = u && u->name ? u->name : ch.caller_id_number;
	ch.network_addr = "";
	ch.context = context;
	ch.now = time(NULL);

	trace = mbuf_alloc(512);
	if (!trace)
		return ENOMEM;

	err = dialplan_hunt(cfg->dialplan, &ch, &steps, &ext, trace);
	if (err == ENOENT) {
		(void)re_hprintf(pf, "route: no context \"%s\" in the "
				 "dialplan\n", context);
		goto out;
	}
	if (err)
		goto out;

	err = re_hprintf(pf, "route %s%s%s in context %s (dry run, nothing "
			 "is dialled)\n", argv[1], from ? " from " : "",
			 from ? from : "", context);
	err |= re_hprintf(pf, "conditions:\n%b", trace->buf, trace->end);
	if (!trace->end)
		err |= re_hprintf(pf, "  (the context has no extension)\n");

	err |= re_hprintf(pf, "extension: %s\n", ext ? ext : "(none)");
	err |= re_hprintf(pf, "actions:%s\n", list_isempty(&steps) ?
			  " (none: the call would be refused, "
			  "NO_ROUTE_DESTINATION)" : "");

	n = 0;
	for (le = steps.head; le; le = le->next) {
		const struct dp_step *s = le->data;

		err |= re_hprintf(pf, "  %d. %s%s%s%s    (%s:%d%s)\n", ++n,
				  s->app->name, s->data && *s->data ? " " : "",
				  s->data ? s->data : "", "", s->file, s->line,
				  s->anti ? ", anti-action" : "");
	}

 out:
	list_flush(&steps);
	mem_deref(trace);
	return err;
}

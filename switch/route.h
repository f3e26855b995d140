/**
 * @file route.h  `switchboard ctl route NUMBER [--from USER]`: a dry run
 */
#ifndef SWITCH_ROUTE_H
#define SWITCH_ROUTE_H

struct config;

/** argv: "route" NUMBER [--from USER] [--context NAME]. Prints which
 *  conditions matched (FILE:LINE) and the actions that would run. */
int route_dry_run(struct re_printf *pf, const struct config *cfg,
		  int argc, char *argv[]);

#endif

/**
 * @file dialplan.h  The XML dialplan, compiled
 *
 * Semantics of the XML dialplan PBX administrators know (FreeSWITCH's
 * mod_dialplan_xml): a context holds extensions, tried in order; an
 * extension's conditions are evaluated in order, each a PCRE2 regular
 * expression on a channel field (destination_number, caller_id_number,
 * caller_id_name, network_addr, context) or on ${variable}, optionally
 * limited to days and hours; a true condition adds its actions (with its
 * captures $1..$9 substituted), a false one its anti-actions; break
 * ("on-false" by default, "on-true", "always", "never") ends the
 * extension's conditions early; an extension whose last evaluated
 * condition was true ends the hunt unless it says continue="true".
 *
 * Everything is compiled when the config loads (regexes, app lookups,
 * data checks); a call walks prepared structures. Hunting (finding the
 * actions) is separate from running them, which is what makes
 * `switchboard ctl route` a dry run.
 */
#ifndef SWITCH_DIALPLAN_H
#define SWITCH_DIALPLAN_H

struct app;
struct dialplan;

/** What a hunt looks at. */
struct dp_channel {
	const char *destination_number;
	const char *caller_id_number;
	const char *caller_id_name;
	const char *network_addr;
	const char *context;
	/** ${name}: a channel variable, or NULL if unset */
	const char *(*var)(const char *name, void *arg);
	void *arg;
	time_t now;                /* for time conditions */
};

/** One action to run, in order. */
struct dp_step {
	struct le le;
	const struct app *app;
	char *data;                /* $1..$9 substituted; ${var} kept */
	bool anti;                 /* from an anti-action */
	const char *extension;     /* name of the extension it came from */
	const char *file;          /* where the action is written */
	int line;
};

/**
 * Hunt the actions for ch in its context.
 *
 * @param steps  Filled with struct dp_step (caller flushes)
 * @param extp   Name of the extension that ended the hunt, or NULL
 * @param trace  If not NULL, a line per condition evaluated:
 *               "FILE:LINE extension NAME: field "value" =~ /expr/ -> true"
 * @return 0, or ENOENT if the context does not exist
 */
int  dialplan_hunt(const struct dialplan *dp, const struct dp_channel *ch,
		   struct list *steps, const char **extp, struct mbuf *trace);

bool dialplan_has_context(const struct dialplan *dp, const char *name);
uint32_t dialplan_context_count(const struct dialplan *dp);

/** Expand ${var} in data at run time; unknown variables become "". */
int  dialplan_expand_vars(char **outp, const char *data,
			  const struct dp_channel *ch);

/* Internal to the dialplan files */
int  dialplan_alloc(struct dialplan **dpp);

#endif

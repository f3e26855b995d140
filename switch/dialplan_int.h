/**
 * @file dialplan_int.h  The compiled dialplan, shared by its own files
 *
 * dialplan.c       the objects, hunting, ${var} expansion
 * dialplan_load.c  compiling <dialplan> XML into these structures
 * dialplan_test.c  running the <test> elements at load time
 */
#ifndef SWITCH_DIALPLAN_INT_H
#define SWITCH_DIALPLAN_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

enum {
	DP_MAX_CAPTURES = 10,      /* $0..$9 */
};

enum dp_field {
	DPF_NONE = 0,              /* no field: always true (time only) */
	DPF_DESTINATION_NUMBER,
	DPF_CALLER_ID_NUMBER,
	DPF_CALLER_ID_NAME,
	DPF_NETWORK_ADDR,
	DPF_CONTEXT,
	DPF_VAR,                   /* field="${name}" */
};

enum dp_break {
	DP_BREAK_ON_FALSE = 0,     /* the default */
	DP_BREAK_ON_TRUE,
	DP_BREAK_ALWAYS,
	DP_BREAK_NEVER,
};

struct dp_action {
	struct le le;
	const struct app *app;
	char *data;                /* as written, with $N and ${var} */
	char *file;
	int line;
};

struct dp_cond {
	struct le le;
	enum dp_field field;
	char *var;                 /* DPF_VAR: the variable's name */
	char *expr;
	pcre2_code *re;            /* NULL: no expression (always true) */
	uint32_t ngroups;
	uint8_t wdays;             /* bit d set: day d (1 = Sunday); 0: any */
	int16_t tod_from;          /* minutes of the day; -1: any time */
	int16_t tod_to;
	enum dp_break brk;
	struct list actions;       /* struct dp_action */
	struct list anti;
	char *file;
	int line;
};

struct dp_ext {
	struct le le;
	char *name;
	bool cont;
	struct list conds;         /* struct dp_cond */
	char *file;
	int line;
};

struct dp_context {
	struct le he;
	char *name;
	struct list exts;          /* struct dp_ext */
	char *file;
	int line;
};

struct dp_test {
	struct le le;
	char *context;
	char *caller;
	char *destination;
	char *extension;           /* expected, may be NULL */
	char *actions;             /* expected "app data; app data", or NULL */
	char *time;                /* "YYYY-MM-DDTHH:MM", local; or NULL */
	char *file;
	int line;
};

struct dialplan {
	struct hash *contexts;     /* struct dp_context by name */
	struct list tests;         /* struct dp_test */
	uint32_t ncontexts;
	pcre2_match_data *md;      /* scratch: the signalling thread only */
};

struct dp_context *dialplan_context(const struct dialplan *dp,
				    const char *name);
void dialplan_add_context(struct dialplan *dp, struct dp_context *ctx);

/** Highest $N (0-9) referenced in s, or -1. */
int  dialplan_max_capture(const char *s);

#endif

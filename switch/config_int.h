/**
 * @file config_int.h  Config loading, shared by the loader's own files
 *
 * config_load.c    parsing, validation, settings and directory
 * config_trunk.c   the <trunks> section
 * dialplan_load.c  the <dialplan> section
 */
#ifndef SWITCH_CONFIG_INT_H
#define SWITCH_CONFIG_INT_H

#include <libxml/tree.h>

struct loader {
	struct config *cfg;
	struct list *errl;
	xmlDoc *doc;
	int nerr;
};

/** The file a node came from (XInclude aware); xmlFree() the result. */
xmlChar *node_file(const xmlNode *node, const char *mainfile);
int  node_line(const xmlNode *node);
/** Report "FILE:LINE: message" at node. */
void add_error_at(struct loader *ld, const xmlNode *node, const char *fmt,
		  ...);
bool is_elem(const xmlNode *n, const char *name);
/** Attribute value or NULL; xmlFree() it. */
char *attr(const xmlNode *n, const char *name);
int  attr_dup(char **dst, const xmlNode *n, const char *name);

void attr_seconds(struct loader *ld, const xmlNode *n, const char *name,
		  uint32_t *valp);
void attr_count(struct loader *ld, const xmlNode *n, const char *name,
		uint32_t *valp);
int  attr_file(struct loader *ld, const xmlNode *n, const char *name,
	       char **pathp);
void attr_codecs(struct loader *ld, const xmlNode *n, struct codec_list *l);
/** "yes"/"no" into *valp (the schema allows nothing else) */
void attr_yesno(const xmlNode *n, const char *name, bool *valp);

/* config_trunk.c: the <trunks> section */
int  config_load_trunks(struct loader *ld, const xmlNode *trunks);

/* dialplan_load.c */
int  dialplan_load(struct loader *ld, const xmlNode *dialplan);
/* dialplan_test.c: run the <test> elements once everything is loaded */
int  dialplan_run_tests(struct loader *ld);

#endif

/**
 * @file config_schema.h  Readable validation driven by the RelaxNG schema
 *
 * libxml2's RelaxNG validator says "Extra element settings in interleave"
 * for a misspelt attribute three levels down. This walks the config
 * against the same schema (the embedded etc/schema/switchboard.rng, the
 * one description of the format) and names the element, the attribute
 * and what would have been valid. It understands the subset of RelaxNG
 * the schema uses: element, attribute, optional, zeroOrMore, oneOrMore,
 * interleave, group, choice, ref/define, data (string with pattern and
 * minLength, nonNegativeInteger, unsignedShort), value, list, text,
 * anyName. libxml2's validator still runs afterwards as a backstop.
 */
#ifndef SWITCH_CONFIG_SCHEMA_H
#define SWITCH_CONFIG_SCHEMA_H

#include <libxml/tree.h>

struct schema;

/** Reports one problem at a node */
typedef void (schema_err_h)(const xmlNode *node, const char *msg, void *arg);

int  schema_alloc(struct schema **sp, const char *rng, size_t len);
/** Returns the number of problems reported. */
int  schema_check(const struct schema *s, const xmlDoc *doc,
		  schema_err_h *errh, void *arg);

#endif

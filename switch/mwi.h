/**
 * @file mwi.h  Message waiting (RFC 3842): the lamp on the phone
 */
#ifndef SWITCH_MWI_H
#define SWITCH_MWI_H

struct mwi;
struct registrar;
struct sipstack;
struct store;

struct location;
struct config;

/** cfgp: where the daemon keeps its current config (reloads) */
int  mwi_alloc(struct mwi **mwip, struct sipstack *ss, struct registrar *reg,
	       struct store *st, struct location *loc,
	       struct config *const *cfgp);

/** The mailbox changed: every phone watching it gets a NOTIFY */
void mwi_update(struct mwi *mwi, const char *mailbox);

#endif

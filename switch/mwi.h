/**
 * @file mwi.h  Message waiting (RFC 3842): the lamp on the phone
 */
#ifndef SWITCH_MWI_H
#define SWITCH_MWI_H

struct mwi;
struct registrar;
struct sipstack;
struct store;

int  mwi_alloc(struct mwi **mwip, struct sipstack *ss, struct registrar *reg,
	       struct store *st);

/** The mailbox changed: every phone watching it gets a NOTIFY */
void mwi_update(struct mwi *mwi, const char *mailbox);

#endif

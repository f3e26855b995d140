/**
 * @file vm_int.h  Voicemail, shared by its own files only
 *
 * vm.c      recording messages and greetings, the writer thread
 * vm_box.c  the owner's side: messages heard, saved, deleted; PINs
 */
#ifndef SWITCH_VM_INT_H
#define SWITCH_VM_INT_H

#include <pthread.h>

struct vm {
	struct store *st;             /* weak */
	char *datadir;
	struct mqueue *mq;
	pthread_t tid;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vm_rec *list;          /* the writer's, under lock */
	struct vm_rec *done;          /* finished, for the signalling thread */
	bool quit;
	vm_change_h *changeh;
	void *change_arg;
	struct vm_mail *mail;         /* weak; NULL: no e-mail */
	struct hash *pinlocks;        /* struct pinlock by mailbox */
};

/* vm_box.c: its part of struct vm, made and freed with it */
int  vm_box_init(struct vm *vm);
void vm_box_close(struct vm *vm);

#endif

/**
 * @file vm.h  Voicemail: recording messages into mailboxes
 *
 * A recording (vm_rec) takes what a call leg's phone sends (recorder.h,
 * on the leg's media worker), and a writer thread of this module puts
 * it into DATADIR/voicemail/MAILBOX/msg-TIME-ID.wav (wavfile.h: a
 * temporary file, fsync, rename). When the recording is stopped and the
 * file is in place, the message's row goes into the store's index
 * (store_vm_put); a message shorter than one second is dropped. Only then
 * is the message there for the lamp and the mailbox: a crash before it
 * leaves no row pointing at a missing or half-written file.
 */
#ifndef SWITCH_VM_H
#define SWITCH_VM_H

struct media_ep;
struct store;
struct vm;
struct vm_rec;

/** Called once, on the signalling thread, when the message is stored
 *  (err 0, id of its row), dropped as too short (ENODATA) or failed */
typedef void (vm_done_h)(int err, int64_t id, uint64_t duration_ms,
			 void *arg);

int  vm_alloc(struct vm **vmp, struct store *st, const char *datadir);

/** Called on the signalling thread when a mailbox's index changed */
typedef void (vm_change_h)(const char *mailbox, void *arg);
void vm_set_changeh(struct vm *vm, vm_change_h *h, void *arg);

/**
 * Start recording ep into mailbox. caller / caller_name go into the
 * index. The recording holds a reference to nothing of the call: stop
 * it (vm_rec_stop) before the endpoint goes, or let the endpoint go
 * (the worker lets go of the recorder then, and the message is kept).
 */
int  vm_rec_start(struct vm_rec **recp, struct vm *vm, struct media_ep *ep,
		  const char *mailbox, const char *caller,
		  const char *caller_name, vm_done_h *doneh, void *arg);

/** Stop: the message is finished and stored (the done handler follows).
 *  Also on a rec whose done handler was cleared (the call is gone). */
void vm_rec_stop(struct vm_rec *rec);

/** Forget the done handler (the caller is being freed) */
void vm_rec_forget(struct vm_rec *rec);

/** While recording: ms of audio so far, ms since the caller last spoke,
 *  whether '#' was pressed */
uint64_t vm_rec_ms(const struct vm_rec *rec);
uint64_t vm_rec_silent_ms(const struct vm_rec *rec);
bool     vm_rec_hash(const struct vm_rec *rec);

/** Messages in mailbox: new (not heard) and old */
int  vm_count(struct vm *vm, const char *mailbox, uint32_t *newp,
	      uint32_t *oldp);

/** The data folder (mailboxes are in its voicemail/ folder) */
const char *vm_datadir(const struct vm *vm);

/** ctl voicemail [MAILBOX] */
int  vm_print(struct re_printf *pf, struct vm *vm, const char *mailbox);

#endif

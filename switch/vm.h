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

/**
 * Record ep into DATADIR/voicemail/MAILBOX/NAME (a greeting, written
 * as a message is, without an index row); under a second: ENODATA to
 * the done handler and no file.
 */
int  vm_rec_file(struct vm_rec **recp, struct vm *vm, struct media_ep *ep,
		 const char *mailbox, const char *name, vm_done_h *doneh,
		 void *arg);

/**
 * Listen for the keys the leg's phone presses (RFC 4733 or in-band), no
 * audio kept: a mailbox's menu. Stop it as a recording (vm_rec_stop,
 * vm_rec_forget); one recording or listener per leg at a time.
 */
int  vm_keys_start(struct vm_rec **recp, struct vm *vm,
		   struct media_ep *ep);

/** The next key pressed (0-9 * # A-D) or 0; any kind of recording */
char vm_rec_key(struct vm_rec *rec);

/** E-mail the message when it is stored (vm_set_mail) */
int  vm_rec_set_email(struct vm_rec *rec, const char *email);

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

/** Where stored messages go by e-mail (vm_mail.h; NULL: nowhere) */
struct vm_mail;
void vm_set_mail(struct vm *vm, struct vm_mail *mail);

/* For the mailbox's owner, on the signalling thread. Each change calls
 * the change handler (the lamp). */
/* each message, oldest first (the row as store_vm_list gives it) */
struct vm_msg;
int  vm_list(struct vm *vm, const char *mailbox,
	     int (*h)(const struct vm_msg *m, void *arg), void *arg);
int  vm_set(struct vm *vm, const char *mailbox, int64_t id,
	    const char *folder, bool heard);
/** The row goes, then (once that is on disk) the file */
int  vm_delete(struct vm *vm, const char *mailbox, int64_t id,
	       const char *file);

/**
 * PINs: a PIN changed by phone (vm_pin_set, kept hashed in the store)
 * takes the place of the directory's (dir_pin, may be NULL). Check:
 * 0, EACCES (wrong) or ENOENT (the mailbox has no PIN at all).
 */
int  vm_pin_check(struct vm *vm, const char *mailbox, const char *dir_pin,
		  const char *pin);
int  vm_pin_set(struct vm *vm, const char *mailbox, const char *pin);
/** Whether mailbox has a PIN at all (a store error counts as yes) */
bool vm_pin_exists(struct vm *vm, const char *mailbox, const char *dir_pin);

/* Lock-out: 5 wrong PINs for one mailbox within 15 minutes lock it for
 * 15 minutes (logged, with the source of the last); a locked mailbox
 * takes no PIN, right or wrong */
bool vm_pin_locked(struct vm *vm, const char *mailbox, uint64_t now_ms);
void vm_pin_failed(struct vm *vm, const char *mailbox, const char *from,
		   uint64_t now_ms);
void vm_pin_ok(struct vm *vm, const char *mailbox);

/** ctl voicemail [MAILBOX] */
int  vm_print(struct re_printf *pf, struct vm *vm, const char *mailbox);

#endif

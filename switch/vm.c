/**
 * @file vm.c  Voicemail: recording messages into mailboxes
 *
 * See vm.h. Three threads touch a recording: the media worker fills its
 * recorder's ring, the writer thread here drains it into the WAV file,
 * and the signalling thread starts and stops it and, once the writer
 * hands it back through a libre mqueue, writes the index row. The
 * recordings the writer works on are on a list under a mutex that only
 * start and hand-back take; the writer wakes every 50 ms (a message is
 * written out within that) and at once on a stop.
 *
 * The owner's side of a mailbox (list, heard, saved, deleted, PINs) is in
 * vm_box.c.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "core.h"
#include "media.h"
#include "recorder.h"
#include "store.h"
#include "wavfile.h"
#include "vm_mail.h"
#include "vm.h"
#include "vm_int.h"

enum {
	WRITER_TICK_MS = 50,
	MIN_SAMPLES    = REC_RATE,     /* one second */
	CHUNK          = 4096,
};

/* What a vm_rec makes of the leg's audio */
enum rec_kind {
	KIND_MESSAGE,                  /* a message: file, then index row */
	KIND_FILE,                     /* a file only (a greeting) */
	KIND_KEYS,                     /* no audio: the keys pressed */
};

struct vm_rec {
	struct vm_rec *next;          /* on the writer's list */
	enum rec_kind kind;
	struct vm *vm;
	struct recorder *r;
	struct media_ep *ep;          /* weak; cleared on stop */
	char *mailbox, *caller, *caller_name, *email;
	char dir[512], name[96], file[640];
	uint64_t time_ms;
	/* the writer's */
	struct wavfile *wf;
	int err;
	/* set by the signalling thread, read by the writer */
	bool stopping;
	/* the signalling thread's */
	vm_done_h *doneh;
	void *arg;
	uint64_t samples;             /* as the writer found them */
};

static void rec_free(struct vm_rec *rec)
{
	if (!rec)
		return;

	wavfile_abort(rec->wf);
	recorder_free(rec->r);
	mem_deref(rec->mailbox);
	mem_deref(rec->caller);
	mem_deref(rec->caller_name);
	mem_deref(rec->email);
	free(rec);
}


/* The writer: drain, and finish the recordings that stopped */
static bool writer_pass(struct vm *vm, struct vm_rec *rec, int16_t *buf)
{
	/* loaded before the ring is drained: once the worker has let go,
	 * what is in the ring is all there will be */
	bool detached = __atomic_load_n(&rec->r->detached, __ATOMIC_ACQUIRE);
	size_t n;

	if (rec->kind == KIND_KEYS)
		return detached;

	if (!rec->wf && !rec->err)
		rec->err = wavfile_open(&rec->wf, rec->dir, rec->name);

	while ((n = recorder_read(rec->r, buf, CHUNK)) > 0) {
		if (!rec->err)
			rec->err = wavfile_write(rec->wf, buf, n);
	}
	(void)vm;

	/* the worker lets go when told to stop or when the leg goes */
	if (!detached)
		return false;

	rec->samples = rec->wf ? wavfile_samples(rec->wf) : 0;
	if (!rec->err && rec->samples < MIN_SAMPLES) {
		wavfile_abort(rec->wf);
		rec->err = ENODATA;
	}
	else if (!rec->err) {
		rec->err = wavfile_commit(rec->wf);
	}
	else {
		wavfile_abort(rec->wf);
	}
	rec->wf = NULL;

	return true;
}


static void *writer_main(void *arg)
{
	struct vm *vm = arg;
	static int16_t buf[CHUNK];

	pthread_mutex_lock(&vm->lock);
	while (!vm->quit || vm->list) {
		struct vm_rec **pp = &vm->list;
		struct timespec ts;

		while (*pp) {
			struct vm_rec *rec = *pp;
			bool done;

			/* the file work outside the lock */
			pthread_mutex_unlock(&vm->lock);
			done = writer_pass(vm, rec, buf);
			pthread_mutex_lock(&vm->lock);

			if (done) {
				*pp = rec->next;
				rec->next = vm->done;
				vm->done = rec;
				(void)mqueue_push(vm->mq, 0, NULL);
			}
			else {
				pp = &rec->next;
			}
		}

		if (vm->quit && !vm->list)
			break;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += WRITER_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_nsec -= 1000000000L;
			++ts.tv_sec;
		}
		(void)pthread_cond_timedwait(&vm->cond, &vm->lock, &ts);
	}
	pthread_mutex_unlock(&vm->lock);

	return NULL;
}


/* Back on the signalling thread: the index row, then the caller */
static void finished(struct vm *vm, struct vm_rec *rec)
{
	uint64_t ms = rec->samples * 1000 / REC_RATE;
	int64_t row = 0;
	int err = rec->err;

	if (rec->kind != KIND_MESSAGE) {
		if (rec->doneh)
			rec->doneh(err, 0, ms, rec->arg);
		rec_free(rec);
		return;
	}

	if (!err) {
		struct vm_msg m;

		memset(&m, 0, sizeof(m));
		m.mailbox = rec->mailbox;
		m.file = rec->file;
		m.caller = rec->caller;
		m.caller_name = rec->caller_name;
		m.time_ms = rec->time_ms;
		m.duration_ms = ms;
		m.folder = "new";
		err = store_begin(vm->st);
		if (!err) {
			err = store_vm_put(vm->st, &m, &row);
			if (err)
				store_rollback(vm->st);
			else
				err = store_commit(vm->st);  /* group commit */
		}
	}

	if (err == ENODATA)
		log_info("voicemail %s: under a second from %s: not kept",
			 rec->mailbox, rec->caller ? rec->caller : "?");
	else if (err)
		log_warn("voicemail %s: message from %s lost: %m",
			 rec->mailbox, rec->caller ? rec->caller : "?", err);
	else
		log_info("voicemail %s: %llu ms from %s in %s",
			 rec->mailbox, (unsigned long long)ms,
			 rec->caller ? rec->caller : "?", rec->file);

	if (!err && vm->changeh)
		vm->changeh(rec->mailbox, vm->change_arg);

	/* the mail thread spools it (the message is safe already) */
	if (!err && rec->email && vm->mail) {
		char path[1200];
		int merr;

		const struct vm_mail_msg mm = {
			.to = rec->email,
			.mailbox = rec->mailbox,
			.caller = rec->caller,
			.caller_name = rec->caller_name,
			.wav_path = path,
			.time_ms = rec->time_ms,
			.duration_ms = ms,
		};

		(void)re_snprintf(path, sizeof(path), "%s/%s", vm->datadir,
				  rec->file);
		merr = vm_mail_queue(vm->mail, &mm);
		if (merr)
			log_warn("voicemail %s: no e-mail to %s: %m",
				 rec->mailbox, rec->email, merr);
	}

	if (rec->doneh)
		rec->doneh(err, row, ms, rec->arg);

	rec_free(rec);
}


int vm_count(struct vm *vm, const char *mailbox, uint32_t *newp,
	     uint32_t *oldp)
{
	return vm ? store_vm_count(vm->st, mailbox, newp, oldp) : EINVAL;
}


const char *vm_datadir(const struct vm *vm)
{
	return vm ? vm->datadir : NULL;
}


void vm_set_changeh(struct vm *vm, vm_change_h *h, void *arg)
{
	if (!vm)
		return;

	vm->changeh = h;
	vm->change_arg = arg;
}


static void take_done(struct vm *vm)
{
	struct vm_rec *list;

	pthread_mutex_lock(&vm->lock);
	list = vm->done;
	vm->done = NULL;
	pthread_mutex_unlock(&vm->lock);

	while (list) {
		struct vm_rec *rec = list;

		list = rec->next;
		finished(vm, rec);
	}
}


static void mq_handler(int id, void *data, void *arg)
{
	(void)id;
	(void)data;

	take_done(arg);
}


static void vm_destructor(void *arg)
{
	struct vm *vm = arg;

	if (vm->running) {
		pthread_mutex_lock(&vm->lock);
		vm->quit = true;
		pthread_cond_signal(&vm->cond);
		pthread_mutex_unlock(&vm->lock);
		pthread_join(vm->tid, NULL);
	}

	/* messages finished while shutting down get their rows now */
	take_done(vm);
	vm_box_close(vm);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->cond);
	mem_deref(vm->mq);
	mem_deref(vm->datadir);
}


int vm_alloc(struct vm **vmp, struct store *st, const char *datadir)
{
	struct vm *vm;
	int err;

	if (!vmp || !st || !datadir)
		return EINVAL;

	vm = mem_zalloc(sizeof(*vm), vm_destructor);
	if (!vm)
		return ENOMEM;

	vm->st = st;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);

	err = str_dup(&vm->datadir, datadir);
	if (!err)
		err = vm_box_init(vm);
	if (!err)
		err = mqueue_alloc(&vm->mq, mq_handler, vm);
	if (!err)
		err = pthread_create(&vm->tid, NULL, writer_main, vm);
	if (!err) {
		vm->running = true;
		(void)pthread_setname_np(vm->tid, "sb-vm-writer");
	}

	if (err)
		mem_deref(vm);
	else
		*vmp = vm;

	return err;
}


static int rec_start(struct vm_rec **recp, struct vm *vm,
		     struct media_ep *ep, enum rec_kind kind,
		     const char *mailbox, const char *name,
		     const char *caller, const char *caller_name,
		     vm_done_h *doneh, void *arg)
{
	struct vm_rec *rec;
	struct timespec now;
	int err;

	if (!recp || !vm || !ep || (kind != KIND_KEYS && !mailbox))
		return EINVAL;

	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return ENOMEM;

	rec->kind = kind;
	rec->vm = vm;
	rec->ep = ep;
	rec->doneh = doneh;
	rec->arg = arg;
	rec->r = recorder_alloc();
	err  = rec->r ? 0 : ENOMEM;
	if (mailbox)
		err |= str_dup(&rec->mailbox, mailbox);
	if (caller)
		err |= str_dup(&rec->caller, caller);
	if (caller_name)
		err |= str_dup(&rec->caller_name, caller_name);
	if (err) {
		rec_free(rec);
		return ENOMEM;
	}

	clock_gettime(CLOCK_REALTIME, &now);
	rec->time_ms = (uint64_t)now.tv_sec * 1000 +
		(uint64_t)now.tv_nsec / 1000000;

	if (kind == KIND_KEYS) {
		rec->r->keys_only = true;
	}
	else {
		(void)re_snprintf(rec->dir, sizeof(rec->dir),
				  "%s/voicemail/%s", vm->datadir, mailbox);
		if (name)
			str_ncpy(rec->name, name, sizeof(rec->name));
		else
			(void)re_snprintf(rec->name, sizeof(rec->name),
					  "msg-%llu-%08x.wav",
					  (unsigned long long)rec->time_ms,
					  rand_u32());
		(void)re_snprintf(rec->file, sizeof(rec->file),
				  "voicemail/%s/%s", mailbox, rec->name);
	}

	/* the worker first, then the writer: it reads what there is */
	media_ep_record(ep, rec->r);

	pthread_mutex_lock(&vm->lock);
	rec->next = vm->list;
	vm->list = rec;
	pthread_mutex_unlock(&vm->lock);

	*recp = rec;
	return 0;
}


int vm_rec_start(struct vm_rec **recp, struct vm *vm, struct media_ep *ep,
		 const char *mailbox, const char *caller,
		 const char *caller_name, vm_done_h *doneh, void *arg)
{
	return rec_start(recp, vm, ep, KIND_MESSAGE, mailbox, NULL, caller,
			 caller_name, doneh, arg);
}


int vm_rec_file(struct vm_rec **recp, struct vm *vm, struct media_ep *ep,
		const char *mailbox, const char *name, vm_done_h *doneh,
		void *arg)
{
	if (!name || !*name || strchr(name, '/'))
		return EINVAL;

	return rec_start(recp, vm, ep, KIND_FILE, mailbox, name, NULL, NULL,
			 doneh, arg);
}


int vm_keys_start(struct vm_rec **recp, struct vm *vm, struct media_ep *ep)
{
	return rec_start(recp, vm, ep, KIND_KEYS, NULL, NULL, NULL, NULL,
			 NULL, NULL);
}


char vm_rec_key(struct vm_rec *rec)
{
	return rec ? recorder_key(rec->r) : 0;
}


int vm_rec_set_email(struct vm_rec *rec, const char *email)
{
	if (!rec)
		return EINVAL;

	rec->email = mem_deref(rec->email);
	return email ? str_dup(&rec->email, email) : 0;
}


void vm_rec_stop(struct vm_rec *rec)
{
	if (!rec || __atomic_load_n(&rec->stopping, __ATOMIC_ACQUIRE))
		return;

	/* the worker lets go of the recorder, then the writer finishes */
	if (rec->ep)
		media_ep_record(rec->ep, NULL);
	rec->ep = NULL;
	__atomic_store_n(&rec->stopping, true, __ATOMIC_RELEASE);

	pthread_mutex_lock(&rec->vm->lock);
	pthread_cond_signal(&rec->vm->cond);
	pthread_mutex_unlock(&rec->vm->lock);
}


void vm_rec_forget(struct vm_rec *rec)
{
	if (!rec)
		return;

	rec->doneh = NULL;
	rec->arg = NULL;
	rec->ep = NULL;
}


uint64_t vm_rec_ms(const struct vm_rec *rec)
{
	return rec ? __atomic_load_n(&rec->r->samples, __ATOMIC_RELAXED) *
		1000 / REC_RATE : 0;
}


uint64_t vm_rec_silent_ms(const struct vm_rec *rec)
{
	uint64_t last = __atomic_load_n(&rec->r->last_voice_ms,
					__ATOMIC_RELAXED);
	uint64_t now = media_mono_ms();     /* the worker's clock */

	/* never spoke: silent since the start */
	if (!last)
		return vm_rec_ms(rec);

	return now > last ? now - last : 0;
}


bool vm_rec_hash(const struct vm_rec *rec)
{
	return rec && __atomic_load_n(&rec->r->hash, __ATOMIC_ACQUIRE);
}


struct print_ctx {
	struct re_printf *pf;
	unsigned n;
	int err;
};


static int print_msg(const struct vm_msg *m, void *arg)
{
	struct print_ctx *pc = arg;
	time_t t = (time_t)(m->time_ms / 1000);
	struct tm tm;
	char when[32];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	++pc->n;
	pc->err |= re_hprintf(pc->pf, "%lld %s %s %s \"%s\" %llu.%03llus %s%s "
			      "%s\n", (long long)m->id, m->mailbox, when,
			      m->caller ? m->caller : "-",
			      m->caller_name ? m->caller_name : "",
			      (unsigned long long)m->duration_ms / 1000,
			      (unsigned long long)m->duration_ms % 1000,
			      m->folder, m->heard ? " heard" : "", m->file);
	return pc->err;
}


int vm_print(struct re_printf *pf, struct vm *vm, const char *mailbox)
{
	struct print_ctx pc = {pf, 0, 0};
	int err;

	err = store_vm_list(vm->st, mailbox, print_msg, &pc);
	if (!err && !pc.n)
		err = re_hprintf(pf, "no messages%s%s\n",
				 mailbox ? " in " : "", mailbox ? mailbox : "");

	return err ? err : pc.err;
}


void vm_set_mail(struct vm *vm, struct vm_mail *mail)
{
	if (vm)
		vm->mail = mail;
}

/**
 * @file media_worker.c  The media worker threads and their command queue
 *
 * Each worker has its own epoll loop over the sockets of the relays it
 * owns, and a queue of commands from the signalling thread: a list under
 * a mutex that only the control path takes, with spare commands kept
 * for reuse. An eventfd wakes a worker only when it may be asleep
 * (cmd_post). The worker runs the commands before each batch of packets
 * (an address set before a packet arrived applies to it) and frees
 * removed relays after it, so a removed relay is never in a batch being
 * handled.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include "core.h"
#include "g711x.h"
#include "media.h"
#include "media_int.h"

struct media_engine media_eng;


/* Used commands go back to the spares, for the next ones */
static void give_back(struct worker *w, struct cmd *list)
{
	struct cmd *last = list;

	while (last->next)
		last = last->next;

	pthread_mutex_lock(&w->lock);
	last->next = w->spare;
	w->spare = list;
	pthread_mutex_unlock(&w->lock);
}



static bool run_cmd(struct worker *w, struct cmd *c)
{
	switch (c->type) {

	case CMD_REMOTE:
		relay_set_remote(c->r, &c->addr, c->has_addr);
		break;

	case CMD_CODEC:
		relay_set_codec(c->r, &c->mc, c->has_mc);
		break;

	case CMD_RECORD:
		relay_record(c->r, c->rec);
		break;

	case CMD_BRIDGE:
		relay_bridge(c->r, c->peer);
		break;

	case CMD_UNBRIDGE:
		relay_unbridge(c->r);
		break;

	case CMD_SEND:
		(void)relay_send(w, c->r, c->pkt, c->len);
		break;

	case CMD_REMOVE:
		relay_free(w, c->r);
		break;

	case CMD_PARK:
		/* nothing relayed from now on; counted until reused */
		relay_unbridge(c->r);
		relay_record(c->r, NULL);
		relay_set_remote(c->r, NULL, false);
		break;

	case CMD_RESET:
		relay_reset(c->r);
		break;

	case CMD_STOP:
		return false;
	}

	return true;
}


/* Take the queue and run it, except the removals: they wait in
 * *removals until the batch of events in hand has been handled. */
static bool run_cmds(struct worker *w, struct cmd **removals)
{
	struct cmd *list, *c, *next;
	struct cmd *done = NULL;
	bool run = true;

	pthread_mutex_lock(&w->lock);
	list = w->pending;
	w->pending = NULL;
	w->pending_tail = &w->pending;
	__atomic_store_n(&w->has_pending, false, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&w->lock);

	for (c = list; c; c = next) {
		next = c->next;

		if (c->type == CMD_REMOVE) {
			c->next = *removals;
			*removals = c;
			continue;
		}

		if (!run_cmd(w, c))
			run = false;
		c->next = done;
		done = c;
	}

	if (done)
		give_back(w, done);

	return run;
}


static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[EVENTS];
	bool run = true;

	while (run) {
		struct cmd *removals = NULL, *c;
		int i, n, timeout = -1;
		uint64_t v;

		/* say we may sleep, then look at the queue once more: a
		 * command posted in between is either seen here or finds
		 * us sleeping and wakes us (cmd_post) */
		__atomic_store_n(&w->sleeping, true, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&w->has_pending, __ATOMIC_SEQ_CST))
			timeout = 0;

		n = epoll_wait(w->epfd, ev, EVENTS, timeout);
		__atomic_store_n(&w->sleeping, false, __ATOMIC_SEQ_CST);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}

		w->now = media_mono_ms();

		for (i = 0; i < n; i++) {
			if (!ev[i].data.ptr)
				(void)read(w->evfd, &v, sizeof(v));
		}

		/* commands first: a remote address or a bridge set before
		 * a packet was sent applies to that packet */
		if (__atomic_load_n(&w->has_pending, __ATOMIC_SEQ_CST))
			run = run_cmds(w, &removals);

		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr)
				relay_read(w, ev[i].data.ptr);
		}

		/* after the batch: nothing in it refers to these any more */
		for (c = removals; c; c = c->next)
			relay_free(w, c->r);
		if (removals)
			give_back(w, removals);
	}

	return NULL;
}




/* ---- the signalling thread's side of the queue ---- */

struct cmd *cmd_get(struct worker *w)
{
	struct cmd *c;

	pthread_mutex_lock(&w->lock);
	c = w->spare;
	if (c)
		w->spare = c->next;
	pthread_mutex_unlock(&w->lock);

	if (!c)
		c = malloc(sizeof(*c));
	if (c)
		memset(c, 0, offsetof(struct cmd, pkt));

	return c;
}


/* Queue a command. The eventfd is written only when the worker may be
 * asleep: it sets sleeping, then reads has_pending; we set has_pending,
 * then read sleeping (both sequentially consistent, as in Dekker's
 * algorithm), so one of the two sees the other and no command waits for
 * the next packet. A busy worker finds the queue at the top of its loop
 * without a system call on either side. */
void cmd_post(struct worker *w, struct cmd *c)
{
	uint64_t one = 1;
	bool first;

	pthread_mutex_lock(&w->lock);
	first = !w->pending;
	*w->pending_tail = c;
	w->pending_tail = &c->next;
	__atomic_store_n(&w->has_pending, true, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&w->lock);

	if (first && __atomic_load_n(&w->sleeping, __ATOMIC_SEQ_CST))
		(void)write(w->evfd, &one, sizeof(one));
}


/* Commands that must not be lost: wait for memory rather than drop */
struct cmd *cmd_must(struct worker *w)
{
	struct cmd *c;

	while (!(c = cmd_get(w)))
		(void)usleep(1000);

	return c;
}


/* Keep the relay for a later call (true), or let it go (false) */


/* ---- the engine ---- */

static int worker_start(struct worker *w, unsigned index)
{
	struct epoll_event ev;
	int err;

	w->index = index;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epfd < 0 || w->evfd < 0)
		return errno;

	relay_batch_init(w);
	pthread_mutex_init(&w->lock, NULL);
	w->pending_tail = &w->pending;
	w->park_tail = &w->park_head;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;         /* the command queue */
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev))
		return errno;

	err = pthread_create(&w->tid, NULL, worker_main, w);
	if (err)
		return err;

	/* top -H, perf and ps -L tell the threads apart */
	{
		char name[16];

		(void)re_snprintf(name, sizeof(name), "sb-media-%u", index);
		(void)pthread_setname_np(w->tid, name);
	}

	w->started = true;
	return 0;
}


int media_start(unsigned workers)
{
	unsigned i;
	int err = 0;

	if (media_eng.n)
		return EALREADY;

	if (!workers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		workers = n > 0 ? (unsigned)n : 1;
	}
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;

	g711x_init();      /* the a-law <-> u-law tables, before the threads */

	media_eng.workers = calloc(workers, sizeof(*media_eng.workers));
	if (!media_eng.workers)
		return ENOMEM;

	for (i = 0; i < workers; i++) {
		media_eng.workers[i].epfd = media_eng.workers[i].evfd = -1;
		err = worker_start(&media_eng.workers[i], i);
		if (err)
			break;
	}

	media_eng.n = workers;
	if (err)
		media_stop();

	return err;
}


void media_stop(void)
{
	unsigned i;

	for (i = 0; i < media_eng.n; i++) {
		struct worker *w = &media_eng.workers[i];
		struct cmd *c;

		if (w->started) {
			/* after the removals already queued */
			c = cmd_must(w);
			c->type = CMD_STOP;
			cmd_post(w, c);
			pthread_join(w->tid, NULL);
		}

		/* the parked relays: the worker is gone, they are ours */
		while (w->park_head) {
			struct parked *pk = w->park_head;

			w->park_head = pk->next;
			relay_free(w, pk->r);
			free(pk);
		}

		/* what came after STOP, and the spares */
		while ((c = w->pending)) {
			w->pending = c->next;
			if (c->type == CMD_REMOVE)
				relay_free(w, c->r);
			free(c);
		}
		while ((c = w->spare)) {
			w->spare = c->next;
			free(c);
		}

		if (w->epfd >= 0)
			(void)close(w->epfd);
		if (w->evfd >= 0)
			(void)close(w->evfd);
		if (w->started)
			pthread_mutex_destroy(&w->lock);
	}

	while (media_eng.spare) {
		struct parked *pk = media_eng.spare;

		media_eng.spare = pk->next;
		free(pk);
	}

	free(media_eng.workers);
	memset(&media_eng, 0, sizeof(media_eng));
}


unsigned media_workers(void)
{
	return media_eng.n;
}


unsigned media_parked(void)
{
	return media_eng.parked;
}

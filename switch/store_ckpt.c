/**
 * @file store_ckpt.c  WAL checkpoints off the signalling thread
 *
 * The thread owns only its sqlite3 connection and plain pthread objects:
 * no libre object crosses threads (DESIGN.md 5).
 */
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sqlite3.h>
#include "core.h"
#include "store_ckpt.h"

enum {
	CKPT_EVERY_COMMITS = 512,   /* wake after this many transactions */
	CKPT_PERIOD_MS     = 1000,  /* and at least this often if dirty  */
};

struct store_ckpt {
	pthread_t thread;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	bool running;
	bool stop;
	uint32_t pending;           /* commits since the last checkpoint */
	uint32_t unsignalled;       /* main thread only */
	sqlite3 *db;
};


static void *ckpt_main(void *arg)
{
	struct store_ckpt *c = arg;

	pthread_mutex_lock(&c->mtx);

	while (!c->stop) {
		struct timespec ts;
		int log = 0, done = 0, rc;

		/* Woken after CKPT_EVERY_COMMITS transactions, or once a
		 * period: a checkpoint with nothing new to copy is cheap */
		if (!c->pending) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += CKPT_PERIOD_MS / 1000;
			(void)pthread_cond_timedwait(&c->cond, &c->mtx, &ts);
			if (c->stop)
				break;
		}

		c->pending = 0;
		pthread_mutex_unlock(&c->mtx);

		rc = sqlite3_wal_checkpoint_v2(c->db, NULL,
					       SQLITE_CHECKPOINT_PASSIVE,
					       &log, &done);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("store: checkpoint: %s", sqlite3_errmsg(c->db));

		pthread_mutex_lock(&c->mtx);
	}

	pthread_mutex_unlock(&c->mtx);
	return NULL;
}


static void destructor(void *arg)
{
	struct store_ckpt *c = arg;

	if (c->running) {
		pthread_mutex_lock(&c->mtx);
		c->stop = true;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->mtx);
		pthread_join(c->thread, NULL);
	}

	if (c->db)
		sqlite3_close(c->db);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mtx);
}


int store_ckpt_start(struct store_ckpt **cp, const char *dbpath)
{
	struct store_ckpt *c;
	int rc, err = 0;

	c = mem_zalloc(sizeof(*c), destructor);
	if (!c)
		return ENOMEM;

	pthread_mutex_init(&c->mtx, NULL);
	pthread_cond_init(&c->cond, NULL);

	rc = sqlite3_open_v2(dbpath, &c->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_error("store: checkpointer: %s: %s", dbpath,
			  c->db ? sqlite3_errmsg(c->db) : "out of memory");
		err = EIO;
		goto out;
	}

	/* The thread must never take a process signal (SIGTERM would kill
	 * the daemon there, before its signalfd sees it): it starts with
	 * all of them blocked. */
	{
		sigset_t all, old;

		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		err = pthread_create(&c->thread, NULL, ckpt_main, c);
		if (!err)
			(void)pthread_setname_np(c->thread, "sb-checkpoint");
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (err)
		goto out;
	c->running = true;

 out:
	if (err)
		mem_deref(c);
	else
		*cp = c;

	return err;
}


void store_ckpt_note(struct store_ckpt *c, uint32_t n)
{
	if (!c)
		return;

	c->unsignalled += n;
	if (c->unsignalled < CKPT_EVERY_COMMITS)
		return;

	pthread_mutex_lock(&c->mtx);
	c->pending += c->unsignalled;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mtx);
	c->unsignalled = 0;
}

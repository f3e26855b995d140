/**
 * @file store_group.c  Transactions and group commit
 */
#include <sqlite3.h>
#include "core.h"
#include "store.h"
#include "store_ckpt.h"
#include "store_int.h"


static void waiter_destructor(void *arg)
{
	struct waiter *w = arg;

	list_unlink(&w->le);
	mem_deref(w->arg);
}


/* Commit the group and tell everyone who waits for it. */
int store_flush(struct store *st)
{
	struct list wl = LIST_INIT;
	struct le *le;
	int err = 0;

	if (!st)
		return EINVAL;

	tmr_cancel(&st->tmr);
	st->last_flush_ms = tmr_jiffies();

	if (st->group_open) {
		st->group_open = false;
		err = store_stmt_exec(st, STMT_COMMIT, "commit");
		if (err && !sqlite3_get_autocommit(st->db))
			(void)store_stmt_exec(st, STMT_ROLLBACK, "rollback");
		if (!err)
			store_ckpt_note(st->ckpt, 1);

		++st->groups;
		st->grouped += st->group_writes;
		st->group_writes = 0;

		/* What memory holds is no longer what the disk holds */
		if (err && st->losth)
			st->losth(st->lost_arg);
	}

	/* handlers may add waiters for the next group: take this list */
	while ((le = list_head(&st->waiters))) {
		list_unlink(le);
		list_append(&wl, le, le->data);
	}

	while ((le = list_head(&wl))) {
		struct waiter *w = le->data;

		list_unlink(&w->le);
		w->h(err, w->arg);
		mem_deref(w);
	}

	return err;
}


static void flush_tmr(void *arg)
{
	(void)store_flush(arg);
}


int store_begin(struct store *st)
{
	int err;

	if (!st)
		return EINVAL;

	if (!st->group_open) {
		err = store_stmt_exec(st, STMT_BEGIN, "begin");
		if (err)
			return err;
		st->group_open = true;
	}

	err = store_stmt_exec(st, STMT_SAVEPOINT, "savepoint");
	if (!err)
		++st->depth;

	return err;
}


int store_commit(struct store *st)
{
	uint64_t now;
	int err;

	if (!st)
		return EINVAL;

	if (!st->depth)
		return EPROTO;         /* no store_begin() */

	err = store_stmt_exec(st, STMT_RELEASE, "release");
	if (err) {
		store_rollback(st);
		return err;
	}
	--st->depth;
	++st->group_writes;

	if (st->depth)
		return 0;

	/* Idle, or a full group: commit now, and report its result to
	 * this caller directly. */
	now = tmr_jiffies();
	if (now - st->last_flush_ms >= st->idle_ms ||
	    st->group_writes >= GROUP_MAX)
		return store_flush(st);

	if (!tmr_isrunning(&st->tmr))
		tmr_start(&st->tmr, st->window_ms, flush_tmr, st);

	return 0;
}


void store_rollback(struct store *st)
{
	if (!st || !st->depth)
		return;

	/* SQLite may have rolled the whole transaction back by itself
	 * (SQLITE_FULL); then there is no savepoint left either. */
	if (sqlite3_get_autocommit(st->db)) {
		st->group_open = false;
		st->depth = 0;
		return;
	}

	(void)store_stmt_exec(st, STMT_ROLLBACK_TO, "rollback to");
	(void)store_stmt_exec(st, STMT_RELEASE, "release");
	--st->depth;

	/* Nothing else in the group: end it, so that the write lock is not
	 * held until the timer (an operator's sqlite3 shell waits on it) */
	if (!st->depth && !st->group_writes) {
		(void)store_stmt_exec(st, STMT_ROLLBACK, "rollback");
		st->group_open = false;
		if (list_isempty(&st->waiters))
			tmr_cancel(&st->tmr);
	}
}


int store_when_durable(struct store *st, store_durable_h *h, void *arg)
{
	struct waiter *w;

	if (!st || !h)
		return EINVAL;

	if (!st->group_open) {
		h(0, arg);
		return 0;
	}

	w = mem_zalloc(sizeof(*w), waiter_destructor);
	if (!w)
		return ENOMEM;

	w->h = h;
	w->arg = mem_ref(arg);
	list_append(&st->waiters, &w->le, w);

	return 0;
}


bool store_group_open(const struct store *st)
{
	return st && st->group_open;
}


void store_set_group_commit(struct store *st, uint32_t window_ms,
			    uint32_t idle_ms)
{
	if (!st)
		return;

	st->window_ms = window_ms;
	st->idle_ms = idle_ms;
}


void store_set_lost_handler(struct store *st, store_lost_h *h, void *arg)
{
	if (!st)
		return;

	st->losth = h;
	st->lost_arg = arg;
}


void store_group_stats(const struct store *st, uint64_t *groupsp,
		       uint64_t *writesp)
{
	*groupsp = st ? st->groups : 0;
	*writesp = st ? st->grouped : 0;
}

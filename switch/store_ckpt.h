/**
 * @file store_ckpt.h  WAL checkpoints off the signalling thread
 *
 * SQLite checkpoints the WAL from inside a COMMIT every 1000 pages by
 * default, with two fdatasyncs: a 3-7 ms stall of the signalling thread
 * every few hundred REGISTERs under load (measured with strace during
 * contrib/bench/register). The store turns that off and this thread, with
 * its own connection, copies the WAL back in PASSIVE mode, which never
 * waits for (nor blocks) the writer.
 */
#ifndef SWITCH_STORE_CKPT_H
#define SWITCH_STORE_CKPT_H

struct store_ckpt;

int  store_ckpt_start(struct store_ckpt **cp, const char *dbpath);
/** Note n more committed transactions (cheap; wakes the thread now and
 *  then). */
void store_ckpt_note(struct store_ckpt *c, uint32_t n);

#endif

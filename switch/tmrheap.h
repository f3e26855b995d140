/**
 * @file tmrheap.h  libre's timers on a heap (see tmrheap.c)
 */
#ifndef SWITCH_TMRHEAP_H
#define SWITCH_TMRHEAP_H

/** Timers running in the calling thread */
size_t tmrheap_count(void);

#endif

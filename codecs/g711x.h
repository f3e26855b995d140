/**
 * @file g711x.h  a-law <-> u-law without going through linear audio
 *
 * Two 256-byte tables (built once from spandsp's alaw_to_ulaw and
 * ulaw_to_alaw, ITU-T G.711 Tables 3 and 4): a relay that bridges a PCMA
 * leg and a PCMU leg rewrites each payload byte by table lookup, in
 * place, with no decoder state.
 */
#ifndef CODECS_G711X_H
#define CODECS_G711X_H

#include <stddef.h>
#include <stdint.h>

/** Build the tables (idempotent; call before the first use, e.g. at
 *  start-up, before worker threads run) */
void g711x_init(void);

/** n bytes of a-law to u-law (dst may be src) */
void g711x_alaw_to_ulaw(uint8_t *dst, const uint8_t *src, size_t n);

/** n bytes of u-law to a-law (dst may be src) */
void g711x_ulaw_to_alaw(uint8_t *dst, const uint8_t *src, size_t n);

#endif

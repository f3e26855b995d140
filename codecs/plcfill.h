/**
 * @file plcfill.h  spandsp's plc_fillin() without its overlapping memcpy
 */
#ifndef CODECS_PLCFILL_H
#define CODECS_PLCFILL_H

#include <spandsp.h>

int codec_plc_fillin(plc_state_t *s, int16_t *amp, int len);

#endif

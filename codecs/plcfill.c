/**
 * @file plcfill.c  spandsp's plc_fillin() without its overlapping memcpy
 *
 * At the first lost frame, spandsp 0.0.6's plc_fillin() makes its
 * circular history chronological (normalise_history) with a memcpy()
 * whose source and destination overlap: undefined behaviour, reported
 * by AddressSanitizer, and only right by luck of glibc's copy direction.
 * We do that step first, the same way but with memmove(); spandsp then
 * finds the history in order (buf_ptr 0) and skips its own. The state
 * is spandsp 0.0.6's public plc_state_t (spandsp/plc.h).
 */
#include <string.h>
#include "plcfill.h"


int codec_plc_fillin(plc_state_t *s, int16_t *amp, int len)
{
	if (s && s->missing_samples == 0 && s->buf_ptr > 0 &&
	    s->buf_ptr < PLC_HISTORY_LEN) {
		int16_t tmp[PLC_HISTORY_LEN];
		int n = s->buf_ptr;

		/* oldest samples are at buf_ptr..end, newest at 0..buf_ptr */
		memcpy(tmp, s->history, sizeof(int16_t) * (size_t)n);
		memmove(s->history, s->history + n,
			sizeof(int16_t) * (size_t)(PLC_HISTORY_LEN - n));
		memcpy(s->history + PLC_HISTORY_LEN - n, tmp,
		       sizeof(int16_t) * (size_t)n);
		s->buf_ptr = 0;
	}

	return plc_fillin(s, amp, len);
}

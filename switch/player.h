/**
 * @file player.h  Playing a WAV file or a tone into a call leg
 *
 * 20 ms of audio at a time, G.711 (PCMU or PCMA) in RTP with our own
 * SSRC, sequence numbers and timestamps, out of the leg's media
 * endpoint. Sources: "tone://FREQ[+FREQ2],ON_MS,OFF_MS[,REPEAT]" (spandsp
 * tone generator; REPEAT 0 or absent: until stopped) or a WAV file of
 * 8 kHz mono 16-bit PCM, A-law or u-law (librem's aufile). The two
 * libraries live in separate files (LIBRARY-NOTES.md 0: they clash).
 */
#ifndef SWITCH_PLAYER_H
#define SWITCH_PLAYER_H

struct media_ep;
struct player;

/** The RTP stream of a leg: one SSRC, continuous sequence numbers and
 *  timestamps across the prompts played into it (the caller owns it;
 *  zeroed: the first player picks random values). */
struct player_rtp {
	uint32_t ssrc;
	uint32_t ts;
	uint16_t seq;
	bool init;
};

/** Called once when the source ends (err 0) or fails. */
typedef void (player_done_h)(int err, void *arg);

/**
 * @param ep    Where to send (its remote address is the leg's)
 * @param rtp   The leg's stream state; must outlive the player
 * @param pt    0 (PCMU) or 8 (PCMA)
 * @param spec  tone://... or a file path
 */
int  player_alloc(struct player **pp, struct media_ep *ep,
		  struct player_rtp *rtp, uint8_t pt, const char *spec,
		  player_done_h *doneh, void *arg);

/* Sources, internal to the player files. read() fills up to n samples
 * and returns how many (0: the end). */
struct player_src {
	int (*read)(void *st, int16_t *buf, size_t n);
	void *st;                       /* a mem object, deref'd at the end */
};

int  player_tone_open(struct player_src *src, const char *spec);
int  player_wav_open(struct player_src *src, const char *path);
void player_g711_encode(uint8_t *out, const int16_t *in, size_t n,
			bool alaw);

#endif

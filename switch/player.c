/**
 * @file player.c  Playing a WAV file or a tone into a call leg
 *
 * The buffers live in the player: nothing is allocated per packet.
 */
#include "core.h"
#include "media.h"
#include "player.h"

enum {
	PTIME_MS = 20,
	SAMPLES  = 160,         /* 20 ms at 8 kHz */
	RTP_HDR  = 12,
};

struct player {
	struct media_ep *ep;    /* weak: the call owns both */
	struct player_src src;
	struct tmr tmr;
	struct mbuf *mb;
	struct player_rtp *rtp;     /* weak: the call's */
	uint8_t pt;
	bool first;
	player_done_h *doneh;
	void *arg;
};


static void destructor(void *arg)
{
	struct player *p = arg;

	tmr_cancel(&p->tmr);
	mem_deref(p->src.st);
	mem_deref(p->mb);
}


static void tick(void *arg)
{
	struct player *p = arg;
	int16_t pcm[SAMPLES];
	player_done_h *h;
	int n;

	n = p->src.read(p->src.st, pcm, SAMPLES);
	if (n <= 0) {
		/* the handler may free us: copy it first */
		h = p->doneh;
		p->doneh = NULL;
		if (h)
			h(0, p->arg);
		return;
	}
	if (n < SAMPLES)
		memset(pcm + n, 0, (SAMPLES - (size_t)n) * sizeof(*pcm));

	tmr_start(&p->tmr, PTIME_MS, tick, p);

	/* RFC 3550 5.1 header, then the G.711 payload */
	p->mb->pos = 0;
	p->mb->end = RTP_HDR + SAMPLES;
	p->mb->buf[0] = 0x80;
	p->mb->buf[1] = (uint8_t)((p->first ? 0x80 : 0) | p->pt);
	p->mb->buf[2] = (uint8_t)(p->rtp->seq >> 8);
	p->mb->buf[3] = (uint8_t)p->rtp->seq;
	p->mb->buf[4] = (uint8_t)(p->rtp->ts >> 24);
	p->mb->buf[5] = (uint8_t)(p->rtp->ts >> 16);
	p->mb->buf[6] = (uint8_t)(p->rtp->ts >> 8);
	p->mb->buf[7] = (uint8_t)p->rtp->ts;
	p->mb->buf[8] = (uint8_t)(p->rtp->ssrc >> 24);
	p->mb->buf[9] = (uint8_t)(p->rtp->ssrc >> 16);
	p->mb->buf[10] = (uint8_t)(p->rtp->ssrc >> 8);
	p->mb->buf[11] = (uint8_t)p->rtp->ssrc;
	player_g711_encode(p->mb->buf + RTP_HDR, pcm, SAMPLES, p->pt == 8);

	(void)media_ep_send(p->ep, p->mb);

	p->first = false;
	++p->rtp->seq;
	p->rtp->ts += SAMPLES;
}


int player_alloc(struct player **pp, struct media_ep *ep,
		 struct player_rtp *rtp, uint8_t pt, const char *spec,
		 player_done_h *doneh, void *arg)
{
	struct player *p;
	int err;

	if (!pp || !ep || !rtp || !spec || (pt != 0 && pt != 8))
		return EINVAL;

	p = mem_zalloc(sizeof(*p), destructor);
	if (!p)
		return ENOMEM;

	tmr_init(&p->tmr);
	p->ep = ep;
	p->pt = pt;
	p->doneh = doneh;
	p->arg = arg;
	p->first = true;
	p->rtp = rtp;
	if (!rtp->init) {
		rtp->seq = rand_u16();
		rtp->ts = rand_u32();
		rtp->ssrc = rand_u32();
		rtp->init = true;
	}

	p->mb = mbuf_alloc(RTP_HDR + SAMPLES);
	if (!p->mb) {
		err = ENOMEM;
		goto out;
	}

	if (!strncmp(spec, "tone://", 7))
		err = player_tone_open(&p->src, spec);
	else
		err = player_wav_open(&p->src, spec);
	if (err)
		goto out;

	tmr_start(&p->tmr, 0, tick, p);

 out:
	if (err)
		mem_deref(p);
	else
		*pp = p;

	return err;
}

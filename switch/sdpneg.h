/**
 * @file sdpneg.h  SDP offer/answer for the audio stream of a call leg
 *
 * The PBX terminates the SDP of each leg (RFC 3264): it reads what a
 * phone offers or answers (the first audio stream's codecs, payload
 * types, fmtp, telephone-event, direction, address) and writes its own
 * offers and answers, with the codecs the config allows that leg in the
 * config's order. When the two legs end up on different codecs the media
 * bridge transcodes (media.h).
 */
#ifndef SWITCH_SDPNEG_H
#define SWITCH_SDPNEG_H

struct codec;
struct codec_list;
struct media_codec;

enum {
	SDP_FMTS_MAX = 8,
	SDP_TE_MAX   = 4,
	SDP_FMTP_MAX = 96,
};

/* directions: libre's enum sdp_dir (re_sdp.h), SDP_INACTIVE is 0 */

/* A codec in an m= line: a known codec, its payload type, its fmtp */
struct sdp_fmt {
	const struct codec *codec;
	uint8_t pt;
	char fmtp[SDP_FMTP_MAX];
};

/* telephone-event at a clock rate */
struct sdp_te {
	uint8_t pt;
	uint32_t clock;
};

/* The first audio stream of an SDP body */
struct sdp_audio {
	struct sdp_fmt fmts[SDP_FMTS_MAX];  /* known codecs, in its order */
	unsigned n;
	struct sdp_te te[SDP_TE_MAX];
	unsigned nte;
	enum sdp_dir dir;     /* c=0.0.0.0 (RFC 2543 hold) reads sendonly */
	struct sa addr;       /* where it wants RTP (unset: on hold) */
	bool has_stream;
};

/* Our o= line on one leg: the version goes up with each new SDP */
struct sdp_origin {
	uint64_t sess;
	uint32_t version;
};

/** Read the first audio stream. ENOENT if there is none. */
int  sdpneg_parse(struct sdp_audio *a, const struct mbuf *sdp);

/** telephone-event's payload type at clock, or -1 */
int  sdpneg_te(const struct sdp_audio *a, uint32_t clock);

/** A leg's codec from format f of a (the one it agreed): payload type,
 *  fmtp, and telephone-event at the codec's clock, or else the first one
 *  a has (many phones offer telephone-event/8000 beside opus/48000) */
void sdpneg_leg_codec(struct media_codec *mc, const struct sdp_audio *a,
		      const struct sdp_fmt *f);

/** The format of codec c in a, or NULL */
const struct sdp_fmt *sdpneg_find(const struct sdp_audio *a,
				  const struct codec *c);

/** The other side's view of a direction (sendonly <-> recvonly) */
enum sdp_dir sdpneg_answer_dir(enum sdp_dir offered);

/**
 * Write an SDP with one audio stream: fmts in that order, te events
 * for each clock in te (fmtp 0-16), a=ptime:20, the direction. The
 * origin's version goes up by one (its session id is set on first use).
 */
int  sdpneg_write(struct mbuf **mbp, struct sdp_origin *o,
		  const struct sa *local, const struct sdp_fmt *fmts,
		  unsigned n, const struct sdp_te *te, unsigned nte,
		  enum sdp_dir dir);

/**
 * Our offer to a new leg: first the codecs of `have` (the other leg's
 * offer, or its one agreed codec) that `allowed` permits, in allowed's
 * order and with have's payload types and fmtp (so a leg that shares a
 * codec is relayed, not transcoded), then the rest of allowed, with
 * their static payload types or free dynamic ones; telephone-event for
 * each clock, with have's payload type where it has one.
 */
int  sdpneg_offer_fmts(struct sdp_fmt *fmts, unsigned *n,
		       struct sdp_te *te, unsigned *nte,
		       const struct sdp_audio *have,
		       const struct codec_list *allowed);

#endif

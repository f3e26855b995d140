/**
 * @file sdprelay.h  SDP rewriting for a relaying B2BUA
 *
 * While both legs share a codec (issue 4 adds transcoding), the PBX
 * passes each side's SDP to the other with only the transport changed:
 * the connection address and the audio port become those of our media
 * endpoint for that leg. Codecs, telephone-event, ptime and the
 * direction (hold: sendonly/inactive) stay as the phones said, so they
 * negotiate with each other. Streams other than the first audio one get
 * port 0 (declined: only audio is relayed).
 */
#ifndef SWITCH_SDPRELAY_H
#define SWITCH_SDPRELAY_H

/** The address the first audio stream of sdp sends to (c= and m=). */
int  sdprelay_audio_addr(const struct mbuf *sdp, struct sa *rtp);

/** Copy sdp into *outp with our address and port for audio. */
int  sdprelay_rewrite(struct mbuf **outp, const struct mbuf *sdp,
		      const struct sa *local);

/** An answer of ours to offer: the offer with our address, and the
 *  direction turned round (sendonly <-> recvonly). */
int  sdprelay_answer(struct mbuf **outp, const struct mbuf *offer,
		     const struct sa *local);

/** The first of PCMU (0) and PCMA (8) in the audio stream's formats, or
 *  -1 if it offers neither (what a player sends). */
int  sdprelay_g711_pt(const struct mbuf *sdp);

#endif

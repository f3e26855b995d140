/**
 * @file call_sdp.c  SDP offer/answer on the legs of a call
 *
 * The caller's codec (chosen once, relay before transcoding), our answer
 * to the caller, re-INVITEs from either leg answered with the leg's codec
 * and passed on as our own offer, and whether a caller's offer is usable
 * at all (sdpneg.h writes and reads the SDP itself).
 */
#include "core.h"
#include "codec.h"
#include "config.h"
#include "media.h"
#include "player.h"
#include "sdpneg.h"
#include "call.h"
#include "call_int.h"


/* The codec the caller's leg speaks, chosen once: the answering leg's
 * when the caller offered it and may use it (relayed), else the caller's
 * first allowed one (transcoded). Without a b-leg (answer, playback) a
 * G.711 one first: our prompts are G.711. */
static int a_choose(struct call *call, bool have_b)
{
	const struct codec_list *allowed =
		config_user_codecs(call->cfg, call->caller);
	const struct sdp_audio *offer = call->a_offer;
	const struct sdp_fmt *f = NULL;
	unsigned i;

	if (have_b && call->b_mc.codec &&
	    codec_list_has(allowed, call->b_mc.codec))
		f = sdpneg_find(offer, call->b_mc.codec);

	for (i = 0; !f && !have_b && i < allowed->n; i++) {
		const struct sdp_fmt *g = sdpneg_find(offer, allowed->v[i]);

		if (g && (g->codec->pt == 0 || g->codec->pt == 8))
			f = g;
	}

	for (i = 0; !f && i < allowed->n; i++)
		f = sdpneg_find(offer, allowed->v[i]);

	if (!f)
		return EPROTO;

	sdpneg_leg_codec(&call->a_mc, offer, f);
	call->a_fixed = true;
	media_ep_set_codec(call->a_ep, &call->a_mc);

	return 0;
}


/* One audio format and its telephone-event, as the leg agreed them */
static int leg_sdp(struct mbuf **mbp, struct sdp_origin *o,
		   const struct sa *local, const struct media_codec *mc,
		   enum sdp_dir dir)
{
	struct sdp_fmt f;
	struct sdp_te te;

	memset(&f, 0, sizeof(f));
	f.codec = mc->codec;
	f.pt = mc->pt;
	te.pt = (uint8_t)mc->te_pt;
	te.clock = mc->te_clock;

	return sdpneg_write(mbp, o, local, &f, 1, &te, mc->te_pt >= 0,
			    dir);
}


int call_a_sdp(struct mbuf **mbp, struct call *call,
	       const struct mbuf *b_sdp)
{
	int err;

	if (!call->a_fixed) {
		err = a_choose(call, b_sdp != NULL);
		if (err)
			return err;
	}

	if (!call->a_desc) {
		err = leg_sdp(&call->a_desc, &call->a_origin,
			      media_ep_local(call->a_ep), &call->a_mc,
			      sdpneg_answer_dir(call->a_offer->dir));
		if (err)
			return err;
	}

	*mbp = mem_ref(call->a_desc);
	return 0;
}


/* The codecs the answering callee may use (a user's, or the default) */
static const struct codec_list *callee_codecs(const struct call *call)
{
	const struct config_user *u = NULL;

	if (call->winner && !strncmp(call->winner->target, "user/", 5)) {
		struct pl id;

		pl_set_str(&id, call->winner->target + 5);
		u = config_user_find(call->cfg, &id);
	}

	return config_user_codecs(call->cfg, u);
}


/* A re-INVITE (hold, resume, a new address or codec) from one leg: it
 * is answered at once with the leg's codec (or another one it offers
 * and may use), and our own offer with the same direction goes to the
 * other leg, whose answer only moves our media (libre wants the answer
 * synchronously). */
static int reoffer(struct mbuf **descp, const struct sip_msg *msg,
		   struct call *call, bool from_a)
{
	struct media_ep *ours = from_a ? call->a_ep : call->b_ep;
	struct media_ep *peer_ep = from_a ? call->b_ep : call->a_ep;
	struct media_codec *mc = from_a ? &call->a_mc : &call->b_mc;
	struct media_codec *peer_mc = from_a ? &call->b_mc : &call->a_mc;
	struct sdp_origin *o = from_a ? &call->a_origin : &call->b_origin;
	struct sdp_origin *peer_o = from_a ? &call->b_origin :
		&call->a_origin;
	struct sipsess *peer = from_a ?
		(call->winner ? call->winner->sess : NULL) : call->a;
	const struct codec_list *allowed = from_a ?
		config_user_codecs(call->cfg, call->caller) :
		callee_codecs(call);
	const struct sdp_fmt *f;
	struct sdp_audio *sa;
	struct mbuf *fwd = NULL;
	unsigned i;
	int err;

	if (!mbuf_get_left(msg->mb))
		return EPROTO;     /* no offer: not supported */

	sa = mem_zalloc(sizeof(*sa), NULL);
	if (!sa)
		return ENOMEM;

	err = sdpneg_parse(sa, msg->mb);
	if (err)
		goto out;

	/* the same codec if it is still there, else the first allowed */
	f = mc->codec ? sdpneg_find(sa, mc->codec) : NULL;
	for (i = 0; !f && i < allowed->n; i++)
		f = sdpneg_find(sa, allowed->v[i]);
	if (!f) {
		err = EPROTO;
		goto out;
	}

	sdpneg_leg_codec(mc, sa, f);
	media_ep_set_codec(ours, mc);
	media_ep_set_remote(ours, &sa->addr);

	err = leg_sdp(descp, o, media_ep_local(ours), mc,
		      sdpneg_answer_dir(sa->dir));
	if (err)
		goto out;

	if (peer && peer_mc->codec &&
	    !leg_sdp(&fwd, peer_o, media_ep_local(peer_ep), peer_mc,
		     sa->dir)) {
		/* libre refuses a second re-INVITE while one is pending;
		 * the other side keeps its previous direction then */
		int e = sipsess_modify(peer, fwd);
		if (e)
			log_warn("re-INVITE not passed on: %m", e);
	}

 out:
	mem_deref(fwd);
	mem_deref(sa);
	return err;
}


int call_a_offer(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;

	log_info("%s: re-INVITE from the caller", call->id);
	return reoffer(descp, msg, call, true);
}


int bleg_offer(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct bleg *bl = arg;
	struct call *call = bl->call;

	log_info("%s: re-INVITE from %s", call->id, bl->target);
	return reoffer(descp, msg, call, false);
}


/* The caller's answer to a re-INVITE we passed on: where its media is
 * now (the codec is the one we offered) */
int call_a_answer(const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	struct sdp_audio *sa;

	if (!mbuf_get_left(msg->mb))
		return 0;

	sa = mem_zalloc(sizeof(*sa), NULL);
	if (sa && !sdpneg_parse(sa, msg->mb))
		media_ep_set_remote(call->a_ep, &sa->addr);
	mem_deref(sa);

	return 0;
}


bool call_offer_usable(const struct call *call)
{
	const struct codec_list *l = config_user_codecs(call->cfg,
							 call->caller);
	unsigned i;

	for (i = 0; i < l->n; i++) {
		if (sdpneg_find(call->a_offer, l->v[i]))
			return true;
	}

	log_info("%s: the caller offers no codec it may use", call->id);
	return false;
}

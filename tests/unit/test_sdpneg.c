/**
 * @file test_sdpneg.c  Reading phones' SDP, and our offers and answers
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "core.h"
#include "codec.h"
#include "config.h"
#include "media.h"
#include "sdpneg.h"


static struct mbuf *body(const char *s)
{
	struct mbuf *mb = mbuf_alloc(strlen(s));

	assert_non_null(mb);
	assert_int_equal(mbuf_write_str(mb, s), 0);
	mb->pos = 0;
	return mb;
}


static void parse(struct sdp_audio *a, const char *s, int want)
{
	struct mbuf *mb = body(s);

	assert_int_equal(sdpneg_parse(a, mb), want);
	mem_deref(mb);
}


static const char offer_baresip[] =
	"v=0\r\n"
	"o=- 123 456 IN IP4 192.0.2.5\r\n"
	"s=-\r\n"
	"c=IN IP4 192.0.2.5\r\n"
	"t=0 0\r\n"
	"m=audio 4000 RTP/AVP 111 9 0 8 18 101\r\n"
	"a=rtpmap:111 opus/48000/2\r\n"
	"a=fmtp:111 stereo=1;useinbandfec=1\r\n"
	"a=rtpmap:9 G722/8000\r\n"
	"a=rtpmap:18 G729/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=sendrecv\r\n"
	"m=video 5000 RTP/AVP 96\r\n"
	"a=rtpmap:96 VP8/90000\r\n"
	"a=sendonly\r\n";


static void test_parse(void **state)
{
	struct sdp_audio a;
	struct sa want;
	(void)state;

	parse(&a, offer_baresip, 0);
	/* G.729 is not ours; PCMU and PCMA without rtpmap are static */
	assert_int_equal(a.n, 4);
	assert_ptr_equal(a.fmts[0].codec, codec_find("opus"));
	assert_int_equal(a.fmts[0].pt, 111);
	assert_string_equal(a.fmts[0].fmtp, "stereo=1;useinbandfec=1");
	assert_ptr_equal(a.fmts[1].codec, codec_find("G722"));
	assert_ptr_equal(a.fmts[2].codec, codec_find("PCMU"));
	assert_ptr_equal(a.fmts[3].codec, codec_find("PCMA"));
	assert_int_equal(sdpneg_te(&a, 8000), 101);
	assert_int_equal(sdpneg_te(&a, 48000), -1);
	assert_int_equal(a.dir, SDP_SENDRECV);     /* video's is not ours */
	assert_int_equal(sa_set_str(&want, "192.0.2.5", 4000), 0);
	assert_true(sa_cmp(&a.addr, &want, SA_ALL));

	/* media-level c= and direction win; RFC 2543 hold */
	parse(&a, "v=0\r\nc=IN IP4 10.0.0.1\r\na=recvonly\r\n"
	      "m=audio 7000 RTP/AVP 0\r\nc=IN IP4 10.0.0.2\r\n"
	      "a=inactive\r\n", 0);
	assert_int_equal(a.dir, SDP_INACTIVE);
	assert_int_equal(sa_set_str(&want, "10.0.0.2", 7000), 0);
	assert_true(sa_cmp(&a.addr, &want, SA_ALL));
	parse(&a, "v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 7000 RTP/AVP 8\r\n",
	      0);
	assert_int_equal(a.dir, SDP_SENDONLY);
	assert_false(sa_isset(&a.addr, SA_ADDR));

	/* a codec at the wrong clock is not that codec */
	parse(&a, "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 7000 RTP/AVP 96\r\n"
	      "a=rtpmap:96 opus/16000\r\n", 0);
	assert_int_equal(a.n, 0);

	/* broken lines are skipped, not trusted */
	parse(&a, "v=0\r\nc=IN IP4 10.0.0.1\r\n"
	      "m=audio 7000 RTP/AVP 96 97 98 99 0\r\n"
	      "a=rtpmap:99999999999999 opus/48000\r\n"
	      "a=rtpmap:96 /48000\r\n"
	      "a=rtpmap:97 opus\r\n"
	      "a=rtpmap:98 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/8000\r\n"
	      "a=rtpmap:99 opus/480000000000000000000000\r\n"
	      "a=fmtp:96\r\n", 0);
	assert_int_equal(a.n, 1);
	assert_ptr_equal(a.fmts[0].codec, codec_find("PCMU"));
	parse(&a, "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio x RTP/AVP 0\r\n",
	      ENOENT);

	parse(&a, "v=0\r\nc=IN IP4 10.0.0.1\r\nm=video 7000 RTP/AVP 96\r\n",
	      ENOENT);
	parse(&a, "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 0 RTP/AVP 0\r\n",
	      ENOENT);
}


static void test_leg_codec(void **state)
{
	struct sdp_audio a;
	struct media_codec mc;
	(void)state;

	parse(&a, offer_baresip, 0);
	/* opus with telephone-event/8000 only: that one, at its clock */
	sdpneg_leg_codec(&mc, &a, &a.fmts[0]);
	assert_ptr_equal(mc.codec, codec_find("opus"));
	assert_int_equal(mc.pt, 111);
	assert_int_equal(mc.te_pt, 101);
	assert_int_equal(mc.te_clock, 8000);
	assert_string_equal(mc.fmtp, "stereo=1;useinbandfec=1");

	sdpneg_leg_codec(&mc, &a, NULL);
	assert_null(mc.codec);
	assert_int_equal(mc.te_pt, -1);
}


static void list(struct codec_list *l, const char *a, const char *b,
		 const char *c)
{
	const char *v[3] = {a, b, c};
	unsigned i;

	l->n = 0;
	for (i = 0; i < 3; i++) {
		if (v[i])
			l->v[l->n++] = codec_find(v[i]);
	}
}


static void test_offer(void **state)
{
	struct sdp_fmt fmts[SDP_FMTS_MAX];
	struct sdp_te te[SDP_TE_MAX];
	struct codec_list l;
	struct sdp_audio a;
	struct sdp_origin o = {0, 0};
	struct mbuf *mb = NULL;
	struct sa local;
	unsigned n, nte;
	uint32_t v1;
	char *text;
	(void)state;

	parse(&a, offer_baresip, 0);

	/* shared first, in the callee's order, with the caller's numbers */
	list(&l, "PCMA", "opus", NULL);
	assert_int_equal(sdpneg_offer_fmts(fmts, &n, te, &nte, &a, &l), 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(fmts[0].codec, codec_find("PCMA"));
	assert_int_equal(fmts[0].pt, 8);
	assert_ptr_equal(fmts[1].codec, codec_find("opus"));
	assert_int_equal(fmts[1].pt, 111);
	/* telephone-event at 8000 keeps 101; 48000 gets a free one */
	assert_int_equal(nte, 2);
	assert_int_equal(te[0].clock, 8000);
	assert_int_equal(te[0].pt, 101);
	assert_int_equal(te[1].clock, 48000);
	assert_true(te[1].pt >= 96 && te[1].pt <= 127 && te[1].pt != 101 &&
		    te[1].pt != 111);

	/* a caller with PCMU only: the callee's opus comes after, on a
	 * dynamic type of its own */
	parse(&a, "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 7000 RTP/AVP 0 96\r\n"
	      "a=rtpmap:96 telephone-event/8000\r\n", 0);
	list(&l, "opus", "G722", "PCMU");
	assert_int_equal(sdpneg_offer_fmts(fmts, &n, te, &nte, &a, &l), 0);
	assert_int_equal(n, 3);
	assert_ptr_equal(fmts[0].codec, codec_find("PCMU"));
	assert_ptr_equal(fmts[1].codec, codec_find("opus"));
	assert_true(fmts[1].pt >= 97);
	assert_ptr_equal(fmts[2].codec, codec_find("G722"));
	assert_int_equal(fmts[2].pt, 9);
	assert_int_equal(te[0].pt, 96);

	/* written out: rtpmap for each, our address, a=ptime, direction;
	 * the version goes up */
	assert_int_equal(sa_set_str(&local, "127.0.0.1", 20000), 0);
	assert_int_equal(sdpneg_write(&mb, &o, &local, fmts, n, te, nte,
				      SDP_RECVONLY), 0);
	v1 = o.version;
	assert_int_equal(mbuf_strdup(mb, &text, mb->end), 0);
	assert_non_null(strstr(text, "c=IN IP4 127.0.0.1\r\n"));
	assert_non_null(strstr(text, "m=audio 20000 RTP/AVP 0 "));
	assert_non_null(strstr(text, "a=rtpmap:9 G722/8000\r\n"));
	assert_non_null(strstr(text, "opus/48000/2\r\n"));
	assert_non_null(strstr(text, "a=rtpmap:96 telephone-event/8000\r\n"));
	assert_non_null(strstr(text, "a=recvonly\r\n"));
	mem_deref(text);

	/* and read back */
	mb->pos = 0;
	assert_int_equal(sdpneg_parse(&a, mb), 0);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.dir, SDP_RECVONLY);
	mb = mem_deref(mb);

	assert_int_equal(sdpneg_write(&mb, &o, &local, fmts, 1, NULL, 0,
				      SDP_SENDRECV), 0);
	assert_int_equal(o.version, v1 + 1);
	mem_deref(mb);

	assert_int_equal(sdpneg_answer_dir(SDP_SENDONLY), SDP_RECVONLY);
	assert_int_equal(sdpneg_answer_dir(SDP_INACTIVE), SDP_INACTIVE);

	/* nothing allowed: nothing to offer */
	l.n = 0;
	assert_int_equal(sdpneg_offer_fmts(fmts, &n, te, &nte, &a, &l),
			 ENOENT);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_leg_codec),
		cmocka_unit_test(test_offer),
	};
	int r;

	libre_init();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return r;
}

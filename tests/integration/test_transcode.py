#!/usr/bin/env python3
"""Phones that share no codec hear each other: the PBX chooses each leg's
codec from the config and bridges them.

The config allows 1001 only PCMU and 1002 only PCMA (<user codecs>);
1003 has the default list (opus G722 PCMU PCMA).

- pcmu_calls_pcma: the Python phone 1001 offers PCMU and
  telephone-event 101; the PBX offers 1002 PCMA (and telephone-event)
  and nothing else; 1002 answers PCMA with telephone-event at 96; 1001's
  answer is PCMU. Both send a tone (1001: 1 kHz in u-law, 1002: 440 Hz
  in a-law). Each gets the other's packets with the sender's sequence
  numbers, time stamps and SSRC (a-law <-> u-law by table keeps the
  headers), in its own codec's payload type; the decoded audio is the
  tone at its frequency and within 0.5 dB of its level; every sample is
  the sender's within G.711's quantisation. ctl calls says "table" with
  PCMU and PCMA. A DTMF 5 (RFC 4733, PT 101) from 1001 reaches 1002 as
  PT 96 with the same event, end bit and duration.
- sipp_pcma_to_pcmu: a sipp caller 1003 offers PCMA and plays
  /usr/share/sip-tester/g711a.pcap; the Python callee 1001 (PCMU only)
  gets every packet, PT 0, headers unchanged, each payload byte the
  u-law code of the a-law one (decoded values agree).
- no_common_codec: an offer with only G.729 (PT 18) gets 488 Not
  Acceptable Here, and the daemon goes on.
"""

import math
import os
import struct

import harness
from harness import log, wait_until
from test_media import (ULAW, PCAP, Bg, Phone, PTIME_SAMPLES, calls,
                        check_tone, read_pcap, rms, rtp_fields, rtp_packet,
                        sdp_audio, sipp_pcap_caller, sipp_done, tone,
                        ulaw_encode, wait_quiet, wait_received,
                        is_pbx_media, raw_sockets_allowed)

USERS = [{'id': '1001', 'password': 'secret1001', 'codecs': 'PCMU'},
         {'id': '1002', 'password': 'secret1002', 'codecs': 'PCMA'},
         {'id': '1003', 'password': 'secret1003'}]
PW = {u['id']: u['password'] for u in USERS}
PACKETS = 150
PACE = 0.01

DIALPLAN = '''  <dialplan>
    <context name="default">
      <extension name="internal">
        <condition field="destination_number" expression="^(10\\d\\d)$">
          <action application="set" data="call_timeout=10"/>
          <action application="bridge" data="user/$1"/>
        </condition>
      </extension>
    </context>
  </dialplan>
'''


# ---------------------------------------------------------------------------
# G.711 a-law (ITU-T G.711: segment and mantissa, even bits inverted)

def alaw_encode(x):
    sign = 0x80 if x >= 0 else 0x00
    if x < 0:
        x = -x - 1 if x > -32768 else 32767
    x = min(x, 32767) >> 3          # 13-bit magnitude
    if x < 32:
        code = x >> 1
    else:
        seg = x.bit_length() - 5    # 1..7
        code = (seg << 4) | ((x >> seg) & 0x0F)
    return (sign | code) ^ 0x55


def alaw_decode(a):
    a ^= 0x55
    sign = a & 0x80
    seg = (a >> 4) & 0x07
    mant = a & 0x0F
    if seg == 0:
        x = (mant << 4) + 8
    else:
        x = ((mant << 4) + 0x108) << (seg - 1)
    return x if sign else -x


ALAW = [alaw_decode(b) for b in range(256)]


def alaw_tone_stream(freq, n, pt=8):
    pcm = tone(freq, n * PTIME_SAMPLES)
    ssrc, seq0, ts0 = 0x0a1a0a1a, 4000, 123456
    return [rtp_packet(pt, seq0 + i, ts0 + i * PTIME_SAMPLES, ssrc,
                       bytes(alaw_encode(v) for v in
                             pcm[i * PTIME_SAMPLES:(i + 1) * PTIME_SAMPLES]),
                       marker=(i == 0)) for i in range(n)]


def ulaw_tone_stream(freq, n, pt=0):
    pcm = tone(freq, n * PTIME_SAMPLES)
    ssrc, seq0, ts0 = 0x0b1b0b1b, 60000, 4294960000
    return [rtp_packet(pt, seq0 + i, ts0 + i * PTIME_SAMPLES, ssrc,
                       bytes(ulaw_encode(v) for v in
                             pcm[i * PTIME_SAMPLES:(i + 1) * PTIME_SAMPLES]),
                       marker=(i == 0)) for i in range(n)]


def dtmf_stream(digit, pt, seq0, ts, ssrc):
    """RFC 4733 event: 5 packets of a growing duration, then the end
    packet three times (as phones send it)."""
    pkts = []
    for i in range(5):
        pkts.append(rtp_packet(pt, seq0 + i, ts, ssrc,
                               struct.pack('>BBH', digit, 10,
                                           (i + 1) * 160), marker=(i == 0)))
    for k in range(3):
        pkts.append(rtp_packet(pt, seq0 + 5 + k, ts, ssrc,
                               struct.pack('>BBH', digit, 0x80 | 10, 960)))
    return pkts


def level_db(pcm, ref):
    return 20 * math.log10(max(rms(pcm), 1) / max(rms(ref), 1))


def check_headers_kept(t, what, sent, got, want_pt):
    """got: the sender's packets, same seq/ts/ssrc/marker, pt want_pt."""
    t.require(len(got) >= len(sent) * 0.98, '%s: %d of %d packets arrived'
              % (what, len(got), len(sent)))
    by_seq = {rtp_fields(p)[1]: p for p in sent}
    bad = []
    for g in got:
        pt, seq, ts, ssrc, payload = rtp_fields(g)
        s = by_seq.get(seq)
        if s is None or pt != want_pt or g[4:12] != s[4:12] or \
                (g[1] & 0x80) != (s[1] & 0x80) or \
                len(payload) != len(rtp_fields(s)[4]):
            bad.append(g[:12].hex())
    t.check(not bad, '%s: %d packets with changed headers (want PT %d, '
            'the sender\'s seq/ts/SSRC/marker): %s'
            % (what, len(bad), want_pt, bad[:3]))


def check_samples(t, what, sent, got, sent_table, got_table):
    """Each received sample is the sent one within a G.711 step."""
    by_seq = {rtp_fields(p)[1]: rtp_fields(p)[4] for p in sent}
    worst = 0
    for g in got:
        _, seq, _, _, payload = rtp_fields(g)
        s = by_seq.get(seq)
        if s is None:
            continue
        for a, b in zip(s, payload):
            x, y = sent_table[a], got_table[b]
            # a-law and u-law steps: at most 1/16 of the value, or 16
            worst = max(worst, abs(x - y) - max(16, abs(x) // 16))
    t.check(worst <= 0, '%s: a sample is %d beyond G.711\'s step from '
            'what was sent' % (what, worst))


def pcmu_calls_pcma(t, pbx):
    a = Phone(pbx, '1001', PW['1001'])
    b = Phone(pbx, '1002', PW['1002'])
    try:
        for p in (a, b):
            r = p.register()
            t.require(r is not None and r.status == 200, 'REGISTER %s: %s'
                      % (p.user, r and r.start))
        ans = Bg(b.answer, 8, 10, te=96)
        r = a.call('1002', pt=0, te=101)
        t.require(r is not None and r.status == 200, 'INVITE: %s'
                  % (r and r.start))
        inv = ans.get(10)
        t.require(inv is not None, 'the callee got no INVITE (or no ACK)')

        offer = sdp_audio(inv.body)
        answer = sdp_audio(r.body)
        log('  PBX offer to 1002: %r; answer to 1001: %r'
            % (offer[2], answer[2]))
        t.check(offer[2] == [8, 101], 'PBX offer to 1002 (PCMA only): %s'
                % inv.body.decode(errors='replace'))
        t.check(answer[2] == [0, 101], 'PBX answer to 1001 (PCMU and '
                'telephone-event): %s' % r.body.decode(errors='replace'))
        is_pbx_media(t, 'caller', a.remote_media, (a.rtp.port, b.rtp.port))
        is_pbx_media(t, 'callee', b.remote_media, (a.rtp.port, b.rtp.port))

        up = ulaw_tone_stream(1000, PACKETS)
        down = alaw_tone_stream(440, PACKETS)
        b.rtp.send_stream(b.remote_media, down, pace=PACE)
        a.rtp.send_stream(a.remote_media, up, pace=PACE)
        t.check(a.rtp.wait_sent(10) and b.rtp.wait_sent(10),
                'senders did not finish')
        wait_received([(a, PACKETS), (b, PACKETS)], 5)

        c = wait_until(lambda: [x for x in (calls(pbx) or [])
                                if x['state'] == 'answered'], 5)
        t.require(c, 'ctl calls shows no answered call')
        log('  %s' % c[0]['line'])
        t.check((c[0]['path'], c[0]['a_codec'], c[0]['b_codec']) ==
                ('table', 'PCMU', 'PCMA'), 'ctl calls: %s' % c[0]['line'])
        js = pbx.ctl_json('calls')
        t.check(js and js[0].get('path') == 'table' and
                js[0]['a'].get('codec') == 'PCMU' and
                js[0]['b'].get('codec') == 'PCMA',
                'ctl calls --json: %r' % js)

        got_b = [p for p in b.rtp.packets() if rtp_fields(p)[0] == 8]
        got_a = [p for p in a.rtp.packets() if rtp_fields(p)[0] == 0]
        check_headers_kept(t, 'u-law -> a-law', up, got_b, 8)
        check_headers_kept(t, 'a-law -> u-law', down, got_a, 0)
        check_samples(t, 'u-law -> a-law', up, got_b, ULAW, ALAW)
        check_samples(t, 'a-law -> u-law', down, got_a, ALAW, ULAW)

        heard_b = [ALAW[x] for p in got_b for x in rtp_fields(p)[4]]
        heard_a = [ULAW[x] for p in got_a for x in rtp_fields(p)[4]]
        sent_up = [ULAW[x] for p in up for x in rtp_fields(p)[4]]
        sent_down = [ALAW[x] for p in down for x in rtp_fields(p)[4]]
        check_tone(t, '1002 heard (a-law)', heard_b, 1000)
        check_tone(t, '1001 heard (u-law)', heard_a, 440)
        for who, heard, sent in (('1002', heard_b, sent_up),
                                 ('1001', heard_a, sent_down)):
            d = level_db(heard, sent)
            log('  %s: level %.2f dB from what was sent' % (who, d))
            t.check(abs(d) <= 0.5, '%s: level %.2f dB off' % (who, d))

        # DTMF 5 from 1001 (PT 101) reaches 1002 as PT 96
        n0 = len(b.rtp.got)
        ev = dtmf_stream(5, 101, 60000 + PACKETS, 4294960000 +
                         PACKETS * PTIME_SAMPLES, 0x0b1b0b1b)
        a.rtp.send_stream(a.remote_media, ev, pace=0.02)
        a.rtp.wait_sent(5)
        wait_until(lambda: len([p for p in b.rtp.packets()[n0:]
                                if rtp_fields(p)[0] == 96]) >= len(ev), 5)
        evs = [p for p in b.rtp.packets()[n0:] if rtp_fields(p)[0] == 96]
        t.check(len(evs) == len(ev), '1002 got %d of %d DTMF packets as PT '
                '96 (%r)' % (len(evs), len(ev),
                             [p[:16].hex() for p in b.rtp.packets()[n0:]]))
        t.check([rtp_fields(p)[4] for p in evs] ==
                [rtp_fields(p)[4] for p in ev] and
                [p[2:12] for p in evs] == [p[2:12] for p in ev],
                'DTMF events changed on the way: sent %r, got %r'
                % ([p.hex() for p in ev], [p.hex() for p in evs]))

        r = a.hangup()
        t.check(r is not None and r.status == 200, 'BYE: %s'
                % (r and r.start))
    finally:
        a.close()
        b.close()


def sipp_pcma_to_pcmu(t, pbx):
    capture = [p for p in read_pcap(PCAP) if len(p) >= 12 and
               p[0] >> 6 == 2]
    callee = Phone(pbx, '1001', PW['1001'])
    sp = None
    try:
        r = callee.register()
        t.require(r is not None and r.status == 200, 'REGISTER 1001: %s'
                  % (r and r.start))
        ans = Bg(callee.answer, 0, 8)
        sp = sipp_pcap_caller(pbx, '1001', '1003', PW['1003'],
                              'pcma-caller')
        inv = ans.get(20)
        t.require(inv is not None, 'the callee got no INVITE from the '
                  'sipp caller (or no ACK)')
        t.check(sdp_audio(inv.body)[2][:1] == [0],
                'offer to the PCMU-only callee: %r' % inv.body)
        wait_received([(callee, len(capture))], 15)
        wait_quiet(callee.rtp, 0.5, 5)
        c = calls(pbx)
        if c:
            log('  %s' % c[0]['line'])
            t.check((c[0]['path'], c[0]['a_codec'], c[0]['b_codec']) ==
                    ('table', 'PCMA', 'PCMU'), 'ctl calls: %s'
                    % c[0]['line'])
        r = callee.hangup()
        t.check(r is not None and r.status == 200, 'BYE from the callee: '
                '%s' % (r and r.start))
        sipp_done(t, sp, 'sipp caller playing %s' % PCAP)
        sp = None
        got = callee.rtp.packets()
        check_headers_kept(t, 'sipp a-law -> u-law', capture, got, 0)
        check_samples(t, 'sipp a-law -> u-law', capture, got, ALAW, ULAW)
        t.check(len(got) == len(capture), '%d of %d packets of the capture'
                % (len(got), len(capture)))
    finally:
        if sp is not None and sp.poll() is None:
            sp.kill()
            sp.wait(10)
        callee.close()


def no_common_codec(t, pbx):
    a = Phone(pbx, '1003', PW['1003'])
    try:
        import test_media
        real = test_media.sdp

        def g729(user, port, pt, te=None):
            return ('v=0\r\no=%s 1 1 IN IP4 127.0.0.1\r\ns=-\r\n'
                    'c=IN IP4 127.0.0.1\r\nt=0 0\r\n'
                    'm=audio %d RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n'
                    % (user, port)).encode()
        test_media.sdp = g729
        try:
            r = a.call('1002')
        finally:
            test_media.sdp = real
        t.check(r is not None and r.status == 488, 'a G.729-only offer: '
                '%s, want 488' % (r and r.start))
    finally:
        a.close()


def g711_selftest(t):
    """Our a-law coder against G.711's known codes."""
    t.check(alaw_encode(0) == 0xD5 and alaw_encode(-1) == 0x55 and
            alaw_decode(0xD5) == 8 and alaw_decode(0x2A) == -32256,
            'a-law reference broken')
    worst = max(abs(alaw_decode(alaw_encode(x)) - x) - max(16, abs(x) // 16)
                for x in range(-32000, 32000, 7))
    t.check(worst <= 0, 'a-law round trip off by %d' % worst)


def body(start, t):
    t.run(g711_selftest)
    pbx = start('transcode', USERS, extra_xml=DIALPLAN)
    t.run(pcmu_calls_pcma, pbx)
    if not os.path.exists(PCAP):
        log('== sipp_pcma_to_pcmu: SKIPPED (%s missing)' % PCAP)
    elif not raw_sockets_allowed():
        log('== sipp_pcma_to_pcmu: SKIPPED (sipp plays a pcap through a '
            'raw socket: needs root or CAP_NET_RAW)')
    else:
        t.run(sipp_pcma_to_pcmu, pbx)
    t.run(no_common_codec, pbx)
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_transcode', body)

#!/usr/bin/env python3
"""Voicemail deposit: a caller leaves a message, the WAV and the index
row are right, and nothing half-written is ever indexed.

- greeting: with the spoken prompts made (contrib/prompts.sh), the
  caller hears the default greeting (seconds of speech) before the beep.

A Python phone (1001, PCMU with telephone-event) dials 81002; the
dialplan runs `voicemail 1002`: the PBX answers, beeps (a 1 kHz tone of
300 ms, heard by the caller), and records.

- hangup: 3 s of a 1 kHz tone, then BYE: `ctl voicemail 1002` lists one
  message from 1001 of about 3 s; the WAV under the data dir is 8 kHz
  mono 16-bit, 1 kHz dominant, as long as the index says; no .tmp left.
- hash: 2 s of tone, then an RFC 4733 '#': the PBX ends the call (BYE to
  the caller) and keeps the 2 s message.
- inband_hash: the same with '#' as an in-band DTMF tone (spandsp's
  receiver on the decoded audio).
- silence: 1.5 s of tone and then nothing: the PBX ends the call after
  5 s of silence and keeps the message.
- short: 0.5 s and BYE: not kept (under a second), no file left.
- mwi: 1002's phone SUBSCRIBEs to message-summary (digest): a NOTIFY
  at once with Messages-Waiting and the index's counts, and another
  with one more new message after 1001 leaves one (RFC 3842).
- limits (a second daemon, max-messages 1, max-length 2 s): a longer
  message is cut at 2 s and the caller hears why; the next caller hears
  the mailbox is full, no beep, nothing recorded.
- mwi_unsolicited: 1003 (mwi="unsolicited") does not subscribe: its
  phone gets a NOTIFY (Subscription-State: terminated) when it
  registers, and another with 1/0 after a message is left.
- rfc4458: an INVITE to sip:voicemail@PBX;target=...;cause=486 leaves
  a message for the target (through the dialplan's ${vm_target}).
- crash: 2 s into a message the daemon is killed (SIGKILL): after a
  restart the index has no row for it, and every row's file exists.
- sipp_busy, sipp_no_answer: a sipp caller (PCMA) calls 1004, whose
  phone answers 486 / rings past the 3 s call_timeout; the dialplan's
  voicemail 1004 after the bridge plays the busy / unavailable greeting
  and records the capture sipp plays (g711a.pcap, 7 s of speech) until
  sipp hangs up: the stored WAV is the capture's audio (correlation
  above 0.99 against the decoded a-law), and the row says who called.
"""

import glob
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import time
import wave

import harness
from harness import log, wait_until
from test_media import (Bg, Phone, dominant, dtmf_events, dtmf_inband,
                        purity, raw_sockets_allowed, read_pcap, rms,
                        rtp_fields, sipp_bg, sipp_done, tone_stream,
                        ulaw_stream, ULAW)

PCAP = '/usr/share/sip-tester/g711a.pcap'

USERS = [{'id': '1001', 'password': 'secret1001'},
         {'id': '1002', 'password': 'secret1002'},
         {'id': '1003', 'password': 'secret1003', 'mwi': 'unsolicited'},
         {'id': '1004', 'password': 'secret1004'}]
PW = {u['id']: u['password'] for u in USERS}

DIALPLAN = '''  <dialplan>
    <context name="default">
      <extension name="voicemail-uri">
        <condition field="destination_number" expression="^voicemail$"/>
        <condition field="${vm_target}" expression="^(\\d+)$">
          <action application="voicemail" data="$1"/>
        </condition>
      </extension>
      <extension name="bridge-then-voicemail">
        <condition field="destination_number" expression="^(1004)$">
          <action application="set" data="call_timeout=3"/>
          <action application="bridge" data="user/$1"/>
          <action application="voicemail" data="$1"/>
        </condition>
      </extension>
      <extension name="vm">
        <condition field="destination_number" expression="^8(\\d{4})$">
          <action application="voicemail" data="$1"/>
        </condition>
      </extension>
    </context>
  </dialplan>
'''


def messages(pbx, box='1002'):
    """ctl voicemail BOX: [(id, caller, seconds, file)]"""
    rc, out = pbx.ctl('voicemail', box)
    res = []
    for ln in out.splitlines():
        m = re.match(r'(\d+) (\S+) (\S+) (\S+) "[^"]*" ([\d.]+)s (\S+)'
                     r'(?: heard)? (\S+)$', ln.strip())
        if m:
            res.append((int(m.group(1)), m.group(4), float(m.group(5)),
                        m.group(7)))
    return res


def wav_of(pbx, rel):
    with wave.open(os.path.join(pbx.datadir, rel), 'rb') as w:
        params = (w.getnchannels(), w.getsampwidth(), w.getframerate())
        n = w.getnframes()
        x = list(struct.unpack('<%dh' % n, w.readframes(n)))
    return params, x


def beep_at(pkts):
    """Index of the first packet of the 1 kHz beep (after any greeting),
    or None."""
    for i, d in enumerate(pkts):
        x = [ULAW[b] for b in rtp_fields(d)[4]]
        if len(x) >= 160 and rms(x) > 1000 and purity(x, 1000) > 0.9:
            return i
    return None


def call_vm(t, pbx, p, timeout=15, box='1002'):
    """p (registered) dials 8BOX and waits for the beep."""
    r = p.call('8' + box, te=101)
    t.require(r is not None and r.status == 200, 'call to voicemail: %s'
              % (r and r.start))
    # the greeting (if any), the beep: 300 ms of 1 kHz, then recording
    got = wait_until(lambda: beep_at(p.rtp.packets()) is not None,
                     timeout, 0.1)
    t.require(got, 'no beep from the PBX')
    time.sleep(0.45)


def send_tone(p, seconds, freq=1000):
    n = int(seconds * 50)
    pkts = tone_stream(freq, n)
    p.rtp.send_stream(p.remote_media, pkts, pace=0.02)
    p.rtp.wait_sent(seconds + 5)
    return pkts


def write_greeting(pbx, box, name, samples):
    """A greeting of the mailbox's own: samples of silence."""
    d = os.path.join(pbx.datadir, 'voicemail', box)
    os.makedirs(d, exist_ok=True)
    with wave.open(os.path.join(d, name + '.wav'), 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b'\0\0' * samples)


def deposit_hangup(t, pbx):
    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER')
        call_vm(t, pbx, p)
        beep = [ULAW[b] for d in p.rtp.packets()[:15]
                for b in rtp_fields(d)[4]]
        t.check(beep and abs(dominant(beep[:800]) - 1000) <= 20,
                'the beep is not 1 kHz')
        send_tone(p, 3.0)
        r = p.hangup()
        t.check(r is not None and r.status == 200, 'BYE: %s'
                % (r and r.start))
        msgs = wait_until(lambda: messages(pbx), 5)
        t.require(msgs and len(msgs) == 1, 'ctl voicemail 1002: %r'
                  % messages(pbx))
        mid, caller, secs, rel = msgs[0]
        log('  message %d from %s: %.3f s in %s' % (mid, caller, secs, rel))
        t.check(caller == '1001', 'caller %r' % caller)
        t.check(2.6 <= secs <= 3.3, 'duration %.3f s, sent 3 s' % secs)
        params, x = wav_of(pbx, rel)
        t.check(params == (1, 2, 8000), 'WAV format %r' % (params,))
        t.check(abs(len(x) / 8000.0 - secs) < 0.01,
                'WAV %d samples, index %.3f s' % (len(x), secs))
        mid_part = x[len(x) // 2 - 4000:len(x) // 2 + 4000]
        d = dominant(mid_part)
        log('  WAV: %.2f s, dominant %d Hz, %.0f%% at 1 kHz, rms %.0f'
            % (len(x) / 8000.0, d, 100 * purity(mid_part, 1000),
               rms(mid_part)))
        t.check(abs(d - 1000) <= 20 and purity(mid_part, 1000) > 0.9,
                'the message is not the tone sent')
        t.check(not glob.glob(os.path.join(pbx.datadir, 'voicemail',
                                           '1002', '*.tmp')),
                'a .tmp file was left')
    finally:
        p.close()


def deposit_hash(t, pbx):
    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER')
        before = len(messages(pbx))
        call_vm(t, pbx, p)
        pkts = send_tone(p, 2.0)
        _, seq, ts, ssrc, _ = rtp_fields(pkts[-1])
        ev = dtmf_events('#', seq + 1, ts + 160, ssrc)
        p.rtp.send_stream(p.remote_media, ev, pace=0.02)
        bye = p.await_bye(5)
        t.check(bye is not None, '# did not end the call')
        msgs = wait_until(lambda: len(messages(pbx)) > before and
                          messages(pbx), 5)
        t.require(msgs, 'no message after #')
        secs = msgs[-1][2]
        log('  after #: %.3f s kept' % secs)
        t.check(1.7 <= secs <= 2.4, 'duration %.3f s, sent 2 s' % secs)
    finally:
        p.close()


def deposit_inband_hash(t, pbx):
    """The same with '#' as an in-band tone (941 + 1477 Hz, 120 ms) in
    the u-law audio, for phones that send no RFC 4733 events."""
    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER')
        before = len(messages(pbx))
        call_vm(t, pbx, p)
        pkts = send_tone(p, 2.0)
        _, seq, ts, ssrc, _ = rtp_fields(pkts[-1])
        x = dtmf_inband('#', on=960, amp=4000)
        keys = ulaw_stream(x, seq + 1, ts + 160, ssrc)
        p.rtp.send_stream(p.remote_media, keys, pace=0.02)
        bye = p.await_bye(5)
        p.rtp.wait_sent(3)
        t.check(bye is not None, 'an in-band # did not end the call')
        msgs = wait_until(lambda: len(messages(pbx)) > before and
                          messages(pbx), 5)
        t.require(msgs, 'no message after an in-band #')
        log('  after an in-band #: %.3f s kept' % msgs[-1][2])
    finally:
        p.close()


def deposit_silence(t, pbx):
    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER')
        before = len(messages(pbx))
        call_vm(t, pbx, p)
        send_tone(p, 1.5)
        t0 = time.monotonic()
        bye = p.await_bye(10)
        t.check(bye is not None, 'silence did not end the call')
        log('  silence: BYE %.1f s after the caller stopped'
            % (time.monotonic() - t0))
        t.check(wait_until(lambda: len(messages(pbx)) == before + 1, 5),
                'the message before the silence was not kept')
    finally:
        p.close()


def deposit_short(t, pbx):
    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER')
        before = messages(pbx)
        files = set(os.listdir(os.path.join(pbx.datadir, 'voicemail',
                                            '1002')))
        call_vm(t, pbx, p)
        send_tone(p, 0.3)
        p.hangup()
        time.sleep(1.0)
        t.check(messages(pbx) == before, 'a message under a second was '
                'kept: %r' % messages(pbx))
        t.check(set(os.listdir(os.path.join(pbx.datadir, 'voicemail',
                                            '1002'))) == files,
                'a file was left for a message not kept')
    finally:
        p.close()


def reply_to(c, req, code=200, reason='OK'):
    lines = ['SIP/2.0 %d %s' % (code, reason)]
    for h, name in (('via', 'Via'), ('from', 'From'), ('to', 'To'),
                    ('call-id', 'Call-ID'), ('cseq', 'CSeq')):
        for v in req.get_all(h):
            lines.append('%s: %s' % (name, v))
    lines.append('Content-Length: 0')
    c.send_raw(('\r\n'.join(lines) + '\r\n\r\n').encode())


def next_notify(c, timeout=5):
    """The next NOTIFY's body (answered 200), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = c.recv(deadline - time.monotonic())
        if m is None:
            return None
        if m.method == 'NOTIFY':
            reply_to(c, m)
            return m.body.decode(errors='replace'), m
    return None


def mwi(t, pbx):
    """1002's phone subscribes to message-summary: a NOTIFY with the
    index's counts at once, and another when a message is left."""
    n = len(messages(pbx))
    c = harness.SipClient(pbx)
    p = Phone(pbx, '1001', PW['1001'])
    try:
        ruri = 'sip:1002@%s' % pbx.domain
        aor = '<sip:1002@%s>' % pbx.domain
        hs = ['Event: message-summary',
              'Accept: application/simple-message-summary',
              'Contact: %s' % c.contact('1002'), 'Expires: 600']
        r = c.request('SUBSCRIBE', ruri, hs, frm=aor, to=aor)
        t.require(r is not None and r.status == 407, 'SUBSCRIBE without '
                  'credentials: %s' % (r and r.start))
        a = harness.authorization(harness.pick_challenge(r), '1002',
                                  PW['1002'], 'SUBSCRIBE', ruri)
        r = c.request('SUBSCRIBE', ruri, hs + ['Proxy-Authorization: %s'
                                               % a], frm=aor, to=aor)
        t.require(r is not None and r.status == 200, 'SUBSCRIBE: %s'
                  % (r and r.start))
        got = next_notify(c)
        t.require(got, 'no NOTIFY after the SUBSCRIBE')
        body, msg = got
        log('  first NOTIFY: %s' % body.replace('\r\n', ' | '))
        t.check('message-summary' in (msg.get('event') or ''),
                'Event: %r' % msg.get('event'))
        t.check(re.search(r'Messages-Waiting: %s' % ('yes' if n else 'no'),
                          body) and
                re.search(r'Voice-Message: %d/0' % n, body),
                'counts %d/0 expected: %s' % (n, body))

        t.require(p.register().status == 200, 'REGISTER 1001')
        call_vm(t, pbx, p)
        send_tone(p, 1.5)
        p.hangup()
        got = next_notify(c, 8)
        t.require(got, 'no NOTIFY after a message was left')
        body = got[0]
        log('  after a message: %s' % body.replace('\r\n', ' | '))
        t.check(re.search(r'Messages-Waiting: yes', body) and
                re.search(r'Voice-Message: %d/0' % (n + 1), body),
                'counts %d/0 expected: %s' % (n + 1, body))
    finally:
        p.close()
        c.close()


def mwi_unsolicited(t, pbx):
    """1003 (mwi="unsolicited") does not subscribe: its phone gets a
    NOTIFY when it registers and another when a message is left."""
    c = harness.SipClient(pbx)
    p = Phone(pbx, '1001', PW['1001'])
    try:
        first, final = c.register('1003', PW['1003'], expires=600)
        t.require(final is not None and final.status == 200,
                  'REGISTER 1003: %s' % (final and final.start))
        got = next_notify(c)
        t.require(got, 'no NOTIFY after the REGISTER')
        body, msg = got
        log('  on register: %s' % body.replace('\r\n', ' | '))
        t.check('terminated' in (msg.get('subscription-state') or '') and
                'Messages-Waiting: no' in body and '0/0' in body,
                'unsolicited NOTIFY: %s / %r' % (body,
                                                 msg.get('subscription-state')))
        t.require(p.register().status == 200, 'REGISTER 1001')
        r = p.call('81003', te=101)
        t.require(r is not None and r.status == 200, 'call 81003')
        wait_until(lambda: beep_at(p.rtp.packets()) is not None, 15, 0.1)
        time.sleep(0.45)
        send_tone(p, 1.5)
        p.hangup()
        got = next_notify(c, 8)
        t.require(got, 'no NOTIFY after a message for 1003')
        log('  after a message: %s' % got[0].replace('\r\n', ' | '))
        t.check('Messages-Waiting: yes' in got[0] and '1/0' in got[0],
                'counts: %s' % got[0])
    finally:
        p.close()
        c.close()


def rfc4458(t, pbx):
    """An INVITE to sip:voicemail@PBX;target=sip:1002%40PBX;cause=486
    (RFC 4458) leaves a message in 1002's mailbox."""
    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER')
        n = len(messages(pbx))
        ruri = ('sip:voicemail@%s;target=sip:1002%%40%s;cause=486'
                % (pbx.domain, pbx.domain))
        r = p.call('voicemail', te=101, ruri=ruri)
        t.require(r is not None and r.status == 200, 'RFC 4458 INVITE: '
                  '%s' % (r and r.start))
        wait_until(lambda: beep_at(p.rtp.packets()) is not None, 15, 0.1)
        time.sleep(0.45)
        send_tone(p, 1.5)
        p.hangup()
        t.check(wait_until(lambda: len(messages(pbx)) == n + 1, 5),
                'no message in 1002 for the voicemail URI')
        t.check('RFC 4458 voicemail for 1002 (cause 486)' in
                harness._read(pbx.logfile), 'log: target and cause')
    finally:
        p.close()


def greeting(t, pbx):
    """With the prompts made (contrib/prompts.sh into the config
    folder), the caller hears the spoken default greeting before the
    beep: seconds of speech, not silence."""
    make_prompts(t, pbx)
    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER')
        call_vm(t, pbx, p)
        pkts = p.rtp.packets()
        i = beep_at(pkts)
        speech = [ULAW[b] for d in pkts[:i] for b in rtp_fields(d)[4]]
        log('  greeting: %.2f s before the beep, rms %.0f'
            % (len(speech) / 8000.0, rms(speech) if speech else 0))
        t.check(len(speech) >= 2 * 8000, 'greeting %.2f s long'
                % (len(speech) / 8000.0))
        t.check(speech and rms(speech) > 300, 'the greeting is silence')
        n = len(messages(pbx))
        send_tone(p, 1.2)
        p.hangup()
        t.check(wait_until(lambda: len(messages(pbx)) == n + 1, 5),
                'the message after the greeting was not kept')
    finally:
        p.close()


def make_prompts(t, pbx):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          '..', '..', 'contrib', 'prompts.sh')
    r = subprocess.run(['sh', script, pbx.confdir], capture_output=True,
                       text=True, timeout=60)
    t.require(r.returncode == 0, 'prompts.sh: %s' % r.stderr)


def limits(t, pbx):
    """<voicemail max-messages="1" max-length="2s">: a 4 s message is cut
    at 2 s, the caller hears why and gets a BYE; the next caller finds
    the mailbox full, hears so, and nothing is recorded."""
    make_prompts(t, pbx)
    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER')
        call_vm(t, pbx, p)
        n0 = len(p.rtp.got)
        p.rtp.send_stream(p.remote_media, tone_stream(1000, 200), pace=0.02)
        bye = p.await_bye(10)
        t.check(bye is not None, 'no BYE at the maximum length')
        said = len(p.rtp.got) - n0
        log('  max length: %d packets of prompt after the cut' % said)
        t.check(said >= 50, 'the caller was not told (%d packets)' % said)
        msgs = wait_until(lambda: messages(pbx), 5)
        t.require(msgs, 'the message cut at max-length was not kept')
        t.check(1.7 <= msgs[0][2] <= 2.3, 'cut at %.3f s, want 2'
                % msgs[0][2])
        p.rtp.wait_sent(6)
    finally:
        p.close()

    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER')
        r = p.call('81002', te=101)
        t.require(r is not None and r.status == 200, 'call: %s'
                  % (r and r.start))
        bye = p.await_bye(15)
        t.check(bye is not None, 'a full mailbox did not hang up')
        log('  full mailbox: %d packets of prompt, then BYE'
            % len(p.rtp.got))
        t.check(len(p.rtp.got) >= 50, 'the caller was not told it is '
                'full')
        t.check(beep_at(p.rtp.packets()) is None, 'a beep for a full '
                'mailbox')
        time.sleep(0.5)
        t.check(len(messages(pbx)) == 1, 'a full mailbox took a message: '
                '%r' % messages(pbx))
    finally:
        p.close()


def crash_while_recording(t, pbx):
    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER')
        before = messages(pbx)
        call_vm(t, pbx, p)
        send_tone(p, 2.0)
        os.kill(pbx.proc.pid, signal.SIGKILL)
        pbx.proc.wait(10)
    finally:
        p.close()
    pbx.start()
    after = messages(pbx)
    t.check(after == before, 'index changed by a message cut by a crash: '
            '%r -> %r' % (before, after))
    for _, _, _, rel in after:
        t.check(os.path.exists(os.path.join(pbx.datadir, rel)),
                'index row without its file: %s' % rel)


def alaw_decode(a):
    a ^= 0x55
    t = (a & 0x0f) << 4
    seg = (a & 0x70) >> 4
    t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


def correlation(x, y):
    n = min(len(x), len(y))
    sxy = sum(x[i] * y[i] for i in range(n))
    sxx = sum(v * v for v in x[:n])
    syy = sum(v * v for v in y[:n])
    return sxy / math.sqrt(sxx * syy) if sxx and syy else 0.0


def best_offset(x, y, span=480, window=4000):
    """The shift of y against x (samples) where a window of x matches
    best, and the correlation of the whole overlap there."""
    base = x[8000:8000 + window]
    best, at = -2.0, 0
    for k in range(-span, span + 1):
        seg = y[8000 + k:8000 + k + window]
        c = correlation(base, seg)
        if c > best:
            best, at = c, k
    if at >= 0:
        return at, correlation(x, y[at:])
    return at, correlation(x[-at:], y)


def sipp_to_voicemail(t, pbx, callee_does, cause, kind):
    """A sipp caller playing g711a.pcap calls 1004; 1004's phone does
    callee_does; the message is the capture's audio."""
    capture = [p for p in read_pcap(PCAP) if len(p) >= 12 and
               p[0] >> 6 == 2]
    sent = [alaw_decode(b) for p in capture for b in p[12:]]
    phone = Phone(pbx, '1004', PW['1004'])
    sp = None
    try:
        t.require(phone.register().status == 200, 'REGISTER 1004')
        # short greetings of the mailbox's own: the caller waits 1.5 s
        for g in ('greeting-busy', 'greeting-unavailable'):
            write_greeting(pbx, '1004', g, 3200)
        n = len(messages(pbx, '1004'))
        mark = len(harness._read(pbx.logfile))
        bg = Bg(callee_does, phone)
        sp = sipp_bg(pbx, 'vm_pcap_caller.xml', 'vm-' + kind,
                     ['127.0.0.1:%d' % pbx.port, '-s', '1004',
                      '-au', '1001', '-ap', PW['1001'],
                      '-auth_uri', '1004@%s' % pbx.domain,
                      '-key', 'domain', pbx.domain, '-key', 'caller', '1001'])
        t.check(bg.get(20), '1004\'s phone did not see the call')
        sipp_done(t, sp, 'sipp caller leaving a message')
        sp = None
        msgs = wait_until(lambda: len(messages(pbx, '1004')) == n + 1 and
                          messages(pbx, '1004'), 5)
        t.require(msgs, 'no message in 1004 after the %s' % cause)
        log_ = harness._read(pbx.logfile)[mark:]
        t.check('voicemail 1004: %s greeting (the mailbox\'s own)' % kind
                in log_, 'the %s greeting was not played' % kind)
        mid, caller, secs, rel = msgs[-1]
        params, x = wav_of(pbx, rel)
        at, c = best_offset(sent, x)
        log('  %s: %.2f s from %s; the capture is %.2f s; correlation '
            '%.4f at %+d samples' % (cause, secs, caller,
                                    len(sent) / 8000.0, c, at))
        t.check(caller == '1001', 'caller %r' % caller)
        t.check(abs(secs - len(sent) / 8000.0) < 0.35,
                'stored %.2f s of a %.2f s capture' % (secs,
                                                      len(sent) / 8000.0))
        t.check(c > 0.99, 'the message is not what sipp played '
                '(correlation %.4f)' % c)
    finally:
        if sp is not None and sp.poll() is None:
            sp.kill()
            sp.wait(10)
        phone.close()


def answer_busy(phone):
    got = phone.wait(lambda m: m.method == 'INVITE', 15)
    if got is None:
        return False
    inv, src = got
    phone.send(phone.response(inv, 486, 'Busy Here', 'busytag'), src)
    phone.wait(lambda m: m.method == 'ACK', 5)
    return True


def ring_forever(phone):
    got = phone.wait(lambda m: m.method == 'INVITE', 15)
    if got is None:
        return False
    inv, src = got
    phone.send(phone.response(inv, 180, 'Ringing', 'ringtag'), src)
    got = phone.wait(lambda m: m.method == 'CANCEL', 10)
    if got is None:
        return False
    phone.send(phone.response(got[0], 200, 'OK', 'ringtag'), got[1])
    phone.send(phone.response(inv, 487, 'Request Terminated', 'ringtag'),
               src)
    return True


def sipp_busy(t, pbx):
    sipp_to_voicemail(t, pbx, answer_busy, 'busy (486)', 'busy')


def sipp_no_answer(t, pbx):
    sipp_to_voicemail(t, pbx, ring_forever, 'no answer', 'unavailable')


def body(start, t):
    pbx = start('voicemail', USERS, extra_xml=DIALPLAN)
    t.run(deposit_hangup, pbx)
    t.run(deposit_hash, pbx)
    t.run(deposit_inband_hash, pbx)
    t.run(deposit_silence, pbx)
    t.run(deposit_short, pbx)
    t.run(mwi, pbx)
    t.run(mwi_unsolicited, pbx)
    t.run(rfc4458, pbx)
    t.run(greeting, pbx)
    t.run(crash_while_recording, pbx)
    if not shutil.which('sipp') or not os.path.exists(PCAP):
        log('== sipp_busy, sipp_no_answer: SKIPPED (no sipp or %s)' % PCAP)
    elif not raw_sockets_allowed():
        log('== sipp_busy, sipp_no_answer: SKIPPED (sipp plays a pcap '
            'through a raw socket: needs root or CAP_NET_RAW)')
    else:
        t.run(sipp_busy, pbx)
        t.run(sipp_no_answer, pbx)
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')

    small = start('voicemail-limits', USERS, extra_xml=DIALPLAN,
                  settings_xml='<voicemail max-messages="1" '
                  'max-length="2s"/>')
    t.run(limits, small)
    t.current = 'end (limits)'
    t.check(small.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_voicemail', body)

#!/usr/bin/env python3
"""Voicemail for the mailbox's owner: retrieval by phone, greetings, PINs,
message waiting through retrieval, and e-mail of new messages.

Python phones (PCMU, telephone-event 101) press keys as RFC 4733
events; the spoken prompts are made first (contrib/prompts.sh). The
message under test is a 1250 Hz tone, told apart from the 1 kHz beep
and from speech by its frequency.

- retrieve: 1002's phone SUBSCRIBEs to message-summary (no, 0/0);
  1001 leaves 3 s of 1250 Hz in 1002's mailbox (NOTIFY yes, 1/0); the
  e-mail (a mail command that fails the first time) arrives on the
  retry with the WAV attached, byte for byte. 1002 dials *97, keys its
  PIN and 1: the audio played back is the stored tone (2.4 s or more of
  1250 Hz); the lamp goes out (no, 0/1); 7 deletes it (0/0) and its
  file goes.
- save_callback: 9 saves a message (folder saved), and 3 on it calls
  the sender back: 1001's phone rings with 1002 as the caller.
- greeting: 0 then 1 records the unavailable greeting after the beep
  (2 s of 700 Hz, then #); the recording is played back for review; 1
  keeps it; a caller to the mailbox then hears 700 Hz before the beep.
- wrong_pin: *98, mailbox 1003 and a wrong PIN three times: the PBX
  says so and hangs up.
- lockout: two more wrong PINs (five in all) lock mailbox 1003 (logged)
  and then its right PIN is refused too.
- inband_keys: a phone without telephone-event keys its PIN and # as
  in-band tones: it is let in, and # hangs up.
- mail_after_reload: an email attribute added by ctl reload: 1003's
  next message is mailed to it.
- first_pin: 1004 has no PIN; on *97 from its own phone it sets one
  (keyed twice), is let in, and the PIN works from another phone on
  *98; the store keeps a salted hash, never the digits.
"""

import email
import os
import sqlite3
import tempfile
import time

import harness
from harness import log, wait_until
from test_media import (Phone, ULAW, dominant, dtmf_events, dtmf_inband,
                        purity, rms, rtp_fields, tone_stream, ulaw_stream)
from test_voicemail import (beep_at, call_vm, make_prompts, messages,
                            next_notify, send_tone, wav_of, write_greeting)

USERS = [{'id': '1001', 'password': 'secret1001', 'vm-pin': '1111'},
         {'id': '1002', 'password': 'secret1002', 'vm-pin': '4321',
          'email': 'bob@example.com'},
         {'id': '1003', 'password': 'secret1003', 'vm-pin': '9999'},
         {'id': '1004', 'password': 'secret1004'}]
PW = {u['id']: u['password'] for u in USERS}

DIALPLAN = '''  <dialplan>
    <context name="default">
      <extension name="vm">
        <condition field="destination_number" expression="^8(\\d{4})$">
          <action application="voicemail" data="$1"/>
        </condition>
      </extension>
      <extension name="internal">
        <condition field="destination_number" expression="^(1\\d{3})$">
          <action application="bridge" data="user/$1"/>
        </condition>
      </extension>
      <extension name="voicemail-own">
        <condition field="destination_number" expression="^\\*97$">
          <action application="voicemail_check" data="${caller_mailbox}"/>
        </condition>
      </extension>
      <extension name="voicemail-any">
        <condition field="destination_number" expression="^\\*98$">
          <action application="voicemail_check"/>
        </condition>
      </extension>
    </context>
  </dialplan>
'''

# The mail command: fails the first time (as an MTA that is down), then
# keeps each mail it is given
MAILER = '''#!/bin/sh
if [ ! -e "$0.tried" ]; then
    touch "$0.tried"
    echo "mail server down" >&2
    exit 75
fi
cat > "$(dirname "$0")/mail-$(date +%s%N).eml"
'''

class Keys:
    """RFC 4733 key presses into the phone's call, each press its own
    time stamp."""

    def __init__(self, p):
        self.p = p
        self.seq = 100
        self.ts = 16000
        self.ssrc = 0x4b455953

    def press(self, keys, gap=0.12):
        for k in keys:
            self.ts += 1600
            pkts = dtmf_events(k, self.seq, self.ts, self.ssrc)
            self.seq += len(pkts)
            self.p.rtp.send_stream(self.p.remote_media, pkts, pace=0.02)
            self.p.rtp.wait_sent(3)
            time.sleep(gap)


def inband(p, keys):
    """Keys as tones in the u-law audio (100 ms each, 100 ms apart),
    for a phone that sends no RFC 4733 events."""
    pkts = ulaw_stream(dtmf_inband(keys), 500, 0, 0x494e4241)
    p.rtp.send_stream(p.remote_media, pkts, pace=0.02)
    p.rtp.wait_sent(len(pkts) * 0.02 + 5)


def log_has(pbx, text, timeout=10):
    return wait_until(lambda: text in harness._read(pbx.logfile), timeout,
                      0.05)


def tone_run(pkts, freq):
    """The longest run of packets that are freq (seconds)."""
    best = run = 0
    for d in pkts:
        x = [ULAW[b] for b in rtp_fields(d)[4]]
        if len(x) >= 160 and rms(x) > 500 and purity(x, freq) > 0.8:
            run += 1
            best = max(best, run)
        else:
            run = 0
    return best * 0.02


def deposit(t, pbx, p, freq, seconds, box='1002'):
    """p (registered) leaves seconds of freq in box's mailbox."""
    n = len(messages(pbx, box))
    call_vm(t, pbx, p, timeout=20, box=box)
    send_tone(p, seconds, freq)
    p.hangup()
    t.require(wait_until(lambda: len(messages(pbx, box)) == n + 1, 5),
              'the message was not kept')
    return messages(pbx, box)[-1]


def login(t, pbx, p, number, pin, box):
    """p dials number (*97 or *98) and logs in to box."""
    mark = len(harness._read(pbx.logfile))
    r = p.call(number, te=101)
    t.require(r is not None and r.status == 200, 'call %s: %s'
              % (number, r and r.start))
    keys = Keys(p)
    if number == '*98':
        keys.press(box + '#')
    keys.press(pin + '#')
    t.require(wait_until(lambda: ('voicemail %s: the owner is in' % box) in
                         harness._read(pbx.logfile)[mark:], 10, 0.05),
              'login to %s did not succeed' % box)
    return keys


def subscribe(t, pbx, c, user):
    ruri = 'sip:%s@%s' % (user, pbx.domain)
    aor = '<%s>' % ruri
    hs = ['Event: message-summary',
          'Accept: application/simple-message-summary',
          'Contact: %s' % c.contact(user), 'Expires: 600']
    r = c.request('SUBSCRIBE', ruri, hs, frm=aor, to=aor)
    t.require(r is not None and r.status == 407, 'SUBSCRIBE: %s'
              % (r and r.start))
    a = harness.authorization(harness.pick_challenge(r), user, PW[user],
                              'SUBSCRIBE', ruri)
    r = c.request('SUBSCRIBE', ruri, hs + ['Proxy-Authorization: %s' % a],
                  frm=aor, to=aor)
    t.require(r is not None and r.status == 200, 'SUBSCRIBE: %s'
              % (r and r.start))


def lamp(t, c, want, what, timeout=8):
    """A NOTIFY says Messages-Waiting want with counts want (others,
    such as the state sent again when a phone registers, are passed)."""
    yes, counts = want
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        got = next_notify(c, deadline - time.monotonic())
        if not got:
            break
        body = got[0]
        seen.append(body.replace('\r\n', ' | ').strip())
        if (('Messages-Waiting: %s' % yes) in body and
                ('Voice-Message: %s' % counts) in body):
            log('  NOTIFY %s: %s' % (what, seen[-1]))
            return
    t.check(False, 'no NOTIFY %s with %s %s: %r' % (what, yes, counts,
                                                   seen))


def retrieve(t, pbx, maildir):
    c = harness.SipClient(pbx)
    p1 = Phone(pbx, '1001', PW['1001'])
    p2 = Phone(pbx, '1002', PW['1002'])
    try:
        subscribe(t, pbx, c, '1002')
        lamp(t, c, ('no', '0/0'), 'on subscribing')

        t.require(p1.register().status == 200, 'REGISTER 1001')
        mid, caller, secs, rel = deposit(t, pbx, p1, 1250, 3.0)
        log('  message %d from %s: %.2f s' % (mid, caller, secs))
        lamp(t, c, ('yes', '1/0'), 'after the message')

        # e-mail: the first try fails, the retry (1 s later) gets it
        mails = wait_until(lambda: [f for f in os.listdir(maildir)
                                    if f.endswith('.eml')], 15, 0.1)
        t.require(mails, 'no e-mail (spool: %r)' % os.listdir(
            os.path.join(pbx.datadir, 'mailq')))
        with open(os.path.join(maildir, mails[0]), 'rb') as f:
            m = email.message_from_bytes(f.read())
        t.check(m['To'] == 'bob@example.com', 'To: %r' % m['To'])
        t.check('1001' in m['Subject'], 'Subject: %r' % m['Subject'])
        att = [part for part in m.walk()
               if part.get_content_type() == 'audio/wav']
        t.require(att, 'no WAV attached')
        with open(os.path.join(pbx.datadir, rel), 'rb') as f:
            wav = f.read()
        t.check(att[0].get_payload(decode=True) == wav,
                'the attachment is not the message (%d vs %d bytes)'
                % (len(att[0].get_payload(decode=True)), len(wav)))
        t.check('not sent (exit 75: mail server down)' in
                harness._read(pbx.logfile), 'the failed try is not logged')
        log('  e-mail: %s, %d bytes of WAV attached, after one failure'
            % (m['Subject'], len(wav)))
        # the file is written before the command exits
        want = ('e-mail:   1 voicemail e-mail(s) sent, 0 waiting, 1 failed '
                'attempt(s)')
        t.check(wait_until(lambda: want in pbx.ctl('status')[1], 5),
                'ctl status: %s' % pbx.ctl('status')[1])

        # *97: PIN, 1 plays the message
        t.require(p2.register().status == 200, 'REGISTER 1002')
        keys = login(t, pbx, p2, '*97', '4321', '1002')
        n0 = len(p2.rtp.got)
        keys.press('1')
        played = wait_until(lambda: tone_run(p2.rtp.packets()[n0:], 1250)
                            >= 2.4, 20, 0.2)
        run = tone_run(p2.rtp.packets()[n0:], 1250)
        log('  played back: %.2f s of 1250 Hz (stored %.2f s)'
            % (run, secs))
        t.check(played, 'the message played back is not the one stored '
                '(%.2f s of 1250 Hz)' % run)
        lamp(t, c, ('no', '0/1'), 'after listening')

        # 7 deletes it: the row, then the file
        keys.press('7')
        lamp(t, c, ('no', '0/0'), 'after delete')
        t.check(messages(pbx) == [], 'ctl voicemail: %r' % messages(pbx))
        t.check(wait_until(lambda: not os.path.exists(
            os.path.join(pbx.datadir, rel)), 5),
            'the deleted message\'s file is still there')
        r = p2.hangup()
        t.check(r is not None and r.status == 200, 'BYE')
    finally:
        p1.close()
        p2.close()
        c.close()


def save_callback(t, pbx, maildir):
    p1 = Phone(pbx, '1001', PW['1001'])
    p2 = Phone(pbx, '1002', PW['1002'])
    try:
        t.require(p1.register().status == 200, 'REGISTER 1001')
        deposit(t, pbx, p1, 1250, 1.5)
        t.require(p2.register().status == 200, 'REGISTER 1002')
        keys = login(t, pbx, p2, '*97', '4321', '1002')
        keys.press('1')
        time.sleep(0.5)
        keys.press('9')
        t.check(wait_until(lambda: ' saved heard ' in
                           pbx.ctl('voicemail', '1002')[1], 5),
                'not saved: %s' % pbx.ctl('voicemail', '1002')[1])

        # back to it (the main menu followed), and call the sender
        keys.press('1')
        time.sleep(0.5)
        keys.press('3')
        inv = p1.answer(timeout=15)
        t.require(inv is not None, '1001 was not called back')
        frm = inv.get('from')
        log('  called back: From %s' % frm)
        t.check('1002' in frm, 'the call back is not from 1002: %s' % frm)
        p1.hangup()
        p2.await_bye(10)
    finally:
        p1.close()
        p2.close()


def greeting(t, pbx, maildir):
    p1 = Phone(pbx, '1001', PW['1001'])
    p2 = Phone(pbx, '1002', PW['1002'])
    try:
        t.require(p2.register().status == 200, 'REGISTER 1002')
        keys = login(t, pbx, p2, '*97', '4321', '1002')
        keys.press('0')
        time.sleep(0.3)
        n0 = len(p2.rtp.got)
        keys.press('1')
        t.require(wait_until(lambda: beep_at(p2.rtp.packets()[n0:]) is
                             not None, 20, 0.1),
                  'no beep before recording the greeting')
        time.sleep(0.45)
        p2.rtp.send_stream(p2.remote_media, tone_stream(700, 100),
                           pace=0.02)
        p2.rtp.wait_sent(7)
        n1 = len(p2.rtp.got)
        keys.press('#')
        t.require(wait_until(lambda: tone_run(p2.rtp.packets()[n1:], 700)
                             >= 1.5, 10, 0.1),
                  'the greeting was not played back for review')
        keys.press('1')
        path = os.path.join(pbx.datadir, 'voicemail', '1002',
                            'greeting-unavailable.wav')
        t.require(wait_until(lambda: os.path.exists(path), 5),
                  'greeting-unavailable.wav not kept')
        params, x = wav_of(pbx, os.path.relpath(path, pbx.datadir))
        mid = x[len(x) // 2 - 2000:len(x) // 2 + 2000]
        log('  greeting: %.2f s, %d Hz' % (len(x) / 8000.0, dominant(mid)))
        t.check(abs(dominant(mid) - 700) <= 20 and 1.6 <= len(x) / 8000.0
                <= 2.6, 'the greeting is not what was sent')
        p2.hangup()

        # a caller hears it before the beep
        t.require(p1.register().status == 200, 'REGISTER 1001')
        r = p1.call('81002', te=101)
        t.require(r is not None and r.status == 200, 'call 81002')
        t.require(wait_until(lambda: beep_at(p1.rtp.packets()) is not None,
                             15, 0.1), 'no beep')
        pk = p1.rtp.packets()
        before = pk[:beep_at(pk)]
        log('  the caller heard %.2f s of 700 Hz before the beep'
            % tone_run(before, 700))
        t.check(tone_run(before, 700) >= 1.5, 'the new greeting was not '
                'played to the caller')
        p1.hangup()
    finally:
        p1.close()
        p2.close()


def wrong_logins(t, pbx, p, box, pins):
    r = p.call('*98', te=101)
    t.require(r is not None and r.status == 200, '*98: %s'
              % (r and r.start))
    keys = Keys(p)
    for pin in pins:
        keys.press(box + '#')
        keys.press(pin + '#')
        time.sleep(0.3)
    return p.await_bye(20)


def wrong_pin(t, pbx, maildir):
    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER')
        bye = wrong_logins(t, pbx, p, '1003', ['0000', '1234', '5555'])
        t.check(bye is not None, 'three wrong PINs did not end the call')
        t.check(log_has(pbx, 'voicemail 1003: 3 wrong logins'),
                'not logged')
        t.check('the owner is in' not in harness._read(pbx.logfile)
                .split('voicemail 1003')[-1], 'let in')
    finally:
        p.close()


def lockout(t, pbx, maildir):
    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER')
        # two more wrong (five in all), then the right one
        bye = wrong_logins(t, pbx, p, '1003', ['0001', '0002', '9999'])
        t.check(bye is not None, 'the call did not end')
        t.check(log_has(pbx, 'voicemail 1003: locked for 900 s after 5 '
                        'wrong PINs'), 'lock-out not logged')
        t.check(log_has(pbx, 'voicemail 1003: locked out; login from'),
                'the right PIN of a locked mailbox was not refused')
        t.check('voicemail 1003: the owner is in' not in
                harness._read(pbx.logfile), 'a locked mailbox let in')
    finally:
        p.close()


def first_pin(t, pbx, maildir):
    p4 = Phone(pbx, '1004', PW['1004'])
    p1 = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p4.register().status == 200, 'REGISTER 1004')
        r = p4.call('*97', te=101)
        t.require(r is not None and r.status == 200, '*97')
        t.require(log_has(pbx, 'voicemail 1004: no PIN yet'),
                  'no first PIN asked')
        keys = Keys(p4)
        keys.press('2468#')
        keys.press('2468#')
        t.check(log_has(pbx, 'voicemail 1004: PIN changed by phone'),
                'the PIN was not set')
        t.check(log_has(pbx, 'voicemail 1004: the owner is in'),
                'not let in after setting the PIN')
        p4.hangup()

        t.require(p1.register().status == 200, 'REGISTER 1001')
        login(t, pbx, p1, '*98', '2468', '1004')
        p1.hangup()

        db = sqlite3.connect(os.path.join(pbx.datadir, 'switchboard.db'))
        rows = db.execute('SELECT mailbox, salt, hash FROM vm_pins').fetchall()
        db.close()
        log('  vm_pins: %r' % [(r[0], r[2][:12] + '...') for r in rows])
        t.check(len(rows) == 1 and rows[0][0] == '1004' and
                len(rows[0][2]) == 64 and '2468' not in rows[0][2],
                'vm_pins: %r' % rows)
    finally:
        p4.close()
        p1.close()


def inband_keys(t, pbx, maildir):
    """A phone without telephone-event keys its PIN and a menu key as
    tones: spandsp's receiver on the decoded audio finds them."""
    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER 1001')
        mark = len(harness._read(pbx.logfile))
        r = p.call('*97')                      # PCMU only, no events
        t.require(r is not None and r.status == 200, '*97: %s'
                  % (r and r.start))
        inband(p, '1111#')
        t.check(wait_until(lambda: 'voicemail 1001: the owner is in' in
                           harness._read(pbx.logfile)[mark:], 10, 0.05),
                'in-band PIN not taken')
        inband(p, '#')                         # the main menu: hang up
        t.check(p.await_bye(15) is not None, 'in-band # did not end the '
                'call')
    finally:
        p.close()


def mail_after_reload(t, pbx, maildir):
    """An email attribute added by a reload: 1003's next message is
    mailed there."""
    for u in pbx.users:
        if u['id'] == '1003':
            u['email'] = 'carol@example.com'
    pbx.write_config()
    rc, out = pbx.ctl('reload')
    t.require(rc == 0, 'ctl reload: %s' % out)
    before = set(os.listdir(maildir))
    p = Phone(pbx, '1001', PW['1001'])
    try:
        t.require(p.register().status == 200, 'REGISTER 1001')
        deposit(t, pbx, p, 1250, 1.5, box='1003')
    finally:
        p.close()
    new = wait_until(lambda: [f for f in os.listdir(maildir)
                              if f.endswith('.eml') and f not in before],
                     10, 0.1)
    t.require(new, 'no e-mail for 1003 after the reload')
    with open(os.path.join(maildir, new[0]), 'rb') as f:
        m = email.message_from_bytes(f.read())
    log('  after the reload: %s to %s' % (m['Subject'], m['To']))
    t.check(m['To'] == 'carol@example.com' and
            m['X-Switchboard-Mailbox'] == '1003', 'To %r, mailbox %r'
            % (m['To'], m['X-Switchboard-Mailbox']))


def body(start, t):
    maildir = tempfile.mkdtemp(prefix='sb-mail-')
    mailer = os.path.join(maildir, 'mailer.sh')
    with open(mailer, 'w') as f:
        f.write(MAILER)
    pbx = start('vmbox', USERS, extra_xml=DIALPLAN,
                settings_xml='<voicemail mail-command="sh %s" '
                'mail-retry="1s"/>' % mailer)
    make_prompts(t, pbx)
    # short greetings of the mailboxes' own (the spoken default takes
    # 10 s; test_voicemail hears it): deposits go quicker
    for box in ('1002', '1003'):
        write_greeting(pbx, box, 'greeting-unavailable', 2400)
    t.run(retrieve, pbx, maildir)
    t.run(save_callback, pbx, maildir)
    t.run(greeting, pbx, maildir)
    t.run(wrong_pin, pbx, maildir)
    t.run(lockout, pbx, maildir)
    t.run(first_pin, pbx, maildir)
    t.run(inband_keys, pbx, maildir)
    t.run(mail_after_reload, pbx, maildir)
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_vmbox', body)

#!/usr/bin/env python3
"""Calls through the B2BUA with real peers: sipp phones register, one
calls another through the dialplan, and the CDR tells what happened.

- 1001 calls 1002 who answers: 407 then 180 and 200 reach the caller,
  the BYE reaches the callee, the CDR row says answered by user/1002.
- 1003 is busy (486): the dialplan goes on to its next action (bridge
  user/1004, who answers).
- the caller cancels while it rings: the callee gets CANCEL, the caller
  487, the CDR says ORIGINATOR_CANCEL by the caller.
- a number nobody has: refused (no route), CDR cause NO_ROUTE_DESTINATION.
- the callee hangs up: its BYE ends the call, the caller gets a BYE, the
  CDR says NORMAL_CLEARING by the callee.
- nobody answers within the bridge timeout (call_timeout=2 for 1009): the
  callee gets CANCEL, the caller 480, the CDR says NO_ANSWER.
- hold and resume: re-INVITEs with a=sendonly then a=sendrecv are
  answered recvonly then sendrecv from the PBX's address and passed on to
  the callee with the PBX's address.
- an INVITE sent twice at once (a retransmission) makes one call.
- a second daemon with <media rtp-timeout="2s"/>: an answered call
  without RTP ends by itself, CDR cause MEDIA_TIMEOUT.
"""

import csv
import io
import os
import re
import subprocess
import time

import harness
from harness import run_sipp, free_port, log

# 1008-1012: one callee each for the cases below, so that no binding left
# by an earlier case can ring
PW = {u: 'secret' + u for u in ('1001', '1002', '1003', '1004', '1005',
                                 '1013',
                                 '1006', '1007', '1008', '1009', '1010',
                                 '1011', '1012')}
USERS = [{'id': u, 'password': p} for u, p in PW.items()]

DIRECTORY_EXTRA = '''  <directory>
    <group id="sales" members="1006 1007" strategy="simultaneous"/>
  </directory>
'''

DIALPLAN = '''  <dialplan>
    <context name="default">
      <extension name="busy-goes-on">
        <condition field="destination_number" expression="^1003$">
          <action application="bridge" data="user/1003"/>
          <action application="bridge" data="user/1004"/>
        </condition>
      </extension>
      <extension name="transfer">
        <condition field="destination_number" expression="^8000$">
          <action application="set" data="target=1013"/>
          <action application="log" data="INFO transferring to ${target}"/>
          <action application="transfer" data="${target}"/>
        </condition>
      </extension>
      <extension name="sales">
        <condition field="destination_number" expression="^2000$">
          <action application="bridge" data="group/sales"/>
        </condition>
      </extension>
      <extension name="short-timeout">
        <condition field="destination_number" expression="^1009$">
          <action application="set" data="call_timeout=2"/>
          <action application="bridge" data="user/1009"/>
        </condition>
      </extension>
      <extension name="internal">
        <condition field="destination_number" expression="^(10\\d\\d)$">
          <action application="set" data="call_timeout=10"/>
          <action application="bridge" data="user/$1"/>
        </condition>
      </extension>
      <extension name="nothing">
        <condition>
          <action application="hangup" data="NO_ROUTE_DESTINATION"/>
        </condition>
      </extension>
    </context>
  </dialplan>
'''


def register(t, pbx, user, port, local_ip='127.0.0.1'):
    r = run_sipp(pbx, 'reg_auth.xml', user=user, password=PW[user],
                 port=port, keys={'expires': 600}, local_ip=local_ip)
    t.require(r.rc == 0, 'registering %s: sipp exit %d' % (user, r.rc))


def callee_dir(pbx, scenario, port):
    return pbx.path('callee-%s-%d' % (scenario, port))


def callee(pbx, scenario, port, seconds=20, local_ip='127.0.0.1'):
    """A sipp phone on port answering one call as scenario says."""
    outdir = callee_dir(pbx, scenario, port)
    os.makedirs(outdir, exist_ok=True)
    cmd = ['sipp', '-sf', os.path.join(harness.SCENARIOS, scenario),
           '-i', local_ip, '-p', str(port), '-m', '1', '-nostdin',
           '-timeout', '%ds' % seconds, '-timeout_error', '-trace_err',
           '-trace_msg', '-error_file', os.path.join(outdir, 'errors.log'),
           '-message_file', os.path.join(outdir, 'messages.log')]
    return subprocess.Popen(cmd, cwd=outdir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def finish(p, name, t):
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    t.check(rc == 0, '%s: sipp exit %d' % (name, rc))
    return rc


def call(pbx, scenario, caller, callee_id, keys=None, local_ip='127.0.0.1'):
    k = {'caller': caller}
    k.update(keys or {})
    return run_sipp(pbx, scenario, user=caller, password=PW[caller],
                    keys=k, timeout=25, local_ip=local_ip,
                    extra=['-s', callee_id, '-auth_uri',
                           '%s@%s' % (callee_id, pbx.domain)])


def cdr_rows(pbx):
    r = subprocess.run([pbx.bin, 'ctl', '-c', pbx.confdir, '-d',
                        pbx.datadir, 'cdr', '--csv', '--limit', '0'],
                       capture_output=True, text=True, timeout=10)
    return list(csv.DictReader(io.StringIO(r.stdout)))


def wait_cdr(pbx, n):
    rows = harness.wait_until(lambda: len(cdr_rows(pbx)) >= n and
                              cdr_rows(pbx), 5)
    return rows or []


def cdr_of(pbx, dest, n=1, timeout=5):
    """The CDR rows of calls to dest (newest first), once there are n of
    them (or whatever there is after timeout seconds)."""
    def rows():
        rs = [r for r in cdr_rows(pbx) if r.get('destination') == dest]
        return rs if len(rs) >= n else None
    return harness.wait_until(rows, timeout) or \
        [r for r in cdr_rows(pbx) if r.get('destination') == dest]


def received_invites(logfile):
    """Call-IDs of the INVITEs a sipp phone received, in order, one per
    INVITE (retransmissions included), from its -message_file."""
    try:
        with open(logfile, encoding='utf-8', errors='replace') as f:
            text = f.read()
    except OSError:
        return []
    out = []
    for block in re.split(r'(?m)^-{20,}.*$', text):
        head = block.lstrip()
        if not re.match(r'\S+ message received', head):
            continue
        msg = head.split('\n', 1)[-1].lstrip()
        if not msg.startswith('INVITE '):
            continue
        m = re.search(r'(?im)^(?:call-id|i)\s*:\s*(\S+)', msg)
        out.append(m.group(1) if m else '?')
    return out


def answered(t, pbx):
    port = free_port()
    register(t, pbx, '1002', port)
    p = callee(pbx, 'uas_answer_reason.xml', port)
    time.sleep(0.2)   # sipp binds its port; the INVITE comes later anyway
    r = call(pbx, 'call_answered.xml', '1001', '1002')
    t.check(r.rc == 0, 'caller 1001 -> 1002: sipp exit %d' % r.rc)
    finish(p, 'callee 1002', t)
    rows = wait_cdr(pbx, 1)
    t.require(rows, 'no CDR row')
    row = rows[0]
    t.check(row['caller'] == '1001' and row['destination'] == '1002' and
            row['callee'] == 'user/1002', 'CDR row: %r' % row)
    t.check(row['cause_name'] == 'NORMAL_CLEARING' and
            row['hangup_side'] == 'caller', 'CDR cause/side: %r' % row)
    t.check(int(row['billsec_ms']) >= 800,
            'billable time %s ms for a 1 s call' % row['billsec_ms'])


def busy_goes_on(t, pbx):
    p3, p4 = free_port(), free_port()
    register(t, pbx, '1003', p3)
    register(t, pbx, '1004', p4)
    busy = callee(pbx, 'uas_busy.xml', p3)
    ans = callee(pbx, 'uas_answer.xml', p4)
    time.sleep(0.2)
    r = call(pbx, 'call_answered.xml', '1001', '1003')
    t.check(r.rc == 0, 'caller 1001 -> 1003 (busy, then 1004): exit %d'
            % r.rc)
    finish(busy, 'callee 1003 (busy)', t)
    finish(ans, 'callee 1004', t)
    rows = wait_cdr(pbx, 2)
    row = rows[0] if rows else {}
    t.check(row.get('callee') == 'user/1004' and
            '486' in row.get('legs', ''), 'CDR after busy: %r' % row)


def cancelled(t, pbx):
    port = free_port()
    register(t, pbx, '1002', port)
    p = callee(pbx, 'uas_cancel.xml', port)
    time.sleep(0.2)
    r = call(pbx, 'call_cancel.xml', '1001', '1002')
    t.check(r.rc == 0, 'caller cancels: exit %d' % r.rc)
    finish(p, 'callee 1002 (cancelled)', t)
    rows = wait_cdr(pbx, 3)
    row = rows[0] if rows else {}
    t.check(row.get('cause_name') == 'ORIGINATOR_CANCEL' and
            row.get('hangup_side') == 'caller' and
            row.get('billsec_ms') == '0', 'CDR after cancel: %r' % row)


def no_route(t, pbx):
    r = call(pbx, 'call_refused.xml', '1001', '555',
             )
    t.check(r.rc == 0, 'call to 555: exit %d (want 404)' % r.rc)
    rows = wait_cdr(pbx, 4)
    row = rows[0] if rows else {}
    t.check(row.get('cause_name') == 'NO_ROUTE_DESTINATION',
            'CDR of the unroutable call: %r' % row)


def two_contacts(t, pbx):
    """A user with two registered phones: both ring, the first to answer
    gets the call, the other one gets CANCEL."""
    pa, pb = free_port(), free_port()
    register(t, pbx, '1005', pa)
    register(t, pbx, '1005', pb)
    t.check(len(pbx.registrations('1005')) == 2, 'two bindings of 1005')
    ans = callee(pbx, 'uas_answer.xml', pa)
    cancelled = callee(pbx, 'uas_cancel.xml', pb)
    time.sleep(0.2)
    r = call(pbx, 'call_answered.xml', '1001', '1005')
    t.check(r.rc == 0, 'caller 1001 -> 1005 (two phones): exit %d' % r.rc)
    finish(ans, 'the phone of 1005 that answers', t)
    finish(cancelled, 'the phone of 1005 that gets CANCEL', t)
    rows = wait_cdr(pbx, 5)
    row = rows[0] if rows else {}
    t.check(row.get('callee') == 'user/1005' and
            'cancelled (answered elsewhere)' in row.get('legs', ''),
            'CDR of the forked call: %r' % row)


def group(t, pbx):
    """group/sales rings 1006 (busy) and 1007 together; 1007 answers."""
    p6, p7 = free_port(), free_port()
    register(t, pbx, '1006', p6)
    register(t, pbx, '1007', p7)
    busy = callee(pbx, 'uas_busy.xml', p6)
    ans = callee(pbx, 'uas_answer.xml', p7)
    time.sleep(0.2)
    r = call(pbx, 'call_answered.xml', '1001', '2000')
    t.check(r.rc == 0, 'caller 1001 -> 2000 (group sales): exit %d' % r.rc)
    finish(busy, 'group member 1006 (busy)', t)
    finish(ans, 'group member 1007', t)
    rows = wait_cdr(pbx, 6)
    row = rows[0] if rows else {}
    t.check(row.get('callee') == 'user/1007' and
            row.get('destination') == '2000', 'CDR of the group call: %r'
            % row)


def callee_hangs_up(t, pbx):
    """1008 answers and hangs up after about 1 s: its BYE is answered by
    the PBX, which sends one to the caller (who answers 200)."""
    port = free_port()
    register(t, pbx, '1008', port)
    p = callee(pbx, 'uas_answer_bye.xml', port)
    time.sleep(0.2)
    r = call(pbx, 'call_wait_bye.xml', '1001', '1008')
    t.check(r.rc == 0, 'caller 1001 -> 1008, BYE from the PBX: exit %d'
            % r.rc)
    finish(p, 'callee 1008 (sends BYE)', t)
    rows = cdr_of(pbx, '1008')
    t.require(rows, 'no CDR row for the call to 1008')
    row = rows[0]
    t.check(row['callee'] == 'user/1008' and
            row['cause_name'] == 'NORMAL_CLEARING' and
            row['hangup_side'] == 'callee',
            'CDR after the callee hung up: want NORMAL_CLEARING by the '
            'callee, got %r' % row)
    t.check(int(row['billsec_ms'] or 0) > 0,
            'billable time %r ms for an answered call' % row['billsec_ms'])


def no_answer(t, pbx):
    """1009 only rings; the dialplan's call_timeout=2 gives up: CANCEL to
    the callee, 480 to the caller, NO_ANSWER in the CDR."""
    port = free_port()
    register(t, pbx, '1009', port)
    p = callee(pbx, 'uas_cancel.xml', port)
    time.sleep(0.2)
    t0 = time.monotonic()
    r = call(pbx, 'call_no_answer.xml', '1001', '1009')
    took = time.monotonic() - t0
    t.check(r.rc == 0, 'caller 1001 -> 1009 (no answer): exit %d (want '
            '180 then 480)' % r.rc)
    t.check(took < 8, 'the 480 came after %.1f s (call_timeout=2)' % took)
    finish(p, 'callee 1009 (rings, gets CANCEL)', t)
    rows = cdr_of(pbx, '1009')
    t.require(rows, 'no CDR row for the call to 1009')
    row = rows[0]
    t.check(row['cause_name'] == 'NO_ANSWER' and
            row['sip_code'] == '480' and row['billsec_ms'] == '0',
            'CDR of the unanswered call: want NO_ANSWER/480, got %r' % row)
    t.check('timeout' in row.get('legs', ''),
            'CDR legs do not mention the timeout: %r' % row.get('legs'))


def hold_resume(t, pbx):
    """Hold (a=sendonly) and resume (a=sendrecv) by the caller, checked
    in the scenarios: the answers come from the PBX's address with the
    right direction, and the callee is asked the same from the PBX's
    address. The PBX is 127.0.0.1, the callee 127.0.0.2, the caller
    127.0.0.3, so an address passed through unchanged shows."""
    port = free_port('127.0.0.2')
    register(t, pbx, '1010', port, local_ip='127.0.0.2')
    p = callee(pbx, 'uas_hold.xml', port, local_ip='127.0.0.2')
    time.sleep(0.2)
    r = call(pbx, 'call_hold.xml', '1001', '1010', local_ip='127.0.0.3')
    t.check(r.rc == 0, 'caller 1001 -> 1010, hold and resume: exit %d'
            % r.rc)
    finish(p, 'callee 1010 (re-INVITEs passed on)', t)
    rows = cdr_of(pbx, '1010')
    t.require(rows, 'no CDR row for the call to 1010')
    row = rows[0]
    t.check(row['callee'] == 'user/1010' and
            row['cause_name'] == 'NORMAL_CLEARING' and
            row['hangup_side'] == 'caller',
            'CDR of the held and resumed call: %r' % row)


def fetch_nonce(pbx, caller, dest):
    """A fresh digest challenge for INVITEs: an INVITE without
    credentials, its 407, the ACK. Returns the challenge params."""
    ruri = 'sip:%s@%s' % (dest, pbx.domain)
    frm = '<sip:%s@%s>' % (caller, pbx.domain)
    with harness.SipClient(pbx) as c:
        branch = 'z9hG4bK' + harness.rand_token(12)
        inv = c.build('INVITE', ruri, ['Contact: <sip:%s@%s:%d>'
                                       % (caller, c.local[0], c.local[1])],
                      to='<%s>' % ruri, frm=frm, branch=branch)
        r = c.transact(inv, timeout=4)
        if r is None or r.status != 407:
            return None
        c.send_raw(c.build('ACK', ruri, to=r.get('to'), frm=frm,
                           cseq=c.cseq, branch=branch))
        _, chal = harness.parse_challenge(r.get('proxy-authenticate') or '')
        return chal


def retransmitted_invite(t, pbx):
    """The authenticated INVITE twice, byte for byte, at once: one call
    reaches 1011 and one CDR row is written."""
    port = free_port()
    register(t, pbx, '1011', port)
    chal = fetch_nonce(pbx, '1001', '1011')
    t.require(chal and chal.get('nonce'), 'no 407 challenge for an '
              'INVITE without credentials: %r' % chal)
    auth = harness.authorization(chal, '1001', PW['1001'], 'INVITE',
                                 'sip:1011@%s' % pbx.domain, nc=1,
                                 cnonce=harness.rand_token(16))
    # rings after 300 ms: both copies reach the PBX while it routes the
    # call (before the caller's session exists, so the PBX itself must
    # recognise the copy, not the SIP stack's transaction layer)
    p = callee(pbx, 'uas_answer_late.xml', port)
    time.sleep(0.2)
    r = call(pbx, 'call_retrans.xml', '1001', '1011', keys={'auth': auth})
    t.check(r.rc == 0, 'caller 1001 -> 1011, INVITE sent twice: exit %d'
            % r.rc)
    finish(p, 'callee 1011', t)
    invites = received_invites(os.path.join(
        callee_dir(pbx, 'uas_answer_late.xml', port), 'messages.log'))
    t.check(len(set(invites)) == 1,
            'callee 1011 got INVITEs of %d calls (want 1): %r'
            % (len(set(invites)), invites))
    rows = cdr_of(pbx, '1011')
    t.check(len(rows) == 1, '%d CDR rows for the call to 1011 (want 1): '
            '%r' % (len(rows), rows))
    if rows:
        t.check(rows[0]['callee'] == 'user/1011' and
                rows[0]['cause_name'] == 'NORMAL_CLEARING' and
                rows[0]['hangup_side'] == 'caller',
                'CDR of the call to 1011: %r' % rows[0])
    rc, out = pbx.ctl('calls')
    t.check(rc == 0 and '-> 1011' not in out,
            'a call to 1011 is still up after both hung up: %r' % out)


def media_timeout(t, start):
    """A daemon with <media rtp-timeout="2s"/>: a call answered where
    neither side sends RTP is ended by the PBX (BYE to both), cause
    MEDIA_TIMEOUT."""
    pbx = start('calls-rtp', USERS, extra_xml=DIALPLAN,
                settings_xml='<media rtp-timeout="2s"/>')
    port = free_port()
    register(t, pbx, '1012', port)
    p = callee(pbx, 'uas_answer.xml', port)
    time.sleep(0.2)
    t0 = time.monotonic()
    r = call(pbx, 'call_wait_bye.xml', '1001', '1012')
    took = time.monotonic() - t0
    t.check(r.rc == 0, 'caller 1001 -> 1012, BYE on RTP inactivity: exit '
            '%d' % r.rc)
    finish(p, 'callee 1012 (BYE on RTP inactivity)', t)
    t.check(took < 10, 'the call without RTP lasted %.1f s (rtp-timeout 2s)'
            % took)
    rows = cdr_of(pbx, '1012')
    t.require(rows, 'no CDR row for the call to 1012')
    row = rows[0]
    t.check(row['cause_name'] == 'MEDIA_TIMEOUT',
            'CDR of the call without RTP: want MEDIA_TIMEOUT, got %r' % row)
    bill = int(row['billsec_ms'] or 0)
    t.check(1500 <= bill <= 6000,
            'billable time %d ms for a call cut after 2 s without RTP'
            % bill)
    t.check(pbx.alive(), 'the rtp-timeout daemon died')


def transfer(t, pbx):
    """8000: set a variable, transfer to it; the call is routed again as
    if 1013 had been dialled and reaches 1013's phone."""
    port = free_port()
    register(t, pbx, '1013', port)
    p = callee(pbx, 'uas_answer.xml', port)
    time.sleep(0.2)
    r = call(pbx, 'call_answered.xml', '1001', '8000')
    t.check(r.rc == 0, 'caller 1001 -> 8000 (transfer to 1013): exit %d'
            % r.rc)
    finish(p, 'callee 1013 (after the transfer)', t)
    rows = cdr_rows(pbx)
    row = next((x for x in rows if x.get('callee') == 'user/1013'), {})
    t.check(row.get('destination') == '1013',
            'CDR of the transferred call: %r' % row)
    r2 = subprocess.run([pbx.bin, 'ctl', '-c', pbx.confdir, '-d',
                         pbx.datadir, 'cdr', '--trace', row.get('call_id',
                                                                 '-')],
                        capture_output=True, text=True, timeout=10)
    t.check('transfer to 1013' in r2.stdout and
            'extension "transfer"' in r2.stdout,
            'the decision trace does not show the transfer:\n%s'
            % r2.stdout)


def body(start, t):
    pbx = start('calls', USERS, extra_xml=DIRECTORY_EXTRA + DIALPLAN)
    t.run(answered, pbx)
    t.run(busy_goes_on, pbx)
    t.run(cancelled, pbx)
    t.run(no_route, pbx)
    t.run(two_contacts, pbx)
    t.run(group, pbx)
    t.run(callee_hangs_up, pbx)
    t.run(no_answer, pbx)
    t.run(hold_resume, pbx)
    t.run(retransmitted_invite, pbx)
    t.run(transfer, pbx)
    t.run(media_timeout, start)
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_calls', body)

"""Overload: new calls beyond what the PBX can or may take get 503.

- <limits max-calls="1">: while one call is in progress a second caller,
  once authenticated, gets 503 with Retry-After; when the first call has
  ended a new one is taken again. ctl status counts the refusal.
- <limits calls-per-second="2">: five calls within a second, at least one
  is refused with 503 and at most four are taken.
- The signalling queue: the daemon is stopped (SIGSTOP) while INVITEs pile
  up in its UDP receive queue; when it runs again it answers every one of
  them, those behind a full queue with 503 at once (no digest work), the
  rest with the normal 407. No INVITE goes unanswered, none times out.
"""

import os
import signal
import socket
import time

import harness
from harness import SipClient, authorization, pick_challenge, rand_token

PW = {'1001': 'secret1001', '1002': 'secret1002', '1003': 'secret1003'}
USERS = [{'id': u, 'password': p} for u, p in PW.items()]

# 7000 keeps a call in progress for a while without any callee
DIALPLAN = '''  <dialplan>
    <context name="default">
      <extension name="waiting">
        <condition field="destination_number" expression="^7000$">
          <action application="sleep" data="3000"/>
          <action application="hangup" data="NORMAL_CLEARING"/>
        </condition>
      </extension>
    </context>
  </dialplan>
'''

SDP = (b'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n'
       b't=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n')


def invite(c, user, number, auth=None, cseq=1):
    ruri = 'sip:%s@%s' % (number, c.pbx.domain)
    hs = ['Contact: <sip:%s@%s:%d>' % (user, c.local[0], c.local[1]),
          'Content-Type: application/sdp']
    if auth:
        hs.append('Proxy-Authorization: %s' % auth)
    return c.build('INVITE', ruri, hs, SDP, cseq=cseq,
                   frm='<sip:%s@%s>' % (user, c.pbx.domain),
                   to='<sip:%s@%s>' % (number, c.pbx.domain))


def ack(c, resp, number):
    """ACK for a non-2xx final answer (same branch as the INVITE)."""
    via = resp.get('Via')
    branch = via.split('branch=')[1].split(';')[0]
    return c.build('ACK', 'sip:%s@%s' % (number, c.pbx.domain),
                   cseq=int(resp.get('CSeq').split()[0]), branch=branch,
                   frm='<sip:x@%s>' % c.pbx.domain,
                   to=resp.get('To'))


def authed_call(c, user, number, wait=2.0):
    """INVITE, answer the 407; returns the answer to the second INVITE
    (a final one, or the last provisional one after wait seconds)."""
    r = c.transact(invite(c, user, number), timeout=4)
    if r is None or r.status != 407:
        return r
    c.send_raw(ack(c, r, number))
    chal = pick_challenge(r)
    a = authorization(chal, user, PW[user], 'INVITE',
                      'sip:%s@%s' % (number, c.pbx.domain))
    return c.transact(invite(c, user, number, auth=a, cseq=2),
                      timeout=wait)


def status(pbx):
    return pbx.ctl_json('status')


def max_calls(t, start):
    pbx = start('overload-max', USERS, extra_xml=DIALPLAN,
                settings_xml='<limits max-calls="1"/>')
    with SipClient(pbx) as c1, SipClient(pbx) as c2, SipClient(pbx) as c3:
        r = authed_call(c1, '1001', '7000')
        t.require(r is not None and r.status == 100,
                  'the first call is not in progress: %s' % r)
        t.require(status(pbx)['calls_active'] == 1, 'one call in progress')

        # the challenge is not refused: limits apply to authenticated calls
        r = c2.transact(invite(c2, '1002', '7000'), timeout=4)
        t.check(r is not None and r.status == 407,
                'the second caller is challenged first: %s' % r)
        c2.callid = rand_token(16) + '@127.0.0.1'
        r = authed_call(c2, '1002', '7000')
        t.check(r is not None and r.status == 503,
                'the second call gets 503: %s' % r)
        if r is not None and r.status == 503:
            t.check(r.get('Retry-After') == '2',
                    'Retry-After: %r' % r.get('Retry-After'))
            c2.send_raw(ack(c2, r, '7000'))
        st = status(pbx)
        t.check(st['calls_refused_limits'] == 1 and
                st['calls_refused_overload'] == 0,
                'ctl status counts the refusal: %s' % st)

        # the first call ends (sleep 3 s, hangup): a new one is taken
        t.require(harness.wait_until(
            lambda: status(pbx)['calls_active'] == 0, 8),
            'the first call did not end')
        # its two media port pairs are kept for the next calls
        st = status(pbx)
        t.check(st['media_workers'] >= 1, 'media workers: %s' % st)
        t.check(harness.wait_until(
            lambda: status(pbx)['media_parked'] == 2, 5),
            'the ended call\'s two port pairs are not parked: %s'
            % status(pbx))
        r = authed_call(c3, '1003', '7000')
        t.check(r is not None and r.status == 100,
                'a call after the first one ended is taken: %s' % r)
    t.check(pbx.alive(), 'daemon died')


def calls_per_second(t, start):
    pbx = start('overload-cps', USERS, extra_xml=DIALPLAN,
                settings_xml='<limits calls-per-second="2"/>')
    codes = []
    t0 = time.monotonic()
    clients = [SipClient(pbx) for _ in range(5)]
    try:
        for i, c in enumerate(clients):
            r = authed_call(c, '1001', '7000', wait=0.1)
            codes.append(r.status if r else None)
            if r is not None and r.status >= 300:
                c.send_raw(ack(c, r, '7000'))
    finally:
        for c in clients:
            c.close()
    took = time.monotonic() - t0
    harness.log('5 calls in %.2f s: %s' % (took, codes))
    t.require(took < 1.0, 'the five calls took %.2f s, not within one '
              'second' % took)
    # five calls within one second touch at most two calendar seconds
    t.check(codes.count(503) >= 1 and codes.count(100) <= 4 and
            codes.count(100) + codes.count(503) == 5,
            'calls-per-second=2: %s' % codes)
    t.check(status(pbx)['calls_refused_limits'] == codes.count(503),
            'ctl status counts the refusals')


def rx_queue(port):
    """Bytes waiting in the receive queue of 127.0.0.1:port (UDP)."""
    with open('/proc/net/udp') as f:
        for line in f.readlines()[1:]:
            p = line.split()
            ip, lport = p[1].split(':')
            if int(lport, 16) == port and ip == '0100007F':
                return int(p[4].split(':')[1], 16)
    return 0


def rcvbuf():
    """What the daemon's 4 MiB SO_RCVBUF request becomes (doubled and
    capped by net.core.rmem_max)."""
    with open('/proc/sys/net/core/rmem_max') as f:
        return 2 * min(4 << 20, int(f.read()))


def backlog(t, start):
    pbx = start('overload-backlog', USERS, extra_xml=DIALPLAN)
    with SipClient(pbx) as c:
        # room for every answer
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        r = c.request('OPTIONS', 'sip:%s' % pbx.domain)
        t.require(r is not None and r.status == 200, 'OPTIONS')

        # 75 % of the buffer waits when the daemon runs again: the first
        # INVITEs it reads see a queue over the 50 % mark behind them
        goal = rcvbuf() * 75 // 100
        sent = {}
        os.kill(pbx.proc.pid, signal.SIGSTOP)
        try:
            while rx_queue(pbx.port) < goal and len(sent) < 20000:
                for _ in range(20):
                    c.callid = 'flood-%d-%s' % (len(sent), rand_token(6))
                    c.send_raw(invite(c, '1001', '7000'))
                    sent[c.callid] = None
            queued = rx_queue(pbx.port)
        finally:
            os.kill(pbx.proc.pid, signal.SIGCONT)
        harness.log('%d INVITEs queued (%d bytes, buffer %d)'
                    % (len(sent), queued, rcvbuf()))

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and None in sent.values():
            r = c.recv(0.5)
            if r is None or r.status is None or r.status < 200:
                continue
            cid = r.get('Call-ID')
            if cid in sent and sent[cid] is None:
                sent[cid] = r
    codes = [r.status if r else None for r in sent.values()]
    n503 = codes.count(503)
    n407 = codes.count(407)
    harness.log('answers: %d x 503, %d x 407, %d none'
                % (n503, n407, codes.count(None)))
    t.check(codes.count(None) == 0, '%d INVITEs got no answer'
            % codes.count(None))
    t.check(n503 > 0, 'no INVITE was refused with 503')
    t.check(n407 > 0, 'the tail of the queue was not taken again (407)')
    t.check(n503 + n407 == len(sent), 'other answers: %s'
            % sorted(set(codes) - {407, 503}))
    t.check(all(r.get('Retry-After') for r in sent.values()
                if r is not None and r.status == 503),
            '503 without Retry-After')
    # the 503s come first: shedding stops once the queue has drained
    order = [sent[k].status if sent[k] else None for k in sent]
    first407 = order.index(407) if 407 in order else len(order)
    t.check(503 not in order[first407:], 'a 503 after the queue drained')
    t.check(status(pbx)['calls_refused_overload'] == n503,
            'ctl status counts the 503s')
    t.check(pbx.alive(), 'daemon died')


def body(start, t):
    t.run(max_calls, start)
    t.run(calls_per_second, start)
    t.run(backlog, start)


if __name__ == '__main__':
    harness.main('test_overload', body)

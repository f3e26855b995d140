#!/usr/bin/env python3
"""Bindings survive kill -9: after a restart on the same data dir, ctl
lists them with their remaining expiry (not reset to the full interval),
and refreshes work.
"""

import time

import harness
from harness import SipClient, wait_until

USERS = [{'id': '1001', 'password': 'secret1001'},
         {'id': '1002', 'password': 'secret1002'}]
AUTH = {'max-failures': 100}
EXPIRES = 600


def by_user(regs):
    out = {}
    for r in regs:
        out.setdefault(str(r.get('user')), []).append(r)
    return out


def restart(t, pbx):
    udp = SipClient(pbx, transport='udp')
    tcp = SipClient(pbx, transport='tcp')
    try:
        _, f = udp.register('1001', 'secret1001', expires=EXPIRES)
        t.require(f is not None and f.status == 200,
                  '1001 over UDP: %s' % (f and f.status))
        _, f = tcp.register('1002', 'secret1002', expires=EXPIRES)
        t.require(f is not None and f.status == 200,
                  '1002 over TCP: %s' % (f and f.status))
        tcp_contact = tcp.contact('1002')

        # Wait (bounded) until the remaining expiry has visibly gone down,
        # so that a reset to the full interval cannot pass for "kept".
        def counted_down():
            regs = pbx.registrations()
            return regs if regs and all(
                r.get('expires_in', EXPIRES) <= EXPIRES - 2 for r in regs) \
                else None
        before = wait_until(counted_down, 6, 0.25)
        t.require(before, 'expires_in did not count down: %r'
                  % pbx.registrations())
        t_before = time.monotonic()
        b = by_user(before)
        t.require(len(b.get('1001', [])) == 1 and
                  len(b.get('1002', [])) == 1, 'before: %r' % before)

        t.check(pbx.kill9() == -9, 'daemon was not killed by SIGKILL')
        tcp.close()
        pbx.restart()

        after = pbx.registrations()
        elapsed = time.monotonic() - t_before
        a = by_user(after)
        for user, tp in (('1001', 'udp'), ('1002', 'tcp')):
            if not t.check(len(a.get(user, [])) == 1,
                           '%s after restart: %r' % (user, after)):
                continue
            x, y = b[user][0], a[user][0]
            for k in ('contact', 'source', 'user_agent'):
                t.check(x.get(k) == y.get(k), '%s %s: %r before, %r after'
                        % (user, k, x.get(k), y.get(k)))
            t.check(str(y.get('transport')).lower() == tp,
                    '%s transport %r, want %s' % (user, y.get('transport'),
                                                  tp))
            e0, e1 = x.get('expires_in'), y.get('expires_in')
            t.check(isinstance(e1, int) and
                    e0 - elapsed - 2 <= e1 <= e0,
                    '%s expires_in %r after restart, %r before (%.1f s '
                    'between): want the remaining time, not a reset'
                    % (user, e1, e0, elapsed))

        # refreshes: UDP from the same socket and dialog; TCP from a new
        # connection with the same Contact
        _, f = udp.register('1001', 'secret1001', expires=EXPIRES)
        t.check(f is not None and f.status == 200,
                'refresh of 1001 over UDP: %s' % (f and f.status))
        with SipClient(pbx, transport='tcp') as tcp2:
            tcp2.callid, tcp2.cseq, tcp2.from_tag = \
                tcp.callid, tcp.cseq, tcp.from_tag
            _, f = tcp2.register('1002', 'secret1002',
                                 contacts=[tcp_contact], expires=EXPIRES)
            t.check(f is not None and f.status == 200,
                    'refresh of 1002 over a new TCP connection: %s'
                    % (f and f.status))
        a = by_user(pbx.registrations())
        for user in ('1001', '1002'):
            regs = a.get(user, [])
            t.check(len(regs) == 1 and
                    regs[0].get('expires_in', 0) >= EXPIRES - 5,
                    '%s after refresh: %r' % (user, regs))
    finally:
        udp.close()
        tcp.close()


def body(start, t):
    pbx = start('restart', USERS, auth=AUTH)
    t.run(restart, pbx)
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_restart', body)

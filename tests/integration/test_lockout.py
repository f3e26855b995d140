#!/usr/bin/env python3
"""Lock-out of a source IP after repeated authentication failures.

max-failures=5 within failure-window=60 s locks the source for
lockout=300 s: it gets 403, whatever the user and password, except a user
that already holds a live registration from that same address. Other
sources are not affected.
"""

import harness
from harness import SipClient, run_sipp

USERS = [{'id': '1001', 'password': 'secret1001'},
         {'id': '1002', 'password': 'secret1002'},
         {'id': '1003', 'password': 'secret1003'},
         {'id': '1004', 'password': 'secret1004'}]
AUTH = {'max-failures': 5, 'failure-window': 60, 'lockout': 300}

ATTACKER = '127.0.0.2'
OTHER = '127.0.0.3'


def lockout(t, pbx):
    # 1003 registers from the attacker's address before the lock
    with SipClient(pbx, local_ip=ATTACKER) as phone:
        _, f = phone.register('1003', 'secret1003', expires=600)
        t.require(f is not None and f.status == 200,
                  '1003 from %s before the lock: %s'
                  % (ATTACKER, f and f.status))

        # four wrong passwords from the attacker: each one is challenged
        # again with 401 (still below the limit)
        r = run_sipp(pbx, 'reg_wrong.xml', user='1001', password='wrong',
                     local_ip=ATTACKER, calls=4, timeout=20)
        t.require(r.rc == 0, 'sipp: 4 wrong passwords from %s: exit %d '
                  '(each second answer must be 401)' % (ATTACKER, r.rc))
        # the fifth reaches max-failures: 401 or already 403, never 200
        with SipClient(pbx, local_ip=ATTACKER) as c:
            _, f = c.register('1001', 'wrong')
            t.require(f is not None and f.status in (401, 403),
                      'fifth wrong password: %s, want 401 or 403'
                      % (f and f.status))
            harness.log('INFO the fifth failure is answered %d' % f.status)

        # now even the right password of another user is refused
        r = run_sipp(pbx, 'reg_locked.xml', user='1002',
                     password='secret1002', local_ip=ATTACKER)
        t.check(r.rc == 0, 'sipp: right password of 1002 from locked %s: '
                'exit %d (want 403)' % (ATTACKER, r.rc))
        with SipClient(pbx, local_ip=ATTACKER) as c:
            first, f = c.register('1002', 'secret1002')
            t.check(f is not None and f.status == 403,
                    'Python client, 1002 right password from %s: %s, '
                    'want 403' % (ATTACKER, f and f.status))
            first, f = c.register('1001', 'secret1001')
            t.check(f is not None and f.status == 403,
                    'the attacked user 1001 with its right password from '
                    '%s: %s, want 403' % (ATTACKER, f and f.status))
        t.check(not pbx.registrations('1002'),
                '1002 got bound from a locked source: %r'
                % pbx.registrations('1002'))

        # another source is not affected
        r = run_sipp(pbx, 'reg_auth.xml', user='1002',
                     password='secret1002', local_ip=OTHER)
        t.check(r.rc == 0, 'sipp: 1002 from %s: exit %d (want 401, 200)'
                % (OTHER, r.rc))
        regs = pbx.registrations('1002')
        t.check(len(regs) == 1 and
                str(regs[0].get('source', '')).startswith(OTHER + ':'),
                '1002 binding from %s: %r' % (OTHER, regs))
        with SipClient(pbx, local_ip='127.0.0.1') as c:
            _, f = c.register('1004', 'secret1004')
            t.check(f is not None and f.status == 200,
                    '1004 from 127.0.0.1: %s' % (f and f.status))

        # the phone that was registered before the lock keeps refreshing
        _, f = phone.register('1003', 'secret1003', expires=600)
        t.check(f is not None and f.status == 200,
                'refresh of 1003 from %s (registered before the lock): '
                '%s, want 200' % (ATTACKER, f and f.status))
        regs = pbx.registrations('1003')
        t.check(len(regs) == 1, '1003 bindings: %r' % regs)
    t.check(pbx.options_ok(), 'no OPTIONS 200 from 127.0.0.1')


def body(start, t):
    pbx = start('lockout', USERS, auth=AUTH)
    t.run(lockout, pbx)
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    st = None
    rc, out = pbx.ctl('status', '--json')
    if rc == 0:
        st = out.strip()
    harness.log('ctl status --json: %s' % st)
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_lockout', body)

#!/usr/bin/env python3
"""Reloading the configuration of a running daemon.

A config with an error is refused, by `ctl reload` and by SIGHUP alike,
with its FILE:LINE message, and the running config stays (the old users
still register, the new one does not exist yet). A valid config takes
effect: a new user registers, its own max-contacts holds, and a user who
left the directory loses its registrations.
"""

import os
import re
import signal
import subprocess

import harness
from harness import SipClient

USERS = [{'id': '1001', 'password': 'secret1001'},
         {'id': '1002', 'password': 'secret1002'}]


def rewrite_users(pbx, extra_lines, drop=()):
    """Replace the <directory> of the running daemon's config."""
    path = os.path.join(pbx.confdir, 'switchboard.xml')
    with open(path) as f:
        xml = f.read()
    users = ['    <user id="%s" password="%s"/>' % (u['id'], u['password'])
             for u in USERS if u['id'] not in drop]
    new_dir = '  <directory>\n%s\n  </directory>' % '\n'.join(
        users + extra_lines)
    xml = re.sub(r'(?s)  <directory>.*</directory>', new_dir, xml)
    with open(path, 'w') as f:
        f.write(xml)
    # the line of the first extra user, for the expected message
    for n, line in enumerate(xml.splitlines(), 1):
        if extra_lines and extra_lines[0].strip() in line:
            return path, n
    return path, None


def ctl_all(pbx, *args):
    """switchboard ctl ARGS -> (rc, stdout + stderr): a refused reload
    prints its errors on stderr."""
    r = subprocess.run([pbx.bin, 'ctl', '-c', pbx.confdir, '-d',
                        pbx.datadir] + list(args), capture_output=True,
                       text=True, timeout=10)
    return r.returncode, r.stdout + r.stderr


def status_of(pbx, user, password):
    with SipClient(pbx) as c:
        _, f = c.register(user, password, expires=600)
        return f.status if f is not None else None


def reload_refused(t, pbx):
    path, line = rewrite_users(
        pbx, ['    <user id="1005" pasword="secret1005"/>'])
    rc, out = ctl_all(pbx, 'reload')
    want = '%s:%d: <user>: unknown attribute "pasword"' % (path, line)
    t.check(rc != 0, 'ctl reload of a broken config: exit %d, want != 0'
            % rc)
    t.check(want in out, 'ctl reload output lacks %r:\n%s' % (want, out))

    rc, out = pbx.check_config()
    t.check(rc == 1 and want in out,
            '--check: exit %d, output %r; want 1 and %r' % (rc, out, want))

    # SIGHUP with the same broken file: refused too, daemon stays up
    pbx.proc.send_signal(signal.SIGHUP)
    t.check(pbx.options_ok(), 'no OPTIONS 200 after SIGHUP')

    # the running config stays: 1001 registers, 1005 does not exist
    t.check(status_of(pbx, '1001', 'secret1001') == 200,
            '1001 after a refused reload')
    t.check(status_of(pbx, '1005', 'secret1005') == 401,
            '1005 (not loaded) must get 401')
    st = pbx.ctl_json('status', '--json')
    t.check(st and st.get('reloads') == 0,
            'reloads counted for refused configs: %r' % st)


def reload_applied(t, pbx):
    rewrite_users(pbx, ['    <user id="1005" password="secret1005" '
                        'max-contacts="1"/>'])
    rc, out = ctl_all(pbx, 'reload')
    t.check(rc == 0, 'ctl reload of a valid config: exit %d: %s' % (rc, out))

    with SipClient(pbx) as a, SipClient(pbx) as b:
        _, f = a.register('1005', 'secret1005', expires=600)
        t.check(f is not None and f.status == 200,
                '1005 after the reload: %s, want 200' % (f and f.status))
        # a second phone for 1005 goes over its own max-contacts="1"
        _, f = b.register('1005', 'secret1005', expires=600)
        t.check(f is not None and f.status == 403,
                'second contact of 1005 (max-contacts=1): %s, want 403'
                % (f and f.status))
    t.check(len(pbx.registrations('1005')) == 1,
            '1005 bindings: %r' % pbx.registrations('1005'))

    # 1002 registers, then leaves the directory: SIGHUP drops its binding
    t.check(status_of(pbx, '1002', 'secret1002') == 200, '1002 registers')
    t.check(len(pbx.registrations('1002')) == 1, '1002 is bound')
    rewrite_users(pbx, ['    <user id="1005" password="secret1005"/>'],
                  drop=('1002',))
    pbx.proc.send_signal(signal.SIGHUP)
    ok = harness.wait_until(lambda: not pbx.registrations('1002'), 5)
    t.check(ok, '1002 still bound after it left the directory: %r'
            % pbx.registrations('1002'))
    t.check(status_of(pbx, '1002', 'secret1002') == 401,
            '1002 (removed) must get 401')
    st = pbx.ctl_json('status', '--json')
    t.check(st and st.get('reloads') == 2, 'reloads: %r' % st)


def body(start, t):
    pbx = start('reload', USERS)
    t.run(reload_refused, pbx)
    t.run(reload_applied, pbx)
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_reload', body)

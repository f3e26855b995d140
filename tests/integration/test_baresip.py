#!/usr/bin/env python3
"""baresip as a real phone: registers over UDP and over TLS.

baresip runs headless (no console or audio-device modules), with its own
config dir, bounded by -t and stopped by PID. Registration is judged by
`ctl registrations --json` only.
"""

import os
import signal
import subprocess
import time

import harness
from harness import free_port, log, wait_until

USERS = [{'id': '1001', 'password': 'secret1001'},
         {'id': '1002', 'password': 'secret1002'}]
AUTH = {'max-failures': 100}
MODULE_PATH = '/usr/lib/baresip/modules'
RUN_FOR = 60         # baresip quits by itself after this many seconds


class Baresip:
    def __init__(self, pbx):
        self.pbx = pbx
        self.dir = pbx.path('baresip')
        os.makedirs(self.dir)
        self.port = free_port(also_next=True)
        self.log = pbx.path('baresip.log')
        self.proc = None
        with open(os.path.join(self.dir, 'config'), 'w') as f:
            f.write('# written by test_baresip.py: SIP only, no devices\n'
                    'poll_method\t\tepoll\n'
                    'sip_listen\t\t127.0.0.1:%d\n'
                    'sip_cafile\t\t%s\n'
                    'dns_server\t\t127.0.0.1:53\n'
                    'module_path\t\t%s\n'
                    'module\t\t\tg711.so\n'
                    'module_tmp\t\tuuid.so\n'
                    'module_tmp\t\taccount.so\n'
                    % (self.port, pbx.ca, MODULE_PATH))
        with open(os.path.join(self.dir, 'accounts'), 'w') as f:
            f.write('<sip:1001@127.0.0.1:%d>;auth_pass=secret1001;'
                    'regint=600\n' % pbx.port)
            f.write('<sip:1002@127.0.0.1:%d;transport=tls>;'
                    'auth_pass=secret1002;regint=600\n' % pbx.tls_port)

    def start(self):
        with open(self.log, 'ab') as lf:
            self.proc = subprocess.Popen(
                ['baresip', '-f', self.dir, '-s', '-t', str(RUN_FOR)],
                stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                start_new_session=True)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM (baresip unregisters on the way out), bounded wait,
        then SIGKILL. Only the process we started, by its PID."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def print_log(self):
        harness._dump(self.log, 'baresip log', limit=15000)


def registered(pbx, user, transport):
    for r in pbx.registrations(user):
        if str(r.get('transport')).lower() == transport and \
                'baresip' in str(r.get('user_agent', '')).lower():
            return r
    return None


def baresip_registers(t, pbx):
    bs = Baresip(pbx)
    bs.start()
    ok = False
    try:
        def both():
            if not bs.alive():
                return 'exited'
            u = registered(pbx, '1001', 'udp')
            s = registered(pbx, '1002', 'tls')
            return (u, s) if u and s else None
        got = wait_until(both, 15, 0.2)
        t.require(got != 'exited', 'baresip exited early (rc %s)'
                  % bs.proc.returncode)
        u = registered(pbx, '1001', 'udp')
        s = registered(pbx, '1002', 'tls')
        t.check(u is not None, '1001 not registered over UDP by baresip: %r'
                % pbx.registrations('1001'))
        t.check(s is not None, '1002 not registered over TLS by baresip: %r'
                % pbx.registrations('1002'))
        for r in (u, s):
            if r:
                t.check(str(r.get('source', '')).startswith('127.0.0.1:'),
                        'source %r' % r.get('source'))
                e = r.get('expires_in')
                t.check(isinstance(e, int) and 0 < e <= 600,
                        'expires_in %r' % e)
        if s:
            t.check('transport=tls' in str(s.get('contact')).lower(),
                    'TLS contact %r lacks transport=tls' % s.get('contact'))
        ok = u is not None and s is not None
    finally:
        t0 = time.monotonic()
        rc = bs.stop()
        log('baresip stopped (rc %s) in %.1f s' % (rc, time.monotonic() - t0))
        if not ok:
            bs.print_log()
    # baresip unregisters when it quits (Expires: 0 from a real phone)
    gone = wait_until(lambda: not registered(pbx, '1001', 'udp') and
                      not registered(pbx, '1002', 'tls'), 10, 0.2)
    t.check(gone, 'bindings left after baresip quit (its unREGISTER): %r'
            % pbx.registrations())


def body(start, t):
    pbx = start('baresip', USERS, auth=AUTH, tls=True)
    t.run(baresip_registers, pbx)
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_baresip', body)

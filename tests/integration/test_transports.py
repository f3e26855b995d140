#!/usr/bin/env python3
"""Registration over TCP (sipp) and TLS (Python client; Debian's sipp
3.6.1 is built without TLS, so `-t l1` is not available).

ctl must report the transport the REGISTER arrived on.
"""

import ssl
import subprocess

import harness
from harness import SipClient, run_sipp, log

USERS = [{'id': '1001', 'password': 'secret1001'},
         {'id': '1002', 'password': 'secret1002'},
         {'id': '1003', 'password': 'secret1003'}]
AUTH = {'max-failures': 100}


def sipp_has_tls():
    r = subprocess.run(['sipp', '-t', 'l1', '-m', '0', '-timeout', '1s',
                        '-nostdin', '127.0.0.1:9'],
                       capture_output=True, text=True, timeout=15)
    return 'compile SIPp with OpenSSL' not in r.stdout + r.stderr


def bindings_at(pbx, user, port):
    return [r for r in pbx.registrations(user)
            if '127.0.0.1:%d' % port in str(r.get('contact', ''))]


def sipp_tcp(t, pbx):
    """sipp over TCP (-t t1): 401, 200; ctl shows transport tcp and the
    connection's source address."""
    r = run_sipp(pbx, 'reg_auth.xml', transport='tcp', user='1001',
                 password='secret1001', keys={'expires': 600})
    t.require(r.rc == 0, 'sipp reg_auth over TCP exit %d' % r.rc)
    regs = bindings_at(pbx, '1001', r.port)
    t.require(len(regs) == 1, 'ctl: %r' % pbx.registrations('1001'))
    b = regs[0]
    t.check(str(b.get('transport')).lower() == 'tcp',
            'transport %r, want tcp' % b.get('transport'))
    t.check(str(b.get('source', '')).startswith('127.0.0.1:'),
            'source %r' % b.get('source'))
    e = b.get('expires_in')
    t.check(isinstance(e, int) and 0 < e <= 600, 'expires_in %r' % e)
    # unregister over TCP as well (a new connection, same Contact)
    r2 = run_sipp(pbx, 'unreg.xml', transport='tcp', user='1001',
                  password='secret1001', port=r.port)
    t.check(r2.rc == 0, 'sipp unreg over TCP exit %d' % r2.rc)
    t.check(not bindings_at(pbx, '1001', r.port),
            'binding left after unregister over TCP')


def python_tcp_exact(t, pbx):
    """Over TCP the 200 lists the contact with transport=tcp and the
    answer comes back on the same connection."""
    with SipClient(pbx, transport='tcp') as c:
        _, f = c.register('1003', 'secret1003', expires=300)
        t.require(f is not None and f.status == 200,
                  'REGISTER over TCP: %s' % (f and f.status))
        t.check(any('transport=tcp' in u.lower() for u in f.contacts()),
                '200 Contact: %r' % f.contacts())
        regs = bindings_at(pbx, '1003', c.local[1])
        t.check(len(regs) == 1 and
                str(regs[0].get('transport')).lower() == 'tcp',
                'ctl: %r' % regs)
        t.check(regs and regs[0].get('source') ==
                '127.0.0.1:%d' % c.local[1],
                'source %r, want the connection 127.0.0.1:%d'
                % (regs and regs[0].get('source'), c.local[1]))


def tls(t, pbx):
    """TLS: the server cert verifies against the test CA for 127.0.0.1;
    REGISTER over TLS gives 200 and ctl shows transport tls."""
    with SipClient(pbx, transport='tls') as c:
        t.check(c.sock.version() in ('TLSv1.2', 'TLSv1.3'),
                'TLS version %r' % c.sock.version())
        _, f = c.register('1002', 'secret1002', expires=300)
        t.require(f is not None and f.status == 200,
                  'REGISTER over TLS: %s' % (f and f.status))
        t.check(any('transport=tls' in u.lower() for u in f.contacts()),
                '200 Contact: %r' % f.contacts())
        regs = bindings_at(pbx, '1002', c.local[1])
        t.require(len(regs) == 1, 'ctl: %r' % pbx.registrations('1002'))
        t.check(str(regs[0].get('transport')).lower() == 'tls',
                'transport %r, want tls' % regs[0].get('transport'))
        t.check(regs[0].get('source') == '127.0.0.1:%d' % c.local[1],
                'source %r' % regs[0].get('source'))
        _, f = c.register('1002', 'secret1002', expires=0)
        t.check(f is not None and f.status == 200,
                'unREGISTER over TLS: %s' % (f and f.status))
        t.check(not bindings_at(pbx, '1002', c.local[1]),
                'binding left after Expires: 0 over TLS')


def tls_rogue_ca(t, pbx):
    """A client that trusts only another (rogue) self-signed cert must
    refuse the daemon: the daemon presents the CA-signed chain, not
    something any key could make."""
    ctx = ssl.create_default_context(cafile=pbx.path('conf', 'rogue.crt'))
    import socket
    s = socket.create_connection(pbx.tls_addr, timeout=5)
    try:
        ctx.wrap_socket(s, server_hostname='127.0.0.1').close()
        t.check(False, 'handshake verified against the rogue CA')
    except ssl.SSLCertVerificationError:
        pass
    finally:
        s.close()


def tls_then_options(t, pbx):
    """The daemon still answers on every transport."""
    t.check(pbx.options_ok(transport='udp'), 'no OPTIONS 200 over UDP')
    t.check(pbx.options_ok(transport='tcp'), 'no OPTIONS 200 over TCP')


def body(start, t):
    pbx = start('transports', USERS, auth=AUTH, tls=True, rogue=True)
    t.run(sipp_tcp, pbx)
    t.run(python_tcp_exact, pbx)
    t.run(tls, pbx)
    t.run(tls_rogue_ca, pbx)
    if sipp_has_tls():
        def sipp_tls(t, pbx):
            r = run_sipp(pbx, 'reg_auth.xml', transport='tls', user='1003',
                         password='secret1003', dest=pbx.tls_addr)
            t.check(r.rc == 0, 'sipp over TLS exit %d' % r.rc)
        t.run(sipp_tls, pbx)
    else:
        log('INFO sipp has no TLS support (Debian sip-tester is built '
            'without OpenSSL): TLS is driven by the Python client here and '
            'by baresip in test_baresip.py')
    t.run(tls_then_options, pbx)
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_transports', body)

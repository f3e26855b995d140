#!/usr/bin/env python3
"""Registrar over UDP: digest auth, bindings, expiry, unregister.

sipp drives the nominal paths; the Python client checks what sipp cannot
(exact headers, SHA-256, stale nonces, nonce-count replay).
"""

import hashlib
import time

import harness
from harness import SipClient, run_sipp, log, wait_until

USERS = [
    {'id': '1001', 'password': 'secret1001'},
    {'id': '1002', 'password': 'secret1002'},
    # configured by HA1 only: MD5(1003:127.0.0.1:secret1003)
    {'id': '1003', 'ha1': hashlib.md5(b'1003:127.0.0.1:secret1003')
     .hexdigest()},
    {'id': '1004', 'password': 'secret1004'},
    {'id': '1005', 'password': 'secret1005'},
]
PW = {'1001': 'secret1001', '1002': 'secret1002', '1003': 'secret1003',
      '1004': 'secret1004', '1005': 'secret1005'}

REGISTRAR = {'min-expires': 60, 'max-expires': 3600,
             'default-expires': 3600, 'max-contacts': 10}
# Lock-out is tested on its own (test_lockout.py); keep it out of the way.
AUTH_MD5 = {'algorithms': 'MD5', 'nonce-lifetime': 300,
            'max-failures': 100, 'failure-window': 60, 'lockout': 300}
NONCE_LIFETIME = 2
AUTH_SHA = {'algorithms': 'SHA-256 MD5', 'nonce-lifetime': NONCE_LIFETIME,
            'max-failures': 100, 'failure-window': 60, 'lockout': 300}


def binding(pbx, user, port):
    """ctl entries of user whose contact names 127.0.0.1:port."""
    return [r for r in pbx.registrations(user)
            if '127.0.0.1:%d' % port in str(r.get('contact', ''))]


def contact_expires(resp):
    """{uri: expires} of the Contacts in a 200 (RFC 3261 10.3 step 8)."""
    out = {}
    for c in resp.contacts():
        p = harness.contact_params(c)
        out[harness.contact_uri(c)] = int(p['expires']) \
            if p.get('expires', '').isdigit() else None
    return out


def uri_in(port, uris):
    return [u for u in uris if '127.0.0.1:%d' % port in u]


# ---------------------------------------------------------------------------
# MD5 daemon

def sipp_register(t, pbx):
    """RFC 3261 10.2/10.3: sipp gets 401, answers, gets 200; ctl lists the
    binding with transport, source and remaining expiry."""
    r = run_sipp(pbx, 'reg_auth.xml', user='1001', password=PW['1001'],
                 keys={'expires': 600})
    t.require(r.rc == 0, 'sipp reg_auth for 1001 exit %d (want 0)' % r.rc)
    regs = binding(pbx, '1001', r.port)
    t.require(len(regs) == 1, 'ctl: want 1 binding of 1001 at port %d, '
              'got %r' % (r.port, pbx.registrations('1001')))
    b = regs[0]
    t.check(str(b.get('transport', '')).lower() == 'udp',
            'transport %r, want udp' % b.get('transport'))
    t.check(b.get('source') == '127.0.0.1:%d' % r.port,
            'source %r, want 127.0.0.1:%d' % (b.get('source'), r.port))
    e = b.get('expires_in')
    t.check(isinstance(e, int) and 590 <= e <= 600,
            'expires_in %r, want 590..600' % e)
    t.check('sipp' in str(b.get('user_agent', '')),
            'user_agent %r, want the sipp User-Agent' % b.get('user_agent'))


def sipp_wrong_password(t, pbx):
    """RFC 3261 22.2: wrong credentials are challenged again (401)."""
    r = run_sipp(pbx, 'reg_wrong.xml', user='1001', password='wrong')
    t.check(r.rc == 0, 'sipp reg_wrong (1001, wrong password) exit %d: '
            'the second answer was not 401' % r.rc)
    t.check(not binding(pbx, '1001', r.port),
            'a binding was created with a wrong password')
    r = run_sipp(pbx, 'reg_wrong.xml', user='9999', password='whatever')
    t.check(r.rc == 0, 'sipp reg_wrong (unknown user 9999) exit %d: '
            'the second answer was not 401' % r.rc)
    t.check(not pbx.registrations('9999'), 'unknown user 9999 is bound')


def _shape(resp):
    """What an observer can compare between two challenges: status,
    reason, header names, challenge params (nonce and opaque values
    excluded: they differ per challenge by design)."""
    if resp is None:
        return None
    chal = []
    for c in harness.challenges(resp):
        chal.append(sorted((k, None if k in ('nonce', 'opaque') else v)
                           for k, v in c.items()))
    return (resp.status, resp.reason, sorted(resp.header_names()), chal)


def unknown_user_indistinguishable(t, pbx):
    """An unknown user and a wrong password get the same answers: same
    status codes, same header names, same challenge params but the
    nonce (no user enumeration)."""
    with SipClient(pbx) as a, SipClient(pbx) as b:
        a1, a2 = a.register('1002', 'wrong-password')
        b1, b2 = b.register('9998', 'wrong-password')
    t.require(a1 is not None and b1 is not None, 'no answer to REGISTER')
    t.check(a1.status == 401, 'known user, no credentials: %s, want 401'
            % a1.status)
    t.check(a2 is not None and a2.status == 401,
            'known user, wrong password: %s, want 401'
            % (a2 and a2.status))
    for what, x, y in (('first answer', a1, b1), ('second answer', a2, b2)):
        sx, sy = _shape(x), _shape(y)
        t.check(sx == sy, '%s differs: wrong password %r / unknown user %r'
                % (what, sx, sy))
    n1 = [c.get('nonce') for c in harness.challenges(a2 or a1)]
    n2 = [c.get('nonce') for c in harness.challenges(b2 or b1)]
    t.check(n1 and n2 and len(n1[0]) == len(n2[0]),
            'nonce lengths differ: %r / %r' % (n1, n2))


def challenge_headers(t, pbx):
    """The 401 itself: Digest, realm = domain, qop auth, a nonce, MD5; the
    response matches the request (RFC 3261 8.2.6.2, RFC 3581 rport)."""
    with SipClient(pbx) as c:
        data = c.build('REGISTER', c.ruri(),
                       c.reg_headers([c.contact('1001')], 600),
                       to='<sip:1001@127.0.0.1>', frm='<sip:1001@127.0.0.1>')
        req = harness.SipMsg(data)
        r = c.transact(data)
    t.require(r is not None, 'no answer')
    t.check(r.status == 401, 'status %s, want 401' % r.status)
    ch = harness.challenges(r)
    t.require(len(ch) == 1, 'want exactly one Digest challenge with '
              'algorithms="MD5", got %r' % r.get_all('www-authenticate'))
    p = ch[0]
    t.check(p.get('realm') == '127.0.0.1', 'realm %r' % p.get('realm'))
    t.check('auth' in [q.strip() for q in p.get('qop', '').split(',')],
            'qop %r, want auth' % p.get('qop'))
    t.check(len(p.get('nonce', '')) >= 16, 'nonce %r' % p.get('nonce'))
    t.check(p.get('algorithm', 'MD5').upper() == 'MD5',
            'algorithm %r' % p.get('algorithm'))
    t.check('stale' not in p or p['stale'].lower() == 'false',
            'stale on a first challenge')
    t.check(r.get('call-id') == req.get('call-id'), 'Call-ID not echoed')
    t.check(r.get('cseq') == req.get('cseq'), 'CSeq not echoed')
    t.check(r.get('from') == req.get('from'), 'From not echoed')
    t.check(';tag=' in (r.get('to') or ''), 'To has no tag: %r'
            % r.get('to'))
    via = r.get('via') or ''
    t.check(via.startswith(req.get('via').split(';rport')[0]),
            'Via not echoed: %r' % via)
    t.check('rport=%d' % c.local[1] in via,
            'Via lacks rport=%d (RFC 3581): %r' % (c.local[1], via))


def refresh_extends(t, pbx):
    """A refresh of the same contact extends its expiry, does not add a
    second binding; Expires above max-expires is capped."""
    with SipClient(pbx) as c:
        _, r = c.register('1004', PW['1004'], expires=120)
        t.require(r is not None and r.status == 200,
                  'first REGISTER: %s' % (r and r.status))
        b = binding(pbx, '1004', c.local[1])
        t.require(len(b) == 1, 'ctl: %r' % b)
        e1 = b[0].get('expires_in')
        t.check(isinstance(e1, int) and 110 <= e1 <= 120,
                'expires_in %r, want about 120' % e1)
        _, r = c.register('1004', PW['1004'], expires=3000)
        t.require(r is not None and r.status == 200,
                  'refresh: %s' % (r and r.status))
        ce = contact_expires(r)
        t.check(len(ce) == 1 and list(ce.values())[0] == 3000,
                '200 Contact expiry %r, want one contact with 3000' % ce)
        b = binding(pbx, '1004', c.local[1])
        t.require(len(b) == 1, 'after refresh, ctl: %r' % b)
        e2 = b[0].get('expires_in')
        t.check(isinstance(e2, int) and e2 > e1 and 2990 <= e2 <= 3000,
                'expires_in after refresh %r (before %r), want about 3000'
                % (e2, e1))
        _, r = c.register('1004', PW['1004'], expires=100000)
        t.require(r is not None and r.status == 200,
                  'REGISTER above max: %s' % (r and r.status))
        ce = contact_expires(r)
        v = list(ce.values())
        t.check(len(v) == 1 and v[0] is not None and 3500 <= v[0] <= 3600,
                'expiry above max-expires not capped to 3600: %r' % ce)


def too_brief(t, pbx):
    """RFC 3261 10.3 step 7: 423 with Min-Expires, no binding."""
    r = run_sipp(pbx, 'reg_423.xml', user='1001', password=PW['1001'],
                 keys={'expires': 30})
    t.check(r.rc == 0, 'sipp reg_423 exit %d' % r.rc)
    t.check(not binding(pbx, '1001', r.port), 'a 423 created a binding')
    with SipClient(pbx) as c:
        _, f = c.register('1001', PW['1001'], expires=30)
        t.require(f is not None, 'no answer')
        t.check(f.status == 423, 'status %s, want 423' % f.status)
        t.check(f.get('min-expires') == '60',
                'Min-Expires %r, want 60' % f.get('min-expires'))
        # an expires param on the Contact counts as well (RFC 3261 10.2.1)
        _, f = c.register('1001', PW['1001'], expires=None,
                          contacts=[c.contact('1001', params=';expires=5')])
        t.check(f is not None and f.status == 423,
                'Contact ;expires=5: %s, want 423' % (f and f.status))


def unregister_one(t, pbx):
    """Two contacts for 1002; Expires: 0 on one removes only that one
    (RFC 3261 10.2.2)."""
    r = run_sipp(pbx, 'reg_auth.xml', user='1002', password=PW['1002'])
    t.require(r.rc == 0, 'sipp reg_auth 1002 exit %d' % r.rc)
    with SipClient(pbx) as c:
        _, f = c.register('1002', PW['1002'], expires=600)
        t.require(f is not None and f.status == 200,
                  'second contact: %s' % (f and f.status))
        uris = list(contact_expires(f))
        t.check(uri_in(r.port, uris) and uri_in(c.local[1], uris),
                '200 does not list both contacts: %r' % uris)
        r2 = run_sipp(pbx, 'unreg.xml', user='1002', password=PW['1002'],
                      port=r.port)
        t.check(r2.rc == 0, 'sipp unreg exit %d' % r2.rc)
        t.check(not binding(pbx, '1002', r.port),
                'unregistered contact still listed')
        t.check(len(binding(pbx, '1002', c.local[1])) == 1,
                'the other contact is gone: %r'
                % pbx.registrations('1002'))


def contact_star(t, pbx):
    """Contact: * with Expires: 0 removes every binding of the AOR
    (RFC 3261 10.2.2); with a non-zero expiry it is a 400 (10.3 step
    6)."""
    with SipClient(pbx) as c:
        _, f = c.register('1002', PW['1002'], expires=600)
        t.require(f is not None and f.status == 200, 'setup REGISTER')
    t.require(len(pbx.registrations('1002')) >= 1, 'nothing to remove')
    r = run_sipp(pbx, 'unreg_all.xml', user='1002', password=PW['1002'])
    t.check(r.rc == 0, 'sipp unreg_all exit %d' % r.rc)
    t.check(pbx.registrations('1002') == [],
            'bindings left after Contact: *: %r'
            % pbx.registrations('1002'))
    with SipClient(pbx) as c:
        _, f = c.register('1002', PW['1002'], contacts=['*'], expires=3600)
        t.check(f is not None and f.status == 400,
                'Contact: * with Expires: 3600: %s, want 400'
                % (f and f.status))


def two_contacts(t, pbx):
    """Two Contact headers in one REGISTER (user configured by HA1):
    the 200 lists both with their expiry, and so does ctl."""
    with SipClient(pbx) as c:
        c1 = '<sip:1003@127.0.0.1:%d>' % c.local[1]
        c2 = '<sip:1003@127.0.0.1:%d;line=b>' % (c.local[1] + 1 if
                                                 c.local[1] < 65535 else 1)
        _, f = c.register('1003', PW['1003'], contacts=[c1, c2],
                          expires=900)
        t.require(f is not None and f.status == 200,
                  'REGISTER: %s' % (f and f.status))
        ce = contact_expires(f)
        t.check(len(ce) == 2, '200 lists %d contacts: %r' % (len(ce), ce))
        t.check(all(v is not None and 890 <= v <= 900 for v in ce.values()),
                'contact expiry: %r' % ce)
    regs = pbx.registrations('1003')
    t.check(len(regs) == 2, 'ctl lists %d bindings of 1003: %r'
            % (len(regs), regs))


# ---------------------------------------------------------------------------
# SHA-256 + MD5 daemon with a short nonce lifetime

def sha256(t, pbx):
    """RFC 8760: with algorithms="SHA-256 MD5" the 401 carries two
    challenges, SHA-256 first; either answer registers."""
    with SipClient(pbx) as c:
        first, f = c.register('1001', PW['1001'], algorithm='SHA-256')
        t.require(first is not None and first.status == 401,
                  'first answer %s' % (first and first.status))
        algs = [ch.get('algorithm', 'MD5').upper()
                for ch in harness.challenges(first)]
        t.check(algs == ['SHA-256', 'MD5'],
                'challenge algorithms %r, want [SHA-256, MD5]' % algs)
        t.check(len(set(ch.get('realm') for ch in
                        harness.challenges(first))) == 1, 'realms differ')
        t.check(f is not None and f.status == 200,
                'SHA-256 answer: %s, want 200' % (f and f.status))
    with SipClient(pbx) as c:
        _, f = c.register('1002', PW['1002'], algorithm='MD5')
        t.check(f is not None and f.status == 200,
                'MD5 answer to the two-challenge 401: %s, want 200'
                % (f and f.status))
    with SipClient(pbx) as c:
        _, f = c.register('1002', 'wrong', algorithm='SHA-256')
        t.check(f is not None and f.status == 401,
                'SHA-256 wrong password: %s, want 401' % (f and f.status))


def sipp_two_challenges(t, pbx):
    """Not a check of the daemon: what sipp 3.6.1 does with two
    WWW-Authenticate headers, SHA-256 first. Printed for the record."""
    r = run_sipp(pbx, 'reg_auth.xml', user='1004', password=PW['1004'],
                 quiet=True, timeout=8)
    lines = [ln for ln in r.errors.splitlines() if 'uth' in ln]
    log('INFO sipp vs "SHA-256 MD5": exit %d; %s'
        % (r.rc, lines[-1].strip() if lines else 'no auth error logged'))


def stale_nonce(t, pbx):
    """RFC 7616 3.3: right credentials on an expired nonce get a new
    challenge with stale=true; answering that one registers."""
    with SipClient(pbx) as c:
        first = c.register_once('1005', expires=600)
        t0 = time.monotonic()
        t.require(first is not None and first.status == 401, 'no 401')
        chal = harness.pick_challenge(first, 'MD5')
        t.require(chal is not None, 'no MD5 challenge')
        # wait (by the clock, bounded) until the nonce is past its life
        wait_until(lambda: time.monotonic() > t0 + NONCE_LIFETIME + 1.5,
                   NONCE_LIFETIME + 3, 0.1)
        a = harness.authorization(chal, '1005', PW['1005'], 'REGISTER',
                                  c.ruri())
        r = c.register_once('1005', expires=600, auth=a)
        t.require(r is not None, 'no answer')
        t.check(r.status == 401, 'old nonce: %s, want 401' % r.status)
        chs = harness.challenges(r)
        t.check(chs and all(ch.get('stale', '').lower() == 'true'
                            for ch in chs),
                'stale=true missing: %r' % r.get_all('www-authenticate'))
        ch2 = harness.pick_challenge(r, 'MD5')
        t.require(ch2 is not None, 'no new challenge')
        a = harness.authorization(ch2, '1005', PW['1005'], 'REGISTER',
                                  c.ruri())
        r = c.register_once('1005', expires=600, auth=a)
        t.check(r is not None and r.status == 200,
                'fresh nonce after stale: %s, want 200' % (r and r.status))


def nc_replay(t, pbx):
    """RFC 7616 3.4.5 / 5.5: a captured Authorization (same nonce, same
    nc) replayed in a new request must not register, from the same
    socket or from another one."""
    with SipClient(pbx) as c, SipClient(pbx) as other:
        first = c.register_once('1004', expires=600)
        t.require(first is not None and first.status == 401, 'no 401')
        chal = harness.pick_challenge(first, 'MD5')
        a = harness.authorization(chal, '1004', PW['1004'], 'REGISTER',
                                  c.ruri(), nc=1)
        r = c.register_once('1004', expires=600, auth=a)
        t.require(r is not None and r.status == 200,
                  'first use: %s' % (r and r.status))
        r = c.register_once('1004', expires=600, auth=a)
        t.check(r is not None and r.status == 401,
                'replayed nc=00000001: %s, want 401' % (r and r.status))
        r = other.register_once('1004', expires=600, auth=a)
        t.check(r is not None and r.status == 401,
                'replayed from another port: %s, want 401'
                % (r and r.status))
        # a replay proves nothing and is no failure: a burst of them
        # (retransmissions under load) must not lock the source out;
        # each is challenged again with stale=true
        for i in range(6):
            r = other.register_once('1004', expires=600, auth=a)
            t.check(r is not None and r.status == 401 and any(
                ch.get('stale', '').lower() == 'true'
                for ch in harness.challenges(r)),
                'replay %d: %s, want 401 with stale=true'
                % (i, r and r.status))
        _, f = other.register('1004', PW['1004'], expires=600)
        t.check(f is not None and f.status == 200,
                'after 8 replays the source is locked: %s, want 200'
                % (f and f.status))
        # a higher nc on the same nonce is legitimate (not asserted: a
        # server may also make nonces single-use)
        a = harness.authorization(chal, '1004', PW['1004'], 'REGISTER',
                                  c.ruri(), nc=2)
        r = c.register_once('1004', expires=600, auth=a)
        log('INFO same nonce, nc=00000002: %s' % (r and r.status))


def body(start, t):
    pbx = start('register', USERS, registrar=REGISTRAR, auth=AUTH_MD5)
    for fn in (sipp_register, sipp_wrong_password,
               unknown_user_indistinguishable, challenge_headers,
               refresh_extends, too_brief, unregister_one, contact_star,
               two_contacts):
        t.run(fn, pbx)
    t.check(pbx.alive(), 'daemon died')
    pbx2 = start('register-sha', USERS[:2] + USERS[3:], registrar=REGISTRAR,
                 auth=AUTH_SHA)
    for fn in (sha256, sipp_two_challenges, stale_nonce, nc_replay):
        t.run(fn, pbx2)
    t.current = 'end'
    t.check(pbx.alive() and pbx2.alive(), 'a daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_register', body)

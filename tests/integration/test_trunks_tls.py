#!/usr/bin/env python3
"""Trunks over mutual TLS, against a provider written here with Python's
ssl module (Debian's sipp is built without TLS).

Certificates are made by the test with openssl: a test CA; the
provider's server certificate for 127.0.0.11 and its client
certificate; the PBX's client certificate for the trunk; and a server
certificate for 127.0.0.12 (right CA, wrong host) and a self-signed
client certificate (wrong CA).

- outbound: 1001 dials 5N; the PBX connects to the provider over TLS,
  presents its client certificate (the provider requires one from the CA
  and checks it), and the call is answered; BYE goes over TLS too.
- wrong_server: trunk "wrong" points at 127.0.0.12 whose certificate is
  for another host: the PBX refuses the connection (its log says why)
  and the call fails; nothing reaches that provider's SIP layer.
- inbound: the provider connects to the trunk's own TLS address with
  its client certificate and calls a DID: it reaches 1002.
- inbound_rogue: a client with a self-signed certificate (or none) is
  refused in the handshake.
"""

import os
import re
import socket
import ssl
import threading
import time

import harness
from harness import (SipMsg, free_port, log, rand_token, wait_until,
                     _openssl, _concat)
from test_media import Bg, Phone

USERS = [{'id': '1001', 'password': 'secret1001'},
         {'id': '1002', 'password': 'secret1002'}]
PW = {u['id']: u['password'] for u in USERS}
PROV_IP, WRONG_IP = '127.0.0.11', '127.0.0.12'

DIALPLAN = '''  <dialplan>
    <context name="default">
      <extension name="tls-out">
        <condition field="destination_number" expression="^5(\\d+)$">
          <action application="bridge" data="trunk/t/$1"/>
        </condition>
      </extension>
      <extension name="wrong-out">
        <condition field="destination_number" expression="^4(\\d+)$">
          <action application="bridge" data="trunk/wrong/$1"/>
        </condition>
      </extension>
    </context>
    <context name="from-trunk">
      <extension name="did">
        <condition field="destination_number" expression="^\\+?4930555(10\\d\\d)$">
          <action application="bridge" data="user/$1"/>
        </condition>
      </extension>
    </context>
  </dialplan>
'''


def make_cert(d, name, cn, san, ca=True, client=False):
    """name.pem (cert + key, libre's convention) and name.crt/.key,
    signed by the test CA, or self-signed when ca is False."""
    with open(os.path.join(d, name + '.ext'), 'w') as f:
        f.write('basicConstraints=CA:FALSE\n'
                'keyUsage=critical,digitalSignature,keyEncipherment\n'
                'extendedKeyUsage=%s\n'
                'subjectAltName=%s\n'
                % ('clientAuth,serverAuth' if client else
                   'serverAuth,clientAuth', san))
    if ca:
        _openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout',
                  name + '.key', '-out', name + '.csr', '-subj',
                  '/CN=' + cn], d)
        _openssl(['x509', '-req', '-in', name + '.csr', '-CA', 'ca.pem',
                  '-CAkey', 'ca.key', '-CAcreateserial', '-out',
                  name + '.crt', '-days', '2', '-extfile', name + '.ext'], d)
    else:
        _openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes',
                  '-keyout', name + '.key', '-out', name + '.crt', '-days',
                  '2', '-subj', '/CN=' + cn, '-addext',
                  'subjectAltName=' + san], d)
    _concat(d, name + '.pem', [name + '.crt', name + '.key'])


def frames(sock, buf):
    """(message or None, rest of buf) from a stream socket."""
    while True:
        buf = buf.lstrip(b'\r\n')
        i = buf.find(b'\r\n\r\n')
        if i >= 0:
            head = buf[:i].decode('utf-8', 'replace')
            m = re.search(r'(?im)^(?:content-length|l)\s*:\s*(\d+)', head)
            n = int(m.group(1)) if m else 0
            if len(buf) >= i + 4 + n:
                return SipMsg(buf[:i + 4 + n]), buf[i + 4 + n:]
        try:
            data = sock.recv(65535)
        except (socket.timeout, ssl.SSLError, OSError):
            return None, buf
        if not data:
            return None, buf
        buf += data


def reply(req, code, reason, body=b'', extra=()):
    lines = ['SIP/2.0 %d %s' % (code, reason)]
    for h in ('via', 'from', 'to', 'call-id', 'cseq'):
        for v in req.get_all(h):
            if h == 'to' and code > 100 and 'tag=' not in v:
                v += ';tag=' + rand_token(6)
            lines.append('%s: %s' % (h.title().replace('Call-Id', 'Call-ID')
                                     .replace('Cseq', 'CSeq'), v))
    lines += list(extra)
    lines.append('Content-Length: %d' % len(body))
    return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body


class TlsProvider:
    """A provider's TLS SIP server: wants a client certificate from ca,
    answers INVITE 200 (with SDP), ACK and BYE. Keeps what it saw."""

    def __init__(self, d, ip, port, certname):
        self.ip, self.port = ip, port
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, certname + '.crt'),
                            os.path.join(d, certname + '.key'))
        ctx.load_verify_locations(os.path.join(d, 'ca.pem'))
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx = ctx
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((ip, port))
        self.lsock.listen(8)
        self.lsock.settimeout(0.2)
        self.seen = []              # (method, peer cert subject)
        self.handshake_errors = []
        self.stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop:
            try:
                raw, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._conn, args=(raw,),
                             daemon=True).start()

    def _conn(self, raw):
        raw.settimeout(5)
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.handshake_errors.append(str(e))
            raw.close()
            return
        subj = dict(x[0] for x in s.getpeercert().get('subject', ()))
        s.settimeout(0.5)
        buf = b''
        deadline = time.monotonic() + 30
        while not self.stop and time.monotonic() < deadline:
            msg, buf = frames(s, buf)
            if msg is None:
                continue
            if msg.method is None:
                continue
            self.seen.append((msg.method, subj.get('commonName')))
            if msg.method == 'INVITE':
                sdp = ('v=0\r\no=prov 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s'
                       '\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\n'
                       'a=rtpmap:0 PCMU/8000\r\n'
                       % (self.ip, self.ip, free_port(self.ip, tcp=False)))
                s.sendall(reply(msg, 200, 'OK', sdp.encode(), [
                    'Contact: <sip:prov@%s:%d;transport=tls>'
                    % (self.ip, self.port),
                    'Content-Type: application/sdp']))
            elif msg.method in ('BYE', 'OPTIONS', 'CANCEL'):
                s.sendall(reply(msg, 200, 'OK'))
        s.close()

    def methods(self):
        return [m for m, _ in self.seen]

    def close(self):
        self.stop = True
        self.lsock.close()
        self.thread.join(2)


def outbound(t, pbx, d, ports):
    prov = TlsProvider(d, PROV_IP, ports['t'], 'prov')
    p = Phone(pbx, '1001', PW['1001'])
    try:
        r = p.register()
        t.require(r is not None and r.status == 200, 'REGISTER')
        r = p.call('5030555999')
        t.require(r is not None and r.status == 200, 'call over mutual '
                  'TLS: %s' % (r and r.start))
        t.check(('INVITE', 'Switchboard Trunk Client') in prov.seen,
                'the provider did not see our client certificate: %r'
                % prov.seen)
        r = p.hangup()
        t.check(r is not None and r.status == 200, 'BYE: %s'
                % (r and r.start))
        t.check(wait_until(lambda: 'BYE' in prov.methods(), 5),
                'no BYE over TLS: %r' % prov.seen)
        log('  provider saw %r' % prov.seen)
    finally:
        prov.close()
        p.close()


def wrong_server(t, pbx, d, ports):
    prov = TlsProvider(d, WRONG_IP, ports['wrong'], 'wronghost')
    p = Phone(pbx, '1001', PW['1001'])
    try:
        r = p.register()
        t.require(r is not None and r.status == 200, 'REGISTER')
        t0 = time.monotonic()
        r = p.call('4030555999', timeout=45)
        took = time.monotonic() - t0
        t.check(r is not None and r.status >= 400, 'a provider with a '
                'certificate for another host: %s' % (r and r.start))
        log('  wrong server certificate: %s after %.1f s'
            % (r and r.start, took))
        t.check(not prov.methods(), 'a SIP message went to the wrong '
                'server: %r' % prov.seen)
        t.check(wait_until(lambda: 'is not for 127.0.0.12' in
                           harness._read(pbx.logfile), 5),
                'the PBX log does not say why')
    finally:
        prov.close()
        p.close()


def tls_client(d, certname, dest):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(d, 'ca.pem'))
    ctx.check_hostname = False
    if certname:
        ctx.load_cert_chain(os.path.join(d, certname + '.crt'),
                            os.path.join(d, certname + '.key'))
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.bind((PROV_IP, 0))
    raw.settimeout(5)
    raw.connect(dest)
    return ctx.wrap_socket(raw)


def inbound(t, pbx, d, ports):
    callee = Phone(pbx, '1002', PW['1002'])
    s = None
    try:
        r = callee.register()
        t.require(r is not None and r.status == 200, 'REGISTER 1002')
        ans = Bg(callee.answer, 0, 10)
        s = tls_client(d, 'provclient', ('127.0.0.1', ports['local']))
        me = s.getsockname()
        sdp = ('v=0\r\no=p 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n'
               'm=audio 4002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n'
               % (PROV_IP, PROV_IP)).encode()
        cid, tag = rand_token(12), rand_token(6)
        inv = ('INVITE sip:+49305551002@127.0.0.1:%d;transport=tls SIP/2.0'
               '\r\nVia: SIP/2.0/TLS %s:%d;branch=z9hG4bK%s\r\n'
               'From: "Caller" <sip:+4940123@%s>;tag=%s\r\n'
               'To: <sip:+49305551002@127.0.0.1>\r\nCall-ID: %s\r\n'
               'CSeq: 1 INVITE\r\nMax-Forwards: 70\r\n'
               'Contact: <sip:prov@%s:%d;transport=tls>\r\n'
               'Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n'
               % (ports['local'], me[0], me[1], rand_token(8), PROV_IP, tag,
                  cid, me[0], me[1], len(sdp))).encode() + sdp
        s.sendall(inv)
        s.settimeout(0.5)
        buf, final = b'', None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and final is None:
            msg, buf = frames(s, buf)
            if msg is not None and msg.status and msg.status >= 200:
                final = msg
        t.check(final is not None and final.status == 200, 'inbound over '
                'mutual TLS: %s' % (final and final.start))
        t.check(ans.get(10) is not None, 'the DID did not reach 1002')
    finally:
        if s:
            s.close()
        callee.close()


def inbound_rogue(t, pbx, d, ports):
    for cert in ('rogue', None):
        try:
            s = tls_client(d, cert, ('127.0.0.1', ports['local']))
            # TLS 1.3: the server's refusal comes with the first read
            s.settimeout(3)
            s.sendall(b'OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n\r\n')
            data = s.recv(100)
            s.close()
            t.check(not data, 'a client with %s was served: %r'
                    % (cert or 'no certificate', data))
        except (ssl.SSLError, ConnectionError, socket.timeout, OSError) as e:
            log('  %s: refused (%s)' % (cert or 'no certificate',
                                        type(e).__name__))


def body(start, t):
    import tempfile
    d = tempfile.mkdtemp(prefix='sb-trunks-tls-')
    _openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes',
              '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
              '-subj', '/CN=Switchboard Test CA',
              '-addext', 'basicConstraints=critical,CA:TRUE',
              '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], d)
    make_cert(d, 'prov', 'provider', 'IP:' + PROV_IP)
    make_cert(d, 'wronghost', 'other', 'IP:127.0.0.99')
    make_cert(d, 'provclient', 'provider client', 'IP:' + PROV_IP,
              client=True)
    make_cert(d, 'pbxclient', 'Switchboard Trunk Client', 'IP:127.0.0.1',
              client=True)
    make_cert(d, 'rogue', 'rogue', 'IP:' + PROV_IP, ca=False, client=True)

    ports = {'t': free_port(PROV_IP), 'wrong': free_port(WRONG_IP),
             'local': free_port()}
    trunks = ('  <trunks>\n'
              '    <trunk name="t" host="%s" port="%d" transport="tls" '
              'cert="%s/pbxclient.pem" ca="%s/ca.pem" '
              'local="127.0.0.1:%d" country-code="49"/>\n'
              '    <trunk name="wrong" host="%s" port="%d" transport="tls" '
              'cert="%s/pbxclient.pem" ca="%s/ca.pem" country-code="49"/>\n'
              '  </trunks>\n' % (PROV_IP, ports['t'], d, d, ports['local'],
                                 WRONG_IP, ports['wrong'], d, d))
    pbx = start('trunks-tls', USERS, extra_xml=trunks + DIALPLAN)
    rc, out = pbx.ctl('trunks')
    log('  ' + '\n  '.join(out.strip().splitlines()))
    t.run(outbound, pbx, d, ports)
    t.run(inbound, pbx, d, ports)
    t.run(inbound_rogue, pbx, d, ports)
    t.run(wrong_server, pbx, d, ports)
    t.current = 'end'
    import shutil
    shutil.rmtree(d, ignore_errors=True)
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_trunks_tls', body)

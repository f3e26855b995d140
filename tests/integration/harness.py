"""Integration-test harness: runs the real switchboard daemon on loopback.

Python 3 standard library only. Every network wait here is bounded in
count and in time; nothing sleeps for a fixed while in the hope that
something has happened.

Pieces:
  Pbx        a daemon in a temp dir with a config written from parameters,
             free loopback ports, optional test certificates
  SipClient  a minimal SIP user agent over UDP, TCP or TLS with its own
             digest (MD5, SHA-256, qop=auth), for what sipp cannot check
  run_sipp   one sipp run, bounded, judged by its exit code
  Tests      a table of subtests with non-fatal checks

Running: `meson test -C BUILD --suite integration` (configure with
-Dintegration=true), or one program by hand:
  SWITCHBOARD_BIN=BUILD/switch/switchboard python3 test_register.py
  SWITCHBOARD_BIN=... python3 test_torture.py ../../../shared/testdata/rfc4475
KEEP=1 keeps each test's temp dir (config, data dir, daemon log, sipp
logs) and prints where it is.
"""

import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import tempfile
import time
from xml.sax.saxutils import quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, 'scenarios')

SKIP = 77   # meson's exit code for a skipped test


def log(*args):
    print(*args, flush=True)


# ---------------------------------------------------------------------------
# Ports and addresses

def free_port(ip='127.0.0.1', tcp=True, also_next=False):
    """A port that is free on ip for UDP (and TCP on the same number).

    also_next: port+1 must be free as well (baresip puts TLS there)."""
    for _ in range(200):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((ip, 0))
            port = u.getsockname()[1]
            if also_next and port >= 65535:
                continue
            if not _port_free(ip, port, udp=False, tcp=tcp):
                continue
            if also_next and not (_port_free(ip, port + 1, udp=True,
                                             tcp=True)):
                continue
            return port
        finally:
            u.close()
    raise RuntimeError('no free port on %s' % ip)


def _port_free(ip, port, udp=True, tcp=True):
    socks = []
    try:
        if udp:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind((ip, port))
        if tcp:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def rand_token(n=10):
    return ''.join(random.choice(string.ascii_lowercase + string.digits)
                   for _ in range(n))


def wait_until(pred, timeout, interval=0.05):
    """Poll pred() until it returns a true value or timeout seconds pass.
    Returns the last value of pred()."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------------------
# Certificates (openssl CLI)

def _openssl(args, cwd):
    r = subprocess.run(['openssl'] + args, cwd=cwd, capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError('openssl %s failed: %s' % (args[0], r.stderr))


def make_certs(d, rogue=False):
    """CA (ca.pem) and a server cert for 127.0.0.1 signed by it, written
    as one PEM with its key (pbx.pem, libre's convention). With rogue, a
    self-signed cert with the same subject (rogue.pem) that ca.pem does
    not vouch for."""
    _openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes',
              '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
              '-subj', '/CN=Switchboard Test CA',
              '-addext', 'basicConstraints=critical,CA:TRUE',
              '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], d)
    with open(os.path.join(d, 'pbx.ext'), 'w') as f:
        f.write('basicConstraints=CA:FALSE\n'
                'keyUsage=critical,digitalSignature,keyEncipherment\n'
                'extendedKeyUsage=serverAuth,clientAuth\n'
                'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
    _openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'pbx.key',
              '-out', 'pbx.csr', '-subj', '/CN=127.0.0.1'], d)
    _openssl(['x509', '-req', '-in', 'pbx.csr', '-CA', 'ca.pem',
              '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'pbx.crt',
              '-days', '2', '-extfile', 'pbx.ext'], d)
    _concat(d, 'pbx.pem', ['pbx.crt', 'pbx.key'])
    if rogue:
        _openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes',
                  '-keyout', 'rogue.key', '-out', 'rogue.crt', '-days', '2',
                  '-subj', '/CN=127.0.0.1',
                  '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
                 d)
        _concat(d, 'rogue.pem', ['rogue.crt', 'rogue.key'])


def _concat(d, out, parts):
    with open(os.path.join(d, out), 'w') as f:
        for p in parts:
            with open(os.path.join(d, p)) as g:
                f.write(g.read())


# ---------------------------------------------------------------------------
# The daemon

class PbxError(Exception):
    pass


class Pbx:
    """One switchboard daemon in its own temp dir.

    users: list of dicts {'id', 'password'} or {'id', 'ha1'}, optional
           'name'; registrar/auth: dicts of attributes for <registrar> and
           <auth> (values converted with str()). extra_xml goes after
           <directory>; settings_xml inside <settings> (e.g.
           '<media rtp-timeout="2s"/>').
    """

    def __init__(self, name, users, registrar=None, auth=None, tls=False,
                 rogue=False, domain='127.0.0.1', extra_xml='',
                 settings_xml=''):
        self.name = name
        self.extra_xml = extra_xml
        self.settings_xml = settings_xml
        self.users = users
        self.registrar = registrar or {}
        self.auth = auth or {}
        self.tls = tls
        self.domain = domain
        self.bin = os.environ.get('SWITCHBOARD_BIN')
        if not self.bin or not os.access(self.bin, os.X_OK):
            raise PbxError('SWITCHBOARD_BIN is not set to an executable '
                           '(got %r)' % self.bin)
        self.tmp = tempfile.mkdtemp(prefix='sb-%s-' % name)
        self.confdir = os.path.join(self.tmp, 'conf')
        self.datadir = os.path.join(self.tmp, 'var')
        self.logfile = os.path.join(self.tmp, 'switchboard.log')
        os.makedirs(self.confdir)
        self.proc = None
        self.port = None
        self.tls_port = None
        if tls:
            make_certs(self.confdir, rogue=rogue)

    # -- paths
    def path(self, *p):
        return os.path.join(self.tmp, *p)

    @property
    def ca(self):
        return os.path.join(self.confdir, 'ca.pem')

    @property
    def addr(self):
        return ('127.0.0.1', self.port)

    @property
    def tls_addr(self):
        return ('127.0.0.1', self.tls_port)

    def _pick_ports(self):
        self.port = free_port()
        if self.tls:
            for _ in range(50):
                p = free_port(tcp=True)
                if p != self.port:
                    self.tls_port = p
                    break

    def write_config(self):
        ls = ['    <domain name=%s/>' % quoteattr(self.domain),
              '    <listen transport="udp" address="127.0.0.1:%d"/>'
              % self.port,
              '    <listen transport="tcp" address="127.0.0.1:%d"/>'
              % self.port]
        if self.tls:
            ls.append('    <listen transport="tls" address="127.0.0.1:%d" '
                      'cert="pbx.pem" ca="ca.pem"/>' % self.tls_port)
        if self.registrar:
            ls.append('    <registrar %s/>' % _attrs(self.registrar))
        if self.auth:
            ls.append('    <auth %s/>' % _attrs(self.auth))
        if self.settings_xml:
            ls.append('    ' + self.settings_xml.strip())
        us = []
        for u in self.users:
            a = {'id': u['id'], 'name': u.get('name', 'User %s' % u['id']),
                 'context': u.get('context', 'default')}
            for k in ('password', 'ha1', 'codecs', 'cos', 'mwi', 'vm-pin',
                      'email'):
                if k in u:
                    a[k] = u[k]
            us.append('    <user %s/>' % _attrs(a))
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<switchboard>\n'
               '  <settings>\n%s\n  </settings>\n'
               '  <directory>\n%s\n  </directory>\n%s</switchboard>\n'
               % ('\n'.join(ls), '\n'.join(us), self.extra_xml))
        with open(os.path.join(self.confdir, 'switchboard.xml'), 'w') as f:
            f.write(xml)

    def check_config(self):
        """switchboard --check: (rc, output)."""
        r = subprocess.run([self.bin, '--check', '-c', self.confdir],
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    # -- life cycle
    def start(self, attempts=3):
        """Start with a fresh config on free ports (retrying with other
        ports if the daemon dies before it is ready: a port may have been
        taken between picking and binding)."""
        last = None
        for _ in range(attempts):
            self._pick_ports()
            self.write_config()
            try:
                self._spawn()
                return self
            except PbxError as e:
                last = e
        raise last

    def restart(self):
        """Start again on the same config, ports and data dir."""
        if self.proc and self.proc.poll() is None:
            raise PbxError('restart while running')
        self._spawn()
        return self

    def _spawn(self):
        with open(self.logfile, 'ab') as lf:
            lf.write(b'--- start %f\n' % time.time())
            lf.flush()
            self.proc = subprocess.Popen(
                [self.bin, '-c', self.confdir, '-d', self.datadir],
                stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                start_new_session=True)
        if not self.wait_ready():
            rc = self.proc.poll()
            if rc is None:
                self.kill9()
                raise PbxError('daemon did not answer OPTIONS on %s:%d'
                               % self.addr)
            raise PbxError('daemon exited with %s before it was ready' % rc)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, tries=100, interval=0.05):
        """OPTIONS over UDP until a 200, at most tries x interval."""
        for _ in range(tries):
            if not self.alive():
                return False
            if self.options_ok(timeout=interval):
                return True
        return False

    def options_ok(self, timeout=0.5, transport='udp'):
        """True if the daemon answers OPTIONS with 200."""
        try:
            with SipClient(self, transport=transport) as c:
                r = c.request('OPTIONS', 'sip:%s:%d' % self.addr,
                              timeout=timeout, retransmit=False)
                return r is not None and r.status == 200
        except OSError:
            return False

    def stop(self, timeout=10):
        """SIGTERM, wait (bounded), then SIGKILL. Returns the exit code
        (negative signal number if killed)."""
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

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        return self.proc.returncode if self.proc else None

    def cleanup(self, failed=False):
        self.stop()
        if failed:
            self.print_log()
        if os.environ.get('KEEP') == '1':
            log('KEEP=1: kept %s' % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def print_log(self):
        try:
            with open(self.logfile, 'rb') as f:
                data = f.read()
        except OSError:
            return
        log('----- daemon log (%s) -----' % self.logfile)
        log(data.decode('utf-8', 'replace')[-20000:])
        log('----- end of daemon log -----')

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup(failed=exc[0] is not None)
        return False

    # -- ctl
    def ctl(self, *args, timeout=10):
        """switchboard ctl ARGS -> (rc, stdout)."""
        r = subprocess.run([self.bin, 'ctl', '-c', self.confdir,
                            '-d', self.datadir] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            log('ctl %s: rc %d: %s' % (' '.join(args), r.returncode,
                                       r.stderr.strip()))
        return r.returncode, r.stdout

    def ctl_json(self, *args):
        rc, out = self.ctl(*(list(args) + ['--json']))
        if rc != 0:
            raise PbxError('ctl %s failed (rc %d)' % (' '.join(args), rc))
        try:
            return json.loads(out)
        except ValueError as e:
            raise PbxError('ctl %s: not JSON (%s): %r'
                           % (' '.join(args), e, out[:500]))

    def registrations(self, user=None):
        regs = self.ctl_json('registrations')
        if isinstance(regs, dict):      # tolerate {"registrations": [...]}
            regs = regs.get('registrations', [])
        if user is not None:
            regs = [r for r in regs if str(r.get('user')) == str(user)]
        return regs


def _attrs(d):
    return ' '.join('%s=%s' % (k, quoteattr(str(v))) for k, v in d.items())


# ---------------------------------------------------------------------------
# SIP messages

COMPACT = {'v': 'via', 'f': 'from', 't': 'to', 'i': 'call-id', 'm': 'contact',
           'l': 'content-length', 'c': 'content-type', 'k': 'supported',
           's': 'subject', 'e': 'content-encoding', 'o': 'event'}


class SipMsg:
    """A parsed SIP response (or request): start line, headers in order,
    body."""

    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b'\r\n\r\n')
        lines = head.decode('utf-8', 'replace').split('\r\n')
        self.start = lines[0]
        self.headers = []           # [(lower-case long name, value)]
        for ln in lines[1:]:
            if ln[:1] in (' ', '\t') and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + ' ' + ln.strip())
                continue
            n, _, v = ln.partition(':')
            n = n.strip().lower()
            self.headers.append((COMPACT.get(n, n), v.strip()))
        p = self.start.split(' ', 2)
        self.status = None
        self.reason = ''
        self.method = None
        if p[0] == 'SIP/2.0' and len(p) >= 2 and p[1].isdigit():
            self.status = int(p[1])
            self.reason = p[2] if len(p) > 2 else ''
        else:
            self.method = p[0]

    def get(self, name):
        """First value of a header, or None."""
        v = self.get_all(name)
        return v[0] if v else None

    def get_all(self, name):
        name = COMPACT.get(name.lower(), name.lower())
        return [v for n, v in self.headers if n == name]

    def header_names(self):
        return set(n for n, _ in self.headers)

    def contacts(self):
        """Contact values split at top-level commas."""
        out = []
        for v in self.get_all('contact'):
            out.extend(split_list(v))
        return out

    def __str__(self):
        return self.raw.decode('utf-8', 'replace')


def split_list(v):
    """Split a header value at commas outside quotes and <>."""
    out, cur, q, a = [], '', False, False
    for ch in v:
        if ch == '"' and not a:
            q = not q
        elif ch == '<' and not q:
            a = True
        elif ch == '>' and not q:
            a = False
        if ch == ',' and not q and not a:
            out.append(cur.strip())
            cur = ''
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def contact_uri(c):
    """URI of one Contact value (without <>)."""
    m = re.search(r'<([^>]*)>', c)
    if m:
        return m.group(1)
    return c.split(';', 1)[0].strip()


def contact_params(c):
    """Header params of one Contact value (after <...>) as a dict."""
    rest = c.split('>', 1)[1] if '>' in c else c.split(';', 1)[1] \
        if ';' in c else ''
    out = {}
    for p in rest.split(';'):
        p = p.strip()
        if p:
            k, _, v = p.partition('=')
            out[k.strip().lower()] = v.strip().strip('"')
    return out


# ---------------------------------------------------------------------------
# Digest (RFC 2617 / RFC 7616 / RFC 8760)

_HASH = {'MD5': hashlib.md5, 'SHA-256': hashlib.sha256}


def parse_challenge(value):
    """'Digest realm="x", nonce="y", qop="auth"' -> ('Digest', {params})."""
    scheme, _, rest = value.strip().partition(' ')
    params = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|'
                         r'[^\s,]+)', rest):
        k = m.group(1).lower()
        params[k] = m.group(3) if m.group(3) is not None else m.group(2)
    return scheme, params


def digest_hex(alg, s):
    return _HASH[alg](s.encode()).hexdigest()


def digest_response(alg, user, realm, password, method, uri, nonce, nc,
                    cnonce, qop='auth'):
    ha1 = digest_hex(alg, '%s:%s:%s' % (user, realm, password))
    ha2 = digest_hex(alg, '%s:%s' % (method, uri))
    return digest_hex(alg, '%s:%s:%08x:%s:%s:%s'
                      % (ha1, nonce, nc, cnonce, qop, ha2))


def authorization(chal, user, password, method, uri, nc=1, cnonce=None):
    """Authorization header value answering challenge params chal."""
    alg = chal.get('algorithm', 'MD5').upper()
    if alg not in _HASH:
        raise ValueError('unsupported algorithm %s' % alg)
    cnonce = cnonce or rand_token(16)
    resp = digest_response(alg, user, chal['realm'], password, method, uri,
                           chal['nonce'], nc, cnonce)
    v = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
         'response="%s", algorithm=%s, cnonce="%s", qop=auth, nc=%08x'
         % (user, chal['realm'], chal['nonce'], uri, resp, alg, cnonce,
            nc))
    if 'opaque' in chal:
        v += ', opaque="%s"' % chal['opaque']
    return v


def challenges(resp):
    """Digest challenges of a 401 or 407 in header order: [params]."""
    out = []
    for v in (resp.get_all('www-authenticate') +
              resp.get_all('proxy-authenticate')):
        scheme, p = parse_challenge(v)
        if scheme.lower() == 'digest':
            out.append(p)
    return out


# ---------------------------------------------------------------------------
# A minimal SIP client

class SipClient:
    """REGISTER/OPTIONS client over UDP, TCP or TLS.

    pbx: a Pbx (or an object with .addr / .tls_addr / .domain / .ca).
    local_ip: the address to send from (127.0.0.x); the daemon answers UDP
    to the Via sent-by (RFC 3261 18.2.2), which is this socket."""

    def __init__(self, pbx, transport='udp', local_ip='127.0.0.1',
                 user_agent='sb-test-client/1', verify=True):
        self.pbx = pbx
        self.transport = transport
        self.local_ip = local_ip
        self.user_agent = user_agent
        self.cseq = 0
        self.callid = rand_token(16) + '@' + local_ip
        self.from_tag = rand_token(8)
        self.buf = b''
        self.sock = None
        dest = pbx.tls_addr if transport == 'tls' else pbx.addr
        self.dest = dest
        if transport == 'udp':
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((local_ip, 0))
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind((local_ip, 0))
                s.settimeout(5)
                s.connect(dest)
                if transport == 'tls':
                    ctx = ssl.create_default_context(cafile=pbx.ca) \
                        if verify else ssl._create_unverified_context()
                    s = ctx.wrap_socket(s, server_hostname=dest[0])
            except BaseException:
                s.close()
                raise
            self.sock = s
        self.local = self.sock.getsockname()

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def via_transport(self):
        return self.transport.upper()

    def contact(self, user, port=None, params=''):
        tp = '' if self.transport == 'udp' else \
            ';transport=%s' % self.transport
        return '<sip:%s@%s:%d%s>%s' % (user, self.local[0],
                                        port or self.local[1], tp, params)

    def build(self, method, ruri, headers=(), body=b'', to=None, frm=None,
              cseq=None, branch=None):
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        branch = branch or 'z9hG4bK' + rand_token(12)
        frm = frm or '<sip:test@%s>' % self.pbx.domain
        to = to or frm
        lines = ['%s %s SIP/2.0' % (method, ruri),
                 'Via: SIP/2.0/%s %s:%d;branch=%s;rport'
                 % (self.via_transport, self.local[0], self.local[1], branch),
                 'Max-Forwards: 70',
                 'From: %s;tag=%s' % (frm, self.from_tag),
                 'To: %s' % to,
                 'Call-ID: %s' % self.callid,
                 'CSeq: %d %s' % (cseq, method),
                 'User-Agent: %s' % self.user_agent]
        lines += list(headers)
        lines.append('Content-Length: %d' % len(body))
        return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body

    def send_raw(self, data):
        if self.transport == 'udp':
            self.sock.sendto(data, self.dest)
        else:
            self.sock.sendall(data)

    def recv(self, timeout):
        """One message, or None after timeout seconds."""
        deadline = time.monotonic() + timeout
        if self.transport == 'udp':
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.sock.settimeout(left)
                try:
                    data, _ = self.sock.recvfrom(65535)
                except socket.timeout:
                    return None
                if data.strip():
                    return SipMsg(data)
        while True:
            msg = self._frame()
            if msg is not None:
                return msg
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65535)
            except (socket.timeout, ssl.SSLWantReadError):
                return None
            if not data:
                return None
            self.buf += data

    def _frame(self):
        self.buf = self.buf.lstrip(b'\r\n')    # CRLF keepalives
        i = self.buf.find(b'\r\n\r\n')
        if i < 0:
            return None
        head = self.buf[:i].decode('utf-8', 'replace')
        m = re.search(r'(?im)^(?:content-length|l)\s*:\s*(\d+)', head)
        n = int(m.group(1)) if m else 0
        if len(self.buf) < i + 4 + n:
            return None
        raw, self.buf = self.buf[:i + 4 + n], self.buf[i + 4 + n:]
        return SipMsg(raw)

    def transact(self, data, timeout=4.0, retransmit=True):
        """Send a request and return its final response (or the last
        provisional one / None after timeout). UDP retransmits with
        T1 = 0.5 s doubling, within timeout."""
        deadline = time.monotonic() + timeout
        interval = 0.5
        self.send_raw(data)
        next_tx = time.monotonic() + interval
        last = None
        while True:
            now = time.monotonic()
            if now >= deadline:
                return last
            wait = deadline - now
            if self.transport == 'udp' and retransmit:
                wait = min(wait, max(0.0, next_tx - now))
            r = self.recv(wait)
            if r is None:
                if (self.transport == 'udp' and retransmit and
                        time.monotonic() >= next_tx and
                        time.monotonic() < deadline):
                    self.send_raw(data)
                    interval = min(interval * 2, 4.0)
                    next_tx = time.monotonic() + interval
                continue
            if r.status is None:
                continue                    # a request to us: ignore
            last = r
            if r.status >= 200:
                return r

    def request(self, method, ruri, headers=(), body=b'', timeout=4.0,
                retransmit=True, **kw):
        return self.transact(self.build(method, ruri, headers, body, **kw),
                             timeout=timeout, retransmit=retransmit)

    # -- registration
    def reg_headers(self, contacts, expires):
        hs = ['Contact: %s' % c for c in contacts]
        if expires is not None:
            hs.append('Expires: %d' % expires)
        return hs

    def register_once(self, user, contacts=None, expires=3600, auth=None,
                      extra=(), timeout=4.0):
        """One REGISTER (no challenge handling). auth: a header value."""
        aor = '<sip:%s@%s>' % (user, self.pbx.domain)
        contacts = [self.contact(user)] if contacts is None else contacts
        hs = self.reg_headers(contacts, expires)
        if auth:
            hs.append('Authorization: %s' % auth)
        hs += list(extra)
        return self.request('REGISTER', self.ruri(), hs, to=aor, frm=aor,
                            timeout=timeout)

    def ruri(self):
        return 'sip:%s' % self.pbx.domain

    def register(self, user, password, contacts=None, expires=3600,
                 algorithm=None, auth_user=None, extra=(), timeout=4.0):
        """REGISTER, answer a 401 once. Returns (first, final): the first
        response and the last one. algorithm: which challenge to answer
        (default: the first one offered, as RFC 8760 asks)."""
        first = self.register_once(user, contacts, expires, extra=extra,
                                   timeout=timeout)
        if first is None or first.status != 401:
            return first, first
        chal = pick_challenge(first, algorithm)
        if chal is None:
            return first, first
        a = authorization(chal, auth_user or user, password, 'REGISTER',
                          self.ruri())
        final = self.register_once(user, contacts, expires, auth=a,
                                   extra=extra, timeout=timeout)
        return first, final


def pick_challenge(resp, algorithm=None):
    for c in challenges(resp):
        alg = c.get('algorithm', 'MD5').upper()
        if algorithm is None and alg in _HASH:
            return c
        if algorithm is not None and alg == algorithm.upper():
            return c
    return None


# ---------------------------------------------------------------------------
# sipp

def run_sipp(pbx, scenario, transport='udp', user='1001', password=None,
             local_ip='127.0.0.1', port=None, calls=1, timeout=15,
             keys=None, extra=(), tag=None, dest=None, quiet=False):
    """Run one sipp scenario against the daemon, bounded: at most `calls`
    calls, one at a time, and `timeout` seconds (-timeout_error makes
    running out of time a failure).

    Returns a SippResult: rc, sipp's exit code (0: every call
    succeeded); port, the local port it used (pass it back as port= to
    act on the same Contact); errors, the text of its error log.

    keys: {keyword: value} for -key (domain and expires=3600 are always
    set). sipp computes the digest uri from the remote address, so
    -auth_uri DOMAIN (sipp adds "sip:") pins it to the Request-URI
    sip:DOMAIN. -i local_ip is also the address sipp binds to."""
    port = port or free_port(local_ip)
    tp = {'udp': 'u1', 'tcp': 't1', 'tls': 'l1'}[transport]
    scen = scenario if os.path.isabs(scenario) else \
        os.path.join(SCENARIOS, scenario)
    tag = tag or os.path.splitext(os.path.basename(scen))[0]
    outdir = pbx.path('sipp-%s-%s' % (tag, rand_token(4)))
    os.makedirs(outdir)
    host, dport = dest or pbx.addr
    cmd = ['sipp', '%s:%d' % (host, dport), '-sf', scen, '-t', tp,
           '-i', local_ip, '-p', str(port), '-m', str(calls), '-l', '1',
           '-s', user, '-au', user, '-ap', password or 'nopassword',
           '-timeout', '%ds' % timeout, '-timeout_error',
           '-recv_timeout', '5000', '-max_recv_loops', '100',
           '-nostdin', '-trace_err', '-trace_msg',
           '-error_file', os.path.join(outdir, 'errors.log'),
           '-message_file', os.path.join(outdir, 'messages.log'),
           '-auth_uri', pbx.domain]
    allkeys = {'domain': pbx.domain, 'expires': 3600}
    allkeys.update(keys or {})
    for k, v in allkeys.items():
        cmd += ['-key', k, str(v)]
    cmd += list(extra)
    try:
        r = subprocess.run(cmd, cwd=outdir, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout + 15)
        rc = r.returncode
        out = r.stdout.decode('utf-8', 'replace')
    except subprocess.TimeoutExpired as e:
        rc = -1
        out = (e.stdout or b'').decode('utf-8', 'replace')
    errors = _read(os.path.join(outdir, 'errors.log'))
    if rc != 0 and not quiet:
        log('sipp %s (%s, user %s from %s:%d) exit %d'
            % (os.path.basename(scen), transport, user, local_ip, port, rc))
        _dump(os.path.join(outdir, 'errors.log'), 'sipp errors')
        _dump(os.path.join(outdir, 'messages.log'), 'sipp messages')
        tail = out.strip().splitlines()[-5:]
        if tail:
            log('sipp output tail:\n  ' + '\n  '.join(tail))
    return SippResult(rc, port, errors)


class SippResult:
    def __init__(self, rc, port, errors):
        self.rc, self.port, self.errors = rc, port, errors


def _read(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')
    except OSError:
        return ''


def _dump(path, title, limit=6000):
    data = _read(path)
    if data.strip():
        log('--- %s (%s) ---\n%s' % (title, path, data[-limit:]))


# ---------------------------------------------------------------------------
# Subtests

class Tests:
    """A table of subtests: each runs even when an earlier one failed;
    check() records a failure and goes on, require() stops the subtest."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.current = None

    def check(self, cond, msg):
        if not cond:
            self.failures.append('%s: %s' % (self.current, msg))
            log('  FAIL: %s' % msg)
        return bool(cond)

    def require(self, cond, msg):
        if not self.check(cond, msg):
            raise _Abort()

    def run(self, fn, *args):
        self.current = fn.__name__
        log('== %s' % self.current)
        before = len(self.failures)
        try:
            fn(self, *args)
        except _Abort:
            pass
        except Exception as e:                  # report, then go on
            import traceback
            traceback.print_exc(file=sys.stdout)
            self.failures.append('%s: exception %r' % (self.current, e))
        log('   %s' % ('ok' if len(self.failures) == before else 'FAILED'))

    def done(self):
        if self.failures:
            log('\n%s: %d failure(s):' % (self.name, len(self.failures)))
            for f in self.failures:
                log('  - ' + f)
            return 1
        log('\n%s: all passed' % self.name)
        return 0


class _Abort(Exception):
    pass


def main(name, body):
    """Run body(pbx_factory, tests) and exit with 0/1 (77 to skip)."""
    t = Tests(name)
    pbxs = []

    def factory(*a, **kw):
        p = Pbx(*a, **kw)
        pbxs.append(p)
        return p.start()

    rc = 1
    try:
        body(factory, t)
        rc = t.done()
    except PbxError as e:
        log('%s: harness error: %s' % (name, e))
        rc = 1
    finally:
        for p in pbxs:
            p.cleanup(failed=(rc != 0))
    sys.exit(rc)

#!/usr/bin/env python3
"""Audio goes through the PBX: RTP relayed between the legs of a call.

Two phones written here in Python (SIP over UDP with digest auth, and an
RTP socket each that records every packet it receives) register as 1001
and 1002; 1001 calls 1002 through the dialplan (`bridge user/1002`).

- python_both_ways: the caller sends 200 packets of a 1 kHz PCMU tone,
  the callee 200 packets of a 440 Hz one, at the same time. Each side
  gets (nearly) all of the other's packets, byte for byte (payload, SSRC,
  sequence numbers, time stamps, marker: the relay is transparent), in
  order, from the PBX's media port named in the SDP the PBX rewrote;
  the decoded audio is the other side's tone (Goertzel and zero
  crossings). `ctl calls` shows the relay counters moving during the
  call and matching what was sent at its end; the CDR row follows the
  BYE.
- python_pcap_both_ways: the same with the RTP of
  /usr/share/sip-tester/g711a.pcap (236 PCMA packets, PT 8, parsed here
  from the capture) replayed by both phones, PCMA offered and answered:
  every packet arrives unchanged, in order, both ways.
- sipp_caller_plays_pcap: a sipp caller offers PCMA and, once the call
  is up, plays the capture itself (play_pcap_audio); the Python callee
  gets every RTP packet of the capture unchanged and in order, and its
  own stream (the capture's packets again, its own SSRC) reaches the
  caller's leg (ctl calls). Then the callee hangs up (CDR: callee).
- sipp_callee_plays_pcap: the other direction: a sipp callee answers
  with PCMA and plays the capture; the Python caller gets it unchanged.

sipp sends a capture through a raw socket (root or CAP_NET_RAW): where
the test may not open one, the two sipp subtests are skipped with a
message and the Python ones still run.
"""

import csv
import io
import math
import os
import random
import re
import socket
import struct
import subprocess
import threading
import time

import harness
from harness import free_port, log, rand_token, wait_until

PW = {u: 'secret' + u for u in ('1001', '1002')}
USERS = [{'id': u, 'password': p} for u, p in PW.items()]
PCAP = '/usr/share/sip-tester/g711a.pcap'

DIALPLAN = '''  <dialplan>
    <context name="default">
      <extension name="internal">
        <condition field="destination_number" expression="^(10\\d\\d)$">
          <action application="set" data="call_timeout=10"/>
          <action application="bridge" data="user/$1"/>
        </condition>
      </extension>
    </context>
  </dialplan>
'''

RATE = 8000
PTIME_SAMPLES = 160          # 20 ms at 8 kHz
PACKETS = 200
PACE = 0.01                  # seconds between packets (twice real time)


# ---------------------------------------------------------------------------
# G.711 mu-law (ITU-T G.711, the usual bias-and-segment formulation)

def ulaw_encode(x):
    sign = 0
    if x < 0:
        x = -x
        sign = 0x80
    x = min(x, 32635) + 0x84
    exp = x.bit_length() - 8
    mant = (x >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


def ulaw_decode(u):
    u = ~u & 0xFF
    exp = (u >> 4) & 7
    x = (((u & 0x0F) << 3) + 0x84) << exp
    x -= 0x84
    return -x if u & 0x80 else x


ULAW = [ulaw_decode(b) for b in range(256)]


def tone(freq, n, amp=8000, phase=0.3):
    return [int(round(amp * math.sin(2 * math.pi * freq * i / RATE + phase)))
            for i in range(n)]


def goertzel(x, freq):
    """|X(freq)|^2 of the samples x."""
    c = 2 * math.cos(2 * math.pi * freq / RATE)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + c * s1 - s2, s1
    return s1 * s1 + s2 * s2 - c * s1 * s2


def purity(x, freq):
    """Share of the energy of x at freq (1.0 for a pure tone on a bin)."""
    e = sum(v * v for v in x)
    return 2 * goertzel(x, freq) / (len(x) * e) if e else 0.0


def dominant(x, lo=100, hi=3900, step=10):
    """The strongest frequency (step Hz grid) of a 0.1 s window of x."""
    w = x[:RATE // step]
    return max(range(lo, hi + 1, step), key=lambda f: goertzel(w, f))


def zero_cross_freq(x):
    """Frequency from rising zero crossings (precise for one tone)."""
    ups = [i for i in range(1, len(x)) if x[i - 1] < 0 <= x[i]]
    if len(ups) < 2:
        return 0.0
    return (len(ups) - 1) * RATE / (ups[-1] - ups[0])


def rms(x):
    return math.sqrt(sum(v * v for v in x) / len(x)) if x else 0.0


# ---------------------------------------------------------------------------
# RTP

def rtp_packet(pt, seq, ts, ssrc, payload, marker=False):
    return struct.pack('>BBHII', 0x80, (0x80 if marker else 0) | pt,
                       seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


def rtp_fields(p):
    """(pt, seq, ts, ssrc, payload) of an RTP packet (CSRCs, extension
    and padding taken into account)."""
    b0, b1, seq, ts, ssrc = struct.unpack('>BBHII', p[:12])
    off = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:
        off += 4 + 4 * struct.unpack('>H', p[off + 2:off + 4])[0]
    end = len(p) - (p[-1] if b0 & 0x20 else 0)
    return b1 & 0x7F, seq, ts, ssrc, p[off:end]


DTMF_EVENTS = '0123456789*#'
DTMF_FREQS = {'1': (697, 1209), '2': (697, 1336), '3': (697, 1477),
              '4': (770, 1209), '5': (770, 1336), '6': (770, 1477),
              '7': (852, 1209), '8': (852, 1336), '9': (852, 1477),
              '*': (941, 1209), '0': (941, 1336), '#': (941, 1477)}


def dtmf_events(key, seq, ts, ssrc, pt=101):
    """One RFC 4733 key press starting at time stamp ts: three packets
    while the key is down (marker on the first), three end packets."""
    ev = DTMF_EVENTS.index(key)
    return [rtp_packet(pt, seq + i, ts, ssrc,
                       struct.pack('>BBH', ev, 10 | (0x80 if i >= 3 else 0),
                                   160 * (min(i, 2) + 1)),
                       marker=(i == 0))
            for i in range(6)]


def dtmf_inband(keys, on=800, off=800, amp=5000):
    """8 kHz samples of keys as DTMF tone pairs, on samples each, off
    samples of silence after each."""
    x = []
    for k in keys:
        lo, hi = DTMF_FREQS[k]
        x += [int(amp * math.sin(2 * math.pi * lo * i / 8000) +
                  amp * math.sin(2 * math.pi * hi * i / 8000))
              for i in range(on)] + [0] * off
    return x


def ulaw_stream(x, seq, ts, ssrc, pt=0):
    """Samples x as 20 ms PCMU packets from seq and ts on."""
    return [rtp_packet(pt, seq + k, ts + PTIME_SAMPLES * k, ssrc,
                       bytes(ulaw_encode(v) for v in
                             x[k * PTIME_SAMPLES:(k + 1) * PTIME_SAMPLES]))
            for k in range(len(x) // PTIME_SAMPLES)]


def tone_stream(freq, n=PACKETS, pt=0):
    """n PCMU packets of a tone, random SSRC/seq/ts, marker on the first."""
    ssrc = random.getrandbits(32)
    seq0 = random.getrandbits(16)
    ts0 = random.getrandbits(32)
    pcm = tone(freq, n * PTIME_SAMPLES)
    pkts = []
    for i in range(n):
        chunk = pcm[i * PTIME_SAMPLES:(i + 1) * PTIME_SAMPLES]
        pkts.append(rtp_packet(pt, seq0 + i, ts0 + i * PTIME_SAMPLES, ssrc,
                               bytes(ulaw_encode(v) for v in chunk),
                               marker=(i == 0)))
    return pkts


def read_pcap(path):
    """UDP payloads of a classic pcap (Ethernet, Linux cooked or raw IP
    link types), in file order."""
    with open(path, 'rb') as f:
        d = f.read()
    magic = struct.unpack('<I', d[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        e = '<'
    elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
        e = '>'
    else:
        raise ValueError('%s: not a pcap file' % path)
    linktype = struct.unpack(e + 'I', d[20:24])[0]
    l2 = {1: 14, 113: 16, 101: 0, 228: 0}[linktype]
    out, off = [], 24
    while off + 16 <= len(d):
        incl = struct.unpack(e + 'I', d[off + 8:off + 12])[0]
        frame = d[off + 16:off + 16 + incl]
        off += 16 + incl
        ip = frame[l2:]
        if l2 == 14 and frame[12:14] != b'\x08\x00':
            continue                                # not IPv4
        if not ip or ip[0] >> 4 != 4 or ip[9] != 17:
            continue                                # not IPv4/UDP
        udp = ip[(ip[0] & 0x0F) * 4:]
        ulen = struct.unpack('>H', udp[4:6])[0]
        out.append(udp[8:ulen])
    return out


class RtpPort:
    """One RTP socket: records every datagram it gets (in a thread) and
    sends streams paced by the monotonic clock."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        self.got = []                   # [(data, source)]
        self.sent = 0
        self.sender = None
        self._stop = False
        self._rx = threading.Thread(target=self._loop, daemon=True)
        self._rx.start()

    def _loop(self):
        self.sock.settimeout(0.05)
        while not self._stop:
            try:
                data, src = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            self.got.append((data, src))

    def send_stream(self, dest, pkts, pace=PACE):
        """Send pkts to dest in a thread, one every pace seconds."""
        def run():
            t0 = time.monotonic()
            for i, p in enumerate(pkts):
                delay = t0 + i * pace - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.sock.sendto(p, dest)
                self.sent += 1
        self.sender = threading.Thread(target=run, daemon=True)
        self.sender.start()

    def wait_sent(self, timeout):
        if self.sender:
            self.sender.join(timeout)
            return not self.sender.is_alive()
        return True

    def packets(self):
        return [d for d, _ in list(self.got)]

    def close(self):
        self._stop = True
        self._rx.join(2)
        self.sock.close()


# ---------------------------------------------------------------------------
# A small SIP phone over UDP (one call at a time)

def sdp(user, rtp_port, pt, te=None):
    """One G.711 format, and telephone-event/8000 at te if given."""
    name = {0: 'PCMU', 8: 'PCMA'}[pt]
    return ('v=0\r\n'
            'o=%s 1 1 IN IP4 127.0.0.1\r\n'
            's=-\r\n'
            'c=IN IP4 127.0.0.1\r\n'
            't=0 0\r\n'
            'm=audio %d RTP/AVP %d%s\r\n'
            'a=rtpmap:%d %s/8000\r\n'
            '%s'
            'a=sendrecv\r\n'
            % (user, rtp_port, pt, ' %d' % te if te is not None else '',
               pt, name,
               'a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n'
               % (te, te) if te is not None else '')).encode()


def sdp_audio(body):
    """(address, port, [payload types]) of the first audio stream."""
    text = body.decode('utf-8', 'replace')
    c = re.search(r'(?m)^c=IN IP4 ([0-9.]+)', text)
    m = re.search(r'(?m)^m=audio (\d+) RTP/AVP([ 0-9]*)', text)
    if not c or not m:
        return None
    return c.group(1), int(m.group(1)), [int(x) for x in m.group(2).split()]


def tag_of(value):
    m = re.search(r';\s*tag=([^;>\s]+)', value or '')
    return m.group(1) if m else None


class Phone:
    def __init__(self, pbx, user, password):
        self.pbx = pbx
        self.user = user
        self.password = password
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.local = self.sock.getsockname()
        self.rtp = RtpPort()
        self.pending = []               # messages not yet wanted
        self.cseq = 0
        self.dlg = None                 # dict once a call is up
        self.remote_sdp = None          # the PBX's SDP towards us
        self.remote_media = None        # (ip, port) from it

    def close(self):
        self.rtp.close()
        self.sock.close()

    @property
    def uri(self):
        return 'sip:%s@%s' % (self.user, self.pbx.domain)

    @property
    def contact(self):
        return '<sip:%s@%s:%d>' % (self.user, self.local[0], self.local[1])

    # -- transport
    def send(self, data, dest=None):
        self.sock.sendto(data, dest or self.pbx.addr)

    def _recv(self, timeout):
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, src = self.sock.recvfrom(65535)
        except socket.timeout:
            return None
        if not data.strip():
            return None
        return harness.SipMsg(data), src

    def wait(self, pred, timeout):
        """The first message (msg, src) for which pred(msg) holds, or
        None after timeout seconds; others are kept for later."""
        for i, (m, s) in enumerate(self.pending):
            if pred(m):
                del self.pending[i]
                return m, s
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r = self._recv(left)
            if r is None:
                continue
            if pred(r[0]):
                return r
            self.pending.append(r)

    # -- building
    def request(self, method, ruri, callid, frm, to, cseq, headers=(),
                body=b'', branch=None, cseq_method=None):
        branch = branch or 'z9hG4bK' + rand_token(12)
        lines = ['%s %s SIP/2.0' % (method, ruri),
                 'Via: SIP/2.0/UDP %s:%d;branch=%s;rport'
                 % (self.local[0], self.local[1], branch),
                 'Max-Forwards: 70',
                 'From: %s' % frm, 'To: %s' % to, 'Call-ID: %s' % callid,
                 'CSeq: %d %s' % (cseq, cseq_method or method),
                 'User-Agent: sb-test-media/1']
        lines += list(headers)
        lines.append('Content-Length: %d' % len(body))
        return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body, branch

    def response(self, req, code, reason, to_tag=None, headers=(),
                 body=b''):
        to = req.get('to')
        if to_tag and not tag_of(to):
            to += ';tag=' + to_tag
        lines = ['SIP/2.0 %d %s' % (code, reason)]
        lines += ['Via: %s' % v for v in req.get_all('via')]
        lines += ['From: %s' % req.get('from'), 'To: %s' % to,
                  'Call-ID: %s' % req.get('call-id'),
                  'CSeq: %s' % req.get('cseq')]
        lines += list(headers)
        lines.append('Content-Length: %d' % len(body))
        return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body

    def transact(self, data, callid, cseq, method, timeout=8.0):
        """Send a request, retransmit (T1 doubling) until a response,
        return (final response, [provisional ones]); None on timeout."""
        def mine(m):
            return (m.status is not None and m.get('call-id') == callid
                    and (m.get('cseq') or '').split() == [str(cseq),
                                                          method])
        deadline = time.monotonic() + timeout
        interval, provisional = 0.5, []
        self.send(data)
        next_tx = time.monotonic() + interval
        while time.monotonic() < deadline:
            until = deadline if provisional else min(deadline, next_tx)
            r = self.wait(mine, until - time.monotonic())
            if r is None:
                if not provisional and time.monotonic() < deadline:
                    self.send(data)
                    interval = min(interval * 2, 4.0)
                    next_tx = time.monotonic() + interval
                continue
            if r[0].status >= 200:
                return r[0], provisional
            provisional.append(r[0])
        return None, provisional

    # -- registration
    def register(self, expires=600):
        callid = rand_token(16) + '@test'
        frm = '<%s>;tag=%s' % (self.uri, rand_token(8))
        to = '<%s>' % self.uri
        ruri = 'sip:%s' % self.pbx.domain
        auth = []
        for _ in range(2):
            self.cseq += 1
            data, _ = self.request(
                'REGISTER', ruri, callid, frm, to, self.cseq,
                ['Contact: %s' % self.contact, 'Expires: %d' % expires]
                + auth)
            r, _ = self.transact(data, callid, self.cseq, 'REGISTER')
            if r is None or r.status != 401:
                return r
            chal = harness.pick_challenge(r)
            if chal is None:
                return r
            auth = ['Authorization: %s' % harness.authorization(
                chal, self.user, self.password, 'REGISTER', ruri)]
        return r

    # -- caller side
    def call(self, callee, pt=0, timeout=15.0, te=None, ruri=None):
        """INVITE callee (or the Request-URI ruri), answer the 407 once,
        ACK the 200. Returns the final response (None on timeout)."""
        callid = rand_token(16) + '@test'
        ltag = rand_token(8)
        frm = '<%s>;tag=%s' % (self.uri, ltag)
        ruri = ruri or 'sip:%s@%s' % (callee, self.pbx.domain)
        to = '<%s>' % ruri
        body = sdp(self.user, self.rtp.port, pt, te)
        auth = []
        for _ in range(2):
            self.cseq += 1
            cseq = self.cseq
            data, branch = self.request(
                'INVITE', ruri, callid, frm, to, cseq,
                ['Contact: %s' % self.contact,
                 'Content-Type: application/sdp'] + auth, body)
            r, _ = self.transact(data, callid, cseq, 'INVITE', timeout)
            if r is None:
                return None
            if r.status >= 300:
                # RFC 3261 17.1.1.3: ACK a failure in its transaction
                ack, _ = self.request('ACK', ruri, callid, frm,
                                      r.get('to'), cseq, branch=branch)
                self.send(ack)
            if r.status != 407:
                break
            chal = None
            for v in r.get_all('proxy-authenticate'):
                scheme, p = harness.parse_challenge(v)
                if scheme.lower() == 'digest':
                    chal = p
                    break
            if chal is None:
                return r
            auth = ['Proxy-Authorization: %s' % harness.authorization(
                chal, self.user, self.password, 'INVITE', ruri)]
        if r.status != 200:
            return r
        target = harness.contact_uri(r.contacts()[0]) if r.contacts() \
            else ruri
        routes = list(reversed(r.get_all('record-route')))
        self.dlg = {'callid': callid, 'from': frm, 'to': r.get('to'),
                    'target': target, 'routes': routes, 'cseq': cseq}
        ack, _ = self.request('ACK', target, callid, frm, r.get('to'), cseq,
                              ['Route: %s' % x for x in routes])
        self.send(ack)
        self._media_from(r.body)
        return r

    def _media_from(self, body):
        self.remote_sdp = body
        a = sdp_audio(body)
        self.remote_media = (a[0], a[1]) if a else None

    def hangup(self, timeout=8.0):
        """BYE in the dialog; the final response or None."""
        d = self.dlg
        self.cseq = max(self.cseq, d['cseq']) + 1
        data, _ = self.request('BYE', d['target'], d['callid'], d['from'],
                               d['to'], self.cseq,
                               ['Route: %s' % x for x in d['routes']])
        r, _ = self.transact(data, d['callid'], self.cseq, 'BYE', timeout)
        return r

    # -- callee side
    def answer(self, pt=0, timeout=15.0, te=None):
        """Wait for an INVITE, 180 then 200 with our SDP, until the ACK
        (retransmitting the 200, answering INVITE retransmissions)."""
        got = self.wait(lambda m: m.method == 'INVITE', timeout)
        if got is None:
            return None
        inv, src = got
        self._media_from(inv.body)
        ltag = rand_token(8)
        self.send(self.response(inv, 180, 'Ringing', ltag), src)
        ok = self.response(inv, 200, 'OK', ltag,
                           ['Contact: %s' % self.contact,
                            'Content-Type: application/sdp'],
                           sdp(self.user, self.rtp.port, pt, te))
        callid = inv.get('call-id')
        self.send(ok, src)
        interval = 0.5
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = self.wait(lambda m: m.method in ('ACK', 'INVITE') and
                          m.get('call-id') == callid,
                          min(interval, deadline - time.monotonic()))
            if r is not None and r[0].method == 'ACK':
                to = inv.get('to') + ';tag=' + ltag
                target = harness.contact_uri(inv.contacts()[0])
                self.dlg = {'callid': callid, 'from': to,
                            'to': inv.get('from'), 'target': target,
                            'routes': inv.get_all('record-route'),
                            'cseq': 0}
                return inv
            self.send(ok, src)
            interval = min(interval * 2, 4.0)
        return None

    def await_bye(self, timeout):
        """Wait for the BYE of the call and answer it 200."""
        d = self.dlg
        got = self.wait(lambda m: m.method == 'BYE' and
                        m.get('call-id') == d['callid'], timeout)
        if got is None:
            return None
        self.send(self.response(got[0], 200, 'OK'), got[1])
        return got[0]


class Bg(threading.Thread):
    """Run fn(*args) in a thread and keep its result."""

    def __init__(self, fn, *args, **kw):
        super().__init__(daemon=True)
        self.fn, self.args, self.kw = fn, args, kw
        self.result = self.error = None
        self.start()

    def run(self):
        try:
            self.result = self.fn(*self.args, **self.kw)
        except Exception as e:          # reported by the caller of get()
            self.error = e

    def get(self, timeout):
        self.join(timeout)
        if self.is_alive():
            raise RuntimeError('%s still running after %ss'
                               % (self.fn.__name__, timeout))
        if self.error:
            raise self.error
        return self.result


# ---------------------------------------------------------------------------
# The PBX side

RELAY = re.compile(r'^(\S+) (\S+) -> (\S+) (\S+) \d+s (\S+) '
                   r'a:(\S+) (\d+)/(\d+) lost (\d+) '
                   r'b:(\S+) (\d+)/(\d+) lost (\d+)$')


def calls(pbx):
    """`ctl calls`: [{'caller', 'dest', 'state', 'path', 'a_codec',
    'a_rx', 'a_tx', 'a_lost', 'b_codec', 'b_rx', 'b_tx', 'b_lost',
    'line'}]."""
    rc, out = pbx.ctl('calls')
    res = []
    for ln in out.splitlines():
        m = RELAY.match(ln.strip())
        if not m:
            continue
        g = m.groups()
        res.append({'caller': g[1], 'dest': g[2], 'state': g[3],
                    'path': g[4], 'a_codec': g[5],
                    'a_rx': int(g[6]), 'a_tx': int(g[7]),
                    'a_lost': int(g[8]), 'b_codec': g[9],
                    'b_rx': int(g[10]), 'b_tx': int(g[11]),
                    'b_lost': int(g[12]), 'line': ln})
    return res if rc == 0 else None


def cdr_rows(pbx):
    r = subprocess.run([pbx.bin, 'ctl', '-c', pbx.confdir, '-d',
                        pbx.datadir, 'cdr', '--csv', '--limit', '0'],
                       capture_output=True, text=True, timeout=10)
    return list(csv.DictReader(io.StringIO(r.stdout)))


def wait_cdr(pbx, n):
    rows = wait_until(lambda: (lambda r: r if len(r) >= n else None)(
        cdr_rows(pbx)), 5)
    return rows or []


def is_pbx_media(t, who, addr, phone_ports):
    """The SDP the PBX sent names its own media port (the transport was
    rewritten), not a phone's; that RTP then comes from there is checked
    on arrival."""
    t.check(addr is not None, '%s: no audio stream in the SDP from the PBX'
            % who)
    if addr:
        t.check(addr[0] == '127.0.0.1' and addr[1] not in phone_ports,
                '%s: SDP from the PBX points at %s:%d, not at a PBX media '
                'port' % ((who,) + addr))


def check_stream(t, what, sent, got, min_share=0.98):
    """got must be packets of sent, byte-identical, in order, with at
    most (1 - min_share) of them missing."""
    t.check(len(got) >= int(len(sent) * min_share),
            '%s: %d of %d packets arrived' % (what, len(got), len(sent)))
    index = {p: i for i, p in enumerate(sent)}
    pos = [index.get(p) for p in got]
    alien = [i for i, p in enumerate(pos) if p is None]
    if alien:
        g = got[alien[0]]
        # compare with the packet sent with that sequence number
        ex = [p for p in sent if p[2:4] == g[2:4]]
        if ex:
            e = ex[0]
            at = next((k for k in range(min(len(e), len(g)))
                       if e[k] != g[k]), min(len(e), len(g)))
            how = ('first difference at byte %d (%s), sent %d bytes, got '
                   '%d; sent %s, got %s'
                   % (at, 'RTP header' if at < 12 else 'payload', len(e),
                      len(g), e[max(0, at - 4):at + 8].hex(),
                      g[max(0, at - 4):at + 8].hex()))
        else:
            how = 'no packet with its sequence number was sent: %s' \
                % g[:12].hex()
        t.check(False, '%s: %d packets arrived changed; the first (#%d): %s'
                % (what, len(alien), alien[0], how))
    known = [p for p in pos if p is not None]
    t.check(known == sorted(known) and len(set(known)) == len(known),
            '%s: packets out of order or duplicated' % what)


def audio_of(pkts, table=ULAW):
    out = []
    for p in pkts:
        out.extend(table[b] for b in rtp_fields(p)[4])
    return out


def check_tone(t, what, pcm, freq):
    t.require(len(pcm) >= RATE // 2, '%s: only %d samples' % (what,
                                                              len(pcm)))
    level = rms(pcm)
    d = dominant(pcm)
    zc = zero_cross_freq(pcm)
    pur = purity(pcm[:RATE], freq)
    log('  %s: %d samples, rms %.0f, dominant %d Hz, zero crossings '
        '%.1f Hz, %.0f%% of the energy at %d Hz'
        % (what, len(pcm), level, d, zc, 100 * pur, freq))
    t.check(level > 1000, '%s: level %.0f: silence' % (what, level))
    t.check(abs(d - freq) <= 20, '%s: dominant frequency %d Hz, want %d'
            % (what, d, freq))
    t.check(abs(zc - freq) <= 5, '%s: zero-crossing frequency %.1f Hz, '
            'want %d' % (what, zc, freq))
    t.check(pur > 0.9, '%s: only %.0f%% of the energy at %d Hz'
            % (what, 100 * pur, freq))


def wait_received(phones_counts, timeout):
    """Until each phone's RTP port holds its count (or timeout)."""
    return wait_until(lambda: all(len(p.rtp.got) >= n
                                  for p, n in phones_counts), timeout)


def wait_quiet(port, quiet=0.5, timeout=10):
    """Until no packet has arrived on port for quiet seconds."""
    state = {'n': -1, 't': time.monotonic()}

    def still():
        n = len(port.got)
        if n != state['n']:
            state['n'], state['t'] = n, time.monotonic()
            return False
        return time.monotonic() - state['t'] >= quiet
    return wait_until(still, timeout)


# ---------------------------------------------------------------------------
# Subtests

def python_call(t, pbx, pt, up, down, ncdr, tones=None):
    """1001 calls 1002, both Python phones offering/answering only pt;
    the caller sends up, the callee down, at the same time, PACE apart.
    tones: (frequency the callee must hear, the caller must hear)."""
    caller = Phone(pbx, '1001', PW['1001'])
    callee = Phone(pbx, '1002', PW['1002'])
    try:
        for ph in (caller, callee):
            r = ph.register()
            t.require(r is not None and r.status == 200,
                      'REGISTER %s: %s' % (ph.user, r and r.start))
        ans = Bg(callee.answer, pt)
        r = caller.call('1002', pt)
        inv = ans.get(15)
        t.require(r is not None and r.status == 200,
                  'INVITE 1001 -> 1002: %s' % (r and r.start))
        t.require(inv is not None, 'the callee got no INVITE (or no ACK)')
        ports = (caller.rtp.port, callee.rtp.port)
        is_pbx_media(t, 'caller', caller.remote_media, ports)
        is_pbx_media(t, 'callee', callee.remote_media, ports)
        t.require(caller.remote_media and callee.remote_media,
                  'no media addresses')
        t.check(caller.remote_media != callee.remote_media,
                'both legs got the same PBX media port %r'
                % (caller.remote_media,))
        t.check(sdp_audio(callee.remote_sdp)[2][:1] == [pt],
                'offer to the callee lost PT %d: %r' % (pt,
                                                        callee.remote_sdp))
        t.check(sdp_audio(caller.remote_sdp)[2][:1] == [pt],
                'answer to the caller lost PT %d: %r'
                % (pt, caller.remote_sdp))

        caller.rtp.send_stream(caller.remote_media, up)
        callee.rtp.send_stream(callee.remote_media, down)

        # during the call: the relay counters move
        wait_received([(caller, len(down) // 4), (callee, len(up) // 4)],
                      10)
        mid = calls(pbx)
        t.check(mid and len(mid) == 1, 'ctl calls during the call: %r'
                % mid)
        if mid:
            c = mid[0]
            log('  mid-call: %s' % c['line'])
            t.check(c['caller'] == '1001' and c['dest'] == '1002' and
                    c['state'] == 'answered', 'ctl calls: %s' % c['line'])
            t.check(all(c[k] > 0 for k in ('a_rx', 'a_tx', 'b_rx',
                                            'b_tx')),
                    'relay counters not all moving mid-call: %s'
                    % c['line'])

        t.check(caller.rtp.wait_sent(15) and callee.rtp.wait_sent(15),
                'senders did not finish')
        wait_received([(caller, len(down)), (callee, len(up))], 5)
        wait_quiet(caller.rtp, 0.3, 3)
        end = calls(pbx)
        if end:
            c = end[0]
            log('  end of streams: %s' % c['line'])
            got_callee, got_caller = len(callee.rtp.got), \
                len(caller.rtp.got)
            t.check(c['a_rx'] == len(up) and c['b_rx'] == len(down),
                    'PBX received a:%d of %d, b:%d of %d packets'
                    % (c['a_rx'], len(up), c['b_rx'], len(down)))
            t.check(c['b_tx'] == got_callee and c['a_tx'] == got_caller,
                    'PBX says it sent b:%d a:%d, the phones got %d and %d'
                    % (c['b_tx'], c['a_tx'], got_callee, got_caller))
            t.check(c['a_lost'] == 0 and c['b_lost'] == 0,
                    'PBX counts losses on loopback: %s' % c['line'])
            # the same call and counters in machine-readable form
            js = pbx.ctl_json('calls')
            t.check(len(js) == 1 and js[0]['caller'] == '1001' and
                    js[0]['destination'] == '1002' and
                    js[0]['state'] == 'answered' and
                    (js[0]['a']['rx'], js[0]['a']['tx'],
                     js[0]['b']['rx'], js[0]['b']['tx']) ==
                    (c['a_rx'], c['a_tx'], c['b_rx'], c['b_tx']),
                    'ctl calls --json does not match ctl calls: %s / %s'
                    % (js, c['line']))

        # BYE from the caller reaches the callee
        bye = Bg(callee.await_bye, 10)
        r = caller.hangup()
        t.check(r is not None and r.status == 200, 'BYE: %s'
                % (r and r.start))
        t.check(bye.get(15) is not None, 'the callee got no BYE')

        # what each side got
        for who, ph, sent, freq in (('callee', callee, up, tones and
                                     tones[0]),
                                    ('caller', caller, down, tones and
                                     tones[1])):
            got = ph.rtp.packets()
            srcs = set(s for _, s in ph.rtp.got)
            t.check(srcs == {ph.remote_media},
                    '%s: RTP came from %r, the SDP said %r'
                    % (who, srcs, ph.remote_media))
            check_stream(t, 'RTP to the %s' % who, sent, got)
            if freq:
                check_tone(t, 'audio heard by the %s' % who,
                           audio_of(got), freq)

        rows = wait_cdr(pbx, ncdr)
        t.require(len(rows) >= ncdr, 'no CDR row after the BYE')
        row = rows[0]
        t.check(row['caller'] == '1001' and row['destination'] == '1002'
                and row['callee'] == 'user/1002', 'CDR row: %r' % row)
        t.check(row['cause_name'] == 'NORMAL_CLEARING' and
                row['hangup_side'] == 'caller', 'CDR cause/side: %r' % row)
        # N packets PACE apart span (N - 1) x PACE
        secs = (max(len(up), len(down)) - 1) * PACE
        t.check(int(row['billsec_ms'] or 0) >= secs * 1000,
                'billsec %s ms for a call that carried %.1f s of RTP'
                % (row['billsec_ms'], secs))
        t.check(calls(pbx) == [], 'ctl calls after the BYE: %r'
                % calls(pbx))
    finally:
        caller.close()
        callee.close()


def python_both_ways(t, pbx):
    """PCMU tones: 1 kHz from the caller, 440 Hz from the callee."""
    python_call(t, pbx, 0, tone_stream(1000), tone_stream(440), 1,
                tones=(1000, 440))


def python_pcap_both_ways(t, pbx, capture):
    """The RTP of g711a.pcap (PCMA) replayed by both phones (the
    callee's copy with its own SSRC)."""
    python_call(t, pbx, 8, capture, own_ssrc(capture, 0x5b0a2d00), 2)


def raw_sockets_allowed():
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                          socket.IPPROTO_UDP)
    except OSError:
        return False
    s.close()
    return True


def sipp_bg(pbx, scenario, tag, args, seconds=30):
    """A sipp process in the background, bounded by -timeout."""
    outdir = pbx.path('sipp-%s-%s' % (tag, rand_token(4)))
    os.makedirs(outdir)
    mp = free_port(tcp=False, also_next=True)
    cmd = ['sipp'] + args + [
        '-sf', os.path.join(harness.SCENARIOS, scenario), '-t', 'u1',
        '-i', '127.0.0.1', '-mi', '127.0.0.1', '-mp', str(mp),
        '-m', '1', '-l', '1', '-nostdin',
        '-timeout', '%ds' % seconds, '-timeout_error', '-trace_err',
        '-trace_msg', '-error_file', os.path.join(outdir, 'errors.log'),
        '-message_file', os.path.join(outdir, 'messages.log')]
    p = subprocess.Popen(cmd, cwd=outdir, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    p.outdir = outdir
    return p


def sipp_done(t, p, what):
    try:
        rc = p.wait(timeout=40)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait(10)
    if not t.check(rc == 0, '%s: sipp exit %d' % (what, rc)):
        harness._dump(os.path.join(p.outdir, 'errors.log'), 'sipp errors')
        harness._dump(os.path.join(p.outdir, 'messages.log'),
                      'sipp messages')
    return rc


def sipp_pcap_caller(pbx, callee, caller, password, tag):
    """A sipp caller (call_pcap_pcma.xml: offers PCMA, plays the capture
    once answered) authenticating as caller, calling callee."""
    return sipp_bg(pbx, 'call_pcap_pcma.xml', tag,
                   ['127.0.0.1:%d' % pbx.port, '-s', callee,
                    '-au', caller, '-ap', password,
                    '-auth_uri', '%s@%s' % (callee, pbx.domain),
                    '-key', 'domain', pbx.domain,
                    '-key', 'caller', caller])


def own_ssrc(pkts, ssrc):
    return [p[:8] + struct.pack('>I', ssrc) + p[12:] for p in pkts]


def sipp_caller_plays_pcap(t, pbx, capture, ncdr):
    callee = Phone(pbx, '1002', PW['1002'])
    sp = None
    try:
        r = callee.register()
        t.require(r is not None and r.status == 200,
                  'REGISTER 1002: %s' % (r and r.start))
        ans = Bg(callee.answer, 8)
        sp = sipp_pcap_caller(pbx, '1002', '1001', PW['1001'],
                              'caller-pcap')
        inv = ans.get(20)
        t.require(inv is not None, 'the callee got no INVITE from the '
                  'sipp caller (or no ACK)')
        t.check(sdp_audio(inv.body)[2][:1] == [8],
                'offer to the callee is not PCMA: %r' % inv.body)
        is_pbx_media(t, 'callee', callee.remote_media, (callee.rtp.port,))
        back = own_ssrc(capture, 0x5b0a2d01)
        callee.rtp.send_stream(callee.remote_media, back, pace=0.02)

        # the whole capture arrives (236 packets of 30 ms: 7 s)
        wait_received([(callee, len(capture))], 15)
        t.check(callee.rtp.wait_sent(15), 'callee sender did not finish')
        wait_quiet(callee.rtp, 0.5, 5)
        c = calls(pbx)
        if c:
            log('  before the BYE: %s' % c[0]['line'])
            t.check(c[0]['a_rx'] >= len(capture) and
                    c[0]['a_tx'] == len(back) and
                    c[0]['b_rx'] == len(back),
                    'relay counters: %s (the capture has %d packets, the '
                    'callee sent %d)' % (c[0]['line'], len(capture),
                                         len(back)))
        else:
            t.check(False, 'ctl calls shows no call: %r' % c)
        r = callee.hangup()
        t.check(r is not None and r.status == 200, 'BYE from the callee: '
                '%s' % (r and r.start))
        sipp_done(t, sp, 'sipp caller playing %s' % PCAP)
        sp = None
        got = callee.rtp.packets()
        check_stream(t, 'capture played by the sipp caller', capture, got,
                     min_share=1.0)
        rows = wait_cdr(pbx, ncdr)
        row = rows[0] if len(rows) >= ncdr else {}
        t.check(row.get('callee') == 'user/1002' and
                row.get('cause_name') == 'NORMAL_CLEARING' and
                row.get('hangup_side') == 'callee',
                'CDR of the call hung up by the callee: %r' % row)
    finally:
        if sp is not None and sp.poll() is None:
            sp.kill()
            sp.wait(10)
        callee.close()


def sipp_callee_plays_pcap(t, pbx, capture, ncdr):
    caller = Phone(pbx, '1001', PW['1001'])
    sp = None
    try:
        port = free_port()
        r = harness.run_sipp(pbx, 'reg_auth.xml', user='1002',
                             password=PW['1002'], port=port,
                             keys={'expires': 600})
        t.require(r.rc == 0, 'registering 1002 (sipp): exit %d' % r.rc)
        sp = sipp_bg(pbx, 'uas_pcap_pcma.xml', 'callee-pcap',
                     ['-p', str(port)])
        time.sleep(0.2)    # sipp binds its port; the INVITE comes later
        r = caller.call('1002', 8)
        t.require(r is not None and r.status == 200,
                  'INVITE 1001 -> sipp 1002: %s' % (r and r.start))
        is_pbx_media(t, 'caller', caller.remote_media, (caller.rtp.port,))
        t.check(sdp_audio(r.body)[2][:1] == [8],
                'answer to the caller is not PCMA: %r' % r.body)
        back = own_ssrc(capture, 0x5b0a2d02)
        caller.rtp.send_stream(caller.remote_media, back, pace=0.02)
        wait_received([(caller, len(capture))], 15)
        t.check(caller.rtp.wait_sent(15), 'caller sender did not finish')
        wait_quiet(caller.rtp, 0.5, 5)
        c = calls(pbx)
        if c:
            log('  before the BYE: %s' % c[0]['line'])
            t.check(c[0]['b_rx'] >= len(capture) and
                    c[0]['b_tx'] == len(back) and
                    c[0]['a_rx'] == len(back),
                    'relay counters: %s (the capture has %d packets, the '
                    'caller sent %d)' % (c[0]['line'], len(capture),
                                         len(back)))
        else:
            t.check(False, 'ctl calls shows no call: %r' % c)
        r = caller.hangup()
        t.check(r is not None and r.status == 200, 'BYE to the sipp '
                'callee: %s' % (r and r.start))
        sipp_done(t, sp, 'sipp callee playing %s' % PCAP)
        sp = None
        got = caller.rtp.packets()
        check_stream(t, 'capture played by the sipp callee', capture, got,
                     min_share=1.0)
        rows = wait_cdr(pbx, ncdr)
        row = rows[0] if len(rows) >= ncdr else {}
        t.check(row.get('callee') == 'user/1002' and
                row.get('cause_name') == 'NORMAL_CLEARING' and
                row.get('hangup_side') == 'caller',
                'CDR of the call to the sipp callee: %r' % row)
    finally:
        if sp is not None and sp.poll() is None:
            sp.kill()
            sp.wait(10)
        caller.close()


def g711_selftest(t):
    """The codec and the analysis used above, on known signals."""
    t.check(all(ulaw_decode(ulaw_encode(v)) == v for v in (0, 8, -8)) and
            ulaw_encode(0) == 0xFF and ULAW[0x00] == -32124 and
            ULAW[0x80] == 32124, 'mu-law table')
    x = [ULAW[ulaw_encode(v)] for v in tone(1000, RATE)]
    t.check(abs(zero_cross_freq(x) - 1000) < 1 and dominant(x) == 1000 and
            purity(x, 1000) > 0.95, 'tone analysis of a 1 kHz tone')


def body(start, t):
    pbx = start('media', USERS, extra_xml=DIALPLAN)
    t.run(g711_selftest)
    t.run(python_both_ways, pbx)
    capture = [p for p in read_pcap(PCAP) if len(p) >= 12 and
               p[0] >> 6 == 2] if os.path.exists(PCAP) else []
    if not capture:
        log('== pcap subtests: SKIPPED (%s missing or holds no RTP)'
            % PCAP)
    else:
        log('   %s: %d RTP packets, PT %d' % (PCAP, len(capture),
                                              rtp_fields(capture[0])[0]))
        t.run(python_pcap_both_ways, pbx, capture)
        if not raw_sockets_allowed():
            log('== sipp pcap subtests: SKIPPED (sipp plays a pcap '
                'through a raw socket: needs root or CAP_NET_RAW)')
        else:
            t.run(sipp_caller_plays_pcap, pbx, capture, 3)
            t.run(sipp_callee_plays_pcap, pbx, capture, 4)
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_media', body)

#!/usr/bin/env python3
"""Two baresip phones call each other through the PBX and hear each
other's tone.

baresip 1.0.0 runs headless: no audio device module at all. The audio
source is the aufile module playing a WAV made for the test (1001: a
1 kHz tone, 1002: 440 Hz; 8 kHz mono S16, made with sox, or with the
wave module when sox is missing); what a phone receives is recorded by
the sndfile module, which dumps the decoded received audio of a call to
SNDPATH/dump-TIME-dec.wav (and what it sends to ...-enc.wav). Each phone
is driven through the ctrl_tcp module (netstring JSON commands, events
on the same connection), bounded by -t and stopped by PID.

A second call goes from 1003, whose baresip speaks only Opus, to 1004,
which speaks only PCMU: the PBX transcodes (ctl calls says so, with each
leg's codec), each hears the other's tone at its level (within 2 dB),
and a DTMF 5 sent by 1003 (RFC 4733 events) reaches 1004 as an event.

Asserted: both register (ctl registrations, baresip user agent); 1001
dials 1002, which auto-answers (answermode=auto); the PBX shows the call
answered with RTP relayed both ways (ctl calls counters); after 1001
hangs up the PBX has no call left and the CDR row says 1001 -> user/1002,
NORMAL_CLEARING, hung up by the caller, 1002 got the BYE (its
CALL_CLOSED event); then 1002's recording of what it received is a
1 kHz tone (dominant frequency +-20 Hz, zero crossings, energy share,
level well above silence) and 1001's recording is 440 Hz.
"""

import csv
import io
import json
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import wave

import harness
from harness import free_port, log, wait_until
from test_media import RATE, dominant, purity, rms, zero_cross_freq

USERS = [{'id': u, 'password': 'secret' + u}
         for u in ('1001', '1002', '1003', '1004', '1005', '1006')]
PASSWORD = {u['id']: u['password'] for u in USERS}
AUTH = {'max-failures': 100}
MODULE_PATH = '/usr/lib/baresip/modules'
RUN_FOR = 60         # baresip quits by itself after this many seconds
TONE = {'1001': 1000, '1002': 440, '1003': 1000, '1004': 440,
        '1005': 1000, '1006': 440}
RELAYED = 100        # packets each way (2 s of audio) before hanging up

DIALPLAN = '''  <dialplan>
    <context name="default">
      <extension name="internal">
        <condition field="destination_number" expression="^(10\\d\\d)$">
          <action application="set" data="call_timeout=10"/>
          <action application="bridge" data="user/$1"/>
        </condition>
      </extension>
      <extension name="tone">
        <condition field="destination_number" expression="^9000$">
          <action application="answer"/>
          <action application="playback" data="tone://440,2000,0,1"/>
          <action application="hangup"/>
        </condition>
      </extension>
    </context>
  </dialplan>
'''


def make_tone_wav(path, freq, seconds=20, rate=RATE, channels=1):
    """S16LE sine at half scale: sox, or Python's wave."""
    if shutil.which('sox'):
        r = subprocess.run(['sox', '-n', '-r', str(rate), '-c',
                            str(channels),
                            '-b', '16', '-e', 'signed-integer', path,
                            'synth', str(seconds), 'sine', str(freq),
                            'vol', '0.5'], capture_output=True, timeout=30)
        if r.returncode == 0:
            return 'sox'
        log('sox failed (%s): writing %s with the wave module'
            % (r.stderr.decode(errors='replace').strip(), path))
    n = rate * seconds
    data = struct.pack('<%dh' % (n * channels), *(
        int(round(16383 * math.sin(2 * math.pi * freq * (i // channels) /
                                   rate)))
        for i in range(n * channels)))
    with wave.open(path, 'wb') as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data)
    return 'wave module'


def read_wav(path):
    """(rate, the first channel's samples)"""
    with wave.open(path, 'rb') as w:
        ch = w.getnchannels()
        if w.getsampwidth() != 2:
            raise ValueError('%s: %d bytes/sample'
                             % (path, w.getsampwidth()))
        n = w.getnframes()
        rate = w.getframerate()
        x = list(struct.unpack('<%dh' % (n * ch), w.readframes(n)))
    return rate, x[::ch]


class Ctrl:
    """A ctrl_tcp connection: netstring JSON both ways; a thread keeps
    every event and response that comes in."""

    def __init__(self, port, timeout=5):
        self.sock = socket.create_connection(('127.0.0.1', port),
                                             timeout=timeout)
        self.msgs = []
        self.lock = threading.Lock()
        self.n = 0
        self.buf = b''
        self.closed = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        self.sock.settimeout(0.2)
        while not self.closed:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            self.buf += data
            while True:
                m = re.match(rb'(\d+):', self.buf)
                if not m:
                    break
                n, s = int(m.group(1)), m.end()
                if len(self.buf) < s + n + 1:
                    break
                try:
                    msg = json.loads(self.buf[s:s + n].decode())
                except ValueError:
                    msg = {'unparsed': self.buf[s:s + n]}
                self.buf = self.buf[s + n + 1:]
                with self.lock:
                    self.msgs.append(msg)

    def command(self, cmd, params='', timeout=5):
        """Send a command, wait (bounded) for its response."""
        self.n += 1
        token = 't%d' % self.n
        j = json.dumps({'command': cmd, 'params': params,
                        'token': token}).encode()
        self.sock.sendall(b'%d:%s,' % (len(j), j))
        return wait_until(lambda: next(
            (m for m in list(self.msgs) if m.get('response') and
             m.get('token') == token), None), timeout)

    def events(self, kind=None):
        return [m for m in list(self.msgs) if m.get('event') and
                (kind is None or m.get('type') == kind)]

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(2)


class Phone:
    """One baresip: its own config dir, a WAV as its microphone, the
    sndfile dump as its ear, ctrl_tcp as its keypad."""

    def __init__(self, pbx, user, password, wav, codec='PCMU'):
        self.pbx = pbx
        self.user = user
        self.dir = pbx.path('baresip-%s' % user)
        n = 2
        while os.path.exists(self.dir):     # the same user called again
            self.dir = pbx.path('baresip-%s-%d' % (user, n))
            n += 1
        self.rec = os.path.join(self.dir, 'rec')
        os.makedirs(self.rec)
        self.port = free_port(also_next=True)
        self.ctrl_port = free_port()
        self.log = os.path.join(self.dir, 'baresip.log')
        self.proc = None
        self.ctrl = None
        with open(os.path.join(self.dir, 'config'), 'w') as f:
            f.write('# written by test_baresip_call.py: no audio device;\n'
                    '# a WAV file is the source, sndfile records\n'
                    'poll_method\t\tepoll\n'
                    'sip_listen\t\t127.0.0.1:%d\n'
                    'dns_server\t\t127.0.0.1:53\n'
                    'audio_source\t\taufile,%s\n'
                    'module_path\t\t%s\n'
                    'module\t\t\tg711.so\n'
                    '%s'
                    'module\t\t\taufile.so\n'
                    'module\t\t\tsndfile.so\n'
                    'snd_path\t\t%s\n'
                    'module_tmp\t\tuuid.so\n'
                    'module_tmp\t\taccount.so\n'
                    'module_app\t\tmenu.so\n'
                    'module_app\t\tctrl_tcp.so\n'
                    'ctrl_tcp_listen\t\t127.0.0.1:%d\n'
                    % (self.port, wav, MODULE_PATH,
                       {'opus': 'module\t\t\topus.so\n',
                        'G722': 'module\t\t\tg722.so\n'}.get(codec, ''),
                       self.rec, self.ctrl_port))
        with open(os.path.join(self.dir, 'accounts'), 'w') as f:
            f.write('<sip:%s@127.0.0.1:%d>;auth_pass=%s;regint=600;'
                    'answermode=auto;audio_codecs=%s\n'
                    % (user, pbx.port, password,
                       {'opus': 'opus/48000/2',
                        'G722': 'G722/16000/1'}.get(codec, codec)))

    def start(self):
        with open(self.log, 'ab') as lf:
            self.proc = subprocess.Popen(
                ['baresip', '-f', self.dir, '-v', '-t', str(RUN_FOR)],
                stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                start_new_session=True)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def connect(self, timeout=10):
        """ctrl_tcp, once baresip listens (bounded)."""
        def attempt():
            if not self.alive():
                return 'exited'
            try:
                return Ctrl(self.ctrl_port)
            except OSError:
                return None
        c = wait_until(attempt, timeout, 0.1)
        self.ctrl = c if isinstance(c, Ctrl) else None
        return self.ctrl

    def stop(self, timeout=10):
        """SIGTERM, bounded wait, then SIGKILL: only our process."""
        if self.ctrl:
            self.ctrl.close()
            self.ctrl = None
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

    def recording(self, kind='dec'):
        names = sorted(n for n in os.listdir(self.rec)
                       if n.endswith('-%s.wav' % kind))
        return os.path.join(self.rec, names[-1]) if names else None

    def print_log(self):
        harness._dump(self.log, 'baresip %s log' % self.user, limit=12000)


def registered(pbx, user):
    return [r for r in pbx.registrations(user)
            if 'baresip' in str(r.get('user_agent', '')).lower()]


def the_call(pbx):
    rc, out = pbx.ctl('calls')
    m = re.search(r'(\S+) -> (\S+) (\S+) \d+s (\S+) a:(\S+) (\d+)/(\d+) '
                  r'lost (\d+) b:(\S+) (\d+)/(\d+) lost (\d+)', out)
    if rc != 0 or not m:
        return None
    g = m.groups()
    return {'caller': g[0], 'dest': g[1], 'state': g[2], 'path': g[3],
            'a_codec': g[4], 'a_rx': int(g[5]), 'a_tx': int(g[6]),
            'b_codec': g[8], 'b_rx': int(g[9]), 'b_tx': int(g[10]),
            'line': out.strip()}


def loud_part(x, threshold=500):
    idx = [i for i, v in enumerate(x) if abs(v) > threshold]
    return x[idx[0]:idx[-1] + 1] if idx else []


def check_recording(t, who, path, freq):
    t.require(path is not None, '%s: no recording of the received audio '
              '(sndfile wrote nothing)' % who)
    rate, x = read_wav(path)
    t.require(rate % RATE == 0, '%s: recording at %d Hz' % (who, rate))
    if rate != RATE:
        # Opus at 48 kHz or G.722 at 16 kHz of audio that was G.711 on
        # the other leg: nothing above 4 kHz, every 6th (2nd) sample is
        # the 8 kHz signal
        log('  %s: recording at %d Hz, taking every %dth sample'
            % (who, rate, rate // RATE))
        x = x[::rate // RATE]
        rate = RATE
    loud = loud_part(x)
    mid = len(loud) // 2
    w = loud[max(0, mid - RATE // 2):mid + RATE // 2]
    level = rms(loud)
    log('  %s: %s: %.2f s, %.2f s above silence, rms %.0f'
        % (who, os.path.basename(path), len(x) / rate,
           len(loud) / rate, level))
    t.require(len(loud) >= RATE, '%s: only %.2f s of sound in %s'
              % (who, len(loud) / rate, path))
    d = dominant(w)
    zc = zero_cross_freq(loud)
    pur = purity(w, freq)
    log('  %s: dominant %d Hz, zero crossings %.1f Hz, %.0f%% of the '
        'energy at %d Hz' % (who, d, zc, 100 * pur, freq))
    # sent at half scale: rms 16383 / sqrt(2); G.711 and Opus keep a
    # tone's level well within 2 dB, a gain error would not
    want = 16383 / math.sqrt(2)
    t.check(abs(20 * math.log10(max(level, 1) / want)) <= 2.0,
            '%s: level rms %.0f, sent %.0f: more than 2 dB off'
            % (who, level, want))
    t.check(abs(d - freq) <= 20, '%s: dominant frequency %d Hz, want %d '
            '+-20' % (who, d, freq))
    t.check(abs(zc - freq) <= 20, '%s: zero-crossing frequency %.1f Hz, '
            'want %d +-20' % (who, zc, freq))
    t.check(pur > 0.8, '%s: only %.0f%% of the energy at %d Hz'
            % (who, 100 * pur, freq))


def tone_wav(pbx, freq, codec):
    """baresip's aufile wants the codec's rate and channels: 8 kHz mono
    for G.711, 48 kHz stereo for Opus (opus/48000/2)"""
    rate, ch = {'opus': (48000, 2), 'G722': (16000, 1)}.get(codec,
                                                          (RATE, 1))
    path = pbx.path('tone-%d-%d-%d.wav' % (freq, rate, ch))
    if not os.path.exists(path):
        how = make_tone_wav(path, freq, rate=rate, channels=ch)
        log('  %s made with %s' % (os.path.basename(path), how))
    return path


def pcmu_both(t, pbx):
    """Both phones on PCMU: relayed unchanged."""
    baresip_call(t, pbx, '1001', 'PCMU', '1002', 'PCMU', 'relay')


def opus_to_pcmu(t, pbx):
    """1003 speaks only Opus, 1004 only PCMU: the PBX offers 1004 Opus
    first and PCMU after, 1004 takes PCMU, the caller keeps Opus: the
    call is transcoded (Opus decoded and encoded at 8 kHz). Each hears
    the other's tone; a DTMF 5 pressed on 1003 (RFC 4733 at 48 kHz)
    reaches 1004 (RFC 4733 at 8 kHz)."""
    baresip_call(t, pbx, '1003', 'opus', '1004', 'PCMU', 'transcode',
                 dtmf='5')


def g722_to_pcma(t, pbx):
    """1005 speaks only G.722 (16 kHz audio), 1006 only PCMA: decoded,
    resampled 16 <-> 8 kHz, encoded; tones and a DTMF 5 go across."""
    baresip_call(t, pbx, '1005', 'G722', '1006', 'PCMA', 'transcode',
                 dtmf='5')


def opus_hears_prompt(t, pbx):
    """1003 (Opus only) calls 9000: answer, a 2 s 440 Hz tone, hang up.
    The PBX's prompts are G.711: the media worker transcodes them to
    Opus, and the phone hears the tone."""
    a = Phone(pbx, '1003', PASSWORD['1003'], tone_wav(pbx, 1000, 'opus'),
              'opus')
    ok = False
    try:
        a.start()
        got = wait_until(lambda: 'exited' if not a.alive() else
                         registered(pbx, '1003'), 15, 0.2)
        t.require(got and got != 'exited', '1003 did not register')
        t.require(a.connect(), 'no ctrl_tcp connection')
        r = a.ctrl.command('dial', '9000')
        t.require(r and r.get('ok'), '1003: dial 9000: %r' % r)
        t.check(wait_until(lambda: a.ctrl.events('CALL_CLOSED'), 15),
                '1003: the PBX did not hang up after the tone: %r'
                % a.ctrl.events())
        ok = True
    finally:
        rc = a.stop()
        if rc not in (0, None):
            log('baresip 1003 exit %s' % rc)
        if not ok:
            a.print_log()
    path = a.recording('dec')
    t.require(path is not None, 'no recording')
    rate, x = read_wav(path)
    x = x[::rate // RATE]
    loud = loud_part(x)
    log('  1003 heard %.2f s of sound' % (len(loud) / RATE))
    t.require(len(loud) >= RATE, 'only %.2f s of sound' % (len(loud) / RATE))
    mid = len(loud) // 2
    w = loud[max(0, mid - RATE // 2):mid + RATE // 2]
    d, pur = dominant(w), purity(w, 440)
    log('  1003 heard: dominant %d Hz, %.0f%% of the energy at 440 Hz, rms '
        '%.0f' % (d, 100 * pur, rms(loud)))
    t.check(abs(d - 440) <= 20 and pur > 0.8, 'the prompt: %d Hz, %.0f%% '
            'at 440 Hz' % (d, 100 * pur))


def baresip_call(t, pbx, ida, codec_a, idb, codec_b, path, dtmf=None):
    a = Phone(pbx, ida, PASSWORD[ida], tone_wav(pbx, TONE[ida], codec_a),
              codec_a)
    b = Phone(pbx, idb, PASSWORD[idb], tone_wav(pbx, TONE[idb], codec_b),
              codec_b)
    ok = False
    try:
        for p in (b, a):
            p.start()
        got = wait_until(lambda: 'exited' if not (a.alive() and b.alive())
                         else (registered(pbx, ida) and
                               registered(pbx, idb)), 15, 0.2)
        t.require(got != 'exited', 'a baresip exited early (%s rc %s, '
                  '%s rc %s)' % (ida, a.proc.poll(), idb, b.proc.poll()))
        t.require(got, 'not both registered: %r' % pbx.registrations())
        t.require(a.connect() and b.connect(), 'no ctrl_tcp connection '
                  '(%s %s, %s %s)' % (ida, a.ctrl, idb, b.ctrl))

        r = a.ctrl.command('dial', idb)
        t.require(r and r.get('ok'), '%s: dial %s: %r' % (ida, idb, r))

        def flowing():
            c = the_call(pbx)
            return c if c and c['state'] == 'answered' and \
                min(c['a_rx'], c['a_tx'], c['b_rx'], c['b_tx']) >= \
                RELAYED else None
        c = wait_until(flowing, 15, 0.1)
        last = the_call(pbx)
        t.require(c, 'no answered call relaying %d packets each way: %s'
                  % (RELAYED, last and last['line']))
        log('  %s' % c['line'])
        t.check(c['caller'] == ida and c['dest'] == idb,
                'ctl calls: %s' % c['line'])
        t.check((c['path'], c['a_codec'], c['b_codec']) ==
                (path, codec_a, codec_b),
                'ctl calls: want %s a:%s b:%s: %s'
                % (path, codec_a, codec_b, c['line']))
        t.check(b.ctrl.events('CALL_ESTABLISHED') and
                a.ctrl.events('CALL_ESTABLISHED'),
                'CALL_ESTABLISHED events: %s %r, %s %r'
                % (ida, a.ctrl.events(), idb, b.ctrl.events()))

        if dtmf:
            r = a.ctrl.command('sndcode', dtmf)
            t.check(r and r.get('ok'), '%s: sndcode %s: %r'
                    % (ida, dtmf, r))
            got = wait_until(lambda: b.ctrl.events('CALL_DTMF_START'), 5)
            t.check(got and str(got[0].get('param')) == dtmf,
                    '%s did not receive DTMF %s: %r'
                    % (idb, dtmf, b.ctrl.events()))
            if got:
                log('  %s received DTMF %s' % (idb, got[0].get('param')))

        r = a.ctrl.command('hangup')
        t.check(r and r.get('ok'), '1001: hangup: %r' % r)
        t.check(wait_until(lambda: b.ctrl.events('CALL_CLOSED'), 10),
                '1002 did not see the call close (BYE from the PBX): %r'
                % b.ctrl.events())
        t.check(wait_until(lambda: the_call(pbx) is None, 5),
                'the PBX still has the call: %r' % the_call(pbx))
        rows = wait_until(lambda: [r for r in cdr_rows(pbx)
                                   if r['caller'] == ida], 5)
        t.require(rows, 'no CDR row')
        row = rows[0]
        t.check(row['caller'] == ida and row['destination'] == idb
                and row['callee'] == 'user/' + idb and
                row['cause_name'] == 'NORMAL_CLEARING' and
                row['hangup_side'] == 'caller', 'CDR row: %r' % row)
        # N packets 20 ms apart span (N - 1) x 20 ms
        t.check(int(row['billsec_ms'] or 0) >= (RELAYED - 1) * 20,
                'billsec %s ms, but %d packets (%d ms) went each way'
                % (row['billsec_ms'], RELAYED, (RELAYED - 1) * 20))
        ok = True
    finally:
        for p in (a, b):
            rc = p.stop()
            if rc not in (0, None):
                log('baresip %s exit %s' % (p.user, rc))
            if not ok:
                p.print_log()
    # the sndfile dumps are complete once the phones have quit
    check_recording(t, '%s heard' % idb, b.recording('dec'), TONE[ida])
    check_recording(t, '%s heard' % ida, a.recording('dec'), TONE[idb])


def cdr_rows(pbx):
    r = subprocess.run([pbx.bin, 'ctl', '-c', pbx.confdir, '-d',
                        pbx.datadir, 'cdr', '--csv', '--limit', '0'],
                       capture_output=True, text=True, timeout=10)
    return list(csv.DictReader(io.StringIO(r.stdout)))


def body(start, t):
    pbx = start('baresip-call', USERS, auth=AUTH, extra_xml=DIALPLAN)
    t.run(pcmu_both, pbx)
    t.run(opus_to_pcmu, pbx)
    t.run(g722_to_pcma, pbx)
    t.run(opus_hears_prompt, pbx)
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_baresip_call', body)

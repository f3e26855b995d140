#!/usr/bin/env python3
"""SIP trunks against providers simulated by sipp on loopback addresses.

Providers (each a sipp on its own 127.0.0.x):
  a    127.0.0.2 UDP, country code 49, area 201, P-Asserted-Identity,
       max-calls 1
  b    127.0.0.3 UDP, country code 49
  c    127.0.0.10 TCP, country code 49
  dead 127.0.0.4 TCP, nothing listens, OPTIONS every second
  reg  127.0.0.5 UDP, registers (registrar that challenges, checks the
       password, grants 5 s)
  bad  127.0.0.6 UDP, registers with a wrong password
  gone 127.0.0.7 TCP, registers, nothing listens
  png  127.0.0.8 UDP, OPTIONS every second to a sipp that answers
The dialplan: 9N -> trunk/a/N|trunk/b/N, 7N -> trunk/dead/N|trunk/b/N,
6N -> trunk/c/N; from trunks, +4920155510XX -> user/10XX.

Subtests: outbound over UDP (Request-URI in E.164, PAI, the trunk's
call count), over TCP; failover from a 503 (time taken) and from a dead
trunk (skipped at once once OPTIONS marked it down); a busy callee is not
tried on the next trunk; max-calls overflows to the next trunk; class of
service (internal user, international number) gets 403 and nothing
reaches a provider; a trunk group tried in turn (a down member skipped);
a domain trunk through NAPTR/SRV/A with failover across SRV targets;
caller privacy; registration: registered and refreshed, credentials
rejected, unreachable; OPTIONS marks a trunk down and up again; inbound
DID from a trunk's address reaches the extension, an INVITE from an
unknown address is challenged and reaches nothing.
"""

import os
import re
import socket
import subprocess
import time

import harness
from harness import free_port, log, rand_token, wait_until
from dnsserver import DnsServer
from test_media import Bg, Phone

USERS = [{'id': '1001', 'password': 'secret1001'},
         {'id': '1002', 'password': 'secret1002'},
         {'id': '1003', 'password': 'secret1003', 'cos': 'internal'},
         {'id': '1004', 'password': 'secret1004', 'cos': 'international'}]
PW = {u['id']: u['password'] for u in USERS}

IPS = {'a': '127.0.0.2', 'b': '127.0.0.3', 'c': '127.0.0.10',
       'dead': '127.0.0.4', 'reg': '127.0.0.5', 'bad': '127.0.0.6',
       'gone': '127.0.0.7', 'png': '127.0.0.8'}
TP = {'c': 'tcp', 'dead': 'tcp', 'gone': 'tcp'}


def trunks_xml(ports):
    def attrs(name, **kw):
        d = {'name': name, 'host': IPS[name], 'port': ports[name],
             'transport': TP.get(name, 'udp')}
        d.update(kw)
        return '    <trunk %s/>' % ' '.join('%s="%s"' % (k, v)
                                            for k, v in d.items())
    return '\n'.join([
        '  <trunks>',
        attrs('a', **{'country-code': 49, 'area-code': 201, 'pai': 'yes',
                      'max-calls': 1, 'codecs': 'PCMU PCMA'}),
        attrs('b', **{'country-code': 49}),
        attrs('c', **{'country-code': 49}),
        attrs('dead', **{'country-code': 49, 'ping': '1s'}),
        attrs('reg', register='yes', username='trunkuser',
              password='trunkpw', expires='60s'),
        attrs('bad', register='yes', username='trunkuser',
              password='wrong'),
        attrs('gone', register='yes', username='trunkuser',
              password='trunkpw'),
        attrs('png', ping='1s'),
        # a domain: NAPTR, SRV (two targets), A from the test's DNS
        '    <trunk name="srv" host="itsp.test" country-code="49"/>',
        '    <group name="pstn" trunks="dead a b"/>',
        '  </trunks>', ''])


DIALPLAN = '''  <dialplan>
    <context name="default">
      <extension name="out">
        <condition field="destination_number" expression="^9(\\d+)$">
          <action application="set" data="call_timeout=10"/>
          <action application="bridge" data="trunk/a/$1|trunk/b/$1"/>
        </condition>
      </extension>
      <extension name="out-dead-first">
        <condition field="destination_number" expression="^7(\\d+)$">
          <action application="bridge" data="trunk/dead/$1|trunk/b/$1"/>
        </condition>
      </extension>
      <extension name="out-tcp">
        <condition field="destination_number" expression="^6(\\d+)$">
          <action application="bridge" data="trunk/c/$1"/>
        </condition>
      </extension>
      <extension name="out-private">
        <condition field="destination_number" expression="^\\*67(\\d+)$">
          <action application="set" data="privacy=yes"/>
          <action application="bridge" data="trunk/b/$1"/>
        </condition>
      </extension>
      <extension name="out-group">
        <condition field="destination_number" expression="^2(\\d+)$">
          <action application="bridge" data="tgroup/pstn/$1"/>
        </condition>
      </extension>
      <extension name="out-srv">
        <condition field="destination_number" expression="^3(\\d+)$">
          <action application="bridge" data="trunk/srv/$1"/>
        </condition>
      </extension>
      <extension name="internal">
        <condition field="destination_number" expression="^(10\\d\\d)$">
          <action application="bridge" data="user/$1"/>
        </condition>
      </extension>
    </context>
    <context name="from-trunk">
      <extension name="did">
        <condition field="destination_number"
                   expression="^\\+?4920155510(\\d\\d)$">
          <action application="bridge" data="user/10$1"/>
        </condition>
      </extension>
    </context>
  </dialplan>
'''


class Provider:
    """A sipp in the background on a provider's address, bounded by
    -timeout; its message log says what reached it."""

    def __init__(self, pbx, name, scenario, port, calls=1, seconds=40,
                 transport='udp'):
        self.name = name
        self.outdir = pbx.path('prov-%s-%s' % (name, rand_token(4)))
        os.makedirs(self.outdir)
        self.msgs = os.path.join(self.outdir, 'messages.log')
        mp = free_port(IPS[name], tcp=False, also_next=True)
        cmd = ['sipp', '-sf', os.path.join(harness.SCENARIOS, scenario),
               '-t', {'udp': 'u1', 'tcp': 't1'}[transport],
               '-i', IPS[name], '-p', str(port), '-mi', IPS[name],
               '-mp', str(mp), '-m', str(calls), '-nostdin',
               '-timeout', '%ds' % seconds, '-timeout_error',
               '-trace_err', '-trace_msg',
               '-error_file', os.path.join(self.outdir, 'errors.log'),
               '-message_file', self.msgs]
        self.proc = subprocess.Popen(cmd, cwd=self.outdir,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        time.sleep(0.3)          # listening before anyone sends

    def text(self):
        try:
            with open(self.msgs, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def invites(self):
        return re.findall(r'(?m)^INVITE (\S+) SIP/2.0', self.text())

    def wait(self, timeout=30):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def trunks(pbx):
    return {t['name']: t for t in pbx.ctl_json('trunks') or []}


def legs_of_last_call(pbx):
    r = subprocess.run([pbx.bin, 'ctl', '-c', pbx.confdir, '-d',
                        pbx.datadir, 'cdr', '--csv', '--limit', '1'],
                       capture_output=True, text=True, timeout=10)
    return r.stdout


def phone(t, pbx, user):
    p = Phone(pbx, user, PW[user])
    r = p.register()
    t.require(r is not None and r.status == 200, 'REGISTER %s: %s'
              % (user, r and r.start))
    return p


def outbound_udp(t, pbx, ports):
    prov = Provider(pbx, 'a', 'uas_answer.xml', ports['a'])
    p = phone(t, pbx, '1001')
    try:
        r = p.call('90201555999')
        t.require(r is not None and r.status == 200, 'call over trunk a: '
                  '%s' % (r and r.start))
        inv = prov.invites()
        log('  provider a got INVITE %s' % inv)
        t.check(inv and inv[0].startswith('sip:+49201555999@127.0.0.2'),
                'Request-URI not E.164 to the trunk: %r' % inv)
        text = prov.text()
        t.check(re.search(r'(?mi)^P-Asserted-Identity: .*<sip:1001@',
                          text), 'no P-Asserted-Identity with 1001: %s'
                % text[:1500])
        t.check(re.search(r'(?m)^m=audio \d+ RTP/AVP 0 8', text),
                'offer to trunk a is not its codecs (PCMU PCMA): %s'
                % text[:1500])
        tr = trunks(pbx)
        t.check(tr['a']['active'] == 1 and tr['a']['max_calls'] == 1,
                'ctl trunks during the call: %r' % tr['a'])
        t.check(tr['a']['peak_kbps_plan'] == 80 and
                tr['a']['peak_kbps_ip'] == 80,
                'bandwidth for 1 G.711 call: %r' % tr['a'])
        r = p.hangup()
        t.check(r is not None and r.status == 200, 'BYE: %s'
                % (r and r.start))
        t.check(prov.wait() == 0, 'provider a: sipp failed')
        t.check(wait_until(lambda: trunks(pbx)['a']['active'] == 0, 5),
                'trunk a still counts the call')
    finally:
        prov.kill()
        p.close()


def outbound_tcp(t, pbx, ports):
    prov = Provider(pbx, 'c', 'uas_answer.xml', ports['c'],
                    transport='tcp')
    p = phone(t, pbx, '1001')
    try:
        r = p.call('60201555777')     # 0-prefixed: national
        t.require(r is not None and r.status == 200, 'call over TCP: %s'
                  % (r and r.start))
        inv = prov.invites()
        t.check(inv and inv[0].startswith('sip:+49201555777@127.0.0.10')
                and 'transport=tcp' in inv[0], 'INVITE over TCP: %r' % inv)
        p.hangup()
        t.check(prov.wait() == 0, 'provider c (TCP): sipp failed')
    finally:
        prov.kill()
        p.close()


def failover_503(t, pbx, ports):
    pa = Provider(pbx, 'a', 'uas_503.xml', ports['a'])
    pb = Provider(pbx, 'b', 'uas_answer.xml', ports['b'])
    p = phone(t, pbx, '1001')
    try:
        t0 = time.monotonic()
        r = p.call('90201555123')
        took = time.monotonic() - t0
        t.require(r is not None and r.status == 200, 'call: %s'
                  % (r and r.start))
        log('  503 on a, answered on b: %.0f ms from INVITE to 200'
            % (1000 * took))
        t.check(pa.invites() and pb.invites(), 'a: %r, b: %r'
                % (pa.invites(), pb.invites()))
        p.hangup()
        t.check(pa.wait() == 0 and pb.wait() == 0, 'providers failed')
        legs = legs_of_last_call(pbx)
        t.check('503' in legs and 'trunk/b' in legs, 'CDR legs: %s' % legs)
    finally:
        pa.kill()
        pb.kill()
        p.close()


def dead_trunk_skipped(t, pbx, ports):
    down = wait_until(lambda: trunks(pbx)['dead']['state'] == 'down', 15)
    t.require(down, 'OPTIONS did not mark trunk dead down: %r'
              % trunks(pbx).get('dead'))
    log('  trunk dead: %s' % trunks(pbx)['dead'])
    pb = Provider(pbx, 'b', 'uas_answer.xml', ports['b'])
    p = phone(t, pbx, '1001')
    try:
        t0 = time.monotonic()
        r = p.call('70201555123')
        took = time.monotonic() - t0
        t.require(r is not None and r.status == 200, 'call: %s'
                  % (r and r.start))
        log('  dead trunk skipped, answered on b: %.0f ms' % (1000 * took))
        t.check(took < 2.0, 'failover from a dead trunk took %.1f s' % took)
        p.hangup()
        t.check(pb.wait() == 0, 'provider b failed')
        legs = legs_of_last_call(pbx)
        t.check('trunk down' in legs, 'CDR legs: %s' % legs)
    finally:
        pb.kill()
        p.close()


def busy_not_retried(t, pbx, ports):
    pa = Provider(pbx, 'a', 'uas_busy.xml', ports['a'])
    pb = Provider(pbx, 'b', 'uas_answer.xml', ports['b'], seconds=8)
    p = phone(t, pbx, '1001')
    try:
        r = p.call('90201555123')
        t.check(r is not None and r.status == 486, 'busy callee: %s, '
                'want 486' % (r and r.start))
        time.sleep(0.5)
        t.check(pa.invites() and not pb.invites(),
                'a busy callee was rung on the next trunk: a %r, b %r'
                % (pa.invites(), pb.invites()))
        pa.wait()
    finally:
        pa.kill()
        pb.kill()
        p.close()


def max_calls_overflow(t, pbx, ports):
    pa = Provider(pbx, 'a', 'uas_answer.xml', ports['a'])
    pb = Provider(pbx, 'b', 'uas_answer.xml', ports['b'])
    p1 = phone(t, pbx, '1001')
    p2 = phone(t, pbx, '1004')
    try:
        r = p1.call('90201555001')
        t.require(r is not None and r.status == 200, 'first call: %s'
                  % (r and r.start))
        r = p2.call('90201555002')
        t.require(r is not None and r.status == 200, 'second call: %s'
                  % (r and r.start))
        t.check(len(pa.invites()) == 1 and len(pb.invites()) == 1,
                'max-calls 1 on a: a got %r, b got %r'
                % (pa.invites(), pb.invites()))
        legs = legs_of_last_call(pbx)
        p1.hangup()
        p2.hangup()
        pa.wait()
        pb.wait()
        legs = legs_of_last_call(pbx)
        t.check('full' in legs, 'CDR legs of the second call: %s' % legs)
    finally:
        pa.kill()
        pb.kill()
        p1.close()
        p2.close()


def class_of_service(t, pbx, ports):
    pa = Provider(pbx, 'a', 'uas_answer.xml', ports['a'], seconds=10)
    pb = Provider(pbx, 'b', 'uas_answer.xml', ports['b'], seconds=10)
    p3 = phone(t, pbx, '1003')
    p1 = phone(t, pbx, '1001')
    try:
        r = p3.call('90201555123')
        t.check(r is not None and r.status == 403, 'internal-only user: '
                '%s, want 403' % (r and r.start))
        r = p1.call('900441234567')          # 00 44: international
        t.check(r is not None and r.status == 403, 'national user, '
                'international number: %s, want 403' % (r and r.start))
        time.sleep(0.5)
        t.check(not pa.invites() and not pb.invites(),
                'a refused call reached a provider: %r %r'
                % (pa.invites(), pb.invites()))
    finally:
        pa.kill()
        pb.kill()
        p1.close()
        p3.close()


def registration(t, pbx, ports, regs):
    st = wait_until(lambda: trunks(pbx)['reg']['registration'] ==
                    'registered' and trunks(pbx), 10)
    t.check(st, 'trunk reg: %r' % trunks(pbx).get('reg'))
    # the registrar grants 5 s: the refresh must come, with credentials
    rc = regs['reg'].wait(15)
    t.check(rc == 0, 'registrar: no refresh before expiry (sipp %s)' % rc)
    st = wait_until(lambda: trunks(pbx)['bad']['registration'] ==
                    'credentials rejected', 10)
    t.check(st, 'wrong password: %r' % trunks(pbx).get('bad'))
    st = wait_until(lambda: trunks(pbx)['gone']['registration'] ==
                    'unreachable', 10)
    t.check(st, 'nothing listening: %r' % trunks(pbx).get('gone'))
    log('  reg: %s' % trunks(pbx)['reg']['registration'])
    log('  bad: %s (%s)' % (trunks(pbx)['bad']['registration'],
                            trunks(pbx)['bad']['reg_code']))
    log('  gone: %s' % trunks(pbx)['gone']['registration'])
    rc, out = pbx.ctl('trunks')
    log('  ctl trunks:\n    ' + '\n    '.join(out.strip().splitlines()))


def options_health(t, pbx, ports):
    t.check(wait_until(lambda: trunks(pbx)['png']['state'] == 'down', 15),
            'png should be down (nothing answered its pings): %r'
            % trunks(pbx).get('png'))
    prov = Provider(pbx, 'png', 'uas_options.xml', ports['png'], calls=6)
    t0 = time.monotonic()
    up = wait_until(lambda: trunks(pbx)['png']['state'] == 'up', 10)
    t.check(up, 'answered pings did not bring png up: %r'
            % trunks(pbx).get('png'))
    log('  png up %.1f s after its provider answered (rtt %s ms)'
        % (time.monotonic() - t0, trunks(pbx)['png']['rtt_ms']))
    prov.wait(15)
    t0 = time.monotonic()
    down = wait_until(lambda: trunks(pbx)['png']['state'] == 'down', 15)
    t.check(down, 'png did not go down when its pings failed')
    log('  png down %.1f s after its provider stopped'
        % (time.monotonic() - t0))
    prov.kill()


def inbound_did(t, pbx, ports):
    callee = phone(t, pbx, '1002')
    try:
        ans = Bg(callee.answer, 0, 10)
        res = harness.run_sipp(pbx, 'uac_trunk_inbound.xml',
                               local_ip=IPS['a'], user='+492015551002',
                               keys={'caller': '+4930123456'}, timeout=20)
        inv = ans.get(15)
        t.check(inv is not None, 'the DID did not reach 1002')
        t.check(res.rc == 0, 'provider call to the DID failed: %s'
                % res.errors[:500])
        if inv is not None:
            t.check('+4930123456' in (inv.get('from') or ''),
                    'caller number not passed on: %r' % inv.get('from'))
    finally:
        callee.close()

    # an unknown address: challenged, nothing rings
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.9', 0))
    s.settimeout(5)
    cid = rand_token(12)
    body = ('v=0\r\no=x 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 '
            '127.0.0.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n')
    msg = ('INVITE sip:90201555123@127.0.0.1 SIP/2.0\r\n'
           'Via: SIP/2.0/UDP 127.0.0.9:%d;branch=z9hG4bK%s;rport\r\n'
           'From: <sip:x@127.0.0.9>;tag=%s\r\nTo: <sip:90201555123@'
           '127.0.0.1>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n'
           'Contact: <sip:x@127.0.0.9:%d>\r\nMax-Forwards: 70\r\n'
           'Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s'
           % (s.getsockname()[1], rand_token(8), rand_token(6), cid,
              s.getsockname()[1], len(body), body))
    s.sendto(msg.encode(), pbx.addr)
    codes = []
    try:
        while True:
            data = s.recv(4096).decode(errors='replace')
            m = re.match(r'SIP/2.0 (\d+)', data)
            if m:
                codes.append(int(m.group(1)))
                if int(m.group(1)) >= 200:
                    break
    except socket.timeout:
        pass
    s.close()
    t.check(codes and codes[-1] in (401, 403, 407),
            'INVITE from an unknown address got %r' % codes)


def trunk_group(t, pbx, ports):
    """tgroup/pstn: dead (down: skipped), a (503), b (answers)."""
    pa = Provider(pbx, 'a', 'uas_503.xml', ports['a'])
    pb = Provider(pbx, 'b', 'uas_answer.xml', ports['b'])
    p = phone(t, pbx, '1001')
    try:
        r = p.call('20201555777')
        t.check(r is not None and r.status == 200, 'call to the group: %s'
                % (r and r.start))
        t.check(pa.invites() and pb.invites(), 'group in turn: a %r, b %r'
                % (pa.invites(), pb.invites()))
        if r is not None and r.status == 200:
            p.hangup()
        pa.wait(10)
        pb.wait(10)
        legs = legs_of_last_call(pbx)
        t.check('trunk/dead' in legs and 'trunk down' in legs,
                'CDR legs: %s' % legs)
    finally:
        pa.kill()
        pb.kill()
        p.close()


def caller_privacy(t, pbx, ports):
    """*67: privacy=yes: the provider sees an anonymous From, the real
    number only in P-Asserted-Identity, and Privacy: id (RFC 3323)."""
    pb = Provider(pbx, 'b', 'uas_answer.xml', ports['b'])
    p = phone(t, pbx, '1001')
    try:
        r = p.call('*670201555777')
        t.require(r is not None and r.status == 200, 'call: %s'
                  % (r and r.start))
        text = pb.text()
        inv = text[text.find('INVITE sip:'):]
        inv = inv[:inv.find('\n\n')] if '\n\n' in inv else inv
        t.check(re.search(r'(?mi)^From: "?Anonymous"? '
                          r'<sip:anonymous@anonymous.invalid>', inv) and
                re.search(r'(?mi)^P-Asserted-Identity: .*<sip:1001@', inv)
                and re.search(r'(?mi)^Privacy: id', inv),
                'anonymous call: %s' % inv[:1200])
        p.hangup()
        pb.wait(10)
    finally:
        pb.kill()
        p.close()


def srv_failover(t, pbx, ports, dns):
    """trunk srv is host="itsp.test": NAPTR says UDP, SRV gives a (first)
    and b; a answers 503 and libre goes on to b (RFC 3263 4.3)."""
    pa = Provider(pbx, 'a', 'uas_503.xml', ports['a'])
    pb = Provider(pbx, 'b', 'uas_answer.xml', ports['b'])
    p = phone(t, pbx, '1001')
    try:
        r = p.call('30201555777')
        t.check(r is not None and r.status == 200, 'call to a domain '
                'trunk: %s' % (r and r.start))
        log('  DNS questions: %s' % sorted(set(dns.queries)))
        t.check(('itsp.test', 'NAPTR') in dns.queries and
                ('_sip._udp.itsp.test', 'SRV') in dns.queries and
                ('a.itsp.test', 'A') in dns.queries,
                'NAPTR, SRV, A not all asked: %r' % dns.queries)
        t.check(pa.invites() and pb.invites(), 'SRV failover: a %r, b %r'
                % (pa.invites(), pb.invites()))
        if r is not None and r.status == 200:
            p.hangup()
        pa.wait(10)
        pb.wait(10)
    finally:
        pa.kill()
        pb.kill()
        p.close()


def reload_trunks(t, pbx, ports):
    """A reload adds, changes and removes trunks; the others keep their
    state (png stays as it was, reg stays registered)."""
    before = trunks(pbx)
    pbx.extra_xml = pbx.extra_xml.replace(
        '<trunk name="bad"', '<trunk name="bad2"').replace(
        '<trunk name="gone"', '<trunk name="gone" max-calls="7"')
    pbx.write_config()
    rc, out = pbx.ctl('reload')
    t.require(rc == 0, 'reload: %s' % out)
    after = trunks(pbx)
    t.check('bad' not in after and 'bad2' in after,
            'renamed trunk: %r' % sorted(after))
    t.check(after['gone']['max_calls'] == 7, 'changed trunk: %r'
            % after['gone'])
    t.check(after['reg']['registration'] == before['reg']['registration']
            and after['reg']['calls'] == before['reg']['calls'],
            'an unchanged trunk lost its state: %r -> %r'
            % (before['reg'], after['reg']))
    t.check(after['a']['calls'] == before['a']['calls'] and
            after['a']['calls'] > 0, 'trunk a lost its call count: %r -> %r'
            % (before['a'], after['a']))


def body(start, t):
    ports = {n: free_port(ip, also_next=False) for n, ip in IPS.items()}
    # the registrars first: the PBX registers as it starts
    class Dir:
        def __init__(self):
            import tempfile
            self.tmp = tempfile.mkdtemp(prefix='sb-trunks-reg-')

        def path(self, *p):
            return os.path.join(self.tmp, *p)
    d = Dir()
    regs = {'reg': Provider(d, 'reg', 'reg_server.xml', ports['reg'],
                            seconds=40),
            'bad': Provider(d, 'bad', 'reg_server.xml', ports['bad'],
                            seconds=40)}
    dns = DnsServer({
        ('itsp.test', 'NAPTR'): [(10, 10, 'S', 'SIP+D2U', '',
                                  '_sip._udp.itsp.test')],
        ('_sip._udp.itsp.test', 'SRV'): [(10, 0, ports['a'], 'a.itsp.test'),
                                         (20, 0, ports['b'],
                                          'b.itsp.test')],
        ('a.itsp.test', 'A'): [IPS['a']],
        ('b.itsp.test', 'A'): [IPS['b']],
    })
    pbx = start('trunks', USERS, auth={'max-failures': 100},
                extra_xml=trunks_xml(ports) + DIALPLAN,
                settings_xml='<dns servers="%s:%d"/>' % dns.addr)
    try:
        t.run(registration, pbx, ports, regs)
        t.run(outbound_udp, pbx, ports)
        t.run(outbound_tcp, pbx, ports)
        t.run(failover_503, pbx, ports)
        t.run(busy_not_retried, pbx, ports)
        t.run(max_calls_overflow, pbx, ports)
        t.run(class_of_service, pbx, ports)
        t.run(dead_trunk_skipped, pbx, ports)
        t.run(options_health, pbx, ports)
        t.run(inbound_did, pbx, ports)
        t.run(srv_failover, pbx, ports, dns)
        t.run(caller_privacy, pbx, ports)
        t.run(trunk_group, pbx, ports)
        t.run(reload_trunks, pbx, ports)
    finally:
        for r in regs.values():
            r.kill()
        import shutil
        shutil.rmtree(d.tmp, ignore_errors=True)
        dns.close()
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_trunks', body)

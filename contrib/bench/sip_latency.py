#!/usr/bin/env python3
"""The server's own share of call set-up time, from a packet capture.

sipp measures set-up from its first INVITE to the 200: that includes
both sipps (on the same cores) and the kernel. This takes a capture of
the server's SIP port (tcpdump -i lo -w FILE udp port PORT, during a
contrib/bench/calls step) and times, per call, what the server itself
holds a call up for:

  challenge  first INVITE in   -> 407 out
  forward    INVITE with credentials in -> INVITE to the callee out
  answer     the callee's 200 in -> 200 to the caller out

and, for comparison, the callee's own time (INVITE out -> 200 in) and
the whole (credentials in -> 200 out). Legs are matched by the caller's
user (the b-leg's From) and time; Call-IDs within each leg.

  contrib/bench/sip_latency.py CAPTURE PORT
"""

import struct
import sys


def packets(path):
    """(time, src port, dst port, payload) of each UDP/IPv4 datagram."""
    with open(path, 'rb') as f:
        head = f.read(24)
        magic = struct.unpack('<I', head[:4])[0]
        nano = magic == 0xa1b23c4d
        link = struct.unpack('<I', head[20:24])[0]
        skip = {1: 14, 113: 16, 276: 20}.get(link, 0)   # Ethernet, SLL, SLL2
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, frac, incl, _ = struct.unpack('<IIII', h)
            data = f.read(incl)
            t = sec + frac / (1e9 if nano else 1e6)
            ip = data[skip:]
            if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            ihl = (ip[0] & 15) * 4
            sport, dport = struct.unpack('>HH', ip[ihl:ihl + 4])
            yield t, sport, dport, ip[ihl + 8:]


def header(msg, name):
    for ln in msg.split('\r\n')[1:]:
        if not ln:
            break
        k, _, v = ln.partition(':')
        if k.strip().lower() == name:
            return v.strip()
    return ''


def user(v):
    i = v.find('sip:')
    if i < 0:
        return ''
    return v[i + 4:].split('@')[0]


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float('nan')
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))]


def main():
    path, port = sys.argv[1], int(sys.argv[2])
    first_in = {}       # a call-id -> time of the first INVITE
    challenge = []
    auth_in = {}        # caller user -> [(time, a call-id)] waiting
    b_of = {}           # b call-id -> (a call-id, t auth in, t b out)
    a_times = {}        # a call-id -> t auth in
    b_ok = {}           # a call-id -> (t b 200 in, t b out)
    forward, answer, callee, whole, both = [], [], [], [], []

    for t, sp, dp, payload in packets(path):
        msg = payload.decode('ascii', 'replace')
        start = msg.split('\r\n', 1)[0]
        cid = header(msg, 'call-id')
        cseq = header(msg, 'cseq')
        inbound = dp == port
        if start.startswith('INVITE ') and inbound:
            if 'proxy-authorization' in msg.lower():
                u = user(header(msg, 'from'))
                auth_in.setdefault(u, []).append((t, cid))
                a_times[cid] = t
            else:
                first_in.setdefault(cid, t)
        elif start.startswith('SIP/2.0 407') and not inbound:
            if cid in first_in:
                challenge.append(t - first_in.pop(cid))
        elif start.startswith('INVITE ') and not inbound:
            u = user(header(msg, 'from'))
            q = auth_in.get(u)
            if q:
                t1, acid = q.pop(0)
                b_of[cid] = (acid, t1, t)
                forward.append(t - t1)
        elif start.startswith('SIP/2.0 200') and 'INVITE' in cseq:
            if inbound and cid in b_of:
                acid, t1, t2 = b_of.pop(cid)
                b_ok[acid] = (t, t2 - t1)
                callee.append(t - t2)
            elif not inbound and cid in b_ok:
                t3, fwd = b_ok.pop(cid)
                answer.append(t - t3)
                both.append(fwd + t - t3)
                whole.append(t - a_times.pop(cid, t))

    print('%d calls matched in %s' % (len(answer), path))
    print('%-34s %8s %8s %8s %8s' % ('ms', 'p50', 'p90', 'p99', 'max'))
    for name, xs in (('server: first INVITE -> 407', challenge),
                     ('server: INVITE -> INVITE to callee', forward),
                     ('server: callee 200 -> 200 to caller', answer),
                     ('callee (sipp): INVITE -> 200', callee),
                     ('whole: INVITE -> 200 to caller', whole)):
        print('%-34s %8.3f %8.3f %8.3f %8.3f'
              % (name, 1000 * pct(xs, 50), 1000 * pct(xs, 90),
                 1000 * pct(xs, 99), 1000 * max(xs or [0])))
    print('%-34s %8.3f %8.3f %8.3f %8.3f'
          % ('server: forward + answer', 1000 * pct(both, 50),
             1000 * pct(both, 90), 1000 * pct(both, 99),
             1000 * max(both or [0])))


if __name__ == '__main__':
    main()

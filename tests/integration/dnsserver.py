"""A small authoritative DNS server for tests (UDP, loopback): answers
NAPTR, SRV, A and AAAA from a table, NOERROR with no answer for a name
it knows under another type, NXDOMAIN otherwise. Logs every question."""

import socket
import struct
import threading

TYPES = {'A': 1, 'AAAA': 28, 'SRV': 33, 'NAPTR': 35}


def _name(n):
    out = b''
    for label in n.rstrip('.').split('.'):
        out += bytes([len(label)]) + label.encode()
    return out + b'\0'


def _cstr(s):
    return bytes([len(s)]) + s.encode()


def _rdata(rtype, v):
    if rtype == 'A':
        return socket.inet_aton(v)
    if rtype == 'SRV':
        prio, weight, port, target = v
        return struct.pack('>HHH', prio, weight, port) + _name(target)
    if rtype == 'NAPTR':
        order, pref, flags, service, regexp, repl = v
        return (struct.pack('>HH', order, pref) + _cstr(flags) +
                _cstr(service) + _cstr(regexp) + _name(repl))
    raise ValueError(rtype)


def _qname(data, off):
    labels = []
    while data[off]:
        n = data[off]
        labels.append(data[off + 1:off + 1 + n].decode())
        off += 1 + n
    return '.'.join(labels).lower(), off + 1


class DnsServer:
    """records: {(name, 'TYPE'): [value, ...]}"""

    def __init__(self, records, ip='127.0.0.1'):
        self.records = {(n.lower().rstrip('.'), t): v
                        for (n, t), v in records.items()}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.sock.settimeout(0.2)
        self.addr = self.sock.getsockname()
        self.queries = []
        self.stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop:
            try:
                data, src = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.sock.sendto(self._answer(data), src)
            except (ValueError, IndexError, struct.error, OSError):
                continue

    def _answer(self, data):
        qid, flags, qd = struct.unpack('>HHH', data[:6])
        name, off = _qname(data, 12)
        qtype, qclass = struct.unpack('>HH', data[off:off + 4])
        question = data[12:off + 4]
        tname = next((k for k, v in TYPES.items() if v == qtype), str(qtype))
        self.queries.append((name, tname))
        values = self.records.get((name, tname), [])
        known = any(n == name for n, _ in self.records)
        rcode = 0 if values or known else 3
        answers = b''
        for v in values:
            rd = _rdata(tname, v)
            answers += (_name(name) + struct.pack('>HHIH', qtype, 1, 60,
                                                  len(rd)) + rd)
        head = struct.pack('>HHHHHH', qid, 0x8400 | (flags & 0x0100) |
                           rcode, 1, len(values), 0, 0)
        return head + question + answers

    def close(self):
        self.stop = True
        self.sock.close()
        self.thread.join(2)

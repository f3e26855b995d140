"""Helpers shared by the benchmarks in contrib/bench (register, calls).

Everything here runs on 127.0.0.1 and stops only the processes the
benchmark started, by their PID.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

KAM_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, flush=True)


_used_ports = set()


def free_port():
    """A port free for UDP and TCP on 127.0.0.1 (not handed out twice)."""
    for _ in range(200):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            ok = port not in _used_ports
        except OSError:
            ok = False
        finally:
            t.close()
            u.close()
        if ok:
            _used_ports.add(port)
            return port
    raise RuntimeError("no free port found")


def sip_options(port, timeout=0.2):
    """Send one OPTIONS to 127.0.0.1:port; True on any 200 response."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        lport = s.getsockname()[1]
        tag = "%x" % int(time.time() * 1e6)
        msg = (
            "OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-bench-%s\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:bench@127.0.0.1>;tag=%s\r\n"
            "To: <sip:127.0.0.1:%d>\r\n"
            "Call-ID: bench-ping-%s@127.0.0.1\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n" % (port, lport, tag, tag, port, tag)
        )
        s.sendto(msg.encode(), ("127.0.0.1", port))
        s.settimeout(timeout)
        data, _ = s.recvfrom(65535)
        return data.startswith(b"SIP/2.0 200")
    except OSError:
        return False
    finally:
        s.close()


def proc_tree_cpu(pid):
    """CPU seconds (user + system) of pid and all its live descendants."""
    parents = {}
    times = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(")") + 2:].split()
        # rest[0] = state, rest[1] = ppid, utime/stime are fields 14/15
        parents[int(d)] = int(rest[1])
        times[int(d)] = int(rest[11]) + int(rest[12])
    tree = {pid}
    grew = True
    while grew:
        grew = False
        for p, pp in parents.items():
            if pp in tree and p not in tree:
                tree.add(p)
                grew = True
    return sum(times.get(p, 0) for p in tree) / CLK_TCK


def udp_rcvbuf_errors():
    """System-wide count of UDP datagrams dropped for a full receive buffer."""
    try:
        with open("/proc/net/snmp") as f:
            rows = [l.split() for l in f if l.startswith("Udp:")]
        return int(rows[1][rows[0].index("RcvbufErrors")])
    except (OSError, ValueError, IndexError):
        return 0


def stop_process(proc, name, grace=5.0):
    """SIGTERM the process by PID, SIGKILL after grace seconds."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log("  %s (pid %d) ignored SIGTERM; SIGKILL" % (name, proc.pid))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)
    except ProcessLookupError:
        pass


def percentile(sorted_vals, p):
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]



def ms(v):
    if v is None:
        return "-"
    return "%.2f" % v if v < 10 else "%.1f" % v if v < 100 else "%.0f" % v


def fmt_rate(v):
    return "-" if v is None else "%.0f" % v


def ensure_kamailio(need_sqlite):
    have = shutil.which("kamailio") and os.path.exists(os.path.join(KAM_MODULES, "registrar.so"))
    have_sql = os.path.exists(os.path.join(KAM_MODULES, "db_sqlite.so"))
    if have and (have_sql or not need_sqlite):
        return True
    pkgs = ["kamailio"] + (["kamailio-sqlite-modules"] if need_sqlite else [])
    cmd = ["apt-get", "install", "-y", "--no-install-recommends"] + pkgs
    if os.geteuid() != 0:
        cmd = ["sudo", "-n"] + cmd
    log("installing %s (only the benchmark needs it)" % " ".join(pkgs))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, env=env, timeout=900)
        if r.returncode != 0:
            upd = (["sudo", "-n"] if os.geteuid() != 0 else []) + ["apt-get", "update"]
            subprocess.run(upd, stdin=subprocess.DEVNULL, env=env, timeout=900)
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, env=env, timeout=900)
        return r.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False

#!/usr/bin/env python3
"""Calls through the B2BUA with real peers: sipp phones register, one
calls another through the dialplan, and the CDR tells what happened.

- 1001 calls 1002 who answers: 407 then 180 and 200 reach the caller,
  the BYE reaches the callee, the CDR row says answered by user/1002.
- 1003 is busy (486): the dialplan goes on to its next action (bridge
  user/1004, who answers).
- the caller cancels while it rings: the callee gets CANCEL, the caller
  487, the CDR says ORIGINATOR_CANCEL by the caller.
- a number nobody has: refused (no route), CDR cause NO_ROUTE_DESTINATION.
"""

import csv
import io
import os
import subprocess
import time

import harness
from harness import run_sipp, free_port, log

PW = {u: 'secret' + u for u in ('1001', '1002', '1003', '1004', '1005',
                                 '1006', '1007')}
USERS = [{'id': u, 'password': p} for u, p in PW.items()]

DIRECTORY_EXTRA = '''  <directory>
    <group id="sales" members="1006 1007" strategy="simultaneous"/>
  </directory>
'''

DIALPLAN = '''  <dialplan>
    <context name="default">
      <extension name="busy-goes-on">
        <condition field="destination_number" expression="^1003$">
          <action application="bridge" data="user/1003"/>
          <action application="bridge" data="user/1004"/>
        </condition>
      </extension>
      <extension name="sales">
        <condition field="destination_number" expression="^2000$">
          <action application="bridge" data="group/sales"/>
        </condition>
      </extension>
      <extension name="internal">
        <condition field="destination_number" expression="^(10\\d\\d)$">
          <action application="set" data="call_timeout=10"/>
          <action application="bridge" data="user/$1"/>
        </condition>
      </extension>
      <extension name="nothing">
        <condition>
          <action application="hangup" data="NO_ROUTE_DESTINATION"/>
        </condition>
      </extension>
    </context>
  </dialplan>
'''


def register(t, pbx, user, port):
    r = run_sipp(pbx, 'reg_auth.xml', user=user, password=PW[user],
                 port=port, keys={'expires': 600})
    t.require(r.rc == 0, 'registering %s: sipp exit %d' % (user, r.rc))


def callee(pbx, scenario, port, seconds=20):
    """A sipp phone on port answering one call as scenario says."""
    outdir = pbx.path('callee-%s-%d' % (scenario, port))
    os.makedirs(outdir, exist_ok=True)
    cmd = ['sipp', '-sf', os.path.join(harness.SCENARIOS, scenario),
           '-i', '127.0.0.1', '-p', str(port), '-m', '1', '-nostdin',
           '-timeout', '%ds' % seconds, '-timeout_error', '-trace_err',
           '-trace_msg', '-error_file', os.path.join(outdir, 'errors.log'),
           '-message_file', os.path.join(outdir, 'messages.log')]
    return subprocess.Popen(cmd, cwd=outdir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def finish(p, name, t):
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    t.check(rc == 0, '%s: sipp exit %d' % (name, rc))
    return rc


def call(pbx, scenario, caller, callee_id, keys=None):
    k = {'caller': caller}
    k.update(keys or {})
    return run_sipp(pbx, scenario, user=caller, password=PW[caller],
                    keys=k, timeout=25,
                    extra=['-s', callee_id, '-auth_uri',
                           '%s@%s' % (callee_id, pbx.domain)])


def cdr_rows(pbx):
    r = subprocess.run([pbx.bin, 'ctl', '-c', pbx.confdir, '-d',
                        pbx.datadir, 'cdr', '--csv', '--limit', '0'],
                       capture_output=True, text=True, timeout=10)
    return list(csv.DictReader(io.StringIO(r.stdout)))


def wait_cdr(pbx, n):
    rows = harness.wait_until(lambda: len(cdr_rows(pbx)) >= n and
                              cdr_rows(pbx), 5)
    return rows or []


def answered(t, pbx):
    port = free_port()
    register(t, pbx, '1002', port)
    p = callee(pbx, 'uas_answer.xml', port)
    time.sleep(0.2)   # sipp binds its port; the INVITE comes later anyway
    r = call(pbx, 'call_answered.xml', '1001', '1002')
    t.check(r.rc == 0, 'caller 1001 -> 1002: sipp exit %d' % r.rc)
    finish(p, 'callee 1002', t)
    rows = wait_cdr(pbx, 1)
    t.require(rows, 'no CDR row')
    row = rows[0]
    t.check(row['caller'] == '1001' and row['destination'] == '1002' and
            row['callee'] == 'user/1002', 'CDR row: %r' % row)
    t.check(row['cause_name'] == 'NORMAL_CLEARING' and
            row['hangup_side'] == 'caller', 'CDR cause/side: %r' % row)
    t.check(int(row['billsec_ms']) >= 800,
            'billable time %s ms for a 1 s call' % row['billsec_ms'])


def busy_goes_on(t, pbx):
    p3, p4 = free_port(), free_port()
    register(t, pbx, '1003', p3)
    register(t, pbx, '1004', p4)
    busy = callee(pbx, 'uas_busy.xml', p3)
    ans = callee(pbx, 'uas_answer.xml', p4)
    time.sleep(0.2)
    r = call(pbx, 'call_answered.xml', '1001', '1003')
    t.check(r.rc == 0, 'caller 1001 -> 1003 (busy, then 1004): exit %d'
            % r.rc)
    finish(busy, 'callee 1003 (busy)', t)
    finish(ans, 'callee 1004', t)
    rows = wait_cdr(pbx, 2)
    row = rows[0] if rows else {}
    t.check(row.get('callee') == 'user/1004' and
            '486' in row.get('legs', ''), 'CDR after busy: %r' % row)


def cancelled(t, pbx):
    port = free_port()
    register(t, pbx, '1002', port)
    p = callee(pbx, 'uas_cancel.xml', port)
    time.sleep(0.2)
    r = call(pbx, 'call_cancel.xml', '1001', '1002')
    t.check(r.rc == 0, 'caller cancels: exit %d' % r.rc)
    finish(p, 'callee 1002 (cancelled)', t)
    rows = wait_cdr(pbx, 3)
    row = rows[0] if rows else {}
    t.check(row.get('cause_name') == 'ORIGINATOR_CANCEL' and
            row.get('hangup_side') == 'caller' and
            row.get('billsec_ms') == '0', 'CDR after cancel: %r' % row)


def no_route(t, pbx):
    r = call(pbx, 'call_refused.xml', '1001', '555',
             )
    t.check(r.rc == 0, 'call to 555: exit %d (want 404)' % r.rc)
    rows = wait_cdr(pbx, 4)
    row = rows[0] if rows else {}
    t.check(row.get('cause_name') == 'NO_ROUTE_DESTINATION',
            'CDR of the unroutable call: %r' % row)


def two_contacts(t, pbx):
    """A user with two registered phones: both ring, the first to answer
    gets the call, the other one gets CANCEL."""
    pa, pb = free_port(), free_port()
    register(t, pbx, '1005', pa)
    register(t, pbx, '1005', pb)
    t.check(len(pbx.registrations('1005')) == 2, 'two bindings of 1005')
    ans = callee(pbx, 'uas_answer.xml', pa)
    cancelled = callee(pbx, 'uas_cancel.xml', pb)
    time.sleep(0.2)
    r = call(pbx, 'call_answered.xml', '1001', '1005')
    t.check(r.rc == 0, 'caller 1001 -> 1005 (two phones): exit %d' % r.rc)
    finish(ans, 'the phone of 1005 that answers', t)
    finish(cancelled, 'the phone of 1005 that gets CANCEL', t)
    rows = wait_cdr(pbx, 5)
    row = rows[0] if rows else {}
    t.check(row.get('callee') == 'user/1005' and
            'cancelled (answered elsewhere)' in row.get('legs', ''),
            'CDR of the forked call: %r' % row)


def group(t, pbx):
    """group/sales rings 1006 (busy) and 1007 together; 1007 answers."""
    p6, p7 = free_port(), free_port()
    register(t, pbx, '1006', p6)
    register(t, pbx, '1007', p7)
    busy = callee(pbx, 'uas_busy.xml', p6)
    ans = callee(pbx, 'uas_answer.xml', p7)
    time.sleep(0.2)
    r = call(pbx, 'call_answered.xml', '1001', '2000')
    t.check(r.rc == 0, 'caller 1001 -> 2000 (group sales): exit %d' % r.rc)
    finish(busy, 'group member 1006 (busy)', t)
    finish(ans, 'group member 1007', t)
    rows = wait_cdr(pbx, 6)
    row = rows[0] if rows else {}
    t.check(row.get('callee') == 'user/1007' and
            row.get('destination') == '2000', 'CDR of the group call: %r'
            % row)


def body(start, t):
    pbx = start('calls', USERS, extra_xml=DIRECTORY_EXTRA + DIALPLAN)
    t.run(answered, pbx)
    t.run(busy_goes_on, pbx)
    t.run(cancelled, pbx)
    t.run(no_route, pbx)
    t.run(two_contacts, pbx)
    t.run(group, pbx)
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_calls', body)

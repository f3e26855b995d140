#!/usr/bin/env python3
"""The dialplan as an administrator uses it, without a call:
`switchboard ctl route NUMBER --from USER` shows the conditions that were
evaluated (FILE:LINE) and the actions that would run; the <test> elements
beside the dialplan run at every load, so --check and a reload refuse an
edit that breaks a route.
"""

import os
import re
import subprocess

import harness

USERS = [{'id': '1001', 'password': 'secret1001', 'name': 'Alice'},
         {'id': '1002', 'password': 'secret1002'}]

DIALPLAN = '''  <dialplan>
    <context name="default">
      <extension name="internal">
        <condition field="destination_number" expression="^(1\\d{3})$">
          <action application="bridge" data="user/$1"/>
          <action application="voicemail" data="$1"/>
        </condition>
      </extension>
      <extension name="outbound">
        <condition field="destination_number" expression="^9(\\d{10})$">
          <action application="bridge" data="trunk/itsp/+1$1"/>
          <anti-action application="hangup" data="NO_ROUTE_DESTINATION"/>
        </condition>
      </extension>
    </context>
    <test context="default" caller="1001" destination_number="1002"
          extension="internal" actions="bridge user/1002; voicemail 1002"/>
  </dialplan>
'''


def ctl_all(pbx, *args):
    r = subprocess.run([pbx.bin, 'ctl', '-c', pbx.confdir, '-d',
                        pbx.datadir] + list(args), capture_output=True,
                       text=True, timeout=10)
    return r.returncode, r.stdout + r.stderr


def line_of(path, needle):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if needle in line:
                return n
    return None


def route(t, pbx):
    conf = os.path.join(pbx.confdir, 'switchboard.xml')
    cond_line = line_of(conf, 'expression="^(1')
    act_line = line_of(conf, 'data="user/$1"')

    rc, out = ctl_all(pbx, 'route', '1002', '--from', '1001')
    t.check(rc == 0, 'route 1002: exit %d: %s' % (rc, out))
    t.check('%s:%d extension "internal": destination_number "1002" =~ '
            '/^(1\\d{3})$/ -> true' % (conf, cond_line) in out,
            'route 1002: no true condition with FILE:LINE:\n%s' % out)
    t.check('extension: internal' in out, 'extension line:\n%s' % out)
    t.check(re.search(r'1\. bridge user/1002 +\(%s:%d\)'
                      % (re.escape(conf), act_line), out),
            'first action with its FILE:LINE:\n%s' % out)
    t.check(re.search(r'2\. voicemail 1002 ', out), 'voicemail:\n%s' % out)

    rc, out = ctl_all(pbx, 'route', '95551234567', 'from', '1001')
    t.check(rc == 0 and 'extension: outbound' in out and
            '1. bridge trunk/itsp/+15551234567' in out,
            'route 95551234567:\n%s' % out)

    rc, out = ctl_all(pbx, 'route', '555', '--from', '1001')
    t.check(rc == 0 and 'extension: (none)' in out and
            'hangup NO_ROUTE_DESTINATION' in out and 'anti-action' in out,
            'route 555:\n%s' % out)

    rc, out = ctl_all(pbx, 'route', '1002', '--from', '7777')
    t.check(rc != 0 and 'no user "7777"' in out,
            'route from an unknown user: exit %d: %s' % (rc, out))


def broken_route_refused(t, pbx):
    conf = os.path.join(pbx.confdir, 'switchboard.xml')
    with open(conf) as f:
        xml = f.read()
    # an edit that sends 1xxx calls to the trunk by mistake
    bad = xml.replace('data="user/$1"', 'data="trunk/itsp/$1"')
    with open(conf, 'w') as f:
        f.write(bad)
    # libxml2 numbers an element by the line its start tag ends on
    test_line = line_of(conf, 'extension="internal" actions=')

    rc, out = pbx.check_config()
    want = ('%s:%d: test: 1001 calling 1002 in context default: actions '
            '"bridge trunk/itsp/1002; voicemail 1002", expected "bridge '
            'user/1002; voicemail 1002"' % (conf, test_line))
    t.check(rc == 1 and want in out, '--check: exit %d:\n%s\nwant:\n%s'
            % (rc, out, want))

    rc, out = ctl_all(pbx, 'reload')
    t.check(rc != 0 and want in out, 'reload: exit %d:\n%s' % (rc, out))
    rc, out = ctl_all(pbx, 'route', '1002', '--from', '1001')
    t.check('1. bridge user/1002' in out,
            'the running dialplan changed after a refused reload:\n%s' % out)

    with open(conf, 'w') as f:
        f.write(xml)


def body(start, t):
    pbx = start('dialplan', USERS, extra_xml=DIALPLAN)
    t.run(route, pbx)
    t.run(broken_route_refused, pbx)
    t.current = 'end'
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_dialplan', body)

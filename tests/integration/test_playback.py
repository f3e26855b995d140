#!/usr/bin/env python3
"""playback: a tone and a WAV prompt reach the caller as RTP of the PBX's
own, at the right frequency, then the dialplan goes on (hangup).

The dialplan of 7001: answer; playback tone://1000,1500,0,1 (a 1.5 s
1 kHz tone); playback sounds/beep.wav (1 s of 440 Hz, 8 kHz mono, made
here); hangup. A Python phone (test_media.Phone) calls 7001, records what
arrives, and gets the BYE from the PBX.
"""

import math
import os
import struct
import wave

import harness
import test_media as tm
from harness import log

PW = tm.PW
USERS = tm.USERS

DIALPLAN = '''  <dialplan>
    <context name="default">
      <extension name="prompts">
        <condition field="destination_number" expression="^7001$">
          <action application="answer"/>
          <action application="playback" data="tone://1000,1500,0,1"/>
          <action application="playback" data="sounds/beep.wav"/>
          <action application="hangup" data="NORMAL_CLEARING"/>
        </condition>
      </extension>
    </context>
  </dialplan>
'''


def make_wav(path, freq, seconds):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b''.join(
            struct.pack('<h', int(8000 * math.sin(2 * math.pi * freq *
                                                  i / 8000)))
            for i in range(int(8000 * seconds))))


def playback(t, pbx):
    make_wav(os.path.join(pbx.confdir, 'sounds', 'beep.wav'), 440, 1.0)
    caller = tm.Phone(pbx, '1001', PW['1001'])
    try:
        r = caller.register()
        t.require(r is not None and r.status == 200, 'REGISTER 1001')
        r = caller.call('7001', 0)
        t.require(r is not None and r.status == 200,
                  'INVITE 7001: %s' % (r and r.start))
        # the phone keeps what arrives meanwhile: the BYE may be there
        t.check(caller.await_bye(20) is not None,
                'no BYE from the PBX after the prompts')

        pkts = caller.rtp.packets()
        log('  %d RTP packets from the PBX' % len(pkts))
        t.require(len(pkts) >= 110, 'only %d packets (want 2.5 s)'
                  % len(pkts))
        fields = [tm.rtp_fields(p) for p in pkts]
        t.check(all(f[0] == 0 for f in fields), 'not all PCMU')
        t.check(len(set(f[3] for f in fields)) == 1,
                'more than one SSRC across the prompts')
        seqs = [f[1] for f in fields]
        t.check(all((b - a) & 0xffff == 1 for a, b in zip(seqs, seqs[1:])),
                'sequence numbers are not consecutive')
        pcm = tm.audio_of(pkts)
        # 1.5 s of 1 kHz, then 1 s of 440 Hz: judge the middle of each
        tm.check_tone(t, 'the tone', pcm[2000:10000], 1000)
        tm.check_tone(t, 'the WAV prompt', pcm[13000:19000], 440)

        rows = tm.wait_cdr(pbx, 1)
        row = rows[0] if rows else {}
        t.check(row.get('destination') == '7001' and
                row.get('cause_name') == 'NORMAL_CLEARING' and
                row.get('hangup_side') == 'system',
                'CDR: %r' % row)
    finally:
        caller.close()


def body(start, t):
    pbx = start('playback', USERS, extra_xml=DIALPLAN)
    t.run(playback, pbx)
    t.current = 'end'
    t.check(pbx.alive(), 'daemon died')
    t.check(pbx.stop() == 0, 'daemon did not exit 0 on SIGTERM')


if __name__ == '__main__':
    harness.main('test_playback', body)

#!/usr/bin/env python3
"""Turn a text file into a C string constant: embed.py NAME IN OUT.

The daemon carries its RelaxNG schema inside the binary, so --check works
the same wherever the binary is run from."""
import sys

name, src, dst = sys.argv[1:4]
data = open(src, 'rb').read()
with open(dst, 'w') as out:
    out.write('/* generated from %s by contrib/embed.py */\n' % src.split('/')[-1])
    out.write('#include <stddef.h>\n')
    out.write('const char %s[] =\n' % name)
    for i in range(0, len(data), 16):
        chunk = data[i:i + 16]
        out.write('\t"' + ''.join('\\x%02x' % b for b in chunk) + '"\n')
    out.write(';\n')
    out.write('const size_t %s_len = %d;\n' % (name, len(data)))

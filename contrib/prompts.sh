#!/bin/sh
# Make the spoken prompts: CONFDIR/sounds/NAME.wav for each line NAME|TEXT
# of contrib/prompts.txt, with espeak-ng and sox (8 kHz mono 16-bit PCM,
# what the player takes). A prompt that exists is kept: put a recording
# in its place and it stays.
#
#   contrib/prompts.sh [CONFDIR]      (default: etc)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
conf=${1:-$here/../etc}
out="$conf/sounds"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/prompts.txt" |
while IFS='|' read -r name text; do
    if [ -s "$out/$name.wav" ]; then
        continue
    fi
    espeak-ng -v en-us -s 150 -w "$tmp/$name.wav" "$text"
    # espeak's leading and trailing silence goes: prompts follow each
    # other ("extension" "one" "zero" ...) without gaps
    sox "$tmp/$name.wav" -r 8000 -c 1 -b 16 -e signed-integer \
        -t wav "$out/$name.wav.part" \
        silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0 0.15
    mv "$out/$name.wav.part" "$out/$name.wav"
done
echo "prompts in $out: $(ls "$out"/*.wav 2>/dev/null | wc -l) files"

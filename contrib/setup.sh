#!/bin/sh
# Switchboard quick start: install build dependencies, build, create the data
# directory with a self-signed TLS CA and server certificate, give every demo
# user without credentials a password, and start the daemon on loopback.
#
#   contrib/setup.sh             everything, then run the daemon in the foreground
#   contrib/setup.sh --no-start  everything except starting the daemon (CI)
#
# Safe to run again: each step is skipped when its result is already there.
set -eu

usage() {
    sed -n '2,10s/^# \{0,1\}//p' "$0"
}

start=yes
for arg in "$@"; do
    case "$arg" in
        --no-start) start=no ;;
        -h|--help) usage; exit 0 ;;
        *) echo "setup.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

# Work from the repository root whatever the caller's directory.
cd "$(dirname "$0")/.."
root=$(pwd)
say() { printf '== %s\n' "$*"; }

# ---------------------------------------------------------------- packages
want=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' contrib/deps.txt)
missing=""
for p in $want; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *" installed") ;;
        *) missing="$missing $p" ;;
    esac
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    say "installing:$missing"
    $sudo apt-get update
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $missing
else
    say "all packages from contrib/deps.txt are installed"
fi

# ------------------------------------------------------------------- build
if [ ! -f build/build.ninja ]; then
    say "meson setup build"
    meson setup build
fi
say "ninja -C build"
ninja -C build

# ----------------------------------------------------------------- prompts
say "spoken prompts (espeak-ng, sox) in etc/sounds"
sh contrib/prompts.sh etc

# ---------------------------------------------------------------- data dir
mkdir -p var/tls
tls=var/tls

# Self-signed CA (var/tls/ca.pem, key var/tls/ca.key) and a server certificate
# signed by it (var/tls/pbx.pem: certificate followed by its private key, the
# single-file form libre loads). SAN: IP:127.0.0.1, DNS:localhost.
make_ca() {
    say "creating TLS CA $tls/ca.pem"
    (umask 077; openssl genrsa -out "$tls/ca.key" 2048 2>/dev/null)
    cat >"$tls/ca.ext" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
O = Switchboard demo
CN = Switchboard demo CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
    openssl req -new -x509 -config "$tls/ca.ext" -key "$tls/ca.key" \
        -sha256 -days 3650 -out "$tls/ca.pem"
    rm -f "$tls/ca.ext"
    chmod 0644 "$tls/ca.pem"
    chmod 0600 "$tls/ca.key"
}

make_server() {
    say "creating TLS server certificate $tls/pbx.pem"
    work=$(mktemp -d)
    (umask 077; openssl genrsa -out "$work/pbx.key" 2048 2>/dev/null)
    cat >"$work/pbx.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    openssl req -new -key "$work/pbx.key" -subj "/O=Switchboard demo/CN=localhost" \
        -out "$work/pbx.csr"
    openssl x509 -req -in "$work/pbx.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
        -CAcreateserial -CAserial "$work/ca.srl" -days 825 -sha256 \
        -extfile "$work/pbx.ext" -out "$work/pbx.crt" 2>/dev/null
    (umask 077; cat "$work/pbx.crt" "$work/pbx.key" >"$tls/pbx.pem.tmp")
    chmod 0600 "$tls/pbx.pem.tmp"
    mv "$tls/pbx.pem.tmp" "$tls/pbx.pem"
    rm -rf "$work"
}

if [ ! -s "$tls/ca.pem" ] || [ ! -s "$tls/ca.key" ]; then
    if [ -s "$tls/ca.pem" ]; then
        say "$tls/ca.pem exists without its key; keeping it, not issuing a new server certificate"
    else
        make_ca
        rm -f "$tls/pbx.pem"   # a new CA needs a new server certificate
    fi
fi
if [ ! -s "$tls/pbx.pem" ]; then
    if [ -s "$tls/ca.key" ]; then make_server; else
        echo "setup.sh: no $tls/pbx.pem and no CA key to make one" >&2; exit 1; fi
else
    say "TLS files present in $tls (delete them to make new ones)"
fi

# ------------------------------------------------------------- passwords
bin=build/switch/switchboard
say "demo users without a password get one now (shown once):"
"$bin" passwd -c etc --missing

if [ "$start" = no ]; then
    say "done (--no-start). Start the daemon with: $bin -c etc"
    exit 0
fi
say "starting: $bin -c etc   (Ctrl-C stops it)"
cd "$root"
exec "$bin" -c etc

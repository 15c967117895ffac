#!/usr/bin/env bash
# Re-creates the real-traffic capture fixtures of pcaplens:
#   samples/*.pcap*          (showcase captures)
#   tests/captures/*.pcap*   (end-to-end test fixtures)
#
# All traffic stays inside two network namespaces created here and joined by
# one veth pair:  plc (client, plc0: 10.99.0.1/24, fd99::1/64)
#                 pls (server, pls0: 10.99.0.2/24, fd99::2/64)
# Offloads are disabled on both veth ends, so every frame is MTU-sized and
# carries a real checksum. Unless noted, tcpdump runs in pls on pls0 with the
# capture filter "tcp" (no ARP/ND/MLD noise; neighbours are static anyway).
#
# The network-trouble captures (tcp-loss, tcp-reorder) use a second,
# three-namespace topology, created only when one of them is requested:
#   plrc (client, plc0: 10.99.0.1/24) -- plr (relay: plr0 | plr1) -- plrs (server, pls0: 10.99.0.2/24)
# In plr, lossy_relay (lossy_relay.c, compiled here with cc -O2 -Wall) bridges
# plr0 and plr1 at layer 2 with AF_PACKET sockets and drops or reorders
# TCP data frames with a seeded PRNG. There is no IP forwarding and no
# address in plr: client and server share the /24. tcpdump runs in plrc on
# plc0, so server->client frames dropped by the relay are lost *before* the
# capture point and client->server ones *after* it.
#
# Usage:  sudo tests/captures/make-captures.sh [NAME ...]
#   NAME is a capture name without extension (e.g. tcp-bulk); default: all.
# Needs: iproute2, ethtool, tcpdump, tshark (+dumpcap), nginx, curl, nftables,
#        taskset (util-linux), python3 (override with PYTHON=...) and a C
#        compiler as cc (tcp-loss, tcp-reorder).
#        Debian 12: apt-get install iproute2 ethtool tcpdump tshark nginx curl
#        nftables util-linux python3 gcc
# Files are first written to a temporary directory and only copied over the
# committed ones when every requested capture succeeded and passed its checks.
# Re-running gives new timestamps, ISNs, Date headers and possibly a different
# number of pure ACKs; update the READMEs from tshark if you commit new files.
set -euo pipefail

if [[ $EUID -ne 0 ]]; then
    echo "make-captures.sh: must be run as root (network namespaces, tcpdump)" >&2
    exit 1
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=${PYTHON:-python3}
PEER="$HERE/fixture_peer.py"
CNS=plc SNS=pls CIF=plc0 SIF=pls0
CIP=10.99.0.1 SIP=10.99.0.2 CIP6=fd99::1 SIP6=fd99::2
CMAC=02:99:00:00:00:01 SMAC=02:99:00:00:00:02
# relay topology (tcp-loss, tcp-reorder): client ns, relay ns, server ns
RCNS=plrc RNS=plr RSNS=plrs RIF_C=plr0 RIF_S=plr1
RCMAC=02:99:00:00:01:00 RSMAC=02:99:00:00:01:01
RELAY_PID= RELAY_NET=
WORK=$(mktemp -d /tmp/pcaplens-captures.XXXXXX)
OUT="$WORK/out"
mkdir -p "$OUT"
PIDS=()
PIN=() # optional CPU pinning prefix for fixture_peer processes
CAP_PID=

log() { printf '==> %s\n' "$*" >&2; }

cleanup() {
    local rc=$?
    set +e
    for p in ${CAP_PID:-} ${RELAY_PID:-} "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    if [[ -f "$WORK/nginx.pid" ]]; then
        local np i
        np=$(cat "$WORK/nginx.pid")
        kill -QUIT "$np" 2>/dev/null # graceful: master reaps its worker
        for i in $(seq 30); do kill -0 "$np" 2>/dev/null || break; sleep 0.1; done
    fi
    sleep 0.3
    # anything still running inside our own namespaces was started by us
    for ns in $CNS $SNS ${RELAY_NET:+$RCNS $RNS $RSNS}; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    done
    ip netns del $CNS 2>/dev/null
    ip netns del $SNS 2>/dev/null
    if [[ -n $RELAY_NET ]]; then
        ip netns del $RCNS 2>/dev/null
        ip netns del $RNS 2>/dev/null
        ip netns del $RSNS 2>/dev/null
    fi
    rm -rf "$WORK"
    [[ $rc -ne 0 ]] && echo "make-captures.sh: FAILED (rc=$rc); nothing was overwritten" >&2
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

inc() { ip netns exec $CNS "$@"; }
ins() { ip netns exec $SNS "$@"; }

setup_net() {
    log "creating namespaces $CNS/$SNS"
    ip netns del $CNS 2>/dev/null || true
    ip netns del $SNS 2>/dev/null || true
    ip netns add $CNS
    ip netns add $SNS
    ip link add $CIF netns $CNS address $CMAC type veth peer name $SIF netns $SNS address $SMAC
    for side in "$CNS $CIF $CIP $CIP6 $SIP $SIP6 $SMAC" "$SNS $SIF $SIP $SIP6 $CIP $CIP6 $CMAC"; do
        set -- $side
        local ns=$1 dev=$2 ip4=$3 ip6=$4 peer4=$5 peer6=$6 peermac=$7
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
        ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.router_solicitations=0"
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$ip4/24" dev "$dev"
        ip -n "$ns" -6 addr add "$ip6/64" dev "$dev" nodad
        ip -n "$ns" link set "$dev" up
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null
        ip -n "$ns" neigh replace "$peer4" lladdr "$peermac" dev "$dev" nud permanent
        ip -n "$ns" -6 neigh replace "$peer6" lladdr "$peermac" dev "$dev" nud permanent
    done
    # port 81 on the server silently drops SYNs (tcp-unanswered)
    ins nft -f - <<'EOF'
table inet pcaplens {
    chain input {
        type filter hook input priority filter; policy accept;
        tcp dport 81 drop
    }
}
EOF
    sleep 1 # let link-up noise (MLD, ND) pass
}

# Deterministic document root for nginx (fixed sizes and mtimes).
setup_www() {
    local www="$WORK/www"
    mkdir -p "$www"
    $PY "$PEER" write-file --tag index --size 1200 --out "$www/index.html"
    $PY "$PEER" write-file --tag a --size 2048 --out "$www/a.html"
    $PY "$PEER" write-file --tag b --size 3072 --out "$www/b.html"
    $PY "$PEER" write-file --tag c --size 4096 --out "$www/c.html"
    $PY "$PEER" write-file --tag upload --size 2048 --out "$WORK/upload.bin"
    touch -d '2024-01-01 00:00:00 UTC' "$www"/*.html
    chmod -R a+rX "$WORK"
}

start_nginx() {
    mkdir -p "$WORK/nginx-tmp"
    cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
user root;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 64; }
http {
    access_log $WORK/nginx-access.log;
    client_body_temp_path $WORK/nginx-tmp/body;
    proxy_temp_path $WORK/nginx-tmp/proxy;
    fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
    scgi_temp_path $WORK/nginx-tmp/scgi;
    server_tokens off;
    sendfile off;
    keepalive_timeout 60s;
    types { text/html html; }
    default_type application/octet-stream;
    server {
        listen $SIP:80;
        listen [$SIP6]:80;
        root $WORK/www;
        location = /error { return 500; }
        location = /nocontent { return 204; }
    }
}
EOF
    ins nginx -c "$WORK/nginx.conf"
    wait_listen 80
}

wait_listen() { # PORT: wait until something listens on it in the server ns
    local i
    for i in $(seq 100); do
        if ins ss -Htln "sport = :$1" | grep -q .; then return 0; fi
        sleep 0.05
    done
    echo "nothing listens on port $1" >&2
    return 1
}

server() { # MODE PORT [ARGS...]: start a fixture_peer server in the server ns
    local mode=$1 port=$2
    shift 2
    # run ip-netns-exec directly (not via a shell function) so $! is the
    # peer's own pid (ip netns exec execs the command)
    ip netns exec $SNS "${PIN[@]}" $PY "$PEER" "$mode" --port "$port" "$@" &
    PIDS+=($!)
    wait_listen "$port"
}

wait_servers() { # wait (max 20 s) for the fixture_peer servers to finish
    local p i
    for p in "${PIDS[@]}"; do
        for i in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        wait "$p"
    done
    PIDS=()
}

client() { inc "${PIN[@]}" $PY "$PEER" "$@"; }

# cap_start FILE [TCPDUMP-ARGS...]: start tcpdump in the server ns (default -i pls0)
cap_start() {
    local f=$1
    shift
    local iface=(-i $SIF)
    [[ " $* " == *" -i "* ]] && iface=()
    : >"$WORK/cap.err"
    ip netns exec $SNS tcpdump "${iface[@]}" --immediate-mode -U -w "$f" "$@" tcp 2>"$WORK/cap.err" &
    CAP_PID=$!
    wait_capture
}

# dumpcap writes pcapng
cap_start_ng() {
    local f=$1
    : >"$WORK/cap.err"
    ip netns exec $SNS dumpcap -i $SIF -f tcp -w "$f" 2>"$WORK/cap.err" &
    CAP_PID=$!
    wait_capture
}

wait_capture() {
    local i
    for i in $(seq 100); do
        grep -qiE 'listening on|^Capturing on' "$WORK/cap.err" && { sleep 0.3; return 0; }
        kill -0 $CAP_PID 2>/dev/null || { cat "$WORK/cap.err" >&2; return 1; }
        sleep 0.05
    done
    cat "$WORK/cap.err" >&2
    return 1
}

cap_stop() {
    sleep 1
    kill -INT $CAP_PID
    wait $CAP_PID || true
    CAP_PID=
}

curl_c() { inc curl -sS --fail-with-body -o /dev/null "$@"; }

# ------------------------------------------------- relay topology (trouble)
# plrc (client) -- plr (lossy_relay) -- plrs (server); see the header.
# IPv6 is disabled in all three namespaces (no ND/MLD/RA), neighbours are
# static and offloads are off on all four veth ends.
setup_relay_net() {
    [[ -n $RELAY_NET ]] && return 0
    log "creating namespaces $RCNS/$RNS/$RSNS (relay topology)"
    cc -O2 -Wall -o "$WORK/lossy_relay" "$HERE/lossy_relay.c"
    RELAY_NET=1
    local ns x
    for ns in $RCNS $RNS $RSNS; do
        ip netns del $ns 2>/dev/null || true
        ip netns add $ns
    done
    ip link add $CIF netns $RCNS address $CMAC type veth peer name $RIF_C netns $RNS address $RCMAC
    ip link add $SIF netns $RSNS address $SMAC type veth peer name $RIF_S netns $RNS address $RSMAC
    for ns in $RCNS $RNS $RSNS; do
        ip -n $ns link set lo up
        ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
    ip -n $RCNS addr add $CIP/24 dev $CIF
    ip -n $RSNS addr add $SIP/24 dev $SIF
    for x in "$RCNS $CIF" "$RNS $RIF_C" "$RNS $RIF_S" "$RSNS $SIF"; do
        set -- $x
        ip -n $1 link set $2 up
        ip netns exec $1 ethtool -K $2 tso off gso off gro off tx off rx off >/dev/null
    done
    ip -n $RCNS neigh replace $SIP lladdr $SMAC dev $CIF nud permanent
    ip -n $RSNS neigh replace $CIP lladdr $CMAC dev $SIF nud permanent
    sleep 0.5
}

# Peers for the trouble captures (kept here, not in fixture_peer.py).
write_trouble_peer() {
    cat >"$WORK/trouble_peer.py" <<'EOF'
"""Peers for the network-trouble captures of make-captures.sh.
updown-server: read 'UP n DOWN m\n' and n bytes, check them, send m bytes, close.
updown-client: send that line and n bytes, read to EOF (must be m bytes), close.
slow-client:   SO_RCVBUF before connect, send 'GET m\n' (for fixture_peer.py
               bulk-server), sleep, then read to EOF (must be m bytes), close.
Payload: the bytes 00..ff repeated."""
import argparse, socket, sys, time

def pattern(n):
    return (bytes(range(256)) * (n // 256 + 1))[:n]

def recv_exact(s, n):
    b = bytearray()
    while len(b) < n:
        d = s.recv(min(65536, n - len(b)))
        if not d:
            raise SystemExit("short read: %d of %d bytes" % (len(b), n))
        b += d
    return bytes(b)

def recv_line(s):
    b = bytearray()
    while not b.endswith(b"\n"):
        d = s.recv(1)
        if not d:
            raise SystemExit("no request line")
        b += d
    return bytes(b)

def recv_eof(s):
    n = 0
    while True:
        d = s.recv(65536)
        if not d:
            return n
        n += len(d)

def connect(a, rcvbuf=0):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind(("10.99.0.1", a.lport))
    s.settimeout(30)
    s.connect(("10.99.0.2", a.port))
    return s

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["updown-server", "updown-client", "slow-client"])
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--lport", type=int, default=0)
ap.add_argument("--up", type=int, default=0)
ap.add_argument("--down", type=int, default=0)
ap.add_argument("--rcvbuf", type=int, default=0)
ap.add_argument("--sleep", type=float, default=0.0)
a = ap.parse_args()
if a.mode == "updown-server":
    L = socket.socket()
    L.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    L.bind(("10.99.0.2", a.port))
    L.listen(1)
    L.settimeout(30)
    c, _ = L.accept()
    L.close()
    c.settimeout(30)
    up, down = map(int, recv_line(c).split()[1::2])
    if recv_exact(c, up) != pattern(up):
        raise SystemExit("upload corrupted")
    c.sendall(pattern(down))
    c.close()
elif a.mode == "updown-client":
    s = connect(a)
    s.sendall(b"UP %d DOWN %d\n" % (a.up, a.down) + pattern(a.up))
    n = recv_eof(s)
    if n != a.down:
        raise SystemExit("download: %d of %d bytes" % (n, a.down))
    s.close()
else:
    s = connect(a, a.rcvbuf)
    s.sendall(b"GET %d\n" % a.down)
    time.sleep(a.sleep)
    n = recv_eof(s)
    if n != a.down:
        raise SystemExit("slow-client: %d of %d bytes" % (n, a.down))
    s.close()
EOF
}

wait_listen_rs() { # PORT: wait until something listens on it in the relay topology's server ns
    local i
    for i in $(seq 100); do
        if ip netns exec $RSNS ss -Htln "sport = :$1" | grep -q .; then return 0; fi
        sleep 0.05
    done
    echo "nothing listens on port $1 in $RSNS" >&2
    return 1
}

rs_server() { # PORT PROGRAM ARGS...: start a server in plrs
    local port=$1
    shift
    ip netns exec $RSNS "$@" &
    PIDS+=($!)
    wait_listen_rs "$port"
}

rc_client() { ip netns exec $RCNS "$@"; }

# relay_start ARGS...: start lossy_relay in plr (plr0 = client side)
relay_start() {
    : >"$WORK/relay.err"
    : >"$WORK/relay.log"
    ip netns exec $RNS "$WORK/lossy_relay" --client-if $RIF_C --server-if $RIF_S \
        --log "$WORK/relay.log" --max-seconds 60 "$@" 2>"$WORK/relay.err" &
    RELAY_PID=$!
    local i
    for i in $(seq 100); do
        grep -q 'ready' "$WORK/relay.err" && return 0
        kill -0 $RELAY_PID 2>/dev/null || break
        sleep 0.05
    done
    cat "$WORK/relay.err" >&2
    return 1
}

# relay_stop: stop the relay; fails if its sockets dropped anything (the only
# loss must be the planned one). Prints its counters and its drop/hold log.
relay_stop() {
    local rc=0
    kill -TERM $RELAY_PID
    wait $RELAY_PID || rc=$?
    RELAY_PID=
    sed 's/^/    /' "$WORK/relay.err" >&2
    sed 's/^/    relay.log: /' "$WORK/relay.log" >&2
    [[ $rc -eq 0 ]] || fail "lossy_relay exited with $rc (socket drops?)"
}

# rcap_start FILE [TCPDUMP-ARGS...]: tcpdump in plrc on plc0 (client side)
rcap_start() {
    local f=$1
    shift
    : >"$WORK/cap.err"
    ip netns exec $RCNS tcpdump -i $CIF --immediate-mode -U -w "$f" "$@" tcp 2>"$WORK/cap.err" &
    CAP_PID=$!
    wait_capture
}

# ------------------------------------------------------------------ checks
# Robust properties of each capture (not exact ACK counts, which may vary
# between runs); a failing check aborts the run before anything is copied.
count() { tshark -r "$1" -Y "$2" 2>/dev/null | wc -l; }
fail() { echo "check failed: $*" >&2; return 1; }
expect() { # FILE FILTER N: exactly N frames match the display filter
    local n
    n=$(count "$OUT/$1" "$2")
    [[ $n -eq $3 ]] || fail "$1: '$2' matched $n frames, expected $3"
}
expect_min() { # FILE FILTER N: at least N frames match
    local n
    n=$(count "$OUT/$1" "$2")
    [[ $n -ge $3 ]] || fail "$1: '$2' matched $n frames, expected >= $3"
}
expect_type() { # FILE "FILETYPE ENCAP" as printed by capinfos -t -E
    local t
    t=$(capinfos -T -r -t -E "$OUT/$1" 2>/dev/null | cut -f2- | tr '\t' ' ')
    [[ $t == "$2" ]] || fail "$1: type/encapsulation '$t', expected '$2'"
}
expect_first_fin() { # FILE PORT: the first FIN on the wire comes from PORT
    local p
    p=$(tshark -r "$OUT/$1" -Y 'tcp.flags.fin==1' -T fields -e tcp.srcport 2>/dev/null | head -1)
    [[ $p == "$2" ]] || fail "$1: first FIN from port '$p', expected $2"
}
expect_bytes() { # FILE PORT N: TCP payload bytes sent from PORT total N
    local n
    n=$(tshark -r "$OUT/$1" -Y "tcp.srcport==$2" -T fields -e tcp.len 2>/dev/null |
        awk '{ s += $1 } END { print s + 0 }')
    [[ $n -eq $3 ]] || fail "$1: $n payload bytes from port $2, expected $3"
}
SYN='tcp.flags.syn==1 && tcp.flags.ack==0'
SYNACK='tcp.flags.syn==1 && tcp.flags.ack==1'
RST='tcp.flags.reset==1'
FIN='tcp.flags.fin==1'

# --------------------------------------------------------------- captures
# Each function writes $OUT/<name>.<ext>. Client local ports are fixed so the
# 4-tuples are the same on every run. HTTP servers use port 80 (nginx) or 8080
# (python), both decoded as HTTP by tshark without "-d"; plain-TCP peers use
# 9001-9008 (and 9100-9109 for the simultaneous-close attempts).

cap_http_keepalive() {
    local f
    cap_start "$OUT/http-keepalive.pcap"
    curl_c --local-port 40001 -o /dev/null -o /dev/null \
        "http://$SIP/a.html" "http://$SIP/b.html" "http://$SIP/c.html"
    cap_stop
    f=http-keepalive.pcap
    expect_type $f "pcap ether"
    expect $f "$SYN" 1
    expect $f 'http.request.method=="GET"' 3
    expect $f 'http.response.code==200' 3
    expect $f "$RST" 0
    expect_first_fin $f 40001
}

cap_http_mixed() {
    local f
    cap_start_ng "$OUT/http-mixed.pcapng"
    curl_c --local-port 40011 "http://$SIP/"
    inc curl -sS -o /dev/null --local-port 40012 "http://$SIP/missing.html"
    inc curl -sS -o /dev/null --local-port 40013 "http://$SIP/error"
    client http-rst-client --port 80 --lport 40014 --path /b.html
    cap_stop
    f=http-mixed.pcapng
    expect_type $f "pcapng ether"
    expect $f "$SYN" 4
    expect $f 'http.response.code==200' 2
    expect $f 'http.response.code==404' 1
    expect $f 'http.response.code==500' 1
    expect $f "$RST && tcp.srcport==40014" 1
    expect $f "$RST" 1
}

cap_sll_any() {
    cap_start "$OUT/sll-any.pcap" -i any -y LINUX_SLL
    curl_c --local-port 40021 "http://$SIP/a.html"
    cap_stop
    expect_type sll-any.pcap "pcap linux-sll"
    expect sll-any.pcap 'http.response.code==200' 1
}

cap_sll2_any() {
    cap_start "$OUT/sll2-any.pcap" -i any -y LINUX_SLL2
    curl_c --local-port 40022 "http://$SIP/a.html"
    cap_stop
    expect_type sll2-any.pcap "pcap linux-sll2"
    expect sll2-any.pcap 'http.response.code==200' 1
}

cap_http_nano() {
    cap_start "$OUT/http-nano.pcap" --time-stamp-precision=nano
    curl_c --local-port 40031 "http://$SIP/a.html"
    cap_stop
    expect_type http-nano.pcap "nsecpcap ether"
    expect http-nano.pcap 'http.response.code==200' 1
}

cap_tcp_client_close() {
    server echo-server 9001
    cap_start "$OUT/tcp-client-close.pcap"
    client echo-client --port 9001 --lport 40041
    wait_servers
    cap_stop
    expect tcp-client-close.pcap "$RST" 0
    expect tcp-client-close.pcap "$FIN" 2
    expect_first_fin tcp-client-close.pcap 40041
    expect_bytes tcp-client-close.pcap 40041 4100
    expect_bytes tcp-client-close.pcap 9001 4100
}

cap_tcp_server_close() {
    server close-first-server 8080 --body 600
    cap_start "$OUT/tcp-server-close.pcap"
    client close-second-client --port 8080 --lport 40051
    wait_servers
    cap_stop
    expect tcp-server-close.pcap "$RST" 0
    expect tcp-server-close.pcap "$FIN" 2
    expect_first_fin tcp-server-close.pcap 8080
}

cap_tcp_rst_abort() {
    server echo-server 9003
    cap_start "$OUT/tcp-rst-abort.pcap"
    client echo-client --abort --port 9003 --lport 40061
    wait_servers
    cap_stop
    expect tcp-rst-abort.pcap "$FIN" 0
    expect tcp-rst-abort.pcap "$RST" 1
    expect tcp-rst-abort.pcap "$RST && tcp.srcport==40061" 1
}

cap_tcp_refused() {
    cap_start "$OUT/tcp-refused.pcap"
    client refused-client --port 9004 --lport 40071
    cap_stop
    expect tcp-refused.pcap "frame" 2
    expect tcp-refused.pcap "$SYN" 1
    expect tcp-refused.pcap "$RST && tcp.flags.ack==1 && tcp.srcport==9004" 1
}

cap_tcp_unanswered() {
    cap_start "$OUT/tcp-unanswered.pcap"
    client unanswered-client --port 81 --lport 40081 --timeout 3.5
    cap_stop
    expect_min tcp-unanswered.pcap "$SYN" 3
    expect tcp-unanswered.pcap "!($SYN)" 0
}

cap_tcp_half_close() {
    server half-close-server 9005 --segments 5 --size 1000 --delay 0.05
    cap_start "$OUT/tcp-half-close.pcap"
    client half-close-client --port 9005 --lport 40091
    wait_servers
    cap_stop
    expect_first_fin tcp-half-close.pcap 40091
    # all 5 server segments acknowledge the client's FIN (relative ack 31)
    expect tcp-half-close.pcap 'tcp.srcport==9005 && tcp.len>0 && tcp.ack==31' 5
    expect tcp-half-close.pcap "$RST" 0
}

cap_tcp_keepalive() {
    server echo-server 9006
    cap_start "$OUT/tcp-keepalive.pcap"
    client keepalive-client --port 9006 --lport 40101 --idle 4.5
    wait_servers
    cap_stop
    expect_min tcp-keepalive.pcap 'tcp.analysis.keep_alive' 3
    expect_min tcp-keepalive.pcap 'tcp.analysis.keep_alive_ack' 3
    expect_first_fin tcp-keepalive.pcap 40101
}

cap_tcp_port_reuse() {
    server close-first-server 8080 --count 2 --body 300
    cap_start "$OUT/tcp-port-reuse.pcap"
    client close-second-client --port 8080 --lport 40111 --repeat 2 --gap 1.0
    wait_servers
    cap_stop
    expect tcp-port-reuse.pcap "$SYN" 2
    expect tcp-port-reuse.pcap "$SYNACK" 2
    expect tcp-port-reuse.pcap 'http.response.code==200' 2
    expect tcp-port-reuse.pcap "$RST" 0
    expect_first_fin tcp-port-reuse.pcap 8080
}

cap_tcp_bulk() {
    local try sport ok=
    # Both peers on one CPU: with the sender and receiver on different CPUs
    # the veth can reorder segments (dup ACKs with SACK blocks); we want a
    # clean transfer. Window updates are fine (the receiver drains its buffer).
    local bad='tcp.analysis.flags && !tcp.analysis.window_update'
    PIN=(taskset -c 0)
    for try in 1 2 3; do
        sport=$((9008 + 10 * (try - 1)))
        server bulk-server $sport --size 2097152
        cap_start "$OUT/tcp-bulk.pcap" -s 96
        client bulk-client --port $sport --lport $((40120 + try)) --size 2097152
        wait_servers
        cap_stop
        if [[ $(count "$OUT/tcp-bulk.pcap" "$bad") -eq 0 ]]; then ok=1; break; fi
        log "tcp-bulk: attempt $try has dup ACKs/retransmissions, retrying"
    done
    PIN=()
    [[ -n $ok ]] || fail "tcp-bulk: no clean transfer in 3 attempts"
    [[ $try -eq 1 ]] || log "tcp-bulk: WARNING: attempt $try used ports $((40120 + try))->$sport, not the README's"
    expect_bytes tcp-bulk.pcap $sport 2097152
    expect_first_fin tcp-bulk.pcap $sport
    expect tcp-bulk.pcap "$RST" 0
}

# FINs crossed <=> neither FIN acknowledges the other one.
fins_crossed() {
    tshark -r "$1" -o tcp.relative_sequence_numbers:FALSE -Y 'tcp.flags.fin==1' \
        -T fields -e tcp.srcport -e tcp.seq -e tcp.len -e tcp.ack 2>/dev/null |
        awk 'NF==4 { n++; fin[n]=$2+$3; ack[n]=$4 }
             END { exit !(n==2 && ack[1]==fin[2] && ack[2]==fin[1]) }'
}

cap_tcp_simultaneous_close() {
    local try f="$OUT/tcp-simultaneous-close.pcap"
    for try in $(seq 0 9); do
        server simul-server $((9100 + try))
        cap_start "$f"
        client simul-client --port $((9100 + try)) --lport $((40200 + try))
        wait_servers
        cap_stop
        if fins_crossed "$f"; then
            log "tcp-simultaneous-close: FINs crossed on attempt $((try + 1))"
            return 0
        fi
        log "tcp-simultaneous-close: attempt $((try + 1)): FINs did not cross, retrying"
    done
    log "tcp-simultaneous-close: FINs never crossed in 10 attempts; keeping the last one"
}

cap_http_pipelined() {
    cap_start "$OUT/http-pipelined.pcap"
    client pipeline-client --port 80 --lport 40131
    cap_stop
    expect http-pipelined.pcap 'http.request' 1 # one segment, three requests
    expect http-pipelined.pcap 'http.response.code==200' 3
    expect http-pipelined.pcap "$SYN" 1
}

cap_http_chunked() {
    server chunked-server 8080
    cap_start "$OUT/http-chunked.pcap"
    curl_c --local-port 40141 "http://$SIP:8080/stream"
    wait_servers
    cap_stop
    expect http-chunked.pcap 'http.transfer_encoding=="chunked"' 1
    expect http-chunked.pcap 'http.response.code==200' 1
}

cap_http_100_continue() {
    server expect-server 8080
    cap_start "$OUT/http-100-continue.pcap"
    curl_c --local-port 40151 -H 'Expect: 100-continue' \
        -H 'Content-Type: application/octet-stream' \
        --data-binary @"$WORK/upload.bin" "http://$SIP:8080/upload"
    wait_servers
    cap_stop
    expect http-100-continue.pcap 'http.response.code==100' 1
    expect http-100-continue.pcap 'http.response.code==200' 1
    expect http-100-continue.pcap 'http.request.method=="POST"' 1
}

cap_http_head_304_204() {
    local f
    cap_start "$OUT/http-head-304-204.pcap"
    inc curl -sS --fail-with-body --local-port 40161 -o /dev/null \
        -I "http://$SIP/" \
        --next -o /dev/null -H 'If-Modified-Since: Mon, 01 Jan 2024 00:00:00 GMT' "http://$SIP/a.html" \
        --next -o /dev/null "http://$SIP/nocontent"
    cap_stop
    f=http-head-304-204.pcap
    expect $f "$SYN" 1
    expect $f 'http.request.method=="HEAD"' 1
    expect $f 'http.response.code==200' 1
    expect $f 'http.response.code==304' 1
    expect $f 'http.response.code==204' 1
}

cap_http_upgrade_101() {
    server upgrade-server 8080
    cap_start "$OUT/http-upgrade-101.pcap"
    client upgrade-client --port 8080 --lport 40171
    wait_servers
    cap_stop
    expect http-upgrade-101.pcap 'http.response.code==101' 1
    expect http-upgrade-101.pcap "$RST" 0
}

cap_http10_close() {
    server http10-server 8080
    cap_start "$OUT/http10-close.pcap"
    curl_c --local-port 40181 --http1.0 "http://$SIP:8080/legacy"
    wait_servers
    cap_stop
    expect http10-close.pcap 'http.response.version=="HTTP/1.0"' 1
    expect http10-close.pcap 'http.content_length_header' 0
    expect_first_fin http10-close.pcap 8080
}

# The server answers 431 after 1 kB of a 3 kB request head, while the
# client is still sending the head (6 sends 0.2 s apart); the rest of the head
# is still sent, ACKed and read. Wireshark sees the 431 before the request
# (its request is dissected only once complete).
cap_http_early_431() {
    server early-431-server 8081 --size 1024
    cap_start "$OUT/http-early-431.pcap"
    client slow-head-client --port 8081 --lport 40251 --body 3000 --segments 6 --delay 0.2
    wait_servers
    cap_stop
    expect http-early-431.pcap 'http.response.code==431' 1
    expect http-early-431.pcap 'tcp.srcport==40251 && tcp.len>0' 6
    local resp last
    resp=$(tshark -r "$OUT/http-early-431.pcap" -Y 'http.response.code==431' -T fields -e frame.number 2>/dev/null)
    last=$(tshark -r "$OUT/http-early-431.pcap" -Y 'tcp.srcport==40251 && tcp.len>0' -T fields -e frame.number 2>/dev/null | tail -1)
    [[ $resp -lt $last ]] || fail "http-early-431.pcap: the 431 (frame $resp) is not before the head's last segment (frame $last)"
    expect_first_fin http-early-431.pcap 8081
}

cap_tcp_ipv6() {
    cap_start "$OUT/tcp-ipv6.pcap"
    curl_c --local-port 40191 -g "http://[$SIP6]/a.html"
    cap_stop
    expect tcp-ipv6.pcap "ipv6 && $SYN" 1
    expect tcp-ipv6.pcap 'http.response.code==200' 1
}

# --------------------------------------------------- network trouble
# FILE PORT SEQ: PORT sent a FIN at relative sequence SEQ, i.e. after exactly
# SEQ-1 payload bytes (the FIN may ride on the last data segment; a
# retransmitted FIN is fine)
expect_fin_at() {
    expect_min "$1" "tcp.srcport==$2 && $FIN && tcp.nxtseq==$(($3 + 1))" 1
}
# FILE PORT MIN: at least MIN data segments from PORT carry only bytes that
# the capture already saw from PORT (true retransmissions at the capture point)
expect_resent() {
    local n
    n=$(tshark -r "$OUT/$1" -Y "tcp.srcport==$2 && tcp.len>0" -T fields -e tcp.seq -e tcp.len 2>/dev/null |
        awk '{ e = $1 + $2; if (e <= hi) n++; if (e > hi) hi = e } END { print n + 0 }')
    [[ $n -ge $3 ]] || fail "$1: $n segments from port $2 resend captured bytes, expected >= $3"
}
relay_count() { grep -c " $1 $2 " "$WORK/relay.log" || true; } # DIR ACTION

# ~400 KB with loss on both sides of the capture point: the client uploads
# 100 KiB, then the server sends 300 KiB. lossy_relay drops 5 % of the
# client's and 3 % of the server's data frames (seed 26). Captured on the
# client's plc0: dropped
# server->client frames never reach the capture point (holes, dup ACKs with
# SACK, then the retransmissions fill them); dropped client->server frames
# were captured on their way out and are retransmitted (same bytes twice).
cap_tcp_loss() {
    local f=tcp-loss.pcap
    setup_relay_net
    relay_start --seed 26 --drop-c2s 5 --drop-s2c 3
    rs_server 9201 $PY "$WORK/trouble_peer.py" updown-server --port 9201
    rcap_start "$OUT/$f" -s 128
    rc_client $PY "$WORK/trouble_peer.py" updown-client --port 9201 --lport 40211 --up 102400 --down 307200
    wait_servers
    cap_stop
    relay_stop
    [[ $(relay_count c2s drop) -ge 1 ]] || fail "$f: the relay dropped no client->server frame"
    [[ $(relay_count s2c drop) -ge 1 ]] || fail "$f: the relay dropped no server->client frame"
    expect $f "$SYN" 1
    expect $f "$RST" 0
    expect_fin_at $f 40211 102423 # 22-byte request line + 102400 bytes
    expect_fin_at $f 9201 307201
    expect_min $f 'tcp.srcport==9201 && tcp.analysis.lost_segment' 1
    expect_min $f 'tcp.srcport==40211 && tcp.len==0 && tcp.options.sack_le' 1 # SACK: holes seen
    expect_resent $f 40211 1
}

# 300 KiB server->client; lossy_relay holds 3 % of the server's data frames
# (seed 11) and sends each right after the next frame: out of order at the
# capture point (client side), nothing lost.
cap_tcp_reorder() {
    local f=tcp-reorder.pcap
    setup_relay_net
    relay_start --seed 11 --reorder-s2c 3
    rs_server 9211 $PY "$PEER" bulk-server --port 9211 --size 307200
    rcap_start "$OUT/$f" -s 128
    rc_client $PY "$PEER" bulk-client --port 9211 --lport 40221 --size 307200
    wait_servers
    cap_stop
    relay_stop
    [[ $(relay_count s2c hold) -ge 1 ]] || fail "$f: the relay reordered nothing"
    [[ $(relay_count s2c drop) -eq 0 ]] || fail "$f: the relay dropped frames"
    expect $f "$SYN" 1
    expect $f "$RST" 0
    expect_fin_at $f 9211 307201
    expect_min $f 'tcp.srcport==9211 && tcp.analysis.out_of_order' 1
}

# Slow reader (two-namespace topology, captured on the server's pls0): the
# server sends 1 MiB in one sendall(); the client set SO_RCVBUF 32768 before
# connecting and sleeps 2 s before reading, so its window closes to zero and
# the server's persist timer probes it; then it drains and closes.
cap_tcp_zero_window() {
    local f=tcp-zero-window.pcap
    server bulk-server 9221 --size 1048576
    cap_start "$OUT/$f" -s 128
    inc $PY "$WORK/trouble_peer.py" slow-client --port 9221 --lport 40231 --down 1048576 --rcvbuf 32768 --sleep 2
    wait_servers
    cap_stop
    expect $f "$SYN" 1
    expect $f "$RST" 0
    expect_fin_at $f 9221 1048577
    expect_min $f 'tcp.srcport==40231 && tcp.analysis.zero_window' 1
    expect_min $f 'tcp.srcport==9221 && tcp.analysis.keep_alive' 2 # Linux zero-window probes
    expect_min $f 'tcp.srcport==40231 && tcp.analysis.window_update' 1
}

# name -> destination directory
declare -A DEST=(
    [http-keepalive]=samples [http-mixed]=samples
    [sll-any]=tests [sll2-any]=tests [http-nano]=tests
    [tcp-client-close]=tests [tcp-server-close]=tests [tcp-rst-abort]=tests
    [tcp-refused]=tests [tcp-unanswered]=tests [tcp-half-close]=tests
    [tcp-keepalive]=tests [tcp-port-reuse]=tests [tcp-bulk]=tests
    [tcp-simultaneous-close]=tests [http-pipelined]=tests [http-chunked]=tests
    [http-100-continue]=tests [http-head-304-204]=tests [http-upgrade-101]=tests
    [http10-close]=tests [tcp-ipv6]=tests [http-early-431]=tests
    [tcp-loss]=tests [tcp-reorder]=tests [tcp-zero-window]=tests
)
ORDER=(http-keepalive http-mixed sll-any sll2-any http-nano tcp-client-close
    tcp-server-close tcp-rst-abort tcp-refused tcp-unanswered tcp-half-close
    tcp-keepalive tcp-port-reuse tcp-bulk tcp-simultaneous-close http-pipelined
    http-chunked http-100-continue http-head-304-204 http-upgrade-101
    http10-close tcp-ipv6 http-early-431 tcp-loss tcp-reorder tcp-zero-window)

main() {
    local names=("$@") n f
    [[ ${#names[@]} -eq 0 ]] && names=("${ORDER[@]}")
    for n in "${names[@]}"; do
        [[ -n "${DEST[$n]:-}" ]] || { echo "unknown capture: $n" >&2; exit 2; }
    done
    setup_net
    setup_www
    write_trouble_peer
    start_nginx
    for n in "${names[@]}"; do
        log "capturing $n"
        "cap_${n//-/_}"
    done
    log "checking captures"
    for f in "$OUT"/*; do
        tshark -r "$f" -q >/dev/null 2>&1 # must parse
        printf '%-32s %6s packets %8s bytes\n' "$(basename "$f")" \
            "$(capinfos -c -M -T -r "$f" | cut -f2)" "$(stat -c %s "$f")"
    done
    for f in "$OUT"/*; do
        n=$(basename "$f")
        n=${n%%.*}
        if [[ ${DEST[$n]} == samples ]]; then
            install -m 0644 "$f" "$ROOT/samples/"
        else
            install -m 0644 "$f" "$HERE/"
        fi
    done
    log "done"
}

main "$@"

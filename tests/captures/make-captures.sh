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
# Usage:  sudo tests/captures/make-captures.sh [NAME ...]
#   NAME is a capture name without extension (e.g. tcp-bulk); default: all.
# Needs: iproute2, ethtool, tcpdump, tshark (+dumpcap), nginx, curl, nftables,
#        taskset (util-linux) and python3 (override with PYTHON=...).
#        Debian 12: apt-get install iproute2 ethtool tcpdump tshark nginx curl
#        nftables util-linux python3
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
    for p in ${CAP_PID:-} "${PIDS[@]}"; do
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
    for ns in $CNS $SNS; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    done
    ip netns del $CNS 2>/dev/null
    ip netns del $SNS 2>/dev/null
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

cap_tcp_ipv6() {
    cap_start "$OUT/tcp-ipv6.pcap"
    curl_c --local-port 40191 -g "http://[$SIP6]/a.html"
    cap_stop
    expect tcp-ipv6.pcap "ipv6 && $SYN" 1
    expect tcp-ipv6.pcap 'http.response.code==200' 1
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
    [http10-close]=tests [tcp-ipv6]=tests
)
ORDER=(http-keepalive http-mixed sll-any sll2-any http-nano tcp-client-close
    tcp-server-close tcp-rst-abort tcp-refused tcp-unanswered tcp-half-close
    tcp-keepalive tcp-port-reuse tcp-bulk tcp-simultaneous-close http-pipelined
    http-chunked http-100-continue http-head-304-204 http-upgrade-101
    http10-close tcp-ipv6)

main() {
    local names=("$@") n f
    [[ ${#names[@]} -eq 0 ]] && names=("${ORDER[@]}")
    for n in "${names[@]}"; do
        [[ -n "${DEST[$n]:-}" ]] || { echo "unknown capture: $n" >&2; exit 2; }
    done
    setup_net
    setup_www
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

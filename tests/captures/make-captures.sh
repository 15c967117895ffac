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
# Needs: iproute2, ethtool, tcpdump, tshark/dumpcap, nginx, curl, nftables,
#        python3 (Debian 12: apt-get install iproute2 ethtool tcpdump tshark
#        nginx curl nftables python3).
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
CAP_PID=

log() { printf '==> %s\n' "$*" >&2; }

cleanup() {
    local rc=$?
    set +e
    for p in ${CAP_PID:-} "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    [[ -f "$WORK/nginx.pid" ]] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null
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
    ins $PY "$PEER" "$mode" --port "$port" "$@" &
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

client() { inc $PY "$PEER" "$@"; }

# cap_start FILE [TCPDUMP-ARGS...]: start tcpdump in the server ns (default -i pls0)
cap_start() {
    local f=$1
    shift
    local iface=(-i $SIF)
    [[ " $* " == *" -i "* ]] && iface=()
    : >"$WORK/cap.err"
    ins tcpdump "${iface[@]}" -U -w "$f" "$@" tcp 2>"$WORK/cap.err" &
    CAP_PID=$!
    wait_capture
}

# dumpcap writes pcapng
cap_start_ng() {
    local f=$1
    : >"$WORK/cap.err"
    ins dumpcap -i $SIF -f tcp -w "$f" 2>"$WORK/cap.err" &
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
    sleep 0.5
    kill -INT $CAP_PID
    wait $CAP_PID || true
    CAP_PID=
}

curl_c() { inc curl -sS --fail-with-body -o /dev/null "$@"; }

# --------------------------------------------------------------- captures
# Each function writes $OUT/<name>.<ext>. Client local ports are fixed so the
# 4-tuples are the same on every run.

cap_http_keepalive() {
    cap_start "$OUT/http-keepalive.pcap"
    curl_c --local-port 40001 -o /dev/null -o /dev/null \
        "http://$SIP/a.html" "http://$SIP/b.html" "http://$SIP/c.html"
    cap_stop
}

cap_http_mixed() {
    cap_start_ng "$OUT/http-mixed.pcapng"
    curl_c --local-port 40011 "http://$SIP/"
    inc curl -sS -o /dev/null --local-port 40012 "http://$SIP/missing.html"
    inc curl -sS -o /dev/null --local-port 40013 "http://$SIP/error"
    client http-rst-client --port 80 --lport 40014 --path /b.html
    cap_stop
}

cap_sll_any() {
    cap_start "$OUT/sll-any.pcap" -i any
    curl_c --local-port 40021 "http://$SIP/a.html"
    cap_stop
}

cap_sll2_any() {
    cap_start "$OUT/sll2-any.pcap" -i any -y LINUX_SLL2
    curl_c --local-port 40022 "http://$SIP/a.html"
    cap_stop
}

cap_http_nano() {
    cap_start "$OUT/http-nano.pcap" --time-stamp-precision=nano
    curl_c --local-port 40031 "http://$SIP/a.html"
    cap_stop
}

cap_tcp_client_close() {
    server echo-server 9001
    cap_start "$OUT/tcp-client-close.pcap"
    client echo-client --port 9001 --lport 40041
    wait_servers
    cap_stop
}

cap_tcp_server_close() {
    server close-first-server 9002 --body 600
    cap_start "$OUT/tcp-server-close.pcap"
    client close-second-client --port 9002 --lport 40051
    wait_servers
    cap_stop
}

cap_tcp_rst_abort() {
    server echo-server 9003
    cap_start "$OUT/tcp-rst-abort.pcap"
    client echo-client --abort --port 9003 --lport 40061
    wait_servers
    cap_stop
}

cap_tcp_refused() {
    cap_start "$OUT/tcp-refused.pcap"
    client refused-client --port 9004 --lport 40071
    cap_stop
}

cap_tcp_unanswered() {
    cap_start "$OUT/tcp-unanswered.pcap"
    client unanswered-client --port 81 --lport 40081 --timeout 4
    cap_stop
}

cap_tcp_half_close() {
    server half-close-server 9005 --segments 5 --size 1000 --delay 0.05
    cap_start "$OUT/tcp-half-close.pcap"
    client half-close-client --port 9005 --lport 40091
    wait_servers
    cap_stop
}

cap_tcp_keepalive() {
    server echo-server 9006
    cap_start "$OUT/tcp-keepalive.pcap"
    client keepalive-client --port 9006 --lport 40101 --idle 4.5
    wait_servers
    cap_stop
}

cap_tcp_port_reuse() {
    server close-first-server 9007 --count 2 --body 300
    cap_start "$OUT/tcp-port-reuse.pcap"
    client close-second-client --port 9007 --lport 40111 --repeat 2 --gap 1.0
    wait_servers
    cap_stop
}

cap_tcp_bulk() {
    server bulk-server 9008 --size 2097152
    cap_start "$OUT/tcp-bulk.pcap" -s 96
    client bulk-client --port 9008 --lport 40121 --size 2097152
    wait_servers
    cap_stop
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
}

cap_http_chunked() {
    server chunked-server 9009
    cap_start "$OUT/http-chunked.pcap"
    curl_c --local-port 40141 "http://$SIP:9009/stream"
    wait_servers
    cap_stop
}

cap_http_100_continue() {
    server expect-server 9010
    cap_start "$OUT/http-100-continue.pcap"
    curl_c --local-port 40151 -H 'Expect: 100-continue' \
        -H 'Content-Type: application/octet-stream' \
        --data-binary @"$WORK/upload.bin" "http://$SIP:9010/upload"
    wait_servers
    cap_stop
}

cap_http_head_304_204() {
    cap_start "$OUT/http-head-304-204.pcap"
    inc curl -sS --fail-with-body --local-port 40161 -o /dev/null \
        -I "http://$SIP/" \
        --next -o /dev/null -H 'If-Modified-Since: Mon, 01 Jan 2024 00:00:00 GMT' "http://$SIP/a.html" \
        --next -o /dev/null "http://$SIP/nocontent"
    cap_stop
}

cap_http_upgrade_101() {
    server upgrade-server 9011
    cap_start "$OUT/http-upgrade-101.pcap"
    client upgrade-client --port 9011 --lport 40171
    wait_servers
    cap_stop
}

cap_http10_close() {
    server http10-server 9012
    cap_start "$OUT/http10-close.pcap"
    curl_c --local-port 40181 --http1.0 "http://$SIP:9012/legacy"
    wait_servers
    cap_stop
}

cap_tcp_ipv6() {
    cap_start "$OUT/tcp-ipv6.pcap"
    curl_c --local-port 40191 -g "http://[$SIP6]/a.html"
    cap_stop
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
        tshark -r "$f" -q >/dev/null # must parse
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

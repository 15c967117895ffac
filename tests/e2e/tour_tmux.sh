#!/usr/bin/env bash
# Replays the README "Tour" in a real terminal: each command is typed into a
# tmux pane (send-keys), the screen is read back (capture-pane) and the
# strings the README shows must be there. Also checks what only a terminal
# shows: colour, lines cut to the window width, raw --follow refused.
#   tests/e2e/tour_tmux.sh PCAPLENS_BINARY [SOURCE_DIR]
# Exit 0 pass, 1 fail, 77 skipped (no tmux or jq).
set -uo pipefail
BIN=$(readlink -f "${1:?usage: tour_tmux.sh PCAPLENS_BINARY [SOURCE_DIR]}")
SRC=$(readlink -f "${2:-$(dirname "$0")/../..}")
command -v tmux >/dev/null || { echo "tour_tmux: tmux not installed, skipped"; exit 77; }
command -v jq >/dev/null || { echo "tour_tmux: jq not installed, skipped"; exit 77; }

SOCK="pcaplens-tour-$$"
BINDIR=$(mktemp -d)
ln -s "$BIN" "$BINDIR/pcaplens"   # the README says "pcaplens"
T() { tmux -L "$SOCK" "$@"; }
cleanup() { T kill-server 2>/dev/null; rm -rf "$BINDIR"; }
trap cleanup EXIT

FAILS=0
fail() { echo "tour_tmux: FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

# A wide window so the tour's lines fit (a narrower one is tested below).
T -f /dev/null new-session -d -s tour -x 220 -y 60 \
    "env -i HOME=/tmp TERM=screen LANG=C.UTF-8 PATH=$BINDIR:/usr/bin:/bin PS1='$ ' bash --norc --noprofile"
T set-option -t tour history-limit 5000 >/dev/null
sleep 0.3
T send-keys -t tour "cd $(printf %q "$SRC")" Enter

STEP=0
SCREEN=""
# run CMD: types CMD, waits for it to finish, leaves the pane text in SCREEN
# (with escape sequences in SCREEN_E).
run() {
    STEP=$((STEP + 1))
    T clear-history -t tour
    T send-keys -t tour "clear" Enter
    sleep 0.2
    T send-keys -t tour -l "$1"
    T send-keys -t tour "; echo __DONE_${STEP}_\$?__" Enter
    local i
    for i in $(seq 1 100); do
        SCREEN=$(T capture-pane -t tour -p -J -S -5000)
        grep -q "__DONE_${STEP}_[0-9]*__" <<<"$SCREEN" && break
        sleep 0.1
    done
    grep -q "__DONE_${STEP}_[0-9]*__" <<<"$SCREEN" || fail "step $STEP did not finish: $1"
    SCREEN_E=$(T capture-pane -t tour -p -e -J -S -5000)
}
expect() {  # expect STRING...: every STRING on the screen
    local s
    for s in "$@"; do grep -qF -- "$s" <<<"$SCREEN" || fail "step $STEP: expected '$s'"; done
}
in_readme() { grep -qF -- "$1" "$SRC/README.md" || fail "the README tour no longer shows: $1"; }

tour() {  # tour CMD EXPECTED...: a README command, typed as the README shows it
    in_readme "$ $1"
    run "$1"
    shift
    expect "$@"
}

tour "pcaplens samples/http-mixed.pcapng" \
    "  #1    10.99.0.1:40011 -> 10.99.0.2:80  0.359 ms  rtt 0.033 ms  up 73 B  down 1.4 kB  fin by client  http 1" \
    "        GET /error -> 500 Internal Server Error, 170 B, ttfb 0.032 ms, 0.032 ms" \
    "        ! rst_abort frame 42: RST from client in ESTABLISHED" \
    "  connections 4, fin 3, rst 1" \
    "  capture: complete (no gaps, nothing ACKed unseen, no snaplen cuts, both directions seen)"
# On a terminal: coloured (rst in red, the 500 in red, headings bold).
grep -qF $'\e[31mrst by client' <<<"$SCREEN_E" || fail "no colour on the terminal"
grep -qF $'\e[1mConnections' <<<"$SCREEN_E" || fail "headings not bold on the terminal"

tour "pcaplens --timeline --conn 4 samples/http-mixed.pcapng" \
    "        0.000000        31       |------------------->|       SYN            seq=0 ack=0 len=0        client SYN_SENT, server LISTEN" \
    "        0.100558        42       |------------------->|       RST,ACK        seq=85 ack=3305 len=0    client CLOSED, server CLOSED"

tour "pcaplens --follow 3 samples/http-mixed.pcapng" \
    "=== connection 3: 10.99.0.1:40013 (client) <-> 10.99.0.2:80 (server), ascii" \
    ">>> client -> server  2026-11-25 13:41:16.165229  frame 24  78 bytes" \
    "GET /error HTTP/1.1" \
    "<<< server -> client  2026-11-25 13:41:16.165261  frame 26  325 bytes" \
    "<center><h1>500 Internal Server Error</h1></center>" \
    "=== connection 3: client -> server 78 bytes, server -> client 325 bytes; nothing missing; close: fin by server"

tour "pcaplens --format json samples/http-mixed.pcapng | jq -c '.connections[] | {id, close: .close.kind, by: .close.initiator, http: [.http[] | \"\\(.method) \\(.uri) \\(.status)\"]}'" \
    '{"id":3,"close":"fin","by":"server","http":["GET /error 500"]}' \
    '{"id":4,"close":"rst","by":"client","http":["GET /b.html 200"]}'

tour "pcaplens --format ndjson --port 40014 samples/http-mixed.pcapng | head -1 | cut -c1-150" \
    '{"type":"connection","id":4,"client":{"ip":"10.99.0.1","port":40014},"server":{"ip":"10.99.0.2","port":80},"ip_version":4,"first_ts":1795614076.285616'

tour "pcaplens --format ndjson samples/http-mixed.pcapng | jq -c '{type, id, close: .close.kind}'" \
    '{"type":"connection","id":4,"close":"rst"}' \
    '{"type":"summary","id":null,"close":null}'

tour "pcaplens x.pcap" "pcaplens: x.pcap: no such file (try pcaplens --help)"
tour "pcaplens --follow 9 samples/http-mixed.pcapng" \
    "pcaplens: --follow 9: no connection 9 in the capture (it has 4; the report lists their ids)"

# Only a terminal shows these.
run "pcaplens --follow 3 --follow-format raw samples/http-mixed.pcapng"
expect "standard output is a terminal"
grep -qF "GET /error HTTP/1.1" <<<"$SCREEN" && fail "raw bytes reached the terminal"

# A narrow window: connection lines are cut with an ellipsis (UTF-8 locale).
T resize-window -t tour -x 70 -y 60 2>/dev/null || T set-option -t tour default-size 70x60 >/dev/null
sleep 0.3
run "pcaplens -q samples/http-mixed.pcapng"
NARROW=$(grep -F '  #4 ' <<<"$SCREEN")
[ -n "$NARROW" ] || fail "narrow: no line for connection 4"
grep -qF "…" <<<"$NARROW" || fail "narrow: connection 4 not cut with an ellipsis: '$NARROW'"
[ "$(printf %s "$NARROW" | wc -m)" -le 70 ] || fail "narrow: line wider than the window: '$NARROW'"
# ... but the same command into a pipe is never cut.
run "pcaplens -q samples/http-mixed.pcapng | cat"
expect "  #4    10.99.0.1:40014 -> 10.99.0.2:80  100.6 ms  rtt 0.035 ms  up 84 B  down 3.3 kB  rst by client  http 1  anomalies 1"

if [ "$FAILS" -ne 0 ]; then
    echo "tour_tmux: $FAILS failure(s); last screen:" >&2
    echo "$SCREEN" >&2
    exit 1
fi
echo "tour_tmux: $STEP steps OK"

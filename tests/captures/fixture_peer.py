#!/usr/bin/env python3
"""Traffic peers (servers and clients) used by make-captures.sh.

Every mode handles a fixed, small amount of traffic and then exits, so the
capture script can simply wait for it.  Payloads are deterministic so the
fixture READMEs can state exact byte counts.

Usage: fixture_peer.py MODE [options]   (see --help of each mode)
Servers listen on --addr (default 10.99.0.2); clients connect from
--laddr/--lport (default 10.99.0.1, fixed port) so the 4-tuples are stable.
"""
import argparse
import base64
import hashlib
import socket
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SERVER_ADDR = "10.99.0.2"
CLIENT_ADDR = "10.99.0.1"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def pattern(tag, n):
    """Deterministic printable payload of exactly n bytes."""
    base = (tag + ":" + "abcdefghijklmnopqrstuvwxyz0123456789" * ((n // 36) + 2)).encode()
    out = bytearray()
    line = 0
    while len(out) < n:
        out += b"%s %04d %s\n" % (tag.encode(), line, base[:60])
        line += 1
    return bytes(out[:n])


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def listener(addr, port):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(8)
    return s


def connect(args, pre=None, timeout=15.0):
    s = socket.socket(family(args.host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if pre:
        pre(s)
    s.bind((args.laddr, args.lport))
    s.settimeout(timeout)
    s.connect((args.host, args.port))
    return s


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError("peer closed after %d of %d bytes" % (len(buf), n))
        buf += d
    return bytes(buf)


def recv_until(s, marker, buf=b""):
    buf = bytearray(buf)
    while marker not in buf:
        d = s.recv(65536)
        if not d:
            raise EOFError("peer closed before %r" % marker)
        buf += d
    i = buf.index(marker) + len(marker)
    return bytes(buf[:i]), bytes(buf[i:])


def recv_to_eof(s):
    buf = bytearray()
    while True:
        d = s.recv(65536)
        if not d:
            return bytes(buf)
        buf += d


def abort(s):
    """close() with SO_LINGER {on, 0}: the kernel sends RST instead of FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def http_get(path, host, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: pcaplens-fixture\r\n"
            "Accept: */*\r\n%s\r\n" % (path, host, extra)).encode()


def read_http_response(s, buf=b""):
    """Read one Content-Length delimited response; returns (status, head, body, rest)."""
    head, rest = recv_until(s, b"\r\n\r\n", buf)
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(rest) < length:
        d = s.recv(65536)
        if not d:
            raise EOFError("short body")
        rest += d
    return status, head, rest[:length], rest[length:]


def hostport(args):
    h = args.host if ":" not in args.host else "[%s]" % args.host
    return h if args.port == 80 else "%s:%d" % (h, args.port)


# ---------------------------------------------------------------- servers

def srv_echo(args):
    """Accept one connection, echo until EOF (or RST), wait 0.2 s, close."""
    L = listener(args.addr, args.port)
    c, _ = L.accept()
    L.close()
    try:
        while True:
            d = c.recv(65536)
            if not d:
                time.sleep(0.2)
                break
            c.sendall(d)
    except ConnectionResetError:
        pass
    c.close()


def srv_close_first(args):
    """HTTP-ish server that closes first: per connection, read the request head,
    send a Content-Length response with 'Connection: close', then close()."""
    L = listener(args.addr, args.port)
    for i in range(args.count):
        c, _ = L.accept()
        recv_until(c, b"\r\n\r\n")
        body = pattern("bye%d" % (i + 1), args.body)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                  b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        c.close()
    L.close()


def srv_early_431(args):
    """Server with a small header limit (--size bytes): once that much of a
    request head has arrived without its end, answer 431 at once -- while the
    client is still sending -- and a FIN, then read on to the client's FIN."""
    L = listener(args.addr, args.port)
    c, _ = L.accept()
    buf = b""
    while b"\r\n\r\n" not in buf and len(buf) <= args.size:
        d = c.recv(4096)
        if not d:
            break
        buf += d
    c.sendall(b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\n"
              b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    c.shutdown(socket.SHUT_WR)   # FIN after the answer, as a server closing would
    recv_to_eof(c)   # the rest of the head is still read (and ACKed)
    c.close()
    L.close()


def srv_half_close(args):
    """Read until the client's FIN, then send N segments spaced by a delay, close."""
    L = listener(args.addr, args.port)
    c, _ = L.accept()
    L.close()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    recv_to_eof(c)
    for i in range(args.segments):
        c.sendall(pattern("part%d" % (i + 1), args.size))
        time.sleep(args.delay)
    c.close()


def srv_bulk(args):
    """Read one request line, send --size bytes, close (server FIN first)."""
    L = listener(args.addr, args.port)
    c, _ = L.accept()
    L.close()
    recv_until(c, b"\n")
    data = (bytes(range(256)) * (args.size // 256 + 1))[:args.size]
    c.sendall(data)  # one call: the kernel cuts it into MSS-sized segments
    c.close()


def spin_until(t):
    while time.time() < t:
        pass


def srv_simul(args):
    """Read 'CLOSE_AT <epoch>\\n', answer 'OK\\n', busy-wait until that instant,
    shutdown(SHUT_WR), read to EOF, close."""
    L = listener(args.addr, args.port)
    c, _ = L.accept()
    L.close()
    line, _ = recv_until(c, b"\n")
    t = float(line.split()[1])
    c.sendall(b"OK\n")
    spin_until(t)
    c.shutdown(socket.SHUT_WR)
    recv_to_eof(c)
    c.close()


def srv_upgrade(args):
    """Answer an Upgrade: websocket request with 101, then exchange frames."""
    L = listener(args.addr, args.port)
    c, _ = L.accept()
    L.close()
    head, rest = recv_until(c, b"\r\n\r\n")
    key = b""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"sec-websocket-key:"):
            key = line.split(b":", 1)[1].strip()
    accept = base64.b64encode(hashlib.sha1(key + WS_GUID.encode()).digest())
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    for n, reply in zip(WS_CLIENT_SIZES, WS_SERVER_FRAMES):
        got = rest + recv_exact(c, n - len(rest))
        rest = b""
        assert len(got) == n
        c.sendall(reply)
    if recv_to_eof(c):
        raise SystemExit("unexpected data")
    c.close()


def ws_frame(opcode, payload, mask=None):
    n = len(payload)
    b1 = 0x80 | opcode
    if n < 126:
        hdr = struct.pack("!BB", b1, (0x80 if mask else 0) | n)
    else:
        hdr = struct.pack("!BBH", b1, (0x80 if mask else 0) | 126, n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        hdr += mask
    return hdr + payload


WS_CLIENT_FRAMES = [
    ws_frame(0x1, b"hello from the client", mask=b"\x11\x22\x33\x44"),
    ws_frame(0x2, bytes(range(200)), mask=b"\x55\x66\x77\x88"),
]
WS_SERVER_FRAMES = [
    ws_frame(0x1, b"hello from the server"),
    ws_frame(0x2, bytes(range(255, 55, -1))),
]
WS_CLIENT_SIZES = [len(f) for f in WS_CLIENT_FRAMES]


class FixtureHandler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True

    def version_string(self):
        return "pcaplens-fixture/1.0"

    def log_message(self, fmt, *a):
        pass


class ChunkedHandler(FixtureHandler):
    protocol_version = "HTTP/1.1"
    CHUNKS = [100, 500, 1000, 2000]

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, n in enumerate(self.CHUNKS):
            data = pattern("chunk%d" % (i + 1), n)
            self.wfile.write(b"%x\r\n" % n + data + b"\r\n")
            time.sleep(0.05)
        self.wfile.write(b"0\r\n\r\n")


class ExpectHandler(FixtureHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers["Content-Length"])
        body = self.rfile.read(n)
        out = ("received %d bytes, sha1 %s\n" % (len(body), hashlib.sha1(body).hexdigest())).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


class Http10Handler(FixtureHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()  # no Content-Length: body ends when the server closes
        for i in range(3):
            self.wfile.write(pattern("legacy%d" % (i + 1), 1000))
            time.sleep(0.02)


def srv_http(handler):
    def run(args):
        httpd = HTTPServer((args.addr, args.port), handler)
        httpd.handle_request()  # one connection (all its keep-alive requests)
        httpd.server_close()
    return run


# ---------------------------------------------------------------- clients

CHUNKS_CLIENT_CLOSE = [("msg1", 100), ("msg2", 1000), ("msg3", 3000)]
CHUNKS_RST = [("data1", 500), ("data2", 500)]


def cli_echo(args):
    s = connect(args)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    chunks = CHUNKS_RST if args.abort else CHUNKS_CLIENT_CLOSE
    for tag, n in chunks:
        data = pattern(tag, n)
        s.sendall(data)
        if recv_exact(s, n) != data:
            raise SystemExit("echo mismatch")
        time.sleep(0.05)
    if args.abort:
        abort(s)
    else:
        s.close()


def cli_close_second(args):
    """Send an HTTP GET, read until the server closes, wait 0.2 s, close.
    With --repeat N, do it N times from the same local port, --gap s apart."""
    for i in range(args.repeat):
        if i:
            time.sleep(args.gap)
        s = connect(args)
        s.sendall(http_get("/conn%d" % (i + 1), hostport(args), "Connection: close\r\n"))
        data = recv_to_eof(s)
        if not data.startswith(b"HTTP/1.1 200"):
            raise SystemExit("bad response")
        time.sleep(0.2)
        s.close()


def cli_half_close(args):
    s = connect(args)
    s.sendall(b"STREAM please send some data\n")
    s.shutdown(socket.SHUT_WR)
    data = recv_to_eof(s)
    print("half-close client got %d bytes" % len(data), file=sys.stderr)
    s.close()


def cli_keepalive(args):
    def opts(s):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    s = connect(args, pre=opts)
    s.sendall(b"ping\n")
    if recv_exact(s, 5) != b"ping\n":
        raise SystemExit("echo mismatch")
    time.sleep(args.idle)
    s.close()


def cli_bulk(args):
    s = connect(args)
    s.sendall(b"GET %d\n" % args.size)
    n = len(recv_to_eof(s))
    if n != args.size:
        raise SystemExit("bulk: got %d bytes, wanted %d" % (n, args.size))
    s.close()


def cli_simul(args):
    s = connect(args)
    t = time.time() + 0.3
    s.sendall(b"CLOSE_AT %.6f\n" % t)
    recv_exact(s, 3)
    spin_until(t)
    s.shutdown(socket.SHUT_WR)
    recv_to_eof(s)
    s.close()


def cli_refused(args):
    try:
        connect(args)
    except ConnectionRefusedError:
        return
    raise SystemExit("connection was not refused")


def cli_unanswered(args):
    try:
        connect(args, timeout=args.timeout)
    except (socket.timeout, TimeoutError):
        return
    raise SystemExit("connection did not time out")


def cli_pipeline(args):
    s = connect(args)
    reqs = b"".join(http_get(p, hostport(args)) for p in ("/a.html", "/b.html", "/c.html"))
    s.send(reqs)  # one send(): all three requests in one segment
    rest = b""
    for _ in range(3):
        status, _, _, rest = read_http_response(s, rest)
        if status != 200:
            raise SystemExit("pipeline: status %d" % status)
    s.close()


def cli_slow_head(args):
    """Send a request whose Cookie makes the head --body bytes long, in
    --segments sends --delay s apart; then read the response to EOF and close."""
    s = connect(args)
    head = ("GET /big HTTP/1.1\r\nHost: %s\r\nUser-Agent: pcaplens-fixture\r\nCookie: " % hostport(args)).encode()
    cookie = pattern("cookie", max(0, args.body - len(head) - 4)).replace(b"\n", b"x")
    data = head + cookie + b"\r\n\r\n"
    step = -(-len(data) // args.segments)
    for i in range(0, len(data), step):
        s.send(data[i:i + step])
        time.sleep(args.delay)
    status, _, _, _ = read_http_response(s)
    if status != 431:
        raise SystemExit("slow-head: status %d" % status)
    recv_to_eof(s)
    s.close()


def cli_http_rst(args):
    """GET one URL, read the whole response, then abort the connection (RST)."""
    s = connect(args)
    s.sendall(http_get(args.path, hostport(args)))
    read_http_response(s)
    time.sleep(0.1)
    abort(s)


def cli_upgrade(args):
    s = connect(args)
    key = base64.b64encode(b"pcaplens-fixture").decode()
    s.sendall(http_get("/chat", hostport(args),
                       "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n" % key))
    head, rest = recv_until(s, b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit("no 101")
    for frame, reply in zip(WS_CLIENT_FRAMES, WS_SERVER_FRAMES):
        s.sendall(frame)
        got = rest + recv_exact(s, len(reply) - len(rest))
        rest = b""
        if got != reply:
            raise SystemExit("upgrade: bad reply")
        time.sleep(0.05)
    s.close()


SERVERS = {
    "echo-server": srv_echo,
    "close-first-server": srv_close_first,
    "half-close-server": srv_half_close,
    "bulk-server": srv_bulk,
    "simul-server": srv_simul,
    "upgrade-server": srv_upgrade,
    "chunked-server": srv_http(ChunkedHandler),
    "expect-server": srv_http(ExpectHandler),
    "http10-server": srv_http(Http10Handler),
    "early-431-server": srv_early_431,
}
CLIENTS = {
    "echo-client": cli_echo,
    "close-second-client": cli_close_second,
    "half-close-client": cli_half_close,
    "keepalive-client": cli_keepalive,
    "bulk-client": cli_bulk,
    "simul-client": cli_simul,
    "refused-client": cli_refused,
    "unanswered-client": cli_unanswered,
    "pipeline-client": cli_pipeline,
    "http-rst-client": cli_http_rst,
    "upgrade-client": cli_upgrade,
    "slow-head-client": cli_slow_head,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=sorted(SERVERS) + sorted(CLIENTS) + ["write-file"])
    ap.add_argument("--addr", default=SERVER_ADDR, help="server listen address")
    ap.add_argument("--host", default=SERVER_ADDR, help="client: server address")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--laddr", default=CLIENT_ADDR)
    ap.add_argument("--lport", type=int, default=0)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--body", type=int, default=600)
    ap.add_argument("--segments", type=int, default=5)
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--delay", type=float, default=0.05)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--gap", type=float, default=1.0)
    ap.add_argument("--idle", type=float, default=4.5)
    ap.add_argument("--timeout", type=float, default=4.0)
    ap.add_argument("--path", default="/")
    ap.add_argument("--abort", action="store_true", help="echo-client: end with RST")
    ap.add_argument("--tag", default="file")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.mode == "write-file":
        with open(args.out, "wb") as f:
            f.write(pattern(args.tag, args.size))
        return
    (SERVERS.get(args.mode) or CLIENTS[args.mode])(args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""TCP analysis conformance: pcaplens's per-frame TCP findings against
tshark's tcp.analysis flags, per connection and category, by frame number.

For each capture given (default: tests/captures/*.pcap* and samples/*.pcap*):
  * pcaplens --format json --max-anomalies 1000000 FILE
        -> connections[].anomalies[] (kind, frame, direction) and the
           per-direction counters retransmissions / out_of_order /
           keepalives / zero_windows
  * tshark -r FILE -T fields -e frame.number -e tcp.stream
        -e tcp.analysis.retransmission ... -e tcp.analysis.window_full -Y tcp
        (plus the addresses and ports, to match connections)
Connections are matched by 4-tuple (either direction) and order: a pcaplens
connection and a tshark tcp.stream are paired when their [first frame, last
frame] ranges overlap (pcaplens numbers frames as Wireshark does).

Per paired connection and category the two sets of frame numbers are
compared:

  category         pcaplens kinds                          tshark flags
  retransmission   retransmission, fast_retransmission,    retransmission,
                   spurious_retransmission (+ syn_/synack_ fast_retransmission,
                   /fin_retransmission, the catalogue's    spurious_retransmission
                   "tcp.analysis.retransmission on a SYN/FIN")
  out_of_order     out_of_order                            out_of_order
  lost_segment     previous_segment_not_captured           lost_segment
  duplicate_ack    duplicate_ack                           duplicate_ack
  zero_window      zero_window                             zero_window
  zero_window_probe zero_window_probe                      zero_window_probe
  keepalive        keepalive                               keep_alive
  window_full      window_full                             window_full

A frame flagged by one tool only is a difference. A difference is
*explained* when one rule of RULES below matches that frame; each rule names
the pcaplens design decision (docs/anomalies.md, "Where pcaplens deliberately
differs from Wireshark", and docs/conformance.md, "Anomalies vs Wireshark on
the real captures") and checks a precise condition on the frame (what the
other tool said about the same frame, the segment's fields), never just the
category. Anything else is unexplained.

Output: markdown (stdout or --out FILE): per capture a table with one row per
connection and category in which either tool flagged a frame: frame counts
per direction, pcaplens's own per-direction counter where it has one, the
frames only one tool flagged and the verdict. The last line is
  N passed, M failed
where a passed item is a (connection, category) without unexplained
differences (a connection no tool flagged anything on counts as one passed
item). --check exits 1 when anything is unexplained, a connection exists for
one tool only, or a capture could not be compared. Known pcaplens bugs
(KNOWN_BUGS) are named in the verdict but still fail.

Usage:
  PCAPLENS=build/pcaplens python3 tests/conformance/compare_tshark_analysis.py --check
  python3 tests/conformance/compare_tshark_analysis.py --pcaplens P FILE... --out report.md

Python 3 standard library only.
"""
import argparse
import glob
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conformance_common import REPO, default_pcaplens, run  # noqa: E402,F811
TIMEOUT_S = 60

FLAG_FIELDS = [
    "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission", "tcp.analysis.out_of_order",
    "tcp.analysis.lost_segment", "tcp.analysis.duplicate_ack",
    "tcp.analysis.zero_window", "tcp.analysis.zero_window_probe",
    "tcp.analysis.keep_alive", "tcp.analysis.window_full",
]
INFO_FIELDS = [
    "frame.protocols", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
    "tcp.len", "tcp.seq", "tcp.ack", "tcp.window_size_value", "tcp.flags.syn", "tcp.flags.fin",
    "tcp.flags.reset", "tcp.analysis.duplicate_ack_num",
]
TSHARK_FIELDS = ["frame.number", "tcp.stream"] + FLAG_FIELDS + INFO_FIELDS

# category -> (pcaplens kinds, tshark flag fields, pcaplens counter or None)
CATEGORIES = [
    ("retransmission",
     {"retransmission", "fast_retransmission", "spurious_retransmission",
      "syn_retransmission", "synack_retransmission", "fin_retransmission"},
     {"tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
      "tcp.analysis.spurious_retransmission"},
     "retransmissions"),
    ("out_of_order", {"out_of_order"}, {"tcp.analysis.out_of_order"}, "out_of_order"),
    ("lost_segment", {"previous_segment_not_captured"}, {"tcp.analysis.lost_segment"}, None),
    ("duplicate_ack", {"duplicate_ack"}, {"tcp.analysis.duplicate_ack"}, None),
    ("zero_window", {"zero_window"}, {"tcp.analysis.zero_window"}, "zero_windows"),
    ("zero_window_probe", {"zero_window_probe"}, {"tcp.analysis.zero_window_probe"}, None),
    ("keepalive", {"keepalive"}, {"tcp.analysis.keep_alive"}, "keepalives"),
    ("window_full", {"window_full"}, {"tcp.analysis.window_full"}, None),
]
RETRANS_KINDS = CATEGORIES[0][1]


# ------------------------------------------------------------------ rules
#
# Each rule: (id, category, side, design decision, predicate). side is
# "pcaplens" (frame flagged by pcaplens only) or "tshark". The predicate gets
# a Frame context (see below) and must hold for that very frame.

class Frame:
    """What both tools said about one frame of a paired connection, plus two
    facts computed from tshark's rows of the stream (independent of both
    tools' analysis): how many of the segment's payload bytes no earlier
    frame of the same direction carried, and whether the other direction had
    sent anything beyond this frame's ACK number by then."""

    def __init__(self, num, trow, pkinds, ctx=None):
        self.num = num
        self.t = trow or {}          # tshark fields of the frame ({} if none)
        self.pk = pkinds             # set of pcaplens kinds on the frame
        ctx = ctx or {}
        self.new_bytes = ctx.get("new_bytes")       # None: not a data segment
        self.outstanding = ctx.get("outstanding")   # None: unknown
        self.opens_hole = ctx.get("opens_hole")     # seq beyond all sent before

    def tflag(self, field):
        return bool(self.t.get(field))

    def tany(self, fields):
        return any(self.tflag(f) for f in fields)

    def tint(self, field, default=0):
        v = self.t.get(field, "")
        try:
            return int(v.split(",")[-1]) if v else default
        except ValueError:
            return default


T_RETRANS = CATEGORIES[0][2]


def all_new(f):
    """Every payload byte of the segment is new at the capture point."""
    return f.new_bytes is not None and f.tint("tcp.len") > 0 and f.new_bytes == f.tint("tcp.len")


def none_new(f):
    """Every payload byte of the segment was captured before (same direction)."""
    return f.new_bytes == 0 and f.tint("tcp.len") > 0


RULES = [
    ("R1", "retransmission", "tshark",
     "docs/anomalies.md, Precedence: a segment whose bytes were never captured "
     "before fills a hole and is out_of_order (its bytes count as new); Wireshark "
     "guesses (fast) retransmission when it comes more than its RTT threshold "
     "after the highest segment. Checked: pcaplens says out_of_order on the frame "
     "and no earlier frame of that direction carried any of its bytes",
     lambda f: "out_of_order" in f.pk and all_new(f)),
    ("R1", "out_of_order", "pcaplens",
     "(the same frames as R1 in the retransmission row)",
     lambda f: f.tany(T_RETRANS) and all_new(f)),
    ("R2", "retransmission", "pcaplens",
     "docs/anomalies.md, Precedence: a segment carrying only bytes already "
     "captured in its direction is a retransmission however soon it comes; "
     "Wireshark calls a segment below the highest sequence number out-of-order "
     "when it comes within its RTT threshold (the handshake RTT) and no 2 "
     "duplicate ACKs preceded it, without looking at which bytes it saw. "
     "Checked: tshark says out-of-order and every byte was captured before",
     lambda f: f.tflag("tcp.analysis.out_of_order") and (f.pk & RETRANS_KINDS) and none_new(f)),
    ("R2", "out_of_order", "tshark",
     "(the same frames as R2 in the retransmission row)",
     lambda f: bool(f.pk & RETRANS_KINDS) and none_new(f)),
    ("R3", "duplicate_ack", "tshark",
     "docs/conformance.md, Anomalies vs Wireshark: pcaplens counts a duplicate "
     "ACK only while the peer has unacknowledged data (RFC 5681 section 2, "
     "condition (a)); Wireshark 4.0 does not check that, so a repeated ACK after "
     "everything was acknowledged (typically a D-SACK for a spurious "
     "retransmission) is a duplicate ACK only for Wireshark. Checked: the ACK "
     "acknowledges everything the other direction had sent",
     lambda f: f.outstanding is False and f.tint("tcp.len") == 0),
]


# Known pcaplens bugs: differences that are pcaplens's fault. They are NOT
# explained (they still fail --check); the report only names the bug so the
# rows are easy to read. B1 was found by this script on tcp-loss.pcap and is
# fixed (Connection::handle_data classifies against highest_seen() before
# Reassembler::add()); it stays listed so that a regression is named.
KNOWN_BUGS = [
    ("B1", "lost_segment", "pcaplens",
     "previous_segment_not_captured on a segment that does not open a hole "
     "(it starts at or below the furthest byte seen before): the classification "
     "used the start of the first hole (Reassembler next_off_) instead of the "
     "furthest byte seen, so every segment arriving while a hole was open was "
     "flagged (docs/conformance.md, bug B1)",
     lambda f: f.opens_hole is False),
    ("B1", "out_of_order", "tshark",
     "(same cause) a segment that fills a later hole while an earlier one is "
     "still open is reported as previous_segment_not_captured instead of out_of_order",
     lambda f: "previous_segment_not_captured" in f.pk and all_new(f)),
    ("B1", "retransmission", "tshark",
     "(same cause) as the out_of_order case, when Wireshark calls the hole-filling "
     "segment a retransmission (R1 cannot apply: pcaplens has no out_of_order there)",
     lambda f: "previous_segment_not_captured" in f.pk and all_new(f)),
]


def known_bug(category, side, frame):
    for bid, cat, s, _why, pred in KNOWN_BUGS:
        if cat == category and s == side:
            try:
                if pred(frame):
                    return bid
            except Exception:
                continue
    return None


def explain(category, side, frame):
    for rid, cat, s, _why, pred in RULES:
        if cat == category and s == side:
            try:
                if pred(frame):
                    return rid
            except Exception:  # a rule must never crash the report
                continue
    return None


# ---------------------------------------------------------------- helpers

def default_files():
    out = []
    for pat in ("tests/captures/*.pcap", "tests/captures/*.pcapng", "samples/*.pcap", "samples/*.pcapng"):
        out += sorted(glob.glob(os.path.join(REPO, pat)))
    return out


def last(v):
    """Last value of a possibly multi-valued field (innermost header)."""
    return v.split(",")[-1] if v else ""


def endpoint(ip, port):
    return "[%s]:%s" % (ip, port) if ":" in ip else "%s:%s" % (ip, port)


def rel(path):
    try:
        r = os.path.relpath(path, REPO)
        return path if r.startswith("..") else r
    except ValueError:
        return path


# ----------------------------------------------------------------- tshark

def tshark_rows(tshark, path, timeout):
    cmd = [tshark, "-n", "-r", path, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
           "-E", "aggregator=,"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    cmd += ["-Y", "tcp"]
    rc, out, err = run(cmd, timeout)
    if rc is None or (rc != 0 and not out):
        raise RuntimeError("tshark failed: %s" % (err.strip().splitlines() or ["?"])[-1])
    rows = []
    for line in out.splitlines():
        vals = line.split("\t")
        if len(vals) < len(TSHARK_FIELDS):
            vals += [""] * (len(TSHARK_FIELDS) - len(vals))
        r = dict(zip(TSHARK_FIELDS, vals))
        protos = r["frame.protocols"].split(":")
        # a TCP header quoted inside an ICMP error is not a segment
        if "tcp" in protos and any(p in ("icmp", "icmpv6") for p in protos[:protos.index("tcp")]):
            continue
        if not r["tcp.stream"]:
            continue
        r["frame"] = int(r["frame.number"])
        r["stream"] = int(last(r["tcp.stream"]))
        r["src"] = endpoint(last(r["ipv6.src"]) or last(r["ip.src"]), last(r["tcp.srcport"]))
        r["dst"] = endpoint(last(r["ipv6.dst"]) or last(r["ip.dst"]), last(r["tcp.dstport"]))
        rows.append(r)
    return rows


def tshark_streams(rows):
    streams = {}
    for r in rows:
        s = streams.setdefault(r["stream"], {"stream": r["stream"], "rows": [], "a": r["src"], "b": r["dst"]})
        s["rows"].append(r)
    for s in streams.values():
        s["first"] = min(r["frame"] for r in s["rows"])
        s["last"] = max(r["frame"] for r in s["rows"])
        s["key"] = frozenset((s["a"], s["b"]))
    return sorted(streams.values(), key=lambda s: s["first"])


# --------------------------------------------------------------- pcaplens

def pcaplens_conns(pcaplens, path, timeout):
    rc, out, err = run([pcaplens, "--format", "json", "--max-anomalies", "1000000", path], timeout)
    if rc is None or rc not in (0, 1, 3) or not out.strip():
        raise RuntimeError("pcaplens failed (rc=%s): %s" % (rc, (err.strip().splitlines() or ["?"])[-1]))
    doc = json.loads(out)
    conns = []
    for c in doc.get("connections", []):
        cl = endpoint(c["client"]["ip"], c["client"]["port"])
        sv = endpoint(c["server"]["ip"], c["server"]["port"])
        conns.append({"id": c["id"], "client": cl, "server": sv, "key": frozenset((cl, sv)),
                      "first": c.get("first_frame", 0), "last": c.get("last_frame", 0), "json": c})
    return sorted(conns, key=lambda c: (c["first"], c["id"]))


def pair(pconns, tstreams):
    """Pair per 4-tuple by overlapping frame ranges, in order."""
    pairs, used = [], set()
    for c in pconns:
        match = None
        for s in tstreams:
            if s["stream"] in used or s["key"] != c["key"]:
                continue
            if s["first"] <= c["last"] and c["first"] <= s["last"]:
                match = s
                break
        if match:
            used.add(match["stream"])
        pairs.append((c, match))
    for s in tstreams:
        if s["stream"] not in used:
            pairs.append((None, s))
    return pairs


# ---------------------------------------------------------------- compare

def _int(v):
    try:
        return int(last(v))
    except ValueError:
        return None


def stream_context(rows):
    """Per frame of one tshark stream (in frame order): new_bytes = payload
    bytes of [seq, seq+len) that no earlier frame of the same direction
    carried; outstanding = whether the other direction had sent sequence
    space beyond this frame's ACK number (relative numbers, as tshark
    prints them)."""
    seen = {}      # src -> merged list of [a, b) payload ranges
    nxt = {}       # src -> highest seq + len (+SYN/FIN) sent so far
    out = {}
    for r in sorted(rows, key=lambda r: r["frame"]):
        src, dst = r["src"], r["dst"]
        seq, ln, ack = _int(r["tcp.seq"]), _int(r["tcp.len"]) or 0, _int(r["tcp.ack"])
        ctx = {}
        if ack is not None and dst in nxt:
            ctx["outstanding"] = nxt[dst] > ack
        if seq is not None and ln > 0:
            a, b = seq, seq + ln
            covered = 0
            for x, y in seen.get(src, []):
                covered += max(0, min(b, y) - max(a, x))
            ctx["new_bytes"] = ln - covered
            ctx["opens_hole"] = src in nxt and seq > nxt[src]
            rs = seen.setdefault(src, [])
            rs.append([a, b])
            rs.sort()
            merged = []
            for x, y in rs:
                if merged and x <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], y)
                else:
                    merged.append([x, y])
            seen[src] = merged
        if seq is not None:
            end = seq + ln + (1 if r["tcp.flags.syn"] in ("1", "True") else 0) + \
                (1 if r["tcp.flags.fin"] in ("1", "True") else 0)
            nxt[src] = max(nxt.get(src, end), end)
        out[r["frame"]] = ctx
    return out


def compare_pair(c, s):
    """List of row dicts, one per category in which either tool flagged something."""
    pframes = {}   # frame -> set of kinds
    pdir = {}      # frame -> "c2s"/"s2c"
    if c:
        for a in c["json"].get("anomalies", []):
            if a.get("frame"):
                pframes.setdefault(a["frame"], set()).add(a["kind"])
                pdir[a["frame"]] = "c2s" if a.get("direction") == "client_to_server" else "s2c"
    trows = {r["frame"]: r for r in s["rows"]} if s else {}
    client = c["client"] if c else (s["a"] if s else "")
    ctx = stream_context(s["rows"]) if s else {}

    def tdir(fr):
        r = trows.get(fr)
        if r:
            return "c2s" if r["src"] == client else "s2c"
        return pdir.get(fr, "?")

    rows = []
    for cat, pkinds, tfields, counter in CATEGORIES:
        P = {fr for fr, ks in pframes.items() if ks & pkinds}
        T = {fr for fr, r in trows.items() if any(r.get(f) for f in tfields)}
        cnt = None
        if c and counter:
            v = c["json"].get(counter) or {}
            cnt = (v.get("client_to_server", 0), v.get("server_to_client", 0))
        if not P and not T and not (cnt and any(cnt)):
            continue
        only_p, only_t = sorted(P - T), sorted(T - P)
        expl, unexpl, bugs = {}, [], {}
        for side, frames in (("pcaplens", only_p), ("tshark", only_t)):
            for fr in frames:
                fctx = Frame(fr, trows.get(fr), pframes.get(fr, set()), ctx.get(fr))
                rid = explain(cat, side, fctx)
                if rid:
                    expl.setdefault(rid, []).append(fr)
                else:
                    unexpl.append((side, fr))
                    bid = known_bug(cat, side, fctx)
                    if bid:
                        bugs[bid] = bugs.get(bid, 0) + 1
        if c is None or s is None:
            unexpl = [("pcaplens", fr) for fr in only_p] + [("tshark", fr) for fr in only_t]
            if not unexpl:
                unexpl = [("conn", 0)]
        subdiff = []
        if cat == "retransmission":
            # Information only: the kind inside the family (plain / fast /
            # spurious) of frames both tools flagged.
            for fr in sorted(P & T):
                ks, r = pframes[fr], trows[fr]
                ps = "fast" if "fast_retransmission" in ks else \
                    "spurious" if "spurious_retransmission" in ks else "plain"
                ts = "fast" if r.get("tcp.analysis.fast_retransmission") else \
                    "spurious" if r.get("tcp.analysis.spurious_retransmission") else "plain"
                if ps != ts:
                    subdiff.append("%d (pcaplens %s, tshark %s)" % (fr, ps, ts))
        rows.append({
            "category": cat, "subtype_diff": subdiff,
            "p": (sum(1 for f in P if tdir(f) == "c2s"), sum(1 for f in P if tdir(f) == "s2c")),
            "t": (sum(1 for f in T if tdir(f) == "c2s"), sum(1 for f in T if tdir(f) == "s2c")),
            "counter": cnt, "only_p": only_p, "only_t": only_t,
            "explained": expl, "unexplained": unexpl, "bugs": bugs,
        })
    return rows


def frames_str(frames, limit=40):
    if not frames:
        return ""
    # compress runs a-b
    out, i = [], 0
    while i < len(frames):
        j = i
        while j + 1 < len(frames) and frames[j + 1] == frames[j] + 1:
            j += 1
        out.append(str(frames[i]) if i == j else "%d-%d" % (frames[i], frames[j]))
        i = j + 1
    s = ", ".join(out[:limit])
    if len(out) > limit:
        s += ", … (%d more)" % (len(out) - limit)
    return s


def verdict(row):
    parts = []
    note = ""
    if row.get("subtype_diff"):
        note = " (kind differs, information only: %s)" % ", ".join(row["subtype_diff"])
    if not row["only_p"] and not row["only_t"] and not row["unexplained"]:
        return "agree" + note
    for rid, frs in sorted(row["explained"].items()):
        parts.append("%s (%d)" % (rid, len(frs)))
    if row["unexplained"]:
        b = row.get("bugs") or {}
        tag = ""
        if b:
            tag = " (%s)" % ", ".join("%d: pcaplens bug %s" % (n, bid) for bid, n in sorted(b.items()))
        parts.append("**UNEXPLAINED %d**%s" % (len(row["unexplained"]), tag))
    return "; ".join(parts) + note


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", help="captures (default: tests/captures/*.pcap* samples/*.pcap*)")
    ap.add_argument("--pcaplens", default=default_pcaplens())
    ap.add_argument("--tshark", default=shutil.which("tshark") or "tshark")
    ap.add_argument("--out", help="write the markdown report here instead of stdout")
    ap.add_argument("--check", action="store_true", help="exit 1 on any unexplained difference")
    ap.add_argument("--all", action="store_true", help="also list agreeing connections without findings")
    ap.add_argument("--timeout", type=float, default=TIMEOUT_S)
    args = ap.parse_args()
    files = args.files or default_files()

    out = []
    w = out.append
    w("# pcaplens TCP findings vs tshark tcp.analysis, by frame")
    w("")
    w("Counts are flagged frames, client→server / server→client. `counter` is pcaplens's own")
    w("per-direction counter for the category (connections[].%s)." % "/".join(
        x[3] for x in CATEGORIES if x[3]))
    w("")
    w("Explained differences (rules):")
    w("")
    for r in RULES:
        if not r[3].startswith("("):
            w("- **%s** (%s, only %s): %s" % (r[0], r[1], r[2], r[3]))
    w("")
    w("Known pcaplens bugs (still counted as failures):")
    w("")
    for b in KNOWN_BUGS:
        w("- **%s** (%s, only %s): %s" % (b[0], b[1], b[2], b[3]))
    w("")
    passed = failed = 0
    totals = {}
    skipped = []
    for path in files:
        name = rel(path)
        try:
            trows = tshark_rows(args.tshark, path, args.timeout)
            pconns = pcaplens_conns(args.pcaplens, path, args.timeout)
        except (RuntimeError, ValueError) as e:
            skipped.append((name, str(e)))
            failed += 1
            continue
        pairs = pair(pconns, tshark_streams(trows))
        w("## %s" % name)
        w("")
        lines = []
        quiet = 0
        for c, s in pairs:
            label = ("#%d %s → %s" % (c["id"], c["client"], c["server"])) if c else \
                ("(tshark only) %s ↔ %s" % (s["a"], s["b"]))
            if c is not None and s is None:
                label += " (pcaplens only)"
            if s is not None:
                label += " [stream %d]" % s["stream"]
            rows = compare_pair(c, s)
            if c is None or s is None:
                if not rows:
                    rows = [{"category": "connection", "p": (0, 0), "t": (0, 0), "counter": None,
                             "only_p": [], "only_t": [], "explained": {}, "unexplained": [("conn", 0)]}]
            if not rows:
                quiet += 1
                passed += 1
                if args.all:
                    lines.append("| %s | (none) | 0 / 0 | 0 / 0 |  |  |  | agree |" % label)
                continue
            for r in rows:
                tot = totals.setdefault(r["category"], [0, 0, 0, 0])
                tot[0] += sum(r["p"])
                tot[1] += sum(r["t"])
                tot[2] += len(r["only_p"]) + len(r["only_t"]) - len(r["unexplained"])
                tot[3] += len(r["unexplained"])
                if r["unexplained"]:
                    failed += 1
                else:
                    passed += 1
                cnt = "%d / %d" % r["counter"] if r["counter"] else ""
                lines.append("| %s | %s | %d / %d | %d / %d | %s | %s | %s | %s |" % (
                    label, r["category"], r["p"][0], r["p"][1], r["t"][0], r["t"][1], cnt,
                    frames_str(r["only_p"]), frames_str(r["only_t"]), verdict(r)))
        if lines:
            w("| connection | category | pcaplens | tshark | counter | only pcaplens | only tshark | verdict |")
            w("|---|---|---|---|---|---|---|---|")
            out.extend(lines)
        else:
            w("No TCP analysis flags from either tool.")
        if quiet and lines and not args.all:
            w("")
            w("%d other connection(s): no flags from either tool." % quiet)
        w("")
    if skipped:
        w("## Not compared")
        w("")
        for n, e in skipped:
            w("- %s: %s" % (n, e))
        w("")
    w("## Totals")
    w("")
    w("| category | pcaplens frames | tshark frames | explained differences | unexplained |")
    w("|---|---|---|---|---|")
    for cat, *_ in CATEGORIES:
        if cat in totals:
            t = totals[cat]
            w("| %s | %d | %d | %d | %d |" % (cat, t[0], t[1], t[2], t[3]))
    w("")
    w("%d passed, %d failed" % (passed, failed))
    text = "\n".join(out) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
        print("%d passed, %d failed" % (passed, failed))
    else:
        sys.stdout.write(text)
    if args.check and failed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

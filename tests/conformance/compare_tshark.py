#!/usr/bin/env python3
"""TCP conformance: pcaplens connections and per-direction payload bytes
against tshark, on every capture of the public corpus.

For each capture listed in MANIFEST.tsv:
  * pcaplens --format json FILE            -> connections[] with payload_bytes
  * tshark -r FILE -T fields ... -Y tcp     -> one row per TCP segment
For every tshark tcp.stream and direction the unique payload byte count is
the length of the union of the segments' sequence ranges [seq, seq+len)
(sequence numbers unwrapped modulo 2^32; a SYN's payload starts at seq+1;
tcp.len is computed by tshark from the IP length, so bytes cut by the
snaplen are included, as in pcaplens's payload_bytes).

pcaplens connections and tshark streams are matched per 4-tuple (either
direction) in frame order: two are paired when their [first frame, last
frame] ranges overlap, which also pairs the right incarnation when a port
pair is reused. A paired connection agrees when both directions' unique byte
counts are equal; a connection found by only one tool counts as a
disagreement.

Output: a markdown report (stdout, or --out FILE) ending with
  connections: N compared, M agree (P%)
With --check MIN_PERCENT it also prints "N passed, M failed" and exits 1
when the agreement is below MIN_PERCENT.

Python 3 standard library only. Each tool run is limited to 30 s; a capture
that either tool cannot read is skipped and listed as such.
"""
import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conformance_common import default_corpus, default_pcaplens, manifest, run, run_pcaplens, norm_ip  # noqa: E402
TIMEOUT_S = 30

TSHARK_FIELDS = [
    "frame.number", "frame.protocols", "tcp.stream",
    "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
    "tcp.seq_raw", "tcp.len", "tcp.flags.syn", "tcp.flags.fin", "tcp.flags.reset",
]


# ---------------------------------------------------------------- helpers

def md(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def flag(v):
    return v.strip() in ("1", "True", "true")


# ---------------------------------------------------------------- tshark side

class Stream:
    def __init__(self, sid):
        self.sid = sid
        self.first_frame = None
        self.last_frame = None
        self.first_src = None          # (ip, port) of the first segment
        self.segs = {}                 # (ip, port) -> [(seq, len, syn)]
        self.packets = {}              # (ip, port) -> count
        self.endpoints = set()

    def unique_bytes(self, ep):
        return union_length(self.segs.get(ep, []))


def union_length(segs):
    """Length of the union of [seq, seq+len) over segments; sequence numbers
    are unwrapped mod 2^32 relative to the previous segment (closest
    interpretation), so wrap-around and reordering are both handled."""
    ivals = []
    ref = None       # unwrapped value of the previous segment's start
    for seq, ln, syn in segs:
        start = (seq + 1) & 0xFFFFFFFF if syn else seq
        if ref is None:
            u = start
        else:
            d = (start - ref) & 0xFFFFFFFF
            if d >= 1 << 31:
                d -= 1 << 32
            u = ref + d
        ref = u
        if ln > 0:
            ivals.append((u, u + ln))
    ivals.sort()
    total = 0
    cur_s = cur_e = None
    for s, e in ivals:
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        elif e > cur_e:
            cur_e = e
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def pick(values, which=-1):
    parts = [v for v in values.split(",")] if values else []
    return parts[which] if parts else ""


def run_tshark(tshark, path, timeout):
    """({stream id: Stream}, note) or (None, error)."""
    cmd = [tshark, "-n", "-r", path, "-T", "fields", "-E", "separator=/t", "-E", "aggregator=,"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    cmd += ["-Y", "tcp"]
    rc, out, err = run(cmd, timeout)
    if rc is None:
        return None, "tshark: " + err
    errs = [l for l in err.splitlines() if l.strip() and "dangerous" not in l and "Running as user" not in l]
    if rc != 0 and not out:
        return None, "tshark exit %d: %s" % (rc, errs[-1] if errs else "")
    note = ("tshark exit %d: %s" % (rc, errs[-1] if errs else "")) if rc != 0 else ""
    streams = {}
    skipped_icmp = 0
    for line in out.splitlines():
        c = line.split("\t")
        if len(c) < len(TSHARK_FIELDS):
            continue
        r = dict(zip(TSHARK_FIELDS, c))
        protos = r["frame.protocols"].split(":")
        if "tcp" not in protos:
            continue
        last_tcp = len(protos) - 1 - protos[::-1].index("tcp")
        before = protos[:last_tcp]
        if "icmp" in before or "icmpv6" in before:
            # a TCP header quoted inside an ICMP error: not a segment of the stream
            skipped_icmp += 1
            continue
        if not r["tcp.stream"]:
            continue
        # the innermost IP header carries the TCP segment
        ipv = None
        for p in reversed(before):
            if p in ("ip", "ipv6"):
                ipv = p
                break
        if ipv == "ipv6":
            src, dst = pick(r["ipv6.src"]), pick(r["ipv6.dst"])
        else:
            src, dst = pick(r["ip.src"]), pick(r["ip.dst"])
        try:
            sid = int(pick(r["tcp.stream"]))
            sport, dport = int(pick(r["tcp.srcport"])), int(pick(r["tcp.dstport"]))
            seq = int(pick(r["tcp.seq_raw"]) or 0)
            ln = int(pick(r["tcp.len"]) or 0)
            frame = int(r["frame.number"])
        except ValueError:
            continue
        syn = flag(pick(r["tcp.flags.syn"]))
        s = streams.get(sid)
        if s is None:
            s = streams[sid] = Stream(sid)
            s.first_frame = frame
            s.first_src = (norm_ip(src), sport)
        s.last_frame = frame
        ep = (norm_ip(src), sport)
        s.endpoints.add(ep)
        s.endpoints.add((norm_ip(dst), dport))
        s.segs.setdefault(ep, []).append((seq, ln, syn))
        s.packets[ep] = s.packets.get(ep, 0) + 1
    if skipped_icmp:
        note = (note + "; " if note else "") + "%d TCP header(s) inside ICMP errors ignored" % skipped_icmp
    return streams, note


# ---------------------------------------------------------------- matching

def canon(a, b):
    return tuple(sorted([a, b]))


def match(pl_conns, ts_streams):
    """Pairs (pcaplens conn or None, tshark stream or None)."""
    groups = {}
    for c in pl_conns:
        k = canon((norm_ip(c["client"]["ip"]), c["client"]["port"]), (norm_ip(c["server"]["ip"]), c["server"]["port"]))
        groups.setdefault(k, ([], []))[0].append(c)
    for s in ts_streams.values():
        eps = sorted(s.endpoints)
        if len(eps) != 2:
            eps = (eps + eps)[:2]
        groups.setdefault(canon(eps[0], eps[1]), ([], []))[1].append(s)
    pairs = []
    for k in sorted(groups, key=lambda k: str(k)):
        pls, tss = groups[k]
        pls.sort(key=lambda c: (c.get("first_frame", 0), c["id"]))
        tss.sort(key=lambda s: (s.first_frame, s.sid))
        i = j = 0
        while i < len(pls) and j < len(tss):
            c, s = pls[i], tss[j]
            cf, cl = c.get("first_frame", 0), c.get("last_frame", 0)
            if cf <= s.last_frame and s.first_frame <= cl:
                pairs.append((c, s))
                i += 1
                j += 1
            elif cl < s.first_frame:
                pairs.append((c, None))
                i += 1
            else:
                pairs.append((None, s))
                j += 1
        pairs += [(c, None) for c in pls[i:]]
        pairs += [(None, s) for s in tss[j:]]
    return pairs


def tuple_str(c=None, s=None):
    if c is not None:
        return "%s:%d → %s:%d" % (c["client"]["ip"], c["client"]["port"], c["server"]["ip"], c["server"]["port"])
    eps = sorted(s.endpoints)
    a = s.first_src
    b = [e for e in eps if e != a]
    b = b[0] if b else a
    return "%s:%d → %s:%d" % (a[0], a[1], b[0], b[1])


# ---------------------------------------------------------------- main

def compare_file(rel, args):
    path = os.path.join(args.corpus, rel)
    res = {"file": rel, "skipped": None, "notes": [], "pl_count": 0, "ts_count": 0, "rows": []}
    if not os.path.exists(path):
        res["skipped"] = "file missing"
        return res
    doc, note = run_pcaplens(args.pcaplens, path, args.timeout)
    if doc is None:
        res["skipped"] = note
        return res
    if note:
        res["notes"].append(note)
    streams, tnote = run_tshark(args.tshark, path, args.timeout)
    if streams is None:
        res["skipped"] = tnote
        return res
    if tnote:
        res["notes"].append(tnote)
    conns = doc.get("connections", [])
    res["pl_count"], res["ts_count"] = len(conns), len(streams)
    for c, s in match(conns, streams):
        row = {"pl": None, "ts": None, "agree": False, "tuple": tuple_str(c, s)}
        if c is not None:
            row["pl"] = c["id"]
            row["pl_bytes"] = (c["payload_bytes"]["client_to_server"], c["payload_bytes"]["server_to_client"])
            row["pl_missing"] = (c["missing_bytes"]["client_to_server"], c["missing_bytes"]["server_to_client"])
            row["pl_packets"] = (c["packets"]["client_to_server"], c["packets"]["server_to_client"])
            row["anomalies"] = sorted({a.get("kind", "?") for a in c.get("anomalies", [])})
        if s is not None:
            row["ts"] = s.sid
            if c is not None:
                cl = (norm_ip(c["client"]["ip"]), c["client"]["port"])
                sv = (norm_ip(c["server"]["ip"]), c["server"]["port"])
            else:
                cl = s.first_src
                others = [e for e in s.endpoints if e != cl]
                sv = others[0] if others else cl
            row["ts_bytes"] = (s.unique_bytes(cl), s.unique_bytes(sv))
            row["ts_packets"] = (s.packets.get(cl, 0), s.packets.get(sv, 0))
        if c is not None and s is not None:
            row["agree"] = row["pl_bytes"] == row["ts_bytes"]
        res["rows"].append(row)
    return res


def render(results, args):
    out = []
    out.append("# pcaplens vs tshark: TCP connections and unique payload bytes\n")
    out.append("pcaplens: `%s`  \ntshark: `%s`  \ncorpus: `%s`\n" % (args.pcaplens, args.tshark, args.corpus))
    out.append("## Per capture\n")
    out.append("| capture | pcaplens conns | tshark streams | paired | agree | notes |")
    out.append("|---|---:|---:|---:|---:|---|")
    total = agree = 0
    diffs = []
    skipped = []
    for r in results:
        if r["skipped"]:
            skipped.append(r)
            out.append("| %s | – | – | – | – | skipped: %s |" % (md(r["file"]), md(r["skipped"])))
            continue
        paired = sum(1 for x in r["rows"] if x["pl"] is not None and x["ts"] is not None)
        ok = sum(1 for x in r["rows"] if x["agree"])
        total += len(r["rows"])
        agree += ok
        mark = "" if r["pl_count"] == r["ts_count"] else " **≠**"
        out.append("| %s | %d | %d%s | %d | %d/%d | %s |" % (md(r["file"]), r["pl_count"], r["ts_count"], mark, paired, ok,
                                                          len(r["rows"]), md("; ".join(r["notes"]))))
        for x in r["rows"]:
            if not x["agree"]:
                diffs.append((r["file"], x))
    out.append("")
    out.append("## Differing connections\n")
    if not diffs:
        out.append("None.\n")
    else:
        out.append("| capture | pcaplens id | tshark stream | connection (client → server) | pcaplens bytes c→s / s→c |"
                   " tshark bytes c→s / s→c | pcaplens missing | packets pcaplens / tshark | pcaplens anomalies |")
        out.append("|---|---:|---:|---|---|---|---|---|---|")
        for f, x in diffs:
            pb = "%d / %d" % x["pl_bytes"] if x["pl"] is not None else "(no connection)"
            tb = "%d / %d" % x["ts_bytes"] if x["ts"] is not None else "(no stream)"
            miss = "%d / %d" % x["pl_missing"] if x["pl"] is not None else ""
            pk = "%s / %s" % ("%d+%d" % x["pl_packets"] if x["pl"] is not None else "–",
                              "%d+%d" % x["ts_packets"] if x["ts"] is not None else "–")
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                md(f), x["pl"] if x["pl"] is not None else "–", x["ts"] if x["ts"] is not None else "–", md(x["tuple"]),
                pb, tb, miss, pk, md(", ".join(x.get("anomalies", [])))))
        out.append("")
    if skipped:
        out.append("Skipped captures: %s\n" % ", ".join("`%s` (%s)" % (r["file"], r["skipped"]) for r in skipped))
    done = [r for r in results if not r["skipped"]]
    out.append("connection counts: pcaplens %d, tshark %d; equal in %d of %d captures\n" % (
        sum(r["pl_count"] for r in done), sum(r["ts_count"] for r in done),
        sum(1 for r in done if r["pl_count"] == r["ts_count"]), len(done)))
    pct = 100.0 * agree / total if total else 0.0
    out.append("connections: %d compared, %d agree (%.1f%%)" % (total, agree, pct))
    return "\n".join(out) + "\n", total, agree, pct


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pcaplens", default=default_pcaplens(), help="pcaplens binary (default: $PCAPLENS or build/pcaplens)")
    ap.add_argument("--tshark", default=shutil.which("tshark") or "tshark")
    ap.add_argument("--corpus", default=default_corpus(), help="corpus directory holding MANIFEST.tsv")
    ap.add_argument("--out", help="write the markdown report here instead of stdout")
    ap.add_argument("--check", type=float, metavar="MIN_PERCENT", help="exit 1 when agreement is below MIN_PERCENT")
    ap.add_argument("--timeout", type=int, default=TIMEOUT_S, help="seconds per tool run (default 30)")
    ap.add_argument("files", nargs="*", help="only these captures (paths relative to the corpus)")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.corpus, "MANIFEST.tsv")):
        sys.exit("no MANIFEST.tsv in %s" % args.corpus)
    if not os.path.exists(args.pcaplens):
        sys.exit("pcaplens binary not found: %s" % args.pcaplens)
    files = args.files or manifest(args.corpus)
    results = [compare_file(f, args) for f in files]
    text, total, agree, pct = render(results, args)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    if args.check is not None:
        print("%d passed, %d failed" % (agree, total - agree))
        if pct < args.check:
            print("agreement %.1f%% is below %.1f%%" % (pct, args.check), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

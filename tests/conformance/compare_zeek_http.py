#!/usr/bin/env python3
"""HTTP conformance: pcaplens's transactions against Zeek's http.log.

For every capture in the corpus that has a Zeek http.log baseline beside it
(`NAME.zeek-http.log`, or the zeek-cut subset `NAME.zeek-http.cut.log`):
  * pcaplens --format json CAPTURE -> connections[].http[]
  * the baseline's rows, each (method, host, uri, status_code), grouped by
    connection and ordered by trans_depth (file order when absent).
Zeek rows are tied to the capture by their 4-tuple: a row whose 4-tuple is
not a TCP connection of this capture (pcaplens's or tshark's view) belongs
to another trace of a combined baseline and is left out (and counted).
A zeek-cut subset without the 4-tuple columns is tied by uid: Zeek btest
uids are deterministic and handed out in connection-creation order, so the
n-th uid of the fixed sequence is the n-th connection of the capture (this
holds when the capture has only TCP connections, as the corpus logs without
4-tuples do: Zeek gives UDP and ICMP flows uids too).

Per connection the two transaction lists are aligned in order (difflib on
the (method, host, uri, status) tuples). A Zeek transaction passes when the
aligned pcaplens transaction has the same method, host, uri and status; a
transaction only one side has fails. '-' (unset) in Zeek and null in
pcaplens are the same "no value"; Zeek's "(empty)" is the empty string.
Status 0 is "a response without a status line" on both sides: Zeek logs
status_code 0 for a reply it read as HTTP/0.9 (raw bytes); pcaplens reports
such a reply with status null and a response_ts, which is compared as 0.

Known differences: zeek_http_known_differences.tsv (beside this script)
lists differing transactions that docs/conformance.md explains, each by
capture, connection, transaction (zeek#DEPTH or pcaplens#INDEX) and the
exact values both sides give, with a kind (zeek-quirk: Zeek logs what is not
on the wire; definitional: a deliberate, documented pcaplens choice) and the
reason. A difference matching an entry exactly is reported as "explained"; it
never counts as agreement. An entry that matches nothing is reported as
stale.

Output: a markdown report (stdout, or --out FILE) ending with
  transactions: N compared, M agree (P%)
  agree or explained: K of N (Q%); explained: E (...); unexplained: U
With --check MIN_PERCENT it also prints "N passed, M failed" and exits 1
when the (raw) agreement is below MIN_PERCENT; --check-explained
MIN_PERCENT does the same for "agree or explained".

Python 3 standard library only; each tool run is limited to 30 s; captures
pcaplens cannot read are skipped and listed.
"""
import argparse
import difflib
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conformance_common import default_corpus, default_pcaplens, manifest, run, run_pcaplens, norm_ip  # noqa: E402
TIMEOUT_S = 30

# Zeek btest runs use a fixed seed, so connection uids come from one fixed
# sequence in connection-creation order (verified on the corpus: see
# zeek/http-concurrent-range-requests.zeek-conn.log against the pcap's SYNs).
ZEEK_UID_SEQUENCE = ["CHhAvVGS1DHFjwGM9", "ClEkJM2Vm5giqnMf4h", "C4J4Th3PJpwUYZZ6gc"]

FIELDS = ("method", "host", "uri", "status")
KNOWN_DIFFERENCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zeek_http_known_differences.tsv")
KINDS = {"zeek-quirk": "Zeek quirk", "definitional": "definitional"}


# ---------------------------------------------------------------- helpers

def tshark_tuples(tshark, path, timeout):
    """Set of canonical TCP 4-tuples tshark sees (None when tshark is absent)."""
    if not tshark:
        return None
    cmd = [tshark, "-n", "-r", path, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=l",
           "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport",
           "-Y", "tcp && !icmp && !icmpv6"]
    rc, out, _ = run(cmd, timeout)
    if rc is None:
        return None
    tuples = set()
    for line in out.splitlines():
        c = line.split("\t")
        if len(c) < 6:
            continue
        try:
            src = norm_ip(c[1] or c[0])
            dst = norm_ip(c[4] or c[3])
            tuples.add(canon((src, int(c[2])), (dst, int(c[5]))))
        except ValueError:
            continue
    return tuples


def canon(a, b):
    return tuple(sorted([a, b]))


def md(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def show(v):
    return "–" if v is None else ("\"\"" if v == "" else str(v))


# ---------------------------------------------------------------- zeek log

def zeek_value(v):
    if v == "-":
        return None
    if v == "(empty)":
        return ""
    return v


def read_zeek_log(path):
    """(field names, [row dicts]) from a Zeek TSV log or a zeek-cut subset
    (whose header line has no '#fields' prefix)."""
    fields = None
    rows = []
    sep = "\t"
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("#separator"):
                sep = line.split(" ", 1)[1].encode().decode("unicode_escape")
                continue
            if line.startswith("#fields"):
                fields = line.split(sep)[1:]
                continue
            if line.startswith("#"):
                continue
            if fields is None:  # zeek-cut output: the first line names the columns
                fields = line.split(sep)
                continue
            cols = line.split(sep)
            rows.append(dict(zip(fields, cols)))
    return fields or [], rows


def zeek_transaction(r):
    status = zeek_value(r.get("status_code", "-"))
    return {
        "method": zeek_value(r.get("method", "-")),
        "host": zeek_value(r.get("host", "-")),
        "uri": zeek_value(r.get("uri", "-")),
        "status": int(status) if status not in (None, "") else None,
        "depth": int(r["trans_depth"]) if r.get("trans_depth", "-") not in ("-", "") else None,
    }


def pl_transaction(h):
    t = {f: h.get(f) for f in FIELDS}
    # A response without a status line (raw HTTP/0.9 reply): what Zeek logs as status_code 0.
    if t["status"] is None and h.get("response_ts") is not None:
        t["status"] = 0
    return t


def read_known(path):
    """Entries of the known-differences table (TSV with a header line; '#' lines are comments)."""
    out = []
    if not path or not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        head = None
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if head is None:
                head = cols
                continue
            e = dict(zip(head, cols))
            if len(cols) != len(head) or e["kind"] not in KINDS or not e["reason"].strip():
                sys.exit("%s:%d: need %d tab-separated columns, kind in %s and a reason" % (path, n, len(head), sorted(KINDS)))
            e["line"] = n
            e["used"] = False
            out.append(e)
    return out


def side_text(t, fields):
    return " ".join(show(t[f]) for f in fields) if t is not None else "(none)"


def explain(capture, x, known):
    """The known-difference entry matching this differing row exactly, or None."""
    z, p = x["zeek"], x["pl"]
    which = "zeek#%s" % z["depth"] if z is not None else "pcaplens#%s" % x["pl_index"]
    zt, pt = side_text(z, x["fields"]), side_text(p, x["fields"])
    for e in known:
        if (e["capture"], e["connection"], e["transaction"], e["zeek"], e["pcaplens"]) == (capture, x["conn"], which, zt, pt):
            e["used"] = True
            return e
    return None


# ---------------------------------------------------------------- compare

def key_of(t, fields):
    return tuple(t[f] for f in fields)


def align(zs, ps, fields):
    """Rows (zeek transaction or None, pcaplens transaction or None)."""
    a = [key_of(t, fields) for t in zs]
    b = [key_of(t, fields) for t in ps]
    sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    rows = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            rows += [(zs[i1 + k], ps[j1 + k]) for k in range(i2 - i1)]
        elif op == "replace":
            n = max(i2 - i1, j2 - j1)
            for k in range(n):
                rows.append((zs[i1 + k] if i1 + k < i2 else None, ps[j1 + k] if j1 + k < j2 else None))
        elif op == "delete":
            rows += [(zs[k], None) for k in range(i1, i2)]
        else:
            rows += [(None, ps[k]) for k in range(j1, j2)]
    return rows


def compare_capture(capture, log, args):
    path = os.path.join(args.corpus, capture)
    res = {"capture": capture, "log": log, "skipped": None, "notes": [], "rows": [], "foreign": 0}
    doc, note = run_pcaplens(args.pcaplens, path, args.timeout)
    if doc is None:
        res["skipped"] = note
        return res
    if note:
        res["notes"].append(note)
    fields, zrows = read_zeek_log(os.path.join(args.corpus, log))
    conns = sorted(doc.get("connections", []), key=lambda c: (c.get("first_frame", 0), c["id"]))
    has_tuple = all(f in fields for f in ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"))
    cmp_fields = tuple(f for f in FIELDS if ("status_code" if f == "status" else f) in fields)

    # Zeek connections: uid (or 4-tuple) -> rows in order
    zconns = {}
    order = []
    for r in zrows:
        uid = r.get("uid") or "%s:%s-%s:%s" % (r.get("id.orig_h"), r.get("id.orig_p"), r.get("id.resp_h"), r.get("id.resp_p"))
        if uid not in zconns:
            zconns[uid] = []
            order.append(uid)
        zconns[uid].append(r)

    # pcaplens connections by canonical 4-tuple, in frame order
    by_tuple = {}
    for c in conns:
        k = canon((norm_ip(c["client"]["ip"]), c["client"]["port"]), (norm_ip(c["server"]["ip"]), c["server"]["port"]))
        by_tuple.setdefault(k, []).append(c)
    ts_tuples = tshark_tuples(args.tshark, path, args.timeout) if has_tuple else None

    used = set()
    pairs = []  # (label, zeek rows, pcaplens conn or None)
    for uid in order:
        rows = zconns[uid]
        r0 = rows[0]
        if has_tuple:
            k = canon((norm_ip(r0["id.orig_h"]), int(r0["id.orig_p"])), (norm_ip(r0["id.resp_h"]), int(r0["id.resp_p"])))
            label = "%s:%s → %s:%s" % (r0["id.orig_h"], r0["id.orig_p"], r0["id.resp_h"], r0["id.resp_p"])
            cands = [c for c in by_tuple.get(k, []) if c["id"] not in used]
            if not cands and k not in by_tuple and (ts_tuples is None or k not in ts_tuples):
                res["foreign"] += len(rows)   # another trace of a combined baseline
                continue
            # several Zeek uids on one 4-tuple (port reuse): take pcaplens's in order
            c = cands[0] if cands else None
        else:
            label = "uid %s" % uid
            if uid not in ZEEK_UID_SEQUENCE:
                res["notes"].append("uid %s not in the known uid sequence; its rows cannot be placed" % uid)
                c = None
            else:
                n = ZEEK_UID_SEQUENCE.index(uid)
                c = conns[n] if n < len(conns) else None
                if c is not None:
                    label += " = connection #%d" % c["id"]
        if c is not None:
            used.add(c["id"])
        zs = [zeek_transaction(r) for r in rows]
        if all(t["depth"] is not None for t in zs):
            zs.sort(key=lambda t: t["depth"])
        for k, t in enumerate(zs):   # logs without trans_depth: the position names the transaction
            if t["depth"] is None:
                t["depth"] = k + 1
        ps = [pl_transaction(h) for h in c.get("http", [])] if c is not None else []
        pairs.append((label, c, zs, ps))

    # pcaplens connections with transactions Zeek never logged
    if has_tuple or not any(p[1] is None for p in pairs):
        for c in conns:
            if c["id"] in used or not c.get("http"):
                continue
            label = "%s:%d → %s:%d" % (c["client"]["ip"], c["client"]["port"], c["server"]["ip"], c["server"]["port"])
            pairs.append((label, c, [], [pl_transaction(h) for h in c["http"]]))

    for label, c, zs, ps in pairs:
        for k, p in enumerate(ps):
            p["index"] = k + 1
        for z, p in align(zs, ps, cmp_fields):
            ok = z is not None and p is not None and all(z[f] == p[f] for f in cmp_fields)
            res["rows"].append({"conn": label, "pl_id": c["id"] if c else None, "zeek": z, "pl": p, "agree": ok,
                                "fields": cmp_fields, "pl_index": p["index"] if p is not None else None})
    if res["foreign"]:
        res["notes"].append("%d row(s) of other traces left out" % res["foreign"])
    if cmp_fields != FIELDS:
        res["notes"].append("baseline has only: %s" % ", ".join(cmp_fields))
    return res


def baselines(corpus, only):
    out = []
    for cap in manifest(corpus):
        if only and cap not in only:
            continue
        stem = os.path.splitext(cap)[0]
        for suffix in (".zeek-http.log", ".zeek-http.cut.log"):
            if os.path.exists(os.path.join(corpus, stem + suffix)):
                out.append((cap, stem + suffix))
                break
    return out


def render(results, args, known):
    out = ["# pcaplens vs Zeek http.log: HTTP transactions\n",
           "pcaplens: `%s`  \ncorpus: `%s`  \ncompared per transaction: method, host, uri, status\n"
           % (args.pcaplens, args.corpus),
           "## Per capture\n",
           "| capture | baseline | Zeek transactions | pcaplens transactions | agree | notes |",
           "|---|---|---:|---:|---:|---|"]
    total = agree = 0
    diffs = []
    compared = set()
    for r in results:
        if r["skipped"]:
            out.append("| %s | %s | – | – | – | skipped: %s |" % (md(r["capture"]), md(os.path.basename(r["log"])), md(r["skipped"])))
            continue
        compared.add(r["capture"])
        nz = sum(1 for x in r["rows"] if x["zeek"] is not None)
        npl = sum(1 for x in r["rows"] if x["pl"] is not None)
        ok = sum(1 for x in r["rows"] if x["agree"])
        total += len(r["rows"])
        agree += ok
        out.append("| %s | %s | %d | %d | %d/%d | %s |" % (md(r["capture"]), md(os.path.basename(r["log"])), nz, npl, ok,
                                                         len(r["rows"]), md("; ".join(r["notes"]))))
        diffs += [(r["capture"], x) for x in r["rows"] if not x["agree"]]
    out.append("")
    explained, unexplained = [], []
    for cap, x in diffs:
        e = explain(cap, x, known)
        (explained if e else unexplained).append((cap, x, e))

    def table(title, rows, with_reason):
        out.append("## %s\n" % title)
        if not rows:
            out.append("None.\n")
            return
        head = "| capture | connection | transaction | pcaplens id | Zeek: method host uri status | pcaplens: method host uri status | differs in |"
        out.append(head + (" kind | reason |" if with_reason else ""))
        out.append("|---|---|---|---:|---|---|---|" + ("---|---|" if with_reason else ""))
        for cap, x, e in rows:
            z, p = x["zeek"], x["pl"]
            which = "zeek#%s" % z["depth"] if z is not None else "pcaplens#%s" % x["pl_index"]
            what = ", ".join(f for f in x["fields"] if z[f] != p[f]) if z is not None and p is not None else \
                ("only Zeek" if p is None else "only pcaplens")
            line = "| %s | %s | %s | %s | %s | %s | %s |" % (md(cap), md(x["conn"]), which, x["pl_id"] if x["pl_id"] else "–",
                                                        md(side_text(z, x["fields"])), md(side_text(p, x["fields"])), what)
            if with_reason:
                line += " %s | %s |" % (KINDS[e["kind"]], md(e["reason"]))
            out.append(line)
        out.append("")

    table("Unexplained differences", unexplained, False)
    table("Explained differences (%s)" % os.path.basename(KNOWN_DIFFERENCES), explained, True)
    stale = [e for e in known if not e["used"] and e["capture"] in compared]
    if stale:
        out.append("## Stale known differences\n")
        out.append("These entries matched no differing transaction (fixed, or the values changed): update the table.\n")
        for e in stale:
            out.append("- line %d: %s %s %s: Zeek `%s`, pcaplens `%s`" % (e["line"], md(e["capture"]), md(e["connection"]),
                                                                      e["transaction"], md(e["zeek"]), md(e["pcaplens"])))
        out.append("")
    pct = 100.0 * agree / total if total else 0.0
    ok_or_explained = agree + len(explained)
    pct2 = 100.0 * ok_or_explained / total if total else 0.0
    by_kind = ", ".join("%s %d" % (name, sum(1 for _, _, e in explained if e["kind"] == k)) for k, name in KINDS.items())
    out.append("transactions: %d compared, %d agree (%.1f%%)" % (total, agree, pct))
    out.append("agree or explained: %d of %d (%.1f%%); explained: %d (%s); unexplained: %d"
               % (ok_or_explained, total, pct2, len(explained), by_kind, len(unexplained)))
    return "\n".join(out) + "\n", total, agree, pct, pct2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pcaplens", default=default_pcaplens(), help="pcaplens binary (default: $PCAPLENS or build/pcaplens)")
    ap.add_argument("--tshark", default=shutil.which("tshark"), help="tshark, to tell this capture's 4-tuples (optional)")
    ap.add_argument("--corpus", default=default_corpus(), help="corpus directory holding MANIFEST.tsv")
    ap.add_argument("--out", help="write the markdown report here instead of stdout")
    ap.add_argument("--check", type=float, metavar="MIN_PERCENT", help="exit 1 when agreement is below MIN_PERCENT")
    ap.add_argument("--check-explained", type=float, metavar="MIN_PERCENT",
                    help="exit 1 when 'agree or explained' is below MIN_PERCENT")
    ap.add_argument("--known", default=KNOWN_DIFFERENCES, help="known-differences table (default: %(default)s)")
    ap.add_argument("--timeout", type=int, default=TIMEOUT_S, help="seconds per tool run (default 30)")
    ap.add_argument("files", nargs="*", help="only these captures (paths relative to the corpus)")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.corpus, "MANIFEST.tsv")):
        sys.exit("no MANIFEST.tsv in %s" % args.corpus)
    if not os.path.exists(args.pcaplens):
        sys.exit("pcaplens binary not found: %s" % args.pcaplens)
    results = [compare_capture(cap, log, args) for cap, log in baselines(args.corpus, set(args.files))]
    text, total, agree, pct, pct2 = render(results, args, read_known(args.known))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    rc = 0
    if args.check is not None:
        print("%d passed, %d failed" % (agree, total - agree))
        if pct < args.check or total == 0:
            print("agreement %.1f%% is below %.1f%%" % (pct, args.check), file=sys.stderr)
            rc = 1
    if args.check_explained is not None and (pct2 < args.check_explained or total == 0):
        print("agree or explained %.1f%% is below %.1f%%" % (pct2, args.check_explained), file=sys.stderr)
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())

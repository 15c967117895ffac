#!/usr/bin/env python3
"""The benchmark's own tools, held to what bench/run relies on.

  test_bench_tools.py PCAPLENS GEN_TRACE FLOOR SOURCE_DIR

1. gen_trace writes a small trace and its ground truth; pcaplens's NDJSON
   report of it must match that truth exactly (bench/summarize.py check, the
   same check bench/run makes on the 100 MB-4 GB traces).
2. The floor counts the same packets and bytes with libpcap's default stdio
   buffer, with the 128 KiB one bench/run uses and with a 1-byte one (every
   record straddles the buffer), and as many packets as the truth says.
3. summarize.py report, fed a results table with known times, prints the
   ratios to both floors and the informational target rows correctly.
"""
import json
import os
import subprocess
import sys
import tempfile

failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def main():
    pcaplens, gen, floor, src = sys.argv[1:5]
    summarize = os.path.join(src, "bench", "summarize.py")
    with tempfile.TemporaryDirectory() as d:
        trace = os.path.join(d, "t.pcap")
        truth = os.path.join(d, "t.truth.json")
        subprocess.run([gen, "--size", "3M", "--seed", "5", "--concurrency", "50", "--out", trace, "--truth", truth],
                       check=True, capture_output=True)
        with open(truth) as f:
            t = json.load(f)
        expect(t["packets"] > 1000 and t["http"]["transactions"] > 10, f"trace too small to mean anything: {t['packets']} packets")

        # 1. pcaplens against the generator's truth.
        nd = subprocess.run([pcaplens, "--format", "ndjson", trace], capture_output=True, check=False)
        expect(nd.returncode in (0, 1), f"pcaplens exit {nd.returncode}: {nd.stderr.decode()[:300]}")
        chk = subprocess.run([sys.executable, summarize, "check", truth], input=nd.stdout, capture_output=True)
        out = chk.stdout.decode()
        expect(chk.returncode == 0 and out.rstrip().endswith("PASS"), "truth check failed:\n" + out)

        # 2. The floor, three buffer sizes.
        counts = []
        for extra in ([], ["--stdio-buffer", "131072"], ["--stdio-buffer", "1"]):
            r = subprocess.run([floor] + extra + [trace], capture_output=True, check=False)
            expect(r.returncode == 0, f"floor {extra}: exit {r.returncode} {r.stderr.decode()}")
            counts.append(r.stdout.decode().split())
        expect(counts[0] == counts[1] == counts[2], f"floor counts differ by buffer size: {counts}")
        expect(counts[0][:2] == ["packets", str(t["packets"])], f"floor packets {counts[0]} vs truth {t['packets']}")
        bad = subprocess.run([floor, "--stdio-buffer", "131072", os.path.join(d, "missing.pcap")], capture_output=True)
        expect(bad.returncode == 4 and bad.stderr, "floor on a missing file must fail with status 4 and say why")
        for size in ("0", "abc", "128k", "-1", "99999999999"):
            bad = subprocess.run([floor, "--stdio-buffer", size, trace], capture_output=True)
            expect(bad.returncode == 2 and b"--stdio-buffer" in bad.stderr,
                   f"floor --stdio-buffer {size!r}: exit {bad.returncode}, want 2 with a message (not the default floor)")

        # 3. The report's ratios.
        tsv = os.path.join(d, "results.tsv")
        rows = [("floor", 2.0), ("floor-128k", 1.0), ("pcaplens-text", 2.5), ("pcaplens-json", 4.0)]
        with open(tsv, "w") as f:
            f.write("trace\tsize_bytes\tpackets\tround\ttool\twall_s\tuser_s\tsys_s\tmaxrss_kb\texit\tload1\n")
            for rnd in (1, 2, 3):
                for tool, wall in rows:
                    f.write(f"1G\t1073741824\t1500000\t{rnd}\t{tool}\t{wall}\t{wall / 2}\t{wall / 2}\t10240\t0\t0.5\n")
        rep = subprocess.run([sys.executable, summarize, "report", tsv], capture_output=True, check=True).stdout.decode()
        line = {r.split("|")[1].strip(): [c.strip() for c in r.split("|")[2:]] for r in rep.splitlines()
                if r.startswith("| ") and r.count("|") == 13}
        text = line.get("pcaplens -q (text summary)")
        expect(text is not None, "no text-summary row with the 128K column:\n" + rep)
        if text:
            # columns: runs, median, min..max, MB/s, Mpkt/s, x floor, x floor 128K, beyond, CPU, x floor CPU, RSS
            expect(text[5] == "0.80" and text[6] == "0.40" and text[7] == "0.500",
                   f"text row ratios {text[5:8]}, want 0.80 / 0.40 / 0.500")
        expect("| text summary >= 0.5x floor | 1G | 0.80x | MET |" in rep, "text target row")
        expect("| (same, against the 128 KiB-buffer floor; not the issue's floor) | 1G | 0.40x | would not be met |" in rep,
               "128K informational row for text")
        expect("| (same, against the 128 KiB-buffer floor; not the issue's floor) | 1G | 0.25x | would not be met |" in rep,
               "128K informational row for JSON")
    print("FAILED" if failures else "OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Helpers shared by the conformance scripts (compare_tshark.py,
compare_zeek_http.py, compare_tshark_analysis.py): where the corpus and the
pcaplens binary are, the corpus manifest, running a tool with a timeout, and
running pcaplens for its JSON report."""

import ipaddress
import json
import os
import shutil
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def default_corpus():
    cands = []
    if os.environ.get("PCAPLENS_SHARED"):
        cands.append(os.path.join(os.environ["PCAPLENS_SHARED"], "corpus"))
    cands.append(os.path.join(REPO, "..", "shared", "corpus"))
    for c in cands:
        if os.path.exists(os.path.join(c, "MANIFEST.tsv")):
            return os.path.normpath(c)
    return os.path.normpath(cands[-1])


def default_pcaplens():
    if os.environ.get("PCAPLENS"):
        return os.environ["PCAPLENS"]
    for c in (os.path.join(REPO, "build", "pcaplens"), shutil.which("pcaplens")):
        if c and os.path.exists(c):
            return c
    return os.path.join(REPO, "build", "pcaplens")


def manifest(corpus):
    with open(os.path.join(corpus, "MANIFEST.tsv"), encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    head = lines[0].split("\t")
    col = head.index("file")
    return [l.split("\t")[col] for l in lines[1:]]


def run(cmd, timeout):
    """(returncode, stdout, stderr); returncode None on timeout or exec failure."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return None, "", "timed out after %d s" % timeout
    except OSError as e:
        return None, "", str(e)


def last_line(s):
    s = s.strip()
    return s.splitlines()[-1] if s else ""


def run_pcaplens(binary, path, timeout):
    """(json document or None, note). Exit 3 (damaged input) still gives a
    report of everything read before the damage, so it is used."""
    rc, out, err = run([binary, "--format", "json", path], timeout)
    if rc is None:
        return None, "pcaplens: " + err
    if rc not in (0, 1, 3):
        return None, "pcaplens exit %d: %s" % (rc, last_line(err))
    try:
        doc = json.loads(out)
    except ValueError as e:
        return None, "pcaplens: bad JSON (%s)" % e
    return doc, ("pcaplens exit 3 (damaged input)" if rc == 3 else "")


def norm_ip(s):
    try:
        return str(ipaddress.ip_address(s))
    except ValueError:
        return s

#!/usr/bin/env python3
"""pcaplens check outputs read by standard parsers (ctest: check_outputs).

usage: test_check_outputs.py PCAPLENS SOURCE_DIR
* JUnit XML parsed with xml.etree: one <testsuite name="pcaplens">, the right
  testcase and failure counts, failure text naming the offending connections.
* --format json validated against docs/pcaplens.schema.json (document with a
  "checks" section) when python3-jsonschema is installed.
Exits 0 when everything holds; prints what failed otherwise.
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET


def main():
    binary, src = sys.argv[1], sys.argv[2]
    mixed = os.path.join(src, "samples", "http-mixed.pcapng")
    rules = os.path.join(src, "samples", "rules-example.json")
    errors = []

    def expect(cond, what):
        if not cond:
            errors.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        # Forbidding 5xx and resets: 3 rules, all failing, naming connections 3 and 4.
        junit = os.path.join(tmp, "fail.xml")
        p = subprocess.run([binary, "check", mixed, "--fail-on-severity", "warning", "--max-http-5xx", "0", "--no-resets",
                            "--junit", junit], capture_output=True, text=True)
        expect(p.returncode == 1, f"forbidding run: exit {p.returncode}, want 1")
        root = ET.parse(junit).getroot()
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        expect(len(suites) == 1 and suites[0].get("name") == "pcaplens", "one testsuite named pcaplens")
        cases = suites[0].findall("testcase")
        failures = [c.find("failure") for c in cases if c.find("failure") is not None]
        expect(len(cases) == 3, f"{len(cases)} testcases, want 3")
        expect(len(failures) == 3, f"{len(failures)} failures, want 3")
        expect(suites[0].get("tests") == "3" and suites[0].get("failures") == "3", "testsuite counts")
        text = "".join(f.text or "" for f in failures)
        expect("#3 transaction 1" in text and "#4 " in text, "failure text names connections 3 and 4")
        expect("ip.addr==10.99.0.1 && tcp.port==40014" in text, "display filter unescaped in parsed text")
        expect(all(f.get("message", "").startswith("measured ") for f in failures), "failure messages")

        # The example rules file: 17 rules, all passing.
        junit = os.path.join(tmp, "example.xml")
        p = subprocess.run([binary, "check", mixed, "--rules", rules, "--junit", junit], capture_output=True, text=True)
        expect(p.returncode == 0, f"example rules: exit {p.returncode}, want 0: {p.stderr}")
        root = ET.parse(junit).getroot()
        cases = root.iter("testcase")
        n = sum(1 for _ in cases)
        expect(n == 17, f"example rules: {n} testcases, want 17")
        expect(sum(1 for _ in root.iter("failure")) == 0, "example rules: no failures")

        # JSON with a checks section against the published schema.
        p = subprocess.run([binary, "check", "--format", "json", mixed, "--rules", rules, "--no-resets",
                            "--max-ttfb-ms", "p95=0.001"], capture_output=True, text=True)
        expect(p.returncode == 1, f"json run: exit {p.returncode}, want 1")
        doc = json.loads(p.stdout)
        expect(len(doc.get("checks", [])) == 19, "19 checks in the JSON report")
        try:
            import jsonschema
        except ImportError:
            print("check_outputs: python3-jsonschema missing; JSON schema validation skipped")
            jsonschema = None
        if jsonschema:
            schema = json.load(open(os.path.join(src, "docs", "pcaplens.schema.json")))
            sub = dict(schema["definitions"]["document"])
            sub["definitions"] = schema["definitions"]
            errs = [e.message for e in jsonschema.Draft7Validator(sub).iter_errors(doc)]
            expect(not errs, f"schema: {errs[:3]}")

    for e in errors:
        print("FAIL", e)
    print(f"check_outputs: {len(errors)} failed")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Validates pcaplens's JSON and NDJSON output against docs/pcaplens.schema.json.

usage: validate_schema.py PCAPLENS SCHEMA CAPTURE...
Runs each capture in --format json (with and without --timeline) and
--format ndjson, and `--list-anomalies` in json and ndjson, and checks
every document/line against the schema.
Exits 0 when all validate, 1 otherwise; prints 'N passed, M failed'.
"""
import json
import subprocess
import sys

try:
    import jsonschema
except ImportError:  # the setup script installs python3-jsonschema; say so clearly if missing
    print("validate_schema: python3-jsonschema is not installed (./setup.sh deps)", file=sys.stderr)
    sys.exit(1)


def main():
    binary, schema_path, captures = sys.argv[1], sys.argv[2], sys.argv[3:]
    schema = json.load(open(schema_path))
    defs = schema["definitions"]

    def validator(name):
        sub = dict(defs[name])
        sub["definitions"] = defs
        return jsonschema.Draft7Validator(sub)

    doc_v, conn_v, sum_v = validator("document"), validator("connection_line"), validator("summary_line")
    passed = failed = 0
    for cap in captures:
        for args in (["--format", "json"], ["--format", "json", "--timeline"], ["--format", "ndjson"]):
            proc = subprocess.run([binary, *args, cap], capture_output=True)
            if proc.returncode not in (0, 3):
                print(f"FAIL {cap} {args}: exit {proc.returncode}: {proc.stderr.decode(errors='replace')}")
                failed += 1
                continue
            errors = []
            if args[1] == "json":
                errors = [e.message for e in doc_v.iter_errors(json.loads(proc.stdout))]
            else:
                lines = proc.stdout.decode().splitlines()
                for line in lines[:-1]:
                    errors += [e.message for e in conn_v.iter_errors(json.loads(line))]
                errors += [e.message for e in sum_v.iter_errors(json.loads(lines[-1]))]
            if errors:
                print(f"FAIL {cap} {args}: {errors[:3]}")
                failed += 1
            else:
                passed += 1
    # The anomaly catalogue, as a document and as NDJSON lines.
    cat_v, entry_v = validator("catalogue"), validator("catalogue_entry")
    for fmt in ("json", "ndjson"):
        proc = subprocess.run([binary, "--list-anomalies", "--format", fmt], capture_output=True)
        if proc.returncode != 0:
            print(f"FAIL --list-anomalies --format {fmt}: exit {proc.returncode}")
            failed += 1
            continue
        if fmt == "json":
            errors = [e.message for e in cat_v.iter_errors(json.loads(proc.stdout))]
        else:
            errors = [e.message for line in proc.stdout.decode().splitlines() for e in entry_v.iter_errors(json.loads(line))]
        if errors:
            print(f"FAIL --list-anomalies --format {fmt}: {errors[:3]}")
            failed += 1
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

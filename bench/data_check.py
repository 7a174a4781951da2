#!/usr/bin/env python3
"""data_check.py RUN_DIR [SERVER]: the harness's data check again, with this server's enum values
(GraphQL's SCREAMING_CASE, `ACTIVE`) read as the database stores them (`active`).

The harness compares every scalar leaf of a response with the limit SQL's output literally, so
a GraphQL enum can never equal the table's lowercase text; this prints, per workload, what the
check says once that one difference is taken out (compare_data.py's own words: exact /
same-set / DIFFERENT).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ENUM = re.compile(r"^[A-Z][A-Z_]*$")


def lower_enums(value):
    if isinstance(value, dict):
        return {k: lower_enums(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_enums(v) for v in value]
    if isinstance(value, str) and ENUM.match(value):
        return value.lower()
    return value


def main():
    run_dir = sys.argv[1]
    server = sys.argv[2] if len(sys.argv) > 2 else "crm-server"
    harness = os.environ.get("BENCH_HARNESS", os.path.join(os.path.dirname(__file__), "../../shared/bench"))
    for workload in ("nested", "by_id", "filter"):
        response = os.path.join(run_dir, f"{server}-{workload}.response.json")
        reference = os.path.join(run_dir, f"ref-{workload}.json")
        if not (os.path.exists(response) and os.path.exists(reference)):
            continue
        with open(response, encoding="utf-8") as f:
            normalized = lower_enums(json.load(f))
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
            json.dump(normalized, out)
        verdict = subprocess.run(
            [sys.executable, os.path.join(harness, "tools/compare_data.py"), out.name, reference],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        os.unlink(out.name)
        print(f"{workload}: {verdict}")


if __name__ == "__main__":
    main()

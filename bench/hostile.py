"""Sends each hostile request shape at a running server and reports the server's CPU time per
refused request (from /proc/<pid>/stat) and its peak RSS after distinct large documents.

    python3 bench/hostile.py URL PID TOKEN [REQUESTS]

Run through bench/hostile.sh, which builds, seeds and starts the server.
"""

import http.client
import json
import os
import sys
import time
import urllib.parse

URL, PID, TOKEN = sys.argv[1], int(sys.argv[2]), sys.argv[3]
N = int(sys.argv[4]) if len(sys.argv) > 4 else 200
TICK = os.sysconf("SC_CLK_TCK")
target = urllib.parse.urlparse(URL)


def cpu_seconds():
    fields = open(f"/proc/{PID}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def status(name):
    for line in open(f"/proc/{PID}/status"):
        if line.startswith(name + ":"):
            return int(line.split()[1]) / 1024  # MiB
    return 0.0


connection = http.client.HTTPConnection(target.hostname, target.port)


def post(body, signed_in):
    headers = {"Content-Type": "application/json"}
    if signed_in:
        headers["Authorization"] = f"Bearer {TOKEN}"
    connection.request("POST", target.path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def nested_not(levels):
    text = '{ companyName: { eq: "x" } }'
    for _ in range(levels):
        text = "{ not: " + text + " }"
    return text


def fan_out(levels, leaf="__typename"):
    text = f"{{ ...F{levels} }} fragment F0 on Query {{ {leaf} }}"
    for k in range(1, levels + 1):
        text += f" fragment F{k} on Query {{ ...F{k - 1} ...F{k - 1} }}"
    return text


def body(query, variables=None):
    return json.dumps({"query": query, "variables": variables or {}}).encode()


FILTER = "query($f: ClientFilter) { clients(first: 1, filter: $f) { totalCount } }"
nested_variables = {"companyName": {"eq": "x"}}
for _ in range(100):
    nested_variables = {"not": nested_variables}

SHAPES = [
    ("`not` nested 300 times, no token", body(f"{{ clients(first: 1, filter: {nested_not(300)}) {{ totalCount }} }}"), False),
    ("`not` nested 300 times", body(f"{{ clients(first: 1, filter: {nested_not(300)}) {{ totalCount }} }}"), True),
    ("`not` nested 100 times in variables", body(FILTER, {"f": nested_variables}), True),
    ("fragment fan-out, 22 levels, no token", body(fan_out(22)), False),
    ("fragment fan-out, 26 levels over a list", body(fan_out(26, "clients { nodes { id } }")), True),
    ("50,000 aliases of `__typename`", body("{ " + "".join(f"a{i}:__typename " for i in range(50_000)) + "}"), True),
    ("3,000 unknown directives", body("{ me { id " + "".join(f"@d{i} " for i in range(3_000)) + "} }"), True),
    ("50,000 `@include(if: true)`", body("{ me { id " + "@include(if: true) " * 50_000 + "} }"), True),
    ("20,000 unused variables", body("query(" + "".join(f"$v{i}: Int " for i in range(20_000)) + ") { __typename }"), True),
    ("introspection lists nested 4 deep", body("{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }"), True),
    ("900 KB string in a filter", body(FILTER, {"f": {"companyName": {"eq": "x" * 900 * 1024}}}), True),
    ("`in` list of 40,000 values", body(FILTER, {"f": {"companyName": {"in": [f"v{i}" for i in range(40_000)]}}}), True),
    ("2,000 `or` branches", body(FILTER, {"f": {"or": [{"companyName": {"eq": f"c{i}"}} for i in range(2_000)]}}), True),
    ("60 KB `containsInsensitive` pattern", body(FILTER, {"f": {"companyName": {"containsInsensitive": "y" * 60 * 1024}}}), True),
    ("data without a token", body("{ clients { totalCount } }"), False),
]

print(f"| request | bytes | answer | server CPU per request (ms), {N} requests |")
print("|---|---:|---|---:|")
for name, request, signed_in in SHAPES:
    code, answer = post(request, signed_in)
    try:
        errors = json.loads(answer).get("errors") or []
        extensions = errors[0].get("extensions", {}) if errors else {}
        answered = f"{code} {extensions.get('code', 'no error')} {extensions.get('limit', '')}".strip()
    except ValueError:
        answered = f"{code} (not JSON)"
    before = cpu_seconds()
    for _ in range(N):
        post(request, signed_in)
    spent = (cpu_seconds() - before) / N * 1000
    print(f"| {name} | {len(request):,} | {answered} | {spent:.2f} |")

introspection = open(os.path.join(os.path.dirname(__file__), "..", "crates", "crm-server", "tests", "api", "fixtures", "introspection.graphql")).read()
before = cpu_seconds()
for _ in range(N):
    code, answer = post(body(introspection), False)
    assert code == 200 and b'"errors"' not in answer, answer[:200]
spent = (cpu_seconds() - before) / N * 1000
print(f"| (admitted) graphql-js introspection query, no token | {len(body(introspection)):,} | 200 data | {spent:.2f} |")

# Memory: 1,000 distinct large documents, half valid (1,900 fields each, kept until the cache's
# budget is reached), half refused by the validation.
rss_before = status("VmRSS")
start = time.time()
fields = "__typename " * 1_900
for i in range(1_000):
    query = f"query Q{i} {{ {fields} }}" if i % 2 == 0 else f"query Q{i} {{ {fields} nope{i} }}"
    code, _ = post(body(query), True)
    assert code == 200
elapsed = time.time() - start
print()
print(f"1,000 distinct documents of ~21 KB: {elapsed:.1f} s; RSS {rss_before:.0f} -> {status('VmRSS'):.0f} MiB, peak (VmHWM) {status('VmHWM'):.0f} MiB")

#!/usr/bin/env python3
"""Soak test of a scaled-out deployment (scripts/cluster.sh): mixed reads, writes and sign-ins
through the load balancer while PostgreSQL's primary restarts once and one server instance is
killed (and later started again). Afterwards every acknowledged write must be in the database.

    scripts/cluster.sh up                  # prints URL, TOKEN, DATABASE_URL
    scripts/soak.py --url "$URL" --token "$TOKEN" --database-url "$DATABASE_URL"

Operations: 55 % a page of recent clients with their contracts, 10 % reading the worker's last
write back (with its Crm-Write-Position), 30 % createClient, 2 % signIn (each worker from an
address of its own, through X-Forwarded-For), the rest reads.

Phases (as shares of --duration, 300 s by default): steady; the primary restarted (at 20 %);
instance 2 killed (at 50 %); instance 2 started again (at 70 %). The report gives, per phase,
the requests, errors by kind, latencies and how long errors lasted after the disruption; then
the acknowledged writes found in the database. Exit status 1 when a write was lost, a request
hung past --hang seconds, or the last phase had errors.

Standard library only (threads, http.client); psql for the final check. 127.0.0.1 only.
"""

import argparse
import collections
import http.client
import json
import random
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

READ = """query Recent { clients(first: 20, orderBy: [{ field: CREATED_AT, direction: DESC }]) {
  totalCount nodes { id companyName contracts(first: 3) { nodes { contractNumber status } } } } }"""
OWN = "query Own($id: UUID!) { client(id: $id) { id companyName } }"
WRITE = """mutation Write($name: String!) { createClient(input: { companyName: $name }) { id } }"""
SIGN_IN = """mutation SignIn($email: String!, $password: String!) {
  signIn(email: $email, password: $password) { accessToken } }"""
CREATE_USER = """mutation($input: CreateUserInput!) { createUser(input: $input) { id } }"""


class Phases:
    """Which phase is running, and what happened in each."""

    def __init__(self, names):
        self.lock = threading.Lock()
        self.current = 0
        self.names = names
        self.started = [None] * len(names)
        self.stats = [collections.Counter() for _ in names]
        self.latencies = [[] for _ in names]
        self.last_error = [None] * len(names)
        self.first_error = [None] * len(names)

    def begin(self, index):
        with self.lock:
            self.current = index
            self.started[index] = time.monotonic()

    def record(self, kind, outcome, seconds):
        now = time.monotonic()
        with self.lock:
            index = self.current
            self.stats[index][(kind, outcome)] += 1
            self.latencies[index].append(seconds)
            if outcome != "ok":
                self.last_error[index] = now
                if self.first_error[index] is None:
                    self.first_error[index] = now


class Client:
    """One keep-alive connection to the balancer."""

    def __init__(self, url, timeout):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = parsed.hostname, parsed.port or 80, parsed.path
        self.timeout = timeout
        self.connection = None

    def post(self, query, variables, token=None, headers=None):
        """(status, json or None, response headers); raises on transport failure."""
        body = json.dumps({"query": query, "variables": variables})
        sent = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        for attempt in (0, 1):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.connection.request("POST", self.path, body, sent)
                response = self.connection.getresponse()
                raw = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                try:
                    answer = json.loads(raw)
                except ValueError:
                    answer = None
                return response.status, answer, response
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A keep-alive connection the balancer closed while idle: once more, fresh.
                self.close()
                if attempt == 1:
                    raise
            except Exception:
                self.close()
                raise
        raise RuntimeError("unreachable")

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def outcome_of(status, answer):
    if status != 200 or answer is None:
        return f"http {status}"
    errors = answer.get("errors")
    if errors:
        code = (errors[0].get("extensions") or {}).get("code", "error")
        return code
    return "ok"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True, help="an admin's API token")
    parser.add_argument("--database-url", required=True, help="the primary, for the final check")
    parser.add_argument("--duration", type=int, default=300)
    parser.add_argument("--workers", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=40.0, help="client-side request timeout")
    parser.add_argument("--hang", type=float, default=31.0, help="a request longer than this hung")
    parser.add_argument("--cluster", default="scripts/cluster.sh")
    parser.add_argument("--no-disruption", action="store_true")
    args = parser.parse_args()

    run = uuid.uuid4().hex[:8]
    setup = Client(args.url, args.timeout)
    users = []
    for index in range(4):
        email = f"soak-{run}-{index}@example.com"
        password = f"soak-password-{run}-{index}"
        status, answer, _ = setup.post(CREATE_USER, {"input": {
            "email": email, "username": f"soak-{run}-{index}", "firstName": "Soak",
            "lastName": f"User {index}", "role": "commercial", "password": password}}, args.token)
        if outcome_of(status, answer) != "ok":
            sys.exit(f"soak: cannot create a user: {status} {answer}")
        users.append((email, password))

    names = ["steady", "primary restarted", "instance 2 killed", "instance 2 back"]
    starts = [0.0, 0.2, 0.5, 0.7]
    actions = [None, ["restart-primary"], ["kill-instance", "2"], ["start-instance", "2"]]
    if args.no_disruption:
        actions = [None] * 4
    phases = Phases(names)
    acknowledged = []
    acknowledged_lock = threading.Lock()
    hung = []
    stop = threading.Event()
    stale = collections.Counter()

    def worker(seed):
        rng = random.Random(seed)
        client = Client(args.url, args.timeout)
        own = None  # (id, write position) of this worker's last write
        sequence = 0
        while not stop.is_set():
            pick = rng.random()
            headers = None
            if pick < 0.55:
                kind, query, variables, token = "read", READ, {}, args.token
            elif pick < 0.65 and own is not None:
                kind, query, variables, token = "read own write", OWN, {"id": own[0]}, args.token
                if own[1]:
                    headers = {"Crm-Read-After": own[1]}
            elif pick < 0.95:
                sequence += 1
                name = f"soak-{run}-{seed}-{sequence}"
                kind, query, variables, token = "write", WRITE, {"name": name}, args.token
            elif pick < 0.97:
                # Each worker is a client of its own address (the balancer adds its own, which
                # the instances trust: CRM_TRUSTED_PROXIES), as users behind their own networks.
                email, password = rng.choice(users)
                kind, query, variables, token = "sign-in", SIGN_IN, {"email": email, "password": password}, None
                headers = {"X-Forwarded-For": f"10.99.{seed // 250}.{seed % 250 + 1}"}
            else:
                kind, query, variables, token = "read", READ, {}, args.token
            started = time.monotonic()
            try:
                status, answer, response = client.post(query, variables, token, headers)
                outcome = outcome_of(status, answer)
            except TimeoutError:
                status, answer, response, outcome = None, None, None, "client timeout"
            except OSError as error:
                status, answer, response, outcome = None, None, None, f"transport {type(error).__name__}"
            elapsed = time.monotonic() - started
            if elapsed > args.hang:
                hung.append((kind, elapsed))
            if outcome == "ok" and kind == "write":
                created = answer["data"]["createClient"]["id"]
                with acknowledged_lock:
                    acknowledged.append((created, variables["name"]))
                own = (created, response.getheader("Crm-Write-Position"))
            if outcome == "ok" and kind == "read own write" and answer["data"]["client"] is None:
                # Its own acknowledged write not found: read-your-writes broken.
                outcome = "own write not visible"
                stale[kind] += 1
            phases.record(kind, outcome, elapsed)
        client.close()

    began = time.monotonic()
    phases.begin(0)
    threads = [threading.Thread(target=worker, args=(seed,), daemon=True) for seed in range(args.workers)]
    for thread in threads:
        thread.start()
    action_seconds = {}
    for index in range(1, len(names)):
        at = began + starts[index] * args.duration
        time.sleep(max(0.0, at - time.monotonic()))
        phases.begin(index)
        if actions[index]:
            t0 = time.monotonic()
            subprocess.run([args.cluster, *actions[index]], check=True)
            action_seconds[index] = time.monotonic() - t0
            print(f"[{time.monotonic() - began:6.1f}s] {names[index]} "
                  f"({' '.join(actions[index])}: {action_seconds[index]:.1f} s)", flush=True)
    time.sleep(max(0.0, began + args.duration - time.monotonic()))
    stop.set()
    for thread in threads:
        thread.join(args.timeout + 5)

    # The report.
    total_errors = 0
    print(f"\nsoak run {run}: {args.duration} s, {args.workers} workers through {args.url}\n")
    print(f"{'phase':<20} {'requests':>9} {'ok':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors for':>11}  errors by kind")
    for index, name in enumerate(names):
        stats = phases.stats[index]
        requests = sum(stats.values())
        ok = sum(count for (kind, outcome), count in stats.items() if outcome == "ok")
        errors = requests - ok
        total_errors += errors
        latencies = sorted(phases.latencies[index]) or [0.0]
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
        window = "-"
        if phases.last_error[index] is not None and phases.started[index] is not None:
            window = f"{phases.last_error[index] - phases.started[index]:.1f} s"
        kinds = collections.Counter()
        for (kind, outcome), count in stats.items():
            if outcome != "ok":
                kinds[f"{kind}: {outcome}"] += count
        detail = ", ".join(f"{what} x{count}" for what, count in kinds.most_common()) or "none"
        print(f"{name:<20} {requests:>9} {ok:>9} {errors:>7} {p(0.5):>8.1f} {p(0.99):>8.1f} {latencies[-1] * 1000:>8.1f} {window:>11}  {detail}")

    found = set()
    if acknowledged:
        query = f"SELECT company_name FROM clients WHERE company_name LIKE 'soak-{run}-%'"
        out = subprocess.run(["psql", args.database_url, "-qAtc", query], check=True, capture_output=True, text=True)
        found = set(out.stdout.split())
    lost = [name for _, name in acknowledged if name not in found]
    print(f"\nacknowledged writes: {len(acknowledged)}; in the database: {len(acknowledged) - len(lost)}; lost: {len(lost)}")
    print(f"requests past {args.hang:.0f} s: {len(hung)}; own writes not visible: {sum(stale.values())}")
    last = phases.stats[-1]
    last_errors = sum(count for (kind, outcome), count in last.items() if outcome != "ok")
    passed = not lost and not hung and last_errors == 0 and not stale
    print("RESULT", "pass" if passed else "FAIL")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()

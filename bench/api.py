"""Benchmark: API throughput under gunicorn on PostgreSQL, against a bare Django view served in the same run.

    DATABASE_URL=postgres://root@127.0.0.1:5432/kualik_bench_api .venv/bin/python bench/api.py

Timed runs of --seconds each, one after another, against the same gunicorn (16 keep-alive connections):
- `GET /sandbox/bare`: a view that returns a constant JSON through the same middleware (the baseline);
- `GET /api/v1/applications/{id}`, polls: a channel client reading applications it follows. A channel polls while
  checks run; the first read after each change renders the Application and the following ones are served from
  the cache, so every application is read once before this run. Target: >= 60 % of the bare view;
- `GET /api/v1/applications/{id}`, first reads: applications never read before (each rendered from the database),
  shown for what it is, with no target;
- `POST /sandbox/bare-write`, the floor under any create: the same client's authenticated, throttled JSON POST
  to a DRF view that writes one row in a transaction with the ORM (sandbox mode only), with no target;
- `POST /api/v1/applications`: a channel client opening first-licence applications, each with a new
  Idempotency-Key. Target: >= 30 % of the bare view. The consent request is a Celery task queued at commit; as in
  production, the worker is another machine's load, so none runs during the timed run. Afterwards a worker drains
  the queue and the benchmark checks that every application opened got its consent code from the sandbox.

The applications read have the shape of real ones (checks, history, consent). Printed: requests per second of each
run and the ratios to the bare view.
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from checks import BIN, recreate_database, wait_until_healthy, write_fixture  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=8312)
    parser.add_argument("--sandbox-port", type=int, default=8313)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--citizens", type=int, default=30000, help="people the sandbox knows (for creates)")
    parser.add_argument("--applications", type=int, default=500, help="applications polled")
    parser.add_argument("--unread", type=int, default=4000, help="applications for the first-read run")
    parser.add_argument("--only", choices=("read", "create"), help="measure the bare view and this one only")
    return parser.parse_args()


def load(port: int, seconds: float, connections: int, request_for, expected: int) -> tuple[float, int]:
    """Keep-alive connections, each in its own thread, sending requests back to back for `seconds` (or until
    `request_for` has nothing more to send)."""
    done, failed = [0] * connections, [0] * connections
    stop = time.monotonic() + seconds

    def worker(index):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            request = request_for(index)
            if request is None:
                break
            method, path, body, headers = request
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
            except (http.client.HTTPException, OSError):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                failed[index] += 1
                continue
            if response.status == expected:
                done[index] += 1
            else:
                failed[index] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started), sum(failed)


def shaped_applications(citizens, organisation) -> list[str]:
    """Applications as start_application leaves them (history, checks, consent), written in bulk."""
    from applications.models import Application, Consent, StatusChange
    from applications.services.checks import create_checks

    applications = Application.objects.bulk_create(
        Application(service="first_issue", channel="bank", iin=person["iin"], categories=["B"],
                    organisation=organisation) for person in citizens)
    StatusChange.objects.bulk_create(
        StatusChange(application=application, from_status="", to_status=application.status, at=application.created_at,
                     actor_kind=StatusChange.ActorKind.CHANNEL, actor_organisation=organisation)
        for application in applications)
    Consent.objects.bulk_create(Consent(application=application, channel="bank") for application in applications)
    for application in applications:
        create_checks(application)
    return [str(application.pk) for application in applications]


def drain_consent_requests(env, created_iins: list[str], timeout: float = 600) -> tuple[int, int, float]:
    """Run a Celery worker until every application opened in the timed run has had its consent code sent."""
    from applications.models import Application, Consent

    opened = Application.objects.filter(iin__in=created_iins).count()
    started = time.monotonic()
    worker = subprocess.Popen(
        [str(BIN / "celery"), "-A", "config", "worker", "--pool", "threads", "--concurrency", "16",
         "--loglevel", "WARNING", "-n", "bench-api@%h"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        while time.monotonic() - started < timeout:
            sent = Consent.objects.filter(application__iin__in=created_iins, state=Consent.State.CODE_SENT).count()
            if sent == opened:
                break
            time.sleep(1)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return sent, opened, time.monotonic() - started


def main():
    args = parse_args()
    database_url = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/kualik_bench_api")
    if not database_url.startswith("postgres"):
        sys.exit("bench/api.py runs on PostgreSQL: set DATABASE_URL=postgres://...")
    workdir = Path(tempfile.mkdtemp(prefix="kualik-bench-api-"))
    fixture = workdir / "citizens.json"
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.development", "DEBUG": "0",
           "DATABASE_URL": database_url, "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url,
           "CACHE_KEY_PREFIX": f"kualik-bench-api-{os.getpid()}", "REGISTRY_SANDBOX_FIXTURES": str(fixture),
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{args.port}", "DATABASE_POOL_MAX_SIZE": "16",
           # The registries are another system: the sandbox runs as its own server, as in bench/checks.py.
           "REGISTRY_BASE_URL": f"http://127.0.0.1:{args.sandbox_port}/sandbox/registries",
           "API_RATE_PER_CLIENT": "1000000/min", "LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    recreate_database(database_url)
    subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    citizens = write_fixture(fixture, args.citizens)

    import django

    django.setup()
    from accounts.services import create_api_client

    _key_object, api_key = create_api_client(channel="bank", name="Bench Bank")
    organisation = _key_object.organisation
    polled = shaped_applications(citizens[: args.applications], organisation)
    unread = iter(shaped_applications(citizens[args.applications: args.applications + args.unread], organisation))
    fresh = iter(citizens[args.applications + args.unread:])
    created_iins: list[str] = []
    lock = threading.Lock()

    log = open(workdir / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{args.port}", "-k", "gthread", "--workers",
         str(args.workers), "--threads", str(args.threads), "--keep-alive", "30", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=log)
    sandbox = subprocess.Popen(
        [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{args.sandbox_port}", "-k", "gthread",
         "--workers", "1", "--threads", "32", "--keep-alive", "30", "--log-level", "warning"],
        cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.sandbox"}, stdout=log, stderr=log)
    try:
        wait_until_healthy(args.port)
        wait_until_healthy(args.sandbox_port)
        auth = {"Authorization": f"Api-Key {api_key}", "Accept-Language": "ru"}

        def bare(index):
            return "GET", "/sandbox/bare", None, {}

        def poll(index):
            return "GET", f"/api/v1/applications/{random.choice(polled)}", None, auth

        def first_read(index):
            with lock:
                application_id = next(unread, None)
            return None if application_id is None else ("GET", f"/api/v1/applications/{application_id}", None, auth)

        def write_one_row(index):
            return "POST", "/sandbox/bare-write", json.dumps({"n": index}), {**auth, "Content-Type": "application/json"}

        def create(index):
            with lock:
                person = next(fresh)
                created_iins.append(person["iin"])
            body = json.dumps({"service": "first_issue", "iin": person["iin"], "categories": ["B"]})
            return "POST", "/api/v1/applications", body, {**auth, "Content-Type": "application/json",
                                                          "Idempotency-Key": str(uuid.uuid4())}

        load(args.port, 3, args.connections, bare, 200)  # warm up
        for application_id in polled:  # each polled application has been read once already
            load_one = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
            load_one.request("GET", f"/api/v1/applications/{application_id}", headers=auth)
            assert load_one.getresponse().status == 200
            load_one.close()
        runs = [("bare view", bare, 200), ("GET application", poll, 200),
                ("GET first read", first_read, 200), ("POST one row", write_one_row, 201),
                ("POST application", create, 201)]
        if args.only:
            runs = [runs[0], *(runs[1:3] if args.only == "read" else runs[3:])]
        results = {}
        for name, request_for, expected in runs:
            results[name] = load(args.port, args.seconds, args.connections, request_for, expected)
            print(f"  {name:18} {results[name][0]:8.1f} requests/s  (failed {results[name][1]})", flush=True)
        if "POST application" in results:
            sent, opened, seconds = drain_consent_requests(env, created_iins)
            print(f"  consent codes sent afterwards by one Celery worker: {sent} of the {opened} applications "
                  f"opened, in {seconds:.0f} s", flush=True)
    finally:
        for process in (server, sandbox):
            process.terminate()
            process.wait(timeout=20)
    baseline = results["bare view"][0]
    print(f"\nkuälik API benchmark: gunicorn {args.workers} x {args.threads} threads, {args.connections} connections, "
          f"{args.seconds:g} s each, PostgreSQL, {os.cpu_count()} cores")
    for name, label, target in (("GET application", "read (polls)", 0.6), ("GET first read", "first read", None),
                                ("POST one row", "one-row POST", None), ("POST application", "create", 0.3)):
        if name in results:
            ratio = results[name][0] / baseline
            verdict = f"target >= {target:.0%}: {'met' if ratio >= target else 'MISSED'}" if target else "no target"
            print(f"  {label:12} / bare = {ratio:4.0%}  ({verdict})")


if __name__ == "__main__":
    main()

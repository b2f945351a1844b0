"""Benchmark: API throughput under gunicorn on PostgreSQL, against a bare Django view served in the same run.

    DATABASE_URL=postgres://root@127.0.0.1:5432/kualik_bench_api .venv/bin/python bench/api.py

Three runs of --seconds each, one after another, against the same gunicorn: `GET /sandbox/bare` (a view that
returns a constant JSON through the same middleware), `GET /api/v1/applications/{id}` (a channel client reading its
own applications) and `POST /api/v1/applications` (a channel client opening applications, each with a new
Idempotency-Key, which includes the synchronous request to the consent service played by the sandbox). Printed:
requests per second of each and the ratios to the bare view. Targets: read >= 60 %, create >= 30 %.
"""

import argparse
import http.client
import json
import os
import random
import sys
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
    parser.add_argument("--citizens", type=int, default=20000, help="people the sandbox knows (for creates)")
    parser.add_argument("--applications", type=int, default=500, help="applications to read")
    return parser.parse_args()


def load(port: int, seconds: float, connections: int, request_for, expected: int) -> tuple[float, int]:
    """Keep-alive connections, each in its own thread, sending requests back to back for `seconds`."""
    done, failed = [0] * connections, [0] * connections
    stop = time.monotonic() + seconds

    def worker(index):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            method, path, body, headers = request_for(index)
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


def main():
    import subprocess
    import tempfile

    args = parse_args()
    database_url = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/kualik_bench_api")
    if not database_url.startswith("postgres"):
        sys.exit("bench/api.py runs on PostgreSQL: set DATABASE_URL=postgres://...")
    workdir = Path(tempfile.mkdtemp(prefix="kualik-bench-api-"))
    fixture = workdir / "citizens.json"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "DEBUG": "0",
           "DATABASE_URL": database_url, "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"),
           "CACHE_KEY_PREFIX": f"kualik-bench-api-{os.getpid()}", "REGISTRY_SANDBOX_FIXTURES": str(fixture),
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{args.port}", "DATABASE_POOL_MAX_SIZE": "16",
           # The registries are another system: the sandbox runs as its own server, as in bench/checks.py.
           "REGISTRY_BASE_URL": f"http://127.0.0.1:{args.sandbox_port}/sandbox/registries",
           "API_RATE_PER_CLIENT": "1000000/min", "LOG_LEVEL": "WARNING"}
    env.pop("CELERY_BROKER_URL", None)  # no worker needed: consent is asked in the request
    os.environ.update(env)
    recreate_database(database_url)
    subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True)
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    citizens = write_fixture(fixture, args.citizens)

    import django

    django.setup()
    from accounts.services import create_api_client
    from applications.models import Application

    _key_object, api_key = create_api_client(channel="bank", name="Bench Bank")
    organisation = _key_object.organisation
    readable = [str(Application.objects.create(service="first_issue", channel="bank", iin=person["iin"],
                                               categories=["B"], organisation=organisation).pk)
                for person in citizens[: args.applications]]
    fresh = iter(citizens[args.applications:])
    fresh_lock = threading.Lock()

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

        def read(index):
            return "GET", f"/api/v1/applications/{random.choice(readable)}", None, auth

        def create(index):
            with fresh_lock:
                person = next(fresh)
            body = json.dumps({"service": "first_issue", "iin": person["iin"], "categories": ["B"]})
            return "POST", "/api/v1/applications", body, {**auth, "Content-Type": "application/json",
                                                          "Idempotency-Key": str(uuid.uuid4())}

        load(args.port, 3, args.connections, bare, 200)  # warm up
        results = {}
        for name, request_for, expected in (("bare view", bare, 200), ("GET application", read, 200),
                                            ("POST application", create, 201)):
            results[name] = load(args.port, args.seconds, args.connections, request_for, expected)
            print(f"  {name:18} {results[name][0]:8.1f} requests/s  (failed {results[name][1]})", flush=True)
    finally:
        for process in (server, sandbox):
            process.terminate()
            process.wait(timeout=20)
    baseline = results["bare view"][0]
    read_ratio, create_ratio = results["GET application"][0] / baseline, results["POST application"][0] / baseline
    print(f"\nkuälik API benchmark: gunicorn {args.workers} x {args.threads} threads, {args.connections} connections, "
          f"{args.seconds:g} s each, PostgreSQL, {os.cpu_count()} cores")
    print(f"  read   / bare = {read_ratio:.0%}  (target >= 60 %: {'met' if read_ratio >= 0.6 else 'MISSED'})")
    print(f"  create / bare = {create_ratio:.0%}  (target >= 30 %: {'met' if create_ratio >= 0.3 else 'MISSED'})")


if __name__ == "__main__":
    main()

"""Benchmark: N applications from consent to a decision, on PostgreSQL, Redis and real Celery workers.

Run by hand (not in CI):

    DATABASE_URL=postgres://root@127.0.0.1:5432/kualik_bench .venv/bin/python bench/checks.py

It creates (drops first) the database named in DATABASE_URL, writes a fixture of N citizens who pass every check,
serves the registry sandbox under gunicorn with REGISTRY_SANDBOX_LATENCY_MS added to every answer, starts Celery
workers on Redis, opens N applications and confirms their consent codes as fast as it can, then waits for every
decision. It prints the latency from consent to decision (median, p95) against the two-phase floor (2 x latency)
and the one-by-one baseline (measured: the 7 registries asked in turn), and the throughput.
"""

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = ROOT / ".venv" / "bin"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--port", type=int, default=8311)
    parser.add_argument("--sandbox-workers", type=int, default=2, help="gunicorn processes for the sandbox")
    parser.add_argument("--sandbox-threads", type=int, default=128)
    parser.add_argument("--celery-workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--celery-concurrency", type=int, default=16, help="threads per Celery worker")
    parser.add_argument("--client-threads", type=int, default=64, help="threads opening and confirming")
    parser.add_argument("--baseline-sample", type=int, default=20, help="people asked one registry at a time")
    parser.add_argument("--pool-size", type=int, default=16, help="database connections per process")
    parser.add_argument("--registry-threads", type=int, default=64, help="registry calls in flight per worker")
    parser.add_argument("--rate", type=float, default=0,
                        help="confirm consents at this many per second (0: as fast as the client threads can)")
    parser.add_argument("--timeout", type=float, default=600)
    return parser.parse_args()


def environment(args, fixture: Path) -> dict:
    database_url = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/kualik_bench")
    if not database_url.startswith("postgres"):
        sys.exit("bench/checks.py runs on PostgreSQL: set DATABASE_URL=postgres://...")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/10")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.development",
        "DEBUG": "0",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/11"),
        "CACHE_KEY_PREFIX": f"kualik-bench-{os.getpid()}",
        "REGISTRY_SANDBOX_FIXTURES": str(fixture),
        "REGISTRY_SANDBOX_LATENCY_MS": str(args.latency_ms),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{args.port}",
        "CHECKS_PARALLELISM": str(args.registry_threads),
        "REGISTRY_BULKHEAD_SIZE": "256",
        "DATABASE_POOL_MAX_SIZE": str(args.pool_size),
        "LOG_LEVEL": "WARNING",
    }
    return env


def recreate_database(database_url: str) -> None:
    url = urlparse(database_url)
    name = url.path.lstrip("/")
    admin = ["psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "root",
             "-d", "postgres", "-qc"]
    subprocess.run([*admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=True)
    subprocess.run([*admin, f'CREATE DATABASE "{name}"'], check=True)


def write_fixture(path: Path, count: int) -> list[dict]:
    from applications.iin import iin_check_digit

    rng = random.Random(20261128)
    citizens, seen = [], set()
    while len(citizens) < count:
        body = f"{rng.randint(60, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}3{rng.randint(0, 9999):04d}"
        check = iin_check_digit(body)
        if check is None or body in seen:
            continue
        seen.add(body)
        n = len(citizens)
        citizens.append({
            "iin": body + str(check), "surname": "Бенчмарк", "given_names": f"Азамат {n}", "patronymic": None,
            "birth_date": f"19{body[0:2]}-{body[2:4]}-{body[4:6]}", "birth_place": "Астана",
            "address": "Астана", "phone": f"+7708{n:07d}", "photo": None, "consent": "grant", "licence": None,
            "exam_ban": None, "deprivation": None,
            "medical_073": {"valid_until": "2030-01-01", "categories": ["B"]},
            "erdb": {"narcological": False, "psychiatric": False},
            "driving_school": [{"certificate": f"AS-B-{n}", "category": "B", "school": "Bench school"}],
            "exam_attempts": {"theory": 0, "practical": 0, "last_failed_on": None}, "faults": {},
        })
    path.write_text(json.dumps({"citizens": citizens}, ensure_ascii=False))
    return citizens


def wait_until_healthy(port: int, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)  # not listening yet
            continue
        time.sleep(0.3)
    sys.exit("the sandbox server did not come up")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main():
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kualik-bench-"))
    fixture = workdir / "citizens.json"
    env = environment(args, fixture)
    os.environ.update(env)
    processes: list[subprocess.Popen] = []

    def stop_all(*_):
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    signal.signal(signal.SIGINT, lambda *a: (stop_all(), sys.exit(130)))
    try:
        print(f"preparing: database {env['DATABASE_URL']}, {args.applications} citizens, "
              f"sandbox latency {args.latency_ms} ms", flush=True)
        recreate_database(env["DATABASE_URL"])
        subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                       check=True)
        import redis

        for url in (env["CELERY_BROKER_URL"], env["REDIS_URL"]):  # a clean queue, cache and circuit breakers
            redis.Redis.from_url(url).flushdb()
        citizens = write_fixture(fixture, args.applications)

        log = open(workdir / "servers.log", "w")  # noqa: SIM115 - kept open for the servers' lifetime
        sandbox_env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings.sandbox"}
        processes.append(subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{args.port}", "-k", "gthread",
             "--workers", str(args.sandbox_workers), "--threads", str(args.sandbox_threads),
             "--backlog", "4096", "--keep-alive", "5", "--log-level", "warning"],
            cwd=ROOT, env=sandbox_env, stdout=log, stderr=log))
        for index in range(args.celery_workers):
            processes.append(subprocess.Popen(
                [str(BIN / "celery"), "-A", "config", "worker", "--pool", "threads",
                 "--concurrency", str(args.celery_concurrency), "--loglevel", "WARNING", "-n", f"bench{index}@%h",
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "--prefetch-multiplier", "4"],
                cwd=ROOT, env=env, stdout=log, stderr=log))
        wait_until_healthy(args.port)
        time.sleep(3)  # let the workers connect

        import django

        django.setup()
        results = run(args, citizens)
        print_report(args, results)
    finally:
        stop_all()
        if os.environ.get("BENCH_KEEP_LOGS"):
            print(f"servers log: {workdir / 'servers.log'}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, citizens: list[dict]) -> dict:
    from django.db import connection

    from applications import services
    from applications.models import Application, Check, Status, StatusChange
    from registries.sandbox.models import SandboxSms

    def open_application(person):
        try:
            return services.start_application(service="first_issue", iin=person["iin"], categories=["B"],
                                              channel="bank", actor=None, language="ru").pk
        finally:
            connection.close()

    started = time.monotonic()
    with ThreadPoolExecutor(args.client_threads) as pool:
        application_ids = list(pool.map(open_application, citizens))
    opened = time.monotonic() - started
    codes = {}
    for phone, text in SandboxSms.objects.order_by("sent_at").values_list("phone", "text"):
        codes[phone] = next(word for word in text.replace(".", " ").split() if word.isdigit() and len(word) == 6)
    by_id = dict(zip(application_ids, citizens, strict=True))
    print(f"opened {len(application_ids)} applications in {opened:.1f} s; confirming consent", flush=True)

    def confirm(application_id):
        try:
            application = Application.objects.select_related("consent").get(pk=application_id)
            services.confirm_consent(application=application, code=codes[by_id[application_id]["phone"]],
                                     actor=None)
        finally:
            connection.close()

    confirm_started = time.monotonic()
    with ThreadPoolExecutor(args.client_threads) as pool:
        if args.rate:
            futures = []
            for index, application_id in enumerate(application_ids):
                time.sleep(max(0.0, confirm_started + index / args.rate - time.monotonic()))
                futures.append(pool.submit(confirm, application_id))
            for future in futures:
                future.result()
        else:
            list(pool.map(confirm, application_ids))
    confirm_seconds = time.monotonic() - confirm_started
    print(f"confirmed {len(application_ids)} consents in {confirm_seconds:.1f} s "
          f"({len(application_ids) / confirm_seconds:.0f}/s); waiting for the decisions", flush=True)

    deadline = time.monotonic() + args.timeout
    final = (Status.ELIGIBLE, Status.REFUSED)
    while time.monotonic() < deadline:
        decided = Application.objects.filter(pk__in=application_ids, status__in=final).count()
        if decided == len(application_ids):
            break
        time.sleep(0.5)
    decided = Application.objects.filter(pk__in=application_ids, status__in=final).count()

    changes = StatusChange.objects.filter(application_id__in=application_ids,
                                          to_status__in=[Status.CHECKS_RUNNING, *final])
    consented, decisions = {}, {}
    for application_id, to_status, at in changes.values_list("application_id", "to_status", "at"):
        (consented if to_status == Status.CHECKS_RUNNING else decisions)[application_id] = at
    latencies = [(decisions[a] - consented[a]).total_seconds() * 1000 for a in decisions if a in consented]
    span = (max(decisions.values()) - min(consented.values())).total_seconds() if decisions else float("nan")
    errors = Check.objects.filter(application_id__in=application_ids, outcome=Check.Outcome.ERROR).count()
    refused = Application.objects.filter(pk__in=application_ids, status=Status.REFUSED).count()
    baseline = measure_one_by_one([a for a in application_ids if a in decisions][: args.baseline_sample],
                                  by_id)
    return {"decided": decided, "total": len(application_ids), "latencies": latencies, "span": span,
            "errors": errors, "refused": refused, "baseline": baseline}


def measure_one_by_one(application_ids, by_id) -> list[float]:
    """The same clients, the same sandbox, but the 7 registries asked one after another."""
    from applications.models import Consent
    from registries.clients import PERSON_CLIENTS, PersonQuery

    timings = []
    for application_id in application_ids:
        consent = Consent.objects.get(application_id=application_id)
        query = PersonQuery(iin=by_id[application_id]["iin"], consent_request=consent.request_id, categories=("B",))
        started = time.monotonic()
        for client in PERSON_CLIENTS.values():
            client.check(query)
        timings.append((time.monotonic() - started) * 1000)
    return timings


def print_report(args, results) -> None:
    latencies = results["latencies"]
    floor = 2 * args.latency_ms
    print()
    pace = f"consents confirmed at {args.rate:g}/s" if args.rate else "consents confirmed as fast as possible"
    print(f"kuälik checks benchmark: {results['total']} applications, sandbox latency {args.latency_ms} ms, "
          f"{pace}, {os.cpu_count()} cores")
    print(f"  decided             {results['decided']} / {results['total']}  (refused {results['refused']}, "
          f"checks left in error {results['errors']})")
    if not latencies:
        print("  no decisions: see the servers' log")
        return
    median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    print(f"  consent->decision   median {median:.0f} ms   p95 {p95:.0f} ms   max {max(latencies):.0f} ms")
    print(f"  two-phase floor     {floor} ms (2 x {args.latency_ms});  median / floor = {median / floor:.2f}  "
          f"(target <= 1.30: {'met' if median <= 1.3 * floor else 'MISSED'})")
    if results["baseline"]:
        one_by_one = statistics.median(results["baseline"])
        print(f"  one registry at a time (measured, {len(results['baseline'])} people): median {one_by_one:.0f} ms "
              f"(7 x {args.latency_ms} = {7 * args.latency_ms} ms)")
    throughput = len(latencies) / results["span"]
    print(f"  throughput          {throughput:.1f} applications/s over {results['span']:.1f} s "
          f"(target >= 100: {'met' if throughput >= 100 else 'MISSED'})")


if __name__ == "__main__":
    main()

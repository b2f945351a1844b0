"""Benchmark: applications from consent to eligible, on PostgreSQL, Redis and a real Celery worker.

Run by hand (not in CI):

    DATABASE_URL=postgres://root@127.0.0.1:5432/kualik_bench_checks REDIS_URL=redis://127.0.0.1:6379/7 \
        .venv/bin/python bench/checks.py                 # the worker as the Procfile starts it (make run, deploy)
    ... bench/checks.py --tuned --celery-workers 2       # a worker command line of the benchmark's own

It creates (drops first) the database named in DATABASE_URL, writes a fixture of citizens who pass every check,
serves the registry sandbox under gunicorn with REGISTRY_SANDBOX_LATENCY_MS added to every answer (it stands for the
e-government gateway, not for Kuälik's web process), and starts the worker. `--shipped` (the default) runs the
Procfile's `worker:` line through the shell with make run's environment, only DATABASE_URL, REDIS_URL and
CELERY_BROKER_URL pointing at PostgreSQL and Redis, as deploy/ does. It opens every application up front and waits
for every consent code, then in one run prints:

  (a) the two-phase floor: 2 x the sandbox latency, and measured: the registries of each phase asked at once with
      plain httpx (no Django), person by person, on the quiet machine between the two runs;
  (b) the throughput at full load: the first group's consents all confirmed at once, applications per second from
      the first confirmation to the last decision;
  (c) latency at 80 % of that rate: the second group confirmed at that pace, consent->decision median and p95
      against the floor. The timer starts at the consent confirmation (the application's move to checks_running,
      committed by confirm_consent) and stops at the move to eligible, both read from the status history;
  (d) CPU per application of each group of processes over the full-load run, read from /proc/<pid>/stat (the
      process and every descendant): the worker (run_checks and the `eligible` notice tasks, which are waited for),
      the sandbox, PostgreSQL, Redis, and this client (confirmations);
  (e) the configuration used.
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
PHASES = (("person", "licence_registry", "erap"), ("medical", "erdb", "driving_school", "exam_attempts"))
TICKS = os.sysconf("SC_CLK_TCK")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=2000, help="confirmed all at once (throughput)")
    parser.add_argument("--paced-applications", type=int, default=1000, help="confirmed at 80 %% of it (latency)")
    parser.add_argument("--pace", type=float, default=0.8, help="share of the measured throughput for (c)")
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--port", type=int, default=8311)
    parser.add_argument("--sandbox-workers", type=int, default=2, help="gunicorn processes for the sandbox")
    parser.add_argument("--sandbox-threads", type=int, default=128)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--shipped", dest="tuned", action="store_false",
                      help="the Procfile's worker line with make run's defaults (the default)")
    mode.add_argument("--tuned", dest="tuned", action="store_true", help="the worker command line below")
    parser.set_defaults(tuned=False)
    parser.add_argument("--worker-command", default="", help="--tuned: start each worker with this command line")
    parser.add_argument("--celery-workers", type=int, default=2, help="--tuned: Celery worker processes")
    parser.add_argument("--celery-concurrency", type=int, default=64, help="--tuned: threads per Celery worker")
    parser.add_argument("--pool-size", type=int, default=16, help="--tuned: database connections per process")
    parser.add_argument("--registry-threads", type=int, default=64, help="--tuned: CHECKS_PARALLELISM")
    parser.add_argument("--client-threads", type=int, default=64, help="threads opening and confirming")
    parser.add_argument("--floor-sample", type=int, default=30, help="people asked for the measured floor")
    parser.add_argument("--timeout", type=float, default=900)
    return parser.parse_args()


def environment(args, fixture: Path) -> dict:
    database_url = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/kualik_bench_checks")
    if not database_url.startswith("postgres"):
        sys.exit("bench/checks.py runs on PostgreSQL: set DATABASE_URL=postgres://...")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7")
    # What make run exports (Makefile) and what deploy/ points elsewhere: the database, the cache, the broker.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.development",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", redis_url),
        "CACHE_KEY_PREFIX": f"kualik-bench-{os.getpid()}",
        "REGISTRY_SANDBOX_FIXTURES": str(fixture),
        "REGISTRY_SANDBOX_LATENCY_MS": str(args.latency_ms),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{args.port}",
        "WEB_BIND": f"127.0.0.1:{args.port}",
    }
    for name in ("CHECKS_PARALLELISM", "REGISTRY_BULKHEAD_SIZE", "DATABASE_POOL_MAX_SIZE", "WORKER_CONCURRENCY",
                 "DEBUG", "LOG_LEVEL"):
        env.pop(name, None)  # the shipped defaults, unless --tuned sets them
    if args.tuned:
        env.update({"CHECKS_PARALLELISM": str(args.registry_threads), "REGISTRY_BULKHEAD_SIZE": "256",
                    "DATABASE_POOL_MAX_SIZE": str(args.pool_size), "LOG_LEVEL": "WARNING"})
    return env


def worker_commands(args) -> list[str]:
    if not args.tuned:
        for line in (ROOT / "Procfile").read_text().splitlines():
            if line.startswith("worker:"):
                return [line.partition(":")[2].strip()]
        sys.exit("the Procfile has no worker line")
    if args.worker_command:
        return [args.worker_command] * args.celery_workers
    return [f"{BIN / 'celery'} -A config worker --pool threads --concurrency {args.celery_concurrency} "
            f"--loglevel WARNING -n bench{index}@%h --without-gossip --without-mingle --without-heartbeat"
            for index in range(args.celery_workers)]


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
            pass  # not listening yet
        time.sleep(0.3)
    sys.exit("the sandbox server did not come up")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


# --- CPU of process groups, from /proc ---------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for task in os.listdir(f"/proc/{pid}/task")
                for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        return []


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(_children(current))
    return found


def cpu_seconds(pids) -> float:
    """utime + stime of these processes (all their threads), in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def pids_named(name: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == name:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def backends_of(database_url: str) -> list[int]:
    """PostgreSQL's processes serving this database (their title names it); the cluster's own are shared."""
    name = urlparse(database_url).path.lstrip("/")
    pids = []
    for pid in pids_named("postgres"):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f" {name} " in title:
            pids.append(pid)
    return pids


class Meter:
    """CPU seconds of each group of processes between `start` and `stop` (a group is re-listed each time, so
    processes started in between, PostgreSQL's backends for instance, are counted from their start)."""

    def __init__(self, groups: dict):
        self.groups = groups  # name -> function returning pids

    def read(self) -> dict[str, float]:
        return {name: cpu_seconds(pids()) for name, pids in self.groups.items()}

    def start(self):
        self.started_at, self.before = time.monotonic(), self.read()
        self.pids_before = {name: set(pids()) for name, pids in self.groups.items()}

    def stop(self) -> tuple[float, dict[str, float]]:
        after = self.read()
        # Processes that ended in between took their CPU with them; the groups measured here are long-lived.
        return time.monotonic() - self.started_at, {name: after[name] - self.before[name] for name in after}


# --- the run -----------------------------------------------------------------------------------------------------


def main():
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kualik-bench-"))
    fixture = workdir / "citizens.json"
    env = environment(args, fixture)
    # This process stands for the web: its threads borrow connections from a pool instead of opening one each.
    os.environ.update(env, DATABASE_POOL_MAX_SIZE="24")
    processes: list[subprocess.Popen] = []

    def stop_all(*_):
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    signal.signal(signal.SIGINT, lambda *a: (stop_all(), sys.exit(130)))
    try:
        total = args.applications + args.paced_applications
        print(f"preparing: database {env['DATABASE_URL']}, {total} citizens, sandbox latency {args.latency_ms} ms",
              flush=True)
        recreate_database(env["DATABASE_URL"])
        subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                       check=True)
        import redis

        for url in {env["CELERY_BROKER_URL"], env["REDIS_URL"]}:  # a clean queue, cache and circuit breakers
            redis.Redis.from_url(url).flushdb()
        citizens = write_fixture(fixture, total)

        log = open(workdir / "servers.log", "w")  # noqa: SIM115 - kept open for the servers' lifetime
        sandbox_env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings.sandbox", "DATABASE_POOL_MAX_SIZE": "8"}
        sandbox = subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{args.port}", "-k", "gthread",
             "--workers", str(args.sandbox_workers), "--threads", str(args.sandbox_threads),
             "--backlog", "4096", "--keep-alive", "5", "--log-level", "warning"],
            cwd=ROOT, env=sandbox_env, stdout=log, stderr=log, start_new_session=True)
        processes.append(sandbox)
        commands = worker_commands(args)
        workers = [subprocess.Popen(["sh", "-c", command], cwd=ROOT, env=env, stdout=log, stderr=log,
                                    start_new_session=True) for command in commands]
        processes.extend(workers)
        wait_until_healthy(args.port)
        time.sleep(4)  # let the workers connect

        import django

        django.setup()
        meter = Meter({
            "worker": lambda: [pid for worker in workers for pid in descendants(worker.pid)],
            "sandbox": lambda: descendants(sandbox.pid),
            "postgres": lambda: backends_of(env["DATABASE_URL"]),
            "redis": lambda: pids_named("redis-server"),
            "client": lambda: [os.getpid()],
        })
        results = run(args, citizens, meter, log)
        print_report(args, env, commands, results)
    finally:
        stop_all()
        if os.environ.get("BENCH_KEEP_LOGS"):
            print(f"servers log: {workdir / 'servers.log'}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(args, citizens: list[dict], meter: Meter, log) -> dict:
    from django.db import connection

    from applications import services
    from applications.models import Application, Status
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
    by_id = dict(zip(application_ids, citizens, strict=True))
    print(f"opened {len(application_ids)} applications in {time.monotonic() - started:.1f} s; "
          f"waiting for every consent code", flush=True)
    codes: dict[str, str] = {}
    deadline = time.monotonic() + args.timeout
    while len(codes) < len(citizens) and time.monotonic() < deadline:
        for phone, text in SandboxSms.objects.values_list("phone", "text"):
            codes[phone] = next(word for word in text.replace(".", " ").split() if word.isdigit() and len(word) == 6)
        time.sleep(0.5)
    if len(codes) < len(citizens):
        sys.exit(f"only {len(codes)} of {len(citizens)} consent codes were sent")
    time.sleep(2)  # the last request_consent tasks finish their writes

    def confirm(application_id):
        from applications.errors import ApplicationError

        try:
            for attempt in range(5):  # the consent service may time out on a loaded machine: the citizen tries again
                application = Application.objects.select_related("consent").get(pk=application_id)
                try:
                    services.confirm_consent(application=application, code=codes[by_id[application_id]["phone"]],
                                             actor=None)
                    return
                except ApplicationError:
                    if attempt == 4:
                        raise
                    time.sleep(1)
        finally:
            connection.close()

    def confirm_all(ids, rate: float) -> float:
        begun = time.monotonic()
        with ThreadPoolExecutor(args.client_threads) as pool:
            futures = []
            for index, application_id in enumerate(ids):
                if rate:
                    time.sleep(max(0.0, begun + index / rate - time.monotonic()))
                futures.append(pool.submit(confirm, application_id))
            for future in futures:
                future.result()
        return time.monotonic() - begun

    def wait_for(ids, what) -> None:
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and what(ids) < len(ids):
            time.sleep(0.5)

    def decided(ids) -> int:
        return Application.objects.filter(pk__in=ids, status__in=(Status.ELIGIBLE, Status.REFUSED)).count()

    def noticed(ids) -> int:
        from applications.models import Notice

        return Notice.objects.filter(application_id__in=ids, event__in=("eligible", "refused")).count()

    full, paced = application_ids[: args.applications], application_ids[args.applications:]
    print(f"(b) confirming {len(full)} consents at once; load {load_average()}", flush=True)
    meter.start()
    load_before = load_average()
    confirm_seconds = confirm_all(full, 0)
    print(f"    confirmed in {confirm_seconds:.1f} s ({len(full) / confirm_seconds:.0f}/s); waiting for the decisions "
          f"and their notices", flush=True)
    wait_for(full, decided)
    load_during = load_average()
    wait_for(full, noticed)
    window, cpu = meter.stop()
    loaded = outcome(full)
    loaded.update(cpu=cpu, window=window, confirm_rate=len(full) / confirm_seconds, load=(load_before, load_during),
                  notices=noticed(full))

    # The registries answer only under a granted consent: the floor is measured on the first group, between runs.
    floor = measure_floor(full[: args.floor_sample], by_id)
    print(f"(a) measured floor {statistics.median(floor):.0f} ms; load {load_average()}", flush=True)

    rate = args.pace * loaded["throughput"]
    print(f"(c) confirming {len(paced)} consents at {rate:.1f}/s; load {load_average()}", flush=True)
    confirm_all(paced, rate)
    wait_for(paced, decided)
    gentle = outcome(paced)
    gentle.update(rate=rate, load=load_average())
    return {"floor": floor, "loaded": loaded, "paced": gentle}


def outcome(application_ids) -> dict:
    from applications.models import Application, Check, Status, StatusChange

    final = (Status.ELIGIBLE, Status.REFUSED)
    changes = StatusChange.objects.filter(application_id__in=application_ids,
                                          to_status__in=[Status.CHECKS_RUNNING, *final])
    consented, decisions = {}, {}
    for application_id, to_status, at in changes.values_list("application_id", "to_status", "at"):
        (consented if to_status == Status.CHECKS_RUNNING else decisions)[application_id] = at
    latencies = [(decisions[a] - consented[a]).total_seconds() * 1000 for a in decisions if a in consented]
    span = (max(decisions.values()) - min(consented.values())).total_seconds() if decisions else float("nan")
    return {
        "total": len(application_ids), "decided": len(decisions), "latencies": latencies, "span": span,
        "throughput": len(decisions) / span if decisions else 0.0,
        "refused": Application.objects.filter(pk__in=application_ids, status=Status.REFUSED).count(),
        "errors": Check.objects.filter(application_id__in=application_ids, outcome=Check.Outcome.ERROR).count(),
    }


def measure_floor(application_ids, by_id) -> list[float]:
    """Each phase's registries asked at once over plain httpx, one person after another: no Django, no database."""
    import httpx

    from applications.models import Consent
    from registries.gateway import registry_url

    consents = dict(Consent.objects.filter(application_id__in=application_ids).values_list("application_id",
                                                                                          "request_id"))
    timings = []
    with httpx.Client() as client, ThreadPoolExecutor(4) as pool:
        def post(registry, application_id):
            body = {"iin": by_id[application_id]["iin"], "consent_request": consents[application_id],
                    "purpose": "eligibility_check", "categories": ["B"]}
            return client.post(f"{registry_url(registry)}/query", json=body, timeout=10).raise_for_status()

        for application_id in application_ids:
            started = time.monotonic()
            for phase in PHASES:
                list(pool.map(lambda registry: post(registry, application_id), phase))  # noqa: B023
            timings.append((time.monotonic() - started) * 1000)
    return timings


def print_report(args, env, commands, results) -> None:
    floor, loaded, paced = results["floor"], results["loaded"], results["paced"]
    nominal = 2 * args.latency_ms
    measured = statistics.median(floor)
    print()
    print(f"kuälik checks benchmark: sandbox latency {args.latency_ms} ms, {os.cpu_count()} cores")
    print("(e) configuration: " + ("--tuned" if args.tuned else "--shipped: the Procfile's worker line, make run's "
                                   "environment, PostgreSQL and Redis"))
    for command in commands:
        print(f"      worker: {command}")
    for name in ("DJANGO_SETTINGS_MODULE", "WORKER_CONCURRENCY", "DATABASE_POOL_MAX_SIZE", "CHECKS_PARALLELISM",
                 "REGISTRY_BULKHEAD_SIZE", "LOG_LEVEL"):
        print(f"      {name}={env.get(name, '(default)')}")
    print(f"      sandbox: gunicorn gthread {args.sandbox_workers} x {args.sandbox_threads} threads "
          "(config.settings.sandbox)")
    print(f"(a) two-phase floor   {nominal} ms (2 x {args.latency_ms});  measured {measured:.0f} ms "
          f"(median of {len(floor)}: 3 then 4 registries at once, plain httpx)")
    print(f"(b) full load         {loaded['decided']} / {loaded['total']} decided (refused {loaded['refused']}, "
          f"checks left in error {loaded['errors']}); consents confirmed at {loaded['confirm_rate']:.0f}/s")
    if loaded["latencies"]:
        target = "met" if loaded["throughput"] >= 60 else "MISSED"
        print(f"    throughput        {loaded['throughput']:.1f} applications/s consent->decision over "
              f"{loaded['span']:.1f} s (target >= 60: {target});  median {statistics.median(loaded['latencies']):.0f}"
              f" ms;  load average {loaded['load'][0]} before, {loaded['load'][1]} at the end")
    if paced["latencies"]:
        median, p95 = statistics.median(paced["latencies"]), percentile(paced["latencies"], 0.95)
        target = "met" if median <= 1.3 * nominal else "MISSED"
        print(f"(c) at {paced['rate']:.1f}/s          {paced['decided']} / {paced['total']} decided; median "
              f"{median:.0f} ms  p95 {p95:.0f} ms;  median / floor {median / nominal:.2f} (measured floor: "
              f"{median / measured:.2f}; target < 1.30: {target});  p95 / floor {p95 / nominal:.2f};  "
              f"load {paced['load']}")
    count = loaded["decided"] or 1
    window = loaded["window"]
    print(f"(d) CPU per application over the full-load run ({window:.1f} s, {loaded['notices']} notices sent; "
          "ms per application, cores busy):")
    for name, seconds in loaded["cpu"].items():
        note = {"worker": "  (run_checks tasks and the eligible notice tasks)",
                "postgres": "  (backends of this database alive at the end)",
                "redis": "  (the whole server: shared with anything else using it)"}.get(name, "")
        target = f"  target < 20: {'met' if 1000 * seconds / count < 20 else 'MISSED'}" if name == "worker" else ""
        print(f"      {name:<9} {1000 * seconds / count:6.1f} ms   {seconds / window:4.2f} cores{target}{note}")
    every = sum(loaded["cpu"].values())
    print(f"      all       {1000 * every / count:6.1f} ms   {every / window:4.2f} cores  -> on {os.cpu_count()} cores "
          f"at most {os.cpu_count() / every * count:.0f} applications/s if CPU alone bounded it")


if __name__ == "__main__":
    main()

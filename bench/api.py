"""Benchmark: the API's read and create under gunicorn, driven by wrk, each beside its floor in the same run.

    DATABASE_URL=postgres://root@127.0.0.1:5432/kualik_bench_api REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python bench/api.py

It creates (drops first) the database named in DATABASE_URL (its name must contain "bench") and flushes the Redis
database of REDIS_URL (cache and broker), and drops and flushes both at the end. gunicorn serves the real API
(`-k sync -w 2` by default, DEBUG off, PostgreSQL, Redis) and wrk (Debian's package, installed with apt-get where
missing; 2 threads x 32 connections by default) drives it, one run of --seconds after another, from Lua scripts
written into a temporary folder:
- `GET /sandbox/bare`: a Django view answering a constant JSON through the same middleware (sandbox mode only):
  the floor under any read;
- `GET /sandbox/bare-write`: the same view's GET, authenticated and rate-limited, reading nothing: the floor under
  any read through DRF (no target; shown to tell the framework's share from the read's own);
- `POST /sandbox/bare-write`: a channel client's authenticated, throttled DRF POST that writes one row in a
  transaction (sandbox mode only; bench/booking.py's floor): the floor under any write;
- `GET /api/v1/applications/{id}`, polls: the bank's client rotating over --applications applications it owns
  (each read once just before, as a channel's polling finds them: the first read after a change renders the
  Application, the following ones come from the representation cache). Target: >= 60 % of the bare view;
- the same reads by a police officer (`Token`): each is a staff read, written to the access log;
- `GET /api/v1/applications/{id}`, first reads: applications never read before, each rendered from the database
  (no target);
- `POST /api/v1/applications`: first-licence applications for distinct IINs the sandbox knows, each with a new
  Idempotency-Key. Target: >= 30 % of the one-row write. The consent request is a Celery task queued at commit;
  as in production the worker is another machine's load, so none runs during the timed runs: afterwards one drains
  the queue and the benchmark checks that every application opened got its consent code.

The applications read have the shape of real ones (checks, history, consent). After the runs it checks that each
IIN has exactly one application and each application one Idempotency-Key record, one history row and one consent,
and that the access log holds a row for every staff read answered. Printed: requests per second, p50/p99 and the
answers by status of each run, the SQL statements of one read and one create, and the ratios against the targets.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import WRK_REPORT, drop_database, ensure_wrk, run_one_row_write, run_wrk_script  # noqa: E402
from checks import BIN, recreate_database, wait_until_healthy, write_fixture  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://root@127.0.0.1:5432/kualik_bench_api"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"

# One script for every run but the one-row write (bench/_common.py's). `mode`: bare (GET /sandbox/bare), poll
# (GET each application of the thread's share in turn, round and round), first (GET each once), create (POST one
# application per IIN of the thread's share, once each). Each thread takes every n-th line of `items`. A thread
# whose share is used up stops and leaves `marker.<thread>`; the run ends when every thread has. Answers are
# counted by status (and problem code).
WRK_SCRIPT = r"""
local threads, count = {}, 0

function setup(thread)
  thread:set("index", count)
  count = count + 1
  table.insert(threads, thread)
end

function init(args)
  local options = {}
  for _, arg in pairs(args) do
    local key, value = string.match(arg, "^(%w+)=(.*)$")
    if key then options[key] = value end
  end
  mode, marker = options.mode, options.marker
  local nthreads = tonumber(options.threads)
  items, next_item, counts, exhausted = {}, 1, {}, false
  if options.items then
    local line_number = 0
    for line in io.lines(options.items) do
      if line_number % nthreads == index then table.insert(items, line) end
      line_number = line_number + 1
    end
  end
  headers = {["Accept-Language"] = "ru"}
  if options.auth then headers["Authorization"] = options.auth end
  if mode == "create" then headers["Content-Type"] = "application/json" end
end

function request()
  if mode == "bare" then return wrk.format("GET", "/sandbox/bare", headers) end
  if mode == "drf" then return wrk.format("GET", "/sandbox/bare-write", headers) end
  local item = items[next_item]
  if item == nil and mode == "poll" then
    next_item, item = 1, items[1]
  end
  if item == nil then
    if not exhausted then
      exhausted = true
      local file = io.open(marker .. "." .. index, "w")
      if file then file:close() end
      wrk.thread:stop()
    end
    return wrk.format("GET", "/healthz", {})
  end
  next_item = next_item + 1
  if mode == "create" then
    headers["Idempotency-Key"] = "bench-create-" .. item
    return wrk.format("POST", "/api/v1/applications", headers,
                      '{"service": "first_issue", "iin": "' .. item .. '", "categories": ["B"]}')
  end
  return wrk.format("GET", "/api/v1/applications/" .. item, headers)
end

""" + WRK_REPORT


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="each run, at most")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=8312)
    parser.add_argument("--sandbox-port", type=int, default=8313)
    parser.add_argument("--worker-class", default="sync", help="gunicorn's -k (the Procfile's is gthread)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per process (gthread)")
    parser.add_argument("--applications", type=int, default=2000, help="applications polled")
    parser.add_argument("--unread", type=int, default=6000, help="applications for the first-read run")
    parser.add_argument("--creates", type=int, default=12000, help="people the sandbox knows, for the creates")
    parser.add_argument("--no-drain", action="store_true", help="skip the Celery worker's consent check")
    args = parser.parse_args()
    if args.connections < args.wrk_threads:
        parser.error("--connections must be at least --wrk-threads")
    return args


def procfile_web() -> str:
    line = next((line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")), "")
    return line.removeprefix("web:").strip()


def shaped_applications(iins: list[str], organisation) -> list[str]:
    """Applications as start_application leaves them (history, checks, consent), written in bulk."""
    from applications.models import ALGORITHM_ORDER, Application, Check, Consent, StatusChange
    from applications.services.checks import applicable_registries

    applications = Application.objects.bulk_create(
        Application(service="first_issue", channel="bank", iin=iin, categories=["B"], organisation=organisation)
        for iin in iins)
    StatusChange.objects.bulk_create(
        StatusChange(application=application, from_status="", to_status=application.status, at=application.created_at,
                     actor_kind=StatusChange.ActorKind.CHANNEL, actor_organisation=organisation)
        for application in applications)
    registries = applicable_registries(service="first_issue", replacement_reason=None)
    Consent.objects.bulk_create(
        Consent(application=application, channel="bank", registries=[r for r in registries if r != "consent"])
        for application in applications)
    Check.objects.bulk_create(
        Check(application=application, registry=registry, position=ALGORITHM_ORDER.index(registry))
        for application in applications for registry in registries)
    return [str(application.pk) for application in applications]


def bench_iins(count: int, seed: int) -> list[str]:
    """Valid IINs (check digit), never the sandbox's: applications that are only read."""
    import random

    from applications.iin import iin_check_digit

    rng = random.Random(seed)
    found: dict[str, None] = {}
    while len(found) < count:
        body = f"{rng.randint(60, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}4{rng.randint(0, 9999):04d}"
        check = iin_check_digit(body)
        if check is not None:
            found[body + str(check)] = None
    return list(found)


def statements_of_one(path_and_body, headers: dict, method: str) -> list[str]:
    """The SQL of one request through the same stack in this process (Django's test client), once the process has
    its caches (the second of two requests): as a gunicorn worker's steady state."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    for path, body, extra in path_and_body:
        with CaptureQueriesContext(connection) as captured:
            if method == "GET":
                response = client.get(path, HTTP_HOST="127.0.0.1", headers=headers)
            else:
                response = client.post(path, data=body, content_type="application/json", HTTP_HOST="127.0.0.1",
                                       headers={**headers, **extra})
        if response.status_code not in (200, 201):
            sys.exit(f"{method} {path} through the test client answered {response.status_code}: "
                     f"{response.content[:500]}")
    return [query["sql"] for query in captured.captured_queries]


def drain_consent_requests(env, created_iins: list[str], timeout: float = 600) -> tuple[int, int, float]:
    """Run a Celery worker until every application opened in the timed run has had its consent code sent."""
    from django.db import connection

    from applications.models import Application, Consent

    opened = Application.objects.filter(iin__in=created_iins).count()
    started = time.monotonic()
    # With beat, as production runs it: the sweep queues again a consent request whose queueing failed.
    worker = subprocess.Popen(
        [str(BIN / "celery"), "-A", "config", "worker", "--pool", "threads", "--concurrency", "8", "--beat",
         "--schedule", str(Path(tempfile.gettempdir()) / f"kualik-bench-api-beat-{os.getpid()}"),
         "--loglevel", "WARNING", "-n", "bench-api@%h"], cwd=ROOT, env={**env, "CHECKS_SWEEP_EVERY_SECONDS": "10"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sent = 0
    try:
        while time.monotonic() - started < timeout:
            sent = Consent.objects.filter(application__iin__in=created_iins, state=Consent.State.CODE_SENT).count()
            if sent == opened:
                break
            time.sleep(1)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        connection.close()
    return sent, opened, time.monotonic() - started


def check_creates(iins: list[str]) -> dict:
    from django.db.models import Count

    from accounts.models import IdempotencyRecord
    from applications.models import Application, Consent, StatusChange

    opened = Application.objects.filter(iin__in=iins)
    keys = IdempotencyRecord.objects.filter(key__startswith="bench-create-")
    return {
        "applications": opened.count(),
        "iins_twice": opened.values("iin").annotate(n=Count("pk")).filter(n__gt=1).count(),
        "keys": keys.count(), "keys_answered_201": keys.filter(response_status=201).count(),
        "without_one_history_row": opened.annotate(n=Count("history")).exclude(n=1).count(),
        "consents": Consent.objects.filter(application__iin__in=iins).count(),
        "history_rows": StatusChange.objects.filter(application__iin__in=iins).count(),
    }


def access_log_rows(user) -> int:
    from applications.models import PersonalDataAccess

    return PersonalDataAccess.objects.filter(actor_user=user, what="application").count()


def main():
    args = parse_args()
    wrk = ensure_wrk()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not database_url.startswith("postgres"):
        sys.exit("bench/api.py runs on PostgreSQL: set DATABASE_URL=postgres://...")
    if "bench" not in urlparse(database_url).path:
        sys.exit("bench/api.py drops the database it is given: name one with 'bench' in it")
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    workdir = Path(tempfile.mkdtemp(prefix="kualik-bench-api-"))
    fixture = workdir / "citizens.json"
    # As production runs the web process (config/settings/production.py: persistent connections, 60 s), but with
    # the sandbox's baselines mounted; the rate limit stays on at a rate the benchmark does not reach.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.development", "DEBUG": "0", "SANDBOX_MODE": "1",
           "DATABASE_URL": database_url, "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url,
           "CACHE_KEY_PREFIX": f"kualik-bench-api-{os.getpid()}", "REGISTRY_SANDBOX_FIXTURES": str(fixture),
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{args.port}", "DATABASE_POOL_MAX_SIZE": "0", "CONN_MAX_AGE": "60",
           # The registries are another system: the sandbox runs as its own server, as in bench/checks.py.
           "REGISTRY_BASE_URL": f"http://127.0.0.1:{args.sandbox_port}/sandbox/registries",
           "API_RATE_PER_CLIENT": "1000000/min", "LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    servers: list[subprocess.Popen] = []

    def stop_servers():
        for process in servers:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import redis

    results: dict[str, dict] = {}
    try:
        print(f"preparing: database {database_url}, Redis {redis_url}", flush=True)
        recreate_database(database_url)
        subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                       check=True)
        redis.Redis.from_url(redis_url).flushdb()
        citizens = write_fixture(fixture, args.creates + 2)

        import django

        django.setup()
        from django.db import connection

        from accounts.models import Role
        from accounts.services import create_api_client, create_staff_user

        key_object, api_key = create_api_client(channel="bank", name="Bench Bank")
        officer, officer_token, _password = create_staff_user(role=Role.POLICE_OFFICER, username="bench-officer")
        organisation = key_object.organisation
        read_iins = bench_iins(args.applications + args.unread + 2, seed=20261204)
        started = time.monotonic()
        polled = shaped_applications(read_iins[: args.applications], organisation)
        unread = shaped_applications(read_iins[args.applications: args.applications + args.unread], organisation)
        probe_reads = shaped_applications(read_iins[-2:], organisation)
        print(f"  {len(polled) + len(unread) + 2} applications written in {time.monotonic() - started:.0f} s",
              flush=True)
        channel = {"Authorization": f"Api-Key {api_key}", "Accept-Language": "ru"}
        read_sql = statements_of_one([(f"/api/v1/applications/{pk}", None, {}) for pk in probe_reads], channel, "GET")
        cached_read_sql = statements_of_one([(f"/api/v1/applications/{probe_reads[1]}", None, {})] * 2, channel,
                                            "GET")
        probe_iins, create_iins = [c["iin"] for c in citizens[:2]], [c["iin"] for c in citizens[2:]]
        create_sql = statements_of_one(
            [("/api/v1/applications", {"service": "first_issue", "iin": iin, "categories": ["B"]},
              {"Idempotency-Key": f"probe-{iin}"}) for iin in probe_iins], channel, "POST")
        redis.Redis.from_url(redis_url).flushdb()  # the probes' consent requests are not the timed run's
        connection.close()

        log = open(workdir / "server.log", "w")  # noqa: SIM115 - kept open for the servers' lifetime
        servers.append(subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{args.port}", "-k", args.worker_class,
             "--workers", str(args.workers), "--threads", str(args.threads), "--backlog", "2048",
             "--log-level", "warning"], cwd=ROOT, env=env, stdout=log, stderr=log))
        servers.append(subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{args.sandbox_port}", "-k", "gthread",
             "--workers", "1", "--threads", "32", "--log-level", "warning"],
            cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.sandbox"}, stdout=log, stderr=log))
        wait_until_healthy(args.port)
        wait_until_healthy(args.sandbox_port)

        script = workdir / "api.lua"
        script.write_text(WRK_SCRIPT)
        url = f"http://127.0.0.1:{args.port}"

        def run(name: str, mode: str, *, items: list[str] | None = None, auth: str | None = None,
                seconds: float | None = None) -> dict:
            script_args = [f"mode={mode}", f"threads={args.wrk_threads}", f"marker={workdir / (name + '.done')}"]
            if items is not None:
                (workdir / f"{name}.items").write_text("".join(f"{item}\n" for item in items))
                script_args.append(f"items={workdir / (name + '.items')}")
            if auth:
                script_args.append(f"auth={auth}")
            result = run_wrk_script(wrk, script, url, threads=args.wrk_threads, connections=args.connections,
                                    seconds=seconds or args.seconds, script_args=script_args,
                                    markers=[] if mode in ("bare", "drf", "poll") else
                                    [workdir / f"{name}.done.{index}" for index in range(args.wrk_threads)])
            result["load"] = os.getloadavg()[0]
            return result

        def report(name: str, result: dict) -> None:
            results[name] = result
            print(f"  {name:22} {result['rate']:8.1f} requests/s  p50 {result['p50']:6.1f} ms  p99 "
                  f"{result['p99']:6.1f} ms  answers {result['codes']}  load {result['load']:.2f}", flush=True)

        channel_auth, staff_auth = f"Api-Key {api_key}", f"Token {officer_token}"
        run("warm-up", "bare", seconds=3)
        report("bare view", run("bare", "bare"))
        report("DRF GET (auth, limit)", run("drf", "drf", auth=channel_auth))
        report("one-row write", {**run_one_row_write(wrk, args, workdir, api_key), "load": os.getloadavg()[0]})
        # Each polled application is read once (rendered and cached), then polled: copies live 60 s.
        warm = run("warm-polls", "first", items=polled, auth=channel_auth, seconds=120)
        print(f"  (each polled application read once: {warm['requests']} reads, answers {warm['codes']})", flush=True)
        report("read (polls)", run("polls", "poll", items=polled, auth=channel_auth))
        before = access_log_rows(officer)
        report("staff read (logged)", run("staff", "poll", items=polled, auth=staff_auth))
        time.sleep(1)  # the requests in flight when wrk stopped are finished by the server
        results["staff read (logged)"]["logged"] = access_log_rows(officer) - before
        report("first read", run("first", "first", items=unread, auth=channel_auth))
        report("create", run("create", "create", items=create_iins, auth=channel_auth))
        time.sleep(1)
        creates = check_creates(create_iins)
        connection.close()
        servers[0].terminate()  # the API; the sandbox answers the worker's consent requests
        servers[0].wait(timeout=20)
        if not args.no_drain:
            # Only what the timed run opened: the IINs sent (the rest of the fixture was never used).
            opened = creates["applications"]
            sent, total, seconds = drain_consent_requests(env, create_iins)
            creates["drain"] = (sent, total, seconds)
            assert total == opened
    finally:
        stop_servers()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not have been set up
            pass
        drop_database(database_url)
        redis.Redis.from_url(redis_url).flushdb()
        if os.environ.get("BENCH_KEEP_LOGS"):
            print(f"server log: {workdir / 'server.log'}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print_report(args, results, creates, read_sql, cached_read_sql, create_sql)


def print_report(args, results: dict, creates: dict, read_sql: list[str], cached_read_sql: list[str],
                 create_sql: list[str]) -> None:
    print(f"\nkuälik API benchmark: gunicorn -k {args.worker_class} -w {args.workers}"
          f"{f' --threads {args.threads}' if args.worker_class == 'gthread' else ''}, wrk {args.wrk_threads} threads "
          f"x {args.connections} connections, {args.seconds:g} s each, PostgreSQL, Redis, DEBUG off, "
          f"{os.cpu_count()} cores")
    print(f"  (the Procfile serves: {procfile_web()})")
    print(f"  SQL statements (transaction control included): {len(read_sql)} per read rendered from the database, "
          f"{len(cached_read_sql)} per read from the cache, {len(create_sql)} per create")
    if os.environ.get("BENCH_SHOW_SQL"):
        for title, statements in (("read", read_sql), ("create", create_sql)):
            print(f"  {title}:")
            for statement in statements:
                print(f"    {statement[:200]}")
    for name, result in results.items():
        non_2xx = sum(count for code, count in result["codes"].items() if not str(code).startswith("2"))
        errors = f"  socket errors {result['socket_errors']}" if result["socket_errors"] else ""
        print(f"  {name:22} {result['rate']:8.1f} requests/s   p50 {result['p50']:6.1f} ms   p99 {result['p99']:6.1f} "
              f"ms   non-2xx {non_2xx}{errors}   load {result['load']:.2f}")
    bare, one_row = results["bare view"]["rate"], results["one-row write"]["rate"]
    drf = results["DRF GET (auth, limit)"]["rate"]
    print(f"  {'DRF GET (auth, limit)':22} / {'bare view':13} = {drf / bare:6.1%}   (the floor under any read through "
          f"DRF: the key, the rate limit's round trip to Redis, nothing read)")
    for name, floor_name, floor, target in (("read (polls)", "bare view", bare, 0.6),
                                            ("read (polls)", "DRF GET", drf, None),
                                            ("staff read (logged)", "bare view", bare, None),
                                            ("first read", "bare view", bare, None),
                                            ("create", "one-row write", one_row, 0.3)):
        ratio = results[name]["rate"] / floor
        verdict = f"target >= {target:.0%}: {'met' if ratio >= target else 'MISSED'}" if target else "no target"
        print(f"  {name:22} / {floor_name:13} = {ratio:6.1%}   ({results[name]['rate']:.1f} / {floor:.1f}; {verdict})")
    print(f"  create / bare view = {results['create']['rate'] / bare:.1%}")
    staff = results["staff read (logged)"]
    answered = staff["codes"].get("200", 0)
    print(f"  access log: {staff['logged']} rows for {answered} staff reads answered 200 "
          f"({'OK' if answered <= staff['logged'] <= answered + args.connections else 'MISMATCH'}: at most "
          f"{args.connections} more, the reads in flight when wrk stopped)")
    created = results["create"]["codes"].get("201", 0)
    ok = (creates["iins_twice"] == 0 and creates["keys"] == creates["applications"] == creates["keys_answered_201"]
          and creates["consents"] == creates["history_rows"] == creates["applications"]
          and created <= creates["applications"] <= created + args.connections)
    print(f"  creates: {created} answered 201; {creates['applications']} applications in the database, IINs with two: "
          f"{creates['iins_twice']}; Idempotency-Key records {creates['keys']} ({creates['keys_answered_201']} "
          f"holding a 201); consents {creates['consents']}, history rows {creates['history_rows']} "
          f"({'OK' if ok else 'MISMATCH'})")
    if "drain" in creates:
        sent, total, seconds = creates["drain"]
        print(f"  consent codes sent afterwards by one Celery worker: {sent} of the {total} applications opened, "
              f"in {seconds:.0f} s ({'OK' if sent == total else 'MISSING'})")


if __name__ == "__main__":
    main()

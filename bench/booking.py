"""Benchmark: exam bookings per second under gunicorn on PostgreSQL, beside pgbench's conditional update.

    DATABASE_URL=postgres://root@127.0.0.1:5432/kualik_bench_booking .venv/bin/python bench/booking.py

It creates (drops first) the database named in DATABASE_URL (its name must contain "bench"), and Redis db 10 for the
cache and the broker (REDIS_URL), and drops and flushes both at the end. Setup, through the ORM and the project's own
services: --applications first-licence applications of one bank, each taken by the workflow kernel from consent to
`theory_exam` (record_consent, mark_eligible, then submit_application with number, phone, language and pickup TSON),
with its checks passed; the exam slots, written with the ORM. Then gunicorn (gthread) serves the real API and `wrk`
(Debian package `wrk`, installed with apt-get when missing) drives it: every request is
`POST /api/v1/applications/{id}/bookings {"slot": id}` with the bank's API key and an Idempotency-Key, for an
application never used before, so each application books once. A Lua script hands each request the next
application; a run lasts --seconds, or ends early when its applications run out.

Three scenarios, the applications split evenly between them:
- distinct slots: each applicant books a slot of their own (or, with --distinct-slots N, N slots with spare seats);
- one contended slot, capacity = its applicants: every request takes a seat in the same row;
- one contended slot with fewer seats than applicants (--small-capacity; by default half of what the contended run
  booked, so that it fills mid-run): the slot fills, then the answers are `409 slot_full`.

Before each HTTP run, pgbench runs the floor on the same database for as long, with as many client connections as
the HTTP load: `UPDATE bench_slot SET booked = booked + 1 WHERE id = :id AND booked < capacity` (prepared, one
statement per transaction) on a table it creates: a random row of as many as there are slots (distinct), one row
with room (contended), one row with as many seats as the small slot (full: then the updates find no seat). After
each run the benchmark checks that nothing was booked twice: on every slot `booked` equals its bookings in status
`booked` and stays within capacity, no application holds two active bookings of a kind, and none booked twice.
Printed: requests per second and p50/p95/p99 latency of each run, its answers by status and code, the SQL statements
of one booking, the pgbench rate and latency, and the ratio (target: >= 30 % of pgbench).
"""

import argparse
import datetime
import json
import math
import os
import random
import re
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
sys.path.insert(0, str(ROOT / "bench"))

from _common import WRK_REPORT, drop_database, ensure_wrk, psql, run_one_row_write  # noqa: E402
from checks import BIN, percentile, recreate_database, wait_until_healthy  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://root@127.0.0.1:5432/kualik_bench_booking"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
PGBENCH = "/usr/bin/pgbench"
# pgbench's row when it must never fill (distinct and contended): more seats than any run can take.
ROOMY = 2_000_000_000

# wrk's script: each thread takes every n-th line of the file ("<application id> <slot id>"), one per request.
# The answers are counted by status and problem code. When a thread has none left it stops and leaves a marker
# file, on which bench/booking.py ends the run (SIGINT: wrk then reports the time actually run).
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
  local nthreads = tonumber(options.threads)
  marker = options.marker
  items, next_item, counts, exhausted = {}, 1, {}, false
  local line_number = 0
  for line in io.lines(options.items) do
    if line_number % nthreads == index then table.insert(items, line) end
    line_number = line_number + 1
  end
  headers = {["Content-Type"] = "application/json", ["Accept-Language"] = "ru",
             ["Authorization"] = "Api-Key " .. options.key}
end

function request()
  local item = items[next_item]
  if item == nil then
    if not exhausted then
      exhausted = true
      local file = io.open(marker, "w")
      if file then file:close() end
      wrk.thread:stop()
    end
    return wrk.format("GET", "/healthz", {})
  end
  next_item = next_item + 1
  local application, slot = string.match(item, "^(%S+) (%S+)$")
  headers["Idempotency-Key"] = "bench-booking-" .. application
  return wrk.format("POST", "/api/v1/applications/" .. application .. "/bookings", headers,
                    '{"slot": ' .. slot .. '}')
end

""" + WRK_REPORT

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="each pgbench run and each HTTP run, at most")
    parser.add_argument("--connections", type=int, default=16, help="HTTP connections, and pgbench's clients")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=8314)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per process")
    parser.add_argument("--applications", type=int, default=6000,
                        help="applications at theory_exam, split evenly between the three scenarios")
    parser.add_argument("--distinct-slots", type=int, default=0,
                        help="slots of the distinct scenario (0: one per applicant)")
    parser.add_argument("--small-capacity", type=int, default=0,
                        help="seats of the slot that fills (0: half of what the contended run booked)")
    parser.add_argument("--setup-threads", type=int, default=8, help="threads moving applications to theory_exam")
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of one booking")
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    args = parser.parse_args()
    if args.applications < 30 or args.applications > 90000:
        parser.error("--applications: from 30 to 90000 (a slot's seats are a smallint)")
    if args.connections < args.wrk_threads:
        parser.error("--connections must be at least --wrk-threads")
    return args


# ---------------------------------------------------------------------------------------------------------------
# Data, through the ORM and the project's services


def iins(count: int) -> list[str]:
    from applications.iin import iin_check_digit

    rng = random.Random(20261201)
    found: dict[str, None] = {}
    while len(found) < count:
        body = f"{rng.randint(60, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}3{rng.randint(0, 9999):04d}"
        check = iin_check_digit(body)
        if check is not None:
            found[body + str(check)] = None
    return list(found)


def applications_at_theory_exam(count: int, organisation, pickup_code: str, threads: int) -> list[str]:
    """Applications as the workflow leaves them at `theory_exam`: created with their history, consent and passed
    checks in bulk (as start_application and the check pipeline leave them), then moved one by one by the kernel."""
    from django.db import connection
    from django.utils import timezone

    from applications.models import ALGORITHM_ORDER, Application, Check, Consent, Registry, StatusChange
    from applications.services import submit_application
    from applications.services.checks import applicable_registries
    from applications.workflow import move_application

    now = timezone.now()
    applications = Application.objects.bulk_create(
        Application(service="first_issue", channel="bank", iin=iin, categories=["B"], organisation=organisation)
        for iin in iins(count))
    StatusChange.objects.bulk_create(
        StatusChange(application=application, from_status="", to_status=application.status, at=now,
                     actor_kind=StatusChange.ActorKind.CHANNEL, actor_organisation=organisation)
        for application in applications)
    Consent.objects.bulk_create(Consent(application=application, channel="bank", state=Consent.State.GRANTED,
                                        granted_at=now) for application in applications)
    registries = applicable_registries(service="first_issue", replacement_reason=None)
    facts = {Registry.EXAM_ATTEMPTS: {"theory": 0, "practical": 0, "last_failed_on": None}}
    Check.objects.bulk_create(
        Check(application=application, registry=registry, position=ALGORITHM_ORDER.index(registry),
              outcome=Check.Outcome.PASSED, facts=facts.get(registry, {}), attempts=1, checked_at=now)
        for application in applications for registry in registries)

    def move(chunk: list) -> None:
        try:
            for index, application in chunk:
                for transition in ("record_consent", "mark_eligible"):
                    move_application(application_id=application.pk, transition=transition)
                submit_application(application=application, phone=f"+7708{index:07d}",
                                   language=("kk", "ru")[index % 2], pickup_tson=pickup_code, actor=None)
        finally:
            connection.close()

    numbered = list(enumerate(applications))
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(move, [numbered[start::threads] for start in range(threads)]))
    ids = [str(application.pk) for application in applications]
    moved = Application.objects.filter(pk__in=ids, status="theory_exam").count()
    if moved != count:
        sys.exit(f"only {moved} of {count} applications reached theory_exam")
    return ids


def slots(centre, count: int, capacity: int, starts_at) -> list[int]:
    """Theory slots for category B, written with the ORM (a capacity above the policy's 500 is a benchmark's)."""
    from applications.models import Category
    from exams.models import ExamSlot

    created = ExamSlot.objects.bulk_create(
        ExamSlot(centre=centre, kind="theory", starts_at=starts_at + datetime.timedelta(minutes=index % 600),
                 capacity=capacity) for index in range(count))
    category = Category.objects.get(code="B")
    ExamSlot.categories.through.objects.bulk_create(
        ExamSlot.categories.through(examslot_id=slot.pk, category_id=category.pk) for slot in created)
    return [slot.pk for slot in created]


def queries_of_one_booking(application_ids: list[str], slot_id: int, api_key: str, show: bool) -> int:
    """The SQL statements of one booking through the same view, in this process (Django's test client): the
    second of two, once the process has its API key and its caches, as a gunicorn worker's steady state."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    for application_id in application_ids:
        with CaptureQueriesContext(connection) as captured:
            response = client.post(f"/api/v1/applications/{application_id}/bookings", data={"slot": slot_id},
                                   content_type="application/json", HTTP_HOST="127.0.0.1",
                                   headers={"Authorization": f"Api-Key {api_key}",
                                            "Idempotency-Key": f"bench-one-{application_id}"})
        if response.status_code != 201:
            sys.exit(f"a booking through the test client answered {response.status_code}: {response.content[:500]}")
    if show:
        for query in captured.captured_queries:
            print(f"    {query['sql'][:220]}")
    return len(captured.captured_queries)


def check_no_double_booking() -> dict:
    """For every slot: booked == its bookings in status booked, booked <= capacity; every application: at most one
    active booking per kind (and, here, at most one booking at all: each books once)."""
    from django.db.models import Count, F, Q

    from exams.models import Booking, ExamSlot

    slots_checked = ExamSlot.objects.annotate(active=Count("bookings", filter=Q(bookings__status="booked")))
    mismatched = slots_checked.exclude(booked=F("active"))
    over = ExamSlot.objects.filter(booked__gt=F("capacity")).count()
    doubled = (Booking.objects.filter(status="booked").values("application_id", "kind").annotate(n=Count("pk"))
               .filter(n__gt=1).count())
    twice = Booking.objects.values("application_id").annotate(n=Count("pk")).filter(n__gt=1).count()
    return {"slots": ExamSlot.objects.count(), "mismatched": mismatched.count(),
            "examples": list(mismatched.values_list("pk", "booked", "active")[:5]), "over": over,
            "doubled": doubled, "twice": twice,
            "bookings": Booking.objects.filter(status="booked").count()}


# ---------------------------------------------------------------------------------------------------------------
# Load: pgbench (the floor) and wrk (the API)


def run_pgbench(database_url: str, workdir: Path, name: str, *, rows: int, capacity: int, connections: int,
                threads: int, seconds: int) -> dict:
    """The floor: one conditional single-row UPDATE per transaction, on a table of its own in the same database."""
    psql(database_url, "DROP TABLE IF EXISTS bench_slot; "
                       "CREATE TABLE bench_slot (id integer PRIMARY KEY, booked integer NOT NULL DEFAULT 0, "
                       "capacity integer NOT NULL, CHECK (booked <= capacity)); "
                       f"INSERT INTO bench_slot (id, capacity) SELECT g, {capacity} FROM generate_series(1, {rows}) g")
    psql(database_url, "VACUUM ANALYZE bench_slot")
    script = workdir / f"{name}.sql"
    script.write_text(f"\\set id random(1, {rows})\n"
                      "UPDATE bench_slot SET booked = booked + 1 WHERE id = :id AND booked < capacity;\n")
    url = urlparse(database_url)
    log_prefix = workdir / f"pgbench-{name}"
    command = [PGBENCH, "-n", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
               "-U", url.username or "root", "-c", str(connections), "-j", str(threads), "-T", str(seconds),
               "-M", "prepared", "-f", str(script), "-l", "--log-prefix", str(log_prefix), url.path.lstrip("/")]
    finished = subprocess.run(command, capture_output=True, text=True, cwd=workdir)
    if finished.returncode != 0:
        sys.exit(f"pgbench failed:\n{finished.stdout}\n{finished.stderr}")
    tps = float(re.search(r"tps = ([\d.]+)", finished.stdout).group(1))
    latencies = []
    for log in workdir.glob(f"{log_prefix.name}.*"):
        for line in log.read_text().splitlines():
            latencies.append(int(line.split()[2]) / 1000)  # microseconds -> ms
        log.unlink()
    booked, room = psql(database_url, "SELECT sum(booked), sum(capacity) FROM bench_slot").strip().split("|")
    return {"rate": tps, "p50": percentile(latencies, 0.50), "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99), "transactions": len(latencies), "booked": int(booked), "rows": rows,
            "capacity": int(room)}


def run_wrk(wrk: str, args, workdir: Path, name: str, items: list[tuple[str, int]], api_key: str,
            seconds: int) -> dict:
    """POST a booking per request, an application never used before each time, for `seconds` or until none is
    left (the Lua script leaves a marker: wrk is then stopped with SIGINT and reports the time actually run)."""
    items_file, script, marker = workdir / f"{name}.items", workdir / "booking.lua", workdir / f"{name}.done"
    items_file.write_text("".join(f"{application} {slot}\n" for application, slot in items))
    script.write_text(WRK_SCRIPT)
    marker.unlink(missing_ok=True)
    command = [wrk, "-t", str(args.wrk_threads), "-c", str(args.connections), "-d", f"{seconds}s",
               "--timeout", "30s", "-s", str(script), f"http://127.0.0.1:{args.port}", "--",
               f"items={items_file}", f"threads={args.wrk_threads}", f"key={api_key}", f"marker={marker}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ran_out = False
    while process.poll() is None:
        if not ran_out and marker.exists():
            ran_out = True
            process.send_signal(signal.SIGINT)
        time.sleep(0.02)
    stdout, stderr = process.communicate()
    line = next((line for line in stdout.splitlines() if line.startswith("BENCH-RESULT ")), None)
    if line is None:
        sys.exit(f"wrk gave no result:\n{stdout}\n{stderr}")
    result = json.loads(line.removeprefix("BENCH-RESULT "))
    seconds_run = result["duration_us"] / 1e6
    return {"rate": result["requests"] / seconds_run, "seconds": seconds_run, "requests": result["requests"],
            "p50": result["p50_us"] / 1000, "p95": result["p95_us"] / 1000, "p99": result["p99_us"] / 1000,
            "max": result["max_us"] / 1000, "codes": dict(sorted(result["codes"].items())), "ran_out": ran_out,
            "socket_errors": {key: result[key] for key in ("connect", "read", "write", "timeout") if result[key]}}


# ---------------------------------------------------------------------------------------------------------------


def main():
    args = parse_args()
    wrk = ensure_wrk()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not database_url.startswith("postgres"):
        sys.exit("bench/booking.py runs on PostgreSQL: set DATABASE_URL=postgres://...")
    if "bench" not in urlparse(database_url).path:
        sys.exit("bench/booking.py drops the database it is given: name one with 'bench' in it")
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    workdir = Path(tempfile.mkdtemp(prefix="kualik-bench-booking-"))
    pool_size = max(4, args.threads + 2)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.development", "DEBUG": "0", "SANDBOX_MODE": "1",
           "DATABASE_URL": database_url, "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url,
           "CACHE_KEY_PREFIX": f"kualik-bench-booking-{os.getpid()}", "PUBLIC_BASE_URL": f"http://127.0.0.1:{args.port}",
           "DATABASE_POOL_MAX_SIZE": str(pool_size), "API_RATE_PER_CLIENT": "1000000/min", "LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    server = None

    def stop_server():
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import redis

    try:
        per_run = args.applications // 3
        print(f"preparing: database {database_url}, Redis {redis_url}, {3 * per_run} applications "
              f"({per_run} per scenario)", flush=True)
        recreate_database(database_url)
        subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                       check=True)
        redis.Redis.from_url(redis_url).flushdb()

        import django

        django.setup()
        from django.db import connection
        from django.utils import timezone

        from accounts.services import create_api_client
        from applications.models import Centre

        key_object, api_key = create_api_client(channel="bank", name="Bench Bank")
        pickup = Centre.objects.create(code="bench-tson", name="Bench TSON", city="Астана", offers_tson=True)
        centre = Centre.objects.create(code="bench-exams", name="Bench exam centre", city="Астана",
                                       offers_tson=False, offers_exams=True)
        warm_count = 4 * args.connections + 2
        started = time.monotonic()
        ids = applications_at_theory_exam(3 * per_run + warm_count, key_object.organisation, pickup.code,
                                          args.setup_threads)
        print(f"  {len(ids)} applications moved to theory_exam by the workflow in {time.monotonic() - started:.0f} s",
              flush=True)
        warm_ids, ids = ids[:warm_count], ids[warm_count:]
        distinct_ids, contended_ids, full_ids = ids[:per_run], ids[per_run:2 * per_run], ids[2 * per_run:]
        starts_at = timezone.now() + datetime.timedelta(days=2)
        distinct_count = args.distinct_slots or per_run
        distinct_slots = slots(centre, distinct_count, max(10, math.ceil(per_run / distinct_count)), starts_at)
        (warm_slot,) = slots(centre, 1, warm_count, starts_at)
        (contended_slot,) = slots(centre, 1, per_run, starts_at)
        one_query_count = queries_of_one_booking([warm_ids.pop(), warm_ids.pop()], warm_slot, api_key,
                                                 args.show_queries)
        connection.close()

        log = open(workdir / "server.log", "w")  # noqa: SIM115 - kept open for the server's lifetime
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{args.port}", "-k", "gthread", "--workers",
             str(args.workers), "--threads", str(args.threads), "--keep-alive", "30", "--backlog", "2048",
             "--log-level", "warning"], cwd=ROOT, env=env, stdout=log, stderr=log)
        wait_until_healthy(args.port)
        warm = run_wrk(wrk, args, workdir, "warm-up", [(a, warm_slot) for a in warm_ids], api_key, 60)
        print(f"  warm-up: {warm['requests']} bookings, answers {warm['codes']}", flush=True)

        def distinct():
            return (f"distinct slots ({distinct_count} slots, {per_run} applicants)",
                    [(a, distinct_slots[i % distinct_count]) for i, a in enumerate(distinct_ids)],
                    {"rows": distinct_count, "capacity": ROOMY})

        def contended():
            return (f"one slot, {per_run} seats for {per_run} applicants", [(a, contended_slot) for a in contended_ids],
                    {"rows": 1, "capacity": ROOMY})

        def full():
            # By default the slot holds half of what the contended run booked in its time: it fills mid-run.
            booked_before = results[-1][2]["codes"].get("201", 0)
            capacity = args.small_capacity or max(1, min(per_run // 2, booked_before // 2))
            (slot,) = slots(centre, 1, capacity, starts_at)
            full_slot.update(id=slot, capacity=capacity)
            return (f"one slot, {capacity} seats for {per_run} applicants", [(a, slot) for a in full_ids],
                    {"rows": 1, "capacity": capacity})

        one_row = run_one_row_write(wrk, args, workdir, api_key)
        print(f"  one-row DRF write (floor): {one_row['rate']:.1f} requests/s", flush=True)
        full_slot: dict = {}
        results = []
        for name, scenario in (("distinct", distinct), ("contended", contended), ("full", full)):
            title, items, table = scenario()
            floor = run_pgbench(database_url, workdir, name, connections=args.connections,
                                threads=args.wrk_threads, seconds=args.seconds, **table)
            http = run_wrk(wrk, args, workdir, name, items, api_key, args.seconds)
            check = check_no_double_booking()
            connection.close()
            results.append((name, title, http, floor, check))
            print(f"  {title}: {http['rate']:.1f} requests/s over {http['seconds']:.1f} s, answers {http['codes']}; "
                  f"pgbench {floor['rate']:.0f}/s", flush=True)
        stop_server()
        from exams.models import ExamSlot

        full_slot["booked"] = ExamSlot.objects.get(pk=full_slot["id"]).booked
        connection.close()
    finally:
        stop_server()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not have been set up
            pass
        if args.keep_database:
            print(f"database kept: {database_url}")
        else:
            drop_database(database_url)
        redis.Redis.from_url(redis_url).flushdb()
        if os.environ.get("BENCH_KEEP_LOGS"):
            print(f"server log: {workdir / 'server.log'}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print_report(args, results, one_query_count, full_slot, one_row)


def print_report(args, results, one_query_count: int, full_slot: dict, one_row: dict) -> None:
    print(f"\nkuälik booking benchmark: gunicorn {args.workers} x {args.threads} threads, wrk {args.connections} "
          f"connections, pgbench {args.connections} clients, {args.seconds} s each, PostgreSQL, "
          f"{os.cpu_count()} cores; {one_query_count} SQL statements per booking "
          f"(transaction control included)")
    ratios = []
    for name, title, http, floor, check in results:
        ratio = http["rate"] / floor["rate"]
        ratios.append(ratio)
        print(f"\n  {title}")
        print(f"    API      {http['rate']:8.1f} requests/s   p50 {http['p50']:6.1f} ms   p95 {http['p95']:6.1f} ms   "
              f"p99 {http['p99']:6.1f} ms   ({http['requests']} requests in {http['seconds']:.1f} s"
              f"{', applications ran out' if http['ran_out'] else ''})")
        answers = ", ".join(f"{count} x {code}" for code, count in http["codes"].items())
        print(f"             answers: {answers}"
              + (f"; socket errors {http['socket_errors']}" if http["socket_errors"] else ""))
        seats = f"{floor['booked']} seats taken" + (f" of {floor['capacity']}" if floor["capacity"] < ROOMY else "")
        print(f"    pgbench  {floor['rate']:8.1f} updates/s    p50 {floor['p50']:6.1f} ms   "
              f"p95 {floor['p95']:6.1f} ms   p99 {floor['p99']:6.1f} ms   ({floor['rows']} rows, {seats})")
        print(f"    API / pgbench = {ratio:5.1%}  (target >= 30 %: {'met' if ratio >= 0.3 else 'MISSED'})")
        verdict = "OK" if not (check["mismatched"] or check["over"] or check["doubled"] or check["twice"]) else "FAILED"
        print(f"    double bookings: {verdict} - {check['slots']} slots, {check['bookings']} active bookings; "
              f"slots whose booked != their active bookings: {check['mismatched']}"
              f"{' ' + str(check['examples']) if check['examples'] else ''}; slots past capacity: {check['over']}; "
              f"applications with two active bookings of a kind: {check['doubled']}; "
              f"applications booked twice: {check['twice']}")
        if name == "full":
            print(f"    the slot of {full_slot['capacity']} seats holds {full_slot['booked']} bookings")
    print(f"\n  median API / pgbench over the scenarios: {statistics.median(ratios):.1%}")
    distinct_floor = results[0][3]["rate"]
    print(f"\n  one-row DRF write (an authenticated, throttled POST that inserts one row; the floor under any write "
          f"through this stack)\n    {one_row['rate']:8.1f} requests/s   p50 {one_row['p50']:6.1f} ms   "
          f"p95 {one_row['p95']:6.1f} ms   p99 {one_row['p99']:6.1f} ms   = {one_row['rate'] / distinct_floor:5.1%} of "
          f"pgbench (distinct rows)")
    for name, _title, http, _floor, _check in results:
        print(f"    {name:10} bookings = {http['rate'] / one_row['rate']:5.1%} of the one-row write")


if __name__ == "__main__":
    main()

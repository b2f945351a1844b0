"""Benchmark: the performance dashboard (/staff/performance/) at 10,000 and at 1,000,000 applications in one run.

    DATABASE_URL=postgres://root@127.0.0.1:5432/kualik_bench_dashboard .venv/bin/python bench/dashboard.py

It creates (drops first) the database named in DATABASE_URL (its name must contain "bench") and drops it at the end.
As bench/review_queue.py does, the two sizes live side by side in two schemas (`small`, `large`), each migrated with
`migrate`, and their requests are interleaved, so a burst of someone else's load on a shared machine slows both.

The applications are written with SQL (generate_series), in chunks, with what the dashboard reads: each one's
status history (the path its service takes, cut where it stands now: most issued, some refused at the checks or at
the review, some cancelled, the rest on their way; the minutes between steps drawn per application) and, past
consent, its seven registry checks (latency 50-500 ms, 3 % needing a second request). Services 70 % first issue,
25 % replacement, 5 % foreign exchange; created over the last 1,000 days, so the default 30 days hold about 3 % of
them (about 300 and 30,000). Foreign keys' triggers are off while the rows are written (consistent by
construction); then VACUUM ANALYZE, as autovacuum would have done.

Then the dashboard's rollup (performance/rollup.py), as a deployment would build it: `roll_up(full=True)`, timed at
each size (and VACUUM ANALYZE again); and at the large size an incremental roll after 1,000 applications of the last
30 days each gained a status change (what the beat task does every minute), timed.

Every request goes through Django's test Client in-process (middleware, session, view, the real PostgreSQL), timed
one by one: the dashboard as a supervisor with its default filters (the last 30 days), with service=replacement,
with channel=bank, with 90 days, one CSV (step-times), a range that holds about the same number of applications at
both sizes (SAME_SIZE_RANGE: 300 days at 10,000, 3 days at 1,000,000; the honest test of "stays fast": the same
cohort in a table 100 times larger), and the floor: the staff home page (/staff/), the same
middleware and session with two small queries. Printed: p50 and p95 of each at each size, the ratio of the large p95
to the small p95, the number of SQL statements of one dashboard request, and at the large size the time each table
takes alone.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [str(ROOT)] + [entry for entry in sys.path if Path(entry or ".").resolve() != HERE] + [str(HERE)]

from checks import percentile, recreate_database  # noqa: E402
from review_queue import drop_database, migrate_schema, use  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://root@127.0.0.1:5432/kualik_bench_dashboard"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
SCHEMAS = ("small", "large")
CENTRES = 20
DAYS = 1000
SAME_SIZE_RANGE = 3000  # applications in the range of the "same-size range" request, at either size
TOUCHED = 1000  # applications moved before the timed incremental roll

FIRST_ISSUE_PATH = ("consent_pending", "checks_running", "eligible", "theory_exam", "practical_exam", "formalization",
                    "under_review", "approved", "printed", "issued")
OTHER_PATH = ("consent_pending", "checks_running", "eligible", "formalization", "under_review", "approved", "printed",
              "issued")
REGISTRIES = ("person", "licence_registry", "erap", "medical", "erdb", "driving_school", "exam_attempts")


def _array(values) -> str:
    return "ARRAY[" + ", ".join(f"'{value}'" for value in values) + "]"


# One chunk: ids i in [start, stop). `path` is the statuses the application went through, the last its status now.
GENERATE_SQL = [
    f"""
    CREATE TEMP TABLE gen ON COMMIT DROP AS
    WITH drawn AS (
        SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6
        FROM generate_series(%(start)s::bigint, %(stop)s::bigint - 1) AS i
    ), shaped AS (
        SELECT *,
            CASE WHEN r2 < 0.70 THEN 'first_issue' WHEN r2 < 0.95 THEN 'replacement' ELSE 'foreign_exchange' END
                AS service
        FROM drawn
    ), pathed AS (
        SELECT *, CASE WHEN service = 'first_issue' THEN {_array(FIRST_ISSUE_PATH)} ELSE {_array(OTHER_PATH)} END
            AS full_path
        FROM shaped
    )
    SELECT i, gen_random_uuid() AS id, service,
        CASE WHEN service = 'foreign_exchange' THEN 'tson_branch'
             WHEN r3 < 0.35 THEN 'portal' WHEN r3 < 0.45 THEN 'egov_portal' WHEN r3 < 0.65 THEN 'egov_mobile'
             WHEN r3 < 0.75 THEN 'tson_mobile' WHEN r3 < 0.90 THEN 'bank' ELSE 'driving_school' END AS channel,
        CASE WHEN r1 < 0.08 THEN ARRAY['consent_pending', 'checks_running', 'refused']
             WHEN r1 < 0.11 THEN ARRAY['consent_pending', 'checks_running', 'eligible', 'cancelled']
             WHEN r1 < 0.13 THEN full_path[1:array_length(full_path, 1) - 3] || ARRAY['refused']
             WHEN r1 < 0.60 THEN full_path
             ELSE full_path[1:1 + floor(r4 * (array_length(full_path, 1) - 1))::int]
        END AS path,
        now() - r5 * interval '{DAYS} days' AS created_at,
        0.05 + 2 * r6 AS pace
    FROM pathed
    """,
    """
    INSERT INTO applications_application (
        id, number, service, channel, status, iin, categories, replacement_reason, foreign_licence, phone, email,
        language, submitted_at, refusal_code, refusal_comment, decided_at, fee_paid_at, photo_source,
        photo_captured_at, created_at, updated_at, citizen_id, created_by_id, organisation_id, pickup_tson_id,
        notify_language, officer_reason_code, under_review_since)
    SELECT id,
        CASE WHEN submitted THEN 'DB-' || i END,
        service, channel, status, (100000000000 + i)::text, '["B"]'::jsonb,
        CASE WHEN service = 'replacement' THEN 'loss' END, NULL, '', '', '', NULL,
        CASE WHEN status <> 'refused' THEN '' WHEN reviewed THEN 'officer_refused' ELSE 'licence_exists' END,
        '', NULL, NULL,
        CASE WHEN reviewed THEN 'tson' ELSE '' END,
        CASE WHEN reviewed THEN created_at + interval '1 day' END,
        created_at, created_at, NULL, NULL, NULL,
        CASE WHEN submitted THEN (%(centres)s::bigint[])[1 + (i %% %(centre_count)s)::int] END,
        'kk',
        CASE WHEN status = 'refused' AND reviewed THEN 'photo_unsuitable' ELSE '' END,
        NULL
    FROM (SELECT *, path[array_length(path, 1)] AS status,
                 array_position(path, 'under_review') IS NOT NULL AS reviewed,
                 array_position(path, 'formalization') IS NOT NULL
                 OR path[array_length(path, 1)] IN ('theory_exam', 'practical_exam') AS submitted
          FROM gen) g
    """,
    """
    INSERT INTO applications_statuschange (from_status, to_status, at, actor_kind, actor_organisation_id,
                                           actor_user_id, application_id)
    SELECT coalesce(path[n - 1], ''), to_status,
           created_at + make_interval(secs => ((n - 1) * (n - 1) * 420 * pace + random() * 30)::int),
           'system', NULL, NULL, id
    FROM gen, unnest(path) WITH ORDINALITY AS s(to_status, n)
    """,
    f"""
    INSERT INTO applications_check (registry, position, outcome, code, error_reason, facts, latency_ms, attempts,
                                    checked_at, application_id)
    SELECT registry, position - 1, 'passed', '', '', '{{}}'::jsonb, (50 + random() * 450)::int,
           CASE WHEN random() < 0.03 THEN 2 ELSE 1 END, created_at + interval '2 minutes', id
    FROM gen, unnest({_array(REGISTRIES)}) WITH ORDINALITY AS r(registry, position)
    WHERE array_length(path, 1) >= 2
    """,
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000, help="applications at the first size")
    parser.add_argument("--large", type=int, default=1_000_000, help="applications at the second size")
    parser.add_argument("--chunk", type=int, default=100_000, help="applications written per transaction")
    parser.add_argument("--requests", type=int, default=20, help="timed requests of each kind at each size")
    parser.add_argument("--warm-up", type=int, default=3, help="untimed requests of each kind first")
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    args = parser.parse_args()
    if not 1000 <= args.small < args.large <= 5_000_000:
        parser.error("--small and --large: 1000 <= small < large <= 5,000,000")
    return args


def set_up(schema: str) -> dict:
    """The centres and a supervisor, in the schema, created alike in both."""
    from accounts.models import Role, User
    from applications.models import Centre

    use(schema)
    centres = [Centre.objects.create(code=f"bench-tson-{n:02d}", name=f"Bench TSON {n}", city="Астана",
                                     offers_tson=True, offers_exams=True) for n in range(1, CENTRES + 1)]
    supervisor = User.objects.create_user(username="bench-supervisor", password="bench-supervisor-password-1",
                                          role=Role.SUPERVISOR)
    return {"schema": schema, "centres": [centre.pk for centre in centres], "supervisor": supervisor}


def generate(people: dict, count: int, chunk: int) -> float:
    from django.db import connection, transaction

    began = time.monotonic()
    use(people["schema"])
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET session_replication_role = replica")
    try:
        for low in range(0, count, chunk):
            high = min(count, low + chunk)
            with transaction.atomic(), connection.cursor() as cursor:
                for statement in GENERATE_SQL:
                    cursor.execute(statement, {"start": low, "stop": high, "centres": people["centres"],
                                               "centre_count": len(people["centres"])})
            if count > chunk:
                print(f"    {high:>9,} written ({time.monotonic() - began:.0f} s)", flush=True)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = on")
        cursor.execute("VACUUM ANALYZE")
    return time.monotonic() - began


def census(schema: str) -> dict:
    from django.db import connection

    use(schema)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE created_at >= now() - interval '30 days') "
                       "FROM applications_application")
        total, recent = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM applications_statuschange")
        (history,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM applications_check")
        (checks,) = cursor.fetchone()
    return {"total": total, "recent": recent, "history": history, "checks": checks}


KINDS = [
    ("dashboard, last 30 days", "/staff/performance/", {}),
    ("dashboard, service=replacement", "/staff/performance/", {"service": "replacement"}),
    ("dashboard, channel=bank", "/staff/performance/", {"channel": "bank"}),
    ("dashboard, 90 days", "/staff/performance/", "days90"),
    ("CSV step-times, last 30 days", "/staff/performance/step-times.csv", {}),
    (f"dashboard, ~{SAME_SIZE_RANGE:,} in range", "/staff/performance/", "same_size"),
    ("floor: GET /staff/", "/staff/", {}),
]


def kinds(people: dict, size: int) -> list[tuple[str, object]]:
    import datetime

    from django.test import Client
    from django.utils import timezone

    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    use(people["schema"])
    client.force_login(people["supervisor"])
    today = timezone.localdate()
    days90 = {"date_from": (today - datetime.timedelta(days=89)).isoformat(), "date_to": today.isoformat()}
    same_days = same_size_days(size)
    same_size = {"date_from": (today - datetime.timedelta(days=same_days - 1)).isoformat(),
                 "date_to": today.isoformat()}
    named = {"days90": days90, "same_size": same_size}

    def request(path, query):
        def do():
            response = client.get(path, named.get(query, query) if isinstance(query, str) else query)
            assert response.status_code == 200, (response.status_code, response.content[:300])
        return do

    return [(label, request(path, query)) for label, path, query in KINDS]


def same_size_days(size: int) -> int:
    """Days that hold about SAME_SIZE_RANGE applications at this size (the form allows 366 at most)."""
    return min(366, max(1, round(SAME_SIZE_RANGE * DAYS / size)))


def measure(everyone: list[dict], sizes: dict, requests: int, warm_up: int) -> dict:
    todo = {people["schema"]: kinds(people, sizes[people["schema"]]) for people in everyone}
    for schema, doings in todo.items():
        use(schema)
        for _label, do in doings:
            for _ in range(warm_up):
                do()
    timings = {schema: {label: [] for label, _do in doings} for schema, doings in todo.items()}
    order = list(todo)
    for round_number in range(requests):
        for index in range(len(KINDS)):
            for schema in order if round_number % 2 == 0 else reversed(order):
                label, do = todo[schema][index]
                use(schema)
                began = time.perf_counter()
                do()
                timings[schema][label].append((time.perf_counter() - began) * 1000)
    return timings


def statement_count(people: dict, size: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _label, do = kinds(people, size)[0]
    use(people["schema"])
    with CaptureQueriesContext(connection) as queries:
        do()
    return len(queries)


def full_rollup(schema: str) -> float:
    """The rollup rebuilt from scratch, as at a deployment; then VACUUM ANALYZE, as autovacuum would."""
    from django.db import connection

    from performance import rollup

    use(schema)
    began = time.monotonic()
    rollup.roll_up(full=True)
    seconds = time.monotonic() - began
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE performance_stepfact")
        cursor.execute("VACUUM ANALYZE performance_checkfact")
    return seconds


def incremental_rollup(schema: str) -> tuple[int, float]:
    """TOUCHED applications of the last 30 days each gain a status change (a repeat of their status, so the figures
    keep their shape), then one incremental roll, timed; returns (applications rewritten, seconds)."""
    from django.db import connection

    from performance import rollup

    use(schema)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO applications_statuschange (from_status, to_status, at, actor_kind, application_id) "
            "SELECT status, status, now(), 'system', id FROM applications_application "
            "WHERE created_at >= now() - interval '30 days' ORDER BY created_at LIMIT %s", [TOUCHED])
    began = time.monotonic()
    rewritten = rollup.roll_up()
    return rewritten, time.monotonic() - began


def table_times(people: dict, runs: int = 5) -> dict:
    """Milliseconds each table of the dashboard takes alone (its queries and its rows), the median of `runs`."""
    import statistics

    from performance import tables
    from performance.forms import DashboardFilterForm

    use(people["schema"])
    filters = DashboardFilterForm().filters()
    times = {}
    for key, build in tables.TABLES.items():
        samples = []
        for _ in range(runs):
            began = time.perf_counter()
            build(filters)
            samples.append((time.perf_counter() - began) * 1000)
        times[key] = statistics.median(samples)
    return times


def main():
    args = parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not database_url.startswith("postgres"):
        sys.exit("bench/dashboard.py runs on PostgreSQL: set DATABASE_URL=postgres://...")
    if "bench" not in urlparse(database_url).path:
        sys.exit("bench/dashboard.py drops the database it is given: name one with 'bench' in it")
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    workdir = Path(tempfile.mkdtemp(prefix="kualik-bench-dashboard-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.development", "DEBUG": "0", "SANDBOX_MODE": "1",
           "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "CACHE_KEY_PREFIX": f"kualik-bench-dashboard-{os.getpid()}",
           "CELERY_BROKER_URL": "filesystem://localhost/", "CELERY_BROKER_FOLDER": str(workdir / "broker"),
           "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "DATABASE_POOL_MAX_SIZE": "0", "CONN_MAX_AGE": "600",
           "LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    sizes = dict(zip(SCHEMAS, (args.small, args.large), strict=True))
    results = {}
    try:
        print(f"preparing: database {database_url} (schemas {', '.join(SCHEMAS)})", flush=True)
        recreate_database(database_url)
        for schema in SCHEMAS:
            migrate_schema(database_url, env, schema)

        import django

        django.setup()
        everyone = [set_up(schema) for schema in SCHEMAS]
        for people in everyone:
            schema = people["schema"]
            print(f"  {schema}: writing {sizes[schema]:,} applications with SQL", flush=True)
            seconds = generate(people, sizes[schema], args.chunk)
            shape = census(schema)
            results[schema] = {"shape": shape}
            print(f"  {schema}: {shape['total']:,} applications ({shape['recent']:,} in the last 30 days), "
                  f"{shape['history']:,} status changes, {shape['checks']:,} checks; written in {seconds:.0f} s",
                  flush=True)
            results[schema]["full_rollup"] = full_rollup(schema)
            print(f"  {schema}: rollup rebuilt from scratch in {results[schema]['full_rollup']:.1f} s "
                  f"(load {load()})", flush=True)
        rewritten, seconds = incremental_rollup(SCHEMAS[-1])
        results["incremental"] = (rewritten, seconds)
        print(f"  {SCHEMAS[-1]}: incremental roll after {TOUCHED:,} applications moved: {rewritten:,} rewritten in "
              f"{seconds:.2f} s (load {load()})", flush=True)
        print(f"  measuring: {args.warm_up} untimed and {args.requests} timed requests of each kind at each size",
              flush=True)
        load_before = load()
        timings = measure(everyone, sizes, args.requests, args.warm_up)
        results["load"] = (load_before, load())
        for people in everyone:
            results[people["schema"]]["timings"] = timings[people["schema"]]
            results[people["schema"]]["statements"] = statement_count(people, sizes[people["schema"]])
        large_tables = table_times(everyone[-1])
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not have been set up
            pass
        if args.keep_database:
            print(f"database kept: {database_url}")
        else:
            drop_database(database_url)

    print()
    print(f"load average (1, 5, 15 min) before measuring: {results['load'][0]}; after: {results['load'][1]}")
    print(f"{'request':<34}" + "".join(f"{f'{sizes[s]:,}: p50 / p95 ms':>26}" for s in SCHEMAS) + f"{'p95 ratio':>11}")
    for label, _path, _query in KINDS:
        cells, p95s = "", []
        for schema in SCHEMAS:
            values = results[schema]["timings"][label]
            p95s.append(percentile(values, 0.95))
            cells += f"{f'{percentile(values, 0.5):.1f} / {p95s[-1]:.1f}':>26}"
        print(f"{label:<34}{cells}{p95s[1] / p95s[0]:>11.2f}")
    floor = {s: percentile(results[s]["timings"][KINDS[-1][0]], 0.95) for s in SCHEMAS}
    same = {s: percentile(results[s]["timings"][f"dashboard, ~{SAME_SIZE_RANGE:,} in range"], 0.95) for s in SCHEMAS}
    thirty = {s: percentile(results[s]["timings"]["dashboard, last 30 days"], 0.95) for s in SCHEMAS}
    print()
    print(f"same-size range (~{SAME_SIZE_RANGE:,} applications: {same_size_days(sizes['small'])} days at "
          f"{sizes['small']:,}, {same_size_days(sizes['large'])} at {sizes['large']:,}), "
          f"table {sizes['large'] // sizes['small']}x larger: "
          f"p95 {same['small']:.1f} -> {same['large']:.1f} ms, ratio {same['large'] / same['small']:.2f}")
    recent = results["large"]["shape"]["recent"] / max(1, results["small"]["shape"]["recent"])
    print(f"last 30 days (the range itself holds {recent:.0f}x "
          f"more applications): p95 ratio {thirty['large'] / thirty['small']:.2f}; p95 above the floor: "
          f"{thirty['small'] - floor['small']:.1f} -> {thirty['large'] - floor['large']:.1f} ms")
    print("rollup: full rebuild " + ", ".join(f"{sizes[s]:,}: {results[s]['full_rollup']:.1f} s" for s in SCHEMAS)
          + f"; incremental at {sizes['large']:,} after {TOUCHED:,} moved: {results['incremental'][0]:,} rewritten "
          f"in {results['incremental'][1]:.2f} s")
    print()
    print("SQL statements per dashboard request: " + ", ".join(
        f"{sizes[s]:,}: {results[s]['statements']}" for s in SCHEMAS))
    print(f"at {sizes['large']:,}, each table alone (median of 5, ms): " + ", ".join(
        f"{key} {ms:.1f}" for key, ms in large_tables.items()))


def load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()

"""Benchmark: the police review queue's first page and a lookup by number, at 10,000 and at 1,000,000 applications.

    DATABASE_URL=postgres://root@127.0.0.1:5432/kualik_bench_queue .venv/bin/python bench/review_queue.py

It creates (drops first) the database named in DATABASE_URL (its name must contain "bench") and drops it at the end.
The two sizes live side by side in it, in two schemas (`small`, `large`), each migrated with `migrate`, so that
their requests can be interleaved: on a shared machine, a burst of someone else's load then slows both alike.

The applications are written with SQL (INSERT ... SELECT FROM generate_series) straight into
applications_application, in chunks: --small rows in one schema, --large in the other. Their shape is that of a
live system: services (70 % first issue, 25 % replacement, 5 % foreign exchange), channels, 20 pickup TSONs,
statuses (2 % under_review, waiting since up to 60 days; most issued, some refused or cancelled, the rest on their
way), unique numbers DL-YYYY-NNNNNN once submitted, unique IINs. Each application under review also has what its
page shows: its consent, its 8 checks, its 7 status changes and, with exams, its two passed bookings (the other
applications have only their own row). While they are written, the foreign keys' triggers are off (the rows are
consistent by construction) and the table's indexes that no constraint owns are built after the rows, as migrate
defined them; then VACUUM ANALYZE, as autovacuum would have done on a live system.

Every request goes through Django's test Client in-process (the whole middleware, authentication, throttle and
view, against the real PostgreSQL, no network), timed one by one; the kinds and the two sizes are interleaved (the
connection's search_path is switched between requests, outside the timing):
- `GET /api/v1/review-queue` as a police officer (token): no filter, then each filter (service, channel, centre,
  min_days_waiting). The page is 50 Applications in full, with `count`, and writes 50 access-log rows, as it does;
- the lookup by number: `GET /staff/desk/?q=DL-...` as a TSON operator (the desk's find page; the API has no number
  filter), a random existing number each time; and the ORM query that page runs, timed alone;
- the floor: `GET /sandbox/bare` (the same middleware, a constant answer), in the same run.
Printed: p50 and p95 of each at each size, the ratio of the large p95 to the small p95 (target: under 1.5), the SQL
statements of one request of each kind, and the plan (EXPLAIN ANALYZE) of each queue query at the large size with
the index it uses.
"""

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

# This file's name is the standard library's `queue` (which concurrent.futures, Celery and redis import): its folder,
# which Python puts first on the path of a script, goes last, so that `import queue` finds the standard one.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [str(ROOT)] + [entry for entry in sys.path if Path(entry or ".").resolve() != HERE] + [str(HERE)]

from checks import BIN, percentile, recreate_database  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://root@127.0.0.1:5432/kualik_bench_queue"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
CENTRES = 20
# The pickup TSONs: the first (a big city's) takes 30 % of the applications, the 19 others share the rest.
QUEUE_CENTRE = "bench-tson-01"
SMALL_CENTRE = "bench-tson-07"
TARGET = 1.5

# The review queue's requests: (label, query string). Each filter keeps more than a page (50) at 10,000
# applications too, so that both sizes answer full pages.
QUEUE_KINDS = [
    ("queue, no filter", {}),
    ("queue, service=first_issue", {"service": "first_issue"}),
    ("queue, channel=portal", {"channel": "portal"}),
    (f"queue, centre={QUEUE_CENTRE}", {"centre": QUEUE_CENTRE}),
    ("queue, min_days_waiting=30", {"min_days_waiting": "30"}),
]
# Only explained, not timed: a centre with a small share of the queue (its page is not full at 10,000).
PLAN_ONLY_KINDS = [(f"queue, centre={SMALL_CENTRE} (a small centre)", {"centre": SMALL_CENTRE})]

# One statement writes a chunk of applications: ids i in [start, stop). Every column that Django does not default
# in the database is written. r1..r4: independent uniform draws per row.
GENERATE_SQL = """
WITH drawn AS (
    SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4
    FROM generate_series(%(start)s::bigint, %(stop)s::bigint - 1) AS i
), shaped AS (
    SELECT i, r2, r3, r4,
        CASE
            WHEN r1 < 0.02 THEN 'under_review'
            WHEN r1 < 0.57 THEN 'issued'
            WHEN r1 < 0.69 THEN 'refused'
            WHEN r1 < 0.75 THEN 'cancelled'
            WHEN r1 < 0.76 THEN 'approved'
            WHEN r1 < 0.78 THEN 'printed'
            WHEN r1 < 0.82 THEN 'formalization'
            WHEN r1 < 0.88 THEN 'theory_exam'
            WHEN r1 < 0.92 THEN 'practical_exam'
            WHEN r1 < 0.94 THEN 'eligible'
            WHEN r1 < 0.95 THEN 'checks_running'
            ELSE 'consent_pending'
        END AS status,
        CASE WHEN r2 < 0.70 THEN 'first_issue' WHEN r2 < 0.95 THEN 'replacement' ELSE 'foreign_exchange' END
            AS service
    FROM drawn
), timed AS (
    SELECT *,
        CASE WHEN status = 'under_review' THEN now() - r4 * interval '60 days' END AS under_review_since,
        CASE WHEN status = 'under_review' THEN now() - r4 * interval '60 days' - interval '20 days'
             ELSE now() - r4 * interval '1800 days' END AS created_at,
        status NOT IN ('consent_pending', 'checks_running', 'eligible') AS submitted
    FROM shaped
)
INSERT INTO applications_application (
    id, number, service, channel, status, iin, categories, replacement_reason, foreign_licence, phone, email,
    language, submitted_at, refusal_code, refusal_comment, decided_at, fee_paid_at, photo_source, photo_captured_at,
    created_at, updated_at, citizen_id, created_by_id, organisation_id, pickup_tson_id, notify_language,
    officer_reason_code, under_review_since)
SELECT
    gen_random_uuid(),
    CASE WHEN submitted THEN 'DL-' || (2021 + i %% 6) || '-' || lpad((i / 6 + 1)::text, 6, '0') END,
    service,
    CASE WHEN service = 'foreign_exchange' THEN 'tson_branch'
         WHEN r3 < 0.35 THEN 'portal' WHEN r3 < 0.45 THEN 'egov_portal' WHEN r3 < 0.65 THEN 'egov_mobile'
         WHEN r3 < 0.75 THEN 'tson_mobile' WHEN r3 < 0.90 THEN 'bank' ELSE 'driving_school' END,
    status,
    (100000000000 + i)::text,
    CASE WHEN r3 < 0.8 THEN '["B"]' ELSE '["A", "B"]' END::jsonb,
    CASE WHEN service = 'replacement' THEN CASE WHEN r3 < 0.6 THEN 'expiry' ELSE 'loss' END END,
    CASE WHEN service = 'foreign_exchange'
         THEN '{"country": "RU", "number": "77 00 123456", "categories": ["B"], "valid_until": "2030-01-01"}'::jsonb
    END,
    CASE WHEN submitted THEN '+7701' || lpad((i %% 10000000)::text, 7, '0') ELSE '' END,
    '',
    CASE WHEN submitted AND service <> 'replacement' THEN CASE WHEN r4 < 0.6 THEN 'kk' ELSE 'ru' END ELSE '' END,
    CASE WHEN submitted THEN created_at + interval '2 days' END,
    CASE WHEN status = 'refused' THEN 'medical_certificate_missing' ELSE '' END,
    '',
    CASE WHEN status IN ('refused', 'approved', 'printed', 'issued') THEN created_at + interval '40 days' END,
    CASE WHEN status IN ('under_review', 'approved', 'printed', 'issued') THEN created_at + interval '19 days' END,
    CASE WHEN status IN ('under_review', 'approved', 'printed', 'issued') THEN 'tson' ELSE '' END,
    CASE WHEN status IN ('under_review', 'approved', 'printed', 'issued') THEN created_at + interval '20 days' END,
    created_at,
    coalesce(under_review_since, created_at + interval '1 day'),
    NULL, NULL,
    CASE WHEN service <> 'foreign_exchange' AND r3 >= 0.75 AND r3 < 0.90 THEN %(bank)s::bigint END,
    CASE WHEN submitted THEN (%(centres)s::bigint[])[
        (CASE WHEN i %% 10 < 3 THEN 1 ELSE 2 + i %% (%(centre_count)s - 1) END)::int] END,
    CASE WHEN r4 < 0.6 THEN 'kk' ELSE 'ru' END,
    '',
    under_review_since
FROM timed
"""

# What the page of an application under review shows, for those of the chunk (they have no consent row yet).
RELATED_SQL = [
    """
    CREATE TEMP TABLE fresh ON COMMIT DROP AS
    SELECT a.id, a.service, a.channel, a.created_at, a.under_review_since FROM applications_application a
    WHERE a.status = 'under_review'
      AND NOT EXISTS (SELECT 1 FROM applications_consent c WHERE c.application_id = a.id)
    """,
    """
    INSERT INTO applications_consent (state, request_id, channel, purpose, registries, requested_at, code_sent_at,
                                      resends, granted_at, declined_at, withdrawn_at, application_id, asked_at)
    SELECT 'granted', gen_random_uuid()::text, channel, service, '["person", "licence_registry", "erap"]'::jsonb,
           created_at, created_at, 0, created_at + interval '1 minute', NULL, NULL, id, created_at
    FROM fresh
    """,
    """
    INSERT INTO applications_check (registry, position, outcome, code, error_reason, facts, latency_ms, attempts,
                                    checked_at, application_id)
    SELECT registry, position - 1, 'passed', '', '', '{}'::jsonb, 180, 1,
           created_at + interval '2 minutes', id
    FROM fresh, unnest(ARRAY['consent', 'person', 'licence_registry', 'erap', 'medical', 'erdb', 'driving_school',
                             'exam_attempts']) WITH ORDINALITY AS r(registry, position)
    """,
    """
    INSERT INTO applications_statuschange (from_status, to_status, at, actor_kind, actor_organisation_id,
                                           actor_user_id, application_id)
    SELECT from_status, to_status, created_at + (position || ' days')::interval, 'system', NULL, NULL, id
    FROM fresh, unnest(ARRAY['', 'consent_pending', 'checks_running', 'eligible', 'theory_exam', 'practical_exam',
                             'formalization'],
                       ARRAY['consent_pending', 'checks_running', 'eligible', 'theory_exam', 'practical_exam',
                             'formalization', 'under_review']) WITH ORDINALITY AS s(from_status, to_status, position)
    """,
    """
    INSERT INTO exams_booking (kind, status, booked_at, cancelled_at, result_at, score, no_show, sheet, reminded_at,
                               reported_at, application_id, recorded_by_id, slot_id)
    SELECT kind, 'passed', created_at + interval '3 days', NULL, created_at + (days || ' days')::interval, score,
           false, NULL, NULL, created_at + (days || ' days')::interval, id, NULL,
           (%(slots)s::bigint[])[(1 + abs(hashtext(id::text || kind)::bigint) %% %(slot_count)s)::int]
    FROM fresh, (VALUES ('theory', 8, 36), ('practical', 14, 2)) AS e(kind, days, score)
    WHERE service <> 'replacement'
    """,
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000, help="applications at the first size")
    parser.add_argument("--large", type=int, default=1_000_000, help="applications at the second size")
    parser.add_argument("--chunk", type=int, default=250_000, help="applications written per statement")
    parser.add_argument("--requests", type=int, default=100, help="timed requests of each kind at each size")
    parser.add_argument("--warm-up", type=int, default=10, help="untimed requests of each kind first")
    parser.add_argument("--sql-sample", type=int, default=20,
                        help="requests of each kind at each size whose SQL time is summed (apart from the timing)")
    parser.add_argument("--keep-database", action="store_true", help="leave the database for inspection")
    args = parser.parse_args()
    if not 1000 <= args.small < args.large <= 5_000_000:
        parser.error("--small and --large: 1000 <= small < large <= 5,000,000")
    return args


SCHEMAS = ("small", "large")
# The officer's API token, the same in both schemas (each has its own users, created alike).
OFFICER_TOKEN = "bench0queue0officer0token0000000000000000"[:40]


def psql(database_url: str, sql: str) -> None:
    url = urlparse(database_url)
    subprocess.run(["psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U",
                    url.username or "root", "-d", "postgres", "-qc", sql], check=True)


def drop_database(database_url: str) -> None:
    psql(database_url, f'DROP DATABASE IF EXISTS "{urlparse(database_url).path.lstrip("/")}" WITH (FORCE)')


def migrate_schema(database_url: str, env: dict, schema: str) -> None:
    """`migrate` into its own schema: the connection's search_path names it (libpq's `options`)."""
    from urllib.parse import quote

    url = urlparse(database_url)
    psql_in = ["psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U",
               url.username or "root", "-d", url.path.lstrip("/"), "-qc", f"CREATE SCHEMA {schema}"]
    subprocess.run(psql_in, check=True)
    separator = "&" if url.query else "?"
    in_schema = f"{database_url}{separator}options={quote(f'-c search_path={schema}')}"
    subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                   env={**env, "DATABASE_URL": in_schema}, check=True)


def use(schema: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {schema}")


# ---------------------------------------------------------------------------------------------------------------
# Data


def set_up_people(schema: str) -> dict:
    """The centres, a bank, the past exam slots, a police officer (token) and a TSON operator (session), in the
    schema; created in the same order in both, so their ids are the same."""
    import datetime

    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from accounts.models import Organisation, Role, User
    from applications.models import Category, Centre
    from exams.models import ExamSlot

    use(schema)
    centres = [Centre.objects.create(code=f"bench-tson-{n:02d}", name=f"Bench TSON {n}", city="Астана",
                                     address=f"Астана, Бенчмарк көшесі {n}", offers_tson=True, offers_exams=True)
               for n in range(1, CENTRES + 1)]
    bank = Organisation.objects.create(name="Bench Bank", channel="bank")
    start = timezone.now() - datetime.timedelta(days=120)
    slots = ExamSlot.objects.bulk_create(
        ExamSlot(centre=centres[n % CENTRES], kind=("theory", "practical")[n % 2], capacity=40, booked=0,
                 starts_at=start + datetime.timedelta(hours=9 * n)) for n in range(200))
    b = Category.objects.get(code="B")
    ExamSlot.categories.through.objects.bulk_create(
        ExamSlot.categories.through(examslot_id=slot.pk, category_id=b.pk) for slot in slots)
    officer = User.objects.create_user(username="bench-officer", password="bench-officer-password-1",
                                       role=Role.POLICE_OFFICER)
    operator = User.objects.create_user(username="bench-operator", password="bench-operator-password-1",
                                        role=Role.TSON_OPERATOR)
    Token.objects.create(user=officer, key=OFFICER_TOKEN)
    return {"schema": schema, "centres": [c.pk for c in centres], "bank": bank.pk, "slots": [s.pk for s in slots],
            "operator": operator}


# The indexes of applications_application that no constraint owns (all but the primary key and the number's): they
# are dropped while the rows are written and built again after, in one sort each, exactly as migrate made them.
LOOSE_INDEXES_SQL = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = current_schema() AND i.tablename = 'applications_application'
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                  WHERE n.nspname = i.schemaname AND c.conname = i.indexname)
"""


def generate(people: dict, count: int, chunk: int) -> float:
    """`count` applications (and their related rows) in the schema, chunk by chunk, then VACUUM ANALYZE. Answers
    the seconds it took.

    To stay within a minute or two for a million: the rows are consistent by construction, so the foreign keys'
    triggers are off while they are written (session_replication_role = replica), and the table's indexes that no
    constraint owns are built after the rows rather than row by row (the unique ones check every row then)."""
    from django.db import connection, transaction

    began = time.monotonic()
    use(people["schema"])
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '256MB'")
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(LOOSE_INDEXES_SQL)
        loose = cursor.fetchall()
        for name, _definition in loose:
            cursor.execute(f'DROP INDEX "{people["schema"]}"."{name}"')
    try:
        for low in range(0, count, chunk):
            high = min(count, low + chunk)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(GENERATE_SQL, {"start": low, "stop": high, "bank": people["bank"],
                                              "centres": people["centres"], "centre_count": len(people["centres"])})
                for statement in RELATED_SQL:
                    if "%(" in statement:
                        cursor.execute(statement, {"slots": people["slots"], "slot_count": len(people["slots"])})
                    else:
                        cursor.execute(statement)
            if count > chunk:
                print(f"    {high:>9,} written ({time.monotonic() - began:.0f} s)", flush=True)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
            for _name, definition in loose:
                cursor.execute(definition)
    if count > chunk:
        print(f"    {len(loose)} indexes built ({time.monotonic() - began:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = on")
        cursor.execute("VACUUM ANALYZE")
    return time.monotonic() - began


def census(schema: str) -> dict:
    from django.db import connection

    use(schema)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE status = 'under_review') FROM applications_application")
        total, under_review = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM applications_application a JOIN applications_centre c "
                       "ON c.id = a.pickup_tson_id WHERE a.status = 'under_review' AND c.code = %s", [QUEUE_CENTRE])
        (at_centre,) = cursor.fetchone()
    return {"total": total, "under_review": under_review, "at_centre": at_centre}


def sample_numbers(schema: str, count: int) -> list[str]:
    from django.db import connection

    use(schema)
    with connection.cursor() as cursor:
        cursor.execute("SELECT number FROM applications_application TABLESAMPLE SYSTEM (5) "
                       "WHERE number IS NOT NULL LIMIT %s", [count * 4])
        numbers = [row[0] for row in cursor.fetchall()]
        if len(numbers) < count:
            cursor.execute("SELECT number FROM applications_application WHERE number IS NOT NULL "
                           "ORDER BY random() LIMIT %s", [count])
            numbers = [row[0] for row in cursor.fetchall()]
    random.Random(len(numbers)).shuffle(numbers)
    return numbers[:count]


# ---------------------------------------------------------------------------------------------------------------
# Requests


def lookup_orm(operator_user, number: str) -> list:
    """What the desk's find page asks of the database for a number (applications/staff_views.find)."""
    from applications.rights import Step, applications_for

    return list(applications_for(operator_user, Step.LIST, full=False).select_related("pickup_tson")
                .filter(number=number).order_by("-created_at", "-id")[:21])


def kinds(people: dict, numbers: list[str]) -> list[tuple[str, object]]:
    """(label, do) for every kind of timed request in the schema; `do()` sends one and checks its answer (the
    schema must be in use)."""
    from django.test import Client

    officer = Client(HTTP_AUTHORIZATION=f"Token {OFFICER_TOKEN}", HTTP_ACCEPT_LANGUAGE="ru")
    operator = Client(HTTP_ACCEPT_LANGUAGE="ru")
    use(people["schema"])
    operator.force_login(people["operator"])
    picks = iter(numbers * 10)

    def queue(query):
        def do():
            response = officer.get("/api/v1/review-queue", query)
            assert response.status_code == 200, (response.status_code, response.content[:500])
            body = response.json()
            assert body["results"] and body["count"] >= len(body["results"]), body.get("count")
        return do

    def desk():
        number = next(picks)
        response = operator.get("/staff/desk/", {"q": number})
        assert response.status_code == 200, (response.status_code, response.content[:500])
        assert number.encode() in response.content, number

    def orm():
        assert lookup_orm(people["operator"], next(picks))

    def bare():
        assert officer.get("/sandbox/bare").status_code == 200

    return [*[(label, queue(query)) for label, query in QUEUE_KINDS],
            ("lookup by number: desk page", desk), ("lookup by number: its ORM query", orm),
            ("floor: GET /sandbox/bare", bare)]


def measure(everyone: list[dict], requests: int, warm_up: int) -> dict:
    """Each kind `warm_up` times untimed in each schema, then `requests` times, the kinds and the schemas
    interleaved (which schema goes first alternates); milliseconds per schema and kind."""
    todo = {people["schema"]: kinds(people, sample_numbers(people["schema"], requests + warm_up))
            for people in everyone}
    for schema, doings in todo.items():
        use(schema)
        for _label, do in doings:
            for _ in range(warm_up):
                do()
    timings = {schema: {label: [] for label, _do in doings} for schema, doings in todo.items()}
    order = list(todo)
    for round_number in range(requests):
        for index in range(len(todo[order[0]])):
            for schema in order if round_number % 2 == 0 else reversed(order):
                label, do = todo[schema][index]
                use(schema)
                began = time.perf_counter()
                do()
                timings[schema][label].append((time.perf_counter() - began) * 1000)
    return timings


def statements(people: dict) -> dict:
    """The SQL statements of one request of each kind (transaction control included)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    captured = {}
    for label, do in kinds(people, sample_numbers(people["schema"], 5)):
        use(people["schema"])
        with CaptureQueriesContext(connection) as queries:
            do()
        captured[label] = queries.captured_queries
    return captured


def sql_times(everyone: list[dict], sample: int) -> dict:
    """Per schema and kind: the time each of `sample` requests spent executing SQL (ms, each statement timed around
    the driver's execute, round trip included), the schemas interleaved."""
    from django.db import connection

    spent = [0.0]

    def timed(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[0] += time.perf_counter() - began

    todo = {people["schema"]: kinds(people, sample_numbers(people["schema"], sample)) for people in everyone}
    times = {schema: {label: [] for label, _do in doings} for schema, doings in todo.items()}
    with connection.execute_wrapper(timed):
        for _ in range(sample):
            for schema, doings in todo.items():
                use(schema)
                for label, do in doings:
                    spent[0] = 0.0
                    do()
                    times[schema][label].append(spent[0] * 1000)
    return times


def queue_plans(people: dict) -> list[tuple[str, str, list[str], float]]:
    """EXPLAIN ANALYZE of each queue page's two queries on applications: the page of ids, and its count."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    officer = Client(HTTP_AUTHORIZATION=f"Token {OFFICER_TOKEN}")
    plans = []
    for label, query in [*QUEUE_KINDS, *PLAN_ONLY_KINDS]:
        use(people["schema"])
        with CaptureQueriesContext(connection) as captured:
            assert officer.get("/api/v1/review-queue", query).status_code == 200
        for sql in [statement["sql"] for statement in captured.captured_queries]:
            if "\"status\" = 'under_review'" not in sql or not sql.lstrip().upper().startswith("SELECT"):
                continue
            part = "count" if "COUNT(*)" in sql else "page"
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
                (plan,) = cursor.fetchone()
            plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]
            plans.append((label, part, describe(plan["Plan"]), plan["Execution Time"]))
    return plans


def describe(node: dict, depth: int = 0) -> list[str]:
    index = f" using {node['Index Name']}" if "Index Name" in node else ""
    relation = f" on {node['Relation Name']}" if "Relation Name" in node and not index else ""
    rows = f" (rows {node.get('Actual Rows')}, loops {node.get('Actual Loops')})"
    lines = [f"{'  ' * depth}{node['Node Type']}{index}{relation}{rows}"]
    for child in node.get("Plans", []):
        lines += describe(child, depth + 1)
    return lines


# ---------------------------------------------------------------------------------------------------------------


def main():
    args = parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not database_url.startswith("postgres"):
        sys.exit("bench/review_queue.py runs on PostgreSQL: set DATABASE_URL=postgres://...")
    if "bench" not in urlparse(database_url).path:
        sys.exit("bench/review_queue.py drops the database it is given: name one with 'bench' in it")
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    workdir = Path(tempfile.mkdtemp(prefix="kualik-bench-queue-"))
    prefix = f"kualik-bench-queue-{os.getpid()}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.development", "DEBUG": "0", "SANDBOX_MODE": "1",
           "DATABASE_URL": database_url, "REDIS_URL": redis_url, "CACHE_KEY_PREFIX": prefix,
           "CELERY_BROKER_URL": "filesystem://localhost/", "CELERY_BROKER_FOLDER": str(workdir / "broker"),
           "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "API_RATE_PER_CLIENT": "1000000/min",
           "DATABASE_POOL_MAX_SIZE": "0", "CONN_MAX_AGE": "600", "LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    results, began, load_before = {}, time.monotonic(), os.getloadavg()[0]
    sizes = dict(zip(SCHEMAS, (args.small, args.large), strict=True))
    try:
        print(f"preparing: database {database_url} (schemas {', '.join(SCHEMAS)}), Redis {redis_url} "
              f"(keys {prefix}:*)", flush=True)
        recreate_database(database_url)
        for schema in SCHEMAS:
            migrate_schema(database_url, env, schema)

        import django

        django.setup()
        everyone = [set_up_people(schema) for schema in SCHEMAS]
        for people in everyone:
            schema = people["schema"]
            print(f"  {schema}: writing {sizes[schema]:,} applications with SQL", flush=True)
            seconds = generate(people, sizes[schema], args.chunk)
            shape = census(schema)
            results[schema] = {"shape": shape, "generate": seconds}
            print(f"  {schema}: {shape['total']:,} applications ({shape['under_review']:,} under review, "
                  f"{shape['at_centre']:,} of them for {QUEUE_CENTRE}), written and vacuumed in {seconds:.0f} s",
                  flush=True)
        print(f"  measuring: {args.warm_up} untimed and {args.requests} timed requests of each kind at each size",
              flush=True)
        started = time.monotonic()
        timings = measure(everyone, args.requests, args.warm_up)
        print(f"  measured in {time.monotonic() - started:.0f} s", flush=True)
        database_times = sql_times(everyone, args.sql_sample)
        for people in everyone:
            results[people["schema"]].update(timings=timings[people["schema"]], sql=database_times[people["schema"]],
                                             statements={label: len(queries)
                                                         for label, queries in statements(people).items()})
        plans = queue_plans(everyone[-1])
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
        try:
            import redis

            server = redis.Redis.from_url(redis_url)
            for key in server.scan_iter(f"{prefix}:*", count=1000):
                server.delete(key)
        except Exception as error:  # the cache may have been memory only
            print(f"  (Redis keys not cleaned: {error})")
        shutil.rmtree(workdir, ignore_errors=True)
    print_report(args, results, plans, time.monotonic() - began, load_before)


def print_report(args, results: dict, plans, total_seconds: float, load_before: float) -> None:
    small, large = results["small"], results["large"]
    load = os.getloadavg()[0]
    print(f"\nkuälik review-queue benchmark: Django test Client in-process on PostgreSQL, {args.requests} timed "
          f"requests of each kind at each size (after {args.warm_up} untimed), kinds and sizes interleaved, "
          f"{os.cpu_count()} cores (load average {load_before:.1f} at the start, {load:.1f} at the end); whole run "
          f"{total_seconds:.0f} s")
    for schema in SCHEMAS:
        shape = results[schema]["shape"]
        print(f"  {shape['total']:>9,} applications: {shape['under_review']:,} under review "
              f"({shape['at_centre']:,} for {QUEUE_CENTRE}); written with SQL and vacuumed in "
              f"{results[schema]['generate']:.1f} s")
    print(f"\n  {'request':36} {'SQL':>5}  {'p50 ' + format(args.small, ','):>11} "
          f"{'p95 ' + format(args.small, ','):>11}  {'p50 ' + format(args.large, ','):>13} "
          f"{'p95 ' + format(args.large, ','):>13}  p95 ratio      SQL time p50 (small / large)")
    verdicts = []
    for label in small["timings"]:
        a, b = small["timings"][label], large["timings"][label]
        ratio = percentile(b, 0.95) / percentile(a, 0.95)
        floor = label.startswith("floor")
        if not floor:
            verdicts.append(ratio < TARGET)
        counts = f"{small['statements'][label]}/{large['statements'][label]}"
        sql = f"{statistics.median(small['sql'][label]):6.2f} / {statistics.median(large['sql'][label]):6.2f} ms"
        print(f"  {label:36} {counts:>5}  {statistics.median(a):8.1f} ms {percentile(a, 0.95):8.1f} ms  "
              f"{statistics.median(b):10.1f} ms {percentile(b, 0.95):10.1f} ms  {ratio:5.2f}"
              + ("         " if floor else f"  ({'met' if ratio < TARGET else 'MISSED'})") + f"  {sql}")
    print(f"\n  target: p95 at {args.large:,} under {TARGET} x p95 at {args.small:,}: "
          f"{'met' if all(verdicts) else 'MISSED'} (met by {sum(verdicts)} of the {len(verdicts)} requests)"
          f"\n  (SQL: statements of one request at each size, transaction control included, the same at both sizes: no "
          f"N+1; SQL time: the sum of its statements' times over {args.sql_sample} requests, measured apart)")
    print(f"\n  plans of the queue's queries on applications at {args.large:,} (EXPLAIN ANALYZE):")
    for label, part, lines, milliseconds in plans:
        indexes = sorted(set(re.findall(r"using (\S+)", "\n".join(lines)))) or ["none: a sequential scan"]
        print(f"    {label}, {part}: {milliseconds:.2f} ms, index {', '.join(indexes)}")
        for line in lines:
            print(f"        {line}")


if __name__ == "__main__":
    main()

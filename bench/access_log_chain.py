"""Benchmark: sealing N access-log rows into the hash chain, and verifying the chain, on PostgreSQL.

Run by hand (not in CI):

    DATABASE_URL=postgres://root@127.0.0.1:5432/kualik_bench_chain .venv/bin/python bench/access_log_chain.py

It creates (drops first) the database named in DATABASE_URL, migrates it, writes N unsealed rows over a few
applications (one INSERT ... SELECT), then times `seal_access_log()` (batches of SEAL_BATCH_SIZE, one transaction
each) and `verify_access_log()`, and prints rows per second for both.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import drop_database, psql  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--applications", type=int, default=200)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/kualik_bench_chain")
    if not database_url.startswith("postgres"):
        sys.exit("bench/access_log_chain.py runs on PostgreSQL: set DATABASE_URL=postgres://...")
    drop_database(database_url)
    name = database_url.rsplit("/", 1)[1]
    psql(database_url, f'CREATE DATABASE "{name}"', database="postgres")
    os.environ.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="config.settings.development")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from applications.models import PersonalDataAccess
    from applications.services import access_chain
    from tests.factories import ApplicationFactory

    call_command("migrate", verbosity=0)
    application_ids = [ApplicationFactory().pk for _ in range(args.applications)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PersonalDataAccess._meta.db_table} (application_id, at, actor_kind, role, registry, "
            "purpose, what) SELECT (%s::uuid[])[1 + n %% %s], now() - interval '1 minute' + n * interval '1 ms', "
            "'registry', '', 'person', 'eligibility_check', 'registry:person' FROM generate_series(1, %s) AS n",
            [application_ids, len(application_ids), args.rows])
    started = time.perf_counter()
    sealed = access_chain.seal_access_log()
    seal_seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = access_chain.verify_access_log()
    verify_seconds = time.perf_counter() - started
    assert sealed == args.rows and report.intact and report.checked == args.rows, (sealed, report)
    print(f"sealed {sealed} rows in {seal_seconds:.2f} s ({sealed / seal_seconds:,.0f} rows/s, batches of "
          f"{access_chain.SEAL_BATCH_SIZE})")
    print(f"verified {report.checked} rows in {verify_seconds:.2f} s ({report.checked / verify_seconds:,.0f} rows/s)")
    connection.close()
    drop_database(database_url)


if __name__ == "__main__":
    main()

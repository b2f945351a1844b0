"""`make run` as a developer starts it, in a subprocess: web (gunicorn), a Celery worker and beat (honcho).

What it promises: no request waits for a registry (tasks go to a real worker, on a folder broker when no broker is
named), and a read never returns an Application older than a change the worker has committed, even with the
broker set and REDIS_URL unset (the cache is then the broker's Redis, shared by web and worker).
"""

import os
import re
import signal
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_KEY = {"Authorization": "Api-Key demobank.kualik-demo-bank-api-key-0001"}  # load_demo_data's client
# Demo citizens (registries/sandbox/README.md).
ALL_PASS = ("871008404075", "+77010000001")
ERAP_TIMES_OUT = ("830619405401", "+77010000020")
# What this test process has in its environment that `make run` must not inherit.
NOT_INHERITED = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND",
                 "CELERY_TASK_ALWAYS_EAGER", "CACHE_KEY_PREFIX", "KUALIK_REQUIRE_SERVICES", "PORT")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def make_run(tmp_path, **environment):
    """`make run` on a free port with its own SQLite file (unless DATABASE_URL is given), broker folder and beat
    schedule; stopped with Ctrl-C (SIGINT to its process group) at the end."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    env.update({"PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                "CELERY_BROKER_FOLDER": str(tmp_path / "broker"), "BEAT_SCHEDULE": str(tmp_path / "beat-schedule"),
                "WEB_WORKERS": "1", "WORKER_CONCURRENCY": "2", **environment})
    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, f"make run ended early:\n{log_path.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"make run never answered:\n{log_path.read_text()[-4000:]}"
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200 and _worker_ready(log_path):
                    break
            except httpx.TransportError:
                pass  # not listening yet: ask again in half a second
            time.sleep(0.5)
        yield base, log_path
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _worker_ready(log_path: Path) -> bool:
    return b" ready." in log_path.read_bytes()


def create_application(base, iin) -> tuple[dict, float]:
    started = time.monotonic()
    response = httpx.post(f"{base}/api/v1/applications", headers={**DEMO_KEY, "Idempotency-Key": str(uuid.uuid4())},
                          json={"service": "first_issue", "iin": iin, "categories": ["B"]}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json(), time.monotonic() - started


def read(base, application_id) -> dict:
    response = httpx.get(f"{base}/api/v1/applications/{application_id}", headers=DEMO_KEY, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(condition, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"waited {seconds} s for {what}")


def consent_code(base, phone) -> str | None:
    sms = httpx.get(f"{base}/api/v1/sandbox/sms", params={"phone": phone}, timeout=10).json()["results"]
    codes = [code for message in sms for code in re.findall(r"\b\d{6}\b", message["text"])]
    return codes[0] if codes else None  # newest first


def confirm(base, application_id, code) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(f"{base}/api/v1/applications/{application_id}/consent", json={"code": code}, timeout=60,
                          headers={**DEMO_KEY, "Idempotency-Key": str(uuid.uuid4())})
    return response, time.monotonic() - started


def test_make_run_never_holds_a_request_while_a_registry_times_out(tmp_path):
    """A bare machine: no broker, no Redis. Checks run on the worker after the answer, even when a registry times
    out (3 s a try, 3 tries: the click used to wait 9 s)."""
    with make_run(tmp_path) as (base, log_path):
        iin, phone = ERAP_TIMES_OUT
        application, _ = create_application(base, iin)
        assert application["status"] == "consent_pending"
        code = wait_for(lambda: consent_code(base, phone), seconds=60, what="the worker to ask for consent")
        wait_for(lambda: read(base, application["id"])["consent"]["state"] == "code_sent", seconds=10,
                 what="the code recorded as sent")
        response, seconds = confirm(base, application["id"], code)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "checks_running"
        assert seconds < 2.0, f"the consent click took {seconds:.1f} s"
        # The worker did the checks after the answer: the registries that answer passed, erap's is left `error`.
        checks = wait_for(lambda: (lambda c: c if c["erap"] == "error" and c["person"] == "passed" else None)(
            {check["registry"]: check["outcome"] for check in read(base, application["id"])["checks"]}),
            seconds=60, what="the worker's checks")
        assert checks["licence_registry"] == "passed"
        assert b"Traceback" not in log_path.read_bytes()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_the_broker_set_and_no_redis_url_a_read_follows_the_workers_change(tmp_path):
    """`make run` with DATABASE_URL and CELERY_BROKER_URL set and REDIS_URL unset: the web process caches rendered
    Applications, and the worker's change must reach the next API read and portal page."""
    from django.db import connection
    from django.test import Client

    from applications.models import Application
    from tests.factories import UserFactory

    database = connection.settings_dict
    database_url = (f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST'] or '127.0.0.1'}:"
                    f"{database['PORT'] or 5432}/{database['NAME']}")
    broker = os.environ.get("CELERY_BROKER_URL") or os.environ["REDIS_URL"]
    from django.conf import settings

    with make_run(tmp_path, DATABASE_URL=database_url, CELERY_BROKER_URL=broker, SECRET_KEY=settings.SECRET_KEY,
                  CACHE_KEY_PREFIX=f"kualik-make-run-{uuid.uuid4().hex[:8]}",
                  REGISTRY_SANDBOX_LATENCY_MS="400") as (base, _log):
        iin, phone = ALL_PASS
        citizen = UserFactory(iin=iin)
        portal = Client()
        portal.force_login(citizen)
        cookies = {"sessionid": portal.cookies["sessionid"].value}

        application, _ = create_application(base, iin)
        Application.objects.filter(pk=application["id"]).update(citizen=citizen)
        assert read(base, application["id"])["status"] == "consent_pending"  # now in the web's cache
        code = wait_for(lambda: consent_code(base, phone), seconds=60, what="the worker to ask for consent")
        # The worker recorded that the code was sent; a copy cached before that must not hide it for a minute.
        wait_for(lambda: read(base, application["id"])["consent"]["state"] == "code_sent", seconds=5,
                 what="the read to show the code sent")
        response, _ = confirm(base, application["id"], code)
        assert response.json()["status"] == "checks_running", response.text
        # Read while the worker checks (each registry answers after 0.4 s): the copy in the cache says so.
        assert read(base, application["id"])["status"] == "checks_running"

        decided = wait_for(lambda: Application.objects.filter(pk=application["id"]).exclude(
            status="checks_running").values_list("status", flat=True).first(), seconds=60, what="the worker")
        assert read(base, application["id"])["status"] == decided
        page = httpx.get(f"{base}/my/applications/{application['id']}/", cookies=cookies, timeout=10)
        assert page.status_code == 200
        assert f"status-{decided}" in page.text

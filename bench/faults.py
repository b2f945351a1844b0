"""Chaos run: a steady load of applications through consent, the checks and submit while the services fail.

Run by hand (not in CI), as root or as a user who may run PostgreSQL's binaries:

    .venv/bin/python bench/faults.py                 # about 4 minutes of load, then up to 5 of recovery

It starts everything it breaks, on its own ports: a PostgreSQL cluster (initdb into a temporary folder, port
55433), a redis-server (56380), the registry sandbox under gunicorn with a fixture of citizens whose outcome is
known (most pass, some are refused in phase 1 by ERAP, some in phase 2 by the medical registry or ERDB), the web
app as the Procfile starts it (gunicorn; development settings with DEBUG off, pointed at those servers), two Celery
workers and beat exactly as the Procfile starts them. A client opens applications through the API as a bank
(an Idempotency-Key per application, retried with the same key on connection errors and 5xx), reads each consent
code from the sandbox's SMS outbox, confirms it and, once eligible, submits the form for the number.

Along the way it kills a worker (SIGKILL to the main process and its pool, then restarts it as a supervisor
would), restarts PostgreSQL (pg_ctl restart -m fast), stops Redis for 20 s (shutdown nosave: the queue, the cache
and the breakers are lost) and makes ERAP time out for a minute (every citizen's `faults.erap = "timeout"` in the
fixture, which the sandbox re-reads). Then it waits for recovery and prints what was started, finished, stuck,
duplicated and decided wrongly, and how long each fault took to recover from. Exit status 1 if any application
is lost, stuck, duplicated or wrongly decided, or if the client was told an outcome other than the database's.

For the run the sweep is quickened (CHECKS_SWEEP_EVERY_SECONDS=10, CHECKS_SWEEP_AFTER_SECONDS=20,
CONSENT_REQUEST_LEASE_SECONDS=30) and the API's rate limits are lifted; everything else is the default.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = ROOT / ".venv" / "bin"
PG_BIN = Path("/usr/lib/postgresql/15/bin")

from bench.checks import percentile, write_fixture  # noqa: E402 - after the path is set

OPEN_STATUSES = ("consent_pending", "checks_running", "eligible")
PASSED = "submitted"
# Every tenth citizen by position: 7 refused by ERAP (phase 1), 8 by the medical registry, 9 by ERDB (phase 2).
REFUSALS = {7: "exam_ban", 8: "medical_certificate_missing", 9: "medical_registry"}
CONSENT_CODE = re.compile(r"(?<![\d-])\d{6}(?![\d-])")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=3.0, help="applications opened per second")
    parser.add_argument("--load-seconds", type=float, default=240, help="how long applications keep coming")
    parser.add_argument("--recovery-seconds", type=float, default=300, help="longest wait after the load")
    parser.add_argument("--latency-ms", type=int, default=50, help="added to every sandbox answer")
    parser.add_argument("--pg-port", type=int, default=55471)
    parser.add_argument("--redis-port", type=int, default=56391)
    parser.add_argument("--web-port", type=int, default=8391)
    parser.add_argument("--sandbox-port", type=int, default=8392)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes, each as the Procfile says")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) afterwards")
    return parser.parse_args()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------------------------
# The servers this run owns


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: its binaries run as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Postgres:
    def __init__(self, workdir: Path, port: int):
        self.data = workdir / "pg"
        self.port = port
        self.logfile = workdir / "postgres.log"

    def _ctl(self, *args: str) -> None:
        subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-w",
                                    "-t", "60", *args]), check=True, stdout=subprocess.DEVNULL)

    def init(self) -> None:
        self.data.mkdir(mode=0o700)
        for path in (self.data, self.logfile.parent):
            if os.geteuid() == 0:
                shutil.chown(path, "postgres", "postgres")
        subprocess.run(as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "root", "--auth=trust",
                                    "-E", "UTF8", "--locale=C.UTF-8"]), check=True, stdout=subprocess.DEVNULL)
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.data}'\n"
                       "max_connections = 300\nfsync = off\nsynchronous_commit = off\n")
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        try:
            self._ctl("stop", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass  # not running


class Redis:
    def __init__(self, workdir: Path, port: int):
        self.port = port
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=open(self.workdir / "redis.log", "a"), stderr=subprocess.STDOUT)  # noqa: SIM115
        import redis

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def shutdown(self) -> None:
        """SHUTDOWN NOSAVE: everything in it (the queue, unacked tasks, the cache, the breakers) is gone."""
        import redis

        try:
            redis.Redis(port=self.port).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it goes
        if self.process:
            self.process.wait(timeout=20)


class Processes:
    """The project's processes, each in its own process group so that a kill reaches its children too, and a
    supervisor that starts again, after RESTART_DELAY, any that dies (as systemd's Restart=always would)."""

    RESTART_DELAY = 3.0

    def __init__(self, workdir: Path, env: dict, started: float):
        self.workdir = workdir
        self.env = env
        self.started = started
        self.lock = threading.Lock()
        self.running: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, tuple[str, dict]] = {}
        self.killed: set[str] = set()
        self.deaths: list[str] = []  # processes that died without being killed by a fault
        self.stopping = threading.Event()
        self.procfile = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines()
                             if ":" in line)

    def start(self, name: str, command: str, env: dict | None = None) -> subprocess.Popen:
        output = open(self.workdir / f"{name}.log", "a")  # noqa: SIM115 - kept open for the process's lifetime
        # `exec env`: the process is the command itself (a kill reaches it, not a shell), with the Procfile's own
        # `NAME=value` prefixes, if any, applied.
        process = subprocess.Popen(["bash", "-c", f"exec env {command}"], cwd=ROOT, env=env or self.env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        with self.lock:
            self.running[name] = process
            self.commands[name] = (command, env or self.env)
        return process

    def start_procfile(self, kind: str, name: str, extra: str = "") -> subprocess.Popen:
        return self.start(name, f"{self.procfile[kind].strip()} {extra}".strip())

    def kill(self, name: str) -> int:
        """SIGKILL the main process, then whatever is left of its group (the pool); the supervisor restarts it."""
        with self.lock:
            process = self.running[name]
            self.killed.add(name)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return process.pid

    def supervise(self) -> None:
        while not self.stopping.wait(0.5):
            with self.lock:
                dead = [(name, process) for name, process in self.running.items() if process.poll() is not None]
            for name, process in dead:
                when = time.monotonic() - self.started
                if name in self.killed:
                    self.killed.discard(name)
                else:
                    self.deaths.append(f"{name} exited by itself (code {process.returncode}) at +{when:.0f}s")
                    log(f"NOTE   +{when:.0f}s  {name} exited by itself (code {process.returncode}); restarting it")
                try:
                    os.killpg(process.pid, signal.SIGKILL)  # what is left of its pool
                except ProcessLookupError:
                    pass
                if self.stopping.wait(self.RESTART_DELAY):
                    return
                command, env = self.commands[name]
                self.start(name, command, env)

    def stop_all(self) -> None:
        self.stopping.set()
        with self.lock:
            processes = list(self.running.values())
        for process in processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------------------------
# The fixture: who passes and who is refused where


def expected_outcome(index: int) -> str:
    return REFUSALS.get(index % 10, PASSED)


def write_citizens(path: Path, count: int) -> list[dict]:
    citizens = write_fixture(path, count)  # bench/checks.py's: everyone passes every check for B
    for index, citizen in enumerate(citizens):
        outcome = expected_outcome(index)
        if outcome == "exam_ban":
            citizen["exam_ban"] = {"article": "608-6", "until": "2030-12-31"}
        elif outcome == "medical_certificate_missing":
            citizen["medical_073"] = None
        elif outcome == "medical_registry":
            citizen["erdb"] = {"narcological": True, "psychiatric": False}
        citizen["_expected"] = outcome
    save_fixture(path, citizens)
    return citizens


def save_fixture(path: Path, citizens: list[dict], *, fault: dict | None = None) -> None:
    """Write the file whole and swap it in (the sandbox re-reads it when its modification time changes)."""
    for citizen in citizens:
        citizen["faults"] = dict(fault or {})
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"citizens": citizens}, ensure_ascii=False))
    os.replace(partial, path)


# ---------------------------------------------------------------------------------------------------------------
# The client: a bank's channel opening applications through the API


@dataclass
class Journey:
    index: int
    citizen: dict
    expected: str
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    application_id: str | None = None
    status: str = ""
    number: str | None = None
    refusal: str | None = None
    opened_at: float | None = None
    done_at: float | None = None
    problems: list[str] = field(default_factory=list)


class Client:
    def __init__(self, base_url: str, api_key: str, started: float):
        import httpx

        self.http = httpx.Client(base_url=base_url, timeout=httpx.Timeout(15, connect=3),
                                 limits=httpx.Limits(max_connections=400, max_keepalive_connections=100),
                                 headers={"Accept-Language": "en"})
        self.auth = {"Authorization": f"Api-Key {api_key}"}
        self.started = started
        self.errors: list[tuple[float, str]] = []  # (seconds into the run, what)
        self.lock = threading.Lock()
        self.stopped = threading.Event()  # Ctrl-C: every journey gives up at its next step

    def _error(self, what: str) -> None:
        with self.lock:
            self.errors.append((time.monotonic() - self.started, what))

    def call(self, method: str, path: str, *, until: float, key: str | None = None, auth: bool = True, **kwargs):
        """One logical request: retried with the SAME Idempotency-Key while the server is unreachable or failing."""
        import httpx

        headers = {**(self.auth if auth else {}), **({"Idempotency-Key": key} if key else {})}
        pause = 0.5
        while time.monotonic() < until and not self.stopped.is_set():
            try:
                response = self.http.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as error:
                self._error(f"{method} {route(path)}: {type(error).__name__}")
            else:
                code = problem_code(response)
                if response.status_code < 500 and response.status_code != 429 and code != "idempotency_key_in_use":
                    return response
                self._error(f"{method} {route(path)}: {response.status_code} {code or ''}".strip())
            self.stopped.wait(pause)
            pause = min(pause * 1.5, 5)
        return None

    def run(self, journey: Journey, *, until: float) -> None:
        try:
            self._run(journey, until=until)
        except Exception as error:  # a bug in the client must show, not vanish in a thread
            journey.problems.append(f"client crashed: {type(error).__name__}: {error}")

    def _run(self, journey: Journey, *, until: float) -> None:
        citizen = journey.citizen
        journey.opened_at = time.monotonic() - self.started
        response = self.call("POST", "/api/v1/applications", until=until, key=journey.key,
                             json={"service": "first_issue", "iin": citizen["iin"], "categories": ["B"]})
        if response is None:
            journey.problems.append("create: no answer before the deadline")
            return
        if response.status_code == 409 and problem_code(response) == "active_application_exists":
            # The first try was done but its answer lost before it was kept against the key: find it by IIN.
            journey.problems.append("create: 409 active_application_exists on a retry; adopted by IIN")
            response = self.call("GET", "/api/v1/applications", until=until, params={"iin": citizen["iin"]})
            found = response.json()["results"] if response is not None and response.status_code == 200 else []
            if len(found) != 1:
                journey.problems.append(f"create: {len(found)} applications found by IIN")
                return
            body = found[0]
        elif response.status_code != 201:
            journey.problems.append(f"create: {response.status_code} {problem_code(response)}")
            return
        else:
            body = response.json()
        journey.application_id, journey.status = body["id"], body["status"]
        if journey.status == "consent_pending":
            self._consent(journey, until=until)
        self._await_decision(journey, until=until)
        if journey.status == "refused" and journey.refusal is None:  # seen refused on the way, not yet read
            response = self.call("GET", f"/api/v1/applications/{journey.application_id}", until=until)
            if response is not None and response.status_code == 200:
                journey.refusal = (response.json().get("refusal") or {}).get("code")
        if journey.status == "eligible":
            self._submit(journey, until=until)
        journey.done_at = time.monotonic() - self.started

    def _consent(self, journey: Journey, *, until: float) -> None:
        pause = 1.0
        while time.monotonic() < until and not self.stopped.is_set():
            code = self._consent_code(journey, until=until)
            if code is not None:
                # A new key per try: a 4xx (code not out yet) is kept against its key and would be replayed.
                response = self.call("POST", f"/api/v1/applications/{journey.application_id}/consent",
                                     until=until, key=str(uuid.uuid4()), json={"code": code})
                if response is None:
                    return
                if response.status_code == 200:
                    journey.status = response.json()["status"]
                    return
                if problem_code(response) not in ("wrong_status", "registry_unavailable"):
                    journey.problems.append(f"consent: {response.status_code} {problem_code(response)}")
                current = self.call("GET", f"/api/v1/applications/{journey.application_id}", until=until)
                if current is not None and current.json()["status"] != "consent_pending":
                    journey.status = current.json()["status"]
                    return
            self.stopped.wait(pause)
            pause = min(pause * 1.3, 4)

    def _consent_code(self, journey: Journey, *, until: float) -> str | None:
        response = self.call("GET", "/api/v1/sandbox/sms", until=until, auth=False,
                             params={"phone": journey.citizen["phone"]})
        if response is None or response.status_code != 200:
            return None
        for message in response.json()["results"]:  # newest first
            if found := CONSENT_CODE.search(message["text"]):
                return found.group()
        return None

    def _await_decision(self, journey: Journey, *, until: float) -> None:
        pause = 1.0
        while journey.status in ("consent_pending", "checks_running") and time.monotonic() < until:
            if self.stopped.wait(pause):
                return
            pause = min(pause * 1.3, 5)
            response = self.call("GET", f"/api/v1/applications/{journey.application_id}", until=until)
            if response is not None and response.status_code == 200:
                body = response.json()
                journey.status = body["status"]
                journey.refusal = (body.get("refusal") or {}).get("code")

    def _submit(self, journey: Journey, *, until: float) -> None:
        response = self.call("POST", f"/api/v1/applications/{journey.application_id}/submit", until=until,
                             key=str(uuid.uuid4()),
                             json={"phone": journey.citizen["phone"], "language": "ru", "pickup_tson": "ast-spec"})
        if response is None:
            journey.problems.append("submit: no answer before the deadline")
            return
        if response.status_code == 409 and problem_code(response) == "wrong_status":
            # Only on a retry whose key was taken over (the first try's answer was never kept): read it back.
            journey.problems.append("submit: 409 wrong_status on a retry; read back")
            response = self.call("GET", f"/api/v1/applications/{journey.application_id}", until=until)
        if response is None or response.status_code != 200:
            answer = "no answer" if response is None else f"{response.status_code} {problem_code(response)}"
            journey.problems.append(f"submit: {answer}")
            return
        body = response.json()
        journey.status, journey.number = body["status"], body["number"]


def problem_code(response) -> str | None:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def route(path: str) -> str:
    """/api/v1/applications/<uuid>/consent -> applications/{id}/consent, so errors group by endpoint."""
    parts = path.split("?")[0].strip("/").split("/")[2:]
    return "/".join("{id}" if len(part) == 36 else part for part in parts)


# ---------------------------------------------------------------------------------------------------------------
# The faults


@dataclass
class Fault:
    name: str
    at: float  # seconds after the load started
    started: float | None = None
    ended: float | None = None
    detail: str = ""


def run_faults(faults: list[Fault], *, started: float, postgres: Postgres, redis_server: Redis,
               processes: Processes, fixture: Path, citizens: list[dict]) -> None:
    def now() -> float:
        return time.monotonic() - started

    for fault in faults:
        time.sleep(max(0.0, started + fault.at - time.monotonic()))
        fault.started = now()
        if fault.name == "kill worker":
            pid = processes.kill("worker1")
            log(f"FAULT  +{fault.started:.0f}s  SIGKILL worker1 (pid {pid} and its pool)")
            while processes.running["worker1"].pid == pid:  # the supervisor starts it again
                time.sleep(0.2)
            fault.detail = f"pid {pid} killed, restarted after {now() - fault.started:.0f} s"
        elif fault.name == "restart postgres":
            log(f"FAULT  +{fault.started:.0f}s  pg_ctl restart -m fast")
            postgres.restart()
            fault.detail = f"down {now() - fault.started:.1f} s"
        elif fault.name == "stop redis":
            log(f"FAULT  +{fault.started:.0f}s  redis SHUTDOWN NOSAVE for 20 s")
            redis_server.shutdown()
            time.sleep(20)
            redis_server.start()
            fault.detail = "down 20 s, restarted empty"
        elif fault.name == "erap timeout":
            log(f"FAULT  +{fault.started:.0f}s  erap answers after the client's timeout for 60 s")
            save_fixture(fixture, citizens, fault={"erap": "timeout"})
            time.sleep(60)
            save_fixture(fixture, citizens)
            fault.detail = "60 s"
        fault.ended = now()
        log(f"FAULT  +{fault.ended:.0f}s  {fault.name}: over ({fault.detail})")


# ---------------------------------------------------------------------------------------------------------------
# The run


def environment(args, workdir: Path, fixture: Path) -> dict:
    redis_base = f"redis://127.0.0.1:{args.redis_port}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.development",
        "DEBUG": "0",
        "DATABASE_URL": f"postgres://root@127.0.0.1:{args.pg_port}/kualik_faults",
        "REDIS_URL": f"{redis_base}/0",
        "CELERY_BROKER_URL": f"{redis_base}/1",
        "CACHE_KEY_PREFIX": "kualik-faults",
        "PORT": str(args.web_port),
        "WEB_BIND": f"127.0.0.1:{args.web_port}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{args.web_port}",
        "REGISTRY_BASE_URL": f"http://127.0.0.1:{args.sandbox_port}/sandbox/registries",
        "REGISTRY_SANDBOX_FIXTURES": str(fixture),
        "REGISTRY_SANDBOX_LATENCY_MS": str(args.latency_ms),
        "REGISTRY_SANDBOX_TIMEOUT_SECONDS": "5",  # over the gateway's 3 s read timeout
        "CHECKS_SWEEP_EVERY_SECONDS": "10",
        "CHECKS_SWEEP_AFTER_SECONDS": "20",
        "CONSENT_REQUEST_LEASE_SECONDS": "30",
        "API_RATE_PER_CLIENT": "1000000/min",
        "API_RATE_ANONYMOUS": "1000000/min",
        "BEAT_SCHEDULE": str(workdir / "celerybeat-schedule"),
        "LOG_LEVEL": "WARNING",
    }


def wait_for_web(port: int, timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.3)
    raise RuntimeError(f"nothing healthy on port {port}")


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kualik-faults-"))
    os.chmod(workdir, 0o755)
    fixture = workdir / "citizens.json"
    env = environment(args, workdir, fixture)
    os.environ.update(env)
    postgres = Postgres(workdir, args.pg_port)
    redis_server = Redis(workdir, args.redis_port)
    processes = Processes(workdir, env, time.monotonic())
    try:
        count = int(args.rate * args.load_seconds) + 10
        log(f"preparing in {workdir}: PostgreSQL on {args.pg_port}, Redis on {args.redis_port}, {count} citizens, "
            f"sandbox latency {args.latency_ms} ms")
        postgres.init()
        subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(args.pg_port), "-U", "root",
                        "kualik_faults"], check=True)
        redis_server.start()
        manage = [str(BIN / "python"), "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        subprocess.run([*manage, "load_demo_data"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        created = subprocess.run([*manage, "create_api_client", "--channel", "bank", "--name", "Faults Bank"],
                                 cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        api_key = created.stdout.strip().splitlines()[-1]
        citizens = write_citizens(fixture, count)

        processes.start("sandbox", f"{BIN}/gunicorn config.wsgi -b 127.0.0.1:{args.sandbox_port} -k gthread "
                                   "--workers 2 --threads 64 --log-level warning",
                        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.sandbox"})
        processes.start_procfile("web", "web")
        for index in range(1, args.workers + 1):
            processes.start_procfile("worker", f"worker{index}", f"-n faults{index}@%h")
        processes.start_procfile("beat", "beat")
        wait_for_web(args.sandbox_port)
        wait_for_web(args.web_port)
        time.sleep(5)
        down = [name for name, process in processes.running.items() if process.poll() is not None]
        if down:
            raise RuntimeError(f"{', '.join(down)} did not stay up: see {workdir}/<name>.log")
        threading.Thread(target=processes.supervise, daemon=True).start()
        log(f"web {processes.procfile['web'].strip()!r}; worker {processes.procfile['worker'].strip()!r} x "
            f"{args.workers}; beat; sandbox under gunicorn")
        return run(args, citizens, postgres, redis_server, processes, fixture, api_key)
    finally:
        processes.stop_all()
        if redis_server.process and redis_server.process.poll() is None:
            redis_server.shutdown()
        postgres.stop()
        if args.keep:
            log(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, citizens, postgres, redis_server, processes, fixture, api_key) -> int:
    started = processes.started = time.monotonic()
    client = Client(f"http://127.0.0.1:{args.web_port}", api_key, started)
    journeys = [Journey(index, citizen, citizen["_expected"]) for index, citizen in enumerate(citizens)]
    planned = int(args.rate * args.load_seconds)
    spacing = args.load_seconds / 5
    faults = [Fault("kill worker", spacing * 0.5), Fault("restart postgres", spacing * 1.5),
              Fault("stop redis", spacing * 2.5), Fault("erap timeout", spacing * 3.2)]
    until = started + args.load_seconds + args.recovery_seconds
    fault_thread = threading.Thread(target=run_faults, daemon=True, kwargs={
        "faults": faults, "started": started, "postgres": postgres, "redis_server": redis_server,
        "processes": processes, "fixture": fixture, "citizens": [dict(c) for c in citizens]})
    log(f"load: {args.rate:g} applications/s for {args.load_seconds:.0f} s; faults at "
        + ", ".join(f"+{fault.at:.0f}s {fault.name}" for fault in faults))
    fault_thread.start()
    try:
        with ThreadPoolExecutor(max_workers=planned + 1) as pool:
            for journey in journeys[:planned]:
                time.sleep(max(0.0, started + journey.index / args.rate - time.monotonic()))
                pool.submit(client.run, journey, until=until)
            log(f"load over: {planned} applications started; waiting for recovery (at most "
                f"{args.recovery_seconds:.0f} s)")
            fault_thread.join()
    except KeyboardInterrupt:
        client.stopped.set()
        raise
    finished_at = time.monotonic() - started
    log(f"client done at +{finished_at:.0f}s")
    time.sleep(5)  # the last notices go out after their decisions
    return report(journeys[:planned], faults, client, processes, started, finished_at,
                  broker_url=processes.env["CELERY_BROKER_URL"])


def unacked_task_bodies(broker_url: str) -> list[str]:
    """The bodies of the tasks a worker took and never acknowledged (kombu's Redis `unacked` hash)."""
    import base64

    import redis

    bodies = []
    for raw in redis.Redis.from_url(broker_url).hvals("unacked"):
        try:
            message = json.loads(raw)[0]
            bodies.append(base64.b64decode(message["body"]).decode(errors="replace"))
        except (ValueError, KeyError, IndexError):
            bodies.append(raw.decode(errors="replace"))  # not the shape expected: search it as it is
    return bodies


def report(journeys: list[Journey], faults: list[Fault], client: Client, processes: Processes, started: float,
           ended: float, *, broker_url: str) -> int:
    import django

    django.setup()
    from applications.models import Application, Notice, StatusChange
    from registries.sandbox.models import SandboxConsentRequest

    by_iin = defaultdict(list)
    for row in Application.objects.filter(iin__in=[j.citizen["iin"] for j in journeys]).values(
            "id", "iin", "status", "number", "refusal_code", "created_at"):
        by_iin[row["iin"]].append(row)
    changes = defaultdict(list)
    for application_id, to_status, at in StatusChange.objects.filter(
            application_id__in=[row["id"] for rows in by_iin.values() for row in rows]).order_by("at").values_list(
            "application_id", "to_status", "at"):
        changes[str(application_id)].append((to_status, at))
    consent_requests = Counter(SandboxConsentRequest.objects.values_list("application", flat=True))

    # Monotonic seconds of the run from wall-clock times: the run's start in wall-clock time.
    wall_start = time.time() - (time.monotonic() - started)
    lost, stuck, duplicated, wrong, misinformed, finished = [], [], [], [], [], []
    decided_at: dict[str, float] = {}
    for journey in journeys:
        rows = by_iin.get(journey.citizen["iin"], [])
        if not rows:
            lost.append(f"{journey.citizen['iin']} (client: {journey.application_id or 'no answer'}; "
                        f"{'; '.join(journey.problems)})")
            continue
        if len(rows) > 1:
            duplicated.append(f"{journey.citizen['iin']}: {len(rows)} applications for one Idempotency-Key")
        row = rows[0]
        application_id = str(row["id"])
        if journey.application_id and journey.application_id != application_id:
            duplicated.append(f"{journey.citizen['iin']}: the client holds {journey.application_id}, "
                              f"the database {application_id}")
        moves = Counter(status for status, _at in changes[application_id])
        repeated = {status: n for status, n in moves.items() if n > 1}
        if repeated:
            duplicated.append(f"{application_id}: transitions repeated {repeated}")
        if consent_requests[application_id] > 1:
            duplicated.append(f"{application_id}: {consent_requests[application_id]} consent requests (codes)")
        for status, at in changes[application_id]:
            if status in ("eligible", "refused"):
                decided_at[application_id] = at.timestamp() - wall_start
        if row["status"] in OPEN_STATUSES:
            stuck.append(f"{application_id} {row['status']} ({'; '.join(journey.problems) or 'no client problem'})")
            continue
        outcome = PASSED if row["number"] and row["status"] == "theory_exam" else row["refusal_code"] or row["status"]
        if outcome != journey.expected:
            wrong.append(f"{application_id}: expected {journey.expected}, got {row['status']} {outcome}")
            continue
        told = PASSED if journey.number else journey.refusal or journey.status
        if (told, journey.number) != (outcome, row["number"]):
            # The database is right but the channel was told otherwise (or never told): it did not finish for them.
            misinformed.append(f"{application_id}: the client holds {told} {journey.number or ''} "
                               f"({'; '.join(journey.problems)}), the database {outcome} {row['number'] or ''}")
            continue
        finished.append(application_id)

    print()
    print(f"kuälik faults run: {len(journeys)} applications over {ended:.0f} s, {os.cpu_count()} cores")
    expected = Counter(j.expected for j in journeys)
    print(f"  expected           {dict(expected)}")
    print(f"  started            {len(journeys)}")
    print(f"  finished           {len(finished)}  (submitted with a number, or refused at the expected step, and the "
          "client told so)")
    for name, items in (("lost", lost), ("stuck", stuck), ("duplicated", duplicated), ("decided wrongly", wrong),
                        ("client misinformed", misinformed)):
        print(f"  {name:<18} {len(items)}")
        for item in items[:20]:
            print(f"      {item}")
        if len(items) > 20:
            print(f"      ... and {len(items) - 20} more")
    latencies = [j.done_at - j.opened_at for j in journeys if j.done_at is not None and j.opened_at is not None]
    if latencies:
        print(f"  journey (open to submitted/refused, client side): median {percentile(latencies, 0.5):.1f} s, "
              f"p95 {percentile(latencies, 0.95):.1f} s, max {max(latencies):.1f} s")
    print("  faults:")
    opened = {str(by_iin[j.citizen['iin']][0]["id"]): j.opened_at for j in journeys if by_iin.get(j.citizen["iin"])}
    for fault in faults:
        if fault.started is None:
            print(f"    {fault.name:<18} not reached")
            continue
        # Hit: opened before the fault ended and not decided before it started.
        hit = [a for a, at in opened.items() if at is not None and at <= fault.ended
               and decided_at.get(a, float("inf")) >= fault.started]
        last = max((decided_at.get(a, float("inf")) for a in hit), default=fault.ended)
        recovery = "never" if last == float("inf") else f"{max(0.0, last - fault.ended):.1f} s"
        errors = Counter(what for at, what in client.errors if fault.started <= at <= fault.ended + 5)
        print(f"    {fault.name:<18} +{fault.started:.0f}s..+{fault.ended:.0f}s ({fault.detail}); "
              f"{len(hit)} applications in flight; all decided {recovery} after it ended")
        for what, n in errors.most_common(6):
            print(f"        client saw {n} x {what}")
    final_notices = set(Notice.objects.filter(application_id__in=finished, event__in=("submitted", "refused"),
                                              channel="sms").values_list("application_id", flat=True))
    missing = [a for a in finished if a not in {str(n) for n in final_notices}]
    unacked = unacked_task_bodies(broker_url)
    waiting = [a for a in missing if any(a in body for body in unacked)]
    print(f"  decision SMS       {len(finished) - len(missing)} of {len(finished)} finished applications got "
          f"theirs (submitted / refused); missing: {', '.join(missing[:10]) or 'none'}"
          f"{' ...' if len(missing) > 10 else ''}")
    if waiting:
        print(f"      of which {len(waiting)} still held by the broker for a killed worker (handed out again after "
              "the visibility timeout)")
    print(f"  processes          {'; '.join(processes.deaths) or 'none died but those the faults killed'}")
    anomalies = Counter(re.sub(r"[0-9a-f-]{36}", "{id}", problem) for j in journeys for problem in j.problems)
    print(f"  client anomalies   {sum(anomalies.values())}" + "".join(
        f"\n      {n} x {problem}" for problem, n in anomalies.most_common(10)))
    failed = bool(lost or stuck or duplicated or wrong or misinformed)
    print(f"  result: {'FAILED' if failed else 'every application finished; none lost, duplicated or wrong'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

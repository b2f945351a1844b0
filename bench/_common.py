"""What the wrk-driven benchmarks share (bench/booking.py, bench/api.py): wrk itself (installed from Debian where
missing), psql, dropping the benchmark's database, running a wrk script and reading its one-line JSON result, and
the one-row DRF write: the floor under any write through this stack."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

# The floor under any write through this stack: an authenticated, throttled DRF POST writing one row.
# What every wrk script of the benchmarks ends with: answers counted by status (and the error code of a 4xx/5xx),
# and one BENCH-RESULT line of JSON that run_wrk_script reads.
WRK_REPORT = r"""
function response(status, headers, body)
  local key = tostring(status)
  if status >= 400 then
    key = key .. " " .. (string.match(body, '"code"%s*:%s*"([%w_]+)"') or "?")
  end
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(threads) do
    for key, value in pairs(thread:get("counts") or {}) do codes[key] = (codes[key] or 0) + value end
  end
  local parts = {}
  for key, value in pairs(codes) do table.insert(parts, string.format('"%s": %d', key, value)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"duration_us": %.0f, "requests": %.0f, "p50_us": %.0f, "p95_us": %.0f, "p99_us": %.0f, ' ..
    '"max_us": %.0f, "connect": %d, "read": %d, "write": %d, "timeout": %d, "codes": {%s}}\n',
    summary.duration, summary.requests, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout, table.concat(parts, ", ")))
end
"""

WRK_ONE_ROW_SCRIPT = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  local key = string.match(args[1] or "", "^key=(.*)$")
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Api-Key " .. key}
end

function request()
  return wrk.format("POST", "/sandbox/bare-write", headers, '{"slot": 1}')
end

""" + WRK_REPORT


def ensure_wrk() -> str:
    """wrk, installed from Debian when missing (as root; else say how)."""
    if found := shutil.which("wrk"):
        return found
    print("wrk is missing: installing the Debian package wrk", flush=True)
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, stdout=subprocess.DEVNULL)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-q"], check=False, stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, stdout=subprocess.DEVNULL)
    if found := shutil.which("wrk"):
        return found
    sys.exit(f"{Path(sys.argv[0]).name} needs wrk: sudo apt-get install wrk")


def psql(database_url: str, sql: str, *, database: str | None = None) -> str:
    url = urlparse(database_url)
    command = ["psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "root",
               "-d", database or url.path.lstrip("/"), "-v", "ON_ERROR_STOP=1", "-qAtc", sql]
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"psql failed on {sql!r}: {finished.stderr.strip()}")
    return finished.stdout


def drop_database(database_url: str) -> None:
    name = urlparse(database_url).path.lstrip("/")
    psql(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', database="postgres")


def run_wrk_script(wrk: str, script: Path, url: str, *, threads: int, connections: int, seconds: float,
                   script_args: list[str], markers: list[Path] = ()) -> dict:
    """Run wrk with a script whose `done` writes `BENCH-RESULT {json}`; once the script has left every one of
    `markers` (its threads ran out of items), wrk is stopped with SIGINT and reports the time actually run. Times in
    the result are in ms."""
    for marker in markers:
        marker.unlink(missing_ok=True)
    command = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "30s",
               "-s", str(script), url, "--", *script_args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ran_out = False
    while process.poll() is None:
        if markers and not ran_out and all(marker.exists() for marker in markers):
            ran_out = True
            process.send_signal(signal.SIGINT)
        time.sleep(0.02)
    stdout, stderr = process.communicate()
    line = next((line for line in stdout.splitlines() if line.startswith("BENCH-RESULT ")), None)
    if line is None:
        sys.exit(f"wrk gave no result:\n{stdout}\n{stderr}")
    result = json.loads(line.removeprefix("BENCH-RESULT "))
    seconds_run = result["duration_us"] / 1e6
    found = {"rate": result["requests"] / seconds_run, "seconds": seconds_run, "requests": result["requests"],
             "ran_out": ran_out}
    for name in ("p50", "p95", "p99", "max"):
        if f"{name}_us" in result:
            found[name] = result[f"{name}_us"] / 1000
    if "codes" in result:
        found["codes"] = dict(sorted(result["codes"].items()))
    found["socket_errors"] = {key: result[key] for key in ("connect", "read", "write", "timeout") if result.get(key)}
    return found


def run_one_row_write(wrk: str, args, workdir: Path, api_key: str) -> dict:
    """The one-row DRF write (`POST /sandbox/bare-write`, sandbox mode) for --seconds, as the API runs are driven."""
    script = workdir / "one_row.lua"
    script.write_text(WRK_ONE_ROW_SCRIPT)
    return run_wrk_script(wrk, script, f"http://127.0.0.1:{args.port}", threads=args.wrk_threads,
                          connections=args.connections, seconds=args.seconds, script_args=[f"key={api_key}"])

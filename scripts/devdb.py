"""Run a command against Pressroom's database, starting the embedded PostgreSQL if needed.

    python scripts/devdb.py run -- COMMAND [ARGS...]

With DATABASE_URL set, COMMAND runs with it unchanged: this script starts nothing and touches no
database. Without it, a private PostgreSQL server is started from the `pgserver` wheel with its
data directory in ./var/postgres (PRESSROOM_VAR_DIR moves ./var), listening on a Unix socket only,
a `pressroom` database is created in it, and COMMAND runs with DATABASE_URL pointing there. The
server is shared by concurrent commands (`make run` and `make test` side by side) and stops when
the last of them exits; its data stays for the next run.

The command's exit status is this script's exit status (128 + N when a signal N ended it, as a
shell reports it; 127 when there is no such command, 126 when it cannot be run, 2 for a command
line without `run --`). Ctrl-C reaches COMMAND directly (same
terminal process group); this script waits for it to finish before stopping the server.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "pressroom"


def var_dir() -> Path:
    return Path(os.environ.get("PRESSROOM_VAR_DIR", BASE_DIR / "var")).resolve()


def start_embedded_server() -> str:
    """Start (or join) the embedded server and return the URL of the `pressroom` database."""
    warnings.filterwarnings("ignore", module="platformdirs")
    try:
        import pgserver
    except ImportError:
        sys.exit(
            "devdb: the embedded PostgreSQL (package `pgserver`) is not installed for this platform.\n"
            "Set DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/NAME to use any PostgreSQL >= 14."
        )
    import psycopg

    data_dir = var_dir() / "postgres"
    data_dir.mkdir(parents=True, exist_ok=True)
    url_file = var_dir() / "postgres.url"

    def stop_if_last_user() -> None:
        # Runs after pgserver's own exit handler (atexit is last-in, first-out). pgserver stops
        # the postmaster it started; after a `pg_ctl restart` (the database-restart test) that
        # process is gone and a new one runs, which it would leave behind. So: if no other
        # command still uses the server, stop whatever postmaster runs on this data directory.
        if (data_dir / "postmaster.pid").exists() and not other_users(data_dir):
            from pgserver._commands import pg_ctl

            try:
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user="pgserver" if os.geteuid() == 0 else None)
            except Exception as error:  # noqa: BLE001 - report and leave it; never mask the exit status
                print(f"devdb: could not stop the embedded PostgreSQL: {error}", file=sys.stderr)
        if not (data_dir / "postmaster.pid").exists():
            url_file.unlink(missing_ok=True)

    atexit.register(stop_if_last_user)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    url = server.get_uri(DATABASE_NAME)
    url_file.write_text(url + "\n")
    print(f"devdb: embedded PostgreSQL, data in {data_dir}, URL {url}", file=sys.stderr, flush=True)
    return url


def other_users(data_dir: Path) -> list[int]:
    """Live processes other than this one that hold the embedded server (pgserver's handle list)."""
    import json

    import psutil

    handles = data_dir / ".handle_pids.json"
    pids = json.loads(handles.read_text()) if handles.exists() else []
    return [pid for pid in pids if pid != os.getpid() and psutil.pid_exists(pid)]


def run(command: list[str]) -> int:
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = start_embedded_server()
    try:
        child = subprocess.Popen(command, env=env)
    except OSError as error:
        # As a shell says it: 127 when there is no such command, 126 when it cannot be run.
        print(f"devdb: cannot run {command[0]!r}: {error.strerror or error}", file=sys.stderr)
        return 127 if isinstance(error, FileNotFoundError) else 126

    def forward(signum, _frame):
        child.send_signal(signum)

    # Ctrl-C already reaches the child through the terminal; we only must outlive it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)
    status = child.wait()
    # Popen gives -N for a child a signal ended; sys.exit(-N) would exit with 256 - N (SIGTERM's 15
    # became 241), which no caller reads as a signal. A shell's 128 + N does (143 for SIGTERM).
    return 128 - status if status < 0 else status


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "run" or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    return run(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

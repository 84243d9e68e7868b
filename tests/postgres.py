"""A throw-away PostgreSQL server for tests and benchmarks: Debian's binaries, a data folder of its own, listening on
127.0.0.1 only, stopped (immediately) afterwards."""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path


def postgres_bin() -> Path | None:
    """The newest installed server's bin folder (apt-get install postgresql), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def postgres_server():
    """Yields a SQLAlchemy URL of a new database on a new server, whose files are removed afterwards."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
    # the server refuses to run as root: it runs as the postgres account then
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    # in /tmp, not below pytest's folders: the postgres account must be able to reach it
    folder = Path(tempfile.mkdtemp(prefix="autodl-postgres-"))
    data = folder / "pgdata"
    data.mkdir()
    if as_owner:
        shutil.chown(folder, "postgres")
        shutil.chown(data, "postgres")
    port = _free_port()

    def run(*command):
        subprocess.run([*as_owner, *command], check=True, capture_output=True, timeout=120, cwd="/")

    run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "autodl", "--no-sync")
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "server.log"), "-o",
        f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "autodl", "autodl")
        yield f"postgresql+psycopg2://autodl@127.0.0.1:{port}/autodl"
    finally:
        subprocess.run([*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=120, cwd="/")
        shutil.rmtree(folder, ignore_errors=True)

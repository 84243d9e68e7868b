"""The Optuna storage URL a search and its workers share (``--storage``), checked before it is used: a malformed
URL, an unknown kind of database, a driver that is not installed, a server that does not answer (or answers with a
refusal) and an SQLite file that is not a database are each one line saying what is wrong and what to do."""
from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import InputDataError

CONNECT_SECONDS = 10  # a server that has not answered by then is taken as unreachable
SQLITE_HEADER = b"SQLite format 3\x00"
# pip packages of the drivers SQLAlchemy imports, by module name (the names differ)
DRIVER_PACKAGES = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "pymysql": "PyMySQL",
                   "MySQLdb": "mysqlclient", "pg8000": "pg8000", "asyncpg": "asyncpg", "oracledb": "oracledb",
                   "pyodbc": "pyodbc"}
EXAMPLES = "postgresql://user:password@host/database (shared by workers) or sqlite:////path/to/search.db"
# words of a driver's message that mean nothing answered at that address
_NO_ANSWER = ("connection refused", "timeout expired", "timed out", "could not translate host name",
              "name or service not known", "no route to host", "network is unreachable", "nodename nor servname")


def safe_url(storage: str) -> str:
    """A storage URL without its password, for messages."""
    try:
        password = urlsplit(storage).password
    except ValueError:  # not even a URL: what follows the last @ cannot be a password
        return storage.split("@")[-1]
    return storage.replace(f":{password}@", ":***@", 1) if password else storage


def check_storage(storage: str, existing: bool = False) -> None:
    """Raises InputDataError unless ``storage`` is a URL SQLAlchemy can use, its driver is installed, and its
    database opens (a server answers and lets us in; an SQLite file is one, or does not exist yet unless
    ``existing``: then it must, and is not created by the check)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    shown = safe_url(storage)
    try:
        url = make_url(storage)
    except (ArgumentError, ValueError, TypeError):
        raise InputDataError(f"the storage {shown!r} is not a database URL", None, f"Give e.g. {EXAMPLES}") from None
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        raise InputDataError(f"the storage {shown} names {url.drivername!r}, a kind of database SQLAlchemy does not "
                             "know", None, f"Give e.g. {EXAMPLES}") from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        module = (exc.name or url.get_driver_name()).split(".")[0]
        other = ", or name the installed driver: postgresql+psycopg2://..." \
            if url.get_backend_name() == "postgresql" and module != "psycopg2" else ""
        raise InputDataError(f"the storage {shown} needs the Python driver {module!r}, which is not installed",
                             None, f"Install it into {sys.executable} (pip install "
                                   f"'{DRIVER_PACKAGES.get(module, module)}'){other}") from None
    if url.get_backend_name() == "sqlite":
        _check_sqlite_file(url.database, shown, existing)
    _check_connection(url, shown)


def _check_sqlite_file(database: str | None, shown: str, existing: bool) -> None:
    if not database or database == ":memory:":
        raise InputDataError(f"the storage {shown} names no database file", None,
                             "Give sqlite:////absolute/path/to/search.db (workers must reach the same file)")
    path = Path(database)
    if not path.parent.is_dir():
        raise InputDataError("cannot hold the search's database: the folder does not exist", path,
                             "Create the folder first, or give another path in the storage URL")
    if existing and not path.is_file():
        raise InputDataError("does not exist: the search's database is missing", path,
                             "Restore it, or start the search again without --resume")
    if path.exists():
        try:
            with open(path, "rb") as file:
                header = file.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise InputDataError(f"cannot be read ({exc.strerror})", path, "Check the file's permissions") from None
        if header and header != SQLITE_HEADER:
            raise InputDataError("is not an SQLite database", path,
                                 "Give the database of the search (or a new file name to start one)")


def _check_connection(url, shown: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    options = {"connect_timeout": CONNECT_SECONDS} if url.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, connect_args=options)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        message = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
        where = f"{url.host}:{url.port or 'default port'}" if url.host else shown
        if url.get_backend_name() == "sqlite":
            raise InputDataError(f"the storage {shown} cannot be opened ({message})", None,
                                 "Give an SQLite file you can write, or a new file name") from None
        if any(words in message.lower() for words in _NO_ANSWER):
            raise InputDataError(f"the storage {shown}: no database server answered at {where} ({message})", None,
                                 "Start the server, or check the host and port in the URL and the firewall") \
                from None
        raise InputDataError(f"the storage {shown}: the server at {where} answered but refused the connection "
                             f"({message})", None, "Check the user, password and database name in the URL") from None
    finally:
        engine.dispose()

"""A pytest plugin: no credential that Stratusec issues during the test session may end up
anywhere the session wrote — stores (SQLite files with the audit table), server logs,
exports, configs — nor in any log record the session emitted.

- :func:`stratusec.operations.access.deliver` (the one place credentials are made) is
  wrapped at configure time; every secret it returns is recorded: the AWS
  ``SecretAccessKey`` and ``SessionToken``, the PostgreSQL password of the URL (parsed with
  :mod:`urllib.parse`) and of the ``.pgpass`` line. Both callers (``stratusec access
  credentials`` and the MCP server's ``request_access``) look ``deliver`` up in the module
  at call time, so patching the module attribute reaches them.
- Credentials a test receives from a subprocess (a CLI or an MCP server it started) are not
  seen by the wrapper: the test hands them over with :func:`record_credentials`.
- A file the user asked the credentials to be written to (``--env-file``) is allowed to
  hold them (the in-process CLI's parameter is read at delivery, see :func:`_cli_env_file`).
- A handler at DEBUG on the root logger keeps every record that reaches it; the
  ``stratusec`` loggers are set to DEBUG, so every record the product emits does.
  Third-party loggers keep their levels (their DEBUG output would only be produced by the
  test process's logging, not by any Stratusec face).
- At the end of the session (on each xdist worker, for what that worker recorded) every
  file under the session's basetemp and every kept record is scanned. A hit prints the
  place and the kind of secret — never the secret — and fails the session.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

#: Shorter values are not recorded (they would match by accident, and are no credential).
MIN_SECRET_LEN = 8
#: Files are read in chunks of this size (with an overlap as long as the longest secret).
CHUNK = 1 << 20


@dataclass(frozen=True)
class Hit:
    where: str
    kind: str

    def __str__(self) -> str:
        return f"{self.kind} in {self.where}"


@dataclass
class Registry:
    """What this process recorded: secret -> kind, and the files allowed to hold them."""

    secrets: dict[str, str] = field(default_factory=dict)
    allowed: set[Path] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, value: Any, kind: str) -> None:
        if not isinstance(value, str) or len(value) < MIN_SECRET_LEN:
            return
        with self.lock:
            self.secrets.setdefault(value, kind)

    def allow(self, path: str | os.PathLike[str]) -> None:
        with self.lock:
            self.allowed.add(Path(path).resolve())


REGISTRY = Registry()


# -- what a delivery returns ------------------------------------------------------------------
def _pgpass_password(line: str) -> str | None:
    """The last field of ``host:port:database:role:password`` (``\\:`` and ``\\\\`` escaped)."""
    fields, cur, i = [], [], 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line):
            cur.append(line[i + 1])
            i += 2
            continue
        if ch == ":":
            fields.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    fields.append("".join(cur))
    return fields[4] if len(fields) == 5 else None


def secrets_of(creds: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(secret, kind) pairs of what :func:`deliver` returned."""
    out: list[tuple[str, str]] = []
    for key in ("SecretAccessKey", "SessionToken"):
        if creds.get(key):
            out.append((str(creds[key]), f"AWS {key}"))
    url = creds.get("url")
    if isinstance(url, str) and url:
        raw = urlsplit(url).password
        if raw:
            out.append((unquote(raw), "PostgreSQL password"))
            if unquote(raw) != raw:
                out.append((raw, "PostgreSQL password (URL-encoded)"))
    line = creds.get("pgpass")
    if isinstance(line, str) and line:
        pw = _pgpass_password(line)
        if pw:
            out.append((pw, "PostgreSQL password"))
    return out


def record_credentials(
    creds: Mapping[str, Any], *, env_file: str | os.PathLike[str] | None = None
) -> None:
    """Record the secrets of one delivery (for credentials a test got from a subprocess)."""
    for value, kind in secrets_of(creds):
        REGISTRY.add(value, kind)
    if env_file:
        REGISTRY.allow(env_file)


def _cli_env_file() -> Any:
    """The ``--env-file`` of the CLI command running in this process, if any: from its
    click context (Typer vendors click as ``typer._click``), else from ``sys.argv`` (what
    ``tests.cli_helpers.run_cli`` and the real entry point both set)."""
    import importlib

    for name in ("typer._click.globals", "click.globals"):
        try:
            ctx = importlib.import_module(name).get_current_context(silent=True)
        except (ImportError, AttributeError):
            continue
        while ctx is not None:
            value = ctx.params.get("env_file")
            if value:
                return value
            ctx = ctx.parent
    argv = list(sys.argv)
    for n, arg in enumerate(argv):
        if arg == "--env-file" and n + 1 < len(argv):
            return argv[n + 1]
        if arg.startswith("--env-file="):
            return arg.split("=", 1)[1]
    return None


def _wrap(fn: Any) -> Any:
    if getattr(fn, "__issued_secrets_wrapped__", False):
        return fn

    @functools.wraps(fn)
    def deliver(*args: Any, **kwargs: Any) -> Any:
        env_file = _cli_env_file()
        result = fn(*args, **kwargs)
        if isinstance(result, Mapping):
            record_credentials(result, env_file=env_file)
        return result

    deliver.__issued_secrets_wrapped__ = True  # type: ignore[attr-defined]
    return deliver


def install() -> None:
    """Wrap ``deliver`` in its module (and in any loaded module that imported it by name)."""
    from stratusec.operations import access

    original = access.deliver
    wrapped = _wrap(original)
    access.deliver = wrapped
    for mod in list(sys.modules.values()):
        name = getattr(mod, "__name__", "")
        if name.startswith("stratusec.") and getattr(mod, "deliver", None) is original:
            mod.deliver = wrapped  # type: ignore[attr-defined]


# -- log records --------------------------------------------------------------------------------
class KeepRecords(logging.Handler):
    """Keeps the text of every record (message, exception, stack) with its logger name."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[tuple[str, str]] = []
        self._fmt = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            parts = [record.getMessage()]
        except Exception:  # a broken format string: keep its pieces
            parts = [str(record.msg), repr(record.args)]
        if record.exc_info:
            parts.append(self._fmt.formatException(record.exc_info))
        elif record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        self.texts.append((record.name, "\n".join(parts)))


HANDLER = KeepRecords()


def _attach_handler() -> None:
    root = logging.getLogger()
    if HANDLER not in root.handlers:
        root.addHandler(HANDLER)


# -- the scan -----------------------------------------------------------------------------------
def _needles(secrets: Mapping[str, str]) -> list[tuple[bytes, str]]:
    return [(s.encode("utf-8"), kind) for s, kind in secrets.items()]


def _file_kinds(path: Path, needles: list[tuple[bytes, str]]) -> set[str]:
    found: set[str] = set()
    overlap = max((len(n) for n, _ in needles), default=1) - 1
    tail = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            buf = tail + chunk
            for needle, kind in needles:
                if kind not in found and needle in buf:
                    found.add(kind)
            tail = buf[-overlap:] if overlap > 0 else b""
    return found


def _files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        dirnames[:] = [n for n in dirnames if not (d / n).is_symlink()]
        for name in filenames:
            p = d / name
            if p.is_file() and not p.is_symlink():
                yield p


def scan(
    root: Path | None,
    secrets: Mapping[str, str],
    *,
    allowed: Iterable[Path] = (),
    records: Iterable[tuple[str, str]] = (),
) -> list[Hit]:
    """Every file under ``root`` (except ``allowed``) and every (logger, text) record that
    holds one of ``secrets``: where, and which kind of secret."""
    if not secrets:
        return []
    needles = _needles(secrets)
    skip = {Path(p).resolve() for p in allowed}
    hits: list[Hit] = []
    if root is not None and root.exists():
        for path in sorted(_files(root)):
            if path.resolve() in skip:
                continue
            try:
                kinds = _file_kinds(path, needles)
            except OSError:
                continue
            hits.extend(Hit(str(path), kind) for kind in sorted(kinds))
    for n, (logger, text) in enumerate(records):
        for secret, kind in secrets.items():
            if secret in text:
                hits.append(Hit(f"log record #{n} of logger {logger!r}", kind))
    return hits


# -- hooks --------------------------------------------------------------------------------------
_HITS_KEY = "issued_secret_hits"
#: On an xdist controller: what the workers found.
_WORKER_HITS: list[str] = []


def _basetemp(config: pytest.Config) -> Path | None:
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None:
        return None
    try:
        return Path(factory.getbasetemp())
    except Exception:
        return None


def _report(config: pytest.Config, hits: list[str]) -> None:
    tr = config.pluginmanager.get_plugin("terminalreporter")
    title = f"issued secrets found outside the allowed files: {len(hits)}"
    if tr is not None:
        tr.ensure_newline()
        tr.write_sep("=", title, red=True, bold=True)
        for h in hits:
            tr.write_line(f"  {h}")
    else:  # pragma: no cover - -p no:terminal
        print(title, *hits, sep="\n  ", file=sys.stderr)


def pytest_configure(config: pytest.Config) -> None:
    install()
    logging.getLogger("stratusec").setLevel(logging.DEBUG)
    _attach_handler()


def pytest_runtest_setup(item: pytest.Item) -> None:
    # A face that configures logging in-process (mcp serve) replaces the root handlers.
    _attach_handler()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist controller: collect what a worker found."""
    output = getattr(node, "workeroutput", None) or {}
    worker = getattr(getattr(node, "gateway", None), "id", "worker")
    _WORKER_HITS.extend(f"[{worker}] {h}" for h in output.get(_HITS_KEY) or [])


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    with REGISTRY.lock:
        secrets = dict(REGISTRY.secrets)
        allowed = set(REGISTRY.allowed)
    found = scan(_basetemp(config), secrets, allowed=allowed, records=list(HANDLER.texts))
    hits = [str(h) for h in found]
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller reports it too
        workeroutput[_HITS_KEY] = hits
    hits = [*_WORKER_HITS, *hits]
    if hits:
        _report(config, hits)
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    logging.getLogger().removeHandler(HANDLER)

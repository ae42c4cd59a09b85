"""The embedded graph store (Ladybug): one database file per build, switched atomically.

Layout under ``<STRATUSEC_HOME>/graph/<account>/``::

    current               the build id readers open (written to a temp file, os.replace'd)
    <build-id>.lbdb       one complete graph, never written again once ``current`` names it
    <build-id>.lock       readers hold a shared flock on it while they use the build
    build.lock            one writer per account at a time

``replace`` writes CSV files, bulk-loads them into a NEW database file (``COPY``, once
per table), closes it, then switches ``current``. Readers open the build ``current``
names with a ``read_only=True`` handle and keep it until they close, so a reader sees
one complete build, never a half-built one. After the switch the previous build is kept
and older builds that no reader holds are deleted.

User Cypher passes ``readonly.check_read_only`` first; the read-only handle is the
second wall.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import ladybug as lb

from stratusec import paths
from stratusec.errors import NotFoundError, StratusecError
from stratusec.graph import schema
from stratusec.graph.readonly import ReadOnlyViolation
from stratusec.graph.store import (
    DEFAULT_LIMIT,
    DEFAULT_TIMEOUT_MS,
    BuildInfo,
    GraphChangedError,
    GraphQueryError,
    GraphTimeoutError,
    QueryResult,
    check_account,
    checked_query,
    jsonable,
    new_build_id,
    truncation_message,
)

log = logging.getLogger(__name__)

MIB = 1024 * 1024
BUILD_ID = re.compile(r"^\d{8}T\d{6}-\d{6}-[0-9a-f]{6}$")
LIST_SEP = "\x1f"  # joins STRING[] items in the CSV files (rejected inside items)


def _threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _cypher_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _engine_error(exc: Exception, timeout_ms: int) -> StratusecError:
    msg = str(exc).strip()
    if msg.startswith("Interrupted"):
        return GraphTimeoutError(
            f"query stopped: it ran longer than its time limit of {timeout_ms:,} ms",
            hint="bound variable-length paths, anchor the MATCH on a uid, or add LIMIT",
        )
    if "read-only" in msg:
        return ReadOnlyViolation(f"refused by the read-only database: {msg}")
    return GraphQueryError(f"invalid graph query: {msg}")


class _Handle:
    """One read-only database handle on one build, reference counted; the shared flock
    on ``<build>.lock`` keeps the build's files from being deleted while it is open."""

    def __init__(self, build_id: str, db: lb.Database, lock_fd: int) -> None:
        self.build_id = build_id
        self.db = db
        self.lock_fd = lock_fd
        self.refs = 1
        self.mutex = threading.Lock()

    def acquire(self) -> _Handle:
        with self.mutex:
            if self.refs <= 0:
                raise GraphChangedError("graph handle already closed")
            self.refs += 1
        return self

    def release(self) -> None:
        with self.mutex:
            self.refs -= 1
            if self.refs != 0:
                return
        try:
            self.db.close()
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
            os.close(self.lock_fd)


class LadybugReader:
    """A reader pinned to one build until closed."""

    def __init__(self, handle: _Handle, *, threads: int) -> None:
        self._handle = handle
        self._threads = threads
        self._closed = False
        self.build_id = handle.build_id

    def __enter__(self) -> LadybugReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._handle.release()

    def query(
        self,
        cypher: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> QueryResult:
        """Run one user statement: allowlist first, then the read-only handle."""
        statement, bound = checked_query(cypher, params, limit, timeout_ms, "ladybug")
        return self._execute_unchecked(statement, bound, limit=limit, timeout_ms=timeout_ms)

    def _execute_unchecked(
        self,
        cypher: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> QueryResult:
        """Run Cypher on the read-only handle WITHOUT the allowlist (internal queries and
        tests proving the handle itself refuses writes). Never pass user text here."""
        if self._closed:
            raise GraphChangedError("this graph reader is closed")
        conn = lb.Connection(self._handle.db, num_threads=self._threads)
        try:
            conn.set_query_timeout(timeout_ms)
            started = time.perf_counter()
            try:
                result = conn.execute(cypher, dict(params or {}))
            except RuntimeError as exc:
                raise _engine_error(exc, timeout_ms) from None
            if isinstance(result, list):  # ';'-chained: never from the allowlisted path
                for r in result:
                    r.close()
                raise ReadOnlyViolation("only one statement is allowed per query")
            try:
                columns = [str(c) for c in result.get_column_names()]
                rows: list[list[Any]] = []
                while len(rows) <= limit and result.has_next():
                    rows.append([jsonable(v) for v in result.get_next()])
            except RuntimeError as exc:
                raise _engine_error(exc, timeout_ms) from None
            finally:
                result.close()
            elapsed = (time.perf_counter() - started) * 1000
        finally:
            conn.close()
        truncated = len(rows) > limit
        if truncated:
            del rows[limit:]
        return QueryResult(
            columns=columns,
            rows=rows,
            truncated=truncated,
            elapsed_ms=elapsed,
            limit=limit,
            build_id=self.build_id,
            message=truncation_message(limit) if truncated else None,
        )

    def counts(self) -> dict[str, Any]:
        kinds = self._execute_unchecked(
            f"MATCH (n:{schema.NODE_LABEL}) RETURN n.kind, count(*)", limit=100_000
        ).rows
        rels = self._execute_unchecked(
            "MATCH ()-[r]->() RETURN label(r), count(*)", limit=1000
        ).rows
        by_kind = {str(k): int(n) for k, n in sorted(kinds, key=lambda r: str(r[0]))}
        by_rel = {t: 0 for t in schema.REL_TYPES}
        for t, n in rels:
            by_rel[str(t)] = int(n)
        return {
            "build_id": self.build_id,
            "labels": {schema.NODE_LABEL: sum(by_kind.values())},
            "kinds": by_kind,
            "relationships": by_rel,
            "total_nodes": sum(by_kind.values()),
            "total_relationships": sum(by_rel.values()),
        }


@contextlib.contextmanager
def _flock(path: Path, mode: int) -> Iterator[int]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield fd
    finally:
        os.close(fd)


class _CsvSink:
    """One CSV file per table. ``multiline``: some value spans lines, and the parallel
    CSV reader rejects quoted newlines, so the file is loaded with parallel=false."""

    def __init__(self, path: Path, header: list[str], list_columns: tuple[int, ...] = ()) -> None:
        self.path = path
        self.file: IO[str] = path.open("w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.file, lineterminator="\n")
        self.writer.writerow(header)
        self.list_columns = list_columns
        self.rows = 0
        self.multiline = False

    def write(self, values: list[Any]) -> None:
        for i in self.list_columns:
            values[i] = LIST_SEP.join(values[i]) if values[i] else None
        self.writer.writerow(values)  # None -> empty field (NULL), bool -> True/False
        self.rows += 1

    def close(self) -> None:
        self.file.close()
        newlines = 0
        with self.path.open("rb") as f:
            while chunk := f.read(1 << 22):
                if b"\r" in chunk:
                    self.multiline = True
                    return
                newlines += chunk.count(b"\n")
        self.multiline = newlines != self.rows + 1


class LadybugStore:
    """The embedded graph store. Thread-safe; one instance per process is enough."""

    backend = "ladybug"

    def __init__(
        self,
        root: Path | None = None,
        *,
        read_buffer_bytes: int = 256 * MIB,
        build_buffer_bytes: int = 1024 * MIB,
        max_threads: int | None = None,
    ) -> None:
        self.root = root if root is not None else paths.home() / "graph"
        self.read_buffer_bytes = read_buffer_bytes
        self.build_buffer_bytes = build_buffer_bytes
        self.threads = max_threads or _threads()
        self._mutex = threading.Lock()
        self._handles: dict[str, _Handle] = {}
        self._closed = False

    # --- layout -------------------------------------------------------------------------

    def account_dir(self, account: str) -> Path:
        return self.root / check_account(account)

    @staticmethod
    def _read_pointer(acct_dir: Path) -> str | None:
        try:
            text = (acct_dir / "current").read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return text if BUILD_ID.match(text) else None

    @staticmethod
    def _write_pointer(acct_dir: Path, build_id: str) -> None:
        tmp = acct_dir / f".current-{build_id}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (build_id + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, acct_dir / "current")
        dfd = os.open(acct_dir, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def accounts(self) -> list[str]:
        if not self.root.is_dir():
            return []
        out = []
        for d in sorted(self.root.iterdir()):
            bid = self._read_pointer(d) if d.is_dir() else None
            if bid and (d / f"{bid}.lbdb").is_file():
                out.append(d.name)
        return out

    def current_build(self, account: str) -> str | None:
        return self._read_pointer(self.account_dir(account))

    def _not_found(self, account: str) -> NotFoundError:
        have = self.accounts()
        return NotFoundError(
            f"no security graph has been built for account {account!r}; "
            + (f"accounts with a graph: {', '.join(have)}" if have else "no graph built yet")
        )

    # --- readers ------------------------------------------------------------------------

    def _open_handle(self, account: str) -> _Handle:
        acct_dir = self.account_dir(account)
        for _attempt in range(10):
            build_id = self._read_pointer(acct_dir)
            if build_id is None:
                raise self._not_found(account)
            try:
                fd = os.open(acct_dir / f"{build_id}.lock", os.O_RDWR)
            except FileNotFoundError:
                continue  # deleted between reading the pointer and opening: look again
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
                db_file = acct_dir / f"{build_id}.lbdb"
                if os.fstat(fd).st_nlink == 0 or not db_file.is_file():
                    os.close(fd)
                    continue
                db = lb.Database(
                    str(db_file),
                    read_only=True,
                    buffer_pool_size=self.read_buffer_bytes,
                    max_num_threads=self.threads,
                )
            except RuntimeError as exc:
                os.close(fd)
                raise StratusecError(
                    f"cannot open the graph of account {account!r} (build {build_id}): {exc}",
                    hint="rebuild the graph",
                ) from None
            except BaseException:
                os.close(fd)
                raise
            return _Handle(build_id, db, fd)
        raise GraphChangedError(
            f"the graph of account {account!r} kept changing while opening it; try again"
        )

    def snapshot(self, account: str) -> LadybugReader:
        """A reader pinned to the current build: it keeps seeing that build, complete,
        across rebuilds until it is closed."""
        if self._closed:
            raise StratusecError("graph store is closed")
        acct_dir = self.account_dir(account)
        current = self._read_pointer(acct_dir)
        if current is None:
            raise self._not_found(account)
        with self._mutex:
            cached = self._handles.get(account)
            if cached is not None and cached.build_id == current:
                return LadybugReader(cached.acquire(), threads=self.threads)
        handle = self._open_handle(account)
        with self._mutex:
            old = self._handles.get(account)
            if old is not None and old.build_id == handle.build_id:
                handle.release()  # another thread opened the same build first
                return LadybugReader(old.acquire(), threads=self.threads)
            self._handles[account] = handle  # the cache holds the opening reference
            if old is not None:
                old.release()
            return LadybugReader(handle.acquire(), threads=self.threads)

    def query(
        self,
        account: str,
        cypher: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> QueryResult:
        statement, bound = checked_query(cypher, params, limit, timeout_ms, "ladybug")
        with self.snapshot(account) as reader:
            result = reader._execute_unchecked(statement, bound, limit=limit, timeout_ms=timeout_ms)
        result.account = account
        return result

    def counts(self, account: str) -> dict[str, Any]:
        with self.snapshot(account) as reader:
            return reader.counts()

    def _drop_stale_handle(self, account: str, current: str) -> None:
        """Let go of this store's cached handle on an older build (readers that still use
        it keep it open until they close)."""
        with self._mutex:
            old = self._handles.get(account)
            if old is None or old.build_id == current:
                return
            del self._handles[account]
        old.release()

    def close(self) -> None:
        with self._mutex:
            self._closed = True
            handles, self._handles = list(self._handles.values()), {}
        for h in handles:
            h.release()

    # --- writer -------------------------------------------------------------------------

    def replace(
        self,
        account: str,
        nodes: Iterable[Mapping[str, Any]],
        edges: Iterable[Mapping[str, Any]],
        *,
        strict: bool = False,
    ) -> BuildInfo:
        started = time.perf_counter()
        acct_dir = self.account_dir(account)
        acct_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _flock(acct_dir / "build.lock", fcntl.LOCK_EX):
            build_id = new_build_id()
            staging = acct_dir / f".tmp-{build_id}"
            staging.mkdir(mode=0o700)
            db_file = acct_dir / f"{build_id}.lbdb"
            phases: dict[str, float] = {}
            try:
                t = time.perf_counter()
                node_sink, edge_sinks, skipped = self._write_csv(staging, nodes, edges, strict)
                phases["validate_and_stage_s"] = time.perf_counter() - t
                t = time.perf_counter()
                self._load(db_file, node_sink, edge_sinks)
                phases["bulk_load_s"] = time.perf_counter() - t
                lock = acct_dir / f"{build_id}.lock"
                os.close(os.open(lock, os.O_RDWR | os.O_CREAT, 0o600))
                previous = self._read_pointer(acct_dir)
                self._write_pointer(acct_dir, build_id)
            except BaseException:
                self._delete_build(acct_dir, build_id)
                raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            t = time.perf_counter()
            self._drop_stale_handle(account, build_id)
            self._cleanup(acct_dir, keep={build_id, *([previous] if previous else [])})
            phases["cleanup_s"] = time.perf_counter() - t
        return BuildInfo(
            account=account,
            build_id=build_id,
            nodes=node_sink.rows,
            edges={t: s.rows for t, s in edge_sinks.items()},
            skipped_edges=skipped,
            seconds=time.perf_counter() - started,
            location=str(db_file),
            phases=phases,
        )

    def _write_csv(
        self,
        staging: Path,
        nodes: Iterable[Mapping[str, Any]],
        edges: Iterable[Mapping[str, Any]],
        strict: bool,
    ) -> tuple[_CsvSink, dict[str, _CsvSink], int]:
        names = [p.name for p in schema.NODE.properties]
        node_sink = _CsvSink(staging / "nodes.csv", names)
        uids: set[str] = set()
        try:
            for raw in nodes:
                values = schema.node_values(raw)
                uid = values[0]
                if uid in uids:
                    raise schema.RowError(f"duplicate node uid {uid!r}")
                uids.add(uid)
                node_sink.write(values)
        finally:
            node_sink.close()
        sinks: dict[str, _CsvSink] = {}
        skipped = 0
        try:
            for raw in edges:
                etype, src, dst, values = schema.edge_values(raw)
                if src not in uids or dst not in uids:
                    if strict:
                        missing = src if src not in uids else dst
                        raise schema.RowError(
                            f"{etype} edge {src!r} -> {dst!r}: no node with uid {missing!r}"
                        )
                    skipped += 1
                    continue
                sink = sinks.get(etype)
                if sink is None:
                    rel = schema.REL_BY_TYPE[etype]
                    header = ["_src", "_dst", *(p.name for p in rel.properties)]
                    lists = tuple(
                        i + 2 for i, p in enumerate(rel.properties) if p.type == "STRING[]"
                    )
                    sink = sinks[etype] = _CsvSink(staging / f"{etype}.csv", header, lists)
                sink.write([src, dst, *values])
        finally:
            for s in sinks.values():
                s.close()
        if skipped:
            log.warning("graph build: skipped %d edges whose ends are not nodes", skipped)
        return node_sink, sinks, skipped

    def _load(self, db_file: Path, node_sink: _CsvSink, edge_sinks: dict[str, _CsvSink]) -> None:
        db = lb.Database(
            str(db_file),
            buffer_pool_size=self.build_buffer_bytes,
            max_num_threads=self.threads,
        )
        try:
            conn = lb.Connection(db, num_threads=self.threads)
            try:
                for ddl in ladybug_ddl():
                    conn.execute(ddl)
                if node_sink.rows:
                    conn.execute(
                        f"COPY {schema.NODE_LABEL} FROM {_cypher_string(str(node_sink.path))} "
                        f"(header=true, parallel={'false' if node_sink.multiline else 'true'})"
                    )
                for rel_type, sink in edge_sinks.items():
                    if sink.rows:
                        conn.execute(_copy_rel(schema.REL_BY_TYPE[rel_type], sink))
            except RuntimeError as exc:
                raise StratusecError(f"graph bulk load failed: {exc}") from None
            finally:
                conn.close()
        finally:
            db.close()

    def _delete_build(self, acct_dir: Path, build_id: str) -> None:
        for f in acct_dir.glob(f"{build_id}.lbdb*"):
            with contextlib.suppress(FileNotFoundError):
                f.unlink()
        with contextlib.suppress(FileNotFoundError):
            (acct_dir / f"{build_id}.lock").unlink()

    def _cleanup(self, acct_dir: Path, keep: set[str]) -> None:
        """Delete builds other than ``keep`` that no reader holds (called under the
        account's build lock, so no other build is in progress)."""
        builds: set[str] = set()
        for f in acct_dir.iterdir():
            stem = f.name.split(".", 1)[0]
            if BUILD_ID.match(stem) and (f.suffix in (".lbdb", ".lock") or ".lbdb" in f.name):
                builds.add(stem)
            elif f.name.startswith((".tmp-", ".current-")) and f.name.split("-", 1)[1] not in keep:
                if f.is_dir():
                    shutil.rmtree(f, ignore_errors=True)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        f.unlink()
        for build_id in sorted(builds - keep):
            lock = acct_dir / f"{build_id}.lock"
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a reader still uses it: the next rebuild tries again
                for f in acct_dir.glob(f"{build_id}.lbdb*"):
                    with contextlib.suppress(FileNotFoundError):
                        f.unlink()
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()  # readers waiting on this lock see st_nlink == 0
            finally:
                os.close(fd)


def ladybug_ddl() -> list[str]:
    """CREATE TABLE statements for the schema."""
    cols = ", ".join(f"{p.name} {p.storage_type}" for p in schema.NODE.properties)
    pk = schema.NODE.primary_key.name
    out = [f"CREATE NODE TABLE {schema.NODE_LABEL}({cols}, PRIMARY KEY ({pk}))"]
    for rel in schema.RELS:
        props = "".join(f", {p.name} {p.storage_type}" for p in rel.properties)
        out.append(f"CREATE REL TABLE {rel.type}(FROM {rel.source} TO {rel.target}{props})")
    return out


def _copy_rel(rel: schema.RelTable, sink: _CsvSink) -> str:
    opts = f"(header=true, parallel={'false' if sink.multiline else 'true'})"
    path = _cypher_string(str(sink.path))
    if not rel.has_list:
        return f"COPY {rel.type} FROM {path} {opts}"
    # STRING[] items may hold commas, quotes or brackets, which the CSV list syntax does
    # not escape: load the column as text joined by LIST_SEP and split it in a subquery.
    cols = [("_src", "STRING"), ("_dst", "STRING")] + [
        (p.name, "STRING" if p.type == "STRING[]" else p.storage_type) for p in rel.properties
    ]
    headers = ", ".join(f"{n} {t}" for n, t in cols)
    values = ["_src", "_dst"]
    for p in rel.properties:
        if p.type == "STRING[]":
            values.append(
                f"CASE WHEN {p.name} IS NULL THEN CAST([] AS STRING[]) "
                f"ELSE string_split({p.name}, '\\u001f') END"
            )
        else:
            values.append(p.name)
    return (
        f"COPY {rel.type} FROM (LOAD WITH HEADERS ({headers}) FROM {path} {opts} "
        f"RETURN {', '.join(values)})"
    )

"""PostgreSQL just-in-time grants: a temporary LOGIN role, valid until the grant expires,
holding exactly the requested privileges; revocation and reaping drop it.

A pure library module: the caller owns policy, approvals, audit and delivery. The password
is generated here, hashed client-side (SCRAM-SHA-256, so the server and its statement log
never see it) and returned once inside a :class:`PgGrant`, whose repr omits it. Every
identifier reaches SQL through :class:`psycopg.sql.Identifier`, never string formatting.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import psycopg
from psycopg import sql

from stratusec.errors import StratusecError

__all__ = [
    "SCHEMA_PRIVILEGES",
    "TABLE_PRIVILEGES",
    "VALID_PRIVILEGES",
    "PgGrant",
    "PgGrantError",
    "PgPrivilege",
    "create_grant",
    "parse_privileges",
    "reap_expired",
    "revoke_grant",
    "verify_grant",
]

DEFAULT_PREFIX = "stx_jit_"
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
SCHEMA_PRIVILEGES = ("USAGE",)
VALID_PRIVILEGES = TABLE_PRIVILEGES + SCHEMA_PRIVILEGES
# Plain (unquoted-style) identifiers only: no quotes, spaces, dots or semicolons can slip in.
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_SPEC = re.compile(r"^\s*(\S+)\s+on\s+(?:(schema)\s+(\S+)|(\S+))\s*$", re.IGNORECASE)
_MAX_ROLE_LEN = 63
_REAP_BATCH = 250
_FORMAT_HELP = '"PRIVILEGE on schema.table" or "PRIVILEGE on schema NAME"'


class PgGrantError(StratusecError):
    """A PostgreSQL grant could not be parsed, created, revoked or reaped."""


@dataclass(frozen=True)
class PgPrivilege:
    """One privilege: on ``schema.table``, or (``table=None``) on every table in the schema
    (or on the schema itself for ``USAGE``)."""

    privilege: str
    schema: str
    table: str | None = None

    def __str__(self) -> str:
        target = f"{self.schema}.{self.table}" if self.table else f"schema {self.schema}"
        return f"{self.privilege} on {target}"


@dataclass
class PgGrant:
    """A created grant. ``password`` is excluded from repr; deliver it once via ``url()`` or
    ``pgpass_line()``."""

    role: str
    password: str = field(repr=False)
    expires_at: datetime
    privileges: list[PgPrivilege]
    database: str
    host: str
    port: int

    def __str__(self) -> str:
        privs = ", ".join(str(p) for p in self.privileges)
        return (
            f"PostgreSQL role {self.role} on {self.host}:{self.port}/{self.database} "
            f"until {self.expires_at.isoformat()} ({privs})"
        )

    def url(self) -> str:
        """``postgresql://role:password@host:port/database`` (contains the secret)."""
        host = self.host
        if host.startswith("/"):  # a Unix-socket directory: percent-encode it
            host = quote(host, safe="")
        elif ":" in host:  # IPv6 literal
            host = f"[{host}]"
        return (
            f"postgresql://{quote(self.role, safe='')}:{quote(self.password, safe='')}"
            f"@{host}:{self.port}/{quote(self.database, safe='')}"
        )

    def pgpass_line(self) -> str:
        """A ``~/.pgpass`` line ``host:port:database:role:password`` (contains the secret)."""
        parts = [self.host, str(self.port), self.database, self.role, self.password]
        return ":".join(p.replace("\\", "\\\\").replace(":", "\\:") for p in parts)


def _check_ident(name: str, what: str) -> str:
    if not _IDENT.match(name):
        raise PgGrantError(
            f"invalid {what} name {name!r}: use letters, digits, '_' or '$' "
            "(starting with a letter or '_', at most 63 characters)"
        )
    return name


def parse_privileges(spec: list[str]) -> list[PgPrivilege]:
    """Parse ``["SELECT on public.orders", "USAGE on schema analytics", ...]``.

    ``PRIVILEGE on schema.table`` grants on one table; ``PRIVILEGE on schema NAME`` grants a
    table privilege on every table in the schema, or ``USAGE`` on the schema itself.
    Duplicates are dropped; order is kept.
    """
    if isinstance(spec, str):
        raise PgGrantError(f"privileges must be a list of strings such as {_FORMAT_HELP}")
    if not spec:
        raise PgGrantError(f"no privileges requested: give at least one {_FORMAT_HELP}")
    out: list[PgPrivilege] = []
    for item in spec:
        if not isinstance(item, str):
            raise PgGrantError(f"privilege {item!r} is not a string: use {_FORMAT_HELP}")
        m = _SPEC.match(item)
        if not m:
            raise PgGrantError(f"cannot parse privilege {item!r}: use {_FORMAT_HELP}")
        priv = m.group(1).upper()
        if priv not in VALID_PRIVILEGES:
            raise PgGrantError(
                f"unknown privilege {m.group(1)!r} in {item!r}; valid privileges: "
                f"{', '.join(TABLE_PRIVILEGES)} (tables) and {', '.join(SCHEMA_PRIVILEGES)} "
                "(schemas)"
            )
        if m.group(2):  # "on schema NAME"
            schema, table = _check_ident(m.group(3), "schema"), None
        else:
            target = m.group(4)
            if target.count(".") != 1:
                raise PgGrantError(
                    f"cannot parse target {target!r} in {item!r}: name the table as "
                    "schema.table (e.g. public.orders) or the schema as 'schema NAME'"
                )
            s, t = target.split(".")
            schema, table = _check_ident(s, "schema"), _check_ident(t, "table")
            if priv in SCHEMA_PRIVILEGES:
                raise PgGrantError(
                    f"{priv} applies to schemas, not tables: use '{priv} on schema {schema}'; "
                    f"table privileges are {', '.join(TABLE_PRIVILEGES)}"
                )
        p = PgPrivilege(priv, schema, table)
        if p not in out:
            out.append(p)
    return out


def _check_prefix(prefix: str) -> str:
    if not re.match(r"^[a-z_][a-z0-9_]{2,39}$", prefix):
        raise PgGrantError(
            f"invalid role prefix {prefix!r}: 3-40 lowercase letters, digits or '_', "
            "not starting with a digit"
        )
    if prefix.startswith("pg_"):
        raise PgGrantError(f"invalid role prefix {prefix!r}: 'pg_' is reserved by PostgreSQL")
    return prefix


def _aware(ts: datetime, what: str) -> datetime:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise PgGrantError(f"{what} must be timezone-aware (e.g. datetime.now(UTC))")
    return ts


@contextmanager
def _connect(admin_url: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """Connect as the broker's admin role; errors name the server but never the URL (which
    may hold the admin password)."""
    try:
        conn = psycopg.connect(admin_url, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as exc:
        try:
            info = psycopg.conninfo.conninfo_to_dict(admin_url)
            where = f"{info.get('host', 'localhost')}:{info.get('port', 5432)}"
            where += f"/{info.get('dbname', '')}"
        except psycopg.Error:
            where = "the configured server"
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise PgGrantError(f"cannot connect to PostgreSQL at {where}: {reason}") from None
    try:
        yield conn
    finally:
        conn.close()


def _db_error(action: str, exc: psycopg.Error) -> PgGrantError:
    diag = exc.diag.message_primary or str(exc).strip().splitlines()[0]
    return PgGrantError(f"{action} failed: {diag}")


def _verify_targets(cur: psycopg.Cursor, privileges: list[PgPrivilege]) -> None:
    for schema in sorted({p.schema for p in privileges}):
        cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        if cur.fetchone() is None:
            raise PgGrantError(f"schema {schema!r} does not exist in this database")
    for p in privileges:
        if p.table is None:
            continue
        cur.execute(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r','p','v','m','f')",
            (p.schema, p.table),
        )
        if cur.fetchone() is None:
            raise PgGrantError(f"table {p.schema}.{p.table} does not exist in this database")


def create_grant(
    admin_url: str,
    privileges: list[PgPrivilege],
    expires_at: datetime,
    *,
    prefix: str = DEFAULT_PREFIX,
) -> PgGrant:
    """Create a temporary LOGIN role valid until ``expires_at`` with CONNECT on the database,
    USAGE on the named schemas and exactly ``privileges``. Every named schema and table is
    checked first; on any error nothing is created (one transaction)."""
    _check_prefix(prefix)
    _aware(expires_at, "expires_at")
    if expires_at <= datetime.now(UTC):
        raise PgGrantError(f"expires_at {expires_at.isoformat()} is not in the future")
    if not privileges:
        raise PgGrantError("no privileges requested")
    for p in privileges:
        if not isinstance(p, PgPrivilege):
            raise PgGrantError(f"{p!r} is not a PgPrivilege (use parse_privileges)")
        if p.privilege not in VALID_PRIVILEGES:
            raise PgGrantError(
                f"unknown privilege {p.privilege!r}; valid: {', '.join(VALID_PRIVILEGES)}"
            )
        if p.privilege in SCHEMA_PRIVILEGES and p.table is not None:
            raise PgGrantError(f"{p.privilege} applies to schemas, not tables")
        _check_ident(p.schema, "schema")
        if p.table is not None:
            _check_ident(p.table, "table")

    role = prefix + secrets.token_hex(8)
    assert len(role) <= _MAX_ROLE_LEN
    password = secrets.token_urlsafe(32)
    role_id = sql.Identifier(role)
    with _connect(admin_url) as conn:
        database, host, port = conn.info.dbname, conn.info.host, conn.info.port
        try:
            with conn.transaction(), conn.cursor() as cur:
                _verify_targets(cur, privileges)
                # The server gets only the SCRAM verifier, never the password itself.
                verifier = conn.pgconn.encrypt_password(
                    password.encode(), role.encode(), b"scram-sha-256"
                ).decode()
                cur.execute(
                    sql.SQL(
                        "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT "
                        "NOREPLICATION NOBYPASSRLS PASSWORD {} VALID UNTIL {}"
                    ).format(
                        role_id,
                        sql.Literal(verifier),
                        sql.Literal(expires_at.astimezone(UTC).isoformat()),
                    )
                )
                cur.execute(
                    sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                        sql.Identifier(database), role_id
                    )
                )
                for schema in dict.fromkeys(p.schema for p in privileges):
                    cur.execute(
                        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                            sql.Identifier(schema), role_id
                        )
                    )
                for p in privileges:
                    if p.privilege in SCHEMA_PRIVILEGES:
                        continue  # USAGE on the schema: granted above
                    # p.privilege is one of TABLE_PRIVILEGES (checked): a keyword, not input.
                    if p.table is None:
                        stmt = sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}").format(
                            sql.SQL(p.privilege), sql.Identifier(p.schema), role_id
                        )
                    else:
                        stmt = sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                            sql.SQL(p.privilege), sql.Identifier(p.schema, p.table), role_id
                        )
                    cur.execute(stmt)
        except psycopg.Error as exc:
            raise _db_error(f"creating PostgreSQL grant on {database}", exc) from None
    return PgGrant(
        role=role,
        password=password,
        expires_at=expires_at,
        privileges=list(privileges),
        database=database,
        host=host,
        port=int(port),
    )


def _drop_roles(cur: psycopg.Cursor, roles: list[str]) -> None:
    """Within the caller's transaction: block logins, end sessions, drop what they own and
    their privileges in this database, and drop the roles."""
    for r in roles:
        cur.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(r)))
    cur.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE usename = ANY(%s) AND pid <> pg_backend_pid()",
        (roles,),
    )
    idents = sql.SQL(", ").join(sql.Identifier(r) for r in roles)
    cur.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(idents))
    cur.execute(sql.SQL("DROP OWNED BY {}").format(idents))
    cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(idents))


def revoke_grant(admin_url: str, role: str, *, prefix: str = DEFAULT_PREFIX) -> bool:
    """Terminate the role's sessions and drop it (connect ``admin_url`` to the grant's
    database). Returns False when the role is already gone. Only roles whose name starts
    with ``prefix`` can be revoked."""
    _check_prefix(prefix)
    _check_ident(role, "role")
    if not role.startswith(prefix) or role == prefix:
        raise PgGrantError(f"role {role!r} is not a just-in-time grant (prefix {prefix!r})")
    with _connect(admin_url) as conn:
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                if cur.fetchone() is None:
                    return False
                _drop_roles(cur, [role])
        except psycopg.Error as exc:
            raise _db_error(f"revoking PostgreSQL role {role}", exc) from None
    return True


def reap_expired(
    admin_url: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    now: datetime | None = None,
) -> list[str]:
    """Drop every role named ``prefix...`` whose VALID UNTIL is before ``now`` (default: the
    current time). One connection; sessions terminated and roles dropped one transaction per
    batch. Returns the dropped role names."""
    _check_prefix(prefix)
    cutoff = _aware(now, "now") if now is not None else datetime.now(UTC)
    reaped: list[str] = []
    with _connect(admin_url) as conn:
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s) "
                    "AND rolvaliduntil IS NOT NULL AND rolvaliduntil < %s ORDER BY rolname",
                    (prefix, cutoff),
                )
                roles = [r for (r,) in cur.fetchall() if _IDENT.match(r)]
            conn.commit()
            for i in range(0, len(roles), _REAP_BATCH):
                batch = roles[i : i + _REAP_BATCH]
                with conn.transaction(), conn.cursor() as cur:
                    _drop_roles(cur, batch)
                reaped.extend(batch)
        except psycopg.Error as exc:
            done = f" after dropping {len(reaped)} role(s)" if reaped else ""
            raise _db_error(f"reaping expired PostgreSQL roles{done}", exc) from None
    return reaped


def verify_grant(admin_url: str, role: str, privileges: list[PgPrivilege]) -> dict[str, object]:
    """Check a created role against its grant with ``has_table_privilege``: every granted
    privilege holds, and no other table privilege holds on any table of the named schemas;
    the role is no superuser and cannot create roles or databases."""
    _check_ident(role, "role")
    schemas = sorted({p.schema for p in privileges})
    expected: set[tuple[str, str, str]] = set()
    missing: list[str] = []
    unexpected: list[str] = []
    with _connect(admin_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s) "
            "AND c.relkind IN ('r','p','v','m','f') ORDER BY 1, 2",
            (schemas,),
        )
        tables = [(s, t) for s, t in cur.fetchall()]
        for p in privileges:
            if p.privilege in SCHEMA_PRIVILEGES:
                continue
            for s, t in tables:
                if s == p.schema and (p.table is None or p.table == t):
                    expected.add((p.privilege, s, t))
        for s, t in tables:
            for priv in TABLE_PRIVILEGES:
                cur.execute(
                    "SELECT has_table_privilege(%s, format('%%I.%%I', %s::text, %s::text), %s)",
                    (role, s, t, priv),
                )
                row = cur.fetchone()
                holds = bool(row and row[0])
                if (priv, s, t) in expected and not holds:
                    missing.append(f"{priv} on {s}.{t}")
                elif holds and (priv, s, t) not in expected:
                    unexpected.append(f"{priv} on {s}.{t}")
        cur.execute(
            "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls "
            "FROM pg_roles WHERE rolname = %s",
            (role,),
        )
        attrs = cur.fetchone()
    powerful = bool(attrs and attrs[0])
    return {
        "ok": not missing and not unexpected and not powerful and attrs is not None,
        "tables_checked": len(tables),
        "privileges_checked": len(tables) * len(TABLE_PRIVILEGES),
        "granted": len(expected),
        "missing": missing,
        "unexpected": unexpected,
        "role_attributes_ok": not powerful,
    }

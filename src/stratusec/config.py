"""The configuration file (~/.stratusec/config.yaml), validated by pydantic.

Every problem names the key and the file. The file is written atomically with mode 0600.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from stratusec import paths
from stratusec.errors import ConfigError, NotFoundError

ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
ROLE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CredentialSource(_Strict):
    """How to obtain AWS credentials for an account.

    - ``default``: the boto3 default chain (env, shared config, instance role)
    - ``profile``: a named profile from ~/.aws/config
    - ``env``: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) only
    - ``assume_role``: assume ``role_arn`` (with ``external_id``) from ``profile`` or the
      default chain
    - ``emulator``: fixed dummy keys, for an emulator ``endpoint_url`` (moto, the demo)
    """

    source: Literal["default", "profile", "env", "assume_role", "emulator"] = "default"
    profile: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    session_name: str = "stratusec"
    duration_seconds: int = Field(default=3600, ge=900, le=43200)
    #: assume_role only: start from the emulator's dummy keys (the demo), not the default
    #: chain or a profile.
    emulator_base: bool = False

    @model_validator(mode="after")
    def _check(self) -> CredentialSource:
        if self.source == "profile" and not self.profile:
            raise ValueError("source 'profile' needs 'profile: NAME'")
        if self.source == "assume_role":
            if not self.role_arn:
                raise ValueError("source 'assume_role' needs 'role_arn'")
            if not ROLE_ARN.match(self.role_arn):
                raise ValueError(f"role_arn {self.role_arn!r} is not an IAM role ARN")
        if self.source != "assume_role" and (
            self.role_arn or self.external_id or self.emulator_base
        ):
            raise ValueError(
                "role_arn / external_id / emulator_base only apply to source 'assume_role'"
            )
        return self


class Account(_Strict):
    name: str
    provider: Literal["aws"] = "aws"
    account_id: str | None = Field(default=None, pattern=r"^\d{12}$")
    regions: list[str] = Field(default_factory=list, description="empty = every enabled region")
    credentials: CredentialSource = Field(default_factory=CredentialSource)
    endpoint_url: str | None = Field(default=None, description="emulator endpoint (moto)")
    remediation: CredentialSource | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not ACCOUNT_NAME.match(v):
            raise ValueError(
                "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit"
            )
        return v

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+(:\d+)?/?$", v):
            raise ValueError(f"{v!r} is not an http(s)://host[:port] URL")
        return v.rstrip("/") if v else v

    @model_validator(mode="after")
    def _emulator(self) -> Account:
        if self.credentials.source == "emulator" and not self.endpoint_url:
            raise ValueError("credentials source 'emulator' needs an endpoint_url")
        return self


class Storage(_Strict):
    url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in home")
    graph_url: str | None = Field(default=None, description="neo4j://...; default embedded")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", v):
            raise ValueError("must start with sqlite:// or postgresql://")
        return v

    def database_url(self) -> str:
        if self.url:
            return self.url
        return f"sqlite:///{paths.home() / 'stratusec.db'}"


class ScanSettings(_Strict):
    max_workers: int = Field(default=16, ge=1, le=128)
    detail_workers: int = Field(default=8, ge=1, le=64, description="per-service detail calls")
    max_attempts: int = Field(default=8, ge=1, le=20, description="botocore adaptive retries")
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)


class OidcSettings(_Strict):
    """Accept OIDC JWTs as bearer tokens on the MCP HTTP server.

    The token's signature (keys from ``jwks_url`` or ``jwks_file``), issuer, audience and
    expiry are checked; a token for another audience is refused. The human is read from
    ``human_claim``; the role from ``role_claim`` if the token has it, else from the first
    group in ``groups_claim`` that ``group_roles`` maps, else ``default_role`` (none: refused).
    """

    issuer: str = Field(min_length=1)
    audience: str = Field(min_length=1, description="this server's URL, e.g. https://host/mcp")
    jwks_url: str | None = None
    jwks_file: str | None = None
    human_claim: str = "email"
    role_claim: str | None = "stratusec_role"
    groups_claim: str | None = "groups"
    group_roles: dict[str, str] = Field(default_factory=dict)
    default_role: str | None = None
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "PS256", "EdDSA"])
    leeway_seconds: int = Field(default=30, ge=0, le=300)
    jwks_cache_seconds: int = Field(default=300, ge=0, le=86400)

    @model_validator(mode="after")
    def _keys(self) -> OidcSettings:
        if bool(self.jwks_url) == bool(self.jwks_file):
            raise ValueError("set exactly one of 'jwks_url' and 'jwks_file'")
        if self.jwks_url and not self.jwks_url.startswith(
            ("https://", "http://127.", "http://localhost")
        ):
            raise ValueError("jwks_url must be https:// (plain http only on loopback)")
        bad = sorted({a for a in self.algorithms if a.upper() in ("NONE",) or a.startswith("HS")})
        if bad:
            raise ValueError(
                f"algorithms {', '.join(bad)} are not accepted: "
                "use asymmetric keys (RS/ES/PS/EdDSA)"
            )
        return self


class RateLimit(_Strict):
    """Per-token (per-principal over stdio) limit on governed calls: a token bucket."""

    per_minute: int = Field(default=600, ge=1, le=1_000_000)
    burst: int = Field(default=120, ge=1, le=1_000_000)


class GovernanceSettings(_Strict):
    policy: str | None = Field(
        default=None,
        description="Rego authorization policy; default <home>/authz.rego when that file exists",
    )
    stdio_role: str = Field(default="reader", description="role of an agent over MCP stdio")
    cli_role: str = Field(default="admin", description="role of the OS user at the CLI")
    approval_ttl: str = Field(
        default="24h", pattern=r"^\d+[mhdw]$", description="how long a request waits (<= 30d)"
    )
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    oidc: OidcSettings | None = None

    @field_validator("approval_ttl")
    @classmethod
    def _ttl(cls, v: str) -> str:
        n, unit = int(v[:-1]), v[-1]
        minutes = n * {"m": 1, "h": 60, "d": 1440, "w": 10080}[unit]
        if not 1 <= minutes <= 30 * 1440:
            raise ValueError("must be between 1m and 30d")
        return v


class AccessLevelSettings(_Strict):
    """A named kind of just-in-time access an agent may request: AWS (``account``,
    ``target_role``, ``actions``, ``resources``) or PostgreSQL (``database``,
    ``privileges`` such as ``SELECT on public.orders`` or ``SELECT on public.*``)."""

    account: str | None = None
    target_role: str | None = Field(default=None, pattern=ROLE_ARN.pattern)
    actions: list[str] = Field(default_factory=list)
    resources: list[str] = Field(default_factory=list)
    database: str | None = None
    privileges: list[str] = Field(default_factory=list)
    max_duration: str = Field(default="1h", pattern=r"^\d+[mh]$")
    auto_grant: bool = False
    requesters: list[str] = Field(default_factory=lambda: ["operator", "admin"])
    description: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _kind(self) -> AccessLevelSettings:
        aws = self.account is not None
        pg = self.database is not None
        if aws == pg:
            raise ValueError("a level names either 'account' (AWS) or 'database' (PostgreSQL)")
        if aws:
            missing = [k for k in ("target_role", "actions", "resources") if not getattr(self, k)]
            if missing:
                raise ValueError(f"an AWS level needs {', '.join(missing)}")
            if self.privileges:
                raise ValueError("'privileges' apply to PostgreSQL levels ('database')")
        else:
            if not self.privileges:
                raise ValueError("a PostgreSQL level needs 'privileges'")
            if self.target_role or self.actions or self.resources:
                raise ValueError(
                    "target_role / actions / resources apply to AWS levels ('account')"
                )
        return self

    @property
    def kind(self) -> str:
        return "aws" if self.account else "postgres"

    @property
    def target(self) -> str:
        return str(self.account or self.database)


class DatabaseTarget(_Strict):
    """A PostgreSQL database the broker can grant temporary roles on. The broker connects
    with ``url`` (prefer one without a password: libpq reads ``~/.pgpass`` or
    ``PGPASSFILE``) or the URL in the environment variable ``url_env``."""

    url: str | None = None
    url_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    role_prefix: str = Field(default="stx_jit_", pattern=r"^[a-z_][a-z0-9_]{2,39}$")

    @model_validator(mode="after")
    def _one(self) -> DatabaseTarget:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of 'url' or 'url_env'")
        return self

    def admin_url(self, name: str) -> str:
        if self.url is not None:
            return self.url
        assert self.url_env is not None
        value = os.environ.get(self.url_env)
        if not value:
            raise ConfigError(
                f"access.databases.{name}: environment variable {self.url_env} is not set"
            )
        return value


class AccessSettings(_Strict):
    broker: CredentialSource | None = Field(
        default=None, description="the broker's own credentials (never given to agents)"
    )
    max_duration: str = Field(default="1h", pattern=r"^\d+[mh]$")
    levels: dict[str, AccessLevelSettings] = Field(default_factory=dict)
    databases: dict[str, DatabaseTarget] = Field(default_factory=dict)
    policy: str | None = Field(
        default=None,
        description="Rego access policy; default <home>/access.rego when that file exists",
    )
    reap_interval: str = Field(
        default="60s", pattern=r"^\d+[sm]$", description="the HTTP server's reaper period"
    )
    #: Whether an MCP client may receive the credentials themselves (default: only the
    #: grant id and how a human fetches them).
    secrets_to_agent: bool = False
    agent_patterns: list[str] | None = Field(
        default=None, description="IAM user/role name patterns that designate agents"
    )
    agent_tag: str | None = Field(
        default=None, description="tag key whose value true designates an agent"
    )

    @model_validator(mode="after")
    def _targets(self) -> AccessSettings:
        for name, lv in self.levels.items():
            if not name or len(name) > 128 or any(c.isspace() for c in name):
                raise ValueError(f"access level name {name!r}: 1-128 characters, no spaces")
            if lv.database is not None and lv.database not in self.databases:
                valid = ", ".join(sorted(self.databases)) or "none configured"
                raise ValueError(
                    f"access level {name}: database {lv.database!r} is not in "
                    f"access.databases ({valid})"
                )
        return self


class GuardrailSettings(_Strict):
    directory: str | None = Field(
        default=None, description="user guardrail policies (*.rego); default <home>/guardrails"
    )


class Config(_Strict):
    version: Literal[1] = 1
    accounts: list[Account] = Field(default_factory=list)
    storage: Storage = Field(default_factory=Storage)
    scan: ScanSettings = Field(default_factory=ScanSettings)
    # Role definitions (validated by stratusec.governance.authz.load_roles).
    roles: dict[str, Any] = Field(default_factory=dict)
    # Reserved by earlier versions (written as an empty mapping); not read.
    tokens: dict[str, Any] = Field(default_factory=dict)
    governance: GovernanceSettings = Field(default_factory=GovernanceSettings)
    guardrails: GuardrailSettings = Field(default_factory=GuardrailSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)

    @model_validator(mode="after")
    def _unique(self) -> Config:
        seen: set[str] = set()
        for a in self.accounts:
            if a.name in seen:
                raise ValueError(f"account name {a.name!r} appears twice")
            seen.add(a.name)
        return self

    def account(self, name: str) -> Account:
        for a in self.accounts:
            if a.name == name:
                return a
        valid = ", ".join(a.name for a in self.accounts) or "none configured"
        raise NotFoundError(
            f"unknown account {name!r}; configured accounts: {valid}",
            hint=None
            if self.accounts
            else "run 'stratusec init --provider aws' or 'stratusec demo'",
        )

    def select_accounts(self, name: str | None) -> list[Account]:
        if name:
            return [self.account(name)]
        if not self.accounts:
            raise NotFoundError(
                "no accounts configured",
                hint="run 'stratusec init --provider aws' or 'stratusec demo up'",
            )
        return list(self.accounts)

    def upsert_account(self, account: Account) -> None:
        self.accounts = [a for a in self.accounts if a.name != account.name] + [account]


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def format_validation_error(err: ValidationError, source: str) -> str:
    problems = []
    for e in err.errors():
        loc = _loc(tuple(e["loc"]))
        if e["type"] == "extra_forbidden":
            problems.append(f"unknown key '{loc}'")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            problems.append(f"'{loc}': {msg}")
    return f"invalid config {source}: " + "; ".join(problems)


def load(path: Path | None = None, *, missing_ok: bool = True) -> Config:
    """Load and validate the config file. A missing file is an empty config if missing_ok."""
    p = path or paths.config_path()
    if not p.exists():
        if missing_ok:
            return Config()
        raise ConfigError(
            f"no config file at {p}", hint="run 'stratusec init --provider aws' or 'stratusec demo'"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"config {p} is not valid YAML{where}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config {p} must be a mapping at the top level")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(p))) from exc


def save(cfg: Config, path: Path | None = None) -> Path:
    """Write the config atomically with mode 0600."""
    p = path or paths.config_path()
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = cfg.model_dump(mode="json", exclude_none=True)
    text = "# Stratusec configuration. Docs: docs/configuration.md\n" + yaml.safe_dump(
        data, sort_keys=False, default_flow_style=False
    )
    fd, tmp = tempfile.mkstemp(prefix=".config.", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p

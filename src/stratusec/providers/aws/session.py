"""boto3 sessions and clients for one configured account.

Every client gets adaptive retries (client-side rate limiting on throttling), bounded
timeouts, and an event hook that counts API calls and HTTP attempts. Sessions are built
from the account's credential source; nothing here logs a secret.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.parse
from collections import Counter
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config as BotoConfig
from botocore.credentials import RefreshableCredentials
from botocore.session import get_session

from stratusec.config import Account, CredentialSource, ScanSettings
from stratusec.errors import CredentialsError

EMULATOR_KEY = "testing"  # moto accepts any keys; these are not secrets
DEFAULT_REGION = "us-east-1"


class CallCounter:
    """Thread-safe counts of API calls per (service, operation), attempts and throttles."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.attempts = 0
        self.throttled = 0

    def on_call(self, model: Any = None, **_: Any) -> None:
        key = (model.service_model.service_name, model.name) if model is not None else ("?", "?")
        with self._lock:
            self.calls[key] += 1

    def on_attempt(self, **_: Any) -> None:
        with self._lock:
            self.attempts += 1

    def on_response(self, parsed: Any = None, **_: Any) -> None:
        if isinstance(parsed, dict):
            code = parsed.get("Error", {}).get("Code", "")
            if "Throttl" in code or code in ("RequestLimitExceeded", "SlowDown", "TooManyRequests"):
                with self._lock:
                    self.throttled += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())


def _base_session(src: CredentialSource, region: str) -> boto3.Session:
    try:
        if src.source == "profile" or (src.source == "assume_role" and src.profile):
            return boto3.Session(profile_name=src.profile, region_name=region)
    except botocore.exceptions.ProfileNotFound as exc:
        raise CredentialsError(f"AWS profile {src.profile!r} not found in ~/.aws/config") from exc
    if src.source == "env":
        key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not key or not secret:
            raise CredentialsError(
                "credentials source 'env' needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set"
            )
        return boto3.Session(
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=os.environ.get("AWS_SESSION_TOKEN"),
            region_name=region,
        )
    if src.source == "emulator" or (src.source == "assume_role" and src.emulator_base):
        return boto3.Session(
            aws_access_key_id=EMULATOR_KEY, aws_secret_access_key=EMULATOR_KEY, region_name=region
        )
    return boto3.Session(region_name=region)


def build_session(
    account: Account,
    src: CredentialSource | None = None,
    *,
    session_policy: dict[str, Any] | None = None,
) -> boto3.Session:
    """A boto3 session for the account's (scan) credential source, or ``src`` if given.
    ``session_policy`` (assume_role only) further limits the assumed role's session: the
    remediation engine passes one that allows only a plan's actions on its resources."""
    src = src or account.credentials
    region = (account.regions or [DEFAULT_REGION])[0]
    base = _base_session(src, region)
    if src.source != "assume_role":
        return base
    assert src.role_arn
    sts = base.client("sts", endpoint_url=account.endpoint_url, region_name=region)

    def refresh() -> dict[str, str]:
        kwargs: dict[str, Any] = {
            "RoleArn": src.role_arn,
            "RoleSessionName": src.session_name,
            "DurationSeconds": src.duration_seconds,
        }
        if src.external_id:
            kwargs["ExternalId"] = src.external_id
        if session_policy is not None:
            kwargs["Policy"] = json.dumps(session_policy, separators=(",", ":"))
        try:
            creds = sts.assume_role(**kwargs)["Credentials"]
        except botocore.exceptions.ClientError as exc:
            err = exc.response.get("Error", {})
            raise CredentialsError(
                f"cannot assume {src.role_arn}: {err.get('Code')}: {err.get('Message')}"
            ) from exc
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(
        metadata=refresh(), refresh_using=refresh, method="sts-assume-role"
    )
    bc = get_session()
    bc._credentials = credentials  # the documented way to hand refreshable creds to a session
    bc.set_config_variable("region", region)
    return boto3.Session(botocore_session=bc)


def pin_to_endpoint(client: Any, endpoint_url: str) -> None:
    """Emulators: send every request to the configured endpoint host.

    botocore's endpoint rules put a host prefix in front of some services' endpoints
    (S3 Control: ``123456789012.127.0.0.1``), which does not resolve; ``inject_host_prefix``
    does not cover endpoint-rule prefixes. moto routes by path, so the plain host works.
    """
    want = urllib.parse.urlsplit(endpoint_url).netloc

    def handler(request: Any, **_: Any) -> None:
        parts = urllib.parse.urlsplit(request.url)
        if parts.netloc != want and parts.netloc.endswith("." + want):
            request.url = urllib.parse.urlunsplit(parts._replace(netloc=want))

    client.meta.events.register("before-send", handler)


def home_region(account: Account) -> str:
    """The region for global services and STS: the account's first region."""
    return (account.regions or [DEFAULT_REGION])[0]


class ClientFactory:
    """Builds and caches boto3 clients per (service, region) for one account.

    boto3 clients are thread-safe once built; building them from a session is not,
    so creation is serialised.
    """

    def __init__(
        self,
        account: Account,
        settings: ScanSettings | None = None,
        *,
        session: boto3.Session | None = None,
        counter: CallCounter | None = None,
    ) -> None:
        self.account = account
        self.settings = settings or ScanSettings()
        self.session = session or build_session(account)
        self.counter = counter or CallCounter()
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        extra: dict[str, Any] = {}
        if account.endpoint_url:
            # Emulators: path-style S3 and no account-id host prefixes (s3control).
            extra = {"s3": {"addressing_style": "path"}, "inject_host_prefix": False}
        self._config = BotoConfig(
            retries={"mode": "adaptive", "max_attempts": self.settings.max_attempts},
            connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout,
            max_pool_connections=max(10, self.settings.max_workers + self.settings.detail_workers),
            user_agent_extra="stratusec",
            **extra,
        )

    def client(self, service: str, region: str | None = None) -> Any:
        region = region if region and region != "global" else self.home_region
        key = (service, region)
        with self._lock:
            c = self._clients.get(key)
            if c is None:
                c = self.session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.account.endpoint_url,
                    config=self._config,
                )
                c.meta.events.register("before-call", self.counter.on_call)
                c.meta.events.register("before-send", self.counter.on_attempt)
                c.meta.events.register("after-call", self.counter.on_response)
                if self.account.endpoint_url:
                    pin_to_endpoint(c, self.account.endpoint_url)
                self._clients[key] = c
            return c

    @property
    def home_region(self) -> str:
        return home_region(self.account)


def describe_client_error(exc: BaseException, account: Account) -> str:
    """One line that says what is wrong with credentials or the endpoint."""
    where = f" at {account.endpoint_url}" if account.endpoint_url else ""
    if isinstance(exc, CredentialsError):
        return str(exc)
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return (
            f"no AWS credentials found for account {account.name!r} "
            f"(source {account.credentials.source!r}); set a profile or environment credentials"
        )
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return f"cannot reach the AWS endpoint{where} for account {account.name!r}"
    if isinstance(
        exc, (botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError)
    ):
        return f"timed out talking to AWS{where} for account {account.name!r}"
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code", "Unknown")
        hints = {
            "InvalidClientTokenId": "the access key id is not valid",
            "SignatureDoesNotMatch": "the secret access key does not match the key id",
            "ExpiredToken": "the session token has expired; refresh your credentials",
            "AccessDenied": "the credentials may not call this API",
        }
        detail = hints.get(code, err.get("Message", ""))
        return f"AWS refused the credentials for account {account.name!r}: {code}: {detail}"
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return f"AWS client error for account {account.name!r}: {exc}"
    return f"{type(exc).__name__}: {exc}"


def verify_credentials(account: Account, session: boto3.Session | None = None) -> dict[str, str]:
    """Call STS GetCallerIdentity; return {account, arn, user_id} or raise CredentialsError."""
    try:
        sess = session or build_session(account)
        sts = sess.client(
            "sts",
            region_name=(account.regions or [DEFAULT_REGION])[0],
            endpoint_url=account.endpoint_url,
            config=BotoConfig(connect_timeout=5, read_timeout=15, retries={"max_attempts": 2}),
        )
        ident = sts.get_caller_identity()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise CredentialsError(describe_client_error(exc, account)) from exc
    return {"account": ident["Account"], "arn": ident["Arn"], "user_id": ident["UserId"]}

"""``stratusec init``: register an account in the config after verifying its credentials."""

from __future__ import annotations

import typer

from stratusec import config as config_mod
from stratusec import paths
from stratusec.cli.console import err, out, split_csv
from stratusec.config import Account, CredentialSource
from stratusec.errors import StratusecError
from stratusec.providers.aws.scanner import validate_regions
from stratusec.providers.aws.session import verify_credentials


def init(
    provider: str = typer.Option(..., "--provider", help="Cloud provider (only 'aws' for now)."),
    profile: str | None = typer.Option(None, "--profile", help="AWS profile from ~/.aws/config."),
    account_name: str | None = typer.Option(
        None,
        "--account-name",
        help="Name for this account in Stratusec (default: profile or account id).",
    ),
    regions: list[str] | None = typer.Option(
        None, "--regions", help="Regions to scan (repeat or comma-separate; default: all enabled)."
    ),
    endpoint_url: str | None = typer.Option(
        None, "--endpoint-url", help="Emulator endpoint, e.g. moto."
    ),
    role_arn: str | None = typer.Option(None, "--role-arn", help="Assume this role to scan."),
    external_id: str | None = typer.Option(
        None, "--external-id", help="External id for --role-arn."
    ),
    credentials: str | None = typer.Option(
        None,
        "--credentials",
        help="Credential source: default, profile, env, assume_role, emulator "
        "(inferred when omitted).",
    ),
    verify: bool = typer.Option(
        True, "--verify/--no-verify", help="Check the credentials with STS."
    ),
) -> None:
    """Add (or update) an AWS account in ~/.stratusec/config.yaml."""
    if provider != "aws":
        raise StratusecError(f"unknown provider {provider!r}; valid providers: aws")
    cfg = config_mod.load()
    region_list = validate_regions(split_csv(regions) or [])
    source = credentials or (
        "assume_role"
        if role_arn
        else "profile"
        if profile
        else "emulator"
        if endpoint_url
        else "default"
    )
    try:
        creds = CredentialSource(
            source=source,  # type: ignore[arg-type]
            profile=profile,
            role_arn=role_arn,
            external_id=external_id,
        )
        account = Account(
            name=account_name or profile or "pending",
            regions=region_list,
            credentials=creds,
            endpoint_url=endpoint_url,
        )
    except ValueError as exc:  # pydantic ValidationError
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            raise StratusecError(config_mod.format_validation_error(exc, "options")) from exc
        raise
    ident: dict[str, str] | None = None
    if verify:
        ident = verify_credentials(account)
        account.account_id = ident["account"]
    if not account_name and not profile:
        account.name = f"aws-{account.account_id}" if account.account_id else "default"
    cfg.upsert_account(account)
    path = config_mod.save(cfg)
    paths.ensure_home()
    if ident:
        err.print(f"verified: {ident['arn']} (account {ident['account']})", highlight=False)
    out.print(f"account [bold]{account.name}[/] saved to {path}", highlight=False)
    out.print(f"next: stratusec scan --account {account.name}", highlight=False)

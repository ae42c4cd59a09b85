"""Where policies come from: the bundled library, the user directory, a file or directory
given on the command line, or a draft text. Every policy is linted and compiled as it is
loaded: a policy that loads, runs."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from stratusec import paths
from stratusec.errors import NotFoundError
from stratusec.guardrails.lint import is_test_file, lint_source, rego_files
from stratusec.guardrails.model import (
    PACKAGE_PREFIX,
    GuardrailError,
    Policy,
    package_of,
    parse_metadata,
)

LIBRARY = Path(__file__).with_name("library")
BUNDLED = "bundled"  # a POLICY_OR_DIR naming the whole bundled library


def policy_from_source(
    source: str, path: str | Path = "<draft>", *, origin: str = "draft", lint: bool = True
) -> Policy:
    """A policy from its text; raises :class:`GuardrailError` naming ``file:line:col`` when
    it does not lint, parse or compile."""
    p = str(path)
    if lint:
        errors = [i for i in lint_source(source, p, test_file=False) if i.level == "error"]
        if errors:
            more = (
                f" (and {len(errors) - 1} more: run 'stratusec guardrail lint')"
                if len(errors) > 1
                else ""
            )
            raise GuardrailError(
                f"{errors[0].path}:{errors[0].line}:{errors[0].col}: {errors[0].message}{more}"
            )
    package = package_of(source)
    if package is None:  # only reachable with lint=False
        raise GuardrailError(f"{p}: no 'package' declaration")
    meta, _ = parse_metadata(source, default_title=package.removeprefix(PACKAGE_PREFIX))
    return Policy(package=package, source=source, path=p, origin=origin, meta=meta)


def load_policy_file(path: str | Path, *, origin: str = "file") -> Policy:
    p = Path(path)
    try:
        source = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GuardrailError(f"no such policy file: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GuardrailError(f"cannot read policy {p}: {exc}") from None
    return policy_from_source(source, p, origin=origin)


def load_policy_dir(path: str | Path, *, origin: str = "file") -> list[Policy]:
    """Every policy (``*.rego`` but ``*_test.rego``) under a directory, recursively."""
    files = [f for f in rego_files(Path(path)) if not is_test_file(f)]
    policies = [load_policy_file(f, origin=origin) for f in files]
    check_unique(policies)
    return policies


def check_unique(policies: Iterable[Policy]) -> None:
    seen: dict[str, Policy] = {}
    for pol in policies:
        if pol.package in seen:
            raise GuardrailError(
                f"package {pol.package} is declared by both {seen[pol.package].path} and "
                f"{pol.path}: one package, one policy"
            )
        seen[pol.package] = pol


@functools.cache
def _bundled() -> tuple[Policy, ...]:
    files = sorted(f for f in LIBRARY.glob("*.rego") if not is_test_file(f))
    # Shipped policies are linted by the test suite; loading them only compiles.
    return tuple(
        policy_from_source(f.read_text(encoding="utf-8"), f, origin="bundled", lint=False)
        for f in files
    )


def bundled_policies() -> list[Policy]:
    """The library shipped in the package."""
    return list(_bundled())


def user_policy_dir(config: Any | None = None) -> Path:
    """``guardrails.directory`` from the config, else ``<STRATUSEC_HOME>/guardrails``."""
    settings = getattr(config, "guardrails", None) if config is not None else None
    directory = getattr(settings, "directory", None) if settings is not None else None
    if directory:
        return Path(str(directory)).expanduser()
    return paths.home() / "guardrails"


def user_policy_problems(config: Any | None = None) -> tuple[list[Policy], list[str]]:
    """The user directory's policies that load, and one message per file that does not
    (a broken file never hides the others, or the library)."""
    d = user_policy_dir(config)
    if not d.is_dir():
        return [], []
    bundled = {p.package for p in bundled_policies()}
    loaded: list[Policy] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for f in (f for f in rego_files(d) if not is_test_file(f)):
        try:
            pol = load_policy_file(f, origin="user")
        except GuardrailError as exc:
            problems.append(str(exc))
            continue
        if pol.package in bundled:
            problems.append(f"{f}: package {pol.package} is a bundled policy; rename yours")
        elif pol.package in seen:
            problems.append(f"{f}: package {pol.package} is also declared in {seen[pol.package]}")
        else:
            seen[pol.package] = str(f)
            loaded.append(pol)
    return loaded, problems


def user_policies(config: Any | None = None) -> list[Policy]:
    """The policies in the user directory that load (none when it does not exist)."""
    return user_policy_problems(config)[0]


def available_policies(config: Any | None = None) -> list[Policy]:
    """Bundled and user policies (user files that do not load are left out: see
    :func:`user_policy_problems`)."""
    return bundled_policies() + user_policies(config)


def resolve_policies(spec: str, config: Any | None = None) -> list[Policy]:
    """A POLICY_OR_DIR argument: a file, a directory, ``bundled`` (the whole library), or
    the name or package of a bundled or user policy."""
    p = Path(spec).expanduser()
    if p.is_dir():
        found = load_policy_dir(p)
        if not found:
            raise GuardrailError(f"no policies (*.rego, not *_test.rego) under {p}")
        return found
    if p.is_file():
        if is_test_file(p):
            raise GuardrailError(
                f"{p} is a test file: run it with 'stratusec guardrail test --unit {p}'"
            )
        return [load_policy_file(p)]
    if spec == BUNDLED:
        return bundled_policies()
    return [find_policy(spec, config)]


def find_policy(name: str, config: Any | None = None) -> Policy:
    """A bundled or user policy by name (``rds_production_encrypted_multi_az``) or package."""
    package = name if name.startswith(PACKAGE_PREFIX) else PACKAGE_PREFIX + name
    candidates = available_policies(config)
    for pol in candidates:
        if pol.package == package:
            return pol
    for problem in user_policy_problems(config)[1]:
        if f"/{package.removeprefix(PACKAGE_PREFIX)}.rego" in problem or package in problem:
            raise GuardrailError(problem)
    if name.endswith(".rego") or "/" in name:
        raise GuardrailError(f"no such policy file or directory: {name}")
    raise NotFoundError(
        f"unknown guardrail policy {name!r}: not a file, a directory or a known policy; "
        f"known: {', '.join(sorted(p.name for p in candidates))}",
        hint="'stratusec guardrail list' shows them; 'bundled' names the whole library",
    )


def names(policies: Sequence[Policy]) -> list[str]:
    return [p.name for p in policies]

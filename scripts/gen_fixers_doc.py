"""Print the fixer catalog (a Markdown table) for docs/remediation.md, from the fixer
registry, like scripts/gen_checks_doc.py does for the checks.

    .venv/bin/python scripts/gen_fixers_doc.py
"""

from __future__ import annotations

from stratusec.checks.registry import get_check
from stratusec.errors import StratusecError
from stratusec.remediation.registry import all_fixers


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def severity(check_id: str) -> str:
    try:
        return get_check(check_id).meta.severity.value
    except StratusecError:
        return "?"


def main() -> None:
    fixers = all_fixers()
    checks = sorted({c for f in fixers for c in f.check_ids})
    lines = [
        f"{len(fixers)} fixers covering {len(checks)} checks.",
        "",
        "| fixer | fixes checks | options (`--option KEY=VALUE`) | what it does |",
        "|---|---|---|---|",
    ]
    for f in fixers:
        fixes = "<br>".join(f"`{c}` ({severity(c)})" for c in f.check_ids)
        opts = "<br>".join(f"`{k}`: {cell(v)}" for k, v in sorted(f.options.items())) or "none"
        lines.append(f"| `{f.id}` | {fixes} | {opts} | {cell(f.title)} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Compliance frameworks as data files (one YAML per framework in this folder).

Adding a framework is adding a file: controls with their mapped check ids; a control
with no check says why (``manual`` or ``not_collectable``) and is reported so, never as
a pass."""

from stratusec.compliance.frameworks import (
    Control,
    Framework,
    evaluate_framework,
    framework_ids,
    load_framework,
)

__all__ = ["Control", "Framework", "evaluate_framework", "framework_ids", "load_framework"]

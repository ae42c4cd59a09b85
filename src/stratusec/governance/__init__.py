"""Governance: identity, authorization, approvals and the tamper-evident audit log."""

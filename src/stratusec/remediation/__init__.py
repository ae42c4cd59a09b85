"""Remediation: plans (data), applied once after a human's approval, verified by a re-check."""

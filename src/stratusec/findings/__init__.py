"""Findings: the lasting record of (check, resource) pairs that failed, across scans."""

from stratusec.findings.lifecycle import finding_id, record_results
from stratusec.findings.query import FindingFilter, Page, query_findings

__all__ = ["FindingFilter", "Page", "finding_id", "query_findings", "record_results"]

"""Stratusec: MCP-native cloud security platform."""

__version__ = "0.1.0"

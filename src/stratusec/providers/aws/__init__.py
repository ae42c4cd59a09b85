"""AWS provider: one collector module per service (see base.py for the contract)."""

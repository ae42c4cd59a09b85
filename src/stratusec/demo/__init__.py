"""The embedded demo account: moto in server mode, seeded with a realistic, deliberately
misconfigured account named ``acme-prod`` (see docs/demo.md)."""

DEMO_ACCOUNT_NAME = "acme-prod"
DEMO_ACCOUNT_ID = "123456789012"
DEMO_REGIONS = ["us-east-1", "eu-west-1"]

"""The AWS collectors, by service name (the names ``--services`` accepts)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Protocol

from stratusec.inventory.models import Resource
from stratusec.providers.aws.base import CollectorContext

# service name -> module under stratusec.providers.aws
MODULES: dict[str, str] = {
    "iam": "iam",
    "s3": "s3",
    "ec2": "ec2",
    "rds": "rds",
    "lambda": "lambda_",
    "ecs": "ecs",
    "cloudtrail": "cloudtrail",
    "kms": "kms",
    "sqs": "sqs",
    "sns": "sns",
    "dynamodb": "dynamodb",
    "guardduty": "guardduty",
    "config": "config_",
    "secretsmanager": "secretsmanager",
    "efs": "efs",
    "accessanalyzer": "accessanalyzer",
    "cloudwatch": "cloudwatch",
    "securityhub": "securityhub",
    "cloudformation": "cloudformation",
    "glue": "glue",
    "codebuild": "codebuild",
    "sagemaker": "sagemaker",
    "ssm": "ssm",
}


class Collector(Protocol):
    SERVICE: str
    GLOBAL: bool

    def collect(self, ctx: CollectorContext) -> Iterator[Resource]: ...


def load(service: str) -> ModuleType:
    return importlib.import_module(f"stratusec.providers.aws.{MODULES[service]}")


def all_services() -> list[str]:
    return list(MODULES)

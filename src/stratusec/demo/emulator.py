"""Fill the few gaps in moto that a scan of the demo account would otherwise hit.

Only read APIs that real AWS has and moto answers with an HTML 500; each returns what
AWS returns for an account in the seeded state. Applied inside the demo server process
(and the test suite's in-process moto server) only.
"""

from __future__ import annotations

from typing import Any


def patch_moto() -> None:
    from moto.core.responses import ActionResult
    from moto.ec2.responses.settings import Settings

    if not hasattr(Settings, "get_ebs_default_kms_key_id"):

        def get_ebs_default_kms_key_id(self: Any) -> ActionResult:
            # AWS's default until ModifyEbsDefaultKmsKeyId is called (moto lacks both).
            return ActionResult({"KmsKeyId": "alias/aws/ebs"})

        Settings.get_ebs_default_kms_key_id = get_ebs_default_kms_key_id  # type: ignore[attr-defined]

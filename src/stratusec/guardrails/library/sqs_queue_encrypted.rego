# title: SQS queues are encrypted
# severity: medium
# resource_types: [aws_sqs_queue]
# description: >
#   The queue uses SSE-KMS (kms_master_key_id) or SQS managed encryption
#   (sqs_managed_sse_enabled; in a plan, set it explicitly).
package stratusec.guardrails.sqs_queue_encrypted

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_sqs_queue"
	not lib.present(input.config.kms_master_key_id)
	not input.config.sqs_managed_sse_enabled == true
	msg := sprintf("%s: queue is not encrypted at rest", [input.resource_name])
}

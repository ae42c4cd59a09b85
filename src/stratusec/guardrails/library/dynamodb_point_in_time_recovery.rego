# title: DynamoDB tables have point-in-time recovery
# severity: medium
# resource_types: [aws_dynamodb_table]
# description: >
#   point_in_time_recovery.enabled is true, so that a table can be restored to any
#   second of the last 35 days.
package stratusec.guardrails.dynamodb_point_in_time_recovery

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_dynamodb_table"
	not lib.block(input.config.point_in_time_recovery).enabled == true
	msg := sprintf("%s: point-in-time recovery is off", [input.resource_name])
}

# title: VPCs record flow logs
# severity: medium
# resource_types: [aws_vpc]
# description: >
#   Every VPC has a flow log (CIS AWS 3.7). Judged on collected VPCs, where the
#   collector links flow logs to their VPC; a plan declares flow logs as separate
#   aws_flow_log resources and is not judged.
package stratusec.guardrails.vpc_flow_logs_enabled

deny contains msg if {
	input.resource_type == "aws_vpc"
	input.config.flow_logs_enabled == false
	msg := sprintf("%s: VPC has no flow log", [input.resource_name])
}

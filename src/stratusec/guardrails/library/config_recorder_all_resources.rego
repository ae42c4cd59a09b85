# title: AWS Config records every resource type
# severity: medium
# resource_types: [aws_config_configuration_recorder]
# description: >
#   The configuration recorder records all supported resource types, including global
#   ones (CIS AWS 3.3), and (on a collected recorder) is recording.
package stratusec.guardrails.config_recorder_all_resources

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_config_configuration_recorder"
	group := lib.block(input.config.recording_group)
	not group.all_supported == true
	msg := sprintf("%s: recorder does not record all supported resource types", [input.resource_name])
}

deny contains msg if {
	input.resource_type == "aws_config_configuration_recorder"
	group := lib.block(input.config.recording_group)
	not group.include_global_resource_types == true
	msg := sprintf("%s: recorder does not record global resource types (IAM)", [input.resource_name])
}

deny contains msg if {
	input.resource_type == "aws_config_configuration_recorder"
	input.config.status.recording == false
	msg := sprintf("%s: recorder is stopped", [input.resource_name])
}

# title: EC2 instances require IMDSv2
# severity: high
# resource_types: [aws_instance, aws_launch_template]
# description: >
#   metadata_options.http_tokens is "required" (or the metadata endpoint is off), so
#   that a server-side request forgery cannot read the instance role's credentials
#   with a plain GET.
package stratusec.guardrails.ec2_imdsv2_required

import data.stratusec.lib

protected(options) if options.http_tokens == "required"

protected(options) if options.http_endpoint == "disabled"

deny contains msg if {
	input.resource_type in {"aws_instance", "aws_launch_template"}
	not protected(lib.block(input.config.metadata_options))
	msg := sprintf("%s: instance metadata service v1 is allowed (http_tokens is not required)", [input.resource_name])
}

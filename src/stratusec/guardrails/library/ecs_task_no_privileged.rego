# title: ECS containers do not run privileged
# severity: high
# resource_types: [aws_ecs_task_definition]
# description: >
#   No container definition sets privileged: a privileged container is root on its
#   host.
package stratusec.guardrails.ecs_task_no_privileged

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_ecs_task_definition"
	some container in lib.as_array(lib.document(input.config.container_definitions))
	container.privileged == true
	msg := sprintf("%s: container %s runs privileged", [input.resource_name, container.name])
}

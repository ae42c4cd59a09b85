# title: Lambda functions use a supported runtime
# severity: medium
# resource_types: [aws_lambda_function]
# description: >
#   The runtime is not deprecated by AWS (deprecated runtimes get no security
#   patches).
package stratusec.guardrails.lambda_supported_runtime

# The deprecated runtimes, as one pattern: a set literal of them would be built anew for
# every resource (rego-cpp), a pattern is compiled once.
deprecated := `^(python(2\.7|3\.[678])|nodejs(4\.3(-edge)?|6\.10|8\.10|1[0246]\.x)?|java8|dotnetcore(1\.0|2\.[01]|3\.1)|dotnet(5\.0|6)|ruby2\.[57]|go1\.x)$`

deny contains msg if {
	input.resource_type == "aws_lambda_function"
	is_string(input.config.runtime)
	regex.match(deprecated, input.config.runtime)
	msg := sprintf("%s: runtime %s is deprecated", [input.resource_name, input.config.runtime])
}

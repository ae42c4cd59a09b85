# title: Lambda function URLs require IAM auth
# severity: high
# resource_types: [aws_lambda_function_url]
# description: >
#   A function URL uses authorization_type AWS_IAM; NONE lets anyone on the internet
#   invoke the function.
package stratusec.guardrails.lambda_function_url_auth

deny contains msg if {
	input.resource_type == "aws_lambda_function_url"
	input.config.authorization_type == "NONE"
	msg := sprintf("%s: function URL accepts unauthenticated calls (authorization_type NONE)", [input.resource_name])
}

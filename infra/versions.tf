terraform {
  # check blocks, lifecycle preconditions and optional() object attributes: 1.5 has them all.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.x from 5.40 on: aws_lambda_function's logging_config needs a 5.x newer than 5.0.
      version = "~> 5.40"
    }
  }
}

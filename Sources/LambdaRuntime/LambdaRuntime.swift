// LambdaRuntime: see README.

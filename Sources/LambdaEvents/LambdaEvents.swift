// LambdaEvents: see README.

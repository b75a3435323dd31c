// AWSConfig

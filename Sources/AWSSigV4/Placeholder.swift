// AWSSigV4

ports = [22, 80]

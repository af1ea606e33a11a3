team = "vision"

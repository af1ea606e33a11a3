a = "x"



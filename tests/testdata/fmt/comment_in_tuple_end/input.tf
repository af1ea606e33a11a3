a = [
  1,
  # trailing comment in list
]
b = 1

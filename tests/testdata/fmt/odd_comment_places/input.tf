resource "a" "b" { // trailing on open
  # leading
  x = { # open obj
    y = 1 # in obj
  } # close obj
  z = [
    # first
    1,
    # last
  ]
  f = func( # open call
    1, # arg
  ) # close call
} # close block
# end

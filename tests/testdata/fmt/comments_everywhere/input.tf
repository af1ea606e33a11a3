# A file comment
// another style
/* block
   comment */
resource "a" "b" { # after brace
  x = 1 # trailing
  yy = 2 // trailing slashes
  zzz = 3 /* inline block */
  # lonely comment
  w = [
    1, # one
    2, /* two */
    3
  ]
  /* before attr */ v = 4
}
/* trailing file comment */

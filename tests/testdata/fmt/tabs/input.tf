resource "a" "b" {
	x	=	1
	y =		"tab	inside"
	nested {
		z = 3
	}
}

provider "test" { store = "objects.json" }

resource "test_object" "root" {
  value = "root"
}

# Fails on create: tainted, and what depends on it is skipped.
resource "test_object" "bad" {
  value   = "bad-${test_object.root.id}"
  fail_on = ["create"]
}

resource "test_object" "child" {
  count = 2
  value = "child of ${test_object.bad.id}"
}

resource "test_object" "grandchild" {
  value = test_object.child[0].echo
}

# A second, independent failure: every error is reported, not only the first.
resource "test_object" "also_bad" {
  value   = "also"
  fail_on = ["create"]
}

# Independent of the failures: created.
resource "test_object" "free" {
  count = 3
  value = "free-${count.index}"
}

resource "test_object" "after_root" {
  value = test_object.root.echo
}

run "creates_an_object_that_cannot_be_deleted" {
}

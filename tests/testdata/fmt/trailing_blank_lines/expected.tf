a = {
}


# end


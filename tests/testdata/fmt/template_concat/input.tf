x = "${"a"}${"b"}"
y = "${x}%{if true}y%{endif}"

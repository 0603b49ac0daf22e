resource "aws_instance" "in" {
  user_data = templatefile("${path.module}/t.tpl", { port = 8080 })
}

resource "aws_instance" "out" {
  user_data = templatefile("../../secret.tpl", { port = 8080 })
  ami       = "ami-1"
}

resource "aws_instance" "read" {
  user_data = file("${path.module}/t.tpl")
  exists    = fileexists("${path.module}/t.tpl")
  missing   = fileexists("nope.txt")
}

resource "aws_s3_bucket" "ok" {
  bucket = var.name
}
variable "name" {
  default = "fine"
}

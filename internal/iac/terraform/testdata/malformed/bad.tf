resource "aws_s3_bucket" "broken" {
  bucket = "x"

resource "aws_s3_bucket" "also" {
  bucket = "y" +
}

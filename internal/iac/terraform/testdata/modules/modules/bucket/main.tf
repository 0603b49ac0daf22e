variable "name" {
  type = string
}

variable "log_to" {
  type = string
}

resource "aws_s3_bucket" "this" {
  bucket = "bkt-${var.name}"
}

resource "aws_s3_bucket_logging" "this" {
  bucket        = aws_s3_bucket.this.id
  target_bucket = var.log_to
}

output "bucket_name" {
  value = aws_s3_bucket.this.bucket
}

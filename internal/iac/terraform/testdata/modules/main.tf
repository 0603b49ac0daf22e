module "bucket" {
  source   = "./modules/bucket"
  for_each = { a = "alpha", b = "beta" }
  name     = each.value
  log_to   = aws_s3_bucket.central.id
}

module "net" {
  source = "./modules/net"
}

module "remote" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.0.0"
}

resource "aws_s3_bucket" "central" {
  bucket = "central"
}

resource "aws_s3_bucket_policy" "p" {
  bucket  = module.bucket["a"].bucket_name
  arns    = [for k, m in module.bucket : m.bucket_name]
  vpc     = module.remote.vpc_id
  subnets = module.net.subnets
}

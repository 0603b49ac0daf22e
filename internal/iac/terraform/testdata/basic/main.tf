variable "env" {
  type    = string
  default = "dev"
}

variable "ports" {
  type    = list(number)
  default = [22]
}

variable "unset" {}

locals {
  # declared before what it uses
  name   = "${local.prefix}-${var.env}"
  prefix = lower("ACME")
  tags   = merge({ Owner = "sec" }, { Env = var.env })
  cycle1 = local.cycle2
  cycle2 = local.cycle1
}

resource "aws_s3_bucket" "logs" {
  bucket = "${local.name}-logs"
  tags   = local.tags
}

resource "aws_s3_bucket" "data" {
  count  = 2
  bucket = format("%s-data-%d", local.name, count.index)
  acl    = var.unset
  policy = jsonencode({ Version = "2012-10-17", Id = local.cycle1 })
}

resource "aws_s3_bucket_logging" "data" {
  for_each      = toset(["a", "b"])
  bucket        = aws_s3_bucket.data[0].id
  target_bucket = aws_s3_bucket.logs.bucket
  target_prefix = "${each.key}/${each.value}"
}

resource "aws_security_group" "web" {
  name = "web"

  ingress {
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["0.0.0.0/0"]
  }

  dynamic "ingress" {
    for_each = var.ports
    iterator = p
    content {
      from_port   = p.value
      to_port     = p.value
      cidr_blocks = [cidrsubnet("10.0.0.0/16", 8, p.key)]
    }
  }

  egress {
    cidr_blocks = [data.aws_vpc.main.cidr_block, "10.1.0.0/16"]
  }
}

data "aws_vpc" "main" {
  default = true
}

resource "aws_instance" "web" {
  ami           = lookup({ dev = "ami-1", prod = "ami-2" }, var.env, "ami-0")
  subnet_id     = data.aws_vpc.main.id
  host          = cidrhost("10.0.1.0/24", 5)
  vpc_security_group_ids = [aws_security_group.web.id, "sg-static"]
  user_data     = templatefile("${path.module}/init.tpl", { name = local.name })
  tags = {
    Name = local.name
    Zone = data.aws_vpc.main.zone
    Ws   = terraform.workspace
  }
}

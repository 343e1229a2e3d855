# Rendered by `cocusctl render` for environment prod: `terraform init -backend-config=<this file>`.
bucket = "acme-cocus-tfstate"
prefix = "cocus-rag/prod"

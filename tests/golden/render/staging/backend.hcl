# Rendered by `cocusctl render` for environment staging: `terraform init -backend-config=<this file>`.
bucket = "acme-cocus-tfstate"
prefix = "cocus-rag/staging"

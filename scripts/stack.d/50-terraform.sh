# Terraform is checked only: no Terraform release can be downloaded on this kind of machine, which has
# Terraform on PATH from the start.
STEPS+=(terraform)
readonly TERRAFORM_MIN=1.5

terraform_version() { { terraform version 2>/dev/null || true; } | sed -n 's/^Terraform v//p' | head -n 1; }

up_terraform() {
    local version
    version=$(terraform_version)
    [ -n "$version" ] || die "terraform not found on PATH; install Terraform >= $TERRAFORM_MIN" \
        "(https://developer.hashicorp.com/terraform/install)"
    report terraform ok "$version at $(command -v terraform)"
}
status_terraform() { up_terraform; }
summary_terraform() { echo "  terraform  $(terraform_version)"; }

# Terraform is checked only: no Terraform release can be downloaded on this kind of machine, which has
# Terraform on PATH from the start.
STEPS+=(terraform)
# The minimum is the modules' own `required_version` (cocusctl checks the same number before it runs terraform).
TERRAFORM_REQUIRED=$(sed -n 's/.*required_version *= *"\(>= *[0-9.]*\)".*/\1/p' \
    "$STACK_D/../../terraform/shared/versions.tf")
readonly TERRAFORM_REQUIRED

terraform_version() { { terraform version 2>/dev/null || true; } | sed -n 's/^Terraform v//p' | head -n 1; }

up_terraform() {
    local version
    version=$(terraform_version)
    [ -n "$version" ] || die "terraform not found on PATH; install Terraform $TERRAFORM_REQUIRED" \
        "(https://developer.hashicorp.com/terraform/install)"
    report terraform ok "$version at $(command -v terraform)"
}
status_terraform() { up_terraform; }
summary_terraform() { echo "  terraform  $(terraform_version)"; }

# What the Ansible tests need from Debian: the OpenSSH client (ssh, ssh-keygen), through which Ansible and
# testinfra reach the Molecule containers. ansible-core, Molecule and ansible-lint come with .venv
# (scripts/install.sh); the scenario's target image is built by the tests from the base image.
STEPS+=(ansible)
readonly ANSIBLE_PACKAGES=(openssh-client)

up_ansible() {
    need_packages "${ANSIBLE_PACKAGES[@]}"
    if ((${#NEW_PACKAGES[@]})); then
        report ansible "done" "installed: ${NEW_PACKAGES[*]}"
    else
        report ansible ok "all present: ${ANSIBLE_PACKAGES[*]} ($(ssh -V 2>&1 | cut -d, -f1))"
    fi
}

status_ansible() {
    if ! is_installed openssh-client; then
        report ansible FAIL "missing: openssh-client"
        return 1
    fi
    report ansible ok "$(ssh -V 2>&1 | cut -d, -f1)"
}

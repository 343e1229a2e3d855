# What the Ansible tests need from Debian: the OpenSSH client (ssh, ssh-keygen), through which Ansible and
# testinfra reach the Molecule containers. ansible-core, Molecule and ansible-lint come with .venv
# (scripts/install.sh); the scenario's target image is built by the tests from the base image.
STEPS+=(ansible)
readonly ANSIBLE_PACKAGES=(openssh-client)

up_ansible() { up_apt_step ansible "${ANSIBLE_PACKAGES[@]}"; }
status_ansible() { status_apt_step ansible "${ANSIBLE_PACKAGES[@]}"; }

# A bookworm server for the Molecule scenarios: systemd as PID 1, OpenSSH, an administrator with sudo whose
# key is mounted at run time, and the packages the roles install (the scenario containers have no network).
# Docker's engine is installed (the hardening role configures it) but masked: it cannot run unprivileged, and
# the service scenario mounts the machine's engine socket instead.
# Built from the local base image with host networking:
#   docker build --network host -f ansible/molecule/target.Dockerfile -t cocus-test/hardening-target:bookworm .
ARG BASE_IMAGE=cocus/python-base:3.11-bookworm
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive container=docker
RUN apt-get update \
 && apt-get install -y --no-install-recommends systemd systemd-sysv dbus openssh-server sudo netcat-openbsd \
      procps iproute2 nftables auditd unattended-upgrades apt-listchanges fail2ban python3-systemd lynis docker.io \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --groups sudo --shell /bin/bash admin \
 && install -d -m 0700 -o admin -g admin /home/admin/.ssh \
 && echo 'admin ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/admin && chmod 0440 /etc/sudoers.d/admin \
 && passwd --lock root \
 && systemctl mask docker.service docker.socket containerd.service
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]

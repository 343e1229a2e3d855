"""Effective configuration of a hardened host, read from the running programs (testinfra over SSH, as root)."""

from __future__ import annotations

import json

import pytest


def sshd_effective(host) -> dict[str, str]:
    out = host.check_output("/usr/sbin/sshd -T")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_sshd_refuses_root_and_passwords(host):
    config = sshd_effective(host)
    assert config["permitrootlogin"] == "no"
    assert config["passwordauthentication"] == "no"
    assert config["kbdinteractiveauthentication"] == "no"
    assert config["permitemptypasswords"] == "no"
    assert config["authenticationmethods"] == "publickey"
    assert config["x11forwarding"] == "no"
    assert config["maxauthtries"] == "3"


def test_sshd_offers_only_modern_algorithms(host):
    config = sshd_effective(host)
    assert config["ciphers"].split(",") == [
        "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com",
        "aes256-ctr", "aes192-ctr", "aes128-ctr",
    ]
    assert all(mac.endswith("-etm@openssh.com") for mac in config["macs"].split(","))
    kex = config["kexalgorithms"].split(",")
    assert "curve25519-sha256" in kex
    assert not [k for k in kex if "sha1" in k or k.startswith("ecdh-sha2-nistp") or k.endswith("group14-sha256")]


def ssh_attempt(host, args: str) -> tuple[int, str]:
    """Try to log in to the host's own sshd; (exit status of ssh, its stderr). 255 is a refused login."""
    # testinfra takes ssh's exit status 255 for a broken connection of its own: report it on stdout instead.
    ssh = "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5"
    result = host.run(f"{ssh} {args} true; echo exit=$?")
    return int(result.stdout.strip().rsplit("exit=", 1)[1]), result.stderr


def test_the_running_sshd_rejects_root_passwords_and_weak_algorithms(host):
    rc, err = ssh_attempt(host, "root@127.0.0.1")
    assert rc == 255 and "Permission denied (publickey)" in err
    rc, err = ssh_attempt(host, "-o PreferredAuthentications=password,keyboard-interactive admin@127.0.0.1")
    assert rc == 255 and "Permission denied (publickey)" in err
    rc, err = ssh_attempt(host, "-c aes128-cbc admin@127.0.0.1")
    assert rc == 255 and "no matching cipher" in err
    # An AEAD cipher needs no MAC: offer a CTR cipher so that the MAC is negotiated.
    rc, err = ssh_attempt(host, "-c aes128-ctr -o MACs=hmac-sha1 admin@127.0.0.1")
    assert rc == 255 and "no matching MAC" in err
    rc, err = ssh_attempt(host, "-o KexAlgorithms=diffie-hellman-group14-sha1 admin@127.0.0.1")
    assert rc == 255 and "no matching key exchange method" in err


def test_firewall_drops_by_default_and_allows_ssh(host):
    ruleset = json.loads(host.check_output("nft -j list table inet cocus_filter"))["nftables"]
    chains = [item["chain"] for item in ruleset if "chain" in item]
    assert [(c["name"], c["hook"], c["policy"]) for c in chains] == [("input", "input", "drop")]
    text = host.check_output("nft list chain inet cocus_filter input")
    assert 'iif "lo" accept' in text
    assert "tcp dport 22 ct state new" in text
    assert host.service("nftables").is_enabled


def test_firewall_config_file_is_valid(host):
    assert host.run("nft -c -f /etc/nftables.conf").rc == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("net.ipv4.conf.all.rp_filter", "1"),
        ("net.ipv4.conf.all.accept_redirects", "0"),
        ("net.ipv4.tcp_syncookies", "1"),
        ("kernel.kptr_restrict", "2"),
        ("kernel.dmesg_restrict", "1"),
        ("fs.suid_dumpable", "0"),
    ],
)
def test_sysctl_file_sets_kernel_and_network_parameters(host, key, value):
    content = host.file("/etc/sysctl.d/60-cocus-hardening.conf").content_string
    assert f"{key} = {value}" in content.splitlines()


def test_sysctl_file_parses(host):
    # `sysctl -p` parses the whole file; in a container only the write (not the parse) is refused.
    result = host.run("sysctl -p /etc/sysctl.d/60-cocus-hardening.conf")
    assert "Invalid argument" not in result.stderr and "unknown key" not in result.stderr


@pytest.mark.parametrize("name", ["ssh", "nftables", "fail2ban"])
def test_services_enabled_and_running(host, name):
    service = host.service(name)
    assert service.is_enabled
    assert service.is_running


@pytest.mark.parametrize("name", ["auditd", "unattended-upgrades", "apt-daily.timer", "apt-daily-upgrade.timer"])
def test_services_enabled(host, name):
    assert host.service(name).is_enabled


def test_fail2ban_guards_ssh_with_nftables(host):
    status = host.check_output("fail2ban-client status sshd")
    assert "Journal matches:" in status and "_COMM=sshd" in status
    banaction = host.check_output("fail2ban-client get sshd actions")
    assert "nftables" in banaction


def test_unattended_upgrades_take_security_updates_only(host):
    periodic = host.file("/etc/apt/apt.conf.d/20auto-upgrades").content_string
    assert 'APT::Periodic::Unattended-Upgrade "1";' in periodic
    config = host.check_output("apt-config dump Unattended-Upgrade::Origins-Pattern")
    assert "label=Debian-Security" in config
    assert "label=Debian;" not in config


def test_audit_rules_watch_identity_and_ssh(host):
    rules = host.file("/etc/audit/rules.d/60-cocus-hardening.rules").content_string.splitlines()
    assert "-w /etc/shadow -p wa -k identity" in rules
    assert "-w /etc/ssh/sshd_config -p wa -k sshd" in rules
    assert rules[-1] == "-e 2"


@pytest.mark.parametrize(
    ("path", "mode", "group"),
    [("/etc/shadow", 0o640, "shadow"), ("/etc/gshadow", 0o640, "shadow"), ("/etc/ssh/sshd_config", 0o600, "root"),
     ("/etc/sudoers.d", 0o750, "root"), ("/etc/nftables.conf", 0o600, "root")],
)
def test_file_permissions(host, path, mode, group):
    f = host.file(path)
    assert f.mode == mode
    assert f.user == "root" and f.group == group


def test_login_defaults(host):
    defs = host.file("/etc/login.defs").content_string
    assert "\nUMASK\t027\n" in defs
    assert "\nPASS_MAX_DAYS\t365\n" in defs


def test_docker_daemon_config(host):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["no-new-privileges"] is True and config["live-restore"] is True
    assert config["userns-remap"] == "default" and config["icc"] is False
    assert (config["log-driver"], config["log-opts"]) == ("json-file", {"max-size": "10m", "max-file": "3"})

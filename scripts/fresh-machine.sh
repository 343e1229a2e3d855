#!/usr/bin/env bash
# Run a command on a fresh machine of this project's kind, to see what a new user sees: the local bookworm
# base image's file system (Debian minbase + python3, none of the tools the set-up installs) unpacked into a
# directory, made the root of private mount and PID namespaces (the host's kernel and network), with
# a clone of this checkout at /repo (its files as they are now: uncommitted edits and untracked-but-not-ignored
# files included) and only what this kind of machine has from the start added: the terraform binary and the
# network's CA.
#
#   scripts/fresh-machine.sh COMMAND [ARG…]      e.g. scripts/fresh-machine.sh bash scripts/test.sh --unit
#
# COMMAND runs in /repo as root with a clean environment; its exit status is this script's. Everything it
# started is killed with the PID namespace, and the root is deleted, when it ends.
#
# Environment: COCUS_BASE_IMAGE   the image whose file system is the fresh root [cocus/python-base:3.11-bookworm]
#              COCUS_FRESH_DIR    where the root is unpacked                       [a new dir under /var/tmp]
#              COCUS_FRESH_ENV    extra VAR=value pairs for COMMAND (space-separated)
#              COCUS_FRESH_COPY   host paths copied into the root at the same place (space-separated): what a
#                                 new machine makes itself but too slowly for a test (the Kubernetes build)
#              COCUS_FRESH_OUT    a host directory mounted at /out in the root: what COMMAND writes there
#                                 (logs) outlives the root
# Needs root, docker (to export the image), unshare and pivot_root. Containers cannot be privileged here, so a
# Docker engine could not run inside a container; a root of its own, in namespaces of its own, can run one.
set -euo pipefail
trap 'rc=$?; echo "fresh-machine: error: \`$BASH_COMMAND\` failed (exit $rc)" >&2; exit $rc' ERR
(($#)) || { echo "usage: ${0##*/} COMMAND [ARG…]" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine: error: needs root (it mounts /proc, /sys and /dev)" >&2; exit 1; }
cd "$(dirname "$0")/.."

BASE_IMAGE=${COCUS_BASE_IMAGE:-cocus/python-base:3.11-bookworm}
HOST_CA=/etc/ssl/certs/ca-certificates.crt
DIR=${COCUS_FRESH_DIR:-$(mktemp -d /var/tmp/cocus-fresh.XXXXXX)}
ROOT=$DIR/root
if [ -n "${COCUS_FRESH_OUT:-}" ]; then
    mkdir -p "$COCUS_FRESH_OUT" && COCUS_FRESH_OUT=$(cd "$COCUS_FRESH_OUT" && pwd)
fi
cleanup() { rm -rf --one-file-system "$DIR"; }
trap cleanup EXIT

mkdir -p "$ROOT"
cid=$(docker create "$BASE_IMAGE" true)
docker export "$cid" | tar -C "$ROOT" -x
docker rm "$cid" >/dev/null

# A clone, as a user gets it, then the working tree as it is now (uncommitted edits included).
git clone -q --no-hardlinks "$PWD" "$ROOT/repo"
git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi; done \
    | tar --null --no-recursion -T - -c | tar -C "$ROOT/repo" -x

# What this kind of machine has from the start: terraform, and trust in the network's CA (the local CAs
# that Debian's ca-certificates keeps when it rebuilds the bundle, the bundle, pip told to use it).
install -m 0755 "$(readlink -f "$(command -v terraform)")" "$ROOT/usr/local/bin/terraform"
mkdir -p "$ROOT/usr/local/share/ca-certificates" "$ROOT/etc/ssl/certs"
cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/" 2>/dev/null || true
cp "$HOST_CA" "$ROOT/etc/ssl/certs/ca-certificates.crt"
printf '[global]\ncert = %s\n' "$HOST_CA" >"$ROOT/etc/pip.conf"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# What Debian's installer writes (an exported container's are empty: Docker mounts its own at run time).
uname -n >"$ROOT/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$(uname -n)" >"$ROOT/etc/hosts"
for path in ${COCUS_FRESH_COPY:-}; do
    mkdir -p "$ROOT$(dirname "$path")"
    cp -a "$path" "$ROOT$path"
done
# CI places the shared test data beside the clone; so does the fresh machine (/repo/../shared).
if [ -d ../shared ]; then cp -a ../shared "$ROOT/shared"; fi

# The fresh root becomes the mount namespace's root with pivot_root, as on a machine (it must be a mount
# point for that). A chroot is not enough: a container's own pivot_root would then leave its root beside the
# namespace's, and `docker exec` would enter the host's file system ("chdir to cwd … no such file or
# directory"); dockerd also remounts / inside its own chroots.
# shellcheck disable=SC2016
unshare --mount --pid --fork --kill-child bash -c '
    set -e
    root=$1 out=$2; shift 2
    mount --make-rprivate /
    mount --bind "$root" "$root"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    mount -t proc proc "$root/proc"
    mount -t tmpfs tmpfs "$root/run"
    if [ -n "$out" ]; then mkdir -p "$root/out" && mount --bind "$out" "$root/out"; fi
    cd "$root"
    mkdir -p .host-root
    pivot_root . .host-root
    cd /
    umount -l /.host-root
    rmdir /.host-root
    # shellcheck disable=SC2086
    exec /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM=dumb $COCUS_FRESH_ENV sh -c "cd /repo && exec \"\$@\"" sh "$@"
' fresh "$ROOT" "${COCUS_FRESH_OUT:-}" "$@"

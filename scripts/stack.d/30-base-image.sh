# The local base image (no public container registry is reachable here): Debian bookworm made with
# debootstrap, brought up to date from bookworm-security and bookworm-updates, with python3 and the host's CA
# bundle under its own name. Rebuilt when it goes stale: when Debian has published updates for it (checked
# with `apt-get -s upgrade` in a throwaway container) or when it is older than COCUS_BASE_MAX_AGE_DAYS.
STEPS+=(base-image)
readonly HOST_CA=/etc/ssl/certs/ca-certificates.crt
readonly IMAGE_CA=/usr/local/share/cocus/host-ca.crt
readonly SUITE=bookworm
BASE_IMAGE=${COCUS_BASE_IMAGE:-cocus/python-base:3.11-bookworm}
MIRROR=${COCUS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${COCUS_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
BASE_MAX_AGE_DAYS=${COCUS_BASE_MAX_AGE_DAYS:-7}
[[ $BASE_MAX_AGE_DAYS =~ ^[0-9]+$ ]] \
    || CURRENT_STEP=base-image die "COCUS_BASE_MAX_AGE_DAYS must be a whole number, got '$BASE_MAX_AGE_DAYS'"
readonly BUILT_LABEL=org.cocus.base.built   # epoch seconds of the build, set by `docker import --change`
ROOTFS=                                     # debootstrap target while the base image is being built

cleanup_rootfs() {
    [ -n "$ROOTFS" ] && [ -d "$ROOTFS" ] || return 0
    # debootstrap mounts /proc and /sys in its target; never delete through a live mount.
    awk -v d="$ROOTFS/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r \
        | while read -r m; do umount -l "$m" || true; done
    rm -rf --one-file-system "$ROOTFS"
    ROOTFS=
}

build_base_image() {
    ROOTFS=$(mktemp -d "$STACK_DIR/rootfs.XXXXXX")
    trap cleanup_rootfs EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    run_logged "$STACK_DIR/debootstrap.log" \
        debootstrap --variant=minbase --include=python3,python3-venv "$SUITE" "$ROOTFS" "$MIRROR"
    # debootstrap knows only the main suite: add security and updates, then upgrade to them.
    cat >"$ROOTFS/etc/apt/sources.list" <<LIST
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
LIST
    cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
    run_logged "$STACK_DIR/base-upgrade.log" chroot "$ROOTFS" sh -c \
        'export DEBIAN_FRONTEND=noninteractive; apt-get -q update && apt-get -q -y upgrade && apt-get clean'
    : >"$ROOTFS/etc/resolv.conf"
    # The host's CA bundle under its own name: Debian's ca-certificates would rewrite the default bundle.
    install -D -m 0644 "$HOST_CA" "$ROOTFS$IMAGE_CA"
    rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin \
        "$ROOTFS"/var/cache/apt/archives/*.deb \
        "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/locale/*
    tar -C "$ROOTFS" -c . | docker import \
        --change "ENV PIP_CERT=$IMAGE_CA" \
        --change "ENV SSL_CERT_FILE=$IMAGE_CA" \
        --change "ENV REQUESTS_CA_BUNDLE=$IMAGE_CA" \
        --change 'ENV LANG=C.UTF-8' \
        --change "LABEL $BUILT_LABEL=$(date +%s)" \
        --change 'CMD ["python3"]' \
        - "$BASE_IMAGE" >/dev/null
    cleanup_rootfs
}

# Age of the base image in days; "" when it is missing, "unknown" when it carries no build date (made
# before the label existed: treated as stale).
base_image_age_days() {
    local built
    built=$(docker image inspect --format "{{index .Config.Labels \"$BUILT_LABEL\"}}" "$BASE_IMAGE" 2>/dev/null) \
        || return 0
    if [[ $built =~ ^[0-9]+$ ]]; then echo $(( ($(date +%s) - built) / 86400 )); else echo unknown; fi
}

# How many packages of the base image Debian has updates for; "" when that cannot be told (mirror unreachable).
base_image_pending_updates() {
    local out
    out=$(timeout 120 docker run --rm --network host "$BASE_IMAGE" sh -c \
        'apt-get -qq update >/dev/null 2>&1 && apt-get -s upgrade | grep -c "^Inst " || true' 2>/dev/null) || return 0
    [[ $out =~ ^[0-9]+$ ]] && echo "$out"
    return 0
}

up_base_image() {
    local verb=ok note="present" age pending=""
    age=$(base_image_age_days)
    if [ -n "$age" ] && [ "$age" != unknown ]; then pending=$(base_image_pending_updates); fi
    if [ -z "$age" ] || [ "$age" = unknown ] || ((age >= BASE_MAX_AGE_DAYS)) || [ "${pending:-0}" -gt 0 ]; then
        [ "$(id -u)" -eq 0 ] || die "base image $BASE_IMAGE is missing or stale and only root can build it" \
            "(debootstrap); on Debian run: sudo $0 up"
        [ -r "$HOST_CA" ] || die "$HOST_CA is missing: the image needs the host's CA bundle to reach PyPI"
        need_packages debootstrap
        build_base_image
        verb="done"
        case $age in
            "") note="built" ;;
            unknown) note="rebuilt (it had no build date)" ;;
            *) if [ "${pending:-0}" -gt 0 ]; then note="rebuilt ($pending packages had updates)";
               else note="rebuilt (it was $age days old)"; fi ;;
        esac
        note+=" with debootstrap + $SUITE-security upgrades"
    else
        note+=", $age days old, ${pending:-unknown number of} pending updates"
    fi
    # The image must start, and its CA bundle (what pip and requests use in builds) must load.
    local py
    py=$(docker run --rm --network host "$BASE_IMAGE" python3 -c \
        'import os, platform, ssl; ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"]);
print(platform.python_version())' 2>&1) || die "base image $BASE_IMAGE does not work: $py"
    local id size
    read -r id size < <(docker image inspect --format '{{.Id}} {{.Size}}' "$BASE_IMAGE")
    report base-image "$verb" "$BASE_IMAGE $note (${id:7:12}, $((size / 1000000)) MB, python $py, CA ok)"
}

status_base_image() {
    local age
    if docker_ok && age=$(base_image_age_days) && [ -n "$age" ]; then
        report base-image ok "$BASE_IMAGE $(docker image inspect --format '{{.Id}}' "$BASE_IMAGE"), $age days old"
    else
        report base-image FAIL "$BASE_IMAGE is missing"
        return 1
    fi
}

summary_base_image() {
    echo "  base image $BASE_IMAGE $(docker image inspect --format '{{.Id}}' "$BASE_IMAGE")"
}

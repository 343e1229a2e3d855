# Programs the main job and the tests use from Debian: git (`cocusctl build` tags images with the commit),
# redis-server (the service's cache in tests) and python3.11-doc (the RAG service's default corpus, read by
# tests that index it).
STEPS+=(packages)
readonly TEST_PACKAGES=(git redis-server python3.11-doc)

up_packages() {
    need_packages "${TEST_PACKAGES[@]}"
    if ((${#NEW_PACKAGES[@]})); then
        report packages "done" "installed: ${NEW_PACKAGES[*]}"
    else
        report packages ok "all present: ${TEST_PACKAGES[*]}"
    fi
}

status_packages() {
    local p missing=()
    for p in "${TEST_PACKAGES[@]}"; do is_installed "$p" || missing+=("$p"); done
    if ((${#missing[@]})); then
        report packages FAIL "missing: ${missing[*]}"
        return 1
    fi
    report packages ok "all present: ${TEST_PACKAGES[*]}"
}

# Programs the main job and the tests use from Debian: git (`cocusctl build` tags images with the commit),
# redis-server (the service's cache in tests) and python3.11-doc (the RAG service's default corpus, read by
# tests that index it).
STEPS+=(packages)
readonly TEST_PACKAGES=(git redis-server python3.11-doc)

up_packages() { up_apt_step packages "${TEST_PACKAGES[@]}"; }
status_packages() { status_apt_step packages "${TEST_PACKAGES[@]}"; }

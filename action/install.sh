#!/usr/bin/env bash
# The action's install step: deep-review on PATH. DEEP_REVIEW_VERSION is
# "path" (build the action's own checkout), a version (crates-style tag
# vX.Y.Z of this repository) or any git ref of it; `cargo install --locked`
# either way, as no release binaries are published yet.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
version="${DEEP_REVIEW_VERSION:-path}"
if command -v deep-review >/dev/null 2>&1 && [ "$version" = path ] \
    && [ "$(deep-review --version)" = "deep-review $(sed -n 's/^version = "\(.*\)"/\1/p' "$here/Cargo.toml" | head -1)" ]; then
    exit 0
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "::error::deep-review needs a Rust toolchain (cargo) on the runner to be installed"
    exit 1
fi
case "$version" in
    path) cargo install --locked --path "$here" ;;
    # A version (a dot; a commit hash has none) is a v-prefixed tag.
    [0-9]*.[0-9]*) cargo install --locked --git "https://github.com/${GITHUB_ACTION_REPOSITORY:-deep-review/deep-review}" --tag "v$version" deep-review ;;
    *) cargo install --locked --git "https://github.com/${GITHUB_ACTION_REPOSITORY:-deep-review/deep-review}" --rev "$version" deep-review ;;
esac

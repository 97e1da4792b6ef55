#!/usr/bin/env bash
# The action's install step: deep-review on PATH. DEEP_REVIEW_VERSION is
# "path" (build the action's own checkout), a version (X.Y.Z: the release
# binary of tag vX.Y.Z for this runner when one is published, its SHA-256
# checked; else `cargo install --locked` of that tag) or any git ref of
# this repository (`cargo install --locked`).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
version="${DEEP_REVIEW_VERSION:-path}"
repository="${GITHUB_ACTION_REPOSITORY:-deep-review/deep-review}"
if command -v deep-review >/dev/null 2>&1 && [ "$version" = path ] \
    && [ "$(deep-review --version)" = "deep-review $(sed -n 's/^version = "\(.*\)"/\1/p' "$here/Cargo.toml" | head -1)" ]; then
    exit 0
fi

# A release binary: deep-review-<target>.tar.gz and its .sha256, attached
# to the release by .github/workflows/release.yml.
release_binary() {
    local target
    case "$(uname -s)-$(uname -m)" in
        Linux-x86_64) target=x86_64-unknown-linux-gnu ;;
        Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-gnu ;;
        *) return 1 ;;
    esac
    local base="${DEEP_REVIEW_RELEASES:-https://github.com/$repository/releases/download}/v$version"
    local dir="${RUNNER_TEMP:-/tmp}/deep-review-$version"
    local archive="deep-review-$target.tar.gz"
    mkdir -p "$dir"
    if ! curl -fsSL --retry 3 -o "$dir/$archive" "$base/$archive" \
        || ! curl -fsSL --retry 3 -o "$dir/$archive.sha256" "$base/$archive.sha256"; then
        echo "::notice::no release binary of deep-review $version for $target; building it with cargo"
        return 1
    fi
    local expected actual
    expected="$(cut -d' ' -f1 <"$dir/$archive.sha256")"
    actual="$(sha256sum "$dir/$archive" | cut -d' ' -f1)"
    if [ "$expected" != "$actual" ]; then
        # A tampered or broken download is no reason to build instead.
        echo "::error::the release binary's SHA-256 is $actual, its .sha256 says $expected: not installed"
        exit 1
    fi
    # Called in a condition, where `set -e` does not hold: each step checked.
    tar -xzf "$dir/$archive" -C "$dir" deep-review || return 1
    chmod +x "$dir/deep-review" || return 1
    if ! "$dir/deep-review" --version >/dev/null 2>&1; then
        echo "::notice::the release binary of deep-review $version does not run on this runner; building it with cargo"
        return 1
    fi
    echo "$dir" >>"${GITHUB_PATH:-/dev/null}"
    echo "deep-review $version from the release binary ($target)"
}

case "$version" in
    # A version (a dot; a commit hash has none) is a v-prefixed tag.
    [0-9]*.[0-9]*) if release_binary; then exit 0; fi ;;
esac
if ! command -v cargo >/dev/null 2>&1; then
    echo "::error::deep-review needs a Rust toolchain (cargo) on the runner to be installed"
    exit 1
fi
case "$version" in
    path) cargo install --locked --path "$here" ;;
    [0-9]*.[0-9]*) cargo install --locked --git "https://github.com/$repository" --tag "v$version" deep-review ;;
    *) cargo install --locked --git "https://github.com/$repository" --rev "$version" deep-review ;;
esac

#!/usr/bin/env bash
# The action's review step: reviews the PR, writes the step's outputs and
# summary, then exits with deep-review's exit code (4: findings at or
# above fail-on; 3: incomplete), outputs written either way.
#
# Everything from the workflow arrives as a variable (INPUT_*, GITHUB_*),
# never as text of this script.
set -euo pipefail

# An early end still says how it ended.
fail_early() {
    echo "::error::$1"
    echo "exit-code=2" >>"${GITHUB_OUTPUT:-/dev/null}"
    exit 2
}
command -v python3 >/dev/null 2>&1 || fail_early "python3 is needed on the runner"

pr="${INPUT_PR:-}"
if [ -z "$pr" ]; then
    pr=$(python3 -c 'import json, os; e = json.load(open(os.environ["GITHUB_EVENT_PATH"])); print((e.get("pull_request") or e.get("issue") or {}).get("number", ""))')
fi
case "$pr" in
    ''|*[!0-9]*) fail_early "no pull request number: set the pr input, or run on pull_request events" ;;
esac

# Run directories go where the job can upload them.
export XDG_DATA_HOME="${XDG_DATA_HOME:-${RUNNER_TEMP:-/tmp}/deep-review-data}"

# The run directory gets these; the Markdown goes to stdout.
export DEEP_REVIEW_FORMATS="${DEEP_REVIEW_FORMATS:-md,json,sarif}"
args=(pr "$pr" --repo "$GITHUB_REPOSITORY" -q)
[ -n "${INPUT_AGENTS:-}" ] && args+=(--agents "$INPUT_AGENTS")
if [ -n "${INPUT_MODEL:-}" ]; then
    IFS=, read -ra pairs <<<"$INPUT_MODEL"
    for p in "${pairs[@]}"; do args+=(--model "$p"); done
fi
if [ -n "${INPUT_EFFORT:-}" ]; then
    IFS=, read -ra pairs <<<"$INPUT_EFFORT"
    for p in "${pairs[@]}"; do args+=(--effort "$p"); done
fi
[ -n "${INPUT_ROUND:-}" ] && args+=(--round "$INPUT_ROUND")
[ -n "${INPUT_HEAD_SHA:-}" ] && args+=(--head "$INPUT_HEAD_SHA")
case "${INPUT_FAIL_ON:-none}" in
    none|'') ;;
    *) args+=(--fail-on "$INPUT_FAIL_ON") ;;
esac
post="${INPUT_POST:-comment}"
if [ "$post" = none ]; then
    :
elif [ "$post" = both ] || [[ "$post" =~ ^(comment|review|check)(,(comment|review|check))*$ ]]; then
    args+=(--post "$post")
else
    fail_early "post must be comment, review, check (comma-separated), both or none"
fi
case "${INPUT_REQUEST_CHANGES_ON:-none}" in
    none|'') ;;
    critical|important|suggestion) args+=(--request-changes-on "$INPUT_REQUEST_CHANGES_ON") ;;
    *) fail_early "request-changes-on must be none, critical, important or suggestion" ;;
esac

out="${RUNNER_TEMP:-/tmp}/deep-review-$pr.md"
# Only a report written by this run counts: the data folder may hold
# earlier rounds (restored from a cache).
started="${RUNNER_TEMP:-/tmp}/deep-review-started-$$"
touch "$started"
set +e
deep-review "${args[@]}" >"$out"
code=$?
set -e

# This run's directory: the newest report of this PR.
run=$(python3 - "$XDG_DATA_HOME/deep-review/$GITHUB_REPOSITORY/pr-$pr" "$started" <<'PY' || true
import os, sys
folder, started = sys.argv[1], os.path.getmtime(sys.argv[2])
best = None
for name in os.listdir(folder) if os.path.isdir(folder) else []:
    report = os.path.join(folder, name, "report.json")
    if os.path.isfile(report) and os.path.getmtime(report) >= started:
        t = os.path.getmtime(report)
        if best is None or t > best[0]:
            best = (t, os.path.join(folder, name))
print(best[1] if best else "")
PY
)
rm -f "$started"

{
    echo "exit-code=$code"
    echo "pr=$pr"
    if [ -n "$run" ]; then
        echo "run-dir=$run"
        [ -f "$run/report.md" ] && echo "report=$run/report.md"
        [ -f "$run/report.sarif" ] && echo "sarif=$run/report.sarif"
        python3 - "$run/report.json" <<'PY' || true
import json, sys
r = json.load(open(sys.argv[1]))
print(f"verdict={r['verdict']['decision']}")
for k in ("critical", "important", "suggestion"):
    print(f"{k}={r['counts'][k]}")
PY
    fi
} >>"${GITHUB_OUTPUT:-/dev/null}"

if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -n "$run" ]; then
    deep-review show "$(basename "$run")" --format github >>"$GITHUB_STEP_SUMMARY" || true
fi
exit "$code"

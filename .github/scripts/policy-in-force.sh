#!/usr/bin/env bash
# The policy that judges a change, read from the commit the change started from:
#   policy-in-force.sh JUDGE [CHANGED]
# JUDGE is the commit whose policy is in force: for apply, the default branch before
# the push (github.event.before), so no commit of the push (a rebase merge's first
# commit deleting the policy, say) judges the others; for drift, the default branch
# as it is. CHANGED, when given, is the commit the push ends at: whether the push
# edits the policy file comes from `git diff JUDGE CHANGED`, which has no cap on the
# files it compares (the pull request files API stops at 3,000).
#
# Environment: POLICY (the operator's input: a path inside the repository; ./x and
# a/../x are x), BOOTSTRAP (true: a JUDGE without the policy file lets this push
# bring the first one), GH_TOKEN (to fetch JUDGE when the checkout lacks it),
# RUNNER_TEMP and GITHUB_OUTPUT.
#
# Fails closed: with POLICY set, a JUDGE that is no commit, or has no such file, ends
# the job before anything is applied, unless BOOTSTRAP is true. Writes the policy to
# $RUNNER_TEMP/policy.yaml and the outputs found (true when it did) and changed.
set -euo pipefail
judge=$1
changed=${2:-}
path=$(realpath -ms --relative-to=. -- "$POLICY")
case "$path" in
  ..|../*|/*)
    echo "::error::policy must be a path inside the repository, not '$POLICY'; nothing was applied."
    exit 1 ;;
esac
commit_or_none() {
  # A commit of this repository, fetched explicitly when the checkout lacks it.
  local sha=$1
  [[ "$sha" =~ ^[0-9a-f]{40}$ ]] && ! [[ "$sha" =~ ^0+$ ]] || return 1
  git cat-file -e "$sha^{commit}" 2>/dev/null && return 0
  local auth=()
  if [ -n "${GH_TOKEN:-}" ]; then
    auth=(-c "http.extraheader=AUTHORIZATION: basic $(printf 'x-access-token:%s' "$GH_TOKEN" | base64 -w0)")
  fi
  git "${auth[@]}" fetch --quiet --no-tags --depth=1 origin "$sha" 2>/dev/null || return 1
  git cat-file -e "$sha^{commit}" 2>/dev/null
}
found=false
if commit_or_none "$judge" && [ "$(git cat-file -t "$judge:$path" 2>/dev/null)" = blob ]; then
  git show "$judge:$path" > "$RUNNER_TEMP/policy.yaml"
  found=true
  echo "Judging by $path as it is at $judge."
elif [ "${BOOTSTRAP:-false}" = "true" ]; then
  echo "::notice::No $path at '$judge': policy-bootstrap lets this push bring the first policy, and nothing judges it."
else
  echo "::error::policy is $path, but the commit before this push ('$judge') has no such file, so nothing can judge it; nothing was applied. If this push brings the first policy, run once with policy-bootstrap: true."
  exit 1
fi
edited=false
if [ -n "$changed" ]; then
  commit_or_none "$changed" || { echo "::error::cannot read commit '$changed'; nothing was applied."; exit 1; }
  if [ "$found" = false ] || ! git diff --quiet --no-renames "$judge" "$changed" -- "$path"; then
    edited=true
  fi
fi
{ echo "found=$found"; echo "changed=$edited"; } >> "$GITHUB_OUTPUT"

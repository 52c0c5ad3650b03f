#!/usr/bin/env bash
# The plan reviewed on the pull request that merged COMMIT, unzipped into DIR:
#   reviewed-plan.sh COMMIT DIR
# with GH_TOKEN, REPO (owner/name), REPO_ID, PREFIX (the plan workflow's
# artifact-prefix) and PLAN_WORKFLOW (its file name, or empty) in the environment.
# Provenance: only a plan uploaded by a successful pull_request run of the plan
# workflow, in this repository (not a fork), for the merged pull request's head
# commit. Anything else, whatever its name, is not the reviewed plan. Says why on
# stderr and exits 1 when there is none; the caller says what that means for it.
# Used by reconciler-apply.yml (the plan to apply) and reconciler-drift.yml (the
# holds that may end by themselves), so both trust the same plans.
set -euo pipefail
commit=$1
dir=$2
pr=$(gh api "repos/$REPO/commits/$commit/pulls" | jq -r '[.[] | select(.merged_at != null)][0].number // empty')
if [ -z "$pr" ]; then
  echo "No pull request merged $commit, so no plan of it was reviewed." >&2
  exit 1
fi
head=$(gh api "repos/$REPO/pulls/$pr" | jq -r '.head.sha')
gh api "repos/$REPO/actions/artifacts?name=$PREFIX-pr-$pr&per_page=100" \
  | jq -r --arg head "$head" --argjson repo "$REPO_ID" \
    '.artifacts[] | select(.expired == false and .workflow_run.head_sha == $head
      and .workflow_run.repository_id == $repo and .workflow_run.head_repository_id == $repo)
      | "\(.id) \(.workflow_run.id)"' > "$RUNNER_TEMP/candidates"
id=""
while read -r artifact run; do
  verdict=$(gh api "repos/$REPO/actions/runs/$run" | jq -r --arg repo "$REPO" --arg workflow "$PLAN_WORKFLOW" \
    'if .conclusion == "success" and .event == "pull_request" and .head_repository.full_name == $repo
       and ($workflow == "" or .path == ".github/workflows/" + $workflow) then "ok" else "no" end')
  if [ "$verdict" = "ok" ]; then id=$artifact; break; fi
done < "$RUNNER_TEMP/candidates"
if [ -z "$id" ]; then
  echo "No plan of pull request #$pr passes the provenance check (a successful pull_request run of the plan workflow in $REPO, not a fork, for its head commit $head); its artifact may have expired." >&2
  exit 1
fi
gh api "repos/$REPO/actions/artifacts/$id/zip" > "$RUNNER_TEMP/reviewed.zip"
mkdir -p "$dir"
unzip -o -q "$RUNNER_TEMP/reviewed.zip" -d "$dir"
echo "The plan reviewed on pull request #$pr (artifact $id, head $head) is in $dir."

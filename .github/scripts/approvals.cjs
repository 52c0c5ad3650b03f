// Who approved the pull request a push to the default branch merged, for
// `reconciler apply --approved-by`: the approving reviews of its merged head commit,
// not by its author, not by a bot, each reviewer's last word (a later request for
// changes or a dismissal withdraws an approval; a comment does not). Also whether the
// pull request edited the policy file (`--policy-changed`). Run by
// actions/github-script in the apply workflow; tested under Node against a mocked
// GitHub client (tests/workflows/test_approvals.py).
//
// Everything here comes from the GitHub API, which the operator trusts for who
// reviewed; the logins are checked again by reconciler as GitHub logins.
module.exports = async ({ github, context, core, policyFile }) => {
  const { owner, repo } = context.repo;
  const sha = context.sha;
  const associated = await github.rest.repos.listPullRequestsAssociatedWithCommit({
    owner, repo, commit_sha: sha,
  });
  const pr = associated.data.find((p) => p.merged_at && p.merge_commit_sha === sha);
  if (!pr) {
    core.notice(`No pull request merged ${sha}: no approvals, so a rule that needs one refuses.`);
    core.setOutput('approved-by', '');
    core.setOutput('policy-changed', 'false');
    return { approvedBy: [], policyChanged: false };
  }
  const reviews = await github.paginate(github.rest.pulls.listReviews, {
    owner, repo, pull_number: pr.number, per_page: 100,
  });
  const last = new Map();
  for (const review of reviews) {
    const login = review.user && review.user.login;
    if (!login || review.user.type === 'Bot' || login === pr.user.login) continue;
    if (['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED'].includes(review.state)) {
      last.set(login, review);
    }
  }
  const approvedBy = [...last.values()]
    .filter((r) => r.state === 'APPROVED' && r.commit_id === pr.head.sha)
    .map((r) => r.user.login)
    .sort();
  let policyChanged = false;
  if (policyFile) {
    const files = await github.paginate(github.rest.pulls.listFiles, {
      owner, repo, pull_number: pr.number, per_page: 100,
    });
    policyChanged = files.some(
      (f) => f.filename === policyFile || f.previous_filename === policyFile);
  }
  core.info(`Pull request #${pr.number}: approved on its merged head by ${approvedBy.join(', ') || 'nobody'}.`);
  core.setOutput('approved-by', approvedBy.join(','));
  core.setOutput('policy-changed', policyChanged ? 'true' : 'false');
  return { approvedBy, policyChanged };
};

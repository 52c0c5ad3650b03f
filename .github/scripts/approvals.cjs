// Who approved the pull request a push to the default branch merged, for
// `reconciler apply --approved-by`: the approving reviews of its merged head commit,
// not by its author, not by a bot, not by anyone who wrote or committed one of its
// commits (an owner cannot approve their own push), each reviewer's last word (a
// later request for changes or a dismissal withdraws an approval; a comment does
// not). Whether the push edits the policy file is the policy step's (`git diff`). Run by
// actions/github-script in the apply workflow; tested under Node against a mocked
// GitHub client (tests/workflows/test_approvals.py).
//
// Everything here comes from the GitHub API, which the operator trusts for who
// reviewed; the logins are checked again by reconciler as GitHub logins.
module.exports = async ({ github, context, core }) => {
  const { owner, repo } = context.repo;
  const sha = context.sha;
  const associated = await github.rest.repos.listPullRequestsAssociatedWithCommit({
    owner, repo, commit_sha: sha,
  });
  const pr = associated.data.find((p) => p.merged_at && p.merge_commit_sha === sha);
  if (!pr) {
    core.notice(`No pull request merged ${sha}: no approvals, so a rule that needs one refuses.`);
    core.setOutput('approved-by', '');
    return { approvedBy: [] };
  }
  const reviews = await github.paginate(github.rest.pulls.listReviews, {
    owner, repo, pull_number: pr.number, per_page: 100,
  });
  // GitHub lists at most 250 commits of a pull request: past that, who pushed what
  // is not known, and no approval counts (a rule that needs one refuses).
  const commits = await github.paginate(github.rest.pulls.listCommits, {
    owner, repo, pull_number: pr.number, per_page: 100,
  });
  const pushed = new Set([pr.user.login.toLowerCase()]);
  for (const commit of commits) {
    for (const who of [commit.author, commit.committer]) {
      if (who && who.login && who.login !== 'web-flow') pushed.add(who.login.toLowerCase());
    }
  }
  const last = new Map();
  for (const review of reviews) {
    const login = review.user && review.user.login;
    if (!login || review.user.type === 'Bot' || pushed.has(login.toLowerCase())) continue;
    if (['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED'].includes(review.state)) {
      last.set(login, review);
    }
  }
  const approvedBy = commits.length >= 250 ? [] : [...last.values()]
    .filter((r) => r.state === 'APPROVED' && r.commit_id === pr.head.sha)
    .map((r) => r.user.login)
    .sort();
  if (commits.length >= 250) {
    core.notice(`Pull request #${pr.number} has 250 commits or more, so who pushed them is not known: no approval counts.`);
  }
  core.info(`Pull request #${pr.number}: approved on its merged head by ${approvedBy.join(', ') || 'nobody'}.`);
  core.setOutput('approved-by', approvedBy.join(','));
  return { approvedBy };
};

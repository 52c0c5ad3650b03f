// Runs .github/scripts/approvals.cjs as the apply workflow's github-script step does,
// against a mocked GitHub client whose answers come from the JSON state given; prints
// the step's outputs as JSON.
const fs = require('fs');
const path = require('path');

async function main() {
  const [scriptFile, stateFile] = process.argv.slice(2);
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  const run = require(path.resolve(scriptFile));
  const outputs = {};
  const github = {
    paginate: async (method, params) => {
      if (method === github.rest.pulls.listReviews) return state.reviews[params.pull_number] || [];
      if (method === github.rest.pulls.listCommits) return state.commits[params.pull_number] || [];
      throw new Error('unexpected list');
    },
    rest: {
      repos: {
        listPullRequestsAssociatedWithCommit: async ({ commit_sha }) => ({
          data: state.pulls.filter((p) => p.commits.includes(commit_sha)),
        }),
      },
      pulls: {
        listReviews: () => { throw new Error('paginate it'); },
        listCommits: () => { throw new Error('paginate it'); },
      },
    },
  };
  const context = { repo: { owner: 'my-org', repo: 'org-settings' }, sha: state.sha };
  const core = {
    setOutput: (name, value) => { outputs[name] = value; },
    notice: () => {},
    info: () => {},
  };
  await run({ github, context, core });
  process.stdout.write(JSON.stringify(outputs));
}

main().catch((e) => { process.stderr.write(String(e.stack || e)); process.exit(1); });

// Runs one actions/github-script step's script as the action does (an async function
// of github, context, core and require), against a mocked GitHub client: the issue's
// comments come from the JSON file given, and every write is printed as JSON.
const fs = require('fs');

async function main() {
  const [scriptFile, stateFile] = process.argv.slice(2);
  const script = fs.readFileSync(scriptFile, 'utf8');
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  const writes = [];
  const github = {
    paginate: async (method, params) => {
      if (method !== github.rest.issues.listComments) throw new Error('unexpected list');
      if (params.issue_number !== state.issue_number) throw new Error('wrong pull request');
      return state.comments;
    },
    rest: {
      issues: {
        listComments: () => { throw new Error('paginate it'); },
        updateComment: async (params) => { writes.push({ update: params }); },
        createComment: async (params) => { writes.push({ create: params }); },
      },
    },
  };
  const context = {
    repo: { owner: 'my-org', repo: 'org-settings' },
    payload: { pull_request: { number: state.issue_number } },
  };
  const core = { setFailed: (m) => { throw new Error(m); } };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  await new AsyncFunction('github', 'context', 'core', 'require', script)(
    github, context, core, require);
  process.stdout.write(JSON.stringify(writes));
}

main().catch((e) => { process.stderr.write(String(e.stack || e)); process.exit(1); });

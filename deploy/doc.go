// Package deploy holds tcusage's deployment artefacts and their offline checks.
//
// It has no code of its own: the files next to it are data. serverless.yml (the project file)
// and one sub-folder per function (telcall/, trtcusage/, roomusage/, essbill/, each a
// `component: scf` instance, with cam-policy.json, the policy of that function's own run role)
// describe the SCF functions for Tencent's Serverless Cloud Framework; scf-rules.yaml restates
// the documented SCF limits as data. The package's tests parse the deployment files and check
// them against those rules and the project's own conventions, since Tencent validates
// serverless.yml only on its servers at deploy time. See README.md for how to deploy.
package deploy

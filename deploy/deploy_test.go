package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// functionSpec is what the project expects of each function's instance.
type functionSpec struct {
	dir      string
	timeout  int
	required []string // TCUSAGE_ variables it must set
	only     []string // TCUSAGE_ variables no other function may set
}

var commonEnv = []string{"TCUSAGE_SINK", "TCUSAGE_TIMEZONE", "TCUSAGE_FORMAT", "TCUSAGE_RESTATE_DAYS", "TCUSAGE_DAY_SETTLES_AT", "TCUSAGE_HTTP_TOKEN_SHA256"}

var functions = []functionSpec{
	{dir: "telcall", timeout: 300, required: append([]string{"TCUSAGE_SDK_APP_IDS"}, commonEnv...)},
	{dir: "trtcusage", timeout: 300, required: append([]string{"TCUSAGE_SDK_APP_IDS", "TCUSAGE_TRTC_ACTION"}, commonEnv...),
		only: []string{"TCUSAGE_TRTC_ACTION"}},
	// One DescribeTrtcRoomUsage call per 15 s: it gets the longest timeout.
	{dir: "roomusage", timeout: 900, required: append([]string{"TCUSAGE_SDK_APP_IDS"}, commonEnv...)},
	{dir: "essbill", timeout: 300, required: append([]string{"TCUSAGE_ESS_APP_ID", "TCUSAGE_ESS_ORG_OPEN_IDS"}, commonEnv...),
		only: []string{"TCUSAGE_ESS_APP_ID", "TCUSAGE_ESS_ORG_OPEN_IDS", "TCUSAGE_ESS_QUOTA_TYPE"}},
}

// documentedEnv lists the TCUSAGE_ variables the project documents (shared/job, shared/tcloud;
// the README's configuration table). serverless.yml may set only these.
var documentedEnv = []string{
	"TCUSAGE_SINK", "TCUSAGE_SDK_APP_IDS", "TCUSAGE_ESS_APP_ID", "TCUSAGE_ESS_ORG_OPEN_IDS",
	"TCUSAGE_ESS_QUOTA_TYPE", "TCUSAGE_TIMEZONE", "TCUSAGE_FORMAT", "TCUSAGE_RESTATE_DAYS",
	"TCUSAGE_HTTP_TOKEN_SHA256", "TCUSAGE_TRTC_ACTION", "TCUSAGE_DAY_SETTLES_AT", "TCUSAGE_LEASE_TTL", "TCUSAGE_LATE_AFTER",
	"TCUSAGE_API_ENDPOINT", "TCUSAGE_API_ROOT_DOMAIN", "TCUSAGE_API_RATE", "TCUSAGE_API_TIMEOUT", "TCUSAGE_API_REGION",
}

// deployInputs lists the ${env:...} values the instances read at deploy time; README.md
// documents each one.
var deployInputs = []string{
	"DEPLOY_REGION", "DEPLOY_RUN_ROLE_PREFIX", "DEPLOY_COS_BUCKET", "DEPLOY_COS_PREFIX", "DEPLOY_COS_REGION",
	"DEPLOY_CCC_SDK_APP_IDS", "DEPLOY_TRTC_SDK_APP_IDS", "DEPLOY_ESS_APP_ID", "DEPLOY_ESS_ORG_OPEN_IDS",
	"DEPLOY_HTTP_TOKEN_SHA256",
}

func instancePath(dir string) string { return filepath.Join(dir, "serverless.yml") }

// runRole is the run role each instance must name: its own, whose policy is
// deploy/<dir>/cam-policy.json. A role shared between functions would give each of them every
// other's actions and datasets.
func runRole(dir string) string { return "${env:DEPLOY_RUN_ROLE_PREFIX}-" + dir }

// checkProject checks tcusage's own conventions for the instance in dir.
func checkProject(r *rules, spec functionSpec, doc map[string]any) problems {
	var ps problems
	pr := r.Project
	in, ok := doc["inputs"].(map[string]any)
	if !ok {
		ps.add("inputs", "missing")
		return ps
	}
	if doc["name"] != spec.dir {
		ps.add("name", "instance name %v, want the directory name %q", doc["name"], spec.dir)
	}
	if in["name"] != "tcusage-"+spec.dir {
		ps.add("inputs.name", "%v, want %q", in["name"], "tcusage-"+spec.dir)
	}
	for _, kv := range [][2]any{{"runtime", pr.Runtime}, {"type", pr.Type}, {"handler", pr.Handler}} {
		if in[kv[0].(string)] != kv[1] {
			ps.add("inputs."+kv[0].(string), "%v, want %v", in[kv[0].(string)], kv[1])
		}
	}
	src := in["src"]
	if m, ok := src.(map[string]any); ok {
		src = m["src"]
	}
	if want := pr.SrcPrefix + spec.dir; src != want {
		ps.add("inputs.src", "%v, want %q (cmd/pack's output)", src, want)
	}
	if _, ok := in["memorySize"]; !ok {
		ps.add("inputs.memorySize", "set it explicitly")
	}
	if in["timeout"] != spec.timeout {
		ps.add("inputs.timeout", "%v, want %d", in["timeout"], spec.timeout)
	}
	switch role, _ := in["role"].(string); {
	case role == "":
		ps.add("inputs.role", "a run role is required (its policy is deploy/%s/cam-policy.json)", spec.dir)
	case role != runRole(spec.dir):
		ps.add("inputs.role", "%q, want the function's own run role %q (policy deploy/%s/cam-policy.json)", role, runRole(spec.dir), spec.dir)
	}

	vars := map[string]any{}
	if env, ok := in["environment"].(map[string]any); ok {
		vars, _ = env["variables"].(map[string]any)
	}
	for _, k := range sortedKeys(vars) {
		if strings.HasPrefix(k, "TCUSAGE_") && !slices.Contains(documentedEnv, k) {
			ps.add("inputs.environment.variables."+k, "not a documented tcusage variable")
		}
		for _, other := range functions {
			if other.dir != spec.dir && slices.Contains(other.only, k) {
				ps.add("inputs.environment.variables."+k, "belongs to %s only", other.dir)
			}
		}
		if s, ok := vars[k].(string); ok {
			for _, m := range envPlaceholder.FindAllStringSubmatch(s, -1) {
				if !slices.Contains(deployInputs, m[1]) {
					ps.add("inputs.environment.variables."+k, "${env:%s} is not a documented deploy input", m[1])
				}
			}
		}
	}
	for _, k := range spec.required {
		if _, ok := vars[k]; !ok {
			ps.add("inputs.environment.variables", "%s is required", k)
		}
	}

	kinds := map[string]int{}
	events, _ := in["events"].([]any)
	for _, e := range events {
		em, _ := e.(map[string]any)
		for kind, body := range em {
			kinds[kind]++
			if kind != "http" {
				continue
			}
			params, _ := body.(map[string]any)["parameters"].(map[string]any)
			if params["authType"] != pr.HTTPAuthType {
				ps.add("http.authType", "%v, want %s: the function checks the bearer token", params["authType"], pr.HTTPAuthType)
			}
			nc, _ := params["netConfig"].(map[string]any)
			if nc["enableExtranet"] != pr.HTTPExtranet {
				ps.add("http.netConfig.enableExtranet", "%v, want %v", nc["enableExtranet"], pr.HTTPExtranet)
			}
		}
	}
	for _, k := range pr.Triggers {
		if kinds[k] != 1 {
			ps.add("inputs.events", "%d %s triggers, want exactly 1", kinds[k], k)
		}
	}
	return ps
}

func TestInstancesPassPlatformAndProjectRules(t *testing.T) {
	r := loadRules(t)
	for _, spec := range functions {
		t.Run(spec.dir, func(t *testing.T) {
			doc := loadDoc(t, instancePath(spec.dir))
			assert.Empty(t, checkPlatform(r, doc), "platform rules")
			assert.Empty(t, checkProject(r, spec, doc), "project rules")
		})
	}
}

// TestEveryInstanceIsListed keeps the test's function list and the deploy directory in step: a
// folder with a serverless.yml is deployed by `scf deploy`, so it must be checked here.
func TestEveryInstanceIsListed(t *testing.T) {
	matches, err := filepath.Glob(filepath.Join("*", "serverless.yml"))
	require.NoError(t, err)
	var dirs []string
	for _, m := range matches {
		dirs = append(dirs, filepath.Dir(m))
	}
	var want []string
	for _, f := range functions {
		want = append(want, f.dir)
	}
	assert.ElementsMatch(t, want, dirs)
}

// TestProjectFile checks deploy/serverless.yml: it must not be an instance itself (or `scf
// deploy` would deploy it instead of the sub-folders) and gives every instance one app and stage.
func TestProjectFile(t *testing.T) {
	doc := loadDoc(t, "serverless.yml")
	assert.NotContains(t, doc, "component")
	assert.NotContains(t, doc, "inputs")
	assert.Equal(t, "tcusage", doc["app"])
	assert.NotEmpty(t, doc["stage"])
	for _, f := range functions {
		inst := loadDoc(t, instancePath(f.dir))
		assert.NotContains(t, inst, "app", "%s: app comes from the project file", f.dir)
		assert.NotContains(t, inst, "stage", "%s: stage comes from the project file", f.dir)
	}
}

// TestInstancesAreDistinct checks what only shows across files: names, roles, and work timers
// that fire all day (the engine that completes a day at any fleet size) without all firing in
// the same second.
func TestInstancesAreDistinct(t *testing.T) {
	names := map[string]string{}
	crons := map[string]string{}
	roles := map[string]string{}
	for _, f := range functions {
		in := loadDoc(t, instancePath(f.dir))["inputs"].(map[string]any)
		name := in["name"].(string)
		require.NotContains(t, names, name, "function name used by %s and %s", names[name], f.dir)
		names[name] = f.dir
		role, _ := in["role"].(string)
		require.NotContains(t, roles, role, "run role shared by %s and %s", roles[role], f.dir)
		roles[role] = f.dir
		for _, e := range in["events"].([]any) {
			if timer, ok := e.(map[string]any)["timer"]; ok {
				cron := timer.(map[string]any)["parameters"].(map[string]any)["cronExpression"].(string)
				require.NotContains(t, crons, cron, "timer shared by %s and %s", crons[cron], f.dir)
				crons[cron] = f.dir
				fields := strings.Fields(cron)
				assert.Equal(t, "*", fields[2], "%s: the work timer fires every hour of the day", f.dir)
				every := 1
				if m, ok := strings.CutPrefix(fields[1], "*/"); ok {
					every, _ = strconv.Atoi(m)
				} else {
					assert.Equal(t, "*", fields[1], "%s: the work timer fires every few minutes", f.dir)
				}
				// The gap between one invocation's end and the next start is at most the period: a
				// 15 s-per-call API loses too much at more than a minute (room usage), the others
				// at more than five.
				maxEvery := 5
				if f.dir == "roomusage" {
					maxEvery = 1
				}
				assert.LessOrEqual(t, every, maxEvery, "%s: work timer every %d minutes", f.dir, every)
			}
		}
	}
}

func TestDeployInputsAreDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	used := map[string]bool{}
	for _, f := range append([]string{"serverless.yml"}, instancePaths()...) {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range envPlaceholder.FindAllStringSubmatch(string(data), -1) {
			used[m[1]] = true
		}
	}
	for _, name := range deployInputs {
		assert.Contains(t, string(readme), name, "README.md must document %s", name)
		assert.True(t, used[name], "%s is listed but not used", name)
	}
}

func instancePaths() []string {
	var paths []string
	for _, f := range functions {
		paths = append(paths, instancePath(f.dir))
	}
	return paths
}

// TestRulesCatchBadConfigs proves each rule can fail: every case breaks one thing in a valid
// instance and expects a problem naming it.
func TestRulesCatchBadConfigs(t *testing.T) {
	r := loadRules(t)
	base := instancePath("telcall")
	cases := []struct {
		name    string
		edit    func(in map[string]any)
		project bool // a project rule rather than a platform one
		want    string
	}{
		{"component", func(in map[string]any) {}, false, "component"}, // edited on the document below
		{"memory 100", set("memorySize", 100), false, "100 MB"},
		{"memory 3200", set("memorySize", 3200), false, "3200 MB"},
		{"memory off step", set("memorySize", 200), false, "200 MB"},
		{"memory as string", set("memorySize", "128"), false, "not a whole number"},
		{"timeout 901", set("timeout", 901), false, "901"},
		{"timeout 0", set("timeout", 0), false, "inputs.timeout"},
		{"name starts with digit", set("name", "1tcusage"), false, "inputs.name"},
		{"name ends with dash", set("name", "tcusage-"), false, "inputs.name"},
		{"name too long", set("name", "t"+strings.Repeat("x", 60)), false, "inputs.name"},
		{"name placeholder", set("name", "${env:X}"), false, "literal function name"},
		{"namespace plus name", set("namespace", strings.Repeat("n", 110)), false, "namespace and name"},
		{"runtime", set("runtime", "Go2"), false, "not a known runtime"},
		{"type", set("type", "bogus"), false, "inputs.type"},
		{"web with timer", set("type", "web"), false, "web function cannot have a timer"},
		{"no handler", del("handler"), false, "needs a handler"},
		{"env SCF_ prefix", setEnv("SCF_FOO", "x"), false, "SCF_ is reserved"},
		{"env QCLOUD_ prefix", setEnv("QCLOUD_FOO", "x"), false, "QCLOUD_ is reserved"},
		{"env TENCENTCLOUD_ prefix", setEnv("TENCENTCLOUD_FOO", "x"), false, "TENCENTCLOUD_ is reserved"},
		{"env key digit", setEnv("1FOO", "x"), false, "key does not match"},
		{"env key one char", setEnv("A", "x"), false, "key does not match"},
		{"env key dash", setEnv("FOO-BAR", "x"), false, "key does not match"},
		{"env key too long", setEnv("A"+strings.Repeat("B", 64), "x"), false, "key does not match"},
		{"env value number", setEnv("FOO", 2), false, "not a string"},
		{"env over 4 KB", setEnv("FOO", strings.Repeat("v", 4000)), false, "bytes in total"},
		{"unknown trigger", addEvent("sqs", map[string]any{}), false, `unknown trigger kind "sqs"`},
		{"11 timers", addTimers(10), false, "11 timer triggers"},
		{"cron 6 fields", setTimer("cronExpression", "0 30 9 * * *"), false, "6 fields"},
		{"cron second 60", setTimer("cronExpression", "60 30 9 * * * *"), false, "second field"},
		{"cron minute 60", setTimer("cronExpression", "0 60 9 * * * *"), false, "minute field"},
		{"cron hour 24", setTimer("cronExpression", "0 30 24 * * * *"), false, "hour field"},
		{"cron day 0", setTimer("cronExpression", "0 30 9 0 * * *"), false, "day field"},
		{"cron month 13", setTimer("cronExpression", "0 30 9 * 13 * *"), false, "month field"},
		{"cron weekday 7", setTimer("cronExpression", "0 30 9 * * 7 *"), false, "weekday field"},
		{"cron weekday name in month", setTimer("cronExpression", "0 30 9 * MON * *"), false, "month field"},
		{"cron year 2100", setTimer("cronExpression", "0 30 9 * * * 2100"), false, "year field"},
		{"cron step 0", setTimer("cronExpression", "*/0 30 9 * * * *"), false, "step"},
		{"cron backwards range", setTimer("cronExpression", "0 30 9-8 * * * *"), false, "backwards"},
		{"cron question mark", setTimer("cronExpression", "0 30 9 ? * * *"), false, "day field"},
		{"timer name digit", setTimer("name", "1daily"), false, "timer.parameters.name"},
		{"timer name too long", setTimer("name", "d"+strings.Repeat("x", 60)), false, "timer.parameters.name"},
		{"timer name dot", setTimer("name", "daily.run"), false, "timer.parameters.name"},
		{"timer unknown param", setTimer("cron", "x"), false, `unknown timer parameter "cron"`},
		{"timer enable string", setTimer("enable", "yes"), false, "not a boolean"},
		{"timer without cron", delTimer("cronExpression"), false, `"cronExpression" is required`},
		{"http authType", setHTTP("authType", "KEY"), false, "authType"},
		{"http netConfig string", setHTTP("netConfig", map[string]any{"enableExtranet": "true"}), false, "not a boolean"},
		{"http netConfig unknown", setHTTP("netConfig", map[string]any{"enablePublic": true}), false, "unknown key"},
		{"http unknown param", setHTTP("path", "/"), false, `unknown http parameter "path"`},

		{"handler not main", set("handler", "index"), true, "inputs.handler"},
		{"src elsewhere", set("src", "./src"), true, "inputs.src"},
		{"undocumented TCUSAGE_ var", setEnv("TCUSAGE_BUCKET", "x"), true, "not a documented"},
		{"other function's var", setEnv("TCUSAGE_TRTC_ACTION", "auto"), true, "belongs to trtcusage"},
		{"undocumented deploy input", setEnv("TCUSAGE_FORMAT", "${env:FORMAT}"), true, "not a documented deploy input"},
		{"missing sink", delEnv("TCUSAGE_SINK"), true, "TCUSAGE_SINK is required"},
		{"CAM auth", setHTTP("authType", "CAM"), true, "want NONE"},
		{"intranet only", setHTTP("netConfig", map[string]any{"enableIntranet": true, "enableExtranet": false}), true, "enableExtranet"},
		{"no timer", dropEvents("timer"), true, "0 timer triggers"},
		{"two http", addEvent("http", map[string]any{"parameters": map[string]any{"authType": "NONE"}}), true, "2 http triggers"},
		{"timeout changed", set("timeout", 200), true, "want 300"},
		{"no role", del("role"), true, "run role"},
		{"shared role", set("role", "${env:DEPLOY_RUN_ROLE}"), true, "own run role"},
		{"another function's role", set("role", runRole("essbill")), true, "own run role"},
		{"literal role", set("role", "tcusage-run"), true, "own run role"},
		{"web type", set("type", "web"), true, "inputs.type"},
	}
	spec := functions[0]
	require.Equal(t, "telcall", spec.dir)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := loadDoc(t, base)
			require.Empty(t, checkPlatform(r, doc))
			require.Empty(t, checkProject(r, spec, doc))
			if tc.name == "component" {
				doc["component"] = "multi-scf"
			}
			tc.edit(doc["inputs"].(map[string]any))
			var got problems
			if tc.project {
				got = checkProject(r, spec, doc)
			} else {
				got = checkPlatform(r, doc)
			}
			require.NotEmpty(t, got, "the edit must be caught")
			assert.Contains(t, strings.Join(got, "\n"), tc.want)
		})
	}
}

func TestCronAcceptsDocumentedForms(t *testing.T) {
	r := loadRules(t)
	for _, expr := range []string{
		"0 30 9 * * * *",
		"*/5 * * * * * *",
		"0 0 1,13 * * MON-FRI *",
		"0 15 10 1-15/2 JAN,jul SUN 2026",
		"59 59 23 31 12 6 2099",
		"0 0 0 1 1 0 1970",
	} {
		assert.NoError(t, checkCron(r.Platform.Triggers.Timer.Cron, expr), expr)
	}
}

// Edits used by TestRulesCatchBadConfigs.

func set(key string, v any) func(map[string]any) {
	return func(in map[string]any) { in[key] = v }
}

func del(key string) func(map[string]any) {
	return func(in map[string]any) { delete(in, key) }
}

func envVars(in map[string]any) map[string]any {
	return in["environment"].(map[string]any)["variables"].(map[string]any)
}

func setEnv(key string, v any) func(map[string]any) {
	return func(in map[string]any) { envVars(in)[key] = v }
}

func delEnv(key string) func(map[string]any) {
	return func(in map[string]any) { delete(envVars(in), key) }
}

func triggerParams(in map[string]any, kind string) map[string]any {
	for _, e := range in["events"].([]any) {
		if body, ok := e.(map[string]any)[kind]; ok {
			return body.(map[string]any)["parameters"].(map[string]any)
		}
	}
	panic(fmt.Sprintf("no %s trigger in the fixture", kind))
}

func setTimer(key string, v any) func(map[string]any) {
	return func(in map[string]any) { triggerParams(in, "timer")[key] = v }
}

func delTimer(key string) func(map[string]any) {
	return func(in map[string]any) { delete(triggerParams(in, "timer"), key) }
}

func setHTTP(key string, v any) func(map[string]any) {
	return func(in map[string]any) { triggerParams(in, "http")[key] = v }
}

func addEvent(kind string, body map[string]any) func(map[string]any) {
	return func(in map[string]any) {
		in["events"] = append(in["events"].([]any), map[string]any{kind: body})
	}
}

func addTimers(n int) func(map[string]any) {
	return func(in map[string]any) {
		for i := range n {
			params := map[string]any{"name": fmt.Sprintf("extra%d", i), "cronExpression": "0 0 1 * * * *"}
			in["events"] = append(in["events"].([]any), map[string]any{"timer": map[string]any{"parameters": params}})
		}
	}
}

func dropEvents(kind string) func(map[string]any) {
	return func(in map[string]any) {
		var kept []any
		for _, e := range in["events"].([]any) {
			if _, ok := e.(map[string]any)[kind]; !ok {
				kept = append(kept, e)
			}
		}
		in["events"] = kept
	}
}

// TestRulesFileIsStrict makes sure a typo in scf-rules.yaml fails rather than silently
// disabling a rule.
func TestRulesFileIsStrict(t *testing.T) {
	var r rules
	dec := yaml.NewDecoder(strings.NewReader("platform:\n  memmory: {min: 1}\n"))
	dec.KnownFields(true)
	assert.Error(t, dec.Decode(&r))
}

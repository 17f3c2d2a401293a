package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/report"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// policy is a CAM policy document (version 2.0).
type policy struct {
	Version   string      `json:"version"`
	Statement []statement `json:"statement"`
}

type statement struct {
	Effect    string                    `json:"effect"`
	Action    []string                  `json:"action"`
	Resource  []string                  `json:"resource"`
	Condition map[string]map[string]any `json:"condition,omitempty"`
}

// roleSpec is what one function's run role may do: call its own API actions, and read, write and
// list its own dataset's keys, <prefix>/<dataset>/.
type roleSpec struct {
	function string // its deploy/ sub-folder
	dataset  string
	actions  []tcapi.Action
}

// roles ties each function to the dataset its source writes (shared/usage) and the actions it
// calls (shared/tcapi).
var roles = []roleSpec{
	{"telcall", usage.TelCallSchema.Dataset, []tcapi.Action{tcapi.DescribeTelCallInfo}},
	{"trtcusage", usage.TRTCUsageSchema.Dataset, []tcapi.Action{tcapi.DescribeTrtcInteractiveTime, tcapi.DescribeTrtcUsage}},
	{"roomusage", usage.RoomUsageSchema.Dataset, []tcapi.Action{tcapi.DescribeTrtcRoomUsage}},
	{"essbill", usage.ESSBillSchema.Dataset, []tcapi.Action{tcapi.ChannelDescribeBillUsageDetail}},
}

var (
	objectActions = []string{"name/cos:PutObject", "name/cos:GetObject", "name/cos:HeadObject", "name/cos:DeleteObject"}
	listAction    = "name/cos:GetBucket"

	bucketResource = "qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/*"
	actionFormat   = regexp.MustCompile(`^name/[a-z]+:[A-Z][A-Za-z]+$`)
)

func policyPath(function string) string { return filepath.Join(function, "cam-policy.json") }

func (r roleSpec) apiActions() []string {
	var out []string
	for _, a := range r.actions {
		out = append(out, "name/"+a.Service+":"+a.Name)
	}
	return out
}

// objectPrefix is the resource of everything under <prefix>/<dir>/.
func objectPrefix(dir string) string {
	return "qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/<prefix>/" + dir + "/*"
}

// objectResource is the resource of the role's own dataset.
func (r roleSpec) objectResource() string { return objectPrefix(r.dataset) }

// objectGrants are the object resources the role may name, each with the object actions it may
// be granted there: everything on its own dataset; writing and reading the reports (every
// function renders the day's report after its commits) but deleting only the generations of the
// reports' lease; and reading the other datasets, whose manifests and files the report shows
// (HEAD too: a page is current while the manifests' entity tags are those it was rendered from).
func (r roleSpec) objectGrants() map[string][]string {
	get, head := "name/cos:GetObject", "name/cos:HeadObject"
	g := map[string][]string{
		r.objectResource():         objectActions,
		objectPrefix(reportsDir):   {"name/cos:PutObject", get, head},
		objectPrefix(reportsLease): {"name/cos:DeleteObject"},
	}
	for _, o := range roles {
		if o.dataset != r.dataset {
			g[o.objectResource()] = []string{get, head}
		}
	}
	return g
}

// reportsDir and reportsLease are the reports' folder and their lease, below <prefix>/.
var (
	reportsDir   = report.ReportsDir
	reportsLease = report.ReportsDir + "/" + snapshot.LeaseDirName
)

// listPrefix starts the cos:prefix values the role may list its dataset with: <prefix>/<dataset>/,
// encoded; reportsListPrefix those of the reports.
func (r roleSpec) listPrefix() string { return "<prefix-urlencoded>%2F" + r.dataset + "%2F" }

var reportsListPrefix = "<prefix-urlencoded>%2F" + reportsDir + "%2F"

func loadPolicy(t *testing.T, function string) policy {
	t.Helper()
	data, err := os.ReadFile(policyPath(function))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p policy
	require.NoError(t, dec.Decode(&p), policyPath(function))
	return p
}

// checkPolicy reports every grant broader than the function's run role needs.
func checkPolicy(r roleSpec, p policy) problems {
	var ps problems
	if p.Version != "2.0" {
		ps.add("version", "%q, want \"2.0\"", p.Version)
	}
	own := r.apiActions()
	var allAPI []string
	for _, a := range tcapi.Actions() {
		allAPI = append(allAPI, "name/"+a.Service+":"+a.Name)
	}
	granted := map[string]bool{}
	grantedOn := map[string]bool{} // "action resource" of object grants
	lists := map[string]bool{}     // cos:prefix values granted
	for i, st := range p.Statement {
		path := fmt.Sprintf("statement[%d]", i)
		if st.Effect != "allow" {
			ps.add(path+".effect", "%q: the policy only allows", st.Effect)
		}
		if len(st.Action) == 0 || len(st.Resource) == 0 {
			ps.add(path, "needs actions and resources")
		}
		var api, object, list int
		for _, a := range st.Action {
			granted[a] = true
			switch {
			case strings.Contains(a, "*"):
				ps.add(path+".action", "%q: no wildcard actions", a)
			case !actionFormat.MatchString(a):
				ps.add(path+".action", "%q: want name/<service>:<Action>", a)
			case slices.Contains(own, a):
				api++
			case slices.Contains(allAPI, a):
				ps.add(path+".action", "%q is another function's action, not %s's", a, r.function)
			case slices.Contains(objectActions, a):
				object++
			case a == listAction:
				list++
			default:
				ps.add(path+".action", "%q is not needed by tcusage", a)
			}
		}
		kinds := 0
		for _, n := range []int{api, object, list} {
			if n > 0 {
				kinds++
			}
		}
		if kinds > 1 {
			ps.add(path, "mixes API, object and list actions; their resources differ")
		}
		for _, res := range st.Resource {
			switch {
			case api > 0:
				// The usage APIs take "*": CAM denies an operation-level API whose policy names
				// a resource. Nothing else may have it.
				if res != "*" {
					ps.add(path+".resource", "%q: the usage APIs are granted on \"*\"", res)
				}
			case object > 0:
				allowed, ok := r.objectGrants()[res]
				if !ok {
					ps.add(path+".resource", "%q: object actions only on %s, the reports and (to read) the other datasets", res, r.objectResource())
					continue
				}
				for _, a := range st.Action {
					if !slices.Contains(allowed, a) {
						ps.add(path+".action", "%s on %q: only %v there", a, res, allowed)
					}
					grantedOn[a+" "+res] = true
				}
			case list > 0:
				if res != bucketResource {
					ps.add(path+".resource", "%q: listing only on %s", res, bucketResource)
				}
			}
		}
		if list > 0 {
			ps = append(ps, checkListCondition(r, path, st.Condition, lists)...)
		} else if len(st.Condition) > 0 {
			ps.add(path+".condition", "unexpected condition")
		}
	}
	return append(ps, r.missingGrants(granted, grantedOn, lists)...)
}

// missingGrants reports what the role needs but was not granted: its API actions, every object
// grant of objectGrants, and listing its dataset and the reports.
func (r roleSpec) missingGrants(granted, grantedOn, lists map[string]bool) problems {
	var ps problems
	for _, a := range r.apiActions() {
		if !granted[a] {
			ps.add("statement", "%s is not granted but %s needs it", a, r.function)
		}
	}
	for res, actions := range r.objectGrants() {
		for _, a := range actions {
			if !grantedOn[a+" "+res] {
				ps.add("statement", "%s on %s is not granted but %s needs it", a, res, r.function)
			}
		}
	}
	for _, want := range []string{r.listPrefix() + "*", reportsListPrefix + "*"} {
		if !lists[want] {
			ps.add("statement", "listing %s is not granted but %s needs it", want, r.function)
		}
	}
	return ps
}

// checkListCondition requires GetBucket to be limited to keys under <prefix>/<dataset>/ or
// <prefix>/reports/: every cos:prefix value starts with one of those prefixes, encoded, slash
// included. A bare "<prefix>" (or "<prefix>*") would also let the role list neighbours such as
// <prefix>-archive/ and the other datasets. It records the values in lists.
func checkListCondition(r roleSpec, path string, cond map[string]map[string]any, lists map[string]bool) problems {
	var ps problems
	if len(cond) == 0 {
		ps.add(path+".condition", "GetBucket must be limited with a cos:prefix condition")
		return ps
	}
	for op, keys := range cond {
		if op != "string_like" && op != "string_equal" {
			ps.add(path+".condition", "operator %q: want string_like or string_equal", op)
		}
		for key, v := range keys {
			if key != "cos:prefix" {
				ps.add(path+".condition", "key %q: want cos:prefix", key)
				continue
			}
			var values []string
			switch v := v.(type) {
			case string:
				values = []string{v}
			case []any:
				for _, x := range v {
					s, _ := x.(string)
					values = append(values, s)
				}
			}
			if len(values) == 0 {
				ps.add(path+".condition", "cos:prefix has no values")
			}
			for _, s := range values {
				lists[s] = true
				if !strings.HasPrefix(s, r.listPrefix()) && !strings.HasPrefix(s, reportsListPrefix) {
					ps.add(path+".condition", "cos:prefix %q reaches outside %s and %s", s, r.listPrefix(), reportsListPrefix)
				}
			}
		}
	}
	return ps
}

func TestEveryFunctionHasAPolicy(t *testing.T) {
	var dirs []string
	for _, r := range roles {
		dirs = append(dirs, r.function)
	}
	var deployed []string
	for _, f := range functions {
		deployed = append(deployed, f.dir)
	}
	assert.ElementsMatch(t, deployed, dirs, "one role per deployed function")
	matches, err := filepath.Glob(filepath.Join("*", "cam-policy.json"))
	require.NoError(t, err)
	var withPolicy []string
	for _, m := range matches {
		withPolicy = append(withPolicy, filepath.Dir(m))
	}
	assert.ElementsMatch(t, dirs, withPolicy)
	assert.NoFileExists(t, "cam-policy.json", "the shared policy granted every function everything")
}

func TestCAMPoliciesAreLeastPrivilege(t *testing.T) {
	for _, r := range roles {
		t.Run(r.function, func(t *testing.T) {
			assert.Empty(t, checkPolicy(r, loadPolicy(t, r.function)))
		})
	}
}

// TestCAMPoliciesCoverEveryAPIAction ties the policies to the actions the code calls: each action
// is granted to exactly one function.
func TestCAMPoliciesCoverEveryAPIAction(t *testing.T) {
	owners := map[string][]string{}
	for _, r := range roles {
		for _, st := range loadPolicy(t, r.function).Statement {
			for _, a := range st.Action {
				owners[a] = append(owners[a], r.function)
			}
		}
	}
	for _, a := range tcapi.Actions() {
		assert.Len(t, owners["name/"+a.Service+":"+a.Name], 1, "%s: granted to %v", a.Name, owners["name/"+a.Service+":"+a.Name])
	}
}

// cosEncode percent-encodes s as COS does in cos:prefix values: every byte but A-Z a-z 0-9 - _ . ~.
func cosEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// like reports whether value matches a string_like pattern, in which * stands for any text.
func like(pattern, value string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	return regexp.MustCompile(re).MatchString(value)
}

// renderedPolicy is a policy with its placeholders filled in; allows tells whether it grants an
// object action on a key, mayList whether it lets the role list a key prefix.
type renderedPolicy struct {
	objects map[string][]string // action -> resource patterns (bucket-relative)
	lists   []string            // cos:prefix patterns
}

func (p renderedPolicy) allows(action, key string) bool {
	return slices.ContainsFunc(p.objects[action], func(pat string) bool { return like(pat, key) })
}

func (p renderedPolicy) mayList(prefix string) bool {
	return slices.ContainsFunc(p.lists, func(pat string) bool { return like(pat, cosEncode(prefix)) })
}

// renderPolicy fills a role's policy's placeholders the way README.md says, for a bucket
// usage-1250000000 in ap-guangzhou and prefix.
func renderPolicy(t *testing.T, r roleSpec, prefix string) renderedPolicy {
	t.Helper()
	const bucketRes = "qcs::cos:ap-guangzhou:uid/1250000000:usage-1250000000/"
	data, err := os.ReadFile(policyPath(r.function))
	require.NoError(t, err)
	rendered := strings.NewReplacer(
		"<region>", "ap-guangzhou", "<appid>", "1250000000", "<bucket>", "usage",
		"<prefix-urlencoded>", cosEncode(prefix), "<prefix>", prefix,
	).Replace(string(data))
	assert.NotRegexp(t, `<[a-z-]+>`, rendered, "every placeholder is documented and filled")
	var p policy
	require.NoError(t, json.Unmarshal([]byte(rendered), &p))
	rp := renderedPolicy{objects: map[string][]string{}}
	for _, st := range p.Statement {
		for _, res := range st.Resource {
			if res == "*" || slices.Contains(st.Action, listAction) {
				continue
			}
			require.True(t, strings.HasPrefix(res, bucketRes), res)
			for _, a := range st.Action {
				rp.objects[a] = append(rp.objects[a], strings.TrimPrefix(res, bucketRes))
			}
		}
		for _, v := range st.Condition["string_like"] {
			for _, s := range v.([]any) {
				rp.lists = append(rp.lists, s.(string))
			}
		}
	}
	return rp
}

// TestCAMPoliciesRenderToWhatTheyNeed fills the placeholders the way README.md says and checks
// what the rendered policy allows against the keys and listing prefixes the code uses
// (shared/snapshot's layout, shared/report's keys): the function's own dataset in full, the
// reports to write (deleting only the reports' lease generations), the other datasets to read;
// nothing else, and no neighbouring prefix.
func TestCAMPoliciesRenderToWhatTheyNeed(t *testing.T) {
	const prefix = "usage/tcusage"
	date := calendar.Date(2026, 11, 24)
	for _, r := range roles {
		t.Run(r.function, func(t *testing.T) {
			rp := renderPolicy(t, r, prefix)
			put, get, head, del := objectActions[0], objectActions[1], objectActions[2], objectActions[3]

			// Its own dataset: everything.
			dataset, err := snapshot.DatasetDir(prefix, r.dataset)
			require.NoError(t, err)
			partition, err := snapshot.PartitionDir(prefix, r.dataset, date)
			require.NoError(t, err)
			lease, err := snapshot.LeaseDir(prefix, r.dataset)
			require.NoError(t, err)
			for _, key := range []string{
				partition + "_manifest.json", partition + "app=1400000001/part-00000.jsonl", lease + "00000000000000000001.json",
				dataset + "_latest.json", dataset + "_changes/20261124-000001.json", dataset + "_tables/duckdb/parquet.sql",
			} {
				for _, a := range objectActions {
					assert.True(t, rp.allows(a, key), "%s may not %s its own %s", r.function, a, key)
				}
			}
			for _, listed := range []string{dataset + "dt=", partition, lease} {
				assert.True(t, rp.mayList(listed), "%s may not list its own %s", r.function, listed)
			}

			// The reports: write and read pages and summaries, delete only lease generations.
			page, _ := report.DayKey(prefix, date)
			summary, _ := report.SummaryKey(prefix, date)
			month, _ := report.MonthKey(prefix, "2026-11")
			index, _ := report.IndexKey(prefix)
			reportsLeaseDir, err := snapshot.LeaseDir(prefix, report.LeaseName)
			require.NoError(t, err)
			for _, key := range []string{page, summary, month, index, reportsLeaseDir + "00000000000000000001.json"} {
				for _, a := range []string{put, get, head} {
					assert.True(t, rp.allows(a, key), "%s may not %s %s", r.function, a, key)
				}
			}
			assert.True(t, rp.allows(del, reportsLeaseDir+"00000000000000000001.json"), "%s may not prune the reports' lease", r.function)
			for _, key := range []string{page, summary, month, index} {
				assert.False(t, rp.allows(del, key), "%s may delete %s", r.function, key)
			}
			for _, listed := range []string{path.Dir(index) + "/", reportsLeaseDir} {
				assert.True(t, rp.mayList(listed), "%s may not list %s", r.function, listed)
			}

			// The other datasets: read their manifests and files (and their tags), nothing more.
			for _, other := range roles {
				if other.dataset == r.dataset {
					continue
				}
				part, err := snapshot.PartitionDir(prefix, other.dataset, date)
				require.NoError(t, err)
				for _, key := range []string{part + "_manifest.json", part + "app=1400000001/part-00000.parquet"} {
					assert.True(t, rp.allows(get, key), "%s may not read %s", r.function, key)
					assert.True(t, rp.allows(head, key), "%s may not HEAD %s", r.function, key)
					for _, a := range []string{put, del} {
						assert.False(t, rp.allows(a, key), "%s may %s %s", r.function, a, key)
					}
				}
				assert.False(t, rp.mayList(prefix+"/"+other.dataset+"/"), "%s may list %s", r.function, other.dataset)
			}

			// Neighbours: nothing at all.
			for _, n := range []string{prefix + "/", prefix + "-archive/", prefix + "-archive/" + r.dataset + "/",
				prefix + "-archive/reports/", prefix + "/" + r.dataset + "-old/", prefix + "/reports-old/", "other/"} {
				for _, a := range objectActions {
					assert.False(t, rp.allows(a, n+"_manifest.json"), "%s may %s %s", r.function, a, n+"_manifest.json")
				}
				assert.False(t, rp.mayList(n), "%s may list %s", r.function, n)
			}
		})
	}
}

// TestCAMPolicyCheckCatchesBroadGrants proves each policy rule can fail.
func TestCAMPolicyCheckCatchesBroadGrants(t *testing.T) {
	r := roles[0]
	require.Equal(t, "telcall", r.function)
	other := roles[1]
	cases := []struct {
		name string
		edit func(p *policy)
		want string
	}{
		{"version", func(p *policy) { p.Version = "1.0" }, "version"},
		{"deny", func(p *policy) { p.Statement[0].Effect = "deny" }, "only allows"},
		{"all cos actions", func(p *policy) { p.Statement[1].Action = append(p.Statement[1].Action, "name/cos:*") }, "no wildcard"},
		{"all actions", func(p *policy) { p.Statement[0].Action = append(p.Statement[0].Action, "*") }, "no wildcard"},
		{"all of a service", func(p *policy) { p.Statement[0].Action = append(p.Statement[0].Action, "name/ccc:*") }, "no wildcard"},
		{"extra action", func(p *policy) {
			p.Statement[0].Action = append(p.Statement[0].Action, "name/trtc:DismissRoom")
		}, "not needed"},
		{"another function's action", func(p *policy) {
			p.Statement[0].Action = append(p.Statement[0].Action, "name/trtc:DescribeTrtcRoomUsage")
		}, "another function's action"},
		{"bucket delete", func(p *policy) {
			p.Statement[1].Action = append(p.Statement[1].Action, "name/cos:DeleteBucket")
		}, "not needed"},
		{"objects on whole bucket", func(p *policy) { p.Statement[1].Resource = []string{bucketResource} }, "object actions only"},
		{"objects on everything", func(p *policy) { p.Statement[1].Resource = []string{"*"} }, "object actions only"},
		{"objects on the whole prefix", func(p *policy) {
			p.Statement[1].Resource = []string{"qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/<prefix>/*"}
		}, "object actions only"},
		{"objects on another dataset", func(p *policy) { p.Statement[1].Resource = []string{other.objectResource()} }, "PutObject on"},
		{"api scoped oddly", func(p *policy) { p.Statement[0].Resource = []string{r.objectResource()} }, "granted on"},
		{"list unconditioned", func(p *policy) { p.Statement[2].Condition = nil }, "cos:prefix condition"},
		{"list any prefix", func(p *policy) {
			p.Statement[2].Condition = map[string]map[string]any{"string_like": {"cos:prefix": []any{"*"}}}
		}, "reaches outside"},
		{"list bare prefix", func(p *policy) {
			p.Statement[2].Condition["string_like"]["cos:prefix"] = []any{"<prefix-urlencoded>", r.listPrefix() + "*"}
		}, "reaches outside"},
		{"list prefix and anything after", func(p *policy) {
			p.Statement[2].Condition["string_like"]["cos:prefix"] = []any{"<prefix-urlencoded>*"}
		}, "reaches outside"},
		{"list every dataset", func(p *policy) {
			p.Statement[2].Condition["string_like"]["cos:prefix"] = []any{"<prefix-urlencoded>%2F*"}
		}, "reaches outside"},
		{"list another dataset", func(p *policy) {
			p.Statement[2].Condition["string_like"]["cos:prefix"] = []any{other.listPrefix() + "*"}
		}, "reaches outside"},
		{"list other key", func(p *policy) {
			p.Statement[2].Condition = map[string]map[string]any{"string_like": {"qcs:ip": "10.0.0.0/8"}}
		}, "want cos:prefix"},
		{"mixed statement", func(p *policy) {
			p.Statement[1].Action = append(p.Statement[1].Action, r.apiActions()[0])
		}, "mixes"},
		{"missing grant", func(p *policy) { p.Statement[1].Action = p.Statement[1].Action[1:] }, "is not granted"},
		{"missing api grant", func(p *policy) { p.Statement = p.Statement[1:] }, "DescribeTelCallInfo is not granted"},
		{"delete report pages", func(p *policy) {
			p.Statement[3].Action = append(p.Statement[3].Action, "name/cos:DeleteObject")
		}, "DeleteObject on"},
		{"write another dataset", func(p *policy) {
			p.Statement[6].Action = append(p.Statement[6].Action, "name/cos:PutObject")
		}, "PutObject on"},
		{"read the whole prefix", func(p *policy) {
			p.Statement[6].Resource = []string{"qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/<prefix>/*"}
		}, "object actions only"},
		{"no reports", func(p *policy) { p.Statement = p.Statement[:3] }, "reports"},
		{"list another dataset beside the reports", func(p *policy) {
			p.Statement[5].Condition["string_like"]["cos:prefix"] = []any{reportsListPrefix + "*", other.listPrefix() + "*"}
		}, "reaches outside"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := loadPolicy(t, r.function)
			require.Empty(t, checkPolicy(r, p))
			require.Len(t, p.Statement, 7, "fixture: API, own objects, own list, reports, reports' lease, reports list, other datasets")
			tc.edit(&p)
			got := checkPolicy(r, p)
			require.NotEmpty(t, got, "the edit must be caught")
			assert.Contains(t, strings.Join(got, "\n"), tc.want)
		})
	}
}

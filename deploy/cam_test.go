package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
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

// objectResource is the only resource the role's object actions may name.
func (r roleSpec) objectResource() string {
	return "qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/<prefix>/" + r.dataset + "/*"
}

// listPrefix starts every cos:prefix value the role may list with: <prefix>/<dataset>/, encoded.
func (r roleSpec) listPrefix() string { return "<prefix-urlencoded>%2F" + r.dataset + "%2F" }

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
				if res != r.objectResource() {
					ps.add(path+".resource", "%q: object actions only on %s", res, r.objectResource())
				}
			case list > 0:
				if res != bucketResource {
					ps.add(path+".resource", "%q: listing only on %s", res, bucketResource)
				}
			}
		}
		if list > 0 {
			ps = append(ps, checkListCondition(r, path, st.Condition)...)
		} else if len(st.Condition) > 0 {
			ps.add(path+".condition", "unexpected condition")
		}
	}
	for _, a := range slices.Concat(own, objectActions, []string{listAction}) {
		if !granted[a] {
			ps.add("statement", "%s is not granted but %s needs it", a, r.function)
		}
	}
	return ps
}

// checkListCondition requires GetBucket to be limited to keys under <prefix>/<dataset>/: every
// cos:prefix value starts with that prefix, encoded, slash included. A bare "<prefix>" (or
// "<prefix>*") would also let the role list neighbours such as <prefix>-archive/ and the other
// datasets.
func checkListCondition(r roleSpec, path string, cond map[string]map[string]any) problems {
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
				if !strings.HasPrefix(s, r.listPrefix()) {
					ps.add(path+".condition", "cos:prefix %q reaches outside %s", s, r.listPrefix())
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

// TestCAMPoliciesRenderToTheirDatasetOnly fills the placeholders the way README.md says and
// checks what the rendered policy allows against the keys and listing prefixes the code uses
// (shared/snapshot's layout): the function's own are allowed, its neighbours' are not.
func TestCAMPoliciesRenderToTheirDatasetOnly(t *testing.T) {
	const prefix = "usage/tcusage"
	for _, r := range roles {
		t.Run(r.function, func(t *testing.T) {
			data, err := os.ReadFile(policyPath(r.function))
			require.NoError(t, err)
			rendered := strings.NewReplacer(
				"<region>", "ap-guangzhou", "<appid>", "1250000000", "<bucket>", "usage",
				"<prefix-urlencoded>", cosEncode(prefix), "<prefix>", prefix,
			).Replace(string(data))
			assert.NotRegexp(t, `<[a-z-]+>`, rendered, "every placeholder is documented and filled")
			var p policy
			require.NoError(t, json.Unmarshal([]byte(rendered), &p))

			var objects, lists []string
			for _, st := range p.Statement {
				for _, res := range st.Resource {
					if res == "*" {
						continue
					}
					require.Regexp(t, `^qcs::cos:ap-guangzhou:uid/1250000000:usage-1250000000/`, res)
					if slices.Contains(st.Action, listAction) {
						continue
					}
					objects = append(objects, strings.TrimPrefix(res, "qcs::cos:ap-guangzhou:uid/1250000000:usage-1250000000/"))
				}
				for _, v := range st.Condition["string_like"] {
					for _, s := range v.([]any) {
						lists = append(lists, s.(string))
					}
				}
			}
			require.NotEmpty(t, objects)
			require.NotEmpty(t, lists)
			anyLike := func(patterns []string, v string) bool {
				return slices.ContainsFunc(patterns, func(p string) bool { return like(p, v) })
			}

			dataset, err := snapshot.DatasetDir(prefix, r.dataset)
			require.NoError(t, err)
			partition, err := snapshot.PartitionDir(prefix, r.dataset, calendar.Date(2026, 11, 24))
			require.NoError(t, err)
			for _, key := range []string{
				partition + "_manifest.json",
				partition + "app=1400000001/part-00000.jsonl",
				prefix + "/" + r.dataset + "/_lease/00000000000000000001.json",
				prefix + "/" + r.dataset + "/_latest.json",
				prefix + "/" + r.dataset + "/_changes/20261124-000001.json",
				prefix + "/" + r.dataset + "/_tables/duckdb/parquet.sql",
			} {
				assert.True(t, anyLike(objects, key), "%s may not write its own %s", r.function, key)
			}
			for _, listed := range []string{dataset + "dt=", partition} {
				assert.True(t, anyLike(lists, cosEncode(listed)), "%s may not list its own %s", r.function, listed)
			}

			neighbours := []string{
				prefix, prefix + "/", prefix + "-archive/", prefix + "-archive/" + r.dataset + "/",
				prefix + "/reports/", prefix + "/" + r.dataset + "-old/", "other/",
			}
			for _, other := range roles {
				if other.dataset != r.dataset {
					neighbours = append(neighbours, prefix+"/"+other.dataset+"/")
				}
			}
			for _, n := range neighbours {
				assert.False(t, anyLike(objects, n+"_manifest.json"), "%s may write %s", r.function, n+"_manifest.json")
				assert.False(t, anyLike(lists, cosEncode(n)), "%s may list %s", r.function, n)
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
		{"objects on another dataset", func(p *policy) { p.Statement[1].Resource = []string{other.objectResource()} }, "object actions only"},
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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := loadPolicy(t, r.function)
			require.Empty(t, checkPolicy(r, p))
			require.Len(t, p.Statement, 3, "fixture: API, object and list statements")
			tc.edit(&p)
			got := checkPolicy(r, p)
			require.NotEmpty(t, got, "the edit must be caught")
			assert.Contains(t, strings.Join(got, "\n"), tc.want)
		})
	}
}

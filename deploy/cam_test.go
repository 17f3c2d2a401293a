package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/tcapi"
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

// The run role may do exactly this much.
var (
	apiActions = []string{
		"name/ccc:DescribeTelCallInfo",
		"name/trtc:DescribeTrtcInteractiveTime",
		"name/trtc:DescribeTrtcUsage",
		"name/trtc:DescribeTrtcRoomUsage",
		"name/essbasic:ChannelDescribeBillUsageDetail",
	}
	objectActions = []string{"name/cos:PutObject", "name/cos:GetObject", "name/cos:HeadObject", "name/cos:DeleteObject"}
	listAction    = "name/cos:GetBucket"

	objectResource = "qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/<prefix>/*"
	bucketResource = "qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/*"
	listPrefix     = "<prefix-urlencoded>"
	actionFormat   = regexp.MustCompile(`^name/[a-z]+:[A-Z][A-Za-z]+$`)
)

func loadPolicy(t *testing.T) policy {
	t.Helper()
	data, err := os.ReadFile("cam-policy.json")
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p policy
	require.NoError(t, dec.Decode(&p), "cam-policy.json")
	return p
}

// checkPolicy reports every grant broader than the run role needs.
func checkPolicy(p policy) problems {
	var ps problems
	if p.Version != "2.0" {
		ps.add("version", "%q, want \"2.0\"", p.Version)
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
			case slices.Contains(apiActions, a):
				api++
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
				if res != objectResource {
					ps.add(path+".resource", "%q: object actions only on %s", res, objectResource)
				}
			case list > 0:
				if res != bucketResource {
					ps.add(path+".resource", "%q: listing only on %s", res, bucketResource)
				}
			}
		}
		if list > 0 {
			ps = append(ps, checkListCondition(path, st.Condition)...)
		} else if len(st.Condition) > 0 {
			ps.add(path+".condition", "unexpected condition")
		}
	}
	for _, a := range slices.Concat(apiActions, objectActions, []string{listAction}) {
		if !granted[a] {
			ps.add("statement", "%s is not granted but tcusage needs it", a)
		}
	}
	return ps
}

// checkListCondition requires GetBucket to be limited to keys under the prefix.
func checkListCondition(path string, cond map[string]map[string]any) problems {
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
				if s != listPrefix && !strings.HasPrefix(s, listPrefix+"%2F") {
					ps.add(path+".condition", "cos:prefix %q reaches outside %s", s, listPrefix)
				}
			}
		}
	}
	return ps
}

func TestCAMPolicyIsLeastPrivilege(t *testing.T) {
	assert.Empty(t, checkPolicy(loadPolicy(t)))
}

// TestCAMPolicyCoversEveryAPIAction ties the policy to the actions the code calls.
func TestCAMPolicyCoversEveryAPIAction(t *testing.T) {
	p := loadPolicy(t)
	var granted []string
	for _, st := range p.Statement {
		granted = append(granted, st.Action...)
	}
	for _, a := range tcapi.Actions() {
		assert.Contains(t, granted, "name/"+a.Service+":"+a.Name)
	}
}

// TestCAMPolicyRendersToValidResources fills the placeholders the way README.md says and checks
// the result is a well-formed COS resource.
func TestCAMPolicyRendersToValidResources(t *testing.T) {
	data, err := os.ReadFile("cam-policy.json")
	require.NoError(t, err)
	rendered := strings.NewReplacer(
		"<region>", "ap-guangzhou", "<appid>", "1250000000", "<bucket>", "usage",
		"<prefix-urlencoded>", "usage%2Ftcusage", "<prefix>", "usage/tcusage",
	).Replace(string(data))
	assert.NotRegexp(t, `<[a-z-]+>`, rendered, "every placeholder is documented and filled")
	var p policy
	require.NoError(t, json.Unmarshal([]byte(rendered), &p))
	cosRes := regexp.MustCompile(`^qcs::cos:ap-guangzhou:uid/1250000000:usage-1250000000/(usage/tcusage/)?\*$`)
	for _, st := range p.Statement {
		for _, res := range st.Resource {
			if res != "*" {
				assert.Regexp(t, cosRes, res)
			}
		}
	}
}

// TestCAMPolicyCheckCatchesBroadGrants proves each policy rule can fail.
func TestCAMPolicyCheckCatchesBroadGrants(t *testing.T) {
	cases := []struct {
		name string
		edit func(p *policy)
		want string
	}{
		{"version", func(p *policy) { p.Version = "1.0" }, "version"},
		{"deny", func(p *policy) { p.Statement[0].Effect = "deny" }, "only allows"},
		{"all cos actions", func(p *policy) { p.Statement[1].Action = append(p.Statement[1].Action, "name/cos:*") }, "no wildcard"},
		{"all actions", func(p *policy) { p.Statement[0].Action = append(p.Statement[0].Action, "*") }, "no wildcard"},
		{"extra action", func(p *policy) {
			p.Statement[0].Action = append(p.Statement[0].Action, "name/trtc:DismissRoom")
		}, "not needed"},
		{"bucket delete", func(p *policy) {
			p.Statement[1].Action = append(p.Statement[1].Action, "name/cos:DeleteBucket")
		}, "not needed"},
		{"objects on whole bucket", func(p *policy) { p.Statement[1].Resource = []string{bucketResource} }, "object actions only"},
		{"objects on everything", func(p *policy) { p.Statement[1].Resource = []string{"*"} }, "object actions only"},
		{"api scoped oddly", func(p *policy) { p.Statement[0].Resource = []string{objectResource} }, "granted on"},
		{"list unconditioned", func(p *policy) { p.Statement[2].Condition = nil }, "cos:prefix condition"},
		{"list any prefix", func(p *policy) {
			p.Statement[2].Condition = map[string]map[string]any{"string_like": {"cos:prefix": []any{"*"}}}
		}, "reaches outside"},
		{"list other key", func(p *policy) {
			p.Statement[2].Condition = map[string]map[string]any{"string_like": {"qcs:ip": "10.0.0.0/8"}}
		}, "want cos:prefix"},
		{"mixed statement", func(p *policy) {
			p.Statement[1].Action = append(p.Statement[1].Action, apiActions[0])
		}, "mixes"},
		{"missing grant", func(p *policy) { p.Statement[1].Action = p.Statement[1].Action[1:] }, "is not granted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := loadPolicy(t)
			require.Empty(t, checkPolicy(p))
			tc.edit(&p)
			got := checkPolicy(p)
			require.NotEmpty(t, got, "the edit must be caught")
			assert.Contains(t, strings.Join(got, "\n"), tc.want)
		})
	}
}

package emulator

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
)

// The seed documents' examples (/work/shared/seeds, the official API pages) are fixtures: a request
// whose parameters equal an example's input gets the example's output byte for byte in content
// (same fields, values and RequestId), whatever the Config says and even though the example dates
// lie outside the data window. Authentication, region rules and rate limits still apply. Parameters
// are compared as JSON values, ignoring key order and fields that are null or "" (the example
// ProxyAppId ""). The ESS example 1 (Limit 500) is an error answer.
//
//go:embed fixtures/seeds.json
var seedsJSON []byte

// Fixture is one seed-document example.
type Fixture struct {
	Name     string          `json:"name"`
	Action   string          `json:"action"`
	Request  json.RawMessage `json:"request"`
	Response json.RawMessage `json:"response"`
}

// Fixtures returns the seed-document examples the emulator reproduces.
func Fixtures() []Fixture {
	var out []Fixture
	if err := json.Unmarshal(seedsJSON, &out); err != nil {
		// The file is embedded and checked by the tests; an error here is a build defect.
		panic(fmt.Sprintf("emulator: embedded fixtures/seeds.json: %v", err))
	}
	return out
}

// fixtureSet indexes fixtures by action and canonical request.
type fixtureSet map[string][]byte // action + "\x00" + canonical params -> response object

func newFixtureSet() fixtureSet {
	fs := fixtureSet{}
	for _, f := range Fixtures() {
		var obj any
		dec := json.NewDecoder(bytes.NewReader(f.Request))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			panic(fmt.Sprintf("emulator: fixture %q request: %v", f.Name, err))
		}
		var resp bytes.Buffer
		if err := json.Compact(&resp, f.Response); err != nil {
			panic(fmt.Sprintf("emulator: fixture %q response: %v", f.Name, err))
		}
		fs[f.Action+"\x00"+canonical(obj)] = resp.Bytes()
	}
	return fs
}

// lookup returns the response object of the fixture matching the parameters, or nil.
func (fs fixtureSet) lookup(action string, params map[string]any) []byte {
	return fs[action+"\x00"+canonical(params)]
}

// canonical renders a decoded JSON value with sorted keys, leaving out null and "" members.
func canonical(v any) string {
	b, _ := json.Marshal(prune(v)) // maps, slices, strings, bools and json.Number always marshal
	return string(b)
}

func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			if e == nil || e == "" {
				continue
			}
			m[k] = prune(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = prune(e)
		}
		return s
	}
	return v
}

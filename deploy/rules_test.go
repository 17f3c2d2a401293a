package deploy

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// rules mirrors scf-rules.yaml.
type rules struct {
	PlaceholderBytes int           `yaml:"placeholderBytes"`
	Platform         platformRules `yaml:"platform"`
	Project          projectRules  `yaml:"project"`
}

type platformRules struct {
	Component string   `yaml:"component"`
	Runtimes  []string `yaml:"runtimes"`
	Types     []string `yaml:"types"`
	Function  struct {
		NameRegex            string `yaml:"nameRegex"`
		NamespacePlusNameMax int    `yaml:"namespacePlusNameMax"`
	} `yaml:"function"`
	Memory struct {
		Allowed []int `yaml:"allowed"`
		Min     int   `yaml:"min"`
		Max     int   `yaml:"max"`
		Step    int   `yaml:"step"`
	} `yaml:"memory"`
	Timeout struct {
		Min int `yaml:"min"`
		Max int `yaml:"max"`
	} `yaml:"timeout"`
	Env struct {
		KeyRegex         string   `yaml:"keyRegex"`
		ReservedPrefixes []string `yaml:"reservedPrefixes"`
		MaxTotalBytes    int      `yaml:"maxTotalBytes"`
	} `yaml:"env"`
	Triggers struct {
		Kinds      []string `yaml:"kinds"`
		WebKinds   []string `yaml:"webKinds"`
		MaxPerKind int      `yaml:"maxPerKind"`
		Timer      struct {
			Params           []string    `yaml:"params"`
			Required         []string    `yaml:"required"`
			NameRegex        string      `yaml:"nameRegex"`
			ArgumentMaxBytes int         `yaml:"argumentMaxBytes"`
			Cron             []cronField `yaml:"cron"`
		} `yaml:"timer"`
		HTTP struct {
			Params    []string `yaml:"params"`
			AuthTypes []string `yaml:"authTypes"`
			NetConfig []string `yaml:"netConfig"`
		} `yaml:"http"`
	} `yaml:"triggers"`
}

type projectRules struct {
	Runtime      string   `yaml:"runtime"`
	Type         string   `yaml:"type"`
	Handler      string   `yaml:"handler"`
	SrcPrefix    string   `yaml:"srcPrefix"`
	Triggers     []string `yaml:"triggers"`
	HTTPAuthType string   `yaml:"httpAuthType"`
	HTTPExtranet bool     `yaml:"httpExtranet"`
}

// cronField is one of the seven fields of a timer's cron expression.
type cronField struct {
	Field string   `yaml:"field"`
	Min   int      `yaml:"min"`
	Max   int      `yaml:"max"`
	Names []string `yaml:"names"`
}

// loadRules reads scf-rules.yaml strictly: an unknown key is a typo in the rules.
func loadRules(t *testing.T) *rules {
	t.Helper()
	data, err := os.ReadFile("scf-rules.yaml")
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var r rules
	require.NoError(t, dec.Decode(&r), "scf-rules.yaml")
	require.Len(t, r.Platform.Triggers.Timer.Cron, 7, "a cron expression has seven fields")
	require.Positive(t, r.PlaceholderBytes)
	return &r
}

// loadDoc parses one serverless.yml into generic maps and lists.
func loadDoc(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(data, &doc), path)
	require.NotNil(t, doc, "%s is empty", path)
	return doc
}

// envPlaceholder matches the ${env:NAME} variables the CLI resolves before deploying.
var envPlaceholder = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)

// hasPlaceholder reports whether s holds a deploy-time variable.
func hasPlaceholder(s string) bool { return strings.Contains(s, "${") }

// sizeOf is len(s) with every placeholder counted as n bytes.
func sizeOf(s string, n int) int {
	return len(envPlaceholder.ReplaceAllString(s, strings.Repeat("x", n)))
}

// problems collects rule violations, each prefixed with where it was found.
type problems []string

func (p *problems) add(path, format string, a ...any) {
	*p = append(*p, path+": "+fmt.Sprintf(format, a...))
}

// checkPlatform checks one `component: scf` instance against Tencent's documented limits.
func checkPlatform(r *rules, doc map[string]any) problems {
	var ps problems
	pr := r.Platform
	if c, _ := doc["component"].(string); c != pr.Component {
		ps.add("component", "is %v, want %q", doc["component"], pr.Component)
	}
	if n, _ := doc["name"].(string); n == "" {
		ps.add("name", "the instance name is missing")
	}
	in, ok := doc["inputs"].(map[string]any)
	if !ok {
		ps.add("inputs", "missing or not a map")
		return ps
	}

	name, _ := in["name"].(string)
	switch {
	case name == "":
		ps.add("inputs.name", "missing or not a string")
	case hasPlaceholder(name):
		ps.add("inputs.name", "%q: a literal function name is required", name)
	case !regexp.MustCompile(pr.Function.NameRegex).MatchString(name):
		ps.add("inputs.name", "%q does not match %s", name, pr.Function.NameRegex)
	}
	namespace := "default"
	if v, ok := in["namespace"]; ok {
		namespace, _ = v.(string)
		if namespace == "" {
			ps.add("inputs.namespace", "must be a non-empty string")
		}
	}
	if n := len(namespace) + len(name); n > pr.Function.NamespacePlusNameMax {
		ps.add("inputs.name", "namespace and name are %d characters together, limit %d", n, pr.Function.NamespacePlusNameMax)
	}

	runtime, _ := in["runtime"].(string)
	if !slices.Contains(pr.Runtimes, runtime) {
		ps.add("inputs.runtime", "%v is not a known runtime %v", in["runtime"], pr.Runtimes)
	}
	typ := "event"
	if v, ok := in["type"]; ok {
		typ, _ = v.(string)
		if !slices.Contains(pr.Types, typ) {
			ps.add("inputs.type", "%v is not one of %v", v, pr.Types)
		}
	}
	if typ == "event" {
		if h, _ := in["handler"].(string); h == "" {
			ps.add("inputs.handler", "an event function needs a handler")
		}
	}

	if v, ok := in["memorySize"]; ok {
		m, isInt := v.(int)
		mr := pr.Memory
		switch {
		case !isInt:
			ps.add("inputs.memorySize", "%v is not a whole number of MB", v)
		case slices.Contains(mr.Allowed, m):
		case m < mr.Min || m > mr.Max || (m-mr.Min)%mr.Step != 0:
			ps.add("inputs.memorySize", "%d MB: allowed are %v or %d..%d in steps of %d", m, mr.Allowed, mr.Min, mr.Max, mr.Step)
		}
	}
	if v, ok := in["timeout"]; ok {
		s, isInt := v.(int)
		if !isInt || s < pr.Timeout.Min || s > pr.Timeout.Max {
			ps.add("inputs.timeout", "%v: want whole seconds in %d..%d", v, pr.Timeout.Min, pr.Timeout.Max)
		}
	}

	ps = append(ps, checkEnv(r, in)...)
	ps = append(ps, checkEvents(r, in, typ)...)
	return ps
}

// checkEnv checks environment.variables: key format, reserved prefixes, string values, total size.
func checkEnv(r *rules, in map[string]any) problems {
	var ps problems
	env, ok := in["environment"]
	if !ok {
		return nil
	}
	em, ok := env.(map[string]any)
	if !ok {
		ps.add("inputs.environment", "not a map")
		return ps
	}
	vars, ok := em["variables"].(map[string]any)
	if !ok {
		ps.add("inputs.environment.variables", "missing or not a map")
		return ps
	}
	keyRe := regexp.MustCompile(r.Platform.Env.KeyRegex)
	total := 0
	for _, k := range sortedKeys(vars) {
		path := "inputs.environment.variables." + k
		if !keyRe.MatchString(k) {
			ps.add(path, "key does not match %s", r.Platform.Env.KeyRegex)
		}
		for _, prefix := range r.Platform.Env.ReservedPrefixes {
			if strings.HasPrefix(strings.ToUpper(k), prefix) {
				ps.add(path, "the prefix %s is reserved by the platform", prefix)
			}
		}
		v, isString := vars[k].(string)
		if !isString {
			ps.add(path, "value %v is not a string: quote it", vars[k])
			v = fmt.Sprint(vars[k])
		}
		total += len(k) + sizeOf(v, r.PlaceholderBytes)
	}
	if total > r.Platform.Env.MaxTotalBytes {
		ps.add("inputs.environment.variables", "%d bytes in total (placeholders counted as %d), limit %d",
			total, r.PlaceholderBytes, r.Platform.Env.MaxTotalBytes)
	}
	return ps
}

// checkEvents checks the triggers: known kinds, per-kind limits and each kind's parameters.
func checkEvents(r *rules, in map[string]any, typ string) problems {
	var ps problems
	raw, ok := in["events"]
	if !ok {
		return nil
	}
	events, ok := raw.([]any)
	if !ok {
		ps.add("inputs.events", "not a list")
		return ps
	}
	tr := r.Platform.Triggers
	perKind := map[string]int{}
	for i, e := range events {
		path := fmt.Sprintf("inputs.events[%d]", i)
		em, ok := e.(map[string]any)
		if !ok || len(em) != 1 {
			ps.add(path, "want a map with exactly one trigger kind")
			continue
		}
		for kind, body := range em {
			if !slices.Contains(tr.Kinds, kind) {
				ps.add(path, "unknown trigger kind %q (known: %v)", kind, tr.Kinds)
				continue
			}
			if typ == "web" && !slices.Contains(tr.WebKinds, kind) {
				ps.add(path, "a web function cannot have a %s trigger (only %v)", kind, tr.WebKinds)
			}
			perKind[kind]++
			bm, _ := body.(map[string]any)
			params, ok := bm["parameters"].(map[string]any)
			if !ok {
				ps.add(path+"."+kind, "parameters missing or not a map")
				continue
			}
			switch kind {
			case "timer":
				ps = append(ps, checkTimer(r, path+".timer.parameters", params)...)
			case "http":
				ps = append(ps, checkHTTP(r, path+".http.parameters", params)...)
			}
		}
	}
	for _, kind := range sortedKeys(perKind) {
		if perKind[kind] > tr.MaxPerKind {
			ps.add("inputs.events", "%d %s triggers, limit %d per kind", perKind[kind], kind, tr.MaxPerKind)
		}
	}
	return ps
}

func checkTimer(r *rules, path string, params map[string]any) problems {
	var ps problems
	tr := r.Platform.Triggers.Timer
	for _, k := range sortedKeys(params) {
		if !slices.Contains(tr.Params, k) {
			ps.add(path, "unknown timer parameter %q (known: %v)", k, tr.Params)
		}
	}
	for _, k := range tr.Required {
		if _, ok := params[k]; !ok {
			ps.add(path, "timer parameter %q is required", k)
		}
	}
	if v, ok := params["name"]; ok {
		name, _ := v.(string)
		if !regexp.MustCompile(tr.NameRegex).MatchString(name) {
			ps.add(path+".name", "%v does not match %s", v, tr.NameRegex)
		}
	}
	if v, ok := params["cronExpression"]; ok {
		expr, isString := v.(string)
		if !isString {
			ps.add(path+".cronExpression", "%v is not a string", v)
		} else if err := checkCron(tr.Cron, expr); err != nil {
			ps.add(path+".cronExpression", "%q: %v", expr, err)
		}
	}
	if v, ok := params["enable"]; ok {
		if _, isBool := v.(bool); !isBool {
			ps.add(path+".enable", "%v is not a boolean", v)
		}
	}
	if v, ok := params["argument"]; ok {
		arg, isString := v.(string)
		if !isString || len(arg) > tr.ArgumentMaxBytes {
			ps.add(path+".argument", "want a string of at most %d bytes", tr.ArgumentMaxBytes)
		}
	}
	if v, ok := params["qualifier"]; ok {
		if q, _ := v.(string); q == "" {
			ps.add(path+".qualifier", "%v is not a non-empty string", v)
		}
	}
	return ps
}

func checkHTTP(r *rules, path string, params map[string]any) problems {
	var ps problems
	hr := r.Platform.Triggers.HTTP
	for _, k := range sortedKeys(params) {
		if !slices.Contains(hr.Params, k) {
			ps.add(path, "unknown http parameter %q (known: %v)", k, hr.Params)
		}
	}
	if v, ok := params["authType"]; ok {
		if a, _ := v.(string); !slices.Contains(hr.AuthTypes, a) {
			ps.add(path+".authType", "%v is not one of %v", v, hr.AuthTypes)
		}
	}
	for _, k := range []string{"name", "qualifier"} {
		if v, ok := params[k]; ok {
			if s, _ := v.(string); s == "" {
				ps.add(path+"."+k, "%v is not a non-empty string", v)
			}
		}
	}
	if v, ok := params["netConfig"]; ok {
		nc, isMap := v.(map[string]any)
		if !isMap {
			ps.add(path+".netConfig", "not a map")
			return ps
		}
		for _, k := range sortedKeys(nc) {
			if !slices.Contains(hr.NetConfig, k) {
				ps.add(path+".netConfig", "unknown key %q (known: %v)", k, hr.NetConfig)
			} else if _, isBool := nc[k].(bool); !isBool {
				ps.add(path+".netConfig."+k, "%v is not a boolean", nc[k])
			}
		}
	}
	return ps
}

// checkCron checks a seven-field SCF cron expression against the field ranges.
func checkCron(fields []cronField, expr string) error {
	parts := strings.Fields(expr)
	if len(parts) != len(fields) {
		return fmt.Errorf("%d fields, want %d (second minute hour day month weekday year)", len(parts), len(fields))
	}
	for i, f := range fields {
		if err := checkCronField(f, parts[i]); err != nil {
			return fmt.Errorf("%s field %q: %w", f.Field, parts[i], err)
		}
	}
	return nil
}

func checkCronField(f cronField, s string) error {
	for item := range strings.SplitSeq(s, ",") {
		base, step, hasStep := strings.Cut(item, "/")
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n < 1 {
				return fmt.Errorf("step %q is not a positive number", step)
			}
		}
		if base == "*" {
			continue
		}
		lo, hi, isRange := strings.Cut(base, "-")
		a, err := cronValue(f, lo)
		if err != nil {
			return err
		}
		if isRange {
			b, err := cronValue(f, hi)
			if err != nil {
				return err
			}
			if a > b {
				return fmt.Errorf("range %s is backwards", base)
			}
		}
	}
	return nil
}

// cronValue parses a number or (for month and weekday) a name, and checks its range.
func cronValue(f cronField, s string) (int, error) {
	if i := slices.Index(f.Names, strings.ToUpper(s)); i >= 0 && s != "" {
		return f.Min + i, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number or name", s)
	}
	if n < f.Min || n > f.Max {
		return 0, fmt.Errorf("%d is outside %d..%d", n, f.Min, f.Max)
	}
	return n, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

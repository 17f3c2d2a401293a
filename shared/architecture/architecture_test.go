package architecture

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/tcusage/tcusage/"

// allowed lists, for every production package under shared/, the project packages it may import.
// A package missing here fails the test: a new package states its place in the layering.
var allowed = map[string][]string{
	"shared/calendar":      nil,
	"shared/credential":    nil,
	"shared/endpoint":      nil,
	"shared/scf":           nil,
	"shared/scfevent":      nil,
	"shared/remote":        nil,
	"shared/tcapi":         {"shared/calendar"},
	"shared/usage":         {"shared/calendar", "shared/tcapi"},
	"shared/plan":          {"shared/calendar"},
	"shared/tcloud":        {"shared/credential", "shared/endpoint", "shared/remote", "shared/tcapi"},
	"shared/source":        {"shared/calendar", "shared/tcapi", "shared/tcloud", "shared/usage"},
	"shared/snapshot":      {"shared/calendar", "shared/usage"},
	"shared/snapshot/file": {"shared/snapshot"},
	"shared/snapshot/cos":  {"shared/credential", "shared/endpoint", "shared/remote", "shared/snapshot"},
	"shared/snapshot/sink": {"shared/credential", "shared/snapshot", "shared/snapshot/cos", "shared/snapshot/file"},
	"shared/export":        {"shared/calendar", "shared/plan", "shared/snapshot", "shared/source", "shared/tcapi", "shared/tcloud", "shared/usage"},
	"shared/query":         {"shared/calendar", "shared/export", "shared/plan", "shared/scfevent", "shared/snapshot", "shared/tcloud", "shared/usage"},
	"shared/report":        {"shared/calendar", "shared/snapshot", "shared/usage"},
	"shared/tables":        {"shared/snapshot", "shared/usage"},
	"shared/emulator":      {"shared/calendar", "shared/tcapi"},
	"shared/doctor":        {"shared/calendar", "shared/credential", "shared/function", "shared/snapshot", "shared/source", "shared/tcapi", "shared/tcloud"},
	"shared/function": {"shared/credential", "shared/export", "shared/plan", "shared/query", "shared/report", "shared/scf",
		"shared/scfevent", "shared/snapshot", "shared/snapshot/sink", "shared/source", "shared/tables", "shared/tcapi", "shared/tcloud", "shared/usage"},
}

// testSupport are the packages that exist for tests (named <pkg>test, or internal test programs):
// they may import anything, package testing included.
func testSupport(p string) bool {
	return strings.HasSuffix(p, "test") || strings.Contains(p, "/internal/testfn")
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Name       string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	// go test caches a result by the files the test opens; go list's reads are not seen, so the
	// sources are stat'ed here to make any change to them run the test again.
	require.NoError(t, filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		_, err = os.Stat(path)
		return err
	}))
	out, err := exec.Command("go", "list", "-json", "-deps=false", module+"...").Output()
	require.NoError(t, err, "go list")
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		require.NoError(t, dec.Decode(&p))
		p.ImportPath = strings.TrimPrefix(p.ImportPath, module)
		pkgs = append(pkgs, p)
	}
	require.NotEmpty(t, pkgs)
	return pkgs
}

func TestPackagesImportOnlyWhatTheLayeringAllows(t *testing.T) {
	for _, p := range listPackages(t) {
		if !strings.HasPrefix(p.ImportPath, "shared/") || testSupport(p.ImportPath) || p.ImportPath == "shared/architecture" {
			continue
		}
		want, ok := allowed[p.ImportPath]
		if !assert.True(t, ok, "%s is not in the layering: add it to allowed and to docs/architecture.md", p.ImportPath) {
			continue
		}
		for _, imp := range p.Imports {
			if rest, ok := strings.CutPrefix(imp, module); ok {
				assert.True(t, slices.Contains(want, rest), "%s imports %s, which the layering does not allow", p.ImportPath, rest)
			}
		}
	}
}

// No production package imports package testing, and no binary links it.
func TestNothingShippedLinksTesting(t *testing.T) {
	for _, p := range listPackages(t) {
		if testSupport(p.ImportPath) || p.ImportPath == "shared/architecture" {
			continue
		}
		assert.NotContains(t, p.Imports, "testing", "%s imports package testing", p.ImportPath)
		if p.Name == "main" {
			assert.NotContains(t, p.Deps, "testing", "the binary %s links package testing", p.ImportPath)
		}
	}
}

// maxFuncLines bounds every function of the shipped and tooling code (tests excepted): a reader
// holds one function in their head.
const maxFuncLines = 100

func TestNoFunctionIsLongerThanAPage(t *testing.T) {
	fset := token.NewFileSet()
	var long []string
	require.NoError(t, filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path != "../.." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules"):
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Body != nil {
				if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > maxFuncLines {
					long = append(long, fmt.Sprintf("%s: %s is %d lines", strings.TrimPrefix(path, "../../"), fn.Name.Name, n))
				}
			}
		}
		return nil
	}))
	assert.Empty(t, long, "functions over %d lines: split them", maxFuncLines)
}

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeTinyModule creates a module with one small main package under functions/tiny.
func writeTinyModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/tiny\n\ngo 1.26\n"), 0o644))
	pkg := filepath.Join(dir, "functions", "tiny")
	require.NoError(t, os.MkdirAll(pkg, 0o755))
	src := "package main\n\nimport \"os\"\n\nfunc main() { os.Exit(0) }\n"
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "main.go"), []byte(src), 0o644))
	return dir
}

func TestPackBuildsLinuxAMD64ZipWithExecutableMain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := writeTinyModule(t)
	out := filepath.Join(t.TempDir(), "dist")
	// A stale file in the deploy directory must not survive a new pack.
	require.NoError(t, os.MkdirAll(filepath.Join(out, "tiny"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(out, "tiny", "stale.txt"), []byte("x"), 0o644))

	targets, err := functionTargets(dir, []string{"tiny"})
	require.NoError(t, err)
	var stderr bytes.Buffer
	b := builder{Dir: dir, Out: out, Go: "go", Stderr: &stderr}
	res, err := b.pack(context.Background(), targets[0])
	require.NoError(t, err, stderr.String())

	// The deploy directory holds exactly the executable binary.
	entries, err := os.ReadDir(filepath.Join(out, "tiny"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "main", entries[0].Name())
	info, err := os.Stat(res.BinaryPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), info.Mode().Perm()&0o755, "binary must be executable")
	assert.Equal(t, info.Size(), res.BinarySize)

	// The zip holds one entry, main, at the root, executable, created on Unix.
	raw, err := os.ReadFile(filepath.Join(out, "tiny.zip"))
	require.NoError(t, err)
	sum := sha256.Sum256(raw)
	assert.Equal(t, hex.EncodeToString(sum[:]), res.SHA256)
	assert.Equal(t, int64(len(raw)), res.ZipSize)
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	require.NoError(t, err)
	require.Len(t, zr.File, 1)
	f := zr.File[0]
	assert.Equal(t, "main", f.Name)
	assert.Equal(t, os.FileMode(0o755), f.Mode())
	assert.Equal(t, uint16(3), f.CreatorVersion>>8, "creator must be Unix (3)")
	assert.Equal(t, uint32(0o100755), f.ExternalAttrs>>16, "Unix mode bits in the external attributes")
	assert.True(t, f.Modified.Equal(zipTime), "fixed modification time, got %v", f.Modified)

	rc, err := f.Open()
	require.NoError(t, err)
	bin, err := io.ReadAll(rc)
	require.NoError(t, rc.Close())
	require.NoError(t, err)

	ef, err := elf.NewFile(bytes.NewReader(bin))
	require.NoError(t, err)
	assert.Equal(t, elf.EM_X86_64, ef.Machine)
	assert.Equal(t, elf.ELFCLASS64, ef.Class)
	assert.Equal(t, elf.ET_EXEC, ef.Type)
	assert.Nil(t, ef.Section(".symtab"), "-s strips the symbol table")
	assert.Nil(t, ef.Section(".debug_info"), "-w drops DWARF")

	bi, err := buildinfo.Read(bytes.NewReader(bin))
	require.NoError(t, err)
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	assert.Equal(t, "linux", settings["GOOS"])
	assert.Equal(t, "amd64", settings["GOARCH"])
	assert.Equal(t, "0", settings["CGO_ENABLED"])
	assert.Equal(t, "true", settings["-trimpath"])
	// With -trimpath the go command leaves -ldflags out of the build info; -s and -w show in the
	// missing symbol table and DWARF sections checked above.
}

func TestZipBinaryIsDeterministic(t *testing.T) {
	bin := bytes.Repeat([]byte("\x7fELF not really"), 100)
	a, err := zipBinary(bin)
	require.NoError(t, err)
	b, err := zipBinary(bin)
	require.NoError(t, err)
	assert.Equal(t, a, b)

	c, err := zipBinary(append(bin, 'x'))
	require.NoError(t, err)
	assert.NotEqual(t, a, c)
}

func TestFunctionTargets(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"telcall", "essbill"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "functions", name), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "functions", "file"), nil, 0o644))

	got, err := functionTargets(dir, []string{"telcall", "essbill"})
	require.NoError(t, err)
	assert.Equal(t, []target{{Name: "telcall", Pkg: "./functions/telcall"}, {Name: "essbill", Pkg: "./functions/essbill"}}, got)

	tests := []struct {
		name    string
		names   []string
		wantErr string
	}{
		{"missing directory", []string{"roomusage"}, "no package directory"},
		{"not a directory", []string{"file"}, "not a directory"},
		{"path traversal", []string{"../x"}, "function name"},
		{"upper case", []string{"TelCall"}, "function name"},
		{"empty", []string{""}, "function name"},
		{"duplicate", []string{"telcall", "telcall"}, "given twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := functionTargets(dir, tc.names)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestRunRejectsUnknownFunctionBeforeBuilding(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-o", t.TempDir(), "nosuchfunction"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"nosuchfunction"`)
	assert.Empty(t, stdout.String())
}

func TestPrintResults(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, printResults(&buf, []result{
		{Name: "telcall", BinarySize: 1234, ZipSize: 567, SHA256: strings.Repeat("ab", 32), ZipPath: "dist/telcall.zip"},
	}))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, []string{"telcall", "1234", "567", strings.Repeat("ab", 32), "dist/telcall.zip"}, strings.Fields(lines[1]))
}

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"text/tabwriter"
	"time"
)

// defaultFunctions are the functions packed when no names are given, in deploy order.
var defaultFunctions = []string{"telcall", "trtcusage", "roomusage", "essbill"}

// binaryName is the file name the Go1 runtime starts; serverless.yml's handler must match it.
const binaryName = "main"

// zipTime is the modification time written for every zip entry, so that the zip's bytes depend
// only on the binary. 1980-01-01 is the earliest time the zip (MS-DOS) date fields can hold.
var zipTime = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

// validName is what a function (directory) name may look like; it keeps names safe to use in paths.
var validName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,58}$`)

// target is one function to build: its name and the package to build, relative to dir.
type target struct {
	Name string
	Pkg  string
}

// builder builds and packages targets.
type builder struct {
	// Dir is the module directory `go build` runs in.
	Dir string
	// Out is the output directory (dist).
	Out string
	// Go is the go command to run.
	Go string
	// Stderr receives the compiler's output.
	Stderr io.Writer
}

// result describes one packaged function.
type result struct {
	Name       string
	BinaryPath string
	BinarySize int64
	ZipPath    string
	ZipSize    int64
	SHA256     string
}

// run parses the command line, packs the requested functions and prints a summary to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "dist", "output `directory`")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./cmd/pack [-o dist] [function ...]\nfunctions: %v\n", defaultFunctions)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	names := fs.Args()
	if len(names) == 0 {
		names = defaultFunctions
	}
	targets, err := functionTargets(".", names)
	if err != nil {
		return err
	}
	b := builder{Dir: ".", Out: *out, Go: "go", Stderr: stderr}
	results := make([]result, 0, len(targets))
	for _, t := range targets {
		r, err := b.pack(ctx, t)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	return printResults(stdout, results)
}

// functionTargets maps function names to the packages under dir/functions, checking that each
// name is well formed, given once, and has a directory.
func functionTargets(dir string, names []string) ([]target, error) {
	seen := make(map[string]bool, len(names))
	targets := make([]target, 0, len(names))
	for _, name := range names {
		if !validName.MatchString(name) {
			return nil, fmt.Errorf("function name %q: want lower-case letters, digits, '-' or '_', starting with a letter", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("function %q given twice", name)
		}
		seen[name] = true
		rel := filepath.Join("functions", name)
		info, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("function %q: no package directory %s", name, rel)
			}
			return nil, fmt.Errorf("function %q: %w", name, err)
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("function %q: %s is not a directory", name, rel)
		}
		targets = append(targets, target{Name: name, Pkg: "./" + filepath.ToSlash(rel)})
	}
	return targets, nil
}

// pack builds t into Out/<name>/main (a directory holding nothing else) and zips it into
// Out/<name>.zip.
func (b builder) pack(ctx context.Context, t target) (result, error) {
	if !validName.MatchString(t.Name) {
		return result{}, fmt.Errorf("function name %q is not a valid name", t.Name)
	}
	srcDir := filepath.Join(b.Out, t.Name)
	// The directory is deployed as is, so nothing but the fresh binary may be left in it.
	if err := os.RemoveAll(srcDir); err != nil {
		return result{}, fmt.Errorf("clean %s: %w", srcDir, err)
	}
	if err := os.MkdirAll(srcDir, 0o755); err != nil {
		return result{}, fmt.Errorf("create %s: %w", srcDir, err)
	}
	binPath := filepath.Join(srcDir, binaryName)
	absBin, err := filepath.Abs(binPath)
	if err != nil {
		return result{}, fmt.Errorf("resolve %s: %w", binPath, err)
	}
	if err := b.build(ctx, t, absBin); err != nil {
		return result{}, err
	}
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return result{}, fmt.Errorf("read binary of %s: %w", t.Name, err)
	}
	zipped, err := zipBinary(bin)
	if err != nil {
		return result{}, fmt.Errorf("zip %s: %w", t.Name, err)
	}
	zipPath := filepath.Join(b.Out, t.Name+".zip")
	if err := writeFileAtomic(zipPath, zipped); err != nil {
		return result{}, err
	}
	sum := sha256.Sum256(zipped)
	return result{
		Name:       t.Name,
		BinaryPath: binPath,
		BinarySize: int64(len(bin)),
		ZipPath:    zipPath,
		ZipSize:    int64(len(zipped)),
		SHA256:     hex.EncodeToString(sum[:]),
	}, nil
}

// build runs `go build` for linux/amd64 without cgo, writing the executable to out.
func (b builder) build(ctx context.Context, t target, out string) error {
	cmd := exec.CommandContext(ctx, b.Go, "build", "-trimpath", "-ldflags=-s -w", "-o", out, t.Pkg)
	cmd.Dir = b.Dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	cmd.Stdout = b.Stderr
	cmd.Stderr = b.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s (%s): %w", t.Name, t.Pkg, err)
	}
	return nil
}

// zipBinary returns a zip archive holding bin as the single entry "main" at the root, marked as a
// Unix file with mode 0755 and stamped with zipTime.
func zipBinary(bin []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{
		Name:     binaryName,
		Method:   zip.Deflate,
		Modified: zipTime,
	}
	// SetMode records the mode in the high 16 bits of the external attributes and marks the
	// creator as Unix, which is what unzip and the SCF loader read the permission bits from.
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return nil, fmt.Errorf("add %s: %w", binaryName, err)
	}
	if _, err := w.Write(bin); err != nil {
		return nil, fmt.Errorf("write %s: %w", binaryName, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("finish archive: %w", err)
	}
	return buf.Bytes(), nil
}

// writeFileAtomic writes data to path through a temporary file in the same directory, so a
// reader never sees half a zip.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// printResults writes one aligned line per packaged function.
func printResults(w io.Writer, results []result) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "function\tbinary bytes\tzip bytes\tzip sha256\tzip")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", r.Name, r.BinarySize, r.ZipSize, r.SHA256, r.ZipPath)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print summary: %w", err)
	}
	return nil
}

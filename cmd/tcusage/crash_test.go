package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/report"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
)

// buildTool builds the tcusage binary into a temporary directory.
func buildTool(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "tcusage")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// backfillCmd runs `tcusage backfill roomusage --emulator` into dir with a private temp dir.
func backfillCmd(t *testing.T, bin, dir, from, to string) *exec.Cmd {
	t.Helper()
	tmp := t.TempDir()
	cmd := exec.Command(bin, "backfill", "roomusage", "--emulator", "--from", from, "--to", to)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "TMPDIR=" + tmp,
		"TCUSAGE_SINK=file://" + dir,
		"TCUSAGE_LEASE_TTL=3s", // a killed backfill's lease expires soon: the rerun waits for it
	}
	return cmd
}

// state is what a reader can rely on: each manifest (by date) and the files it lists.
type state map[string]*snapshot.Manifest

// readState verifies every partition of the store and returns its manifests; a partition whose
// manifest points at missing or different bytes fails the test.
func readState(t *testing.T, dir string) state {
	t.Helper()
	ctx := context.Background()
	st, err := file.New(dir)
	require.NoError(t, err)
	parts, err := snapshot.ListPartitions(ctx, st, "", "roomusage")
	require.NoError(t, err)
	out := state{}
	for _, p := range parts {
		if !p.HasManifest {
			continue
		}
		rep, err := snapshot.Verify(ctx, st, "", "roomusage", p.Date)
		require.NoError(t, err)
		require.True(t, rep.OK(), "%s: %v", p.Date, rep.Problems)
		out[p.Date.String()] = rep.Manifest
	}
	return out
}

// dataFiles returns every data object of the store (temporary files excluded) with its bytes.
func dataFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	st, err := file.New(dir)
	require.NoError(t, err)
	objs, err := st.List(ctx, "")
	require.NoError(t, err)
	out := map[string][]byte{}
	for _, o := range objs {
		if strings.HasSuffix(o.Key, snapshot.ManifestName) || !strings.Contains(o.Key, "/dt=") || strings.HasPrefix(o.Key, report.ReportsDir+"/") {
			continue // manifests, what lies beside the partitions (lease, pointer, tables), and reports, rendered at the time of each run
		}
		b, err := snapshot.ReadObject(ctx, st, o.Key)
		require.NoError(t, err)
		out[o.Key] = b
	}
	return out
}

func entries(m *snapshot.Manifest) map[string]string {
	out := map[string]string{}
	for _, f := range m.Files {
		out[f.Key] = fmt.Sprintf("%s %d %d", f.SHA256, f.Bytes, f.Rows)
	}
	return out
}

// TestBackfillSurvivesSIGKILL kills a real backfill process at random points, checks after each
// kill that every manifest is sound and that nothing committed before was lost, then lets it
// finish and compares the result with an uninterrupted backfill: the same data bytes and the
// same manifest file lists and hashes.
func TestBackfillSurvivesSIGKILL(t *testing.T) {
	bin := buildTool(t)
	// 50 days of room usage for the three demo apps: 150 calls at the scaled 15 s pacing, a few
	// seconds of work, inside the API's 90-day window.
	const days = 50
	today := time.Now().In(beijing())
	from := today.AddDate(0, 0, -10-days).Format("2006-01-02")
	to := today.AddDate(0, 0, -11).Format("2006-01-02")

	refDir := t.TempDir()
	refDone := make(chan error, 1)
	go func() {
		out, err := backfillCmd(t, bin, refDir, from, to).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%w: %s", err, out)
		}
		refDone <- err
	}()

	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	seen := state{} // every manifest observed after a kill, to check nothing is lost later
	kills, finishedEarly := 0, 0
	var committed []int
	for kills < 4 {
		cmd := backfillCmd(t, bin, dir, from, to)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		wait := time.Duration(100+rng.IntN(600)) * time.Millisecond
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			require.NoError(t, err, "backfill failed on its own: %s", out.String())
			finishedEarly++
		case <-time.After(wait):
			require.NoError(t, cmd.Process.Kill()) // SIGKILL: no cleanup, no deferred code
			err := <-done
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "want a killed process, got %v", err)
			kills++
		}
		now := readState(t, dir)
		for date, before := range seen {
			m, ok := now[date]
			require.True(t, ok, "the manifest of %s disappeared", date)
			after := entries(m)
			for k, v := range entries(before) {
				require.Equal(t, v, after[k], "%s: committed file %s was lost or changed", date, k)
			}
		}
		seen = now
		committed = append(committed, len(now))
		if finishedEarly > 0 {
			break // the work is done: nothing left to interrupt
		}
	}

	// Resume until done (one run normally suffices).
	var out []byte
	var err error
	for range 3 {
		out, err = backfillCmd(t, bin, dir, from, to).CombinedOutput()
		if err == nil {
			break
		}
	}
	require.NoError(t, err, "%s", out)
	require.NoError(t, <-refDone)

	got, want := readState(t, dir), readState(t, refDir)
	require.Len(t, want, days)
	require.Equal(t, len(want), len(got))
	for date, m := range want {
		g := got[date]
		require.NotNil(t, g, date)
		require.Equal(t, snapshot.StatusComplete, g.Status, date)
		require.Equal(t, m.Apps, g.Apps, date)
		require.Equal(t, entries(m), entries(g), date)
	}
	gotData, wantData := dataFiles(t, dir), dataFiles(t, refDir)
	require.Equal(t, len(wantData), len(gotData), "no extra or missing data object")
	var n int64
	for k, b := range wantData {
		require.True(t, bytes.Equal(b, gotData[k]), "%s differs from the uninterrupted run", k)
		n += int64(len(b))
	}
	_, err = os.Stat(filepath.Join(dir, "roomusage"))
	require.False(t, errors.Is(err, fs.ErrNotExist))
	fmt.Printf("crash safety: seed=%d kills=%d partitions_with_manifest_after_each_kill=%v final_partitions=%d data_files=%d bytes_compared=%d, identical to an uninterrupted backfill\n",
		seed, kills, committed, len(got), len(gotData), n)
}

func beijing() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/calendar/calendartest"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
	"github.com/tcusage/tcusage/shared/tables"
	"github.com/tcusage/tcusage/shared/usage"
)

// runCmd runs tcusage with env as its environment, at the tests' "now" (calendartest).
func runCmd(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return runCmdAt(t, calendartest.Now(), env, args...)
}

// runCmdAt runs tcusage on a clock that starts at now.
func runCmdAt(t *testing.T, now time.Time, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }, now: calendartest.Clock(now)}
	code := run(context.Background(), args, c)
	return code, out.String(), errOut.String()
}

// yesterday is the day before the tests' "now", in China Standard Time.
func yesterday() calendar.Day { return calendar.Of(calendartest.Now(), calendar.Zone).Add(-1) }

// TestDemoWritesVerifiableSnapshots runs the README's demo command and checks every object it
// wrote against its manifest.
func TestDemoWritesVerifiableSnapshots(t *testing.T) {
	dir := t.TempDir()
	day := yesterday().Add(-2)
	code, out, errOut := runCmd(t, nil, "demo", "--date", day.String(), "--out", dir)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	for _, ds := range []string{"telcall", "trtcusage", "roomusage", "essbill"} {
		assert.Contains(t, out, ds+"/"+snapshot.Version(ds)+"/dt="+day.String()+"/")
	}

	store, err := file.New(dir)
	require.NoError(t, err)
	ctx := context.Background()
	for _, s := range usage.Schemas() {
		rep, err := snapshot.Verify(ctx, store, "", s.Dataset, day)
		require.NoError(t, err, s.Dataset)
		assert.True(t, rep.OK(), "%s: %v", s.Dataset, rep.Problems)
		assert.Equal(t, snapshot.StatusComplete, rep.Manifest.Status)
		assert.NotEmpty(t, rep.Manifest.Files)
		formats := map[usage.Format]int{}
		rows := int64(0)
		for _, f := range rep.Manifest.Files {
			formats[f.Format]++
			rows += f.Rows
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Key)))
			require.NoError(t, err)
			if f.Format == "csv" {
				assert.True(t, strings.HasPrefix(string(b), strings.Join(f.Columns, ",")+"\n"), "%s starts with its header", f.Key)
			}
			if f.Format == usage.Parquet {
				assert.True(t, bytes.HasPrefix(b, []byte("PAR1")) && bytes.HasSuffix(b, []byte("PAR1")), f.Key)
				assert.Equal(t, "application/vnd.apache.parquet", f.ContentType)
			}
		}
		assert.Positive(t, rows, "%s: rows on %s", s.Dataset, day) // an app may be idle, not all three
		assert.Len(t, formats, 3, "%s: the demo writes every format", s.Dataset)
		assert.Equal(t, formats[usage.CSV], formats[usage.Parquet], s.Dataset)
	}

	code, out, _ = runCmd(t, nil, "verify", "--sink", "file://"+dir)
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "4 partition(s) checked, 0 with problems, 0 without a manifest")

	// A tampered file is caught.
	m, err := snapshot.ReadManifest(ctx, store, "", "telcall", day)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.FromSlash(m.Files[0].Key)), []byte("tampered\n"), 0o644))
	code, out, _ = runCmd(t, nil, "verify", "--sink", "file://"+dir)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, out, "BAD")
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"demo", "--date", "yesterday"},
		{"demo", "extra"},
		{"invoke"},
		{"invoke", "nosuchfunction", "--event", "x.json"},
		{"invoke", "telcall"},
		{"backfill", "telcall", "--from", "2024-01-01"},
		{"verify", "--no-such-flag"},
	} {
		code, _, errOut := runCmd(t, nil, args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errOut)
		assert.NotEmpty(t, errOut, "%v says what is wrong", args)
	}
	code, out, _ := runCmd(t, nil, "help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "tcusage demo")
}

func TestInvokeWithEventFileOnTheEmulator(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"TCUSAGE_SINK": "file://" + dir, "HOME": t.TempDir()}
	ev := filepath.Join(t.TempDir(), "timer.json")
	day := yesterday()
	require.NoError(t, os.WriteFile(ev, []byte(`{"Type":"Timer","TriggerName":"daily","Time":"`+calendartest.Now().UTC().Format(time.RFC3339)+`","Message":"{\"date\":\"`+day.String()+`\"}"}`), 0o644))
	code, out, errOut := runCmd(t, env, "invoke", "telcall", "--event", ev, "--emulator")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, `"dataset":"telcall"`)
	_, err := os.Stat(filepath.Join(dir, "telcall", "v1", "dt="+day.String(), "_manifest.json"))
	assert.NoError(t, err)

	// The generic Function URL sample is a POST: refused, as a query must be a GET.
	code, out, _ = runCmd(t, env, "invoke", "telcall", "--event", "../../events/function-url.json", "--emulator")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, `"statusCode":405`)
}

// TestEventSamplesOfEveryFunction runs each function on each of its sample events, on a clock
// set to the morning after the day the samples name (their dates are fixed; the clock makes
// them "yesterday", so the test passes on any date).
func TestEventSamplesOfEveryFunction(t *testing.T) {
	sampleDay := calendar.Date(2026, 11, 20)
	at := sampleDay.End().Add(10 * time.Hour)
	for _, fn := range []string{"telcall", "trtcusage", "roomusage", "essbill"} {
		for _, name := range []string{"timer-date.json", "function-url.json", "apigw.json"} {
			t.Run(fn+"/"+name, func(t *testing.T) {
				path := filepath.Join("../../events", fn, name)
				b, err := os.ReadFile(path)
				require.NoError(t, err)
				require.Contains(t, string(b), sampleDay.String(), "the samples name %s", sampleDay)
				dir := t.TempDir()
				env := map[string]string{"TCUSAGE_SINK": "file://" + dir}
				code, out, errOut := runCmdAt(t, at, env, "invoke", fn, "--event", path, "--emulator")
				require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
				switch name {
				case "timer-date.json":
					assert.Contains(t, out, `"date":"`+sampleDay.String()+`","status":"complete"`)
				case "function-url.json":
					assert.Contains(t, out, `"statusCode":200`)
					assert.Contains(t, out, `application/json`)
				case "apigw.json":
					assert.Contains(t, out, `"statusCode":200`)
					assert.Contains(t, out, `text/csv`)
				}
			})
		}
	}
}

func TestBackfillResumes(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"TCUSAGE_SINK": "file://" + dir}
	to := yesterday()
	code, out, errOut := runCmd(t, env, "backfill", "essbill", "--from", to.Add(-2).String(), "--to", to.String(), "--emulator")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "3 day(s) delivered (0 already there)")
	code, out, _ = runCmd(t, env, "backfill", "essbill", "--from", to.Add(-3).String(), "--to", to.String(), "--emulator")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "4 day(s) delivered (3 already there)")
}

// status reports what the demo delivered and exits 1 once a day is late: the demo writes
// yesterday only, so the day before is missing, and long past its end.
func TestStatusExitsNonZeroWhenADayIsLate(t *testing.T) {
	dir := t.TempDir()
	yesterday := yesterday()
	code, out, errOut := runCmd(t, nil, "demo", "--date", yesterday.String(), "--out", dir)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	env := map[string]string{"TCUSAGE_SINK": "file://" + dir}

	code, out, errOut = runCmd(t, env, "status", "--emulator", "--days", "1")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	for _, ds := range []string{"telcall", "trtcusage", "roomusage", "essbill"} {
		assert.Regexp(t, ds+` +`+yesterday.String()+` +0 +0 +none`, out)
	}

	code, out, errOut = runCmd(t, env, "status", "--emulator", "--days", "2", "--json", "--function", "roomusage")
	require.Equal(t, exitFailed, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, errOut, "1 day(s) late")
	var sts []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &sts))
	require.Len(t, sts, 1)
	assert.Equal(t, []any{yesterday.Add(-1).String()}, sts[0]["late"])
	assert.Equal(t, []any{yesterday.Add(-1).String()}, sts[0]["missing"])
	assert.Equal(t, float64(3), sts[0]["backlog_app_days"], "the demo's three apps")

	code, _, _ = runCmd(t, env, "status", "--function", "nosuch")
	assert.Equal(t, exitUsage, code)
}

// tables prints the generated definitions: all datasets, or one; bad flags are usage errors.
func TestTablesPrintsTheDefinitions(t *testing.T) {
	code, out, errOut := runCmd(t, nil, "tables", "--dialect", "hive", "--format", "jsonl", "--location", "cosn://b-1250000000/p")
	require.Equal(t, exitOK, code, errOut)
	want, err := tables.All(tables.Hive, usage.JSONL, "cosn://b-1250000000/p")
	require.NoError(t, err)
	assert.Equal(t, want, out)

	code, out, errOut = runCmd(t, map[string]string{"TCUSAGE_SINK": "cos://b-1250000000/exports?region=ap-guangzhou"}, "tables", "--dataset", "roomusage")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, `CREATE OR REPLACE VIEW "roomusage"`)
	assert.Contains(t, out, "read_parquet('s3://b-1250000000/exports/roomusage/v2/dt=*/app=*/part-00000.parquet'")
	assert.NotContains(t, out, `"telcall"`)

	for _, args := range [][]string{
		{"tables", "--dialect", "mysql"}, {"tables", "--format", "xml"}, {"tables", "--dataset", "nope"},
		{"tables", "--location", "/x'y"}, {"tables", "extra"}, {"tables", "--sink", "ftp://x"},
	} {
		code, _, _ := runCmd(t, nil, args...)
		assert.Equal(t, exitUsage, code, "%v", args)
	}
}

// verify shows each partition's quality and restatements, compares room usage with the TRTC
// total, and exits 3 when a check failed in snapshots that match their manifests.
func TestVerifyShowsQualityAndRestatements(t *testing.T) {
	dir := t.TempDir()
	day := yesterday().Add(-1)
	code, out, errOut := runCmd(t, nil, "demo", "--date", day.String(), "--out", dir)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)

	code, out, _ = runCmd(t, nil, "verify", "--sink", "file://"+dir, "--checks")
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "OK         trtcusage v1 dt="+day.String()+": ")
	assert.Contains(t, out, ", quality ")
	assert.Contains(t, out, "CHECK      trtcusage v1 dt="+day.String()+": ok series_coverage app ")
	assert.Contains(t, out, "CHECK      essbill v2 dt="+day.String()+": ok rows_match_total app ")
	assert.Contains(t, out, "CHECK      across datasets dt="+day.String()+": ok room_within_trtc app ", "the emulator's rooms stay within the TRTC totals")
	assert.Contains(t, out, " 0 fail; 0 restatement(s)")
	quiet := func() string {
		code, out, _ := runCmd(t, nil, "verify", "--sink", "file://"+dir)
		require.Equal(t, exitOK, code, out)
		return out
	}()
	assert.NotContains(t, quiet, ": ok ", "without --checks only warnings and failures are listed")

	// A restatement recorded in the manifest is listed; a failed check exits 3, the files being
	// as their manifest says.
	store, err := file.New(dir)
	require.NoError(t, err)
	m, err := snapshot.ReadManifest(context.Background(), store, "", "telcall", day)
	require.NoError(t, err)
	m.Checks[0].Status, m.Checks[0].Detail, m.Quality = usage.CheckFail, "made up", usage.CheckFail
	m.Changes = []snapshot.Change{{Seq: 1, Key: "telcall/_changes/x.json", GeneratedAt: m.GeneratedAt,
		Files:    []snapshot.FileChange{{Key: m.Files[0].Key, App: m.Files[0].App, RowsBefore: 1, RowsAfter: 1}},
		Measures: []snapshot.MeasureChange{{Measure: "outbound_minutes", Before: 10, After: 12}}}}
	b, err := m.Encode()
	require.NoError(t, err)
	key, _ := snapshot.ManifestKey("", "telcall", day)
	require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.FromSlash(key)), b, 0o644))
	code, out, errOut = runCmd(t, nil, "verify", "--sink", "file://"+dir)
	assert.Equal(t, exitQuality, code, out)
	assert.Contains(t, out, "CHECK      telcall v1 dt="+day.String()+": fail non_negative app "+m.Checks[0].App+": made up")
	assert.Contains(t, out, "RESTATED   telcall v1 dt="+day.String()+": #1 at ")
	assert.Contains(t, out, "1 file(s) of app(s) "+m.Files[0].App+"; day totals outbound_minutes 10 → 12 (telcall/_changes/x.json)")
	assert.Contains(t, out, "4 partition(s) checked, 0 with problems")
	assert.Contains(t, errOut, "1 quality check(s) failed")
}

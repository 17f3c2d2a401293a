package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/report"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
	"github.com/tcusage/tcusage/shared/snapshot/file"
)

// pageLine returns the path the output gives after prefix.
func pageLine(t *testing.T, out, prefix string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(prefix) + `.*?(\S+)$`).FindStringSubmatch(out)
	require.NotNil(t, m, "no line %q in:\n%s", prefix, out)
	return m[1]
}

// hrefs returns the links of a page to the datasets' manifests.
func manifestLinks(page string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`href="([^"]*_manifest\.json)"`).FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// The demo's functions render the day's report after their commits, and the demo prints where it
// is; the page shows the four datasets and links their manifests.
func TestDemoPrintsItsReport(t *testing.T) {
	dir := t.TempDir()
	day := yesterday().Add(-1)
	code, out, errOut := runCmd(t, nil, "demo", "--date", day.String(), "--out", dir)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	want := filepath.Join(dir, "reports", "dt="+day.String(), "index.html")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Equal(t, want, lines[len(lines)-1], "the demo ends with the report's path")
	b, err := os.ReadFile(want)
	require.NoError(t, err)
	page := string(b)
	for _, ds := range report.Datasets() {
		assert.True(t, strings.Contains(page, `data-tile="`+ds+`"`), "the page shows %s", ds)
	}
	links := manifestLinks(page)
	require.Len(t, links, 4)
	for _, l := range links {
		assert.FileExists(t, filepath.Join(filepath.Dir(want), filepath.FromSlash(l)))
	}
}

// tcusage report renders a day into the store it reads (as the functions do), refuses a day
// without data, and with --out leaves the store alone and links the pages to its files.
func TestReportCommandOnAFileSink(t *testing.T) {
	dir := t.TempDir()
	day := yesterday().Add(-2)
	code, out, errOut := runCmd(t, nil, "demo", "--date", day.String(), "--out", dir)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	page := filepath.Join(dir, "reports", "dt="+day.String(), "index.html")
	require.NoError(t, os.Remove(page))

	code, out, errOut = runCmd(t, nil, "report", "--date", day.String(), "--sink", "file://"+dir)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Equal(t, page, pageLine(t, out, "Report of "+day.String()+" (complete):"))
	assert.Equal(t, filepath.Join(dir, "reports", "index.html"), pageLine(t, out, "All reports:"))
	assert.FileExists(t, page)

	code, _, errOut = runCmd(t, nil, "report", "--date", day.Add(-5).String(), "--sink", "file://"+dir)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "nothing to report")
	assert.NoFileExists(t, filepath.Join(dir, "reports", "dt="+day.Add(-5).String(), "index.html"))

	before := tree(t, dir)
	outDir := t.TempDir()
	code, out, errOut = runCmd(t, map[string]string{"TCUSAGE_SINK": "file://" + dir}, "report", "--date", day.String(), "--out", outDir)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Equal(t, before, tree(t, dir), "--out writes nothing into the store")
	local := pageLine(t, out, "Report of "+day.String()+" (complete):")
	assert.Equal(t, filepath.Join(outDir, "reports", "dt="+day.String(), "index.html"), local)
	b, err := os.ReadFile(local)
	require.NoError(t, err)
	links := manifestLinks(string(b))
	require.Len(t, links, 4)
	for _, l := range links {
		assert.FileExists(t, filepath.Join(filepath.Dir(local), filepath.FromSlash(l)), "the link %s reaches the store's manifest", l)
	}

	code, _, errOut = runCmd(t, nil, "report", "--date", "29-11-2026")
	assert.Equal(t, exitUsage, code, errOut)
}

// tree lists a directory's files with their sizes and times.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			out[p] = fi.ModTime().String() + " " + filepath.Base(p)
		}
		return err
	}))
	return out
}

// From a COS sink, --out renders the report locally with the caller's credentials, reading the
// bucket and writing nothing to it; the pages link data files by their object URLs. Without
// --out the pages go into the bucket, beside the data.
func TestReportCommandFromCOS(t *testing.T) {
	cos := costest.New(t, costest.Options{SecretID: emulator.TestSecretID, SecretKey: emulator.TestSecretKey})
	env := map[string]string{
		"TCUSAGE_SINK":            cos.SinkURL(""),
		"TCUSAGE_COS_ENDPOINT":    cos.Endpoint,
		"TENCENTCLOUD_SECRET_ID":  emulator.TestSecretID,
		"TENCENTCLOUD_SECRET_KEY": emulator.TestSecretKey,
		"HOME":                    t.TempDir(),
	}
	// The demo's day, copied into the bucket (the emulated commands never write to COS).
	dir := t.TempDir()
	day := yesterday()
	code, out, errOut := runCmd(t, nil, "demo", "--date", day.String(), "--out", dir)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	copyData(t, dir, env)

	cos.ResetRequests()
	outDir := t.TempDir()
	code, out, errOut = runCmd(t, env, "report", "--date", day.String(), "--out", outDir)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.NotEmpty(t, cos.Requests())
	for _, r := range cos.Requests() {
		assert.Contains(t, []string{"GET", "HEAD"}, r.Method, "%s %s: --out only reads the bucket", r.Method, r.Key)
	}
	local := pageLine(t, out, "Report of "+day.String()+" (complete):")
	assert.Equal(t, filepath.Join(outDir, "reports", "dt="+day.String(), "index.html"), local)
	b, err := os.ReadFile(local)
	require.NoError(t, err)
	host := "https://" + cos.Bucket + ".cos." + cos.Region + ".myqcloud.com/"
	links := manifestLinks(string(b))
	require.Len(t, links, 4)
	assert.Contains(t, links, host+"essbill/v2/dt="+day.String()+"/_manifest.json")

	code, out, errOut = runCmd(t, env, "report", "--date", day.String())
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Equal(t, host+"reports/dt="+day.String()+"/index.html", pageLine(t, out, "Report of "+day.String()+" (complete):"))
	assert.Contains(t, cos.SucceededKeys("PUT"), "reports/dt="+day.String()+"/index.html")
}

// copyData copies a file sink's data and manifests (not its reports) into the sink env names.
func copyData(t *testing.T, dir string, env map[string]string) {
	t.Helper()
	ctx := context.Background()
	src, err := file.New(dir)
	require.NoError(t, err)
	dst, _, err := openStore(env["TCUSAGE_SINK"], func(k string) string { return env[k] })
	require.NoError(t, err)
	objs, err := src.List(ctx, "")
	require.NoError(t, err)
	for _, o := range objs {
		if strings.HasPrefix(o.Key, report.ReportsDir+"/") || snapshot.IsLeaseKey(o.Key) {
			continue
		}
		b, err := snapshot.ReadObject(ctx, src, o.Key)
		require.NoError(t, err)
		require.NoError(t, dst.Put(ctx, o.Key, bytes.NewReader(b), snapshot.PutOptions{}))
	}
}

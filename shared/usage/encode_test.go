package usage

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr", "\x00\x01\x1f", "中文房间",
		"emoji 🎥", "sep \u2028 \u2029", "<html>&amp;", "bad \xff utf8",
	} {
		got := appendJSONString(nil, s)
		var back string
		require.NoError(t, json.Unmarshal(got, &back), "encoded %q as %s", s, got)
		want := strings.ToValidUTF8(s, "\ufffd")
		assert.Equal(t, want, back)
	}
}

func TestWritersAgree(t *testing.T) {
	cols := []string{"date", "room_id", "audio", "note"}
	rows := []Row{
		{Str("2024-05-01"), Str(`room,"quoted"`), Value{Text: "12", Number: true}, Str("line\nbreak")},
		{Str("2024-05-01"), Str("r2"), Value{Number: true}, Str("")},
	}
	var jb, cb bytes.Buffer
	w := MultiWriter{NewJSONLWriter(&jb, cols), NewCSVWriter(&cb, cols)}
	for _, r := range rows {
		require.NoError(t, w.WriteRow(r))
	}
	require.NoError(t, w.Close())

	lines := strings.Split(strings.TrimSuffix(jb.String(), "\n"), "\n")
	require.Len(t, lines, 2)
	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	assert.Equal(t, map[string]any{"date": "2024-05-01", "room_id": `room,"quoted"`, "audio": 12.0, "note": "line\nbreak"}, first)
	assert.Equal(t, `{"date":"2024-05-01","room_id":"r2","audio":null,"note":""}`, lines[1])

	recs, err := csv.NewReader(&cb).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, [][]string{cols, {"2024-05-01", `room,"quoted"`, "12", "line\nbreak"}, {"2024-05-01", "r2", "", ""}}, recs)
}

func TestWriterRejectsWrongWidth(t *testing.T) {
	var b bytes.Buffer
	assert.Error(t, NewJSONLWriter(&b, []string{"a", "b"}).WriteRow(Row{Str("x")}))
	assert.Error(t, NewCSVWriter(&b, []string{"a", "b"}).WriteRow(Row{Str("x")}))
}

func TestCSVHeaderWithoutRows(t *testing.T) {
	var b bytes.Buffer
	w := NewCSVWriter(&b, []string{"a", "b"})
	require.NoError(t, w.Close())
	assert.Equal(t, "a,b\n", b.String())
}

func TestSchemasAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Schemas() {
		assert.False(t, seen[s.Dataset], "dataset %s twice", s.Dataset)
		seen[s.Dataset] = true
		assert.Regexp(t, `^[a-z0-9_]+$`, s.Dataset)
		assert.Regexp(t, `^v[1-9][0-9]*$`, s.Version)
		for _, e := range s.Earlier {
			assert.Regexp(t, `^v[1-9][0-9]*$`, e.Version)
			assert.NotEqual(t, s.Version, e.Version)
			assert.NotEmpty(t, e.Change)
		}
		got, ok := Lookup(s.Dataset)
		assert.True(t, ok)
		assert.Equal(t, s.Version, got.Version)
		assert.NotEmpty(t, s.Description)
		names := map[string]bool{}
		for _, c := range s.Columns {
			assert.False(t, names[c.Name], "%s.%s twice", s.Dataset, c.Name)
			names[c.Name] = true
			// A plain identifier in Hive, Spark, Presto/Trino, DLC and DuckDB: no quoting needed.
			assert.Regexp(t, `^[a-z_][a-z0-9_]*$`, c.Name, "%s.%s", s.Dataset, c.Name)
			assert.Contains(t, []string{TypeString, TypeInt64, TypeDecimal, TypeDate, TypeTimestamp}, c.Type, "%s.%s", s.Dataset, c.Name)
			assert.NotEmpty(t, c.Description, "%s.%s", s.Dataset, c.Name)
		}
		assert.Equal(t, "date", s.Columns[0].Name, "every dataset starts with its date")
		assert.Contains(t, s.Markdown(), "| `date` | date |")
	}
}

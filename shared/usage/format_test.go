package usage

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFormats(t *testing.T) {
	for in, want := range map[string][]Format{"": {CSV, JSONL}, "both": {CSV, JSONL}, "all": {CSV, JSONL, Parquet}, "parquet": {Parquet}, "parquet,jsonl": {JSONL, Parquet}, "csv,PARQUET": {CSV, Parquet}, "jsonl": {JSONL}, "CSV": {CSV}, "json,csv,jsonl": {CSV, JSONL}, " ndjson ": {JSONL}} {
		got, err := ParseFormats(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"xml", "csv,,jsonl", "parquet,all", "both,csv"} {
		_, err := ParseFormats(bad)
		assert.Error(t, err, bad)
	}
}

func TestNewWriter(t *testing.T) {
	for f, want := range map[Format]string{JSONL: `{"a":1,"b":"x"}` + "\n", CSV: "a,b\n1,x\n"} {
		var buf bytes.Buffer
		w, err := NewWriter(f, &buf, Schema{Open: true}, []string{"a", "b"})
		require.NoError(t, err)
		require.NoError(t, w.WriteRow(Row{Int(1), Str("x")}))
		require.NoError(t, w.Close())
		assert.Equal(t, want, buf.String(), f)
		assert.NotEqual(t, "application/octet-stream", f.ContentType())
	}
	assert.Equal(t, "application/vnd.apache.parquet", Parquet.ContentType())
	_, err := NewWriter("xml", &bytes.Buffer{}, Schema{}, nil)
	assert.ErrorIs(t, err, ErrFormat)
}

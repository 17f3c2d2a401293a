package scf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/scf"
)

// duplicateKeys returns every key that appears twice in one JSON object of line, at any depth
// (encoding/json keeps the last silently, so Unmarshal cannot tell).
func duplicateKeys(t *testing.T, line []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	type frame struct {
		object  bool
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame
	var dups []string
	path := func() string { return fmt.Sprint(len(stack)) }
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "%s", line)
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].wantKey = true
				}
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				dups = append(dups, k+" (depth "+path()+")")
			}
			top.keys[k] = true
			top.wantKey = false
			continue
		}
		switch d, _ := tok.(json.Delim); d {
		case '{':
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, wantKey: true})
			continue
		case '[':
			stack = append(stack, &frame{})
			continue
		case ']':
			stack = stack[:len(stack)-1]
		}
		// A value ended: the enclosing object wants its next key.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].wantKey = true
		}
	}
	return dups
}

func TestDuplicateKeysSeesDuplicates(t *testing.T) {
	assert.Equal(t, []string{"a (depth 1)"}, duplicateKeys(t, []byte(`{"a":1,"b":[1,{"a":2}],"a":3}`)))
	assert.Equal(t, []string{"x (depth 2)"}, duplicateKeys(t, []byte(`{"g":{"x":1,"x":2},"x":3}`)))
	assert.Empty(t, duplicateKeys(t, []byte(`{"a":{"a":{"a":[]}},"b":[{"a":1},{"a":2}]}`)))
}

// TestLogLinesHaveNoDuplicateKeys builds the logger exactly as functions/*/main.go and
// `tcusage invoke` do (the function's name attached with With) and logs during an invocation,
// whose context names the function too: every key appears once per object.
func TestLogLinesHaveNoDuplicateKeys(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(scf.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("function", "telcall")
	ctx := scf.NewContext(context.Background(), &scf.InvocationContext{RequestID: "r-1", FunctionName: "tcusage-telcall"})

	logger.InfoContext(ctx, "timer run", "date", "2026-11-24")
	logger.InfoContext(ctx, "explicit request id", "request_id", "r-1")
	logger.With("request_id", "r-1").InfoContext(ctx, "request id attached")
	logger.WithGroup("g").InfoContext(ctx, "grouped", "n", 1)
	logger.WithGroup("g").With("function", "inner").InfoContext(ctx, "grouped with a function")
	logger.Info("cannot start") // no invocation: the attached name still says which function
	logger.InfoContext(ctx, "inlined group", slog.Group("", slog.String("request_id", "r-2")))

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 7)
	for _, line := range lines {
		assert.Empty(t, duplicateKeys(t, []byte(line)), "%s", line)
	}
	var recs []map[string]any
	for _, line := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		recs = append(recs, m)
	}
	assert.Equal(t, "telcall", recs[0]["function"], "the logger's own attribute wins")
	assert.Equal(t, "r-1", recs[0]["request_id"])
	assert.Equal(t, "2026-11-24", recs[0]["date"])
	assert.Equal(t, "r-1", recs[1]["request_id"])
	assert.Equal(t, "r-1", recs[2]["request_id"])
	// Inside a group the invocation's attributes land in the group, beside nothing of the same
	// name, so they are added there.
	assert.Equal(t, "telcall", recs[3]["function"])
	assert.Equal(t, map[string]any{"n": 1.0, "request_id": "r-1", "function": "tcusage-telcall"}, recs[3]["g"])
	assert.Equal(t, map[string]any{"request_id": "r-1", "function": "inner"}, recs[4]["g"])
	assert.Equal(t, "telcall", recs[5]["function"])
	assert.NotContains(t, recs[5], "request_id")
	assert.Equal(t, "r-2", recs[6]["request_id"], "a group without a key is inlined: its request_id counts")
}

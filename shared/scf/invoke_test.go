package scf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/scf"
	"github.com/tcusage/tcusage/shared/scfevent"
)

var errBoom = errors.New("boom")

func eventKind(ctx context.Context, ev scfevent.Event) (map[string]string, error) {
	switch ev.Kind() {
	case scfevent.KindTimer:
		if ev.Timer.Message == "boom" {
			return nil, errBoom
		}
		if ev.Timer.Message == "panic" {
			panic(errBoom)
		}
	}
	ic, _ := scf.FromContext(ctx)
	out := map[string]string{"kind": ev.Kind()}
	if ic != nil {
		out["request_id"] = ic.RequestID
	}
	return out, nil
}

func TestInvoke(t *testing.T) {
	ctx := scf.NewContext(context.Background(), &scf.InvocationContext{RequestID: "local-1"})
	out, err := scf.Invoke(ctx, eventKind, readEvent(t, "function-url.json"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"kind":"url","request_id":"local-1"}`, string(out))

	out, err = scf.Invoke(context.Background(), eventKind, readEvent(t, "apigw.json"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"kind":"apigw"}`, string(out))
}

func TestInvokeErrors(t *testing.T) {
	tests := []struct {
		name       string
		payload    string
		wantType   string
		wantIs     error
		wantExit   bool
		wantFrames bool
	}{
		{"handler error", `{"Type":"Timer","Time":"2025-01-01T00:00:00Z","Message":"boom"}`, "errorString", errBoom, false, false},
		{"panic with error", `{"Type":"Timer","Time":"2025-01-01T00:00:00Z","Message":"panic"}`, "errorString", errBoom, true, true},
		{"unknown event", `{"Records":[]}`, "errorString", scfevent.ErrUnknownEvent, false, false},
		{"syntax", `{"Type":`, "SyntaxError", nil, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := scf.Invoke(context.Background(), eventKind, []byte(tc.payload))
			assert.Nil(t, out)
			var ierr *scf.InvokeError
			require.ErrorAs(t, err, &ierr)
			assert.Equal(t, tc.wantType, ierr.Type)
			assert.Equal(t, tc.wantExit, ierr.ShouldExit)
			assert.Equal(t, tc.wantFrames, len(ierr.StackTrace) > 0)
			if tc.wantIs != nil {
				assert.ErrorIs(t, err, tc.wantIs)
			}
		})
	}
}

func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(scf.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("app", "tcusage")
	ctx := scf.NewContext(context.Background(), &scf.InvocationContext{RequestID: "r-9", FunctionName: "fn"})

	logger.InfoContext(ctx, "with invocation", "n", 1)
	logger.Info("without invocation")
	logger.WithGroup("g").InfoContext(ctx, "grouped", "n", 2)

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	require.Len(t, lines, 3)
	var recs [3]map[string]any
	for i, line := range lines {
		require.NoError(t, json.Unmarshal(line, &recs[i]))
	}
	assert.Equal(t, "r-9", recs[0]["request_id"])
	assert.Equal(t, "fn", recs[0]["function"])
	assert.Equal(t, "tcusage", recs[0]["app"])
	assert.EqualValues(t, 1, recs[0]["n"])
	assert.NotContains(t, recs[1], "request_id")
	assert.Equal(t, "tcusage", recs[1]["app"])
	assert.Equal(t, map[string]any{"n": 2.0, "request_id": "r-9", "function": "fn"}, recs[2]["g"])
}

func TestFromContextEmpty(t *testing.T) {
	_, ok := scf.FromContext(context.Background())
	assert.False(t, ok)
	_, ok = scf.FromContext(scf.NewContext(context.Background(), nil))
	assert.False(t, ok)
}

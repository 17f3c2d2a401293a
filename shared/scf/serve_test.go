package scf_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/scf"
)

// serveInProcess runs scf.Serve with h on a loopback listener and returns a
// client; the server is stopped and checked at cleanup.
func serveInProcess[In, Out any](t *testing.T, h func(context.Context, In) (Out, error)) *rpc.Client {
	t.Helper()
	client, _ := serveWithCancel(t, h)
	return client
}

func serveWithCancel[In, Out any](t *testing.T, h func(context.Context, In) (Out, error)) (*rpc.Client, func() error) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- scf.Serve(ctx, lis, h) }()
	client, err := rpc.Dial("tcp", lis.Addr().String())
	require.NoError(t, err)
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			serveErr = <-done
			client.Close()
		})
		return serveErr
	}
	t.Cleanup(func() { assert.NoError(t, stop()) })
	return client, stop
}

func call(t *testing.T, c *rpc.Client, req *scf.InvokeRequest) *scf.InvokeResponse {
	t.Helper()
	var resp scf.InvokeResponse
	require.NoError(t, c.Call("Function.Invoke", req, &resp))
	return &resp
}

type order struct {
	ID    string `json:"id"`
	Count int    `json:"count"`
}

type summary struct {
	Total int `json:"total"`
}

var errNoOrders = errors.New("no orders")

type apiError struct{ Code string }

func (e *apiError) Error() string { return "api error " + e.Code }

func TestServeTyped(t *testing.T) {
	c := serveInProcess(t, func(ctx context.Context, orders []order) (summary, error) {
		if len(orders) == 0 {
			return summary{}, fmt.Errorf("sum: %w", errNoOrders)
		}
		var s summary
		for _, o := range orders {
			if o.Count < 0 {
				return summary{}, fmt.Errorf("order %s: %w", o.ID, &apiError{Code: "Negative"})
			}
			s.Total += o.Count
		}
		return s, nil
	})
	tests := []struct {
		name        string
		payload     string
		wantPayload string
		wantErr     *scf.InvokeError
	}{
		{"ok", `[{"id":"a","count":2},{"id":"b","count":3}]`, `{"total":5}`, nil},
		{"handler error", `[]`, "", &scf.InvokeError{Message: "sum: no orders", Type: "errorString"}},
		{"empty payload is null", ``, "", &scf.InvokeError{Message: "sum: no orders", Type: "errorString"}},
		{"typed error through wrapper", `[{"id":"x","count":-1}]`, "", &scf.InvokeError{Message: "order x: api error Negative", Type: "apiError"}},
		{"syntax error", `[{"id":`, "", &scf.InvokeError{Message: "decode event: unexpected end of JSON input", Type: "SyntaxError"}},
		{"wrong type", `{"id":"a"}`, "", &scf.InvokeError{Message: "decode event: json: cannot unmarshal object into Go value of type []scf_test.order", Type: "UnmarshalTypeError"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := call(t, c, &scf.InvokeRequest{Payload: []byte(tc.payload)})
			if tc.wantErr != nil {
				require.NotNil(t, resp.Error)
				assert.Equal(t, tc.wantErr.Message, resp.Error.Message)
				assert.Equal(t, tc.wantErr.Type, resp.Error.Type)
				assert.False(t, resp.Error.ShouldExit)
				assert.Empty(t, resp.Error.StackTrace)
				assert.Nil(t, resp.Payload)
				return
			}
			require.Nil(t, resp.Error)
			assert.JSONEq(t, tc.wantPayload, string(resp.Payload))
		})
	}
}

func TestServeRawMessage(t *testing.T) {
	c := serveInProcess(t, func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"echo":` + string(in) + `}`), nil
	})
	resp := call(t, c, &scf.InvokeRequest{Payload: []byte(`{"a": [1, 2]}`)})
	require.Nil(t, resp.Error)
	assert.JSONEq(t, `{"echo":{"a":[1,2]}}`, string(resp.Payload))

	resp = call(t, c, &scf.InvokeRequest{Payload: []byte(`{"a":`)})
	require.NotNil(t, resp.Error)
	assert.Equal(t, "SyntaxError", resp.Error.Type)
}

func TestServeBadResult(t *testing.T) {
	c := serveInProcess(t, func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{not json`), nil
	})
	resp := call(t, c, &scf.InvokeRequest{Payload: []byte(`{}`)})
	require.NotNil(t, resp.Error)
	assert.Equal(t, "MarshalerError", resp.Error.Type)
}

func TestServePanic(t *testing.T) {
	c := serveInProcess(t, func(ctx context.Context, in []int) (int, error) {
		return in[5], nil // index out of range
	})
	resp := call(t, c, &scf.InvokeRequest{Payload: []byte(`[1]`)})
	require.NotNil(t, resp.Error)
	assert.True(t, resp.Error.ShouldExit)
	assert.Equal(t, "boundsError", resp.Error.Type)
	assert.Contains(t, resp.Error.Message, "index out of range")
	require.NotEmpty(t, resp.Error.StackTrace)
	assert.Equal(t, "scf_test.TestServePanic.func1", resp.Error.StackTrace[0].Label)

	// The server keeps serving.
	resp = call(t, c, &scf.InvokeRequest{Payload: []byte(`[0,1,2,3,4,5]`)})
	require.Nil(t, resp.Error)
	assert.Equal(t, "5", string(resp.Payload))
}

func TestServeInvocationContext(t *testing.T) {
	c := serveInProcess(t, func(ctx context.Context, _ json.RawMessage) (*scf.InvocationContext, error) {
		ic, ok := scf.FromContext(ctx)
		if !ok {
			return nil, errors.New("no invocation context")
		}
		dl, ok := ctx.Deadline()
		if !ok || !dl.Equal(ic.Deadline) {
			return nil, fmt.Errorf("ctx deadline %v (%v), want %v", dl, ok, ic.Deadline)
		}
		return ic, nil
	})
	deadline := time.Now().Add(time.Hour).Truncate(time.Nanosecond)
	resp := call(t, c, &scf.InvokeRequest{
		Payload:               []byte(`{}`),
		RequestId:             "r-1",
		TraceId:               "tr-1",
		Deadline:              scf.TimestampOf(deadline),
		InvokedFunctionUnique: "qcs::scf:ap-guangzhou:uin/100000000001:lam/fn",
		ClientContext:         []byte(`{"custom":{"k":"v"}}`),
		Namespace:             "default",
		FunctionName:          "fn",
		FunctionVersion:       "$LATEST",
		MemoryLimitInMb:       256,
		TimeLimitInMs:         3000,
		Environment:           `{"TCUSAGE_SCF_TEST_CTX":"1"}`,
		TencentcloudRegion:    "ap-guangzhou",
		TencentcloudAppID:     "1250000000",
		TencentcloudUin:       "100000000001",
		FunctionTrace:         "trace",
	})
	t.Cleanup(func() { os.Unsetenv("TCUSAGE_SCF_TEST_CTX") })
	require.Nil(t, resp.Error, "%+v", resp.Error)
	var got scf.InvocationContext
	require.NoError(t, json.Unmarshal(resp.Payload, &got))
	want := scf.InvocationContext{
		RequestID:             "r-1",
		TraceID:               "tr-1",
		FunctionName:          "fn",
		Namespace:             "default",
		FunctionVersion:       "$LATEST",
		InvokedFunctionUnique: "qcs::scf:ap-guangzhou:uin/100000000001:lam/fn",
		MemoryLimitMB:         256,
		TimeLimit:             3 * time.Second,
		Deadline:              deadline,
		Region:                "ap-guangzhou",
		AppID:                 "1250000000",
		UIN:                   "100000000001",
		Environment:           map[string]string{"TCUSAGE_SCF_TEST_CTX": "1"},
		ClientContext:         []byte(`{"custom":{"k":"v"}}`),
		FunctionTrace:         "trace",
	}
	assert.True(t, want.Deadline.Equal(got.Deadline))
	got.Deadline = want.Deadline
	assert.Equal(t, want, got)
}

func TestServeRequestErrors(t *testing.T) {
	var called atomic.Bool
	c := serveInProcess(t, func(ctx context.Context, _ json.RawMessage) (int, error) {
		called.Store(true)
		return 1, nil
	})
	tests := []struct {
		name     string
		req      scf.InvokeRequest
		wantType string
	}{
		{"bad client context", scf.InvokeRequest{Payload: []byte(`{}`), ClientContext: []byte(`{`)}, "SyntaxError"},
		{"bad environment", scf.InvokeRequest{Payload: []byte(`{}`), Environment: `{"A":1}`}, "UnmarshalTypeError"},
		{"invalid variable name", scf.InvokeRequest{Payload: []byte(`{}`), Environment: `{"A=B":"1"}`}, "errorString"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := call(t, c, &tc.req)
			require.NotNil(t, resp.Error)
			assert.Equal(t, tc.wantType, resp.Error.Type)
		})
	}
	assert.False(t, called.Load(), "the handler must not run for a bad request")
}

func TestServeExpiredDeadline(t *testing.T) {
	c := serveInProcess(t, func(ctx context.Context, _ json.RawMessage) (string, error) {
		<-ctx.Done()
		return ctx.Err().Error(), nil
	})
	resp := call(t, c, &scf.InvokeRequest{Payload: []byte(`{}`), Deadline: scf.TimestampOf(time.Now().Add(-time.Minute))})
	require.Nil(t, resp.Error)
	assert.Equal(t, `"context deadline exceeded"`, string(resp.Payload))
}

func TestServeShutdownCancelsRunningHandler(t *testing.T) {
	started := make(chan struct{})
	finished := make(chan error, 1)
	c, stop := serveWithCancel(t, func(ctx context.Context, _ json.RawMessage) (int, error) {
		close(started)
		<-ctx.Done()
		finished <- ctx.Err()
		return 0, ctx.Err()
	})
	call := c.Go("Function.Invoke", &scf.InvokeRequest{Payload: []byte(`{}`)}, &scf.InvokeResponse{}, nil)
	<-started
	require.NoError(t, stop())
	// Serve returned only after the handler finished.
	select {
	case err := <-finished:
		assert.ErrorIs(t, err, context.Canceled)
	default:
		t.Fatal("Serve returned before the running handler finished")
	}
	<-call.Done
	// The reply may or may not beat the closing connection; either way the
	// call ends. If it arrived, it reports the cancellation.
	if call.Error == nil {
		resp := call.Reply.(*scf.InvokeResponse)
		require.NotNil(t, resp.Error)
		assert.Equal(t, context.Canceled.Error(), resp.Error.Message)
	}
}

// TestServeEnvironmentConcurrent sends many concurrent invocations with two
// alternating environments. Each handler must see its own values in the
// process environment for its whole run.
func TestServeEnvironmentConcurrent(t *testing.T) {
	const key = "TCUSAGE_SCF_TEST_VAR"
	t.Setenv(key, "initial") // restored after the test
	type seen struct{ Want, Start, End string }
	c := serveInProcess(t, func(ctx context.Context, _ json.RawMessage) (seen, error) {
		ic, _ := scf.FromContext(ctx)
		s := seen{Want: ic.Environment[key], Start: os.Getenv(key)}
		for range 20 {
			runtime.Gosched()
		}
		s.End = os.Getenv(key)
		return s, nil
	})
	const n = 64
	calls := make([]*rpc.Call, n)
	for i := range calls {
		req := &scf.InvokeRequest{Payload: []byte(`{}`), Environment: fmt.Sprintf(`{%q:"v%d"}`, key, i%2)}
		calls[i] = c.Go("Function.Invoke", req, &scf.InvokeResponse{}, nil)
	}
	for i, cl := range calls {
		<-cl.Done
		require.NoError(t, cl.Error)
		resp := cl.Reply.(*scf.InvokeResponse)
		require.Nil(t, resp.Error)
		var s seen
		require.NoError(t, json.Unmarshal(resp.Payload, &s))
		want := fmt.Sprintf("v%d", i%2)
		assert.Equal(t, seen{Want: want, Start: want, End: want}, s, "call %d", i)
	}
}

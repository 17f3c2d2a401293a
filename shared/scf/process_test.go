package scf_test

import (
	"encoding/json"
	"errors"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The platform's messages, declared from the protocol description alone
// (names included, underscores and all) rather than taken from package scf,
// so that this test checks wire compatibility instead of assuming it.
type (
	PingRequest             struct{}
	PingResponse            struct{}
	InvokeRequest_Timestamp struct {
		Seconds int64
		Nanos   int64
	}
	InvokeRequest struct {
		Payload               []byte
		RequestId             string
		TraceId               string
		Deadline              InvokeRequest_Timestamp
		InvokedFunctionUnique string
		ClientContext         []byte
		Namespace             string
		FunctionName          string
		FunctionVersion       string
		MemoryLimitInMb       int32
		TimeLimitInMs         int32
		Environment           string
		TencentcloudRegion    string
		TencentcloudAppID     string
		TencentcloudUin       string
		FunctionTrace         string
	}
	InvokeResponse struct {
		Payload []byte
		Error   *InvokeResponse_Error
	}
	InvokeResponse_Error struct {
		Message    string
		Type       string
		StackTrace []*InvokeResponse_Error_StackFrame
		ShouldExit bool
	}
	InvokeResponse_Error_StackFrame struct {
		Path  string `json:"path"`
		Line  int32  `json:"line"`
		Label string `json:"label"`
	}
)

// testfnResult mirrors the testfn handler's result.
type testfnResult struct {
	Kind      string `json:"kind"`
	Marker    string `json:"marker"`
	RequestID string `json:"requestId"`
	EnvVar    string `json:"envVar"`
	CtxErr    string `json:"ctxErr"`
}

// startTestFunction builds internal/testfn, starts it the way the platform
// does (port in _LAMBDA_SERVER_PORT) and returns an RPC client to it.
func startTestFunction(t *testing.T) *rpc.Client {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "main")
	build := exec.Command(goBin, "build", "-o", bin, "./internal/testfn")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build testfn: %s", out)

	port := freePort(t)
	logPath := filepath.Join(dir, "stdout.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	t.Cleanup(func() { logFile.Close() })

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"_LAMBDA_SERVER_PORT="+strconv.Itoa(port),
		"TCUSAGE_RUNTIME_HOST=127.0.0.1", // tests bind loopback only
		"TESTFN_VAR=from-process",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // already exited is fine
		}
		<-exited
		if t.Failed() {
			logs, _ := os.ReadFile(logPath) // best effort, for diagnosis
			t.Logf("testfn output:\n%s", logs)
		}
	})

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	giveUp := time.After(30 * time.Second) // safety net, not a timing assertion
	for {
		client, err := rpc.Dial("tcp", addr)
		if err == nil {
			t.Cleanup(func() { client.Close() })
			return client
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("testfn exited before listening: %v", err)
		case <-giveUp:
			t.Fatalf("testfn did not listen on %s: %v", addr, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer lis.Close()
	return lis.Addr().(*net.TCPAddr).Port
}

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	require.NoError(t, err)
	return b
}

func deadlineIn(d time.Duration) InvokeRequest_Timestamp {
	at := time.Now().Add(d)
	return InvokeRequest_Timestamp{Seconds: at.Unix(), Nanos: int64(at.Nanosecond())}
}

func ping(t *testing.T, c *rpc.Client) {
	t.Helper()
	require.NoError(t, c.Call("Function.Ping", &PingRequest{}, &PingResponse{}))
}

func invoke(t *testing.T, c *rpc.Client, req *InvokeRequest) *InvokeResponse {
	t.Helper()
	var resp InvokeResponse
	require.NoError(t, c.Call("Function.Invoke", req, &resp), "the RPC itself must not fail")
	return &resp
}

func decodeResult(t *testing.T, resp *InvokeResponse) testfnResult {
	t.Helper()
	require.Nil(t, resp.Error, "unexpected error response")
	var res testfnResult
	require.NoError(t, json.Unmarshal(resp.Payload, &res), "payload %s", resp.Payload)
	return res
}

// TestProcess drives a real function binary over TCP as the platform does.
func TestProcess(t *testing.T) {
	c := startTestFunction(t)

	t.Run("ping", func(t *testing.T) { ping(t, c) })

	t.Run("events", func(t *testing.T) {
		tests := []struct {
			file     string
			wantKind string
		}{
			{"timer.json", "timer"},
			{"apigw.json", "apigw"},
			{"apigw-proxy.json", "apigw"},
			{"function-url.json", "url"},
		}
		for _, tc := range tests {
			t.Run(tc.file, func(t *testing.T) {
				resp := invoke(t, c, &InvokeRequest{
					Payload:         readEvent(t, tc.file),
					RequestId:       "req-" + tc.file,
					Deadline:        deadlineIn(time.Minute),
					FunctionName:    "testfn",
					MemoryLimitInMb: 128,
					TimeLimitInMs:   60000,
					Environment:     `{"TESTFN_VAR":"from-platform"}`,
				})
				got := decodeResult(t, resp)
				assert.Equal(t, testfnResult{
					Kind:      tc.wantKind,
					Marker:    got.Marker, // checked below for the timer
					RequestID: "req-" + tc.file,
					EnvVar:    "from-platform",
				}, got)
			})
		}
	})

	t.Run("timer message", func(t *testing.T) {
		got := decodeResult(t, invoke(t, c, &InvokeRequest{Payload: readEvent(t, "timer.json"), Deadline: deadlineIn(time.Minute)}))
		assert.Equal(t, "user define msg body", got.Marker)
	})

	t.Run("zero deadline means none", func(t *testing.T) {
		got := decodeResult(t, invoke(t, c, &InvokeRequest{Payload: readEvent(t, "timer.json")}))
		assert.Equal(t, "timer", got.Kind)
		assert.Empty(t, got.CtxErr)
	})

	t.Run("malformed payloads", func(t *testing.T) {
		tests := []struct {
			name, payload, wantType string
		}{
			{"syntax error", `{"Type":"Timer",`, "SyntaxError"},
			{"wrong type", `{"httpMethod":5}`, "UnmarshalTypeError"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				resp := invoke(t, c, &InvokeRequest{Payload: []byte(tc.payload), Deadline: deadlineIn(time.Minute)})
				require.NotNil(t, resp.Error)
				assert.Equal(t, tc.wantType, resp.Error.Type)
				assert.NotEmpty(t, resp.Error.Message)
				assert.False(t, resp.Error.ShouldExit)
				assert.Empty(t, resp.Payload)
				ping(t, c) // still alive
			})
		}
	})

	t.Run("bad client context", func(t *testing.T) {
		resp := invoke(t, c, &InvokeRequest{Payload: readEvent(t, "timer.json"), ClientContext: []byte("{oops")})
		require.NotNil(t, resp.Error)
		assert.Equal(t, "SyntaxError", resp.Error.Type)
	})

	t.Run("handler error", func(t *testing.T) {
		resp := invoke(t, c, &InvokeRequest{Payload: timerWithMessage(t, "fail"), Deadline: deadlineIn(time.Minute)})
		require.NotNil(t, resp.Error)
		assert.Equal(t, &InvokeResponse_Error{Message: "testfn: fail marker", Type: "errorString"}, resp.Error)
	})

	t.Run("panic", func(t *testing.T) {
		resp := invoke(t, c, &InvokeRequest{Payload: timerWithMessage(t, "panic"), Deadline: deadlineIn(time.Minute)})
		require.NotNil(t, resp.Error)
		assert.Equal(t, "testfn: panic marker", resp.Error.Message)
		assert.Equal(t, "string", resp.Error.Type)
		assert.True(t, resp.Error.ShouldExit)
		require.NotEmpty(t, resp.Error.StackTrace)
		top := resp.Error.StackTrace[0]
		assert.Equal(t, "main.handle", top.Label)
		assert.Equal(t, "main.go", filepath.Base(top.Path))
		assert.Positive(t, top.Line)
		ping(t, c)
	})

	t.Run("expired deadline", func(t *testing.T) {
		resp := invoke(t, c, &InvokeRequest{Payload: timerWithMessage(t, "wait"), Deadline: deadlineIn(-time.Second)})
		got := decodeResult(t, resp)
		assert.Equal(t, "wait", got.Marker)
		assert.Equal(t, "context deadline exceeded", got.CtxErr)
	})

	t.Run("rpc errors are rpc errors", func(t *testing.T) {
		err := c.Call("Function.Nope", &PingRequest{}, &PingResponse{})
		var se rpc.ServerError
		assert.True(t, errors.As(err, &se), "got %v", err)
		ping(t, c)
	})
}

// timerWithMessage returns a timer event whose Message is msg.
func timerWithMessage(t *testing.T, msg string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]string{"Type": "Timer", "TriggerName": "t", "Time": "2025-01-01T00:00:00Z", "Message": msg})
	require.NoError(t, err)
	return b
}

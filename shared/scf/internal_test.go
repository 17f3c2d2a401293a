package scf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func lookupFrom(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

func TestListenAddr(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr bool
	}{
		{"lambda port", map[string]string{PortEnv: "9001", FallbackPortEnv: "28902"}, "0.0.0.0:9001", false},
		{"fallback port", map[string]string{FallbackPortEnv: "28902"}, "0.0.0.0:28902", false},
		{"empty lambda port falls back", map[string]string{PortEnv: "", FallbackPortEnv: "28902"}, "0.0.0.0:28902", false},
		{"host override", map[string]string{PortEnv: "9001", HostEnv: "127.0.0.1"}, "127.0.0.1:9001", false},
		{"neither set", map[string]string{}, "", true},
		{"not a number", map[string]string{PortEnv: "http"}, "", true},
		{"out of range", map[string]string{PortEnv: "70000"}, "", true},
		{"zero", map[string]string{PortEnv: "0"}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := listenAddr(lookupFrom(tc.env))
			if tc.wantErr {
				require.Error(t, err)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestListenAndServeErrors(t *testing.T) {
	h := wrap(func(context.Context, json.RawMessage) (int, error) { return 0, nil })
	t.Run("no port", func(t *testing.T) {
		err := listenAndServe(context.Background(), lookupFrom(nil), h)
		require.Error(t, err)
	})
	t.Run("port in use", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer lis.Close()
		_, port, err := net.SplitHostPort(lis.Addr().String())
		require.NoError(t, err)
		err = listenAndServe(context.Background(), lookupFrom(map[string]string{PortEnv: port, HostEnv: "127.0.0.1"}), h)
		var opErr *net.OpError
		assert.ErrorAs(t, err, &opErr)
	})
	t.Run("returns nil once cancelled", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		_, port, err := net.SplitHostPort(lis.Addr().String())
		require.NoError(t, err)
		require.NoError(t, lis.Close())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.NoError(t, listenAndServe(ctx, lookupFrom(map[string]string{PortEnv: port, HostEnv: "127.0.0.1"}), h))
	})
}

// fakeEnv is a process environment for envGate tests.
type fakeEnv struct {
	mu   sync.Mutex
	vars map[string]string
	sets []string
}

func (f *fakeEnv) lookup(k string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vars[k]
	return v, ok
}

func (f *fakeEnv) setenv(k, v string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k == "BAD" {
		return fs.ErrInvalid
	}
	f.vars[k] = v
	f.sets = append(f.sets, k+"="+v)
	return nil
}

func TestEnvGateSetsOnlyChangedValues(t *testing.T) {
	env := &fakeEnv{vars: map[string]string{"A": "1"}}
	g := newEnvGate(env.lookup, env.setenv)

	release, err := g.acquire(map[string]string{"A": "1", "B": "2"})
	require.NoError(t, err)
	release()
	release() // idempotent
	assert.Equal(t, []string{"B=2"}, env.sets)

	release, err = g.acquire(map[string]string{"A": "1", "B": "2"})
	require.NoError(t, err)
	release()
	assert.Equal(t, []string{"B=2"}, env.sets, "nothing changed, nothing set")

	release, err = g.acquire(nil)
	require.NoError(t, err)
	release()
	assert.Equal(t, map[string]string{"A": "1", "B": "2"}, env.vars, "variables are never unset")

	_, err = g.acquire(map[string]string{"BAD": "x"})
	require.ErrorIs(t, err, fs.ErrInvalid)
	assert.Equal(t, 0, g.running, "a failed acquire registers no handler")
}

func TestEnvGateWaitsForRunningHandlers(t *testing.T) {
	env := &fakeEnv{vars: map[string]string{}}
	g := newEnvGate(env.lookup, env.setenv)

	releaseA, err := g.acquire(map[string]string{"K": "a"})
	require.NoError(t, err)
	// Same values: runs alongside.
	releaseA2, err := g.acquire(map[string]string{"K": "a"})
	require.NoError(t, err)

	acquired := make(chan func())
	go func() {
		r, err := g.acquire(map[string]string{"K": "b"})
		assert.NoError(t, err)
		acquired <- r
	}()
	releaseA()
	got, _ := env.lookup("K")
	assert.Equal(t, "a", got, "must not change while a handler runs")
	releaseA2()
	releaseB := <-acquired
	got, _ = env.lookup("K")
	assert.Equal(t, "b", got)
	releaseB()
	assert.Equal(t, []string{"K=a", "K=b"}, env.sets)
}

func TestParseEnvironment(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{"", nil, false},
		{"  ", nil, false},
		{`{}`, map[string]string{}, false},
		{`{"A":"1","B":""}`, map[string]string{"A": "1", "B": ""}, false},
		{`{"A":1}`, nil, true},
		{`[]`, nil, true},
		{`{"":"x"}`, nil, true},
		{`{"A=B":"x"}`, nil, true},
		{`{"A":"\u0000"}`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseEnvironment(tc.in)
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

type valueErr struct{}

func (valueErr) Error() string { return "value" }

func TestErrorTypeName(t *testing.T) {
	synErr := &json.SyntaxError{}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"errors.New", errors.New("x"), "errorString"},
		{"fmt.Errorf without %w", fmt.Errorf("x %d", 1), "errorString"},
		{"pointer type", synErr, "SyntaxError"},
		{"value type", valueErr{}, "valueErr"},
		{"wrapped", fmt.Errorf("a: %w", fmt.Errorf("b: %w", synErr)), "SyntaxError"},
		{"wrapped many", fmt.Errorf("%w and %w", valueErr{}, synErr), "valueErr"},
		{"joined", errors.Join(valueErr{}), "joinError"},
		{"deadline", context.DeadlineExceeded, "deadlineExceededError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, errorTypeName(tc.err))
		})
	}
}

func TestTypeNameUnnamed(t *testing.T) {
	assert.Equal(t, "nil", typeName(nil))
	assert.Equal(t, "string", typeName("x"))
	assert.Equal(t, "[]int", typeName([]int{1}))
	assert.Equal(t, "*[]int", typeName(&[]int{1}))
}

func TestTimestamp(t *testing.T) {
	assert.True(t, Timestamp{}.Time().IsZero())
	assert.Equal(t, Timestamp{}, TimestampOf(time.Time{}))
	at := time.Date(2025, 3, 2, 1, 30, 0, 123456789, time.UTC)
	ts := TimestampOf(at)
	assert.Equal(t, Timestamp{Seconds: at.Unix(), Nanos: 123456789}, ts)
	assert.True(t, at.Equal(ts.Time()))
}

func TestInvocationContextCopies(t *testing.T) {
	env := map[string]string{"A": "1"}
	req := &InvokeRequest{ClientContext: []byte(`{}`)}
	ic := invocationContext(req, env)
	env["A"] = "2"
	req.ClientContext[0] = 'X'
	assert.Equal(t, map[string]string{"A": "1"}, ic.Environment)
	assert.Equal(t, []byte(`{}`), ic.ClientContext)
}

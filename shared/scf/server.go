package scf

import (
	"context"
	"encoding/json"

	"fmt"
	"log/slog"
	"net"
	"net/rpc"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Environment variables read by Start.
const (
	// PortEnv is the variable naming the port to listen on, as set by the
	// Go1 runtime.
	PortEnv = "_LAMBDA_SERVER_PORT"
	// FallbackPortEnv is used when PortEnv is unset; the platform's
	// documented variable list shows it.
	FallbackPortEnv = "_SCF_SERVER_PORT"
	// HostEnv optionally overrides the listen host (default 0.0.0.0), for
	// local runs and tests that must stay on 127.0.0.1. Not a platform
	// variable.
	HostEnv = "TCUSAGE_RUNTIME_HOST"
)

// serviceName is the net/rpc receiver name the platform calls
// ("Function.Invoke", "Function.Ping").
const serviceName = "Function"

// Start serves handler h as the SCF Go1 runtime expects and blocks until
// the process receives SIGTERM or SIGINT. It is meant to be the last call
// in main. If the runtime cannot start (no port variable, port in use) it
// logs the problem with slog's default logger and exits with status 1.
//
// The listen address is 0.0.0.0 (or $TCUSAGE_RUNTIME_HOST) and the port
// $_LAMBDA_SERVER_PORT, or $_SCF_SERVER_PORT when that is unset.
func Start[In, Out any](h func(context.Context, In) (Out, error)) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := listenAndServe(ctx, os.LookupEnv, wrap(h)); err != nil {
		slog.Error("scf runtime stopped", "err", err)
		stop()
		os.Exit(1)
	}
}

// listenAndServe resolves the address, listens and serves until ctx ends.
func listenAndServe(ctx context.Context, lookup func(string) (string, bool), h rawHandler) error {
	addr, err := listenAddr(lookup)
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return serve(ctx, lis, h)
}

// listenAddr returns the address to listen on from the environment.
func listenAddr(lookup func(string) (string, bool)) (string, error) {
	name := PortEnv
	port, ok := lookup(PortEnv)
	if !ok || port == "" {
		name = FallbackPortEnv
		port, ok = lookup(FallbackPortEnv)
	}
	if !ok || port == "" {
		return "", fmt.Errorf("neither %s nor %s is set: not running in the SCF Go1 runtime (set %s=<port> to run locally)", PortEnv, FallbackPortEnv, PortEnv)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%s=%q is not a port number", name, port)
	}
	host := "0.0.0.0"
	if h, ok := lookup(HostEnv); ok && h != "" {
		host = h
	}
	return net.JoinHostPort(host, port), nil
}

// Serve serves h over net/rpc on lis until ctx is done, then closes lis and
// open connections, waits for running invocations (whose contexts are
// cancelled with ctx) and returns nil. Any other accept error is returned.
// Serve takes ownership of lis.
//
// Each invocation runs on its own goroutine; several may run at once when
// the caller sends them concurrently (see the package comment on
// Environment).
func Serve[In, Out any](ctx context.Context, lis net.Listener, h func(context.Context, In) (Out, error)) error {
	return serve(ctx, lis, wrap(h))
}

// serve is Serve for a rawHandler.
func serve(ctx context.Context, lis net.Listener, h rawHandler) error {
	srv := rpc.NewServer()
	fn := &function{base: ctx, handler: h, env: newEnvGate(os.LookupEnv, os.Setenv)}
	if err := srv.RegisterName(serviceName, fn); err != nil {
		lis.Close()
		return fmt.Errorf("register rpc service: %w", err)
	}

	var (
		mu     sync.Mutex
		conns  = make(map[net.Conn]struct{})
		closed bool
		wg     sync.WaitGroup
	)
	shutdown := func() {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return
		}
		closed = true
		lis.Close()
		for c := range conns {
			c.Close()
		}
	}
	stop := context.AfterFunc(ctx, shutdown)
	defer func() {
		stop()
		shutdown()
		wg.Wait()
	}()

	for {
		conn, err := lis.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		mu.Lock()
		if closed {
			mu.Unlock()
			conn.Close()
			continue
		}
		conns[conn] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.ServeConn(conn) // returns after in-flight calls finish
			mu.Lock()
			delete(conns, conn)
			mu.Unlock()
		}()
	}
}

// function is the RPC receiver registered as "Function". Its exported
// methods are the protocol; it must have no others (net/rpc would log
// about them).
type function struct {
	base    context.Context
	handler rawHandler
	env     *envGate
}

// Ping answers the platform's liveness check.
func (f *function) Ping(_ *PingRequest, _ *PingResponse) error { return nil }

// Invoke runs one invocation. Failures are reported in resp.Error; the RPC
// error is always nil, as the platform expects.
func (f *function) Invoke(req *InvokeRequest, resp *InvokeResponse) error {
	payload, ierr := f.invoke(req)
	*resp = InvokeResponse{Payload: payload, Error: ierr}
	return nil
}

func (f *function) invoke(req *InvokeRequest) ([]byte, *InvokeError) {
	env, err := parseEnvironment(req.Environment)
	if err != nil {
		return nil, newInvokeError("", err)
	}
	if len(req.ClientContext) > 0 {
		var cc json.RawMessage
		if err := json.Unmarshal(req.ClientContext, &cc); err != nil {
			return nil, newInvokeError("decode client context: ", err)
		}
	}
	ic := invocationContext(req, env)
	ctx := NewContext(f.base, ic)
	var cancel context.CancelFunc
	if ic.Deadline.IsZero() {
		ctx, cancel = context.WithCancel(ctx)
	} else {
		ctx, cancel = context.WithDeadline(ctx, ic.Deadline)
	}
	defer cancel()

	release, err := f.env.acquire(env)
	if err != nil {
		return nil, newInvokeError("", err)
	}
	defer release()
	return f.handler(ctx, req.Payload)
}

// parseEnvironment decodes the request's Environment JSON object.
func parseEnvironment(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var env map[string]string
	if err := json.Unmarshal([]byte(s), &env); err != nil {
		return nil, fmt.Errorf("decode environment: %w", err)
	}
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("decode environment: invalid variable %q", k)
		}
	}
	return env, nil
}

// envGate applies the Environment of each invocation to the process
// environment without changing it under a running handler.
//
// Invocations whose variables already match the process environment run
// concurrently. One that needs a change waits until no handler is running,
// then calls setenv for the differing variables only. Variables are never
// unset. There is no fairness between invocations with different
// environments; the platform sends one invocation at a time per instance,
// and changes the environment only with a new function configuration.
type envGate struct {
	lookup func(string) (string, bool)
	setenv func(string, string) error

	mu      sync.Mutex
	idle    *sync.Cond // signalled when running drops to 0
	running int
}

func newEnvGate(lookup func(string) (string, bool), setenv func(string, string) error) *envGate {
	g := &envGate{lookup: lookup, setenv: setenv}
	g.idle = sync.NewCond(&g.mu)
	return g
}

// acquire makes env current and registers a running handler; call release
// when the handler returns.
func (g *envGate) acquire(env map[string]string) (release func(), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.running > 0 && !g.matches(env) {
		g.idle.Wait()
	}
	for k, v := range env {
		if cur, ok := g.lookup(k); ok && cur == v {
			continue
		}
		if err := g.setenv(k, v); err != nil {
			return nil, fmt.Errorf("set environment variable %s: %w", k, err)
		}
	}
	g.running++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.running--
			if g.running == 0 {
				g.idle.Broadcast()
			}
		})
	}, nil
}

// matches reports whether the process environment already holds env.
func (g *envGate) matches(env map[string]string) bool {
	for k, v := range env {
		if cur, ok := g.lookup(k); !ok || cur != v {
			return false
		}
	}
	return true
}

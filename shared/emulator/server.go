package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Serve serves the emulator built from cfg on ln until ctx is done, then shuts down gracefully
// (waiting at most 5 s for calls in flight). It returns nil after a shutdown caused by ctx.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	e := New(cfg)
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	// Connections opened but not yet used (a client's spare dial) count as busy for the first
	// 5 s of a Shutdown; they are tracked so that the shutdown can close them at once.
	var mu sync.Mutex
	fresh := map[net.Conn]bool{}
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		if s == http.StateNew {
			fresh[c] = true
		} else {
			delete(fresh, c)
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve emulator on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	e.Close()
	srv.SetKeepAlivesEnabled(false)
	mu.Lock()
	for c := range fresh {
		c.Close()
	}
	mu.Unlock()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down emulator on %s: %w", ln.Addr(), err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve emulator on %s: %w", ln.Addr(), err)
	}
	return nil
}

// ListenAndServe listens on addr (e.g. "127.0.0.1:9000"; port 0 picks one) and serves the emulator
// until ctx is done. ready, if not nil, is called with the bound address once listening.
func ListenAndServe(ctx context.Context, addr string, cfg Config, ready func(addr string)) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	return Serve(ctx, ln, cfg)
}

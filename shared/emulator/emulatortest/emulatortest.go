// Package emulatortest serves the Tencent Cloud API emulator to tests: NewServer starts one on a
// loopback port and closes it when the test ends. It is the only part of the emulator that needs
// package testing, so that commands serving the emulator do not link it.
package emulatortest

import (
	"net/http/httptest"
	"testing"

	"github.com/tcusage/tcusage/shared/emulator"
)

// Server is an emulator listening on a loopback port.
type Server struct {
	*emulator.Emulator
	// URL is the base URL, "http://127.0.0.1:<port>".
	URL string
	// Addr is "127.0.0.1:<port>", the value for TCUSAGE_API_ENDPOINT or the SDK's
	// HttpProfile.Endpoint.
	Addr string

	ts *httptest.Server
}

// NewServer starts an emulator configured by cfg on 127.0.0.1; t.Cleanup closes it.
func NewServer(t testing.TB, cfg emulator.Config) *Server {
	t.Helper()
	e := emulator.New(cfg)
	ts := httptest.NewServer(e)
	s := &Server{Emulator: e, URL: ts.URL, Addr: ts.Listener.Addr().String(), ts: ts}
	t.Cleanup(s.Close)
	return s
}

// Close releases stalled calls and shuts the server down. It may be called more than once.
func (s *Server) Close() {
	s.Emulator.Close()
	s.ts.Close()
}

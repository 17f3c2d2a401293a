// Package endpoint parses the overrides that send API or COS traffic somewhere else than
// Tencent Cloud's own hosts (TCUSAGE_API_ENDPOINT, TCUSAGE_COS_ENDPOINT: emulators, test fronts,
// private gateways), and knows which hosts are loopback, where clear text needs no warning.
package endpoint

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Endpoint is a parsed override: where connections go, and the scheme written, if any.
type Endpoint struct {
	// Host is host or host:port, as written (an IPv6 address in brackets).
	Host string
	// Scheme is "http" or "https" when the value named one, else "".
	Scheme string
}

// Hostname returns Host without its port.
func (e Endpoint) Hostname() string {
	if h, _, err := net.SplitHostPort(e.Host); err == nil {
		return h
	}
	return strings.Trim(e.Host, "[]")
}

// HasPort reports whether Host carries a port.
func (e Endpoint) HasPort() bool {
	_, _, err := net.SplitHostPort(e.Host)
	return err == nil
}

// Loopback reports whether the endpoint is on this machine.
func (e Endpoint) Loopback() bool { return IsLoopback(e.Hostname()) }

// ErrUserinfo is wrapped by the error for a value carrying user information (user:password@),
// which the error never repeats.
var ErrUserinfo = errors.New("user information does not belong in an endpoint")

// Parse parses "host[:port]" or "http(s)://host[:port]" (a trailing "/" allowed). Anything else
// (user information, a path, a query, a fragment, a bad port, another scheme) is an error that
// says what is wrong without repeating the value.
func Parse(s string) (Endpoint, error) {
	if s == "" || strings.TrimSpace(s) != s {
		return Endpoint{}, errors.New("endpoint must be non-empty without surrounding spaces")
	}
	raw := s
	if !strings.Contains(s, "://") {
		raw = "//" + s
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		if strings.Contains(s, "@") {
			return Endpoint{}, ErrUserinfo
		}
		return Endpoint{}, errors.New("not host[:port] or http(s)://host[:port]")
	case u.User != nil:
		return Endpoint{}, ErrUserinfo
	case u.Host == "" || u.Hostname() == "":
		return Endpoint{}, errors.New("missing host")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || (u.Path != "" && u.Path != "/"):
		return Endpoint{}, errors.New("want only scheme, host and port")
	case u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https":
		return Endpoint{}, fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return Endpoint{}, fmt.Errorf("bad port %q", p)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return Endpoint{}, errors.New("empty port")
	}
	return Endpoint{Host: u.Host, Scheme: u.Scheme}, nil
}

// Shown returns v for an error message, unless it may carry credentials (user information, a
// query or a fragment): then a placeholder.
func Shown(v string) string {
	if strings.ContainsAny(v, "@?#") {
		return "(a value that may hold credentials, not shown)"
	}
	return strconv.Quote(v)
}

// IsLoopback reports whether host (without a port) is localhost or a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

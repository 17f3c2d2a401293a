// Package sink opens the snapshot store named by a TCUSAGE_SINK URL:
//
//	file://<dir>                                       a local directory (relative paths allowed:
//	                                                   file://snapshots, file://./snapshots)
//	cos://<name>-<appid>/<prefix>?region=<region>      a COS bucket, keys under <prefix>
//
// It lives apart from package snapshot so that the snapshot logic does not import the backends.
package sink

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/cos"
	"github.com/tcusage/tcusage/shared/snapshot/file"
)

// EnvName is the environment variable the sink URL comes from; errors name it.
const EnvName = "TCUSAGE_SINK"

// DefaultLocalURL is the sink for local runs when none is configured.
const DefaultLocalURL = "file://snapshots"

// Config holds what a backend needs besides the URL.
type Config struct {
	// Credentials sign COS requests.
	Credentials credential.Credentials
	// Endpoint is TCUSAGE_COS_ENDPOINT: host:port every COS connection goes to (tests, gateways).
	Endpoint string
	// Transport replaces the COS base transport (see cos.Config.Transport).
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// ErrConfig is wrapped by every error about the sink URL.
var ErrConfig = errors.New(EnvName + " is not valid")

// Open returns the store the sink URL names and the key prefix under which partitions go.
func Open(rawURL string, cfg Config) (snapshot.Store, string, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, "", fmt.Errorf("%w: %q: want file://<dir> or cos://<bucket>-<appid>/<prefix>?region=<region>", ErrConfig, rawURL)
	}
	switch scheme {
	case "file":
		if rest == "" || strings.ContainsAny(rest, "?#") {
			return nil, "", fmt.Errorf("%w: %q: want file://<dir>", ErrConfig, rawURL)
		}
		st, err := file.New(rest)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", EnvName, err)
		}
		return st, "", nil
	case "cos":
		return openCOS(rawURL, cfg)
	}
	return nil, "", fmt.Errorf("%w: unknown scheme %q (want file or cos)", ErrConfig, scheme)
}

func openCOS(rawURL string, cfg Config) (snapshot.Store, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("%w: cannot parse the cos:// URL", ErrConfig)
	}
	shown := u.Redacted()
	if u.User != nil {
		return nil, "", fmt.Errorf("%w: %s: credentials do not belong in the URL", ErrConfig, shown)
	}
	if u.Fragment != "" || u.Port() != "" {
		return nil, "", fmt.Errorf("%w: %s: want cos://<bucket>-<appid>/<prefix>?region=<region>", ErrConfig, shown)
	}
	if err := cos.ValidBucket(u.Hostname()); err != nil {
		return nil, "", fmt.Errorf("%w: %s: %v", ErrConfig, shown, err)
	}
	q := u.Query()
	for k := range q {
		if k != "region" {
			return nil, "", fmt.Errorf("%w: %s: unknown parameter %q", ErrConfig, shown, k)
		}
	}
	region := q.Get("region")
	if region == "" {
		return nil, "", fmt.Errorf("%w: %s: missing ?region=<region>", ErrConfig, shown)
	}
	if err := cos.ValidRegion(region); err != nil {
		return nil, "", fmt.Errorf("%w: %s: %v", ErrConfig, shown, err)
	}
	prefix, err := snapshot.CleanPrefix(u.Path)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s: %v", ErrConfig, shown, err)
	}
	st, err := cos.New(cos.Config{
		Bucket: u.Hostname(), Region: region, Credentials: cfg.Credentials,
		Endpoint: cfg.Endpoint, Transport: cfg.Transport, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", EnvName, err)
	}
	return st, prefix, nil
}

// Package sink opens the snapshot store named by a TCUSAGE_SINK URL:
//
//	file://<dir>                                       a local directory (relative paths allowed:
//	                                                   file://snapshots, file://./snapshots)
//	cos://<name>-<appid>/<prefix>?region=<region>      a COS bucket, keys under <prefix>
//
// Credentials never go in the URL (COS requests are signed with Config.Credentials): user info,
// fragments and any query parameter but cos's one region are refused, and errors never quote the
// URL, so that a secret pasted into TCUSAGE_SINK by mistake is not logged at start-up.
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
	// Source provides the keys of COS requests: the API client's own (see cos.Config.Source).
	// Nil: a source holding Credentials.
	Source *credential.Source
	// Credentials sign COS requests when Source is nil.
	Credentials credential.Credentials
	// Endpoint is TCUSAGE_COS_ENDPOINT: host:port every COS connection goes to (tests, gateways).
	Endpoint string
	// Transport replaces the COS base transport (see cos.Config.Transport).
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// ErrConfig is wrapped by every error about the sink URL.
var ErrConfig = errors.New(EnvName + " is not valid")

// The shapes errors point at; they never quote the URL itself.
const (
	wantFile = "want file://<dir>"
	wantCOS  = "want cos://<bucket>-<appid>/<prefix>?region=<region>"
	wantAny  = "want file://<dir> or cos://<bucket>-<appid>/<prefix>?region=<region>"
)

// Messages for the parts of a URL that can smuggle a credential. They name the part, never its
// content.
const (
	msgUserInfo = "the URL carries user info; credentials do not belong in " + EnvName
	msgFragment = "the URL carries a fragment (#...); credentials do not belong in " + EnvName
)

// configError wraps ErrConfig with a message that must not quote the URL: anything in a sink URL
// may be a credential pasted by mistake (user info, a query value, a fragment, a misplaced key).
func configError(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
}

// Open returns the store the sink URL names and the key prefix under which partitions go.
//
// User info, fragments and query parameters other than cos's single region=<region> are refused,
// in both schemes. Errors name the part of the URL at fault and never quote the URL or any part of
// it, so a credential pasted into TCUSAGE_SINK is not echoed to the logs.
func Open(rawURL string, cfg Config) (snapshot.Store, string, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		if s, _, found := strings.Cut(rawURL, ":"); found && (s == "file" || s == "cos") {
			return nil, "", configError("the URL must start with %s:// (two slashes); %s", s, wantAny)
		}
		return nil, "", configError("%s", wantAny)
	}
	switch scheme {
	case "file":
		return openFile(rest)
	case "cos":
		return openCOS(rawURL, rest, cfg)
	}
	return nil, "", configError("the scheme is neither file nor cos; %s", wantAny)
}

// checkHidden refuses user info and fragments, and queries unless allowQuery, looking at the raw
// text after "scheme://" so that nothing a URL parser would drop or reinterpret gets through.
func checkHidden(rest string, allowQuery bool, want string) error {
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	switch {
	case strings.Contains(authority, "@"):
		return configError("%s (%s)", msgUserInfo, want)
	case strings.Contains(rest, "#"):
		return configError("%s (%s)", msgFragment, want)
	case !allowQuery && strings.Contains(rest, "?"):
		return configError("the URL carries a query (?...), which file:// does not take; credentials do not belong in %s (%s)", EnvName, want)
	}
	return nil
}

func openFile(dir string) (snapshot.Store, string, error) {
	if err := checkHidden(dir, false, wantFile); err != nil {
		return nil, "", err
	}
	if dir == "" {
		return nil, "", configError("the directory is missing; %s", wantFile)
	}
	st, err := file.New(dir)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", EnvName, err)
	}
	return st, "", nil
}

func openCOS(rawURL, rest string, cfg Config) (snapshot.Store, string, error) {
	if err := checkHidden(rest, true, wantCOS); err != nil {
		return nil, "", err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's error quotes the URL: drop it.
		return nil, "", configError("the cos:// URL cannot be parsed; %s", wantCOS)
	}
	if u.User != nil {
		return nil, "", configError("%s (%s)", msgUserInfo, wantCOS)
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return nil, "", configError("%s (%s)", msgFragment, wantCOS)
	}
	if u.Port() != "" {
		return nil, "", configError("the URL carries a port, which COS buckets do not take; %s", wantCOS)
	}
	if err := cos.ValidBucket(u.Hostname()); err != nil {
		return nil, "", configError("the bucket is missing or not <name>-<appid> (lower-case letters, digits and hyphens, at most 60 characters; appid digits); %s", wantCOS)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, "", configError("the query is malformed; only region=<region> is accepted (%s)", wantCOS)
	}
	for k := range q {
		if k != "region" {
			return nil, "", configError("the URL carries a query parameter other than region; credentials do not belong in %s (%s)", EnvName, wantCOS)
		}
	}
	switch regions := q["region"]; {
	case len(regions) == 0 || regions[0] == "":
		return nil, "", configError("missing ?region=<region>; %s", wantCOS)
	case len(regions) > 1:
		return nil, "", configError("the region parameter is given more than once; %s", wantCOS)
	}
	region := q.Get("region")
	if err := cos.ValidRegion(region); err != nil {
		return nil, "", configError("the region parameter is not a COS region such as ap-guangzhou; %s", wantCOS)
	}
	prefix, err := snapshot.CleanPrefix(u.Path)
	if err != nil {
		return nil, "", configError("the path is not a valid key prefix (no empty, . or .. segments, no control characters, at most %d bytes); %s", snapshot.MaxKeyLen, wantCOS)
	}
	st, err := cos.New(cos.Config{
		Bucket: u.Hostname(), Region: region, Source: cfg.Source, Credentials: cfg.Credentials,
		Endpoint: cfg.Endpoint, Transport: cfg.Transport, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", EnvName, err)
	}
	return st, prefix, nil
}

// Package doctor checks a deployment's configuration against the real services, read-only and
// within the documented rate limits: the first thing to run after deploying (`tcusage doctor`).
//
// It checks that the credentials resolve and have not expired; that each configured API answers
// (and which TRTC action is live); that the CAM policy allows the functions' actions (inferred
// from AuthFailure.UnauthorizedOperation and COS's 403 answers); that the bucket is writable under
// each dataset's prefix and refuses to overwrite on a create-if-absent write, as the dataset
// lease needs (one probe object, removed after); and that bucket versioning is off. It then
// settles the readings of the documents tcusage relies on (tcapi's reading constants) from real
// answers, naming the constant to change when the service disagrees, and finds out whether room
// usage's one call per 15 s is counted per account or per SdkAppId (TCUSAGE_ROOM_USAGE_LIMIT).
//
// Every finding is a Check with a status (ok, warn, fail, skip), what was found and what to do.
// Nothing a check prints holds a secret.
package doctor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/tcloud"
)

// Status is the outcome of one check.
type Status string

// The statuses. Only Fail makes a report fail.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Check is one finding.
type Check struct {
	// Function is the function the check is about ("" for the whole setup).
	Function string `json:"function,omitempty"`
	// Name says what was checked, e.g. "credentials" or "DescribeTelCallInfo answers".
	Name   string `json:"check"`
	Status Status `json:"status"`
	// Detail says what was found; Fix what to do about a warning or a failure.
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is every check of a run, in order.
type Report struct {
	Checks []Check `json:"checks"`
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	for _, c := range r.Checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// Count returns how many checks have status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// Find returns the first check of function fn named name.
func (r *Report) Find(fn, name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Function == fn && c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

func (r *Report) add(c Check) { r.Checks = append(r.Checks, c) }

// Write prints the checks as a table, then what to do about each warning and failure.
func (r *Report) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tCHECK\tSTATUS\tDETAIL")
	for _, c := range r.Checks {
		fn := c.Function
		if fn == "" {
			fn = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", fn, c.Name, c.Status, oneLine(c.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	n := 0
	for _, c := range r.Checks {
		if c.Fix == "" || (c.Status != Warn && c.Status != Fail) {
			continue
		}
		if n == 0 {
			fmt.Fprintln(w, "\nWhat to do:")
		}
		n++
		where := c.Name
		if c.Function != "" {
			where = c.Function + " " + where
		}
		fmt.Fprintf(w, "  %d. [%s] %s: %s\n", n, c.Status, where, oneLine(c.Fix))
	}
	_, err := fmt.Fprintf(w, "\n%d ok, %d warn, %d fail, %d skipped\n", r.Count(OK), r.Count(Warn), r.Count(Fail), r.Count(Skip))
	return err
}

// oneLine keeps a detail on one table row.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Options configure a Run.
type Options struct {
	// Functions are the functions to check; Explicit says the user named them (an unconfigured
	// function is then a failure, not skipped).
	Functions []function.Spec
	Explicit  bool
	// Getenv reads the configuration (os.Getenv); Home is the home directory of credential
	// profile files ("" = os.UserHomeDir).
	Getenv func(string) string
	Home   string
	// Now is the business clock: which day is yesterday. Nil: time.Now.
	Now func() time.Time
	// Logger receives the API client's logs. Nil: discard.
	Logger *slog.Logger
	// Sleep waits between probes (nil: a timer); tests keep the default.
	Sleep func(context.Context, time.Duration) error
}

// Run checks the configuration the options describe and returns the report; it fails only
// through its checks.
func Run(ctx context.Context, opt Options) *Report {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Home == "" {
		opt.Home, _ = os.UserHomeDir()
	}
	if opt.Sleep == nil {
		opt.Sleep = tcloud.Sleep
	}
	r := &Report{}
	if !checkCredentials(r, opt) {
		return r
	}
	buckets := map[string]bool{}
	for _, spec := range opt.Functions {
		if ctx.Err() != nil {
			r.add(Check{Function: spec.Name, Name: "checks", Status: Fail, Detail: "interrupted: " + ctx.Err().Error()})
			break
		}
		checkFunction(ctx, r, opt, spec, buckets)
	}
	return r
}

// checkCredentials reports whether the credentials resolve and may be used.
func checkCredentials(r *Report, opt Options) bool {
	c, err := credential.Load(opt.Getenv, opt.Home)
	if err != nil {
		r.add(Check{Name: "credentials", Status: Fail, Detail: err.Error(),
			Fix: "set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_SESSION_TOKEN for temporary keys), or a profile file, as README's Configuration says"})
		return false
	}
	src, err := credential.NewSource(c, nil)
	if err == nil {
		_, err = src.Get()
	}
	if err != nil {
		r.add(Check{Name: "credentials", Status: Fail, Detail: err.Error(), Fix: "renew the temporary keys and set them (with their new expiry) again"})
		return false
	}
	kind := "permanent key"
	switch {
	case c.Token != "" && c.Expiry.IsZero():
		kind = "temporary key, expiry not known (an expired one is refused by the first call)"
	case c.Token != "":
		kind = fmt.Sprintf("temporary key, valid until %s (%s left)", c.Expiry.UTC().Format(time.RFC3339), time.Until(c.Expiry).Round(time.Minute))
	}
	r.add(Check{Name: "credentials", Status: OK, Detail: fmt.Sprintf("SecretId %s from %s: %s", c.MaskedSecretID(), c.Where(), kind)})
	return true
}

// yesterday is the last complete China day by the business clock.
func yesterday(opt Options) calendar.Day {
	return calendar.Of(opt.Now(), calendar.Zone).Add(-1)
}

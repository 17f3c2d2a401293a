// Package function is the shell of every tcusage function: it reads the configuration from the
// environment (Config, FromEnv), assembles credentials, the API client, the snapshot store, the
// export runner and the HTTP query handler, and serves each event: a timer runs the planned window
// through the runner, an HTTP request goes to the query handler. Each functions/<name>/main.go is
// then only this package's New plus the runtime's Start; the local command builds the very same
// functions.
package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/query"
	"github.com/tcusage/tcusage/shared/scf"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/sink"
	"github.com/tcusage/tcusage/shared/source"
	"github.com/tcusage/tcusage/shared/tables"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/tcloud"
	"github.com/tcusage/tcusage/shared/usage"
)

// Spec names one function and how to build its source.
type Spec struct {
	Name  string
	Needs Needs
	// RestateDays is how many days before yesterday a timer run re-fetches when
	// TCUSAGE_RESTATE_DAYS does not say: 2, but 1 for room usage, whose one call per 15 s makes
	// every restated day expensive and whose figures are not for reconciliation anyway.
	RestateDays int
	// Source builds the function's source from its configuration.
	Source func(Config) source.Source
}

// The four functions.
var (
	TelCall = Spec{Name: "telcall", Needs: NeedSDKApps, RestateDays: 2, Source: func(Config) source.Source { return source.TelCall{} }}
	TRTC    = Spec{Name: "trtcusage", Needs: NeedSDKApps, RestateDays: 2, Source: func(c Config) source.Source { return &source.TRTC{Mode: c.TRTCAction} }}
	Room    = Spec{Name: "roomusage", Needs: NeedSDKApps, RestateDays: 1, Source: func(Config) source.Source { return source.RoomUsage{} }}
	ESS     = Spec{Name: "essbill", Needs: NeedESSApp, RestateDays: 2, Source: func(c Config) source.Source {
		return &source.ESSBill{AppID: c.ESSAppID, ByOrg: len(c.ESSOrgOpenIDs) > 0, QuotaType: c.ESSQuotaType}
	}}
)

// All lists the four functions in a stable order.
func All() []Spec { return []Spec{TelCall, TRTC, Room, ESS} }

// ByName returns the function called name.
func ByName(name string) (Spec, bool) {
	i := slices.IndexFunc(All(), func(s Spec) bool { return s.Name == name })
	if i < 0 {
		return Spec{}, false
	}
	return All()[i], true
}

// Options are what the environment does not say: set by tests and the local command.
type Options struct {
	// Home is the home directory for credential profile files (default os.UserHomeDir).
	Home string
	// Logger receives the function's logs (default: discard).
	Logger *slog.Logger
	// Now is the business clock: it decides which day is yesterday (default time.Now). API calls
	// are signed and paced on the wall clock, as the cloud checks them.
	Now func() time.Time
	// API replaces the API client (tests); nil builds a tcloud.Client from the environment.
	API source.Caller
	// APITransport and COSTransport replace the HTTP transports (tests).
	APITransport, COSTransport http.RoundTripper
	// WrapStore, when set, wraps the store TCUSAGE_SINK opens (tests record who writes what).
	WrapStore func(snapshot.Store) snapshot.Store
	// TempDir holds encoded files until they are committed (default os.TempDir()).
	TempDir string
	// Workers is how many app-days are fetched at once (default: export.Runner's).
	Workers int
	// Retry replaces the API client's retry policy (tests use short delays); zero keeps the
	// defaults.
	Retry tcloud.RetryPolicy
	// Latency is a typical answer time, used to plan around the deadline (default 2 s), and
	// Margin the time kept to commit before the deadline (default: export.Runner's).
	Latency, Margin time.Duration
}

// Function is an assembled function.
type Function struct {
	Spec   Spec
	Config Config
	// Runner exports the planned days; Query answers HTTP requests.
	Runner *export.Runner
	Query  *query.Handler
	// Client is the API client built from the environment (nil when Options.API was given).
	Client *tcloud.Client

	// Credentials is the one source of keys of the API client and the store.
	Credentials *credential.Source

	getenv func(string) string
	home   string
	log    *slog.Logger
}

// Handle serves one event; it is what the runtime calls. Timer runs return an export.Summary, or
// an error when anything failed, or when the deadline came before anything could be committed (so
// that SCF reports and retries it); a run that committed some app-days and left the rest for the
// next invocation succeeds (its summary lists what is pending). HTTP events always get an HTTP response. It first reads the credentials again: SCF
// renews the run role's temporary keys while a warm instance lives on, and hands the current ones
// with each invocation.
func (f *Function) Handle(ctx context.Context, ev scfevent.Event) (any, error) {
	f.refreshCredentials(ctx)
	f.Runner.Sweep(ctx, sweepAge(ctx))
	switch {
	case ev.Timer != nil:
		return f.timer(ctx, ev.Timer)
	case ev.HTTP != nil:
		return f.Query.Serve(ctx, ev.HTTP), nil
	}
	return nil, errors.New("event is neither a timer nor an HTTP request")
}

// restateDays is the configured restatement window, else the function's own.
func (f *Function) restateDays() int {
	if f.Config.RestateDays != nil {
		return *f.Config.RestateDays
	}
	return f.Spec.RestateDays
}

// holder names an invocation in the dataset's lease: the function, what started it, and the
// invocation's request ID.
func (f *Function) holder(ctx context.Context, what string) string {
	h := f.Spec.Name + " " + what
	if ic, ok := scf.FromContext(ctx); ok && ic.RequestID != "" {
		h += " (request " + ic.RequestID + ")"
	}
	return h
}

// sweepAge is how old a temporary file must be before a run removes it as a killed run's
// leftover: at least the function's timeout (the time this invocation has, on SCF at most 15
// minutes for a synchronous call), and a day when there is no deadline (local commands).
func sweepAge(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl), 15*time.Minute)
	}
	return 24 * time.Hour
}

// timer runs the window a timer event plans: yesterday and the restatement days, or the Message's
// override.
func (f *Function) timer(ctx context.Context, t *scfevent.Timer) (any, error) {
	r := f.Runner
	w, err := plan.Timer(t.Message, f.restateDays(), r.Apps, r.CycleLimits())
	if err != nil {
		f.log.ErrorContext(ctx, "timer message refused", "trigger", t.TriggerName, "error", err)
		return nil, err
	}
	f.log.InfoContext(ctx, "timer run", "trigger", t.TriggerName, "dataset", r.Dataset(), "dates", w.Days, "apps", len(w.Apps))
	sum, err := r.Run(ctx, w, export.Options{Force: w.Force, Holder: f.holder(ctx, "timer "+t.TriggerName)})
	if sum != nil && sum.Busy != nil {
		// Another writer has the dataset (a longer run, a backfill, an HTTP save): it does the work.
		f.log.InfoContext(ctx, "dataset busy: another writer holds its lease; nothing to do", "holder", sum.Busy.Holder, "lease_expires_at", sum.Busy.ExpiresAt)
		return sum, nil
	}
	if err != nil && export.OnlyPending(err) && sum.Committed() {
		// Progress, and the rest left for the next firing of the work timer: how a day larger than
		// one invocation is done, not a failure (tcusage status says when a day is late).
		f.log.InfoContext(ctx, "timer run made progress; the rest is left for the next invocation", "pending", len(sum.Pending),
			"first_pending_date", sum.Pending[0].Date, "first_pending_app", sum.Pending[0].App)
		return sum, nil
	}
	if err != nil {
		f.log.ErrorContext(ctx, "timer run incomplete", "error", err, "pending", len(sum.Pending), "failed", len(sum.Failed))
		return nil, fmt.Errorf("%s: %w", r.Dataset(), err)
	}
	f.catchUpReports(ctx, sum)
	return sum, nil
}

// refreshCredentials re-resolves the credentials from the invocation's environment (falling
// back to the process's) into the source the API client and the store share, so that both sign
// with the renewed keys from the next request on. When they cannot be read again, both stop: every
// call and every store request fails naming what is wrong, rather than going on with the previous
// keys, which SCF may have stopped honouring.
func (f *Function) refreshCredentials(ctx context.Context) {
	if f.getenv == nil {
		return
	}
	env := f.getenv
	if ic, ok := scf.FromContext(ctx); ok && len(ic.Environment) > 0 {
		env = func(k string) string {
			if v, ok := ic.Environment[k]; ok {
				return v
			}
			return f.getenv(k)
		}
	}
	changed, err := f.Credentials.Refresh(func() (credential.Credentials, error) { return credential.Load(env, f.home) })
	switch {
	case err != nil:
		f.log.ErrorContext(ctx, "cannot read the credentials again; API calls and store requests will fail until they can", "error", err)
	case changed:
		f.log.InfoContext(ctx, "credentials renewed", "credentials", f.Credentials.Current())
	}
}

// New builds function spec from the environment (getenv is os.Getenv in production). Every
// configuration problem is reported at once, naming the variables.
func New(spec Spec, getenv func(string) string, opt Options) (*Function, error) {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	onSCF := getenv("TENCENTCLOUD_RUNENV") == "SCF"
	cfg, err := FromEnv(getenv, spec.Needs, onSCF)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Name, err)
	}
	home := opt.Home
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	creds, err := credential.Load(getenv, home)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Name, err)
	}
	// One source for the API client and the store: a rotation, a failed refresh or an expiry
	// reaches both at once.
	keys, err := credential.NewSource(creds, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Name, err)
	}
	apiCfg, err := tcloud.ConfigFromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Name, err)
	}
	src := spec.Source(cfg)
	if err := tcloud.CheckRegion(apiCfg.Region, source.ActionsOf(src)...); err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Name, err)
	}
	if opt.Latency <= 0 {
		opt.Latency = 2 * time.Second
	}
	apiCfg.Source = keys
	apiCfg.Logger = log
	apiCfg.Latency = opt.Latency
	if opt.APITransport != nil {
		apiCfg.Transport = opt.APITransport
	}
	if opt.Retry != (tcloud.RetryPolicy{}) {
		apiCfg.Retry = opt.Retry
	}
	fn := &Function{Spec: spec, Config: cfg, Credentials: keys, getenv: getenv, home: home, log: log}
	api := opt.API
	if api == nil {
		c, err := tcloud.New(apiCfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.Name, err)
		}
		fn.Client, api = c, c
	}
	store, prefix, err := sink.Open(cfg.Sink, sink.Config{
		Source:    keys,
		Endpoint:  strings.TrimSpace(getenv("TCUSAGE_COS_ENDPOINT")),
		Transport: opt.COSTransport,
		Logger:    log,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Name, err)
	}
	if opt.WrapStore != nil {
		store = opt.WrapStore(store)
	}
	fn.Runner = &export.Runner{
		Source: src, API: api, Store: store, Prefix: prefix, Apps: cfg.Apps(), Formats: cfg.Formats,
		Zone: cfg.TimeZone, DaySettles: cfg.DaySettles, Now: opt.Now, Logger: log, TempDir: opt.TempDir, Workers: opt.Workers,
		Lease:    snapshot.LeaseConfig{TTL: cfg.LeaseTTL},
		Interval: time.Duration(src.CallsPerApp()) * interval(apiCfg, src.Action(), len(cfg.Apps())), Latency: opt.Latency, Margin: opt.Margin,
	}
	fn.Runner.Publishers = []export.Publisher{
		export.LatestPointer{Store: store, Prefix: prefix, Dataset: fn.Runner.Dataset()},
		&tablesPublisher{store: store, prefix: prefix, sinkURL: cfg.Sink, schema: src.Schema(), formats: cfg.Formats},
	}
	if cfg.Reports {
		fn.Runner.Publishers = append(fn.Runner.Publishers, fn.reportPublisher(fn.Runner.Now)) // the daily reports, last
	}
	fn.Query = &query.Handler{Runner: fn.Runner, TokenSHA256: cfg.HTTPTokenSHA256, Logger: log, LateAfter: cfg.LateAfter,
		RestateDays: fn.restateDays(), Holder: fn.holder}
	return fn, nil
}

// interval is the account's API time one call of a takes at the configured pacing: the action's
// interval, or for an action paced per app (TCUSAGE_ROOM_USAGE_LIMIT=per-app) that interval
// shared by the apps fetched at once, since each app has its own.
func interval(cfg tcloud.Config, a tcapi.Action, apps int) time.Duration {
	every := cfg.Every(a)
	if cfg.PerApp[a.Name] {
		every /= time.Duration(min(max(apps, 1), export.MaxWorkers))
	}
	return every
}

// Store returns the function's snapshot store and key prefix.
func (f *Function) Store() (snapshot.Store, string) {
	return f.Runner.Store, f.Runner.Prefix
}

// tablesPublisher writes the dataset's table definitions beside the data (tables.Write: only
// those absent or changed), once per process: a warm instance does not read them again each run.
type tablesPublisher struct {
	store   snapshot.Store
	prefix  string
	sinkURL string
	schema  usage.Schema
	formats []usage.Format

	mu   sync.Mutex
	done bool
}

// Publish implements export.Publisher.
func (p *tablesPublisher) Publish(ctx context.Context, _ []export.Committed) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return nil
	}
	if _, err := tables.Write(ctx, p.store, p.prefix, p.sinkURL, p.schema, p.formats); err != nil {
		return fmt.Errorf("table definitions: %w", err)
	}
	p.done = true
	return nil
}

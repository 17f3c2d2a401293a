package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/query"
)

// queryOptions are the query's command line: the function, where it reads, and the query's
// parameters exactly as HTTP takes them.
type queryOptions struct {
	spec     function.Spec
	sink     string
	emulator bool
	timeout  time.Duration
	params   map[string][]string
}

// queryParams are the HTTP parameters the command takes as flags of the same names.
var queryParams = []struct{ name, usage string }{
	{"date", "one day, YYYY-MM-DD (default yesterday)"},
	{"from", "first day of a range, YYYY-MM-DD (with --to)"},
	{"to", "last day of a range, YYYY-MM-DD (with --from)"},
	{"app", "comma-separated apps (default: every configured app)"},
	{"format", "json or csv"},
	{"group", "sum rows per day, app, or room (room usage)"},
	{"top", "keep the N largest groups (with --group)"},
	{"by", "the measure --top ranks by, or total (default: total where the measures share a unit)"},
}

func queryFlags(args []string, c *cli) (queryOptions, error) {
	fs := newFlags("query", c.stderr)
	opt := queryOptions{params: map[string][]string{}}
	fs.StringVar(&opt.sink, "sink", "", "the store to read (default $TCUSAGE_SINK, else file://snapshots)")
	fs.BoolVar(&opt.emulator, "emulator", false, "fetch live days from the embedded API emulator (test credentials, demo apps)")
	fs.DurationVar(&opt.timeout, "timeout", 15*time.Minute, "the query's deadline, as SCF's function timeout")
	values := map[string]*string{}
	for _, p := range queryParams {
		values[p.name] = fs.String(p.name, "", p.usage)
	}
	fresh := fs.Bool("fresh", false, "fetch every day from the API, even days in the snapshots")
	save := fs.Bool("save", false, "fetch every day from the API and commit it, as a timer run would")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: tcusage query <function> [--sink URL] [--emulator] [--date D | --from D --to D] [--app A,B]\n"+
			"                      [--format json|csv] [--group day|app|room] [--top N] [--by MEASURE] [--fresh] [--save]\n\n"+
			"Runs the function's HTTP query locally and prints its answer: days with a complete snapshot come\n"+
			"from the store, checked against their manifests; other days from the API, holding the dataset's\n"+
			"lease. The configuration (apps, TCUSAGE_SINK, credentials) comes from the environment, as for\n"+
			"the functions. Exits 1 when the query is refused or fails (the answer's code and message on stderr).\n\n")
		fs.PrintDefaults()
	}
	spec, err := parseFunctionArgs(fs, args)
	if err != nil {
		return queryOptions{}, err
	}
	opt.spec = spec
	fs.Visit(func(f *flag.Flag) {
		if v, ok := values[f.Name]; ok {
			opt.params[f.Name] = []string{*v}
		}
	})
	if *fresh {
		opt.params["fresh"] = []string{"true"}
	}
	if *save {
		opt.params["save"] = []string{"true"}
	}
	return opt, nil
}

// queryCmd runs one query against the function's store and prints the answer as HTTP would send
// its body.
func queryCmd(ctx context.Context, c *cli, args []string) error {
	opt, err := queryFlags(args, c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, opt.timeout)
	defer cancel()
	env, err := environment(ctx, opt.emulator, c)
	if err != nil {
		return err
	}
	if opt.sink != "" {
		base := env
		env = func(k string) string {
			if k == function.EnvSink {
				return opt.sink
			}
			return base(k)
		}
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("function", opt.spec.Name)
	fn, err := function.New(opt.spec, env, function.Options{Logger: logger, Now: c.now})
	if err != nil {
		return err
	}
	q, err := fn.Query.Parse(opt.params)
	var ie *plan.InputError
	if errors.As(err, &ie) {
		return &usageError{"--" + ie.Error()}
	}
	if err != nil {
		return err
	}
	resp := fn.Query.Answer(ctx, q, "")
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal([]byte(resp.Body), &e) != nil || e.Error.Code == "" {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return fmt.Errorf("%s: %s", e.Error.Code, e.Error.Message)
	}
	fmt.Fprint(c.stdout, resp.Body)
	if !strings.HasSuffix(resp.Body, "\n") {
		fmt.Fprintln(c.stdout)
	}
	live := resp.Headers[query.HeaderLiveDays]
	if live == "" {
		live = "none"
	}
	fmt.Fprintf(c.stderr, "tcusage query: %s day(s) from snapshots, live: %s\n", resp.Headers[query.HeaderSnapshotDays], live)
	return nil
}

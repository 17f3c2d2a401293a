package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/report"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
	"github.com/tcusage/tcusage/shared/snapshot/sink"
)

func reportCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("report", c.stderr)
	yesterday := calendar.Of(c.now(), calendar.Zone).Add(-1)
	date := fs.String("date", yesterday.String(), "the day to report on, YYYY-MM-DD (China Standard Time)")
	sinkURL := fs.String("sink", "", "the store to read (default $TCUSAGE_SINK, else file://snapshots)")
	out := fs.String("out", "", "write the pages into this directory instead of the store (nothing is written to the store)")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: tcusage report [--date YYYY-MM-DD] [--sink URL] [--out DIR]\n\nRenders the daily usage report of a day, its month to date and the index of days from what the\nstore holds (manifests and the files they list), as the functions do after each commit, and\nprints where the pages are. Without --out the pages are written into the store, under\n<prefix>/reports/; with --out they go into DIR, and their links to data files point at the store.\n\n")
		fs.PrintDefaults()
	}
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return &usageError{fmt.Sprintf("report takes no arguments, got %q", pos[0])}
	}
	day, err := calendar.Parse(*date)
	if err != nil {
		return &usageError{"--date: " + err.Error()}
	}
	u := *sinkURL
	if u == "" {
		u = c.getenv(sink.EnvName)
	}
	if u == "" {
		u = sink.DefaultLocalURL
	}
	store, prefix, err := openStore(u, c.getenv)
	if err != nil {
		return err
	}
	if err := anyManifest(ctx, store, prefix, day); err != nil {
		return err
	}
	opt := report.Options{Holder: fmt.Sprintf("tcusage report (pid %d)", os.Getpid())}
	where := storeLocation(u, store)
	if *out != "" {
		ov, err := newOverlay(store, prefix, *out)
		if err != nil {
			return err
		}
		opt.Link = ov.link(where)
		store, where = ov, localLocation(ov.out.Dir())
	}
	p, err := opt.Publish(ctx, store, prefix, day, c.now())
	if err != nil {
		return err
	}
	return printPages(c.stdout, p, prefix, where)
}

// anyManifest returns an error unless some dataset has a manifest for day: a day without data
// gets no page (it would only say so).
func anyManifest(ctx context.Context, store snapshot.Store, prefix string, day calendar.Day) error {
	for _, ds := range report.Datasets() {
		_, err := snapshot.FindManifest(ctx, store, prefix, ds, day)
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return fmt.Errorf("no dataset has a manifest for %s in the store: nothing to report", day)
}

// openStore opens the store a sink URL names, with the caller's credentials for COS.
func openStore(u string, getenv func(string) string) (snapshot.Store, string, error) {
	var cfg sink.Config
	if strings.HasPrefix(u, "cos://") {
		home, _ := os.UserHomeDir()
		creds, err := credential.Load(getenv, home)
		if err != nil {
			return nil, "", err
		}
		cfg.Credentials = creds
		cfg.Endpoint = getenv("TCUSAGE_COS_ENDPOINT")
	}
	return sink.Open(u, cfg)
}

// location turns a store key into where people find it: a file path, or a URL.
type location func(key string) string

// storeLocation is where the keys of the store a sink URL opened are: files in its directory,
// or objects of its COS bucket.
func storeLocation(u string, store snapshot.Store) location {
	if fst, ok := store.(*file.Store); ok {
		return localLocation(fst.Dir())
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return func(key string) string { return key }
	}
	host := parsed.Host + ".cos." + parsed.Query().Get("region") + ".myqcloud.com"
	return func(key string) string { return "https://" + host + "/" + key }
}

func localLocation(dir string) location {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return func(key string) string { return filepath.Join(dir, filepath.FromSlash(key)) }
}

func printPages(w io.Writer, p *report.Published, prefix string, where location) error {
	if p.Day == nil {
		return fmt.Errorf("no page was rendered")
	}
	day, err := p.Day.Key()
	if err != nil {
		return err
	}
	month, err := report.MonthKey(prefix, p.Day.Date[:7])
	if err != nil {
		return err
	}
	index, err := report.IndexKey(prefix)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Report of %s (%s): %s\n", p.Day.Date, p.Day.Status, where(day))
	fmt.Fprintf(w, "Month to date: %s\n", where(month))
	fmt.Fprintf(w, "All reports: %s\n", where(index))
	if n := len(p.Rendered) - 1; n > 0 {
		fmt.Fprintf(w, "Also rendered: %d other day(s) whose pages show this one\n", n)
	}
	return nil
}

// overlay reads a store and keeps the reports it renders apart: every key under
// <prefix>/reports/ (pages, summaries, the reports' lease) is read from and written to a local
// directory, everything else is read from the store, which is never written.
type overlay struct {
	snapshot.Store
	out     *file.Store
	reports string
}

func newOverlay(store snapshot.Store, prefix, dir string) (*overlay, error) {
	reports, err := report.IndexKey(prefix)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	out, err := file.New(abs)
	if err != nil {
		return nil, err
	}
	return &overlay{Store: store, out: out, reports: path.Dir(reports) + "/"}, nil
}

func (o *overlay) local(key string) bool { return strings.HasPrefix(key, o.reports) }

func (o *overlay) Put(ctx context.Context, key string, body io.ReadSeeker, opt snapshot.PutOptions) error {
	if !o.local(key) {
		return fmt.Errorf("report --out: %s is outside the reports; the store is not written", key)
	}
	return o.out.Put(ctx, key, body, opt)
}

func (o *overlay) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if o.local(key) {
		return o.out.Get(ctx, key)
	}
	return o.Store.Get(ctx, key)
}

func (o *overlay) Head(ctx context.Context, key string) (snapshot.ObjectInfo, error) {
	if o.local(key) {
		return o.out.Head(ctx, key)
	}
	return o.Store.Head(ctx, key)
}

func (o *overlay) List(ctx context.Context, prefix string) ([]snapshot.ObjectInfo, error) {
	if o.local(prefix) {
		return o.out.List(ctx, prefix)
	}
	return o.Store.List(ctx, prefix)
}

func (o *overlay) Delete(ctx context.Context, key string) error {
	if !o.local(key) {
		return fmt.Errorf("report --out: %s is outside the reports; the store is not written", key)
	}
	return o.out.Delete(ctx, key)
}

// link makes the pages' links to data files and manifests point at the store: a path relative
// to the page when the store is a directory, its URL otherwise. Links between pages stay
// relative.
func (o *overlay) link(store location) func(from, key string) string {
	return func(from, key string) string {
		if o.local(key) {
			return relative(path.Dir(from), key)
		}
		target := store(key)
		if strings.HasPrefix(target, "https://") {
			return target
		}
		page := filepath.Join(o.out.Dir(), filepath.FromSlash(path.Dir(from)))
		rel, err := filepath.Rel(page, target)
		if err != nil {
			return (&url.URL{Scheme: "file", Path: filepath.ToSlash(target)}).String()
		}
		return filepath.ToSlash(rel)
	}
}

// relative returns key as seen from the directory dir (both slash-separated store keys).
func relative(dir, key string) string {
	rel, err := filepath.Rel(filepath.FromSlash(dir), filepath.FromSlash(key))
	if err != nil {
		return key
	}
	return filepath.ToSlash(rel)
}

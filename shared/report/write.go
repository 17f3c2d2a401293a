package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// Page is a report page: where it is stored and how it is drawn. *Day, *Month and *Index are
// pages.
type Page interface {
	Key() (string, error)
	Render(w io.Writer) error
}

// Key returns the key the day's report is stored under.
func (d *Day) Key() (string, error) {
	day, err := calendar.Parse(d.Date)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	return DayKey(d.Prefix, day)
}

// Write renders p and stores it under its key as text/html; charset=utf-8. Nothing is stored
// when rendering fails.
func Write(ctx context.Context, store snapshot.Store, p Page) (string, error) {
	key, err := p.Key()
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	var buf bytes.Buffer
	if err := p.Render(&buf); err != nil {
		return "", err
	}
	return key, put(ctx, store, key, buf.Bytes(), HTMLContentType)
}

// WriteSummary stores a day's figures as <prefix>/reports/dt=YYYY-MM-DD/summary.json.
func WriteSummary(ctx context.Context, store snapshot.Store, prefix string, s *Summary) (string, error) {
	day, err := calendar.Parse(s.Date)
	if err != nil {
		return "", fmt.Errorf("report: summary: %w", err)
	}
	key, err := SummaryKey(prefix, day)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", fmt.Errorf("report: encode summary %s: %w", s.Date, err)
	}
	return key, put(ctx, store, key, append(b, '\n'), JSONContentType)
}

func put(ctx context.Context, store snapshot.Store, key string, body []byte, contentType string) error {
	err := store.Put(ctx, key, bytes.NewReader(body), snapshot.PutOptions{Size: int64(len(body)), ContentType: contentType})
	if err != nil {
		return fmt.Errorf("report: write %s: %w", key, err)
	}
	return nil
}

// Published says what Publish wrote.
type Published struct {
	Day *Day
	// Keys lists every object written, in the order written.
	Keys []string
}

// Publish builds and writes the report of date with the default Options: see Options.Publish.
func Publish(ctx context.Context, store snapshot.Store, prefix string, date calendar.Day, now time.Time) (*Published, error) {
	return Options{}.Publish(ctx, store, prefix, date, now)
}

// Publish builds and writes the report of date, then refreshes the month-to-date page of its
// month and the index: call it after a day's partition is committed (again after each commit
// of that day, e.g. restatements, so that the page shows the latest figures). The summaries of
// earlier days that had to be computed from the data are stored too, so later reports reuse
// them. The index is written last, so it only ever links pages that exist.
func (o Options) Publish(ctx context.Context, store snapshot.Store, prefix string, date calendar.Day, now time.Time) (*Published, error) {
	d, err := o.BuildDay(ctx, store, prefix, date, now)
	if err != nil {
		return nil, err
	}
	out := &Published{Day: d}
	add := func(key string, err error) error {
		if err == nil {
			out.Keys = append(out.Keys, key)
		}
		return err
	}
	for _, s := range append(d.history, d.Summary) {
		if err := add(WriteSummary(ctx, store, prefix, s)); err != nil {
			return out, err
		}
	}
	if err := add(Write(ctx, store, d)); err != nil {
		return out, err
	}
	m, err := o.BuildMonth(ctx, store, prefix, date, now)
	if err != nil {
		return out, err
	}
	for _, s := range m.history {
		if err := add(WriteSummary(ctx, store, prefix, s)); err != nil {
			return out, err
		}
	}
	if err := add(Write(ctx, store, m)); err != nil {
		return out, err
	}
	idx, err := o.BuildIndex(ctx, store, prefix, now)
	if err != nil {
		return out, err
	}
	return out, add(Write(ctx, store, idx))
}

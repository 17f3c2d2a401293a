package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

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

package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/tcusage/tcusage/shared/snapshot"
)

// SummaryVersion is the schema_version of summary.json.
const SummaryVersion = 1

// The datasets a report covers, in page order.
const (
	TRTC    = "trtcusage"
	Rooms   = "roomusage"
	TelCall = "telcall"
	ESSBill = "essbill"
)

// Datasets lists the datasets a report covers, in page order.
func Datasets() []string { return []string{TRTC, Rooms, TelCall, ESSBill} }

// Metric keys of AppFigures.Values. Durations are in seconds, CCC figures in minutes and seats
// as the API gives them, ESS figures in package units.
const (
	MetricSeconds     = "seconds"      // trtcusage, roomusage: total duration
	MetricRooms       = "rooms"        // roomusage: rooms with a row
	MetricCallMinutes = "call_minutes" // telcall: outbound + inbound + VoIP minutes
	MetricSeats       = "seats_used"   // telcall
	MetricRecords     = "records"      // essbill: consumption records, refunds included
	MetricDeducted    = "deducted"     // essbill: units deducted (cost_type 1)
	MetricRefunded    = "refunded"     // essbill: units given back by refunds, as a positive number
	MetricNet         = "net"          // essbill: deducted - refunded
	// Per-type figures are keyed "type:<usage_type>" (trtcusage) and "col:<column>" (roomusage).
)

// headline is the metric each dataset's trend and day-over-day change are about.
var headline = map[string]string{TRTC: MetricSeconds, Rooms: MetricSeconds, TelCall: MetricCallMinutes, ESSBill: MetricNet}

// Summary holds one day's figures per dataset and app: what trend charts, month pages and the
// index need. It is stored as summary.json beside the day's report.
//
// Its members up to Datasets are its head, which a check that the day's page is current reads
// alone (readHead): they come first in the encoding, the figures of thousands of apps after.
type Summary struct {
	SchemaVersion int    `json:"schema_version"`
	Date          string `json:"date"`
	// Rendered is true when the day's page was built from these very figures. A summary stored
	// while another day was rendered (for its trend or month) is not: the day's own page may
	// still show what it showed before, and is rendered again at the day's next commit.
	Rendered bool `json:"rendered,omitempty"`
	// Manifests holds, per dataset in Datasets, the store's entity tag of the manifest its
	// figures were read from (snapshot.ManifestTag; none on a store without tags): while the
	// tags are unchanged, so are the manifests.
	Manifests map[string]string `json:"manifests,omitempty"`
	Datasets  []DatasetFigures  `json:"datasets"`
}

// Dataset returns the figures of one dataset, or nil when the day has no manifest for it.
func (s *Summary) Dataset(name string) *DatasetFigures {
	if s == nil {
		return nil
	}
	for i := range s.Datasets {
		if s.Datasets[i].Dataset == name {
			return &s.Datasets[i]
		}
	}
	return nil
}

// DatasetFigures are one dataset's figures for a day, from one manifest.
type DatasetFigures struct {
	Dataset     string    `json:"dataset"`
	Status      string    `json:"status"`
	AppsPending []string  `json:"apps_pending,omitempty"`
	GeneratedAt time.Time `json:"generated_at"`
	// Fingerprint identifies the data files the figures come from (keys, rows and SHA-256 of
	// every file the manifest lists).
	Fingerprint string       `json:"fingerprint"`
	Apps        []AppFigures `json:"apps"`
	// ESS holds essbill figures per app, sub-customer and package type.
	ESS []ESSGroup `json:"ess,omitempty"`
}

// App returns the figures of one app, or nil when the app has none that day.
func (d *DatasetFigures) App(app string) *AppFigures {
	if d == nil {
		return nil
	}
	for i := range d.Apps {
		if d.Apps[i].App == app {
			return &d.Apps[i]
		}
	}
	return nil
}

// AppFigures are one app's figures for a day, keyed by metric.
type AppFigures struct {
	App    string             `json:"app"`
	Values map[string]float64 `json:"values"`
}

// ESSGroup is ESS consumption of one sub-customer and package type.
type ESSGroup struct {
	App         string  `json:"app"`
	SubCustomer string  `json:"sub_customer"`
	QuotaType   string  `json:"quota_type"`
	QuotaName   string  `json:"quota_name"`
	Records     int64   `json:"records"`
	Deducted    float64 `json:"deducted"`
	Refunded    float64 `json:"refunded"`
	// RefundRecords counts the refund records among Records.
	RefundRecords int64 `json:"refund_records"`
}

// Net is the units consumed once refunds are taken off.
func (g ESSGroup) Net() float64 { return g.Deducted - g.Refunded }

// fingerprint identifies the data files a manifest lists.
func fingerprint(m *snapshot.Manifest) string {
	h := sha256.New()
	for _, e := range m.Files {
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s\n", e.Key, e.Format, e.Rows, e.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// rowFunc folds one row of an app's file into the app's figures.
type rowFunc func(vals map[string]float64, r record) error

// scanDataset streams the file of every app of m, folding rows into per-app figures with the
// function open returns for each file. Apps the manifest delivered without a file get empty
// figures; pending apps get none.
func scanDataset(ctx context.Context, store snapshot.Store, m *snapshot.Manifest, open func(e snapshot.FileEntry) rowFunc) (*DatasetFigures, error) {
	d := &DatasetFigures{
		Dataset: m.Dataset, Status: m.Status, AppsPending: slices.Clone(m.AppsPending),
		GeneratedAt: m.GeneratedAt, Fingerprint: fingerprint(m),
	}
	seen := map[string]bool{}
	for _, e := range dataFiles(m) {
		vals := map[string]float64{}
		fold := open(e)
		err := streamFile(ctx, store, m.Dataset, e, func(r record) error { return fold(vals, r) })
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", m.Dataset, m.Date, err)
		}
		d.Apps = append(d.Apps, AppFigures{App: e.App, Values: vals})
		seen[e.App] = true
	}
	for _, app := range m.Apps {
		if !seen[app] && !slices.Contains(m.AppsPending, app) {
			d.Apps = append(d.Apps, AppFigures{App: app, Values: map[string]float64{}})
		}
	}
	slices.SortFunc(d.Apps, func(a, b AppFigures) int { return compareApps(a.App, b.App) })
	return d, nil
}

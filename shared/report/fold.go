package report

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// pointsPerDay is the number of 5-minute points in a day.
const pointsPerDay = 288

// detail collects what only the report's own day shows. Its size does not grow with the number
// of rows: a fixed curve per app and a bounded heap of rooms.
type detail struct {
	curves   map[string]*[pointsPerDay]float64 // trtcusage: seconds per 5-minute point, per app
	daily    map[string]bool                   // trtcusage apps that have daily points only
	top      *topRooms                         // roomusage: the largest rooms
	roomCols []string                          // roomusage: usage columns, in first-seen order
}

func newDetail(topN int) *detail {
	return &detail{curves: map[string]*[pointsPerDay]float64{}, daily: map[string]bool{}, top: newTopRooms(topN)}
}

// reset forgets what was collected of one dataset, before its day is read again.
func (d *detail) reset(dataset string) {
	if d == nil {
		return
	}
	switch dataset {
	case TRTC:
		clear(d.curves)
		clear(d.daily)
	case Rooms:
		d.top, d.roomCols = newTopRooms(d.top.n), nil
	}
}

// rereads is how many times a dataset's day is read again after one of its files changed or
// vanished while it was read.
const rereads = 3

// figuresOf computes one dataset's figures from m (see computeFigures). Another function may be
// committing that dataset's day meanwhile: the commit protocol replaces the manifest with an
// interim one before it changes any file, so a file that no longer matches m (or is gone) means
// a newer manifest is in place; the day is read again from it, up to rereads times. It returns
// the manifest the figures come from, or nil figures and manifest when the day's manifest is gone.
func figuresOf(ctx context.Context, store snapshot.Store, prefix string, m *snapshot.Manifest, det *detail) (*DatasetFigures, *snapshot.Manifest, error) {
	for attempt := 0; ; attempt++ {
		f, err := computeFigures(ctx, store, m, det)
		if err == nil || attempt == rereads || !(errors.Is(err, ErrDataMismatch) || errors.Is(err, fs.ErrNotExist)) {
			return f, m, err
		}
		now, rerr := snapshot.FindManifest(ctx, store, prefix, m.Dataset, m.Date)
		switch {
		case errors.Is(rerr, fs.ErrNotExist):
			det.reset(m.Dataset)
			return nil, nil, nil
		case rerr != nil:
			return nil, m, err
		case now.GeneratedAt.Equal(m.GeneratedAt) && fingerprint(now) == fingerprint(m):
			return nil, m, err // the same manifest: the file itself is wrong
		}
		det.reset(m.Dataset)
		m = now
	}
}

// telcallColumns are the telcall figures summed per app.
var telcallColumns = []string{"outbound_minutes", "inbound_minutes", "voip_minutes", "asr_offline_minutes", "asr_realtime_minutes", MetricSeats}

// roomFixed are the room-usage columns that are not usage figures.
var roomFixed = []string{"date", "sdk_app_id", "room_id"}

// roomKnown are the documented room-usage columns of v1, for manifests that do not list
// columns (those predate v2); they are also the usage classes figures are kept under.
var roomKnown = []string{"audio", "sd", "hd", "fullhd", "2k", "4k"}

// roomClass is the usage class of a room-usage column, the same in every dataset version, so
// that days of v1 and v2 add up: v2's video_2k_seconds and v1's 2k are both "2k", v2's
// spatial_audio_seconds and v1's spatial_audio both "spatial_audio".
func roomClass(col string) string {
	c, ok := strings.CutSuffix(col, "_seconds")
	if !ok {
		return col // v1
	}
	if k, ok := strings.CutPrefix(c, "video_"); ok && slices.Contains(roomKnown, k) {
		return k
	}
	return c
}

// computeFigures streams one dataset's day into figures; det, when not nil, also collects the
// day's detail.
func computeFigures(ctx context.Context, store snapshot.Store, m *snapshot.Manifest, det *detail) (*DatasetFigures, error) {
	switch m.Dataset {
	case TelCall:
		return scanDataset(ctx, store, m, func(snapshot.FileEntry) rowFunc { return foldTelCall })
	case TRTC:
		return scanDataset(ctx, store, m, func(e snapshot.FileEntry) rowFunc { return foldTrtc(e.App, det) })
	case Rooms:
		return scanDataset(ctx, store, m, func(e snapshot.FileEntry) rowFunc { return foldRooms(e, det) })
	case ESSBill:
		groups := map[[3]string]*ESSGroup{}
		d, err := scanDataset(ctx, store, m, func(e snapshot.FileEntry) rowFunc { return foldESS(e.App, groups) })
		if err != nil {
			return nil, err
		}
		d.ESS = sortedGroups(groups)
		return d, nil
	}
	return nil, fmt.Errorf("report: unknown dataset %q", m.Dataset)
}

func foldTelCall(vals map[string]float64, r record) error {
	for _, c := range telcallColumns {
		v, _, err := r.number(c)
		if err != nil {
			return err
		}
		vals[c] += v
		if c == "outbound_minutes" || c == "inbound_minutes" || c == "voip_minutes" {
			vals[MetricCallMinutes] += v
		}
	}
	return nil
}

func foldTrtc(app string, det *detail) rowFunc {
	var curve *[pointsPerDay]float64
	if det != nil {
		curve = new([pointsPerDay]float64)
		det.curves[app] = curve
	}
	return func(vals map[string]float64, r record) error {
		s, _, err := r.number("seconds")
		if err != nil {
			return err
		}
		vals[MetricSeconds] += s
		vals["type:"+r.text("usage_type")] += s
		if curve == nil {
			return nil
		}
		if r.text("granularity") != "5m" {
			det.daily[app] = true
			return nil
		}
		t, err := time.Parse(time.RFC3339, r.text("time"))
		if err != nil {
			return fmt.Errorf("column time: %w", err)
		}
		t = t.In(calendar.Zone)
		if i := (t.Hour()*60 + t.Minute()) / 5; i >= 0 && i < pointsPerDay {
			curve[i] += s
		}
		return nil
	}
}

func foldRooms(e snapshot.FileEntry, det *detail) rowFunc {
	cols := roomKnown
	if len(e.Columns) > 0 {
		cols = slices.DeleteFunc(slices.Clone(e.Columns), func(c string) bool { return slices.Contains(roomFixed, c) })
	}
	keys := make([]string, len(cols))
	classes := make([]string, len(cols))
	for i, c := range cols {
		classes[i] = roomClass(c)
		keys[i] = "col:" + classes[i]
		if det != nil && !slices.Contains(det.roomCols, classes[i]) {
			det.roomCols = append(det.roomCols, classes[i])
		}
	}
	parts := make([]float64, len(cols))
	return func(vals map[string]float64, r record) error {
		total := 0.0
		for i, c := range cols {
			v, _, err := r.number(c)
			if err != nil {
				return err
			}
			parts[i] = v
			total += v
			vals[keys[i]] += v
		}
		vals[MetricRooms]++
		vals[MetricSeconds] += total
		if det != nil {
			det.top.offer(e.App, r.text("room_id"), total, classes, parts)
		}
		return nil
	}
}

func foldESS(app string, groups map[[3]string]*ESSGroup) rowFunc {
	return func(vals map[string]float64, r record) error {
		n, _, err := r.number("use_count")
		if err != nil {
			return err
		}
		ct, _, err := r.number("cost_type")
		if err != nil {
			return err
		}
		k := [3]string{app, r.text("proxy_organization_open_id"), r.text("quota_type")}
		g := groups[k]
		if g == nil {
			g = &ESSGroup{App: k[0], SubCustomer: k[1], QuotaType: k[2], QuotaName: r.text("quota_name")}
			groups[k] = g
		}
		g.Records++
		vals[MetricRecords]++
		if ct == 2 || n < 0 {
			g.Refunded += math.Abs(n)
			g.RefundRecords++
			vals[MetricRefunded] += math.Abs(n)
		} else {
			g.Deducted += n
			vals[MetricDeducted] += n
		}
		vals[MetricNet] = vals[MetricDeducted] - vals[MetricRefunded]
		return nil
	}
}

func sortedGroups(groups map[[3]string]*ESSGroup) []ESSGroup {
	out := make([]ESSGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b ESSGroup) int {
		if c := compareApps(a.App, b.App); c != 0 {
			return c
		}
		if c := strings.Compare(a.SubCustomer, b.SubCustomer); c != 0 {
			return c
		}
		return strings.Compare(a.QuotaType, b.QuotaType)
	})
	return out
}

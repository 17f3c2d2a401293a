package report

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"slices"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// DetailKey returns the key of what a day's page shows beyond its summary (the TRTC curves, the
// top rooms), as of its last render: <prefix>/reports/dt=YYYY-MM-DD/detail.json.
func DetailKey(prefix string, date calendar.Day) (string, error) {
	return dayObject(prefix, date, "detail.json")
}

// storedDetail is detail.json: per dataset, what only the day's own page shows, with the
// fingerprint of the files it came from. With the day's summary it lets a page be rendered again
// (for a neighbour's link, a changed day before it, another dataset's commit) without reading
// the datasets whose files did not change: a day's curves and top rooms are bounded in size,
// unlike its files.
type storedDetail struct {
	SchemaVersion int                       `json:"schema_version"`
	Date          string                    `json:"date"`
	Datasets      map[string]*datasetDetail `json:"datasets"`
}

// datasetDetail is one dataset's part of storedDetail.
type datasetDetail struct {
	Fingerprint string `json:"fingerprint"`
	// Curves are trtcusage's seconds per 5-minute point, per app; DailyOnly the apps with daily
	// points only.
	Curves    map[string][]float64 `json:"curves,omitempty"`
	DailyOnly []string             `json:"daily_only,omitempty"`
	// TopRooms are roomusage's largest rooms, largest first, out of TopN kept and RoomsSeen read;
	// RoomColumns the usage classes in first-seen order.
	TopRooms    []TopRoom `json:"top_rooms,omitempty"`
	TopN        int       `json:"top_n,omitempty"`
	RoomsSeen   int64     `json:"rooms_seen,omitempty"`
	RoomColumns []string  `json:"room_columns,omitempty"`
}

// detailVersion is the schema_version of detail.json.
const detailVersion = 1

// export returns what det holds of dataset, stamped with fingerprint.
func (d *detail) export(dataset, fingerprint string) *datasetDetail {
	dd := &datasetDetail{Fingerprint: fingerprint}
	switch dataset {
	case TRTC:
		dd.Curves = map[string][]float64{}
		for app, c := range d.curves {
			dd.Curves[app] = slices.Clone(c[:])
		}
		for app := range d.daily {
			dd.DailyOnly = append(dd.DailyOnly, app)
		}
		slices.SortFunc(dd.DailyOnly, compareApps)
	case Rooms:
		dd.TopRooms, dd.TopN, dd.RoomsSeen = d.top.rooms(), d.top.n, d.top.seen
		dd.RoomColumns = slices.Clone(d.roomCols)
	}
	return dd
}

// restore puts dd back into det for dataset, and reports whether dd could be used: it must be
// whole (288 points per curve) and, for rooms, kept as many top rooms as det keeps.
func (d *detail) restore(dataset string, dd *datasetDetail) bool {
	switch dataset {
	case TRTC:
		for _, c := range dd.Curves {
			if len(c) != pointsPerDay {
				return false
			}
		}
		d.reset(TRTC)
		for app, c := range dd.Curves {
			var curve [pointsPerDay]float64
			copy(curve[:], c)
			d.curves[app] = &curve
		}
		for _, app := range dd.DailyOnly {
			d.daily[app] = true
		}
	case Rooms:
		if dd.TopN != d.top.n || len(dd.TopRooms) > dd.TopN {
			return false
		}
		d.reset(Rooms)
		d.top.h = append(d.top.h[:0], dd.TopRooms...)
		heap.Init(&d.top.h)
		d.top.seen, d.roomCols = dd.RoomsSeen, slices.Clone(dd.RoomColumns)
	}
	return true
}

// storedDetailOf reads a day's detail.json; a missing or unreadable one is nil (it is a cache).
func (l *loader) storedDetailOf(ctx context.Context, date calendar.Day) *storedDetail {
	key, err := DetailKey(l.prefix, date)
	if err != nil {
		return nil
	}
	b, err := snapshot.ReadObject(ctx, l.store, key)
	if err != nil {
		return nil
	}
	var s storedDetail
	if json.NewDecoder(bytes.NewReader(b)).Decode(&s) != nil || s.SchemaVersion != detailVersion || s.Date != date.String() {
		return nil
	}
	return &s
}

// cached returns the stored figures and detail of one dataset of the day when both come from the
// files m lists, with m's status; nil otherwise.
func cached(sum *Summary, det *storedDetail, m *snapshot.Manifest) (*DatasetFigures, *datasetDetail) {
	f := sum.Dataset(m.Dataset)
	if f == nil || det == nil {
		return nil, nil
	}
	fp := fingerprint(m)
	dd := det.Datasets[m.Dataset]
	if f.Fingerprint != fp || dd == nil || dd.Fingerprint != fp {
		return nil, nil
	}
	out := *f
	out.Status, out.AppsPending, out.GeneratedAt = m.Status, slices.Clone(m.AppsPending), m.GeneratedAt
	return &out, dd
}

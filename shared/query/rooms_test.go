package query

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/big"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/calendar/calendartest"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/snapshot/file"
	"github.com/tcusage/tcusage/shared/source"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// roomSource makes room-usage rows from a hash of (day, app, room): rooms come and go from day
// to day, figures have up to three decimals, and every third day carries a further column, as
// the API may add one.
type roomSource struct{ rooms int }

func (roomSource) Schema() usage.Schema               { return usage.RoomUsageSchema }
func (roomSource) Action() tcapi.Action               { return tcapi.DescribeTrtcRoomUsage }
func (roomSource) Earliest(calendar.Day) calendar.Day { return calendar.Day{} }
func (roomSource) CallsPerApp() int                   { return 1 }

func (s roomSource) columns(day calendar.Day) []string {
	cols := usage.RoomUsageSchema.Names()
	if day.Sub(calendar.Date(2000, 1, 1))%3 == 0 {
		cols = append(cols, "spatial_audio_seconds")
	}
	return cols
}

// rows returns the app-day's rooms in room ID order: room ID, then a figure per usage column.
func (s roomSource) rows(day calendar.Day, app string) [][]string {
	var out [][]string
	cols := s.columns(day)
	for i := range s.rooms {
		room := fmt.Sprintf("room-%03d", i)
		h := fnv.New64a()
		fmt.Fprint(h, day, app, room)
		v := h.Sum64()
		if v%5 == 0 {
			continue // not used that day
		}
		rec := []string{room}
		for c := 3; c < len(cols); c++ {
			f := (v >> (c * 5)) % 100000
			rec = append(rec, strconv.FormatUint(f/1000, 10)+"."+fmt.Sprintf("%03d", f%1000))
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b []string) int { return bytes.Compare([]byte(a[0]), []byte(b[0])) })
	return out
}

func (s roomSource) Fetch(_ context.Context, _ source.Caller, q source.Query) (source.Result, error) {
	cols := s.columns(q.Day)
	w, err := q.Open(cols)
	if err != nil {
		return source.Result{}, err
	}
	rows := s.rows(q.Day, q.App)
	for _, rec := range rows {
		row := usage.Row{usage.Str(q.Day.String()), usage.Value{Text: q.App, Number: true}, usage.Str(rec[0])}
		for _, f := range rec[1:] {
			row = append(row, usage.Value{Text: f, Number: true})
		}
		if err := w.WriteRow(row); err != nil {
			return source.Result{}, err
		}
	}
	return source.Result{Rows: int64(len(rows)), Columns: cols, RequestIDs: []string{"req"}, Action: tcapi.DescribeTrtcRoomUsage}, w.Close()
}

// Rooms summed over days by merging each app's sorted days, directly or in runs spooled to
// temporary files, are the sums computed here from the rows themselves; top=N keeps the largest.
func TestRoomSumsMergedInRunsEqualTheRows(t *testing.T) {
	now := calendartest.Now()
	apps := []string{"1400000001", "1400000002"}
	st, err := file.New(t.TempDir())
	require.NoError(t, err)
	src := roomSource{rooms: 60}
	r := &export.Runner{Source: src, Store: st, Apps: apps, Formats: []usage.Format{usage.CSV, usage.JSONL}, Zone: calendar.Zone,
		TempDir: t.TempDir(), Now: func() time.Time { return now }, Latency: time.Millisecond, Margin: time.Second}
	latest := r.Limits().Latest
	days := calendar.Days(latest.Add(-9), latest)
	_, err = r.Run(context.Background(), plan.Window{Days: days, Apps: apps}, export.Options{})
	require.NoError(t, err)

	want := map[string]map[string]*big.Rat{} // app/room → column → sum, and "rows"
	for _, d := range days {
		cols := src.columns(d)
		for _, app := range apps {
			for _, rec := range src.rows(d, app) {
				k := app + "/" + rec[0]
				if want[k] == nil {
					want[k] = map[string]*big.Rat{"rows": new(big.Rat), "total": new(big.Rat)}
				}
				want[k]["rows"].Add(want[k]["rows"], big.NewRat(1, 1))
				for i, f := range rec[1:] {
					v, _ := new(big.Rat).SetString(f)
					c := cols[3+i]
					if want[k][c] == nil {
						want[k][c] = new(big.Rat)
					}
					want[k][c].Add(want[k][c], v)
					want[k]["total"].Add(want[k]["total"], v)
				}
			}
		}
	}
	ask := func(fanIn int, params map[string][]string) rowsAnswer {
		h := &Handler{Runner: r, mergeFanIn: fanIn}
		q, err := h.Parse(params)
		require.NoError(t, err)
		resp := h.Answer(context.Background(), q, "")
		require.Equal(t, 200, resp.StatusCode, resp.Body)
		var a rowsAnswer
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &a))
		return a
	}
	rng := map[string][]string{"from": {days[0].String()}, "to": {latest.String()}, "group": {"room"}}
	direct, runs := ask(0, rng), ask(2, rng)
	assert.Equal(t, direct.Rows, runs.Rows, "runs of two days merge to the same sums")
	assert.Contains(t, direct.Measures, "spatial_audio_seconds")
	require.Len(t, direct.Rows, len(want))
	for _, raw := range direct.Rows {
		m := decodeRow(t, raw)
		k := m["app"].(string) + "/" + m["room_id"].(string)
		require.Contains(t, want, k)
		for c, w := range want[k] {
			if c == "total" {
				continue
			}
			got := ratOf(t, m[c])
			assert.Equal(t, 0, w.Cmp(got), "%s %s: got %s, want %s", k, c, m[c], w.RatString())
		}
	}

	// top=N by the total and by one column, largest first, through runs too.
	for _, by := range []string{"total", "video_2k_seconds", "spatial_audio_seconds"} {
		keys := make([]string, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		value := func(k string) *big.Rat {
			if v := want[k][by]; v != nil {
				return v
			}
			return new(big.Rat)
		}
		slices.SortFunc(keys, func(a, b string) int { return value(b).Cmp(value(a)) })
		params := map[string][]string{"from": rng["from"], "to": rng["to"], "group": {"room"}, "top": {"7"}, "by": {by}}
		for _, fanIn := range []int{0, 3} {
			a := ask(fanIn, params)
			require.Len(t, a.Rows, 7)
			for i, raw := range a.Rows {
				got := ratOf(t, decodeRow(t, raw)[by])
				assert.Equal(t, 0, value(keys[i]).Cmp(got), "by %s #%d (fan-in %d)", by, i, fanIn)
			}
		}
	}
}

func decodeRow(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

// An answer too large for SCF is refused with a hint that fits it: sums for rows, top=N for
// every room. The refusal of rows as stored comes from the manifests' sizes, before any read.
func TestOversizeAnswersSuggestSumsOrTop(t *testing.T) {
	now := calendartest.Now()
	apps := []string{"1400000001", "1400000002"}
	st, err := file.New(t.TempDir())
	require.NoError(t, err)
	r := &export.Runner{Source: roomSource{rooms: 25000}, Store: st, Apps: apps, Formats: []usage.Format{usage.CSV, usage.JSONL},
		Zone: calendar.Zone, TempDir: t.TempDir(), Now: func() time.Time { return now }, Latency: time.Millisecond, Margin: time.Second}
	latest := r.Limits().Latest
	days := calendar.Days(latest.Add(-2), latest)
	_, err = r.Run(context.Background(), plan.Window{Days: days, Apps: apps}, export.Options{})
	require.NoError(t, err)
	h := &Handler{Runner: r}
	rng := map[string][]string{"from": {days[0].String()}, "to": {latest.String()}}
	for _, c := range []struct {
		params map[string][]string
		status int
		hint   string
	}{
		{map[string][]string{}, 413, "group=day or group=app"},
		{map[string][]string{"format": {"csv"}}, 413, "group=day or group=app"},
		{map[string][]string{"group": {"room"}}, 413, "top=N"},
		{map[string][]string{"group": {"room"}, "top": {"100"}}, 200, ""},
		{map[string][]string{"group": {"app"}}, 200, ""},
		{map[string][]string{"group": {"day"}, "format": {"csv"}}, 200, ""},
	} {
		params := map[string][]string{"from": rng["from"], "to": rng["to"]}
		for k, v := range c.params {
			params[k] = v
		}
		q, err := h.Parse(params)
		require.NoError(t, err)
		resp := h.Answer(context.Background(), q, "")
		require.Equal(t, c.status, resp.StatusCode, "%v: %.300s", c.params, resp.Body)
		if c.hint != "" {
			assert.Contains(t, resp.Body, "AnswerTooLarge")
			assert.Contains(t, resp.Body, c.hint)
		}
		assert.LessOrEqual(t, escapedLen(resp.Body), MaxResponseBytes)
	}
}

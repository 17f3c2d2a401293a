package usage

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// TRTCUsageSchema is the trtcusage dataset: TRTC billable interaction durations per app, one row
// per time point and usage type. One day is queried per call, so points are 5-minute buckets.
// Both DescribeTrtcInteractiveTime (seconds) and its replacement DescribeTrtcUsage (minutes) feed
// it; durations are normalized to seconds and the manifest records which action produced them.
var TRTCUsageSchema = Schema{
	Dataset:     "trtcusage",
	Version:     "v1",
	Description: "TRTC billable audio/video interaction time per SdkAppId, per 5-minute point and usage type (TRTC DescribeTrtcInteractiveTime, or DescribeTrtcUsage where the former is offline).",
	Columns: []Column{
		{Name: "date", Type: TypeDate, Description: "The day queried: a China Standard Time (UTC+8) day, as the API counts days."},
		{Name: "sdk_app_id", Type: TypeInt64, Description: "The TRTC application (SdkAppId)."},
		{Name: "time", Type: TypeTimestamp, Description: "The API's time key (TimeKey) as RFC 3339 in the API's zone (UTC+08:00)."},
		{Name: "granularity", Type: TypeString, Description: "`5m` for 5-minute points, `1d` for daily points."},
		{Name: "usage_type", Type: TypeString, Description: "audio, audio_video (old billing mode), sd, hd, fullhd, 2k, 4k; further types the API adds are kept in lower case."},
		{Name: "seconds", Type: TypeDecimal, Unit: "second", Description: "Billable duration. Minutes from DescribeTrtcUsage are multiplied by 60 and rounded to 1 ms.", Measure: true},
	},
	Checks: []CheckSpec{nonNegativeSpec, {Name: CheckSeriesCoverage,
		Description: "per app, how many of the day's 288 5-minute points arrived and the gaps between them (the API answers no point for a bucket without usage, so gaps and idle days are facts, reported as ok); warn when a point is off the 5-minute grid."},
		{Name: CheckPointsOutsideDay, Description: "warn when points fall outside the day queried (they are kept in the day's files with their own time)."}},
}

// usageTypeOrder is the order usage types are written in; unknown types follow, sorted.
var usageTypeOrder = []string{"audio", "audio_video", "sd", "hd", "fullhd", "2k", "4k"}

type trtcPoint struct {
	t       time.Time
	key     string
	daily   bool
	types   []string
	seconds []string
}

// ErrTotalNum is wrapped by the error for a DescribeTrtcInteractiveTime answer whose TotalNum
// disagrees with the points it holds: points were lost (or added) on the way.
var ErrTotalNum = errors.New("TotalNum disagrees with the points received")

// TRTCRows are the rows of one app-day of trtcusage, and what the conversion noticed.
type TRTCRows struct {
	Rows []Row
	// OutsideDay counts the points whose time key falls outside the day queried (the seed
	// document's one-day example answers a point of the day before), 5-minute keys read as
	// tcapi.TimeKeysLabelStart says. They are kept, filed under
	// the day queried with their own time, so that no usage is lost; the count lets the manifest
	// say so.
	OutsideDay int
	// Day is the day queried; Points are the distinct in-day times of 5-minute points, and
	// Daily counts daily points (DescribeTrtcUsage over whole days): what Checks reports.
	Day    calendar.Day
	Points []time.Time
	Daily  int
}

// bucket is the length of a point of the 5-minute series.
const bucket = 5 * time.Minute

// Checks returns the quality checks of an app-day of trtcusage: CheckSeriesCoverage (how many of
// the day's 5-minute points arrived, and where the gaps are: the API answers no point for a
// bucket without usage, so gaps are facts, flagged only when a point is off the 5-minute grid)
// and CheckPointsOutsideDay (a warning when points fall outside the day queried; they are kept).
func (r TRTCRows) Checks(app string) []Check {
	out := []Check{r.coverage(app)}
	outside := Check{Name: CheckPointsOutsideDay, App: app, Status: CheckOK}
	if r.OutsideDay > 0 {
		outside.Status = CheckWarn
		outside.Detail = fmt.Sprintf("%d point(s) outside the day queried, kept in its files with their own time", r.OutsideDay)
	}
	return append(out, outside)
}

func (r TRTCRows) coverage(app string) Check {
	c := Check{Name: CheckSeriesCoverage, App: app, Status: CheckOK}
	if r.Day.IsZero() {
		c.Detail = "day unknown"
		return c
	}
	slots := int(r.Day.End().Sub(r.Day.Start()) / bucket)
	have := make([]bool, slots)
	var off []string
	for _, t := range r.Points {
		d := t.Sub(r.Day.Start())
		if d%bucket != 0 {
			off = append(off, t.In(calendar.Zone).Format("15:04:05"))
			continue
		}
		i := int(d / bucket)
		if !tcapi.TimeKeysLabelStart {
			i-- // a key names the end of its interval
		}
		have[i] = true
	}
	n := 0
	var gaps []string
	for i := 0; i < slots; i++ {
		if have[i] {
			n++
			continue
		}
		j := i
		for j+1 < slots && !have[j+1] {
			j++
		}
		gaps = append(gaps, clockOf(i)+"–"+clockOf(j+1))
		i = j
	}
	switch {
	case len(r.Points) == 0 && r.Daily > 0:
		c.Detail = fmt.Sprintf("%d daily point(s), no 5-minute series", r.Daily)
	case len(r.Points) == 0:
		c.Detail = "no points: an idle app-day"
	case len(gaps) == 0:
		c.Detail = fmt.Sprintf("%d of %d 5-minute points", n, slots)
	default:
		c.Detail = fmt.Sprintf("%d of %d 5-minute points; gaps %s", n, slots, listedEnds(gaps, 8, 4))
	}
	if len(off) > 0 {
		c.Status = CheckWarn
		c.Detail += fmt.Sprintf("; %d point(s) off the 5-minute grid: %s", len(off), listed(off, 5))
	}
	return c
}

// clockOf renders the start of the i-th 5-minute bucket of a day as HH:MM (24:00 for the end).
func clockOf(i int) string {
	m := i * int(bucket/time.Minute)
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// TRTCInteractiveRows converts a one-app answer of DescribeTrtcInteractiveTime into rows. An
// answer whose TotalNum (when given) is not the number of points it holds is refused with an
// error wrapping ErrTotalNum that names the app, the day and the request.
func TRTCInteractiveRows(date string, app uint64, r *tcapi.TRTCInteractiveTimeResponse) (TRTCRows, error) {
	if r == nil {
		return TRTCRows{}, fmt.Errorf("DescribeTrtcInteractiveTime answer for app %d on %s is empty", app, date)
	}
	want := strconv.FormatUint(app, 10)
	var points []trtcPoint
	for _, u := range r.Usages {
		if u.SDKAppID != want {
			return TRTCRows{}, fmt.Errorf("DescribeTrtcInteractiveTime answer for app %d on %s holds app %q (request %s)", app, date, u.SDKAppID, r.RequestID)
		}
		if u.TotalNum != nil && *u.TotalNum != uint64(len(u.SDKAppIDTRTCTimeUsages)) {
			return TRTCRows{}, fmt.Errorf("DescribeTrtcInteractiveTime answer for app %d on %s is truncated or corrupt: TotalNum is %d but %d points arrived (request %s): %w",
				app, date, *u.TotalNum, len(u.SDKAppIDTRTCTimeUsages), r.RequestID, ErrTotalNum)
		}
		for _, p := range u.SDKAppIDTRTCTimeUsages {
			t, daily, err := parseTimeKey(p.TimeKey)
			if err != nil {
				return TRTCRows{}, fmt.Errorf("DescribeTrtcInteractiveTime answer for app %d on %s: %w (request %s)", app, date, err, r.RequestID)
			}
			points = append(points, trtcPoint{
				t: t, key: p.TimeKey, daily: daily,
				types: []string{"audio", "audio_video", "sd", "hd", "fullhd"},
				seconds: []string{
					strconv.FormatUint(p.AudioTime, 10), strconv.FormatUint(p.AudioVideoTime, 10),
					strconv.FormatUint(p.VideoTimeSd, 10), strconv.FormatUint(p.VideoTimeHd, 10),
					strconv.FormatUint(p.VideoTimeHdp, 10),
				},
			})
		}
	}
	return trtcRows(date, app, points, "DescribeTrtcInteractiveTime", r.RequestID)
}

// TRTCUsageRows converts a one-app answer of DescribeTrtcUsage into rows (its answer carries no
// count of points to check).
func TRTCUsageRows(date string, app uint64, r *tcapi.TRTCUsageResponse) (TRTCRows, error) {
	if r == nil {
		return TRTCRows{}, fmt.Errorf("DescribeTrtcUsage answer for app %d on %s is empty", app, date)
	}
	types := make([]string, len(r.UsageKey))
	seen := map[string]bool{}
	for i, k := range r.UsageKey {
		t := normalizeUsageType(k)
		if t == "" || seen[t] {
			return TRTCRows{}, fmt.Errorf("DescribeTrtcUsage answer for app %d on %s has an empty or repeated UsageKey %q (request %s)", app, date, k, r.RequestID)
		}
		seen[t] = true
		types[i] = t
	}
	daily := len(r.UsageList) > 0
	var points []trtcPoint
	for _, u := range r.UsageList {
		if len(u.UsageValue) != len(types) {
			return TRTCRows{}, fmt.Errorf("DescribeTrtcUsage answer for app %d on %s: point %s has %d values for %d keys (request %s)", app, date, u.TimeKey, len(u.UsageValue), len(types), r.RequestID)
		}
		t, _, err := parseTimeKey(u.TimeKey)
		if err != nil {
			return TRTCRows{}, fmt.Errorf("DescribeTrtcUsage answer for app %d on %s: %w (request %s)", app, date, err, r.RequestID)
		}
		if t.Hour() != 0 || t.Minute() != 0 {
			daily = false
		}
		secs := make([]string, len(types))
		for i, v := range u.UsageValue {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return TRTCRows{}, fmt.Errorf("DescribeTrtcUsage answer for app %d on %s: point %s has an invalid value %v (request %s)", app, date, u.TimeKey, v, r.RequestID)
			}
			secs[i] = strconv.FormatFloat(math.Round(v*60*1000)/1000, 'f', -1, 64)
		}
		points = append(points, trtcPoint{t: t, key: u.TimeKey, types: types, seconds: secs})
	}
	if len(points) <= 1 {
		daily = false // one point of a one-day query is a 5-minute point unless the key says otherwise
	}
	for i := range points {
		points[i].daily = daily
	}
	return trtcRows(date, app, points, "DescribeTrtcUsage", r.RequestID)
}

func trtcRows(date string, app uint64, points []trtcPoint, action, requestID string) (TRTCRows, error) {
	day, err := calendar.Parse(date)
	if err != nil {
		return TRTCRows{}, fmt.Errorf("%s answer for app %d: %w", action, app, err)
	}
	slices.SortStableFunc(points, func(a, b trtcPoint) int { return a.t.Compare(b.t) })
	for i := 1; i < len(points); i++ {
		if points[i].t.Equal(points[i-1].t) {
			return TRTCRows{}, fmt.Errorf("%s answer for app %d on %s repeats time key %s (request %s)", action, app, date, points[i].key, requestID)
		}
	}
	out := TRTCRows{Day: day}
	for _, p := range points {
		switch {
		case !pointInDay(day, p):
			out.OutsideDay++
		case p.daily:
			out.Daily++
		default:
			out.Points = append(out.Points, p.t)
		}
		gran := "5m"
		if p.daily {
			gran = "1d"
		}
		ts := p.t.Format(time.RFC3339)
		idx := make([]int, len(p.types))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return compareUsageType(p.types[a], p.types[b]) })
		for _, i := range idx {
			out.Rows = append(out.Rows, Row{Str(date), Uint(app), Str(ts), Str(gran), Str(p.types[i]), Value{Text: p.seconds[i], Number: true}})
		}
	}
	return out, nil
}

// pointInDay reports whether p belongs to day: a daily point by its date, a 5-minute point by
// its time key under the reading tcapi.TimeKeysLabelStart.
func pointInDay(day calendar.Day, p trtcPoint) bool {
	if p.daily {
		return calendar.Of(p.t, calendar.Zone) == day
	}
	return tcapi.FiveMinuteInDay(day, p.t, tcapi.TimeKeysLabelStart)
}

func compareUsageType(a, b string) int {
	ia, ib := slices.Index(usageTypeOrder, a), slices.Index(usageTypeOrder, b)
	switch {
	case ia >= 0 && ib >= 0:
		return ia - ib
	case ia >= 0:
		return -1
	case ib >= 0:
		return 1
	}
	return strings.Compare(a, b)
}

// normalizeUsageType maps an API usage key (Audio, SD, HD, FullHD, 2K, 4K, ...) to the dataset's
// lower-case name.
func normalizeUsageType(k string) string {
	k = strings.ToLower(strings.TrimSpace(k))
	var b strings.Builder
	for _, r := range k {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == ' ' || r == '-':
			b.WriteByte('_')
		}
	}
	return b.String()
}

// parseTimeKey parses "YYYY-MM-DD" (daily) or "YYYY-MM-DD HH:MM[:SS]" in Beijing time.
func parseTimeKey(k string) (time.Time, bool, error) {
	for _, f := range []struct {
		layout string
		daily  bool
	}{{"2006-01-02", true}, {"2006-01-02 15:04:05", false}, {"2006-01-02 15:04", false}} {
		if t, err := time.ParseInLocation(f.layout, k, calendar.Zone); err == nil {
			return t, f.daily, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("time key %q is not YYYY-MM-DD or YYYY-MM-DD HH:MM:SS", k)
}

package usage

import (
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
		{Name: "seconds", Type: TypeDecimal, Unit: "second", Description: "Billable duration. Minutes from DescribeTrtcUsage are multiplied by 60 and rounded to 1 ms."},
	},
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

// TRTCInteractiveRows converts a one-app answer of DescribeTrtcInteractiveTime into rows.
func TRTCInteractiveRows(date string, app uint64, r *tcapi.TRTCInteractiveTimeResponse) ([]Row, error) {
	if r == nil {
		return nil, fmt.Errorf("DescribeTrtcInteractiveTime answer for app %d on %s is empty", app, date)
	}
	want := strconv.FormatUint(app, 10)
	var points []trtcPoint
	for _, u := range r.Usages {
		if u.SDKAppID != want {
			return nil, fmt.Errorf("DescribeTrtcInteractiveTime answer for app %d on %s holds app %q (request %s)", app, date, u.SDKAppID, r.RequestID)
		}
		for _, p := range u.SDKAppIDTRTCTimeUsages {
			t, daily, err := parseTimeKey(p.TimeKey)
			if err != nil {
				return nil, fmt.Errorf("DescribeTrtcInteractiveTime answer for app %d on %s: %w (request %s)", app, date, err, r.RequestID)
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

// TRTCUsageRows converts a one-app answer of DescribeTrtcUsage into rows.
func TRTCUsageRows(date string, app uint64, r *tcapi.TRTCUsageResponse) ([]Row, error) {
	if r == nil {
		return nil, fmt.Errorf("DescribeTrtcUsage answer for app %d on %s is empty", app, date)
	}
	types := make([]string, len(r.UsageKey))
	seen := map[string]bool{}
	for i, k := range r.UsageKey {
		t := normalizeUsageType(k)
		if t == "" || seen[t] {
			return nil, fmt.Errorf("DescribeTrtcUsage answer for app %d on %s has an empty or repeated UsageKey %q (request %s)", app, date, k, r.RequestID)
		}
		seen[t] = true
		types[i] = t
	}
	daily := len(r.UsageList) > 0
	var points []trtcPoint
	for _, u := range r.UsageList {
		if len(u.UsageValue) != len(types) {
			return nil, fmt.Errorf("DescribeTrtcUsage answer for app %d on %s: point %s has %d values for %d keys (request %s)", app, date, u.TimeKey, len(u.UsageValue), len(types), r.RequestID)
		}
		t, _, err := parseTimeKey(u.TimeKey)
		if err != nil {
			return nil, fmt.Errorf("DescribeTrtcUsage answer for app %d on %s: %w (request %s)", app, date, err, r.RequestID)
		}
		if t.Hour() != 0 || t.Minute() != 0 {
			daily = false
		}
		secs := make([]string, len(types))
		for i, v := range u.UsageValue {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("DescribeTrtcUsage answer for app %d on %s: point %s has an invalid value %v (request %s)", app, date, u.TimeKey, v, r.RequestID)
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

func trtcRows(date string, app uint64, points []trtcPoint, action, requestID string) ([]Row, error) {
	slices.SortStableFunc(points, func(a, b trtcPoint) int { return a.t.Compare(b.t) })
	for i := 1; i < len(points); i++ {
		if points[i].t.Equal(points[i-1].t) {
			return nil, fmt.Errorf("%s answer for app %d on %s repeats time key %s (request %s)", action, app, date, points[i].key, requestID)
		}
	}
	var rows []Row
	for _, p := range points {
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
			rows = append(rows, Row{Str(date), Uint(app), Str(ts), Str(gran), Str(p.types[i]), Value{Text: p.seconds[i], Number: true}})
		}
	}
	return rows, nil
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

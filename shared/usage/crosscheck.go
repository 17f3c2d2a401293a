package usage

import "fmt"

// CrossCheck compares what two datasets recorded for the same app-day, from the per-file measure
// sums of their manifests (nothing is read again). Each function's run role may read only its own
// dataset, so cross checks are made by readers of both manifests (tcusage verify, the report),
// not by the runs.
type CrossCheck struct {
	Name string
	// Dataset is the dataset whose app-days the check is about; Against the one it compares them
	// with.
	Dataset, Against string
	// Compare returns the check of one app from its measures in each dataset; false when it does
	// not apply (a measure is missing, e.g. from a manifest written before measures were recorded).
	Compare func(app string, measures, against map[string]float64) (Check, bool)
}

// CrossChecks lists the checks across datasets.
func CrossChecks() []CrossCheck {
	return []CrossCheck{{Name: CheckRoomWithinTRTC, Dataset: RoomUsageSchema.Dataset, Against: TRTCUsageSchema.Dataset, Compare: roomWithinTRTC}}
}

// crossTolerance absorbs the rounding of DescribeTrtcUsage's minutes to milliseconds.
const crossTolerance = 0.001

// roomWithinTRTC: an app's rooms together used no more seconds than the app's TRTC total of the
// day (every room column against every usage type). More is implausible, not impossible:
// Tencent notes room figures are for analysis, not billing, so it is a warning.
func roomWithinTRTC(app string, room, trtc map[string]float64) (Check, bool) {
	total, ok := trtc["seconds"]
	if !ok || len(room) == 0 {
		return Check{}, false
	}
	var rooms float64
	for _, v := range room {
		rooms += v
	}
	rooms = RoundMeasure(rooms)
	c := Check{Name: CheckRoomWithinTRTC, App: app, Status: CheckOK,
		Detail: fmt.Sprintf("rooms %s s, TRTC total %s s", formatMeasure(rooms), formatMeasure(total))}
	if rooms > total+crossTolerance {
		c.Status = CheckWarn
		c.Detail = fmt.Sprintf("rooms %s s exceed the app's TRTC total of %s s", formatMeasure(rooms), formatMeasure(total))
	}
	return c, true
}

// formatMeasure renders a measure without trailing zeros.
func formatMeasure(v float64) string { return fmt.Sprint(RoundMeasure(v)) }

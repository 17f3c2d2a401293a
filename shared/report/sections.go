package report

import (
	"slices"
	"strings"
)

func trtcSection(series []*Summary, f *DatasetFigures, det *detail) *TRTCSection {
	s := &TRTCSection{Trend: headlineTrend(TRTC, series)}
	var types []string
	if f != nil {
		for _, a := range f.Apps {
			for k := range a.Values {
				if t, ok := strings.CutPrefix(k, "type:"); ok && !slices.Contains(types, t) {
					types = append(types, t)
				}
			}
		}
	}
	slices.SortFunc(types, compareUsageTypes)
	var cols []Col
	for _, t := range types {
		if valueOf(f, "", "type:"+t) != 0 {
			cols = append(cols, Col{Key: "type:" + t, Label: usageTypeLabel(t), Unit: UnitSecond})
		}
	}
	cols = append(cols, Col{Key: MetricSeconds, Label: "Total", Unit: UnitSecond})
	s.Types = matrix(TRTC, f, cols)
	for _, row := range s.Trend.Rows {
		curve := det.curves[row.App]
		if curve == nil {
			continue
		}
		if det.daily[row.App] {
			s.DailyOnly = append(s.DailyOnly, row.App)
			continue
		}
		s.Curves = append(s.Curves, newCurve(row.App, curve[:]))
	}
	return s
}

func newCurve(app string, secs []float64) Curve {
	c := Curve{App: app}
	mins := make([]float64, len(secs))
	peak := 0
	for i, v := range secs {
		c.Total += v
		mins[i] = v / 60
		if v > secs[peak] {
			peak = i
		}
	}
	c.Peak = secs[peak]
	c.PeakAt = twoDigits(peak*5/60) + ":" + twoDigits(peak*5%60)
	label := "peak " + formatMinutes(c.Peak) + " min at " + c.PeakAt
	c.Chart = lineChart("App "+app+": minutes per 5 minutes over the day", mins, label)
	return c
}

var usageTypeOrder = []string{"audio", "sd", "hd", "fullhd", "2k", "4k", "audio_video"}

func compareUsageTypes(a, b string) int {
	i, j := slices.Index(usageTypeOrder, a), slices.Index(usageTypeOrder, b)
	switch {
	case i >= 0 && j >= 0:
		return i - j
	case i >= 0:
		return -1
	case j >= 0:
		return 1
	}
	return strings.Compare(a, b)
}

func usageTypeLabel(t string) string {
	switch t {
	case "audio":
		return "Audio"
	case "sd":
		return "SD"
	case "hd":
		return "HD"
	case "fullhd":
		return "Full HD"
	case "2k", "4k":
		return strings.ToUpper(t)
	case "audio_video":
		return "Audio+video"
	}
	return t
}

// matrix lays out f's figures per app in the given columns.
func matrix(ds string, f *DatasetFigures, cols []Col) Matrix {
	m := Matrix{Dataset: ds, Cols: cols, Total: MatrixRow{Cells: make([]float64, len(cols))}}
	if f == nil {
		return m
	}
	for _, a := range f.Apps {
		row := MatrixRow{App: a.App, Cells: make([]float64, len(cols))}
		for i, c := range cols {
			row.Cells[i] = a.Values[c.Key]
			m.Total.Cells[i] += a.Values[c.Key]
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}

func roomSection(series []*Summary, f *DatasetFigures, det *detail) *RoomSection {
	s := &RoomSection{Trend: headlineTrend(Rooms, series),
		Top: det.top.rooms(), TopN: det.top.n, RoomsSeen: det.top.seen}
	cols := []Col{{Key: MetricRooms, Label: "Rooms", Unit: UnitCount}}
	for _, c := range det.roomCols {
		if valueOf(f, "", "col:"+c) == 0 {
			continue
		}
		col := Col{Key: "col:" + c, Label: usageTypeLabel(c), Unit: UnitSecond}
		cols = append(cols, col)
		s.TopCols = append(s.TopCols, Col{Key: c, Label: col.Label, Unit: UnitSecond})
	}
	cols = append(cols, Col{Key: MetricSeconds, Label: "Total", Unit: UnitSecond})
	s.Matrix = matrix(Rooms, f, cols)
	return s
}

func callSection(series []*Summary, f *DatasetFigures) *CallSection {
	return &CallSection{
		Trend: headlineTrend(TelCall, series),
		Matrix: matrix(TelCall, f, []Col{
			{Key: "outbound_minutes", Label: "Outbound", Unit: UnitMinute},
			{Key: "inbound_minutes", Label: "Inbound", Unit: UnitMinute},
			{Key: "voip_minutes", Label: "VoIP", Unit: UnitMinute},
			{Key: MetricCallMinutes, Label: "Calls total", Unit: UnitMinute},
			{Key: "asr_offline_minutes", Label: "ASR offline", Unit: UnitMinute},
			{Key: "asr_realtime_minutes", Label: "ASR real-time", Unit: UnitMinute},
			{Key: MetricSeats, Label: "Seats used", Unit: UnitSeat},
		}),
	}
}

func essSection(series []*Summary, f *DatasetFigures) *ESSSection {
	s := &ESSSection{Trend: headlineTrend(ESSBill, series)}
	if f == nil {
		return s
	}
	s.Groups = essRows(f.ESS)
	for _, g := range f.ESS {
		s.Total.Records += g.Records
		s.Total.Deducted += g.Deducted
		s.Total.Refunded += g.Refunded
		s.Total.RefundRecords += g.RefundRecords
	}
	return s
}

// essRows lists groups under a heading per sub-customer, with a subtotal after each
// sub-customer that has more than one package type.
func essRows(groups []ESSGroup) []ESSRow {
	var out []ESSRow
	for i := 0; i < len(groups); {
		j := i
		sub := ESSGroup{App: groups[i].App, SubCustomer: groups[i].SubCustomer}
		out = append(out, ESSRow{ESSGroup: sub, Heading: true})
		for ; j < len(groups) && groups[j].App == sub.App && groups[j].SubCustomer == sub.SubCustomer; j++ {
			out = append(out, ESSRow{ESSGroup: groups[j]})
			sub.Records += groups[j].Records
			sub.Deducted += groups[j].Deducted
			sub.Refunded += groups[j].Refunded
			sub.RefundRecords += groups[j].RefundRecords
		}
		if j-i > 1 {
			out = append(out, ESSRow{ESSGroup: sub, Subtotal: true})
		}
		i = j
	}
	return out
}

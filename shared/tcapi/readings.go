package tcapi

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
)

// Readings of the documents. Where the seed documents leave a question open, tcusage reads them
// one way. Each reading is one constant below with its evidence; the sources build their requests
// from it, every manifest records the window sent with the readings it rests on
// (windows_sent), and `tcusage doctor` settles each against the real service and names the
// constant to change when the service disagrees. The emulator can answer under the other reading
// of each (emulator.Readings), so that both are tested.
const (
	// ESSEndTimeInclusive: ChannelDescribeBillUsageDetail's EndTime (yyyymmdd) includes its own
	// day, so a one-day query sends StartTime = EndTime = the day.
	//
	// Evidence: the page gives dates without times ("示例值: 20231101" to "20231108") and bounds the
	// span in days ("时间跨度不能大于31天"); its examples query "20230902" to "20230930", a range
	// read naturally as both ends included. Nothing says so outright. Read the other way, a one-day
	// query is an empty range and every day would be delivered with no records: doctor compares a
	// one-day query with a two-day one.
	ESSEndTimeInclusive = true

	// RoomUsageEndInclusive: DescribeTrtcRoomUsage's EndTime ("YYYY-MM-DD HH:MM") includes its
	// minute, so that "D 00:00" to "D 23:59" is the whole day D.
	//
	// Evidence: the page's example asks for "2023-01-06 00:00" to "2023-01-06 10:00" and says
	// only that the two may be at most 24 hours apart. CCC's DescribeTelCallInfo documents a
	// day as 00:00:00 to 23:59:59, an end that includes its last unit, which is the reading
	// here. Read the other way, the day's last minute is lost: the sources then send "D+1 00:00",
	// exactly 24 hours after the start, which the limit allows. doctor splits a day at noon and
	// checks whether the two halves count the noon minute twice.
	RoomUsageEndInclusive = true

	// TimeKeysLabelStart: a 5-minute TimeKey of DescribeTrtcInteractiveTime and DescribeTrtcUsage
	// names the start of its interval, so that a day's keys run from 00:00:00 to 23:55:00.
	//
	// Evidence: weak and conflicting. The seed's one-day example for all apps (example 3) starts
	// at "2020-09-08 00:05:00", which suggests end labels, but answers only three points, so
	// 00:00:00 may simply have had no usage; its example 2 answers a key of the day before,
	// which neither reading explains. Rows keep the keys as answered; the reading decides which
	// points count as outside the day (manifest source.details "points_outside_day/<app>"): under
	// start labels "D 00:00:00" is day D's first interval and "D+1 00:00:00" lies outside, under
	// end labels the reverse. doctor looks for a key at either midnight.
	TimeKeysLabelStart = true
)

// Reading is one reading constant, by name (e.g. "tcapi.ESSEndTimeInclusive") and value.
type Reading struct {
	Name  string
	Value bool
}

// The readings by name.
var (
	ReadingESSEndTime     = Reading{"tcapi.ESSEndTimeInclusive", ESSEndTimeInclusive}
	ReadingRoomUsageEnd   = Reading{"tcapi.RoomUsageEndInclusive", RoomUsageEndInclusive}
	ReadingTimeKeysLabels = Reading{"tcapi.TimeKeysLabelStart", TimeKeysLabelStart}
)

// ReadingsOf returns the readings a's requests or answers rest on (none for DescribeTelCallInfo,
// whose day window the document spells out).
func ReadingsOf(a Action) []Reading {
	switch a.Name {
	case ChannelDescribeBillUsageDetail.Name:
		return []Reading{ReadingESSEndTime}
	case DescribeTrtcRoomUsage.Name:
		return []Reading{ReadingRoomUsageEnd}
	case DescribeTrtcInteractiveTime.Name, DescribeTrtcUsage.Name:
		return []Reading{ReadingTimeKeysLabels}
	}
	return nil
}

// RoomTimeLayout is DescribeTrtcRoomUsage's minute-precision time format.
const RoomTimeLayout = "2006-01-02 15:04"

// RoomUsageWindow returns the StartTime and EndTime of a query of the whole day under the
// reading endInclusive (RoomUsageEndInclusive): "D 00:00" to "D 23:59" when the end minute is
// included, else "D 00:00" to "D+1 00:00".
func RoomUsageWindow(day calendar.Day, endInclusive bool) (start, end string) {
	last := day.End()
	if endInclusive {
		last = last.Add(-time.Minute)
	}
	return day.Start().Format(RoomTimeLayout), last.Format(RoomTimeLayout)
}

// ESSDateLayout is ChannelDescribeBillUsageDetail's date format (yyyymmdd).
const ESSDateLayout = "20060102"

// ESSWindow returns the StartTime and EndTime of a query of the whole day under the reading
// endInclusive (ESSEndTimeInclusive): the day twice when EndTime includes its day, else the day
// and the next.
func ESSWindow(day calendar.Day, endInclusive bool) (start, end string) {
	last := day
	if !endInclusive {
		last = day.Add(1)
	}
	return day.Start().Format(ESSDateLayout), last.Start().Format(ESSDateLayout)
}

// FiveMinuteInDay reports whether a 5-minute time key t belongs to day under the reading
// labelsStart (TimeKeysLabelStart): day's keys are [00:00:00, 24:00:00) when keys name the start
// of their interval, (00:00:00, 24:00:00] when they name its end.
func FiveMinuteInDay(day calendar.Day, t time.Time, labelsStart bool) bool {
	if labelsStart {
		return !t.Before(day.Start()) && t.Before(day.End())
	}
	return t.After(day.Start()) && !t.After(day.End())
}

// windowFields are the request fields that say which time a request covers.
var windowFields = []string{"StartTime", "EndTime", "StartTimeStamp", "EndTimeStamp"}

// SentWindow is the time window one request named, exactly as sent (its time fields as they went
// on the wire), with the readings of the documents it rests on.
type SentWindow struct {
	Fields   map[string]json.RawMessage
	Readings []Reading
}

// WindowOf returns the window req, a request of a, names: its time fields as encoding/json writes
// them (as the API client sends them) and ReadingsOf(a).
func WindowOf(a Action, req any) SentWindow {
	w := SentWindow{Fields: map[string]json.RawMessage{}, Readings: slices.Clone(ReadingsOf(a))}
	b, err := json.Marshal(req)
	if err != nil {
		return w
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(b, &all) != nil {
		return w
	}
	for _, f := range windowFields {
		if v, ok := all[f]; ok {
			w.Fields[f] = v
		}
	}
	return w
}

// String shows the window briefly, e.g. `StartTime="2026-11-24 00:00" EndTime="2026-11-24 23:59"`.
func (w SentWindow) String() string {
	var parts []string
	for _, f := range windowFields {
		if v, ok := w.Fields[f]; ok {
			parts = append(parts, f+"="+string(v))
		}
	}
	return strings.Join(parts, " ")
}

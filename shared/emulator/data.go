package emulator

import (
	"hash/fnv"
	"math"
	"slices"
	"time"
)

// Data is the emulator's deterministic ground truth: every value is a hash of (app, day, metric),
// so the same Config always yields the same numbers, and the API answers are sums of these values.
// Tests use it to check what a client stored. A Data is immutable and safe for concurrent use.
//
// The figures are irregular as the cloud's are: an app-day may be idle (no 5-minute point, no
// room), short (a few points in one active stretch, a few rooms), normal (points with gaps and
// some zero points, rooms around Config.Rooms) or busy (several times the usage, about
// Config.BusyRooms rooms); weekends are quieter; ESS organisations are idle for days now and then.
// The products agree with each other: an app's rooms share less than its day's TRTC total per
// class, and an audio-only app has no video seconds anywhere.
//
// A Data made by NewData (or Emulator.Data) holds the final figures of every day. AsOf gives the
// view the APIs answer at a moment: nothing after it. Emulator answers are exactly
// Data().AsOf(Config.Now()) at the time of the call.
type Data struct {
	apps      []uint64
	rooms     int
	busyRooms int
	ess       map[string][]string
	essPerDay int
	asOf      time.Time // zero: final figures
}

// NewData returns the ground truth of an emulator built from cfg (defaults applied).
func NewData(cfg Config) Data {
	c := cfg.withDefaults()
	return Data{apps: c.SDKAppIDs, rooms: c.Rooms, busyRooms: c.BusyRooms, ess: c.ESSApps, essPerDay: c.ESSRecordsPerDay}
}

// AsOf returns the figures as the APIs answer them at t: days after t's Beijing day have nothing,
// and t's own day has only what happened before t (the 5-minute points that ended by t, rooms'
// usage up to t, ESS records before t, the share of the day's call minutes used by t).
func (d Data) AsOf(t time.Time) Data {
	d.asOf = t
	return d
}

// Final returns the final figures of every day, whatever the AsOf of d.
func (d Data) Final() Data {
	d.asOf = time.Time{}
	return d
}

// Apps returns the known CCC/TRTC SdkAppIds.
func (d Data) Apps() []uint64 { return slices.Clone(d.apps) }

// KnownApp reports whether app is a known CCC/TRTC SdkAppId.
func (d Data) KnownApp(app uint64) bool { return slices.Contains(d.apps, app) }

// dayState is where a day stands against the cutoff of a Data.
type dayState int

const (
	dayPast   dayState = iota // whole: final figures
	dayToday                  // in progress: what happened before the cutoff
	dayFuture                 // nothing yet
)

// state returns where day stands against d's cutoff (every day is past without one).
func (d Data) state(day Date) dayState {
	if d.asOf.IsZero() {
		return dayPast
	}
	today := DateOf(d.asOf)
	switch {
	case day.Before(today):
		return dayPast
	case day == today:
		return dayToday
	}
	return dayFuture
}

// ---- hashing ----

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// h hashes a few words into one.
func h(parts ...uint64) uint64 {
	x := uint64(0x6a09e667f3bcc908)
	for _, p := range parts {
		x = mix(x ^ p)
	}
	return x
}

// unit maps a hash to [0, 1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// between maps a hash to [lo, hi).
func between(x uint64, lo, hi float64) float64 { return lo + (hi-lo)*unit(x) }

// strHash hashes a string.
func strHash(s string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(s))
	return f.Sum64()
}

// metric tags keep the hash streams of different quantities apart.
const (
	tagTelOut uint64 = iota + 1
	tagTelIn
	tagSeat
	tagVOIP
	tagAsrOff
	tagAsrRT
	tagTelLevel
	tagTrtcLevel
	tagTrtcDay
	tagTrtcSlot
	tagTrtcMix
	tagRoom
	tagRoomID
	tagESS
	tagShape
	tagTrtcBusy
	tagTrtcShort
	tagTrtcGap
	tagRoomCount
	tagRoomLevel
	tagRoomCover
	tagESSIdle
	tagESSLevel
	tagESSCount
)

// weekendFactor damps business traffic on Saturdays and Sundays.
func weekendFactor(day Date, f float64) float64 {
	switch day.Start().Weekday() {
	case time.Saturday, time.Sunday:
		return f
	}
	return 1
}

// shape is the kind of day a TRTC app has; TRTC points and rooms follow it.
type shape int

const (
	shapeNormal shape = iota // points all day with gaps, rooms around Config.Rooms
	shapeIdle                // no point, no room
	shapeShort               // one short active stretch: a few points, a few rooms
	shapeBusy                // several times the usage, about Config.BusyRooms rooms
)

// dayShape returns the shape of app's day: about 5% idle, 10% short, 3% busy.
func dayShape(app uint64, day Date) shape {
	u := unit(h(tagShape, app, day.dayNumber()))
	switch {
	case u < 0.05:
		return shapeIdle
	case u < 0.15:
		return shapeShort
	case u >= 0.97:
		return shapeBusy
	}
	return shapeNormal
}

// audioOnly reports whether app uses audio only: it then has no video seconds in any answer.
func audioOnly(app uint64) bool { return h(tagTrtcMix, app, 0)%5 == 0 }

// elapsedShare is the share of a day's traffic (weighted by the diurnal curve) in the 5-minute
// buckets of day that ended by t: 0 before the day, 1 after it.
func elapsedShare(day Date, t time.Time) float64 {
	var done, all float64
	for i := range slotsPerDay {
		w := diurnal(i)
		all += w
		if !slotStart(day, i+1).After(t) {
			done += w
		}
	}
	return done / all
}

// slotStart returns the start of 5-minute bucket i of day (i = slotsPerDay is the next midnight).
func slotStart(day Date, i int) time.Time { return day.Start().Add(time.Duration(i) * 5 * time.Minute) }

// ---- CCC DescribeTelCallInfo ----

// TelCallCounts is one app's (or a sum of apps') CCC package consumption, as DescribeTelCallInfo
// reports it: minutes, except SeatUsed (seats).
type TelCallCounts struct {
	TelCallOut  int64
	TelCallIn   int64
	SeatUsed    int64
	VOIPCallIn  int64
	AsrOffline  int64
	AsrRealtime int64
}

// Add returns the field-wise sum of c and o.
func (c TelCallCounts) Add(o TelCallCounts) TelCallCounts {
	return TelCallCounts{
		TelCallOut: c.TelCallOut + o.TelCallOut, TelCallIn: c.TelCallIn + o.TelCallIn,
		SeatUsed: c.SeatUsed + o.SeatUsed, VOIPCallIn: c.VOIPCallIn + o.VOIPCallIn,
		AsrOffline: c.AsrOffline + o.AsrOffline, AsrRealtime: c.AsrRealtime + o.AsrRealtime,
	}
}

// scale returns every count multiplied by f, rounded down.
func (c TelCallCounts) scale(f float64) TelCallCounts {
	s := func(v int64) int64 { return int64(math.Floor(float64(v) * f)) }
	return TelCallCounts{
		TelCallOut: s(c.TelCallOut), TelCallIn: s(c.TelCallIn), SeatUsed: s(c.SeatUsed),
		VOIPCallIn: s(c.VOIPCallIn), AsrOffline: s(c.AsrOffline), AsrRealtime: s(c.AsrRealtime),
	}
}

// TelCall returns app's CCC consumption on one Beijing day: zero for a day after the cutoff of
// d, and for the day in progress the share of the day's figures used by then (see AsOf). It does
// not check that app is known.
func (d Data) TelCall(app int64, day Date) TelCallCounts {
	switch d.state(day) {
	case dayFuture:
		return TelCallCounts{}
	case dayToday:
		return telCallDay(uint64(app), day).scale(elapsedShare(day, d.asOf))
	}
	return telCallDay(uint64(app), day)
}

// telCallDay returns app's final CCC consumption on day.
func telCallDay(a uint64, day Date) TelCallCounts {
	n := day.dayNumber()
	lvl := between(h(tagTelLevel, a), 100, 4000)
	wk := weekendFactor(day, 0.35)
	val := func(tag uint64, scale, zeroChance float64) int64 {
		if unit(h(tag, a)) < zeroChance { // some apps never use a package
			return 0
		}
		return int64(math.Round(lvl * scale * wk * between(h(tag, a, n), 0.7, 1.3)))
	}
	return TelCallCounts{
		TelCallOut:  val(tagTelOut, 1, 0),
		TelCallIn:   val(tagTelIn, 0.45, 0.1),
		SeatUsed:    int64(math.Round(3 + lvl/80*wk*between(h(tagSeat, a, n), 0.8, 1.2))),
		VOIPCallIn:  val(tagVOIP, 0.2, 0.4),
		AsrOffline:  val(tagAsrOff, 0.05, 0.5),
		AsrRealtime: val(tagAsrRT, 0.12, 0.3),
	}
}

// TelCallRange returns what DescribeTelCallInfo answers for apps over the whole days from..to
// (inclusive): the sum over apps and days.
func (d Data) TelCallRange(apps []int64, from, to Date) TelCallCounts {
	var sum TelCallCounts
	for day := from; !to.Before(day); day = day.AddDays(1) {
		for _, a := range apps {
			sum = sum.Add(d.TelCall(a, day))
		}
	}
	return sum
}

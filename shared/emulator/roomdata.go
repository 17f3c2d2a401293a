package emulator

import (
	"math"
	"strconv"
	"time"
)

// ---- TRTC DescribeTrtcRoomUsage ----

// RoomUsage is one CSV row of DescribeTrtcRoomUsage: seconds per class.
type RoomUsage struct {
	RoomID string
	Audio  uint64
	SD     uint64
	HD     uint64
	FullHD uint64
	TwoK   uint64
	FourK  uint64
}

// Seconds returns the room's usage as TRTCSeconds (AudioVideo 0).
func (r RoomUsage) Seconds() TRTCSeconds {
	return TRTCSeconds{Audio: r.Audio, SD: r.SD, HD: r.HD, FullHD: r.FullHD, TwoK: r.TwoK, FourK: r.FourK}
}

// RoomCSVHeader returns the header row of DescribeTrtcRoomUsage Data (note the lower-case "hd").
func RoomCSVHeader() []string { return []string{"RoomId", "Audio", "SD", "hd", "FullHD", "2K", "4K"} }

// roomID returns the ID of room i of app. Most IDs are numeric or plain strings; now and then one
// contains a comma or double quotes (rooms 1 and 2 of every app-day among them), so that CSV
// readers must honour quoting.
func roomID(app uint64, i int) string {
	switch {
	case i%211 == 1:
		return `say "hi" ` + strconv.Itoa(i)
	case i%47 == 2:
		return "meeting, " + strconv.Itoa(i)
	case i%3 == 0:
		return strconv.Itoa(100000 + i)
	}
	return "room_" + strconv.FormatUint(h(tagRoomID, app, uint64(i))%2176782336, 36) + "_" + strconv.Itoa(i)
}

// RoomCount returns how many rooms app has on day, whatever the cutoff: none on an idle app-day,
// one to three on a short one, about Config.BusyRooms on a busy one, and otherwise Config.Rooms
// scaled by the app's size (0.3 to 2 times), halved at weekends, give or take 30%. A room whose
// share of the day rounds down to nothing in every class is not answered, so Rooms may list
// fewer.
func (d Data) RoomCount(app uint64, day Date) int {
	x := h(tagRoomCount, app, day.dayNumber())
	switch dayShape(app, day) {
	case shapeIdle:
		return 0
	case shapeShort:
		return 1 + int(x%3)
	case shapeBusy:
		return max(1, int(math.Round(float64(d.busyRooms)*between(x, 0.5, 1))))
	}
	lvl := between(h(tagRoomLevel, app), 0.3, 2)
	return max(1, int(math.Round(float64(d.rooms)*lvl*weekendFactor(day, 0.5)*between(x, 0.7, 1.3))))
}

// roomDay describes one room's activity on one day: from minute start, for dur minutes (within the
// app's active stretch of the day), with its weight per class in w (participant seconds times the
// class's share) before the day's rooms are fitted to the app's TRTC total.
type roomDay struct {
	start, dur uint64
	w          [6]float64
}

// room returns room i of app on the day with number dayNum, active within minutes [lo, hi).
func room(app, dayNum uint64, i int, lo, hi uint64) roomDay {
	x := h(tagRoom, app, dayNum, uint64(i))
	start := lo + x%(hi-lo)
	dur := 5 + mix(x)%295
	if start+dur > hi {
		dur = hi - start
	}
	people := 1 + mix(x+1)%12
	total := float64(dur * 60 * people)
	r := roomDay{start: start, dur: dur}
	if audioOnly(app) {
		r.w[0] = total
		return r
	}
	// Shares of participant time per class; the audio-only share is what is left.
	sd := between(mix(x+2), 0, 0.5)
	hd := between(mix(x+3), 0, 0.3)
	fhd := between(mix(x+4), 0, 0.15)
	var k2, k4 float64
	if mix(x+5)%10 == 0 {
		k2 = between(mix(x+6), 0, 0.05)
	}
	if mix(x+7)%25 == 0 {
		k4 = between(mix(x+8), 0, 0.02)
	}
	for j, s := range []float64{max(0, 1-sd-hd-fhd-k2-k4), sd, hd, fhd, k2, k4} {
		r.w[j] = total * s
	}
	return r
}

// roomPlan is how one app's rooms share one day: count rooms, active within minutes [lo, hi), a
// room's day seconds in class j being its weight times factor[j].
type roomPlan struct {
	num, lo, hi uint64
	count       int
	factor      [6]float64
}

// planRooms fits app's rooms on day to its final TRTC total: together they get a share of 90 to
// 99% of each class's seconds, in proportion to their weights.
func (d Data) planRooms(app uint64, day Date) roomPlan {
	n := day.dayNumber()
	sh := dayShape(app, day)
	slo, shi := activeSlots(app, day, sh)
	p := roomPlan{num: n, lo: uint64(slo) * 5, hi: uint64(shi) * 5, count: d.RoomCount(app, day)}
	if p.count == 0 {
		return p
	}
	var weights [6]float64
	for i := range p.count {
		r := room(app, n, i, p.lo, p.hi)
		for j, w := range r.w {
			weights[j] += w
		}
	}
	t := d.Final().TRTCDay(app, day)
	total := [6]uint64{t.Audio, t.SD, t.HD, t.FullHD, t.TwoK, t.FourK}
	cover := between(h(tagRoomCover, app, n), 0.9, 0.99)
	for j, w := range weights {
		if w > 0 {
			p.factor[j] = float64(total[j]) * cover / w
		}
	}
	return p
}

// seconds returns the day seconds per class of room r under plan p.
func (p *roomPlan) seconds(r roomDay) [6]uint64 {
	var v [6]uint64
	for j, w := range r.w {
		v[j] = uint64(w * p.factor[j])
	}
	return v
}

// Rooms returns every room of app on one whole day, in room order (see RoomCount and AsOf). It
// does not check that app is known. Rooms(app, day) equals what DescribeTrtcRoomUsage answers for
// "<day> 00:00" to "<day> 23:59".
func (d Data) Rooms(app uint64, day Date) []RoomUsage {
	return d.RoomsBetween(app, day.Start(), day.AddDays(1).Start())
}

// RoomsBetween returns the per-room usage of app in [from, to), in room order, leaving out rooms
// with no usage in it. A room's day usage is spread evenly over its active minutes; a partly
// covered room gets the covered share, rounded down. With a cutoff (AsOf), the window ends at the
// last whole minute before it.
func (d Data) RoomsBetween(app uint64, from, to time.Time) []RoomUsage {
	var out []RoomUsage
	d.eachRoom(app, from, to, func(id string, v [6]uint64) {
		out = append(out, RoomUsage{RoomID: id, Audio: v[0], SD: v[1], HD: v[2], FullHD: v[3], TwoK: v[4], FourK: v[5]})
	})
	return out
}

// roomSpan is the part of one day a room-usage window covers: minutes [lo, hi) under plan.
type roomSpan struct {
	lo, hi uint64
	plan   roomPlan
}

// roomSpans returns the days [from, to) covers, with their room plans, and the most rooms any
// of them has.
func (d Data) roomSpans(app uint64, from, to time.Time) ([]roomSpan, int) {
	if cut := d.asOf.Truncate(time.Minute); !d.asOf.IsZero() && cut.Before(to) {
		to = cut
	}
	var spans []roomSpan
	most := 0
	for day := DateOf(from); day.Start().Before(to); day = day.AddDays(1) {
		lo := max(from.Sub(day.Start()), 0)
		hi := min(to.Sub(day.Start()), 24*time.Hour)
		if hi > lo {
			p := d.planRooms(app, day)
			spans = append(spans, roomSpan{uint64(lo / time.Minute), uint64((hi + time.Minute - 1) / time.Minute), p})
			most = max(most, p.count)
		}
	}
	return spans, most
}

// eachRoom calls fn for every room of app with usage in [from, to).
func (d Data) eachRoom(app uint64, from, to time.Time, fn func(id string, v [6]uint64)) {
	spans, most := d.roomSpans(app, from, to)
	for i := range most {
		var sum [6]uint64
		for _, s := range spans {
			if i >= s.plan.count {
				continue
			}
			r := room(app, s.plan.num, i, s.plan.lo, s.plan.hi)
			lo, hi := max(r.start, s.lo), min(r.start+r.dur, s.hi)
			if hi <= lo {
				continue
			}
			v := s.plan.seconds(r)
			for j := range sum {
				sum[j] += v[j] * (hi - lo) / r.dur
			}
		}
		if sum != [6]uint64{} {
			fn(roomID(app, i), sum)
		}
	}
}

// hasRooms reports whether app has any room on the days [from, to) touches.
func (d Data) hasRooms(app uint64, from, to time.Time) bool {
	for day := DateOf(from); day.Start().Before(to); day = day.AddDays(1) {
		if d.RoomCount(app, day) > 0 {
			return true
		}
	}
	return false
}

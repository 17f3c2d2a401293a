package emulator

import (
	"math"
	"time"
)

// ---- TRTC DescribeTrtcInteractiveTime / DescribeTrtcUsage ----

// TRTCSeconds is a TRTC usage in seconds per resolution class. DescribeTrtcInteractiveTime
// reports AudioVideo, Audio, SD, HD and FullHD (as AudioVideoTime, AudioTime, VideoTimeSd,
// VideoTimeHd, VideoTimeHdp); DescribeTrtcUsage reports Audio, SD, HD, FullHD, 2K and 4K in minutes
// (see Minutes). AudioVideo (the pre-2019 billing mode) is always 0 in generated data.
type TRTCSeconds struct {
	AudioVideo uint64
	Audio      uint64
	SD         uint64
	HD         uint64
	FullHD     uint64
	TwoK       uint64
	FourK      uint64
}

// Add returns the field-wise sum of s and o.
func (s TRTCSeconds) Add(o TRTCSeconds) TRTCSeconds {
	return TRTCSeconds{
		AudioVideo: s.AudioVideo + o.AudioVideo, Audio: s.Audio + o.Audio, SD: s.SD + o.SD, HD: s.HD + o.HD,
		FullHD: s.FullHD + o.FullHD, TwoK: s.TwoK + o.TwoK, FourK: s.FourK + o.FourK,
	}
}

// Video returns the seconds of every video class (SD to 4K).
func (s TRTCSeconds) Video() uint64 { return s.SD + s.HD + s.FullHD + s.TwoK + s.FourK }

// UsageMinutes returns the DescribeTrtcUsage UsageValue of s, in the order of TrtcUsageKeys:
// Audio, SD, HD, FullHD, 2K, 4K, each converted with Minutes.
func (s TRTCSeconds) UsageMinutes() []float64 {
	return []float64{Minutes(s.Audio), Minutes(s.SD), Minutes(s.HD), Minutes(s.FullHD), Minutes(s.TwoK), Minutes(s.FourK)}
}

// TRTCUsageKeys returns the UsageKey of every DescribeTrtcUsage answer.
func TRTCUsageKeys() []string { return []string{"Audio", "SD", "HD", "FullHD", "2K", "4K"} }

// Minutes converts seconds to the minutes DescribeTrtcUsage reports: seconds/60 rounded to two
// decimals. Each point is converted from its own seconds, so daily minutes are not the sum of the
// rounded 5-minute minutes (they differ by at most 0.005 per point).
func Minutes(sec uint64) float64 { return math.Round(float64(sec)/60*100) / 100 }

// TRTCPoint is one 5-minute bucket, starting at Start (Beijing time).
type TRTCPoint struct {
	Start time.Time
	TRTCSeconds
}

// slotsPerDay is the number of 5-minute buckets of a day.
const slotsPerDay = 288

// zeroPointChance is the share of the points present that carry zeros.
const zeroPointChance = 0.03

// diurnal is the share of the peak load at the given 5-minute slot: low at night, a morning bump
// and an evening peak.
func diurnal(slot int) float64 {
	hr := float64(slot) / 12
	f := 0.04 + 0.96*math.Exp(-(hr-20.5)*(hr-20.5)/18) + 0.45*math.Exp(-(hr-10.5)*(hr-10.5)/8)
	return math.Min(f, 1)
}

// gapChance is the chance that a slot of a normal or busy day has no point: high at night, when
// nobody may be in a call, low at the peak.
func gapChance(slot int) float64 { return 0.01 + 0.3*(1-diurnal(slot)) }

// trtcSlot returns one app's usage in one 5-minute slot of a day.
func trtcSlot(app, dayNum uint64, dayFactor float64, slot int) TRTCSeconds {
	peak := between(h(tagTrtcLevel, app), 20, 500) // concurrent participants at peak
	base := peak * dayFactor * diurnal(slot) * 300
	sl := uint64(slot)
	v := func(k uint64, share float64) uint64 {
		if share == 0 {
			return 0
		}
		return uint64(math.Round(base * share * between(h(tagTrtcSlot, app, dayNum, sl, k), 0.8, 1.2)))
	}
	ao := audioOnly(app)
	share := func(k uint64, lo, hi float64) float64 {
		if ao {
			return 0
		}
		return between(h(tagTrtcMix, app, k), lo, hi)
	}
	return TRTCSeconds{
		Audio:  v(1, 1),
		SD:     v(2, share(2, 0.2, 0.6)),
		HD:     v(3, share(3, 0.1, 0.4)),
		FullHD: v(4, share(4, 0.05, 0.2)),
		TwoK:   v(5, share(5, 0, 0.04)),
		FourK:  v(6, share(6, 0, 0.01)),
	}
}

// trtcApps returns the apps app stands for: all known apps for 0, else app itself.
func (d Data) trtcApps(app uint64) []uint64 {
	if app == 0 {
		return d.apps
	}
	return []uint64{app}
}

// activeSlots returns the slots [lo, hi) in which app can have points on a day of shape sh: the
// whole day, or one short stretch of 1 to 12 slots (1 to 60 minutes) for a short day.
func activeSlots(app uint64, day Date, sh shape) (lo, hi int) {
	if sh != shapeShort {
		return 0, slotsPerDay
	}
	x := h(tagTrtcShort, app, day.dayNumber())
	lo = 6*12 + int(x%(16*12)) // starts between 06:00 and 21:55
	return lo, min(lo+1+int(mix(x)%12), slotsPerDay)
}

// trtcAppSlots fills the final points of one app's day into sum, marking present slots.
func trtcAppSlots(a uint64, day Date, sum *[slotsPerDay]TRTCSeconds, present *[slotsPerDay]bool) {
	sh := dayShape(a, day)
	if sh == shapeIdle {
		return
	}
	n := day.dayNumber()
	f := weekendFactor(day, 0.8) * between(h(tagTrtcDay, a, n), 0.85, 1.15)
	if sh == shapeBusy {
		f *= between(h(tagTrtcBusy, a, n), 3, 6)
	}
	lo, hi := activeSlots(a, day, sh)
	for i := lo; i < hi; i++ {
		g := h(tagTrtcGap, a, n, uint64(i))
		if sh != shapeShort && unit(g) < gapChance(i) {
			continue
		}
		present[i] = true
		if unit(mix(g)) >= zeroPointChance {
			sum[i] = sum[i].Add(trtcSlot(a, n, f, i))
		}
	}
}

// TRTC5Min returns the five-minute points of one day for app (0 = the sum of all known apps, as
// DescribeTrtcInteractiveTime answers without SdkAppId), in time order. Series are irregular:
// slots without a point are left out (none on an idle day, one short stretch on a short day,
// gaps mostly at night otherwise) and a few points carry zeros. With a cutoff (AsOf), only the
// points whose 5 minutes ended by then are given. It does not check that app is known.
func (d Data) TRTC5Min(app uint64, day Date) []TRTCPoint {
	if d.state(day) == dayFuture {
		return nil
	}
	var sum [slotsPerDay]TRTCSeconds
	var present [slotsPerDay]bool
	for _, a := range d.trtcApps(app) {
		trtcAppSlots(a, day, &sum, &present)
	}
	var pts []TRTCPoint
	for i := range slotsPerDay {
		if !present[i] || d.state(day) == dayToday && slotStart(day, i+1).After(d.asOf) {
			continue
		}
		pts = append(pts, TRTCPoint{Start: slotStart(day, i), TRTCSeconds: sum[i]})
	}
	return pts
}

// TRTCDay returns one day's usage of app (0 = all known apps): the sum of its 5-minute points.
func (d Data) TRTCDay(app uint64, day Date) TRTCSeconds {
	var sum TRTCSeconds
	for _, p := range d.TRTC5Min(app, day) {
		sum = sum.Add(p.TRTCSeconds)
	}
	return sum
}

// TRTCDaily returns the daily points of the days from..to (inclusive) for app (0 = all known
// apps), as DescribeTrtcInteractiveTime and DescribeTrtcUsage answer a range of several days:
// one point per day that has at least one 5-minute point (days without any, days after the
// cutoff, are left out), each the sum of its day.
func (d Data) TRTCDaily(app uint64, from, to Date) []TRTCPoint {
	var pts []TRTCPoint
	for day := from; !to.Before(day); day = day.AddDays(1) {
		five := d.TRTC5Min(app, day)
		if len(five) == 0 {
			continue
		}
		var sum TRTCSeconds
		for _, p := range five {
			sum = sum.Add(p.TRTCSeconds)
		}
		pts = append(pts, TRTCPoint{Start: day.Start(), TRTCSeconds: sum})
	}
	return pts
}

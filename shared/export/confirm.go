package export

import (
	"slices"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// confirmed holds, per day, the apps found unchanged in the current cycle: a re-fetch that
// changes nothing writes nothing, so the manifest's fetched_at stays where it was, and the lease
// (snapshot.LeaseRecord.Confirmed) tells later runs of the cycle that those app-days are done.
type confirmed map[string]snapshot.Confirmation

// confirmedSince keeps the confirmations of a lease record made since the cycle began.
func confirmedSince(rec *snapshot.LeaseRecord, cycle time.Time) confirmed {
	c := confirmed{}
	if rec == nil {
		return c
	}
	for day, conf := range rec.Confirmed {
		if !conf.At.Before(cycle) {
			c[day] = conf
		}
	}
	return c
}

// has reports whether app's data of day was found unchanged this cycle. Apps are kept sorted
// (add), so a day of tens of thousands of them is searched, not scanned, for each app.
func (c confirmed) has(day calendar.Day, app string) bool {
	_, ok := slices.BinarySearch(c[day.String()].Apps, app)
	return ok
}

// add records that the apps of day were found unchanged at t.
func (c confirmed) add(day calendar.Day, apps []string, t time.Time) {
	conf, ok := c[day.String()]
	if !ok || t.Before(conf.At) {
		conf.At = t.UTC()
	}
	conf.Apps = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(conf.Apps), apps...))))
	c[day.String()] = conf
}

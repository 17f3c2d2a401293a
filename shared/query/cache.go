package query

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// noStore is the Cache-Control of an answer no cache may keep: one with a live or partial day.
const noStore = "no-store"

// answerVersion changes whenever an answer's shape changes, so that old ETags stop matching.
const answerVersion = "tcusage answer 1"

// cacheControl is the Cache-Control of an answer over days: no-store when a day is live or its
// snapshot is partial; otherwise caches may keep it (shared ones too: it varies by
// Authorization) but must ask again before using it while a day may still be restated, and after
// SettledMaxAge once every day is settled.
func (h *Handler) cacheControl(days []*dayPlan) string {
	settledBefore := h.Runner.CycleLimits().Latest.Add(-h.RestateDays)
	settled := true
	for _, d := range days {
		if d.live || d.manifest.Status != snapshot.StatusComplete {
			return noStore
		}
		settled = settled && d.date.Before(settledBefore)
	}
	if settled {
		return fmt.Sprintf("max-age=%d, must-revalidate", int(SettledMaxAge.Seconds()))
	}
	return "max-age=0, must-revalidate"
}

// etag is the entity tag of an answer read from the days' snapshots: a hash of the query and of
// what the manifests say of every file read (app, format, SHA-256), with each day's version,
// generation time and status. The same tag means the same answer, byte for byte.
func (h *Handler) etag(q Query, days []*dayPlan) string {
	s := h.Runner.Source.Schema()
	hs := sha256.New()
	fmt.Fprintf(hs, "%s\n%s %s\n%s %s %s %s %s %d %s\n", answerVersion, s.Dataset, s.Version,
		q.From, q.To, strings.Join(q.Apps, ","), q.Format, q.Group, q.Top, q.By)
	for _, d := range days {
		if d.live {
			return ""
		}
		m := d.manifest
		fmt.Fprintf(hs, "%s %s %s %s\n", d.date, m.DatasetVersion, m.GeneratedAt.UTC().Format(time.RFC3339Nano), m.Status)
		for _, f := range d.files {
			fmt.Fprintf(hs, "%s %s %x\n", f.app, f.format, f.sha256)
		}
	}
	return `"` + hex.EncodeToString(hs.Sum(nil)[:16]) + `"`
}

// matchesETag reports whether an If-None-Match header matches tag: "*", or tag in its list
// (weak comparison, as If-None-Match compares).
func matchesETag(header, tag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}

// notModified is the 304 answer to a matching If-None-Match.
func notModified(tag, cacheControl string) scfevent.HTTPResponse {
	return scfevent.HTTPResponse{StatusCode: http.StatusNotModified, Headers: map[string]string{
		"ETag": tag, "Cache-Control": cacheControl, "Vary": "Authorization",
	}}
}

// Headers saying where an answer's days came from (the JSON answer's days say it per day).
const (
	HeaderSnapshotDays = "X-Tcusage-Snapshot-Days" // how many days came from snapshots
	HeaderLiveDays     = "X-Tcusage-Live-Days"     // the days fetched live, comma-separated
)

func setSourceHeaders(hdr map[string]string, days []*dayPlan) {
	var live []string
	for _, d := range days {
		if d.live {
			live = append(live, d.date.String())
		}
	}
	hdr[HeaderSnapshotDays] = strconv.Itoa(len(days) - len(live))
	if len(live) > 0 {
		hdr[HeaderLiveDays] = strings.Join(live, ",")
	}
}

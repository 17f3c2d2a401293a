package report

import (
	"container/heap"
	"slices"
	"strings"
)

// TopRoom is one of the day's largest rooms.
type TopRoom struct {
	App     string
	Room    string
	Seconds float64
	// Parts are the room's figures per usage column (audio, sd, hd, ...), in seconds.
	Parts map[string]float64
}

// topRooms keeps the n largest rooms seen, in a min-heap whose root is the smallest kept: a
// room smaller than the root is dismissed without allocating, so memory is O(n) whatever the
// number of rooms.
type topRooms struct {
	n    int
	h    roomHeap
	seen int64
}

func newTopRooms(n int) *topRooms {
	return &topRooms{n: n, h: make(roomHeap, 0, max(n, 0))}
}

// offer considers one room; cols and parts are only read during the call.
func (t *topRooms) offer(app, room string, total float64, cols []string, parts []float64) {
	t.seen++
	if t.n <= 0 {
		return
	}
	if len(t.h) == t.n && !roomLess(t.h[0], TopRoom{App: app, Room: room, Seconds: total}) {
		return
	}
	r := TopRoom{App: app, Room: strings.Clone(room), Seconds: total, Parts: make(map[string]float64, len(cols))}
	for i, c := range cols {
		r.Parts[c] = parts[i]
	}
	if len(t.h) < t.n {
		heap.Push(&t.h, r)
		return
	}
	t.h[0] = r
	heap.Fix(&t.h, 0)
}

// rooms returns the kept rooms, largest first.
func (t *topRooms) rooms() []TopRoom {
	out := slices.Clone(t.h)
	slices.SortFunc(out, func(a, b TopRoom) int {
		if roomLess(a, b) {
			return 1
		}
		if roomLess(b, a) {
			return -1
		}
		return 0
	})
	return out
}

// roomLess orders rooms by usage, ties broken by app and room ID (the later one is smaller), so
// the result does not depend on the order rows arrive in.
func roomLess(a, b TopRoom) bool {
	if a.Seconds != b.Seconds {
		return a.Seconds < b.Seconds
	}
	if c := compareApps(a.App, b.App); c != 0 {
		return c > 0
	}
	return a.Room > b.Room
}

type roomHeap []TopRoom

func (h roomHeap) Len() int           { return len(h) }
func (h roomHeap) Less(i, j int) bool { return roomLess(h[i], h[j]) }
func (h roomHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *roomHeap) Push(x any)        { *h = append(*h, x.(TopRoom)) }
func (h *roomHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

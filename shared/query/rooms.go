package query

import (
	"bufio"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// Rooms are summed over a range without holding every room: each app-day's rows come ordered by
// room ID (the writer sorts them, stored or live), so the days of an app are merged like sorted
// runs, one room at a time, and each room's sums go to a heap of the top N, or to the answer.
// Memory holds one row per day being merged, the heap, and the answer itself.

// maxFanIn is how many days of an app are merged at once by default; an app with more days is
// merged in runs of that many, spooled to temporary files, then the runs are merged.
const maxFanIn = 64

func (h *Handler) fanIn() int {
	if h.mergeFanIn > 1 {
		return h.mergeFanIn
	}
	return maxFanIn
}

// roomCursor walks one sorted stream of rooms: an app-day's rows, or a spooled run's sums.
type roomCursor struct {
	part *part // nil for a run
	rc   io.ReadCloser
	// An app-day's rows.
	rr      *rowReader
	idx     []int
	roomCol int
	vals    []usage.Value
	// A run's sums, one line per room.
	run    *bufio.Scanner
	runRow runLine
	room   string
	done   bool
}

// runLine is one room of a spooled run: its ID, how many rows its sums add up, and the sums by
// measure index.
type runLine struct {
	Room string         `json:"r"`
	Rows int64          `json:"n"`
	Sums map[int]string `json:"s"`
}

// advance moves the cursor to its next room. A stream whose rooms go backwards is an error: the
// merge relies on the order.
func (c *roomCursor) advance(ms *measureSet) error {
	prev, started := c.room, c.vals != nil || c.runRow.Room != ""
	if c.run != nil {
		if !c.run.Scan() {
			c.done = true
			return c.run.Err()
		}
		c.runRow = runLine{}
		if err := json.Unmarshal(c.run.Bytes(), &c.runRow); err != nil {
			return fmt.Errorf("%w: run: %w", export.ErrLocal, err)
		}
		c.room = c.runRow.Room
	} else {
		vals, err := c.rr.Next()
		if errors.Is(err, io.EOF) {
			c.done = true
			return nil
		}
		if err != nil {
			return err
		}
		if c.idx == nil {
			if c.roomCol = slices.Index(c.rr.Columns(), "room_id"); c.roomCol < 0 {
				return errors.New("no room_id column")
			}
			c.idx = ms.indexes(c.part.version, c.rr.Columns())
		}
		c.room, c.vals = vals[c.roomCol].Text, vals
	}
	if started && c.room < prev {
		return fmt.Errorf("rooms out of order: %q after %q", c.room, prev)
	}
	return nil
}

// addTo adds the cursor's current room to g.
func (c *roomCursor) addTo(g *groupRow) error {
	if c.run == nil {
		return g.add(c.idx, c.vals)
	}
	g.rows += c.runRow.Rows
	for m, text := range c.runRow.Sums {
		if m < 0 || m > 1<<16 {
			return fmt.Errorf("%w: run: measure %d", export.ErrLocal, m)
		}
		g.grow(m)
		if err := g.sums[m].add(text); err != nil {
			return err
		}
	}
	return nil
}

// close closes the cursor's stream and releases its reader.
func (c *roomCursor) close() {
	c.rc.Close()
	if c.rr != nil {
		c.rr.release()
	}
}

// cursorHeap orders cursors by their current room.
type cursorHeap []*roomCursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return h[i].room < h[j].room }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*roomCursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// roomSink receives each room's sums in room order; it may keep g.
type roomSink func(g *groupRow) error

// readRooms sums every app's rooms over the parts: the top N by the query's ranking, or every
// room in app and room order (errTooLarge once they outgrow an answer).
func (h *Handler) readRooms(ctx context.Context, q Query, parts []*part, ms *measureSet, tl *tamperLog) ([]*groupRow, error) {
	byApp := map[string][]*part{}
	for _, p := range parts {
		byApp[p.app] = append(byApp[p.app], p)
	}
	collect := newRoomCollector(q, ms)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, min(8, 2*h.readers()/min(len(parts)/max(1, len(byApp))+1, h.fanIn()))))
	for i, app := range q.Apps {
		g.Go(func() error {
			sink := collect.sink(i)
			return h.mergeApp(gctx, app, i, byApp[app], ms, tl, sink)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return collect.result(), nil
}

// mergeApp merges the days of one app, in runs of maxFanIn days when it has more.
func (h *Handler) mergeApp(ctx context.Context, app string, appIndex int, parts []*part, ms *measureSet, tl *tamperLog, sink roomSink) error {
	fanIn := h.fanIn()
	if len(parts) <= fanIn {
		return h.merge(ctx, app, appIndex, h.partCursors(parts), ms, tl, sink)
	}
	var runs []*snapshot.Spool
	defer func() {
		for _, r := range runs {
			r.Remove()
		}
	}()
	for c := 0; c < len(parts); c += fanIn {
		run, err := h.spoolRun(ctx, app, appIndex, parts[c:min(c+fanIn, len(parts))], ms, tl)
		if run != nil {
			runs = append(runs, run)
		}
		if err != nil {
			return err
		}
	}
	var cursors []opener
	for _, run := range runs {
		cursors = append(cursors, opener{open: func(context.Context) (*roomCursor, error) {
			rc, err := run.Open()
			if err != nil {
				return nil, fmt.Errorf("%w: %w", export.ErrLocal, err)
			}
			sc := bufio.NewScanner(rc)
			sc.Buffer(make([]byte, 0, 64<<10), maxLine)
			return &roomCursor{rc: rc, run: sc}, nil
		}})
	}
	return h.merge(ctx, app, appIndex, cursors, ms, tl, sink)
}

// spoolRun merges some days of an app into a temporary file of each room's sums (runLine per
// line), in room order.
func (h *Handler) spoolRun(ctx context.Context, app string, appIndex int, parts []*part, ms *measureSet, tl *tamperLog) (*snapshot.Spool, error) {
	sp, err := snapshot.NewSpool(h.Runner.TempDir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", export.ErrLocal, err)
	}
	enc := json.NewEncoder(sp)
	err = h.merge(ctx, app, appIndex, h.partCursors(parts), ms, tl, func(g *groupRow) error {
		line := runLine{Room: g.room, Rows: g.rows, Sums: make(map[int]string, len(g.sums))}
		for m, s := range g.sums {
			line.Sums[m] = s.String()
		}
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("%w: %w", export.ErrLocal, err)
		}
		return nil
	})
	if cerr := sp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%w: %w", export.ErrLocal, cerr)
	}
	return sp, err
}

// opener opens one stream of a merge when it starts.
type opener struct {
	part *part // nil for a spooled run
	open func(ctx context.Context) (*roomCursor, error)
}

// partCursors opens each part as a cursor.
func (h *Handler) partCursors(parts []*part) []opener {
	out := make([]opener, len(parts))
	for i, p := range parts {
		out[i] = opener{part: p, open: func(ctx context.Context) (*roomCursor, error) {
			rc, err := p.open(ctx, h.Runner)
			if err != nil {
				return nil, err
			}
			rr, err := newRowReader(rc, p.format, p.columns, p.rows(), h.Runner.Source.Schema())
			if err != nil {
				err = p.check(rc, err)
				rc.Close()
				return nil, err
			}
			return &roomCursor{part: p, rc: rc, rr: rr}, nil
		}}
	}
	return out
}

// merge merges the sorted streams of one app and hands each room's sums to sink. A stream whose
// stored file does not match its manifest is recorded in tl and left out (the answer is read
// again once its day was fetched live).
func (h *Handler) merge(ctx context.Context, app string, appIndex int, open []opener, ms *measureSet, tl *tamperLog, sink roomSink) error {
	var cur cursorHeap
	defer func() {
		for _, c := range cur {
			c.close()
		}
	}()
	// drop ends a stream; its error stops the merge unless it is a mismatch.
	drop := func(p *part, rc io.Reader, err error) error {
		if err == nil {
			return nil
		}
		if p != nil {
			if err = p.fail(p.check(rc, err)); tampered(err) {
				tl.add(p.day, err)
				return nil
			}
		}
		return err
	}
	for _, o := range open {
		c, err := o.open(ctx)
		if err != nil {
			if err := drop(o.part, eofReader{}, err); err != nil {
				return err
			}
			continue
		}
		if err := c.advance(ms); err != nil || c.done {
			err = drop(c.part, c.rc, err)
			c.close()
			if err != nil {
				return err
			}
			continue
		}
		cur = append(cur, c)
	}
	heap.Init(&cur)
	for n := 0; len(cur) > 0; n++ {
		if n%4096 == 4095 && ctx.Err() != nil {
			return ctx.Err()
		}
		g := &groupRow{app: app, appIndex: appIndex, room: cur[0].room}
		for len(cur) > 0 && cur[0].room == g.room {
			c := cur[0]
			err := c.addTo(g)
			if err == nil {
				err = c.advance(ms)
			}
			if err == nil && !c.done {
				heap.Fix(&cur, 0)
				continue
			}
			heap.Pop(&cur)
			err = drop(c.part, c.rc, err)
			c.close()
			if err != nil {
				return err
			}
		}
		if err := sink(g); err != nil {
			return err
		}
	}
	return nil
}

// eofReader is an empty reader.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// roomCollector gathers the rooms of every app: a heap of the top N, or every room in order.
type roomCollector struct {
	q     Query
	rank  ranking
	mu    sync.Mutex
	top   *topHeap
	apps  [][]*groupRow
	bytes int64 // estimated size of every room kept, for an answer without top
}

func newRoomCollector(q Query, ms *measureSet) *roomCollector {
	c := &roomCollector{q: q, apps: make([][]*groupRow, len(q.Apps))}
	if q.Top > 0 {
		c.rank = rankingOf(q, ms)
		c.top = &topHeap{n: q.Top, less: func(a, b *groupRow) bool { return larger(c.rank)(a, b) > 0 }}
	}
	return c
}

// sink returns the sink of app i's rooms.
func (c *roomCollector) sink(i int) roomSink {
	return func(g *groupRow) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.top != nil {
			c.top.offer(g)
			return nil
		}
		// About a row of the answer: the keys, a count and the figures.
		c.bytes += int64(len(g.app)+len(g.room)+40) + int64(len(g.sums))*24
		if c.bytes > MaxResponseBytes {
			return errTooLarge
		}
		c.apps[i] = append(c.apps[i], g)
		return nil
	}
}

func (c *roomCollector) result() []*groupRow {
	if c.top != nil {
		out := slices.Clone(c.top.rows)
		slices.SortFunc(out, larger(c.rank))
		return out
	}
	var out []*groupRow
	for _, rows := range c.apps {
		out = append(out, rows...)
	}
	return out
}

// topHeap keeps the n largest groups seen, in a heap whose root is the smallest kept: a group
// smaller than the root is dismissed at once, so memory holds n groups whatever their number.
type topHeap struct {
	n    int
	rows []*groupRow
	less func(a, b *groupRow) bool // a ranks below b
}

func (t *topHeap) Len() int           { return len(t.rows) }
func (t *topHeap) Less(i, j int) bool { return t.less(t.rows[i], t.rows[j]) }
func (t *topHeap) Swap(i, j int)      { t.rows[i], t.rows[j] = t.rows[j], t.rows[i] }
func (t *topHeap) Push(x any)         { t.rows = append(t.rows, x.(*groupRow)) }
func (t *topHeap) Pop() any {
	g := t.rows[len(t.rows)-1]
	t.rows = t.rows[:len(t.rows)-1]
	return g
}

func (t *topHeap) offer(g *groupRow) {
	if len(t.rows) < t.n {
		heap.Push(t, g)
		return
	}
	if !t.less(t.rows[0], g) {
		return
	}
	t.rows[0] = g
	heap.Fix(t, 0)
}

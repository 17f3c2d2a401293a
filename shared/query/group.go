package query

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/usage"
)

// measureSet names the measures of an answer: the schema's, then further columns of an open
// schema as files bring them. Indexes never change once given.
type measureSet struct {
	mu     sync.Mutex
	names  []string
	index  map[string]int
	schema usage.Schema
}

// newMeasureSet starts with the schema's measures, and by (the measure groups are ranked by; it
// has its index before any file brings it).
func newMeasureSet(s usage.Schema, by string) *measureSet {
	m := &measureSet{index: map[string]int{}, schema: s}
	for _, name := range s.Measures() {
		m.add(name)
	}
	if by != "" && by != ByTotal {
		m.add(by)
	}
	return m
}

func (m *measureSet) add(name string) int {
	if i, ok := m.index[name]; ok {
		return i
	}
	m.names = append(m.names, name)
	m.index[name] = len(m.names) - 1
	return len(m.names) - 1
}

// indexes maps the columns of a file written under version to measure indexes (-1: not a
// measure). Columns of an earlier version count under their current names.
func (m *measureSet) indexes(version string, columns []string) []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]int, len(columns))
	for i, c := range columns {
		name := usage.CurrentColumn(m.schema.Dataset, version, c)
		out[i] = -1
		if m.schema.IsMeasure(name) && measureRE.MatchString(name) {
			out[i] = m.add(name)
		}
	}
	return out
}

// lookup returns a measure's index (-1: never met).
func (m *measureSet) lookup(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i, ok := m.index[name]; ok {
		return i
	}
	return -1
}

// ordered returns the measures in the order answers list them, the schema's first, then the
// others by name, with each one's index.
func (m *measureSet) ordered() (names []string, pos []int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fixed := len(m.schema.Measures())
	extra := slices.Clone(m.names[fixed:])
	slices.Sort(extra)
	names = append(slices.Clone(m.names[:fixed]), extra...)
	for _, n := range names {
		pos = append(pos, m.index[n])
	}
	return names, pos
}

// groupRow is one group of a grouped answer and its sums.
type groupRow struct {
	date     calendar.Day // group=day
	app      string       // group=app, group=room
	appIndex int          // the app's place in the query
	room     string       // group=room
	rows     int64
	sums     []decimal // by measure index; a missing one is 0
}

// add adds one row whose columns map to measures by idx.
func (g *groupRow) add(idx []int, vals []usage.Value) error {
	g.rows++
	for i, m := range idx {
		if m < 0 || vals[i].Text == "" {
			continue
		}
		g.grow(m)
		if err := g.sums[m].add(vals[i].Text); err != nil {
			return err
		}
	}
	return nil
}

// addSums adds rows rows whose measure sums are sums, by the schema's measures' indexes (a
// measure set gives them theirs first).
func (g *groupRow) addSums(rows int64, sums []int64) {
	g.rows += rows
	g.grow(len(sums) - 1)
	for m, v := range sums {
		g.sums[m].addInt(v)
	}
}

func (g *groupRow) grow(m int) {
	if m >= len(g.sums) {
		g.sums = append(g.sums, make([]decimal, m+1-len(g.sums))...)
	}
}

// plus adds another group's rows and sums.
func (g *groupRow) plus(o *groupRow) {
	g.rows += o.rows
	for m, s := range o.sums {
		g.grow(m)
		g.sums[m].plus(s)
	}
}

func (g *groupRow) measure(m int) decimal {
	if m < 0 || m >= len(g.sums) {
		return decimal{}
	}
	return g.sums[m]
}

// ranking is the measure top=N ranks groups by: one measure's index, or every measure's total.
type ranking struct {
	index int
	total bool
}

func (r ranking) value(g *groupRow) decimal {
	if !r.total {
		return g.measure(r.index)
	}
	var t decimal
	for _, s := range g.sums {
		t.plus(s)
	}
	return t
}

// compareKeys orders groups by their key: day, or app (in the query's order) then room.
func compareKeys(a, b *groupRow) int {
	return cmp.Or(a.date.Compare(b.date), cmp.Compare(a.appIndex, b.appIndex), cmp.Compare(a.room, b.room))
}

// larger orders groups largest first by r, ties in key order.
func larger(r ranking) func(a, b *groupRow) int {
	return func(a, b *groupRow) int {
		return cmp.Or(r.value(b).cmp(r.value(a)), compareKeys(a, b))
	}
}

// readGroups sums the parts per day or per app, reading them in parallel. A stored file that does
// not match its manifest is recorded in tl and reading goes on.
func (h *Handler) readGroups(ctx context.Context, q Query, parts []*part, ms *measureSet, tl *tamperLog) ([]*groupRow, error) {
	var mu sync.Mutex
	groups := map[groupKey]*groupRow{}
	err := forEach(ctx, len(parts), h.readers(), func(ctx context.Context, i int) error {
		p := parts[i]
		sum := &groupRow{appIndex: slices.Index(q.Apps, p.app)}
		switch q.Group {
		case GroupDay:
			sum.date, sum.appIndex = p.day.date, 0
		case GroupApp:
			sum.app = p.app
		}
		err := h.sumPart(ctx, p, ms, sum)
		switch {
		case tampered(err):
			tl.add(p.day, err)
			return nil
		case err != nil:
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		k := groupKey{date: sum.date, app: sum.app}
		if have, ok := groups[k]; ok {
			have.plus(sum)
		} else {
			groups[k] = sum
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*groupRow, 0, len(groups))
	for _, gr := range groups {
		out = append(out, gr)
	}
	return rank(q, ms, out), nil
}

// sumPart adds a part's rows to sum: the manifest's exact sums of a stored file when it has them
// (see manifestSums; the file is not read), else the rows as scanned (scanPart's errors).
func (h *Handler) sumPart(ctx context.Context, p *part, ms *measureSet, sum *groupRow) error {
	if p.stored != nil && p.stored.sums != nil {
		sum.addSums(p.stored.rows, p.stored.sums)
		return nil
	}
	return h.scanPart(ctx, p, ms, func(idx []int, vals []usage.Value) error { return sum.add(idx, vals) })
}

type groupKey struct {
	date calendar.Day
	app  string
}

// rank orders groups by key, or keeps the top N largest, largest first.
func rank(q Query, ms *measureSet, groups []*groupRow) []*groupRow {
	if q.Top == 0 {
		slices.SortFunc(groups, compareKeys)
		return groups
	}
	slices.SortFunc(groups, larger(rankingOf(q, ms)))
	return groups[:min(q.Top, len(groups))]
}

func rankingOf(q Query, ms *measureSet) ranking {
	if q.By == ByTotal {
		return ranking{total: true}
	}
	return ranking{index: ms.lookup(q.By)}
}

// scanPart reads a part's rows, calling fn with each row's values and their measure indexes. The
// error names the part; a stored file that does not match its manifest ends the scan with an
// error for which tampered is true.
func (h *Handler) scanPart(ctx context.Context, p *part, ms *measureSet, fn func(idx []int, vals []usage.Value) error) error {
	rc, err := p.open(ctx, h.Runner)
	if err != nil {
		return p.fail(err)
	}
	defer rc.Close()
	rr, err := newRowReader(rc, p.format, p.columns, p.rows(), ms.schema)
	if err != nil {
		return p.fail(p.check(rc, err))
	}
	defer rr.release()
	var idx []int
	for n := 0; ; n++ {
		vals, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return p.fail(p.check(rc, err))
		}
		if idx == nil {
			idx = ms.indexes(p.version, rr.Columns())
		}
		if n%4096 == 4095 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(idx, vals); err != nil {
			return p.fail(p.check(rc, err))
		}
	}
}

// check returns the mismatch of a stored file whose reading failed with err: the file is read to
// its end, so that a changed file is told apart from one that is sound but unreadable. Otherwise
// (or for a live part) it returns err.
func (p *part) check(rc io.Reader, err error) error {
	if p.stored == nil || tampered(err) {
		return err
	}
	if _, derr := io.Copy(io.Discard, rc); tampered(derr) {
		return derr
	}
	return err
}

// fail names the part in an error: a file the function cannot read although it is what it wrote
// wraps export.ErrLocal, the store's other failures export.ErrStore; a mismatch stays as it is.
func (p *part) fail(err error) error {
	switch {
	case tampered(err), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, errTooLarge):
		return err
	case errors.Is(err, errNotDecimal), errors.As(err, new(*csv.ParseError)), errors.As(err, new(*json.SyntaxError)):
		return fmt.Errorf("%w: %s app %s: %w", export.ErrLocal, p.day.date, p.app, err)
	}
	return fmt.Errorf("%w: %s app %s: %w", export.ErrStore, p.day.date, p.app, err)
}

// invalid answers 400 InvalidParameter.
func invalid(ie *plan.InputError) *httpAnswer {
	resp := invalidParameter(ie)
	return &resp
}

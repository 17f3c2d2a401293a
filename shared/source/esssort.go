package source

import (
	"bufio"
	"container/heap"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/tcusage/tcusage/shared/usage"
)

// essRunSize is how many ESS records an essSorter holds in memory; beyond it, sorted runs go to
// temporary files and are merged at the end (about 3 MB of records).
const essRunSize = 8192

// essSorter collects one organisation's records and yields them in usage.CompareESS order with
// memory bounded by essRunSize records: an external merge sort. Runs are sorted stably and merged
// with ties going to the earlier run, so the result is exactly what a stable in-memory sort of
// all records gives.
type essSorter struct {
	dir  string // "" = os.TempDir()
	size int    // records per run (essRunSize when 0)
	buf  []usage.ESSRecord
	runs []string // run files, closed between writing and merging (any number stay cheap)
}

// add appends one record, spilling a sorted run when the buffer is full.
func (s *essSorter) add(r usage.ESSRecord) error {
	s.buf = append(s.buf, r)
	if len(s.buf) >= s.runSize() {
		return s.spill()
	}
	return nil
}

func (s *essSorter) runSize() int {
	if s.size > 0 {
		return s.size
	}
	return essRunSize
}

func (s *essSorter) spill() error {
	slices.SortStableFunc(s.buf, usage.CompareESS)
	f, err := os.CreateTemp(s.dir, "tcusage-ess-*.run")
	if err != nil {
		return fmt.Errorf("ESS sort run: %w", err)
	}
	s.runs = append(s.runs, f.Name())
	w := bufio.NewWriterSize(f, 64<<10)
	enc := gob.NewEncoder(w)
	for i := range s.buf {
		if err := enc.Encode(&s.buf[i]); err != nil {
			f.Close()
			return fmt.Errorf("ESS sort run: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("ESS sort run: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("ESS sort run: %w", err)
	}
	clear(s.buf)
	s.buf = s.buf[:0]
	return nil
}

// each calls fn with every record in order.
func (s *essSorter) each(fn func(usage.ESSRecord) error) error {
	if len(s.runs) == 0 {
		slices.SortStableFunc(s.buf, usage.CompareESS)
		for _, r := range s.buf {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
	if len(s.buf) > 0 {
		if err := s.spill(); err != nil {
			return err
		}
	}
	h := &runHeap{}
	for i, name := range s.runs {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("ESS sort merge: %w", err)
		}
		defer f.Close()
		c := &runCursor{run: i, dec: gob.NewDecoder(bufio.NewReaderSize(f, 32<<10))}
		ok, err := c.next()
		if err != nil {
			return err
		}
		if ok {
			h.items = append(h.items, c)
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		c := h.items[0]
		if err := fn(c.rec); err != nil {
			return err
		}
		ok, err := c.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return nil
}

// close removes the runs.
func (s *essSorter) close() {
	for _, name := range s.runs {
		os.Remove(name)
	}
	s.runs, s.buf = nil, nil
}

// runCursor is the next record of one run.
type runCursor struct {
	run int
	dec *gob.Decoder
	rec usage.ESSRecord
}

func (c *runCursor) next() (bool, error) {
	c.rec = usage.ESSRecord{}
	if err := c.dec.Decode(&c.rec); err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, fmt.Errorf("ESS sort merge: %w", err)
	}
	return true, nil
}

// runHeap orders cursors by their record, then by run (stability).
type runHeap struct{ items []*runCursor }

func (h *runHeap) Len() int { return len(h.items) }
func (h *runHeap) Less(i, j int) bool {
	if c := usage.CompareESS(h.items[i].rec, h.items[j].rec); c != 0 {
		return c < 0
	}
	return h.items[i].run < h.items[j].run
}
func (h *runHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *runHeap) Push(x any)    { h.items = append(h.items, x.(*runCursor)) }
func (h *runHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

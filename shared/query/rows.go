package query

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/tcusage/tcusage/shared/usage"
)

// errTooLarge stops reading once an answer cannot fit in an SCF response.
var errTooLarge = errors.New("answer too large")

// tamperLog collects the days whose stored files did not match their manifests while an answer
// was read, with the first mismatch of each.
type tamperLog struct {
	mu   sync.Mutex
	days map[*dayPlan]error
}

func (t *tamperLog) add(d *dayPlan, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.days == nil {
		t.days = map[*dayPlan]error{}
	}
	if _, ok := t.days[d]; !ok {
		t.days[d] = err
	}
}

// readRows reads the parts of an ungrouped answer in the query's format, in parallel, and
// returns each part's bytes in order. A stored file that does not match its manifest is recorded
// in tl and reading goes on; errTooLarge stops it once the bytes outgrow an answer.
func (h *Handler) readRows(ctx context.Context, q Query, parts []*part, tl *tamperLog) ([][]byte, error) {
	out := make([][]byte, len(parts))
	var total atomic.Int64
	err := forEach(ctx, len(parts), h.readers(), func(ctx context.Context, i int) error {
		p := parts[i]
		b, err := h.partBytes(ctx, q.Format, p)
		switch {
		case tampered(err):
			tl.add(p.day, err)
			return nil
		case err != nil:
			return err
		}
		if total.Add(int64(len(b))) > MaxResponseBytes {
			return errTooLarge
		}
		out[i] = b
		return nil
	})
	return out, err
}

// partBytes returns a part's rows in format: its bytes as they are when it is in that format,
// else re-encoded from the other text format, value for value.
func (h *Handler) partBytes(ctx context.Context, format usage.Format, p *part) ([]byte, error) {
	rc, err := p.open(ctx, h.Runner)
	if err != nil {
		return nil, p.fail(err)
	}
	defer rc.Close()
	if p.format == format {
		b, err := io.ReadAll(rc)
		if err != nil {
			return nil, p.fail(err)
		}
		return b, nil
	}
	schema := h.Runner.Source.Schema()
	rr, err := newRowReader(rc, p.format, p.columns, p.rows(), schema)
	if err != nil {
		return nil, p.fail(p.check(rc, err))
	}
	defer rr.release()
	row, err := rr.Next() // a JSON Lines file without listed columns names them in its first row
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, p.fail(p.check(rc, err))
	}
	var buf bytes.Buffer
	w, werr := usage.NewWriter(format, &buf, schema, rr.Columns())
	if werr != nil {
		return nil, werr
	}
	for ; err == nil; row, err = rr.Next() {
		if err := w.WriteRow(row); err != nil {
			return nil, err
		}
		if buf.Len() > MaxResponseBytes {
			return nil, errTooLarge
		}
	}
	if !errors.Is(err, io.EOF) {
		return nil, p.fail(p.check(rc, err))
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

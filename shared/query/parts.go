package query

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"

	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// part is one app-day of an answer: a stored file a manifest lists, or a live answer's
// temporary file.
type part struct {
	day     *dayPlan
	app     string
	format  usage.Format
	columns []string // as the file has them; empty when its manifest predates column lists
	version string   // the dataset version the file was written under
	stored  *storedFile
	live    *export.Answer
}

// parts returns the app-days of days, in order of days then apps.
func (h *Handler) parts(days []*dayPlan) []*part {
	current := h.Runner.Source.Schema().Version
	var out []*part
	for _, d := range days {
		if d.live {
			for i := range d.answers {
				a := &d.answers[i]
				out = append(out, &part{day: d, app: a.App, format: a.Format, columns: a.Columns, version: current, live: a})
			}
			continue
		}
		for i := range d.files {
			f := &d.files[i]
			out = append(out, &part{day: d, app: f.app, format: f.format, columns: f.columns, version: d.version(current), stored: f})
		}
	}
	return out
}

// open opens the part's bytes. A stored file is checked against its manifest entry as it is read
// (snapshot.OpenVerified): reading it to the end ends in an error wrapping
// snapshot.ErrFileMismatch if it was changed.
func (p *part) open(ctx context.Context, r *export.Runner) (io.ReadCloser, error) {
	if p.live != nil {
		return p.live.Body.Open()
	}
	e, err := p.stored.entry(r.Prefix, r.Dataset(), p.version, p.day.date)
	if err != nil {
		return nil, err
	}
	return snapshot.OpenVerified(ctx, r.Store, e)
}

// rows is a stored file's row count from its manifest (0 for a live part: never Parquet).
func (p *part) rows() int64 {
	if p.stored == nil {
		return 0
	}
	return p.stored.rows
}

// tampered reports whether err means the stored file is not the one its manifest lists: changed
// (snapshot.ErrFileMismatch) or gone.
func tampered(err error) bool {
	return errors.Is(err, snapshot.ErrFileMismatch) || errors.Is(err, fs.ErrNotExist)
}

// nextParquet returns the next row of a Parquet file; after the last, the rest of the file is
// read, so that a file that does not match its manifest ends in its mismatch.
func (rr *rowReader) nextParquet() ([]usage.Value, error) {
	for rr.row >= rr.parquet.Len() {
		if !rr.parquet.Next() {
			if err := rr.parquet.Err(); err != nil {
				return nil, err
			}
			if _, err := io.Copy(io.Discard, rr.src); err != nil {
				return nil, err
			}
			return nil, io.EOF
		}
		rr.row = 0
	}
	cols := rr.parquet.Columns()
	for i := range cols {
		rr.values[i] = usage.Value{Text: cols[i].Text(rr.row), Number: rr.numeric[i]}
	}
	rr.row++
	return rr.values, nil
}

// maxLine bounds one JSON Lines row.
const maxLine = 16 << 20

// rowReader reads the rows of a JSON Lines or CSV file as values, in its columns' order. Its
// buffers come from pools: a year of hundreds of apps is tens of thousands of files; release
// returns them.
type rowReader struct {
	columns []string
	values  []usage.Value
	// CSV
	csv     *csv.Reader
	buf     *bufio.Reader
	numeric []bool
	// JSON Lines
	lines   *bufio.Scanner
	lineBuf *[]byte
	index   map[string]int
	raw     map[string]json.RawMessage
	line    int
	// Parquet (grouped answers only: its values are the stored ones, but timestamps come back in
	// UTC and decimals in their shortest form, so rows are answered from the text formats)
	parquet *usage.ParquetReader
	row     int       // the next row of the current row group
	src     io.Reader // the file, read to its end (its check) once the last row group is in
}

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}
	linePool   = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}
)

// release returns the reader's buffers to their pools; it must not be used after.
func (rr *rowReader) release() {
	if rr.buf != nil {
		rr.buf.Reset(nil)
		readerPool.Put(rr.buf)
		rr.buf = nil
	}
	if rr.lineBuf != nil {
		linePool.Put(rr.lineBuf)
		rr.lineBuf = nil
	}
}

// newRowReader reads r in format. columns are the file's columns when known (a JSON Lines file's
// keys come from its first row otherwise); a CSV file's come from its header; a Parquet file
// needs them, and its rows, from the manifest. Values of numeric columns (after s's types;
// further columns of an open schema are numbers) are marked Number.
func newRowReader(r io.Reader, format usage.Format, columns []string, rows int64, s usage.Schema) (*rowReader, error) {
	rr := &rowReader{}
	switch format {
	case usage.Parquet:
		if len(columns) == 0 {
			return nil, fmt.Errorf("parquet: the manifest lists no columns")
		}
		pr, err := usage.NewParquetReader(r, s, columns, rows)
		if err != nil {
			return nil, err
		}
		rr.parquet, rr.src = pr, r
		rr.columns = slices.Clone(columns)
		rr.numeric = make([]bool, len(columns))
		for i, c := range columns {
			rr.numeric[i] = numericColumn(s, c)
		}
	case usage.CSV:
		rr.buf = readerPool.Get().(*bufio.Reader)
		rr.buf.Reset(r)
		rr.csv = csv.NewReader(rr.buf) // a *bufio.Reader that large is used as it is
		rr.csv.ReuseRecord = true
		header, err := rr.csv.Read()
		if errors.Is(err, io.EOF) {
			header, err = nil, nil // an empty file: no columns, no rows
		}
		if err != nil {
			rr.release()
			return nil, fmt.Errorf("csv header: %w", err)
		}
		rr.columns = slices.Clone(header)
		rr.numeric = make([]bool, len(header))
		for i, c := range header {
			rr.numeric[i] = numericColumn(s, c)
		}
	case usage.JSONL:
		rr.lines = bufio.NewScanner(r)
		rr.lineBuf = linePool.Get().(*[]byte)
		rr.lines.Buffer((*rr.lineBuf)[:0], maxLine)
		rr.columns = slices.Clone(columns)
		rr.raw = map[string]json.RawMessage{}
	default:
		return nil, fmt.Errorf("cannot read %s files", format)
	}
	rr.setColumns(rr.columns)
	return rr, nil
}

func (rr *rowReader) setColumns(cols []string) {
	rr.columns = cols
	rr.values = make([]usage.Value, len(cols))
	rr.index = make(map[string]int, len(cols))
	for i, c := range cols {
		rr.index[c] = i
	}
}

// numericColumn reports whether column c holds numbers: int64 or decimal in s, or a further
// column of an open schema.
func numericColumn(s usage.Schema, c string) bool {
	i := slices.IndexFunc(s.Columns, func(col usage.Column) bool { return col.Name == c })
	if i < 0 {
		return s.Open
	}
	return s.Columns[i].Type == usage.TypeInt64 || s.Columns[i].Type == usage.TypeDecimal
}

// Columns returns the file's columns (for JSON Lines without listed columns: known after the
// first Next).
func (rr *rowReader) Columns() []string { return rr.columns }

// Next returns the next row's values, valid until the next call; io.EOF at the end, or the
// reader's own error at the end (a stored file that does not match its manifest).
func (rr *rowReader) Next() ([]usage.Value, error) {
	if rr.parquet != nil {
		return rr.nextParquet()
	}
	if rr.csv != nil {
		rec, err := rr.csv.Read()
		if err != nil {
			return nil, err
		}
		if len(rec) != len(rr.values) {
			return nil, fmt.Errorf("csv row has %d fields, header %d", len(rec), len(rr.values))
		}
		for i, f := range rec {
			rr.values[i] = usage.Value{Text: f, Number: rr.numeric[i]}
		}
		return rr.values, nil
	}
	for rr.lines.Scan() {
		rr.line++
		b := bytes.TrimSpace(rr.lines.Bytes())
		if len(b) == 0 {
			continue
		}
		return rr.values, rr.decodeLine(b)
	}
	if err := rr.lines.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

// decodeLine decodes one JSON Lines row into rr.values, by key.
func (rr *rowReader) decodeLine(b []byte) error {
	if len(rr.columns) == 0 {
		keys, err := objectKeys(b)
		if err != nil {
			return fmt.Errorf("line %d: %w", rr.line, err)
		}
		rr.setColumns(keys)
	}
	clear(rr.raw)
	if err := json.Unmarshal(b, &rr.raw); err != nil {
		return fmt.Errorf("line %d: %w", rr.line, err)
	}
	for i, c := range rr.columns {
		raw, ok := rr.raw[c]
		switch {
		case !ok || string(raw) == "null":
			rr.values[i] = usage.Value{Number: true} // a null figure
		case raw[0] == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("line %d: column %s: %w", rr.line, c, err)
			}
			rr.values[i] = usage.Str(s)
		default:
			rr.values[i] = usage.Value{Text: string(raw), Number: true}
		}
	}
	return nil
}

// objectKeys returns the keys of the JSON object b, in order.
func objectKeys(b []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

package report

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// ErrDataMismatch is wrapped by errors about a data file that differs from its manifest entry
// (size, SHA-256 or row count): the report refuses figures the manifest does not vouch for.
var ErrDataMismatch = errors.New("data file does not match its manifest")

// maxLine bounds one JSON Lines row (a room ID is at most a few hundred bytes).
const maxLine = 16 << 20

// record is one row of a data file, read by column name.
type record interface {
	// text returns the column as text ("" when missing or null).
	text(col string) string
	// number returns the column as a number; ok is false when it is missing or null.
	number(col string) (v float64, ok bool, err error)
}

// formatPreference orders the formats the report can read, fastest first for a large day
// (BenchmarkBuildDayRooms, a million rooms: CSV 49 MB in 1.3 s and 3.4 MB of heap; Parquet
// 11 MB in 0.8 s and one row group in memory, about 28 MB; JSON Lines 193 MB in 11 s): CSV,
// then Parquet, then JSON Lines. Every format gives the same figures.
var formatPreference = []usage.Format{usage.CSV, usage.Parquet, usage.JSONL}

// dataFiles returns the file to read for each app of m, in app order: the first of its files in
// formatPreference (a format the report cannot read is never chosen over one it can).
func dataFiles(m *snapshot.Manifest) []snapshot.FileEntry {
	rank := func(f usage.Format) int {
		if i := slices.Index(formatPreference, f); i >= 0 {
			return i
		}
		return len(formatPreference)
	}
	byApp := map[string]snapshot.FileEntry{}
	for _, e := range m.Files {
		if old, ok := byApp[e.App]; !ok || rank(e.Format) < rank(old.Format) {
			byApp[e.App] = e
		}
	}
	out := make([]snapshot.FileEntry, 0, len(byApp))
	for _, e := range byApp {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b snapshot.FileEntry) int { return compareApps(a.App, b.App) })
	return out
}

// streamFile reads the rows of one listed file, calling fn for each, and checks the file's size,
// SHA-256 and row count against its entry. A file that cannot be read to the end as its format
// is still hashed to the end: when its bytes are not the manifest's (the file was replaced by a
// commit while it was read), the error is ErrDataMismatch, whatever failed first.
func streamFile(ctx context.Context, store snapshot.Store, dataset string, e snapshot.FileEntry, fn func(record) error) error {
	rc, err := store.Get(ctx, e.Key)
	if err != nil {
		return fmt.Errorf("read %s: %w", e.Key, err)
	}
	defer rc.Close()
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(rc, h)}
	var rows int64
	count := func(r record) error {
		rows++
		if rows%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return fn(r)
	}
	var scanErr error
	switch e.Format {
	case usage.JSONL:
		scanErr = scanJSONL(cr, count)
	case usage.CSV:
		scanErr = scanCSV(cr, count)
	case usage.Parquet:
		scanErr = scanParquet(cr, dataset, e, count)
	default:
		return fmt.Errorf("read %s: unknown format %q", e.Key, e.Format)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("read %s: %w", e.Key, err)
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return fmt.Errorf("read %s: %w", e.Key, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	switch {
	case cr.n != e.Bytes || sum != e.SHA256:
		return fmt.Errorf("%s: %w: %d bytes, sha256 %.12s…; manifest says %d bytes, sha256 %.12s…",
			e.Key, ErrDataMismatch, cr.n, sum, e.Bytes, e.SHA256)
	case scanErr != nil:
		return fmt.Errorf("read %s: %w", e.Key, scanErr)
	case rows != e.Rows:
		return fmt.Errorf("%s: %w: %d rows; manifest says %d", e.Key, ErrDataMismatch, rows, e.Rows)
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// jsonRecord is one JSON Lines row; its map is reused from row to row.
type jsonRecord map[string]json.RawMessage

func (r jsonRecord) text(col string) string {
	raw, ok := r[col]
	if !ok || string(raw) == "null" {
		return ""
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

func (r jsonRecord) number(col string) (float64, bool, error) {
	raw, ok := r[col]
	if !ok || string(raw) == "null" {
		return 0, false, nil
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, false, fmt.Errorf("column %s: not a number: %.40q", col, raw)
	}
	return v, true, nil
}

func scanJSONL(r io.Reader, fn func(record) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	rec := jsonRecord{}
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		clear(rec)
		if err := json.Unmarshal(b, (*map[string]json.RawMessage)(&rec)); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if err := fn(rec); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
	return sc.Err()
}

// csvRecord is one CSV row read through the header's column positions.
type csvRecord struct {
	index  map[string]int
	fields []string
}

func (r *csvRecord) text(col string) string {
	if i, ok := r.index[col]; ok && i < len(r.fields) {
		return r.fields[i]
	}
	return ""
}

func (r *csvRecord) number(col string) (float64, bool, error) {
	s := r.text(col)
	if s == "" {
		return 0, false, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, fmt.Errorf("column %s: not a number: %.40q", col, s)
	}
	return v, true, nil
}

func scanCSV(r io.Reader, fn func(record) error) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	rec := &csvRecord{index: make(map[string]int, len(header))}
	for i, h := range header {
		rec.index[h] = i
	}
	for {
		fields, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rec.fields = fields
		if err := fn(rec); err != nil {
			line, _ := cr.FieldPos(0)
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
}

// compareApps orders app IDs numerically when both are numbers, as text otherwise.
func compareApps(a, b string) int {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA == nil && errB == nil {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

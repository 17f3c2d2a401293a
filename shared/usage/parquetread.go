package usage

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/golang/snappy"
)

// ErrNotOurParquet is wrapped by the errors of ParquetReader about a file that is not laid out
// as ParquetWriter writes it (or is damaged): the reader knows only that layout.
var ErrNotOurParquet = errors.New("not a Parquet file as tcusage writes them")

// parquetMaxPage bounds one page, compressed or not: the writer closes a page at 1 MB of values,
// and one value (a room ID, a package name) is far smaller than the rest.
const parquetMaxPage = 32 << 20

// parquetMaxFooter bounds the footer (a few hundred bytes per row group).
const parquetMaxFooter = 16 << 20

// ParquetReader reads a file written by ParquetWriter as a stream, front to back, one row group
// at a time: memory is one row group's values (ParquetRowGroupRows rows at most) whatever the size
// of the file. Reading front to back needs no seeking (an object store's GET streams), but the
// row groups' sizes are not known before the footer: they are derived from the file's row count,
// which the caller knows from the manifest, as the writer cuts them (every ParquetRowGroupRows
// rows). The footer, read last, must agree: row count, row groups, column names and types.
//
// It reads only that layout: PLAIN data pages, RLE definition levels, Snappy, no dictionary and
// no nesting. Anything else is an error wrapping ErrNotOurParquet, never a panic.
type ParquetReader struct {
	r      *bufio.Reader
	cols   []ParquetValues
	phys   []int32
	groups []int64
	next   int
	err    error
	// zip and page are reused page buffers.
	zip, page []byte
}

// ParquetValues are one column's values in the current row group. Null[i] is true for a null
// (a missing figure). By type: Ints for int64, date (days since 1970-01-01) and timestamp
// (microseconds since the Unix epoch, UTC); Floats for decimal; Strings for string.
type ParquetValues struct {
	Name, Type string
	Null       []bool
	Ints       []int64
	Floats     []float64
	Strings    []string
}

// NewParquetReader prepares to read a file of rows rows whose columns are columns, typed after
// s (as NewParquetWriter types them).
func NewParquetReader(r io.Reader, s Schema, columns []string, rows int64) (*ParquetReader, error) {
	types, err := s.ColumnTypes(columns)
	if err != nil {
		return nil, err
	}
	if len(columns) == 0 || rows < 0 {
		return nil, fmt.Errorf("parquet: %d columns and %d rows: nothing a file can hold", len(columns), rows)
	}
	p := &ParquetReader{r: bufio.NewReaderSize(r, 256<<10)}
	for i, c := range columns {
		p.cols = append(p.cols, ParquetValues{Name: c, Type: types[i]})
		p.phys = append(p.phys, physicalType(types[i]))
	}
	for left := rows; left > 0; left -= ParquetRowGroupRows {
		p.groups = append(p.groups, min(left, ParquetRowGroupRows))
	}
	var magic [4]byte
	if _, err := io.ReadFull(p.r, magic[:]); err != nil || string(magic[:]) != parquetMagic {
		return nil, fmt.Errorf("parquet: %w: no PAR1 magic number at the start", ErrNotOurParquet)
	}
	return p, nil
}

// Next decodes the next row group and reports whether there was one. After the last, it reads
// and checks the footer; Err then says whether the whole file was as expected.
func (p *ParquetReader) Next() bool {
	if p.err != nil {
		return false
	}
	if p.next == len(p.groups) {
		p.err = p.footer()
		p.next++
		return false
	}
	if p.next > len(p.groups) {
		return false
	}
	n := int(p.groups[p.next])
	for i := range p.cols {
		if err := p.readChunk(i, n); err != nil {
			p.err = fmt.Errorf("parquet: row group %d, column %s: %w", p.next, p.cols[i].Name, err)
			return false
		}
	}
	p.next++
	return true
}

// Err returns the first error met; nil once Next has returned false after a sound file.
func (p *ParquetReader) Err() error { return p.err }

// Len is the number of rows in the current row group.
func (p *ParquetReader) Len() int { return len(p.cols[0].Null) }

// Columns returns the current row group's columns, in the file's order. They are overwritten
// by the next call to Next.
func (p *ParquetReader) Columns() []ParquetValues { return p.cols }

// readChunk decodes column i's pages of a row group of n rows.
func (p *ParquetReader) readChunk(i, n int) error {
	c := &p.cols[i]
	c.Null, c.Ints, c.Floats, c.Strings = c.Null[:0], c.Ints[:0], c.Floats[:0], c.Strings[:0]
	for len(c.Null) < n {
		num, err := p.readPage(n - len(c.Null))
		if err != nil {
			return err
		}
		if err := p.decodePage(c, p.phys[i], num); err != nil {
			return err
		}
	}
	return nil
}

// readPage reads a data page's header and its decompressed body into p.page, and returns the
// number of values (nulls included) it holds, at most left.
func (p *ParquetReader) readPage(left int) (int, error) {
	h, err := readPageHeader(&thriftReader{r: p.r})
	if err != nil {
		return 0, err
	}
	switch {
	case h.typ != pageData:
		return 0, fmt.Errorf("%w: page type %d (only data pages are written)", ErrNotOurParquet, h.typ)
	case h.encoding != encPlain || h.levelEncoding != encRLE:
		return 0, fmt.Errorf("%w: encodings %d/%d (PLAIN values, RLE levels are written)", ErrNotOurParquet, h.encoding, h.levelEncoding)
	case h.values <= 0 || int(h.values) > left:
		return 0, fmt.Errorf("%w: a page of %d values where %d remain in the row group", ErrNotOurParquet, h.values, left)
	case h.compressed < 0 || h.compressed > parquetMaxPage || h.raw < 0 || h.raw > parquetMaxPage:
		return 0, fmt.Errorf("%w: a page of %d bytes (%d compressed)", ErrNotOurParquet, h.raw, h.compressed)
	}
	// Read what arrives rather than allocating what the header claims.
	buf := bytes.NewBuffer(p.zip[:0])
	if _, err := io.CopyN(buf, p.r, int64(h.compressed)); err != nil {
		return 0, fmt.Errorf("%w: page data: %w", ErrNotOurParquet, noEOF(err))
	}
	p.zip = buf.Bytes()
	if n, err := snappy.DecodedLen(p.zip); err != nil || n != int(h.raw) {
		return 0, fmt.Errorf("%w: page is not the Snappy block of %d bytes its header says", ErrNotOurParquet, h.raw)
	}
	if p.page, err = snappy.Decode(p.page[:cap(p.page)], p.zip); err != nil {
		return 0, fmt.Errorf("%w: page: %w", ErrNotOurParquet, err)
	}
	return int(h.values), nil
}

// pageHeader holds what the reader checks of a PageHeader and its DataPageHeader.
type pageHeader struct {
	typ, raw, compressed            int64
	values, encoding, levelEncoding int64
}

func readPageHeader(t *thriftReader) (pageHeader, error) {
	h := pageHeader{typ: -1, encoding: -1, levelEncoding: -1}
	err := t.structure(func(id int16, typ byte) error {
		var err error
		switch {
		case id == 1 && typ == thriftI32:
			h.typ, err = t.int()
		case id == 2 && typ == thriftI32:
			h.raw, err = t.int()
		case id == 3 && typ == thriftI32:
			h.compressed, err = t.int()
		case id == 5 && typ == thriftStruct:
			err = t.structure(func(id int16, typ byte) error {
				var err error
				switch {
				case id == 1 && typ == thriftI32:
					h.values, err = t.int()
				case id == 2 && typ == thriftI32:
					h.encoding, err = t.int()
				case id == 3 && typ == thriftI32:
					h.levelEncoding, err = t.int()
				default:
					err = t.skip(typ)
				}
				return err
			})
		default:
			err = t.skip(typ)
		}
		return err
	})
	if err != nil {
		return h, fmt.Errorf("page header: %w", err)
	}
	return h, nil
}

// decodePage appends a page's num values to c: the definition levels (length-prefixed, RLE/bit-
// packed hybrid of width 1), then the PLAIN values of the non-null ones.
func (p *ParquetReader) decodePage(c *ParquetValues, phys int32, num int) error {
	b := p.page
	if len(b) < 4 {
		return fmt.Errorf("%w: page too short", ErrNotOurParquet)
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return fmt.Errorf("%w: definition levels overrun the page", ErrNotOurParquet)
	}
	start := len(c.Null)
	var err error
	if c.Null, err = appendNulls(c.Null, b[4:4+n], num); err != nil {
		return err
	}
	values := 0
	for _, null := range c.Null[start:] {
		if !null {
			values++
		}
	}
	rest, err := c.appendPlain(b[4+n:], phys, c.Null[start:], values)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %d bytes after the page's values", ErrNotOurParquet, len(rest))
	}
	return nil
}

// appendNulls decodes num definition levels of bit width 1 (0: null, 1: a value) as null flags.
func appendNulls(out []bool, b []byte, num int) ([]bool, error) {
	want := len(out) + num
	for len(out) < want {
		h, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, fmt.Errorf("%w: definition levels end early", ErrNotOurParquet)
		}
		b = b[k:]
		if h&1 == 0 { // a run of one level
			count := h >> 1
			if len(b) < 1 || b[0] > 1 || count == 0 || count > uint64(want-len(out)) {
				return nil, fmt.Errorf("%w: bad run of definition levels", ErrNotOurParquet)
			}
			for range count {
				out = append(out, b[0] == 0)
			}
			b = b[1:]
			continue
		}
		groups := h >> 1 // bit-packed: groups of 8 levels, one byte each at width 1
		if groups == 0 || groups > uint64(len(b)) {
			return nil, fmt.Errorf("%w: bad bit-packed definition levels", ErrNotOurParquet)
		}
		for _, byt := range b[:groups] {
			for bit := 0; bit < 8 && len(out) < want; bit++ {
				out = append(out, byt>>bit&1 == 0)
			}
		}
		b = b[groups:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the definition levels", ErrNotOurParquet, len(b))
	}
	return out, nil
}

// appendPlain decodes values PLAIN values of physical type phys, placing a zero at each null.
func (c *ParquetValues) appendPlain(b []byte, phys int32, nulls []bool, values int) ([]byte, error) {
	le := binary.LittleEndian
	width := 0
	switch phys {
	case physInt32:
		width = 4
	case physInt64, physDouble:
		width = 8
	}
	if width > 0 && len(b) < values*width {
		return nil, fmt.Errorf("%w: %d values of %d bytes in %d bytes", ErrNotOurParquet, values, width, len(b))
	}
	var text string
	if phys == physByteArray {
		text = string(b) // one allocation per page; the values are substrings of it
	}
	off := 0
	for _, null := range nulls {
		switch phys {
		case physInt32:
			v := int64(0)
			if !null {
				v = int64(int32(le.Uint32(b[off:])))
				off += 4
			}
			c.Ints = append(c.Ints, v)
		case physInt64:
			v := int64(0)
			if !null {
				v = int64(le.Uint64(b[off:]))
				off += 8
			}
			c.Ints = append(c.Ints, v)
		case physDouble:
			v := 0.0
			if !null {
				v = math.Float64frombits(le.Uint64(b[off:]))
				off += 8
			}
			c.Floats = append(c.Floats, v)
		default:
			s := ""
			if !null {
				if len(b)-off < 4 || uint64(le.Uint32(b[off:])) > uint64(len(b)-off-4) {
					return nil, fmt.Errorf("%w: a string overruns the page", ErrNotOurParquet)
				}
				n := int(le.Uint32(b[off:]))
				s, off = text[off+4:off+4+n], off+4+n
			}
			c.Strings = append(c.Strings, s)
		}
	}
	return b[off:], nil
}

// footer reads the rest of the file, the footer, and checks it describes what was read.
func (p *ParquetReader) footer() error {
	b, err := io.ReadAll(io.LimitReader(p.r, parquetMaxFooter+9))
	if err != nil {
		return fmt.Errorf("parquet: footer: %w", err)
	}
	if len(b) < 8 || len(b) > parquetMaxFooter+8 || string(b[len(b)-4:]) != parquetMagic {
		return fmt.Errorf("parquet: %w: no footer where the row groups end", ErrNotOurParquet)
	}
	n := binary.LittleEndian.Uint32(b[len(b)-8:])
	if uint64(n) != uint64(len(b)-8) {
		return fmt.Errorf("parquet: %w: the footer is %d bytes, its length says %d", ErrNotOurParquet, len(b)-8, n)
	}
	meta, err := readFileMeta(&thriftReader{r: bytes.NewReader(b[:n])})
	if err != nil {
		return fmt.Errorf("parquet: footer: %w", err)
	}
	var rows int64
	for _, g := range p.groups {
		rows += g
	}
	names := make([]string, len(p.cols))
	for i, c := range p.cols {
		names[i] = c.Name
	}
	switch {
	case meta.rows != rows || !slices.Equal(meta.groups, p.groups):
		return fmt.Errorf("parquet: %w: the footer says %d rows in row groups %v, not %d in %v", ErrNotOurParquet, meta.rows, meta.groups, rows, p.groups)
	case !slices.Equal(meta.names, names) || !slices.Equal(meta.types, p.phys):
		return fmt.Errorf("parquet: %w: the footer's columns %q are not %q", ErrNotOurParquet, meta.names, names)
	}
	return nil
}

// fileMeta is what the reader checks of a FileMetaData.
type fileMeta struct {
	rows   int64
	groups []int64
	names  []string
	types  []int32
}

func readFileMeta(t *thriftReader) (fileMeta, error) {
	var m fileMeta
	err := t.structure(func(id int16, typ byte) error {
		switch {
		case id == 2 && typ == thriftList:
			return t.eachStruct(func(i int) error { return m.schemaElement(t, i) })
		case id == 3 && typ == thriftI64:
			var err error
			m.rows, err = t.int()
			return err
		case id == 4 && typ == thriftList:
			return t.eachStruct(func(int) error {
				rows := int64(-1)
				err := t.structure(func(id int16, typ byte) error {
					if id == 3 && typ == thriftI64 {
						var err error
						rows, err = t.int()
						return err
					}
					return t.skip(typ)
				})
				m.groups = append(m.groups, rows)
				return err
			})
		}
		return t.skip(typ)
	})
	return m, err
}

// schemaElement reads element i of the schema: the root first, then one leaf per column.
func (m *fileMeta) schemaElement(t *thriftReader, i int) error {
	var name string
	phys := int32(-1)
	err := t.structure(func(id int16, typ byte) error {
		switch {
		case id == 1 && typ == thriftI32:
			v, err := t.int()
			phys = int32(v)
			return err
		case id == 4 && typ == thriftBinary:
			b, err := t.binary()
			name = string(b)
			return err
		}
		return t.skip(typ)
	})
	if i > 0 {
		m.names = append(m.names, name)
		m.types = append(m.types, phys)
	}
	return err
}

// eachStruct reads a list of structs, calling fn for each element.
func (t *thriftReader) eachStruct(fn func(i int) error) error {
	elem, n, err := t.list()
	if err != nil {
		return err
	}
	if elem != thriftStruct {
		return fmt.Errorf("%w: a list of type %d where structs belong", errThrift, elem)
	}
	for i := range n {
		if err := fn(i); err != nil {
			return err
		}
	}
	return nil
}

// Number returns value i as a number: ok is false for a null or a string column.
func (c *ParquetValues) Number(i int) (v float64, ok bool) {
	if c.Null[i] {
		return 0, false
	}
	switch c.Type {
	case TypeDecimal:
		return c.Floats[i], true
	case TypeInt64:
		return float64(c.Ints[i]), true
	}
	return 0, false
}

// Text returns value i as text ("" for a null): numbers in their shortest decimal form, a date as
// YYYY-MM-DD, a timestamp in RFC 3339, UTC.
func (c *ParquetValues) Text(i int) string {
	if c.Null[i] {
		return ""
	}
	switch c.Type {
	case TypeString:
		return c.Strings[i]
	case TypeDecimal:
		return strconv.FormatFloat(c.Floats[i], 'f', -1, 64)
	case TypeInt64:
		return strconv.FormatInt(c.Ints[i], 10)
	case TypeDate:
		return time.Unix(c.Ints[i]*86400, 0).UTC().Format(time.DateOnly)
	case TypeTimestamp:
		return time.UnixMicro(c.Ints[i]).UTC().Format(time.RFC3339Nano)
	}
	return ""
}

package usage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang/snappy"
)

// ParquetRowGroupRows is the number of rows per Parquet row group. The writer holds at most one
// row group in memory (its pages already compressed, plus one open page per column), so a
// million-room day passes through in row groups of this size, never whole.
const ParquetRowGroupRows = 64 << 10

// parquetPageBytes is the size of a column's values at which its page is closed and compressed.
const parquetPageBytes = 1 << 20

// ParquetCreatedBy is every file's created_by: fixed, so that a rerun over unchanged data gives
// byte-identical files whichever build wrote them.
const ParquetCreatedBy = "tcusage"

// Constants of the Parquet format (parquet.thrift).
const (
	parquetMagic        = "PAR1"
	physInt32           = 1
	physInt64           = 2
	physDouble          = 5
	physByteArray       = 6
	encPlain            = 0
	encRLE              = 3
	codecSnappy         = 1
	pageData            = 0
	repOptional         = 1
	convUTF8            = 0
	convDate            = 6
	convTimestampMicros = 10
)

// ParquetWriter writes rows as one Apache Parquet file, typed after the schema's column types:
// date as DATE (INT32 days), int64 as INT64, decimal as DOUBLE, timestamp as TIMESTAMP
// (INT64 microseconds, adjusted to UTC), string as UTF-8 STRING (BYTE_ARRAY). Every column is
// optional: a missing figure is null, an empty string stays an empty string. Pages are PLAIN-
// encoded and Snappy-compressed, the one codec every engine reading Parquet (Hive 2 and 3, Spark,
// Presto/Trino, DLC, DuckDB) decodes out of the box. Rows are written out every
// ParquetRowGroupRows rows as a row group; Close writes the last one and the footer.
//
// It is the project's own writer, from the format's specification: the parquet-go module would
// have added about 7 MB to every function binary (its codecs, protobuf and geometry support).
// Tests read its files back with parquet-go, and enginetest with DuckDB.
type ParquetWriter struct {
	w      io.Writer
	schema Schema
	cols   []*parquetColumn
	off    int64 // bytes written so far
	rows   int64 // rows in the file
	open   int64 // rows in the open row group
	groups []parquetRowGroup
	row    []byte // the row being written, encoded
	ends   []int  // where each of its values ends in row; -1 for null
	err    error
}

// parquetColumn is one column: its type, its open page and its row group's finished pages.
type parquetColumn struct {
	name   string
	typ    string
	phys   int32
	levels []byte // the open page's definition levels, one per row (0 null, 1 value)
	values []byte // the open page's PLAIN-encoded values
	chunk  []byte // the row group's finished pages: headers and compressed data
	raw    int64  // the row group's pages uncompressed, headers included
	nulls  int64  // nulls in the row group
	// buf holds a page's encoded levels and body, zip its compressed form; both are reused.
	buf, zip []byte
	// lastText and last are the last date or timestamp converted, and its value.
	lastText string
	last     int64
}

type parquetRowGroup struct {
	rows, offset int64
	chunks       []parquetChunk
}

type parquetChunk struct {
	offset, raw, compressed, nulls int64
}

// NewParquetWriter returns a Parquet writer for the given columns, typed after s: a column of s
// has its type; a column of an open schema that s does not list is a decimal (room usage's
// further usage columns, in seconds); any other column is an error.
func NewParquetWriter(w io.Writer, s Schema, columns []string) (*ParquetWriter, error) {
	types, err := s.ColumnTypes(columns)
	if err != nil {
		return nil, err
	}
	p := &ParquetWriter{w: w, schema: s}
	for i, c := range columns {
		if c == "" || !utf8.ValidString(c) {
			return nil, fmt.Errorf("parquet: column %d has no valid name", i+1)
		}
		p.cols = append(p.cols, &parquetColumn{name: c, typ: types[i], phys: physicalType(types[i])})
	}
	return p, nil
}

func physicalType(typ string) int32 {
	switch typ {
	case TypeInt64, TypeTimestamp:
		return physInt64
	case TypeDecimal:
		return physDouble
	case TypeDate:
		return physInt32
	}
	return physByteArray
}

// WriteRow converts and buffers one row; it must have one value per column. A value that is not
// of its column's type is an error naming the column, and nothing of the row is kept.
func (p *ParquetWriter) WriteRow(r Row) error {
	if p.err != nil {
		return p.err
	}
	if len(r) != len(p.cols) {
		return fmt.Errorf("parquet: row has %d values, want %d", len(r), len(p.cols))
	}
	// Encode the whole row first, so that a bad value leaves no column a value ahead.
	p.row, p.ends = p.row[:0], p.ends[:0]
	for i, v := range r {
		if v.Number && v.Text == "" {
			p.ends = append(p.ends, -1) // null
			continue
		}
		var err error
		if p.row, err = p.cols[i].appendPlain(p.row, v.Text); err != nil {
			return fmt.Errorf("parquet: column %s: %q is not a valid %s: %w", p.cols[i].name, clipText(v.Text), p.cols[i].typ, err)
		}
		p.ends = append(p.ends, len(p.row))
	}
	start := 0
	for i, c := range p.cols {
		if end := p.ends[i]; end < 0 {
			c.levels = append(c.levels, 0)
			c.nulls++
		} else {
			c.levels = append(c.levels, 1)
			c.values = append(c.values, p.row[start:end]...)
			start = end
		}
		if len(c.values) >= parquetPageBytes {
			c.closePage()
		}
	}
	p.rows++
	p.open++
	if p.open >= ParquetRowGroupRows {
		return p.flushRowGroup()
	}
	return nil
}

// appendPlain appends a value in Parquet's PLAIN encoding (little-endian numbers, length-
// prefixed bytes), or returns an error when text is not a value of the column's type. The
// encoding of the last date or timestamp is remembered: a day's rows share their date.
func (c *parquetColumn) appendPlain(b []byte, text string) ([]byte, error) {
	le := binary.LittleEndian
	switch c.typ {
	case TypeInt64:
		v, err := strconv.ParseInt(text, 10, 64)
		return le.AppendUint64(b, uint64(v)), err
	case TypeDecimal:
		v, err := strconv.ParseFloat(text, 64)
		if err == nil && (math.IsInf(v, 0) || math.IsNaN(v)) {
			err = errors.New("not a finite number")
		}
		return le.AppendUint64(b, math.Float64bits(v)), err
	case TypeDate, TypeTimestamp:
		if text != c.lastText || c.lastText == "" {
			layout := time.RFC3339
			if c.typ == TypeDate {
				layout = time.DateOnly
			}
			t, err := time.Parse(layout, text)
			if err != nil {
				return b, err
			}
			c.last = t.UnixMicro()
			if c.typ == TypeDate {
				c.last = t.Unix() / 86400
			}
			c.lastText = text
		}
		if c.typ == TypeDate {
			return le.AppendUint32(b, uint32(int32(c.last))), nil
		}
		return le.AppendUint64(b, uint64(c.last)), nil
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\ufffd") // as in JSON Lines
	}
	b = le.AppendUint32(b, uint32(len(text)))
	return append(b, text...), nil
}

// closePage compresses the open page (definition levels, then values) into the column's chunk,
// behind its page header.
func (c *parquetColumn) closePage() {
	if len(c.levels) == 0 {
		return
	}
	// buf: the levels, then the body (their length, the levels again, the values).
	c.buf = appendLevels(c.buf[:0], c.levels)
	n := len(c.buf)
	c.buf = binary.LittleEndian.AppendUint32(c.buf, uint32(n))
	c.buf = append(c.buf, c.buf[:n]...)
	c.buf = append(c.buf, c.values...)
	body := c.buf[n:]
	c.zip = snappy.Encode(c.zip[:cap(c.zip)], body)
	h := &thriftWriter{b: c.chunk}
	h.begin(0)
	h.i32(1, pageData)
	h.i32(2, int32(len(body)))
	h.i32(3, int32(len(c.zip)))
	h.begin(5) // data_page_header
	h.i32(1, int32(len(c.levels)))
	h.i32(2, encPlain)
	h.i32(3, encRLE)
	h.i32(4, encRLE)
	h.end()
	h.end()
	c.raw += int64(len(h.b) - len(c.chunk) + len(body))
	c.chunk = append(h.b, c.zip...)
	c.levels, c.values = c.levels[:0], c.values[:0]
}

// appendLevels encodes definition levels (bit width 1) in the RLE/bit-packing hybrid, as runs.
func appendLevels(b, levels []byte) []byte {
	for i := 0; i < len(levels); {
		j := i + 1
		for j < len(levels) && levels[j] == levels[i] {
			j++
		}
		b = binary.AppendUvarint(b, uint64(j-i)<<1)
		b = append(b, levels[i])
		i = j
	}
	return b
}

// write writes b to the file, after the magic number when it is the first write.
func (p *ParquetWriter) write(b []byte) error {
	if p.off == 0 {
		if _, err := io.WriteString(p.w, parquetMagic); err != nil {
			return err
		}
		p.off = int64(len(parquetMagic))
	}
	n, err := p.w.Write(b)
	p.off += int64(n)
	return err
}

// flushRowGroup writes the open row group's column chunks one after the other.
func (p *ParquetWriter) flushRowGroup() error {
	if p.open == 0 {
		return nil
	}
	if err := p.write(nil); err != nil { // the magic number, so that offsets are final
		p.err = fmt.Errorf("parquet: %w", err)
		return p.err
	}
	g := parquetRowGroup{rows: p.open, offset: p.off}
	for _, c := range p.cols {
		c.closePage()
		ch := parquetChunk{offset: p.off, raw: c.raw, compressed: int64(len(c.chunk)), nulls: c.nulls}
		if err := p.write(c.chunk); err != nil {
			p.err = fmt.Errorf("parquet: %w", err)
			return p.err
		}
		g.chunks = append(g.chunks, ch)
		c.chunk, c.raw, c.nulls = c.chunk[:0], 0, 0
	}
	p.groups = append(p.groups, g)
	p.open = 0
	return nil
}

// Close writes the last row group and the footer. It does not close the underlying writer.
func (p *ParquetWriter) Close() error {
	if p.err != nil {
		return p.err
	}
	if err := p.flushRowGroup(); err != nil {
		return err
	}
	footer := p.footer()
	footer = binary.LittleEndian.AppendUint32(footer, uint32(len(footer)))
	if err := p.write(append(footer, parquetMagic...)); err != nil {
		p.err = fmt.Errorf("parquet: %w", err)
		return p.err
	}
	p.err = fmt.Errorf("parquet: writer closed")
	return nil
}

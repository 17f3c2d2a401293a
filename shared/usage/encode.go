package usage

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Value is one cell of a row: its text, and whether it is a number (written bare in JSON) or a
// string (quoted). CSV writes the text either way.
type Value struct {
	Text   string
	Number bool
}

// Str returns a string value.
func Str(s string) Value { return Value{Text: s} }

// Int returns an integer value.
func Int(i int64) Value { return Value{Text: strconv.FormatInt(i, 10), Number: true} }

// Uint returns an unsigned integer value.
func Uint(u uint64) Value { return Value{Text: strconv.FormatUint(u, 10), Number: true} }

// Row is one record, its values in the order of the columns it is written with.
type Row []Value

// RowWriter writes rows in one format. Close flushes; it does not close the underlying writer.
type RowWriter interface {
	WriteRow(Row) error
	Close() error
}

// JSONLWriter writes rows as JSON Lines: one object per line, keys in column order.
type JSONLWriter struct {
	w    *bufio.Writer
	keys [][]byte // `"name":` per column, pre-encoded
	buf  []byte
	rows int64
}

// NewJSONLWriter returns a JSON Lines writer for the given columns.
func NewJSONLWriter(w io.Writer, columns []string) *JSONLWriter {
	keys := make([][]byte, len(columns))
	for i, c := range columns {
		k := appendJSONString(nil, c)
		keys[i] = append(k, ':')
	}
	return &JSONLWriter{w: bufio.NewWriterSize(w, 64<<10), keys: keys}
}

// WriteRow writes one row; it must have one value per column.
func (j *JSONLWriter) WriteRow(r Row) error {
	if len(r) != len(j.keys) {
		return fmt.Errorf("jsonl: row has %d values, want %d", len(r), len(j.keys))
	}
	b := append(j.buf[:0], '{')
	for i, v := range r {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, j.keys[i]...)
		if v.Number {
			if v.Text == "" {
				b = append(b, "null"...)
			} else {
				b = append(b, v.Text...)
			}
		} else {
			b = appendJSONString(b, v.Text)
		}
	}
	b = append(b, '}', '\n')
	j.buf = b
	j.rows++
	_, err := j.w.Write(b)
	return err
}

// Close flushes buffered output.
func (j *JSONLWriter) Close() error { return j.w.Flush() }

// CSVWriter writes rows as RFC 4180 CSV with a header row (written even when there are no rows).
// Its output is byte for byte what encoding/csv's Writer writes (comma separator, LF line ends):
// a field is quoted when it contains a comma, a quote, CR or LF, begins with a space character,
// or is exactly `\.`; it appends straight into a buffer rather than field by field.
type CSVWriter struct {
	w   *bufio.Writer
	n   int
	buf []byte
	err error
}

// NewCSVWriter returns a CSV writer and writes the header row.
func NewCSVWriter(w io.Writer, columns []string) *CSVWriter {
	c := &CSVWriter{w: bufio.NewWriterSize(w, 64<<10), n: len(columns)}
	b := c.buf[:0]
	for i, col := range columns {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCSVField(b, col)
	}
	c.buf = append(b, '\n')
	_, c.err = c.w.Write(c.buf)
	return c
}

// WriteRow writes one row; it must have one value per column.
func (c *CSVWriter) WriteRow(r Row) error {
	if c.err != nil {
		return c.err
	}
	if len(r) != c.n {
		return fmt.Errorf("csv: row has %d values, want %d", len(r), c.n)
	}
	b := c.buf[:0]
	for i, v := range r {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCSVField(b, v.Text)
	}
	b = append(b, '\n')
	c.buf = b
	if _, err := c.w.Write(b); err != nil {
		c.err = err
	}
	return c.err
}

// Close flushes buffered output.
func (c *CSVWriter) Close() error {
	if c.err != nil {
		return c.err
	}
	c.err = c.w.Flush()
	return c.err
}

// appendCSVField appends one field, quoted when encoding/csv would quote it.
func appendCSVField(b []byte, s string) []byte {
	if !csvNeedsQuotes(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b = append(b, s[:i+1]...)
		b = append(b, '"')
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '"')
}

// csvNeedsQuotes mirrors encoding/csv's rule for a comma separator.
func csvNeedsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s == `\.` {
		return true
	}
	for i := 0; i < len(s); i++ {
		if csvSpecial[s[i]] {
			return true
		}
	}
	if c := s[0]; c < utf8.RuneSelf {
		return asciiSpace[c]
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}

// csvSpecial marks the bytes that make encoding/csv quote a field; asciiSpace the ASCII bytes
// unicode.IsSpace accepts.
var csvSpecial, asciiSpace = [256]bool{',': true, '"': true, '\r': true, '\n': true},
	[utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// MultiWriter writes every row to several writers.
type MultiWriter []RowWriter

// WriteRow writes r to every writer, stopping at the first error.
func (m MultiWriter) WriteRow(r Row) error {
	for _, w := range m {
		if err := w.WriteRow(r); err != nil {
			return err
		}
	}
	return nil
}

// Close closes every writer and returns the errors joined.
func (m MultiWriter) Close() error {
	var errs []error
	for _, w := range m {
		errs = append(errs, w.Close())
	}
	return errors.Join(errs...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD; U+2028 and U+2029
// are escaped so that lines stay safe for JavaScript readers.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

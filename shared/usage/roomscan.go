package usage

import (
	"encoding/csv"
	"io"
	"strings"
)

// recordReader is what the room-usage parser needs of a CSV reader: records in order, and the
// byte offset of the next record (to re-read a record later from its span).
type recordReader interface {
	Read() ([]string, error)
	InputOffset() int64
}

// plainCSV reads CSV that has no quotes and no carriage returns, the form DescribeTrtcRoomUsage
// answers in, without copying: every field is a substring of the input. For such input it
// behaves exactly like encoding/csv's Reader with ReuseRecord and FieldsPerRecord 0 (empty lines
// are skipped; every record must have the header's field count, else a *csv.ParseError wrapping
// csv.ErrFieldCount). Input with a quote or a carriage return must go to encoding/csv instead;
// see newRecordReader.
type plainCSV struct {
	data   string
	off    int
	line   int
	fields int // want this many fields per record; 0 until the first record
	rec    []string
}

// newRecordReader returns the fast reader when data allows it, else encoding/csv's.
func newRecordReader(data string) recordReader {
	if strings.IndexByte(data, '"') < 0 && strings.IndexByte(data, '\r') < 0 {
		return &plainCSV{data: data}
	}
	return newRoomReader(data)
}

// Read returns the next record; the slice is reused by the next call, the strings are not.
func (p *plainCSV) Read() ([]string, error) {
	data := p.data
	for p.off < len(data) {
		// One pass over the line: split at commas, stop at the newline. Fields are short, so a
		// byte loop beats searching for each separator.
		rec := p.rec[:0]
		start := p.off
		i := p.off
		for ; i < len(data); i++ {
			switch data[i] {
			case ',':
				rec = append(rec, data[start:i])
				start = i + 1
				continue
			case '\n':
			default:
				continue
			}
			break
		}
		lineEmpty := i == p.off
		rec = append(rec, data[start:i])
		p.off = min(i+1, len(data))
		p.line++
		p.rec = rec
		if lineEmpty {
			continue // encoding/csv skips empty lines
		}
		if p.fields == 0 {
			p.fields = len(rec)
		} else if len(rec) != p.fields {
			return rec, &csv.ParseError{StartLine: p.line, Line: p.line, Column: 1, Err: csv.ErrFieldCount}
		}
		return rec, nil
	}
	return nil, io.EOF
}

// InputOffset returns the offset of the end of the last record read.
func (p *plainCSV) InputOffset() int64 { return int64(p.off) }

package usage

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// RoomUsageSchema is the roomusage dataset: TRTC usage per room per app per day, parsed from the
// CSV that DescribeTrtcRoomUsage returns in Data.
var RoomUsageSchema = Schema{
	Dataset:     "roomusage",
	Version:     "v1",
	Description: "TRTC usage per room, per SdkAppId per day (TRTC DescribeTrtcRoomUsage). Tencent notes these figures are for analysis, not billing reconciliation.",
	Open:        true,
	Columns: []Column{
		{Name: "date", Type: TypeDate, Description: "The day queried (00:00 to 23:59): a China Standard Time (UTC+8) day, as the API counts days."},
		{Name: "sdk_app_id", Type: TypeInt64, Description: "The TRTC application (SdkAppid)."},
		{Name: "room_id", Type: TypeString, Description: "The room (RoomId), as the API gives it."},
		{Name: "audio", Type: TypeDecimal, Unit: "second", Description: "Audio duration (column Audio)."},
		{Name: "sd", Type: TypeDecimal, Unit: "second", Description: "SD video duration (column SD)."},
		{Name: "hd", Type: TypeDecimal, Unit: "second", Description: "HD video duration (column HD, documented as `hd`)."},
		{Name: "fullhd", Type: TypeDecimal, Unit: "second", Description: "Full HD video duration (column FullHD)."},
		{Name: "2k", Type: TypeDecimal, Unit: "second", Description: "2K video duration (column 2K)."},
		{Name: "4k", Type: TypeDecimal, Unit: "second", Description: "4K video duration (column 4K)."},
	},
}

var roomKnown = []string{"audio", "sd", "hd", "fullhd", "2k", "4k"}

// RoomUsageColumns returns the columns of a room-usage file for the given CSV header: the fixed
// columns, then any further usage columns in header order. It validates the header.
func RoomUsageColumns(header []string) ([]string, error) {
	cols, _, err := roomLayout(header)
	return cols, err
}

// roomLayout validates the header and returns the output columns and, for each header column
// after RoomId, the index of its output column.
func roomLayout(header []string) ([]string, []int, error) {
	if len(header) == 0 || !strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(header[0], "\ufeff")), "RoomId") {
		return nil, nil, fmt.Errorf("room usage CSV: first header column is %q, want RoomId", first(header))
	}
	cols := append(slices.Clone(RoomUsageSchema.Names()), nil...)
	pos := make([]int, len(header)-1)
	for i, h := range header[1:] {
		name := normalizeUsageType(h)
		if name == "" {
			return nil, nil, fmt.Errorf("room usage CSV: header column %d (%q) has no usable name", i+2, h)
		}
		if slices.Contains([]string{"date", "sdk_app_id", "room_id"}, name) {
			name = "x_" + name
		}
		j := slices.Index(cols, name)
		if j >= 0 && j >= 3+len(roomKnown) || j >= 0 && slices.Contains(pos[:i], j) {
			return nil, nil, fmt.Errorf("room usage CSV: header column %q appears twice", h)
		}
		if j < 0 {
			cols = append(cols, name)
			j = len(cols) - 1
		}
		pos[i] = j
	}
	return cols, pos, nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// RoomUsageResult tells what WriteRoomUsage wrote.
type RoomUsageResult struct {
	Columns []string
	Rows    int64
}

// WriteRoomUsage parses the CSV of one app-day answer and writes one row per room, ordered by
// room ID, to the writer that open returns for the file's columns. Header names match case-
// insensitively, quoted fields are honoured, further columns are kept. The data is streamed:
// when the rooms already come in order (checked in a first pass) nothing is held in memory
// beyond one record; otherwise only the rooms' offsets are sorted.
//
// A malformed answer (bad header, a row with the wrong number of fields, a value that is not a
// non-negative decimal number) is an error naming the row and column; open is then never called,
// so nothing partial is written.
func WriteRoomUsage(date string, app uint64, data string, open func(columns []string) (RowWriter, error)) (RoomUsageResult, error) {
	if strings.TrimSpace(data) == "" {
		cols := RoomUsageSchema.Names()
		w, err := open(cols)
		if err != nil {
			return RoomUsageResult{}, err
		}
		return RoomUsageResult{Columns: cols}, w.Close()
	}
	if !utf8.ValidString(data) {
		// Room IDs and column names would differ between the JSON Lines (which must replace
		// invalid bytes) and the CSV (which would carry them): refuse rather than guess.
		return RoomUsageResult{}, errors.New("room usage CSV is not valid UTF-8")
	}
	// Pass 1: validate everything and see whether rooms are in order.
	r := newRecordReader(data)
	header, err := r.Read()
	if err != nil {
		return RoomUsageResult{}, fmt.Errorf("room usage CSV header: %w", err)
	}
	header = slices.Clone(header) // the reader reuses its record for the next row
	cols, pos, err := roomLayout(header)
	if err != nil {
		return RoomUsageResult{}, err
	}
	sorted := true
	var prev string
	var n int64
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return RoomUsageResult{}, fmt.Errorf("room usage CSV: %w", err)
		}
		n++
		if err := checkRoomRecord(rec, header, n); err != nil {
			return RoomUsageResult{}, err
		}
		if n > 1 && rec[0] < prev {
			sorted = false
		}
		prev = rec[0] // both readers return fresh strings (or substrings of data) per record
	}

	w, err := open(cols)
	if err != nil {
		return RoomUsageResult{}, err
	}
	row := make(Row, len(cols))
	dateV, appV := Str(date), Uint(app)
	emit := func(rec []string) error {
		for i := range row {
			row[i] = Value{Number: true}
		}
		row[0], row[1], row[2] = dateV, appV, Str(rec[0])
		for i, v := range rec[1:] {
			row[pos[i]] = Value{Text: trimZeros(v), Number: true}
		}
		return w.WriteRow(row)
	}
	// Pass 2: write, in order.
	r = newRecordReader(data)
	if _, err := r.Read(); err != nil {
		return RoomUsageResult{}, errors.Join(err, w.Close())
	}
	if sorted {
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err == nil {
				err = emit(rec)
			}
			if err != nil {
				return RoomUsageResult{}, errors.Join(err, w.Close())
			}
		}
		return RoomUsageResult{Columns: cols, Rows: n}, w.Close()
	}
	type span struct {
		room       string
		start, end int64
	}
	spans := make([]span, 0, n)
	for {
		start := r.InputOffset()
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return RoomUsageResult{}, errors.Join(err, w.Close())
		}
		spans = append(spans, span{room: rec[0], start: start, end: r.InputOffset()})
	}
	slices.SortStableFunc(spans, func(a, b span) int { return strings.Compare(a.room, b.room) })
	_, plain := r.(*plainCSV)
	var reuse plainCSV
	for _, s := range spans {
		var one recordReader = &reuse
		if plain {
			reuse = plainCSV{data: data[s.start:s.end], rec: reuse.rec}
		} else {
			one = newRoomReader(data[s.start:s.end])
		}
		rec, err := one.Read()
		if err == nil {
			err = emit(rec)
		}
		if err != nil {
			return RoomUsageResult{}, errors.Join(err, w.Close())
		}
	}
	return RoomUsageResult{Columns: cols, Rows: n}, w.Close()
}

func newRoomReader(data string) *csv.Reader {
	r := csv.NewReader(strings.NewReader(data))
	r.ReuseRecord = true
	r.FieldsPerRecord = 0 // the header fixes the count
	return r
}

func checkRoomRecord(rec, header []string, n int64) error {
	if rec[0] == "" {
		return fmt.Errorf("room usage CSV row %d: RoomId is empty", n)
	}
	for i, v := range rec[1:] {
		if v == "" {
			continue // no figure for this column: written as null
		}
		if !isDecimal(v) {
			return fmt.Errorf("room usage CSV row %d (room %q): column %s is %q, not a non-negative number", n, rec[0], header[i+1], truncate(v, 40))
		}
	}
	return nil
}

// isDecimal reports whether s is a plain non-negative decimal number: digits, optionally a dot
// and more digits.
func isDecimal(s string) bool {
	dot := false
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// trimZeros drops redundant leading zeros from a decimal checked by isDecimal ("007" → "7",
// "00.5" → "0.5"), since JSON numbers may not have them.
func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' && s[1] != '.' {
		s = s[1:]
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

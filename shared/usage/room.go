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
	Version:     "v2",
	Description: "TRTC usage per room, per SdkAppId per day (TRTC DescribeTrtcRoomUsage). Tencent notes these figures are for analysis, not billing reconciliation.",
	Open:        true,
	Columns: []Column{
		{Name: "date", Type: TypeDate, Description: "The day queried (00:00 to 23:59): a China Standard Time (UTC+8) day, as the API counts days."},
		{Name: "sdk_app_id", Type: TypeInt64, Description: "The TRTC application (SdkAppid)."},
		{Name: "room_id", Type: TypeString, Description: "The room (RoomId), as the API gives it."},
		{Name: "audio_seconds", Type: TypeDecimal, Unit: "second", Description: "Audio duration (column Audio).", Measure: true},
		{Name: "video_sd_seconds", Type: TypeDecimal, Unit: "second", Description: "SD video duration (column SD).", Measure: true},
		{Name: "video_hd_seconds", Type: TypeDecimal, Unit: "second", Description: "HD video duration (column HD, documented as `hd`).", Measure: true},
		{Name: "video_fullhd_seconds", Type: TypeDecimal, Unit: "second", Description: "Full HD video duration (column FullHD).", Measure: true},
		{Name: "video_2k_seconds", Type: TypeDecimal, Unit: "second", Description: "2K video duration (column 2K).", Measure: true},
		{Name: "video_4k_seconds", Type: TypeDecimal, Unit: "second", Description: "4K video duration (column 4K).", Measure: true},
	},
	Extra: "Further usage columns that the API adds are kept, in seconds, named after its header in lower case with `_seconds` appended (`Spatial Audio` becomes `spatial_audio_seconds`), and `x_` in front when that name would start with a digit or equal a column above (`8K` becomes `x_8k_seconds`).",
	Earlier: []Earlier{{
		Version: "v1",
		Change: "v2 renames the usage columns so that every engine takes them as plain identifiers, with their unit in the name: " +
			"`audio` → `audio_seconds`, `sd` → `video_sd_seconds`, `hd` → `video_hd_seconds`, `fullhd` → `video_fullhd_seconds`, " +
			"`2k` → `video_2k_seconds`, `4k` → `video_4k_seconds`; further columns gain `_seconds` (v1 kept the bare header name). " +
			"Values, types and row order are unchanged.",
	}},
	Checks: []CheckSpec{nonNegativeSpec, {Name: CheckRoomWithinTRTC,
		Description: "per app, the rooms' seconds together (every usage column) stay within the app's trtcusage total of the day; warn when they exceed it. Checked by `tcusage verify` when both days' manifests are in the store (each function's role reads only its own dataset)."}},
}

// roomFixedColumns are the room-usage columns that are not usage figures, in every version.
var roomFixedColumns = []string{"date", "sdk_app_id", "room_id"}

// roomHeaderColumns maps the API's documented usage headers (normalized) to their columns.
var roomHeaderColumns = map[string]string{
	"audio": "audio_seconds", "sd": "video_sd_seconds", "hd": "video_hd_seconds",
	"fullhd": "video_fullhd_seconds", "2k": "video_2k_seconds", "4k": "video_4k_seconds",
}

// roomColumnName returns the column of a usage header of the API's CSV ("" when the header has
// no usable name): a documented header's column, else the header in lower case with _seconds
// appended, behind x_ when it would start with a digit or be a fixed column's name.
func roomColumnName(header string) string {
	name := normalizeUsageType(header)
	if name == "" {
		return ""
	}
	if c, ok := roomHeaderColumns[name]; ok {
		return c
	}
	name += "_seconds"
	if name[0] >= '0' && name[0] <= '9' || slices.Contains(RoomUsageSchema.Names(), name) {
		name = "x_" + name
	}
	return name
}

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
	cols := slices.Clone(RoomUsageSchema.Names())
	pos := make([]int, len(header)-1)
	for i, h := range header[1:] {
		name := roomColumnName(h)
		if name == "" {
			return nil, nil, fmt.Errorf("room usage CSV: header column %d (%q) has no usable name", i+2, h)
		}
		j := slices.Index(cols, name)
		if j >= 0 && slices.Contains(pos[:i], j) {
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
	scan, err := scanRoomUsage(data)
	if err != nil {
		return RoomUsageResult{}, err
	}
	w, err := open(scan.columns)
	if err != nil {
		return RoomUsageResult{}, err
	}
	e := &roomEmitter{w: w, pos: scan.pos, row: make(Row, len(scan.columns)), date: Str(date), app: Uint(app)}
	if scan.sorted {
		err = e.inOrder(data)
	} else {
		err = e.byRoom(data, scan.rows)
	}
	if err != nil {
		return RoomUsageResult{}, errors.Join(err, w.Close())
	}
	return RoomUsageResult{Columns: scan.columns, Rows: scan.rows}, w.Close()
}

// roomScan is what a first pass over a room-usage CSV finds: the output columns and where each
// header column goes, how many rooms there are, and whether they come in room ID order.
type roomScan struct {
	columns []string
	pos     []int
	rows    int64
	sorted  bool
}

// scanRoomUsage validates the whole CSV (header, field counts, values) without keeping it.
func scanRoomUsage(data string) (roomScan, error) {
	r := newRecordReader(data)
	header, err := r.Read()
	if err != nil {
		return roomScan{}, fmt.Errorf("room usage CSV header: %w", err)
	}
	header = slices.Clone(header) // the reader reuses its record for the next row
	scan := roomScan{sorted: true}
	if scan.columns, scan.pos, err = roomLayout(header); err != nil {
		return roomScan{}, err
	}
	var prev string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return scan, nil
		}
		if err != nil {
			return roomScan{}, fmt.Errorf("room usage CSV: %w", err)
		}
		scan.rows++
		if err := checkRoomRecord(rec, header, scan.rows); err != nil {
			return roomScan{}, err
		}
		if scan.rows > 1 && rec[0] < prev {
			scan.sorted = false
		}
		prev = rec[0] // both readers return fresh strings (or substrings of data) per record
	}
}

// roomEmitter writes validated room records as rows, reusing one row.
type roomEmitter struct {
	w         RowWriter
	pos       []int
	row       Row
	date, app Value
}

func (e *roomEmitter) emit(rec []string) error {
	for i := range e.row {
		e.row[i] = Value{Number: true}
	}
	e.row[0], e.row[1], e.row[2] = e.date, e.app, Str(rec[0])
	for i, v := range rec[1:] {
		e.row[e.pos[i]] = Value{Text: trimZeros(v), Number: true}
	}
	return e.w.WriteRow(e.row)
}

// inOrder writes the records as they come (they are already in room ID order).
func (e *roomEmitter) inOrder(data string) error {
	r := newRecordReader(data)
	if _, err := r.Read(); err != nil {
		return err
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err == nil {
			err = e.emit(rec)
		}
		if err != nil {
			return err
		}
	}
}

// byRoom sorts the records' byte spans by room ID, then writes each record re-read from its span:
// only the n spans are held, never the records.
func (e *roomEmitter) byRoom(data string, n int64) error {
	type span struct {
		room       string
		start, end int64
	}
	r := newRecordReader(data)
	if _, err := r.Read(); err != nil {
		return err
	}
	spans := make([]span, 0, n)
	for {
		start := r.InputOffset()
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
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
			err = e.emit(rec)
		}
		if err != nil {
			return err
		}
	}
	return nil
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

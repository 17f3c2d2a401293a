package usage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readBack reads a file with ParquetReader into text rows (nil for a null), and counts the row
// groups.
func readBack(t *testing.T, b []byte, s Schema, cols []string, rows int64) ([][]*string, int, error) {
	t.Helper()
	r, err := NewParquetReader(bytes.NewReader(b), s, cols, rows)
	if err != nil {
		return nil, 0, err
	}
	var out [][]*string
	groups := 0
	for r.Next() {
		groups++
		cs := r.Columns()
		for i := range r.Len() {
			row := make([]*string, len(cs))
			for j := range cs {
				if !cs[j].Null[i] {
					v := cs[j].Text(i)
					row[j] = &v
				}
			}
			out = append(out, row)
		}
	}
	return out, groups, r.Err()
}

// randomRoomRows are room-usage rows with varied room IDs (empty, long, non-ASCII), decimals,
// and nulls.
func randomRoomRows(n int, seed uint64) []Row {
	rng := rand.New(rand.NewPCG(seed, 1))
	rows := make([]Row, n)
	for i := range rows {
		room := fmt.Sprintf("room-%d", rng.IntN(1_000_000))
		switch rng.IntN(20) {
		case 0:
			room = ""
		case 1:
			room = "会议室-" + strings.Repeat("x", rng.IntN(300))
		}
		dec := func() Value {
			if rng.IntN(5) == 0 {
				return Value{Number: true} // null
			}
			return Value{Text: strconv.FormatFloat(float64(rng.IntN(1_000_000))/8, 'f', -1, 64), Number: true}
		}
		rows[i] = Row{Str("2024-05-01"), Int(int64(1400000000 + rng.IntN(3))), Str(room), dec(), dec()}
	}
	return rows
}

// Every value written comes back, in order, as the text it was written as (nulls as nulls,
// empty strings as empty strings), over several row groups of several pages each.
func TestParquetReaderReadsWhatTheWriterWrote(t *testing.T) {
	cols := []string{"date", "sdk_app_id", "room_id", "audio_seconds", "spatial_audio_seconds"}
	for _, n := range []int{0, 1, 1000, ParquetRowGroupRows, 2*ParquetRowGroupRows + 17} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			rows := randomRoomRows(n, uint64(n))
			b := writeParquet(t, RoomUsageSchema, cols, rows)
			got, groups, err := readBack(t, b, RoomUsageSchema, cols, int64(n))
			require.NoError(t, err)
			assert.Equal(t, (n+ParquetRowGroupRows-1)/ParquetRowGroupRows, groups)
			require.Len(t, got, n)
			for i, row := range rows {
				for j, v := range row {
					if v.Number && v.Text == "" {
						assert.Nil(t, got[i][j], "row %d column %s is null", i, cols[j])
						continue
					}
					require.NotNil(t, got[i][j], "row %d column %s", i, cols[j])
					require.Equal(t, v.Text, *got[i][j], "row %d column %s", i, cols[j])
				}
			}
		})
	}
}

// Dates, timestamps (as the same instant, in UTC) and integers of every type, and numbers
// through Number.
func TestParquetReaderTypes(t *testing.T) {
	s := ESSBillSchema
	rows := []Row{
		ESSRow("2026-03-04", ESSRecord{AppID: "app", OrgOpenID: "org", ChannelBillUsageDetail: essDetail(1772553600, 3, 1, "中文")}),
		ESSRow("2026-03-04", ESSRecord{AppID: "app", ChannelBillUsageDetail: essDetail(1772560000, -2, 2, "")}),
	}
	b := writeParquet(t, s, s.Names(), rows)
	r, err := NewParquetReader(bytes.NewReader(b), s, s.Names(), 2)
	require.NoError(t, err)
	require.True(t, r.Next())
	byName := map[string]*ParquetValues{}
	for i := range r.Columns() {
		byName[r.Columns()[i].Name] = &r.Columns()[i]
	}
	assert.Equal(t, "2026-03-04", byName["date"].Text(0))
	v, ok := byName["use_count"].Number(1)
	assert.True(t, ok)
	assert.Equal(t, -2.0, v)
	_, ok = byName["remark"].Number(0)
	assert.False(t, ok, "a string is no number")
	for i, row := range rows {
		for j, c := range s.Columns {
			if c.Type != TypeTimestamp {
				continue
			}
			want, err := time.Parse(time.RFC3339, row[j].Text)
			require.NoError(t, err)
			got, err := time.Parse(time.RFC3339, byName[c.Name].Text(i))
			require.NoError(t, err, c.Name)
			assert.True(t, want.Equal(got), "%s: %s is %s", c.Name, byName[c.Name].Text(i), row[j].Text)
		}
	}
	assert.False(t, r.Next())
	assert.NoError(t, r.Err())
}

// A file that is not what the caller says (rows, columns), cut short, or damaged anywhere is an
// error, never a panic or a silent partial read.
func TestParquetReaderRefusesWhatItDoesNotExpect(t *testing.T) {
	cols := []string{"date", "sdk_app_id", "room_id", "audio_seconds"}
	rows := make([]Row, ParquetRowGroupRows+5)
	for i := range rows {
		rows[i] = Row{Str("2024-05-01"), Int(7), Str(fmt.Sprintf("r%d", i)), {Text: "1.5", Number: true}}
	}
	b := writeParquet(t, RoomUsageSchema, cols, rows)
	n := int64(len(rows))
	cases := map[string]struct {
		data []byte
		cols []string
		rows int64
	}{
		"one row more":       {b, cols, n + 1},
		"one row less":       {b, cols, n - 1},
		"a row group less":   {b, cols, 5},
		"other column names": {b, []string{"date", "sdk_app_id", "room_id", "video_sd_seconds"}, n},
		"a column less":      {b, cols[:3], n},
		"truncated":          {b[:len(b)/2], cols, n},
		"no footer":          {b[:len(b)-9], cols, n},
		"not parquet":        {[]byte("date,sdk_app_id\n"), cols, n},
		"empty":              {nil, cols, n},
		"trailing bytes":     {append(append([]byte{}, b...), 'x'), cols, n},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := readBack(t, tc.data, RoomUsageSchema, tc.cols, tc.rows)
			assert.ErrorIs(t, err, ErrNotOurParquet)
		})
	}
	_, err := NewParquetReader(bytes.NewReader(b), TelCallSchema, []string{"nope"}, 1)
	assert.Error(t, err, "a column the schema does not have")

	// Flipping any one byte is caught (or, in a value, changes the value: the report checks
	// every file's SHA-256 against its manifest as well).
	rng := rand.New(rand.NewPCG(7, 7))
	for range 300 {
		d := bytes.Clone(b)
		d[rng.IntN(len(d))] ^= byte(1 + rng.IntN(255))
		assert.NotPanics(t, func() { _, _, _ = readBack(t, d, RoomUsageSchema, cols, n) })
	}
}

// A page header that claims more than a page may hold is refused before anything of that size
// is allocated.
func TestParquetReaderBoundsPages(t *testing.T) {
	var h thriftWriter
	h.begin(0)
	h.i32(1, pageData)
	h.i32(2, 1<<30)
	h.i32(3, 1<<30)
	h.begin(5)
	h.i32(1, 1)
	h.i32(2, encPlain)
	h.i32(3, encRLE)
	h.i32(4, encRLE)
	h.end()
	h.end()
	data := append([]byte(parquetMagic), h.b...)
	_, _, err := readBack(t, data, TelCallSchema, []string{"date"}, 1)
	require.ErrorIs(t, err, ErrNotOurParquet)
	assert.Contains(t, err.Error(), "compressed")

	var lv []byte
	lv = binary.AppendUvarint(lv, 2<<1) // a run of two where the page has one value
	lv = append(lv, 1)
	nulls, err := appendNulls(nil, lv, 1)
	assert.ErrorIs(t, err, ErrNotOurParquet)
	assert.Nil(t, nulls)
}

// FuzzReadParquet: whatever the bytes, the reader returns an error or rows, never panics.
func FuzzReadParquet(f *testing.F) {
	cols := []string{"date", "sdk_app_id", "room_id", "audio_seconds"}
	var b bytes.Buffer
	w, err := NewWriter(Parquet, &b, RoomUsageSchema, cols)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 20 {
		audio := Value{Text: strconv.Itoa(i), Number: true}
		if i%3 == 0 {
			audio = Value{Number: true}
		}
		if err := w.WriteRow(Row{Str("2024-05-01"), Int(7), Str(fmt.Sprintf("r%d", i)), audio}); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes(), int64(20))
	f.Add([]byte(parquetMagic), int64(0))
	f.Fuzz(func(t *testing.T, data []byte, rows int64) {
		r, err := NewParquetReader(bytes.NewReader(data), RoomUsageSchema, cols, rows%(3*ParquetRowGroupRows))
		if err != nil {
			return
		}
		for r.Next() {
			for _, c := range r.Columns() {
				if len(c.Null) != r.Len() {
					t.Fatalf("column %s has %d values in a row group of %d", c.Name, len(c.Null), r.Len())
				}
				for i := range c.Null {
					_ = c.Text(i)
				}
			}
		}
	})
}

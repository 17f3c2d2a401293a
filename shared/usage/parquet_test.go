package usage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// readParquet opens a file written by ParquetWriter with parquet-go's own reader and returns it
// with all its rows.
func readParquet(t *testing.T, b []byte) (*parquet.File, []parquet.Row) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	r := parquet.NewReader(f)
	defer r.Close()
	var rows []parquet.Row
	buf := make([]parquet.Row, 100)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			rows = append(rows, row.Clone())
		}
		if errors.Is(err, io.EOF) {
			return f, rows
		}
		require.NoError(t, err)
	}
}

func writeParquet(t *testing.T, s Schema, cols []string, rows []Row) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := NewWriter(Parquet, &b, s, cols)
	require.NoError(t, err)
	for _, r := range rows {
		require.NoError(t, w.WriteRow(r))
	}
	require.NoError(t, w.Close())
	return b.Bytes()
}

// Each schema type becomes its Parquet type, columns keep the schema's order, a missing figure
// is null, and the values read back are the rows' values.
func TestParquetTypesOrderAndValues(t *testing.T) {
	s := ESSBillSchema
	rows := []Row{
		ESSRow("2026-03-04", ESSRecord{AppID: "app", OrgOpenID: "org", ChannelBillUsageDetail: essDetail(1772553600, 3, 1, "中文 \xff")}),
		ESSRow("2026-03-04", ESSRecord{AppID: "app", ChannelBillUsageDetail: essDetail(1772560000, -2, 2, "")}),
	}
	b := writeParquet(t, s, s.Names(), rows)
	f, got := readParquet(t, b)

	fields := f.Schema().Fields()
	require.Len(t, fields, len(s.Columns))
	for i, c := range s.Columns {
		assert.Equal(t, c.Name, fields[i].Name(), "column %d keeps the schema's order", i)
		assert.True(t, fields[i].Optional(), c.Name)
		lt := fields[i].Type().LogicalType().String()
		switch c.Type {
		case TypeDate:
			assert.Equal(t, "DATE", lt, c.Name)
		case TypeTimestamp:
			assert.Contains(t, lt, "TIMESTAMP", c.Name)
			assert.Contains(t, lt, "isAdjustedToUTC=true", c.Name)
			assert.Contains(t, lt, "MICROS", c.Name)
		case TypeString:
			assert.Equal(t, "STRING", lt, c.Name)
		case TypeInt64:
			assert.Equal(t, parquet.Int64, fields[i].Type().Kind(), c.Name)
		}
	}
	require.Len(t, got, 2)
	col := func(row parquet.Row, name string) parquet.Value {
		for _, v := range row {
			if fields[v.Column()].Name() == name {
				return v
			}
		}
		t.Fatalf("no column %s", name)
		return parquet.Value{}
	}
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	assert.EqualValues(t, day.Unix()/86400, col(got[0], "date").Int32())
	assert.Equal(t, "org", string(col(got[0], "proxy_organization_open_id").ByteArray()))
	assert.Equal(t, "", string(col(got[1], "proxy_organization_open_id").ByteArray()))
	assert.False(t, col(got[1], "proxy_organization_open_id").IsNull(), "an empty string stays a string")
	assert.Equal(t, "中文 \ufffd", string(col(got[0], "remark").ByteArray()), "invalid UTF-8 replaced, as in JSON Lines")
	assert.EqualValues(t, -2, col(got[1], "use_count").Int64())
	assert.EqualValues(t, int64(1772553600)*1e6, col(got[0], "cost_time").Int64(), "microseconds since the epoch, UTC")
	v, ok := f.Lookup("tcusage.dataset")
	assert.True(t, ok)
	assert.Equal(t, "essbill", v)
}

func essDetail(at, use, costType int64, remark string) (d tcapi.ChannelBillUsageDetail) {
	d.CostTime, d.UseCount, d.CostType, d.Remark, d.FlowID = at, use, costType, remark, "flow"
	return d
}

// Room usage: decimal seconds are DOUBLE, further columns of the open schema too, and an empty
// figure is null.
func TestParquetRoomUsageDecimalsAndNulls(t *testing.T) {
	var b bytes.Buffer
	res, err := WriteRoomUsage("2024-05-01", 7, "RoomId,Audio,SD,Spatial Audio\nr1,1.5,,7\nr2,0,2,\n", func(cols []string) (RowWriter, error) {
		return NewWriter(Parquet, &b, RoomUsageSchema, cols)
	})
	require.NoError(t, err)
	f, rows := readParquet(t, b.Bytes())
	fields := f.Schema().Fields()
	require.Len(t, fields, len(res.Columns))
	byName := map[string]int{}
	for i, fl := range fields {
		assert.Equal(t, res.Columns[i], fl.Name())
		byName[fl.Name()] = i
	}
	extra := res.Columns[len(res.Columns)-1]
	assert.Equal(t, parquet.Double, fields[byName[extra]].Type().Kind(), "further columns are decimal seconds")
	audio := byName[RoomUsageSchema.Columns[3].Name]
	assert.Equal(t, parquet.Double, fields[audio].Type().Kind())
	require.Len(t, rows, 2)
	assert.Equal(t, 1.5, rows[0][audio].Double())
	assert.True(t, rows[1][byName[extra]].IsNull(), "an empty figure is null")
	assert.True(t, rows[0][byName[RoomUsageSchema.Columns[4].Name]].IsNull())
}

// A large day is written in several row groups (the writer never holds more than one), the same
// rows give the same bytes, and every row comes back in order.
func TestParquetRowGroupsAndDeterminism(t *testing.T) {
	n := ParquetRowGroupRows*2 + 10
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{Str("2024-05-01"), Int(7), Str(fmt.Sprintf("room-%07d-%s", i, strings.Repeat("x", 24))), {Text: fmt.Sprint(i % 3600), Number: true}}
	}
	cols := []string{"date", "sdk_app_id", "room_id", "extra_seconds"}
	a := writeParquet(t, RoomUsageSchema, cols, rows)
	b := writeParquet(t, RoomUsageSchema, cols, rows)
	assert.Equal(t, a, b, "byte-identical for the same rows")
	f, got := readParquet(t, a)
	assert.Len(t, f.RowGroups(), 3)
	require.Len(t, got, n)
	assert.Equal(t, fmt.Sprintf("room-%07d-%s", n-1, strings.Repeat("x", 24)), string(got[n-1][2].ByteArray()), "a row group of several pages")
	assert.Equal(t, float64((n-1)%3600), got[n-1][3].Double())
}

func TestParquetRefusesBadValuesAndColumns(t *testing.T) {
	var b bytes.Buffer
	w, err := NewWriter(Parquet, &b, TelCallSchema, []string{"date", "sdk_app_id"})
	require.NoError(t, err)
	err = w.WriteRow(Row{Str("2024-05-01"), {Text: "1.5", Number: true}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sdk_app_id")
	assert.Error(t, w.WriteRow(Row{Str("2024-05-01")}), "wrong width")
	_, err = NewWriter(Parquet, &b, TelCallSchema, []string{"date", "nope"})
	assert.Error(t, err, "a closed schema has no further columns")
}

// An app-day without rows still gets a readable file with the columns.
func TestParquetEmpty(t *testing.T) {
	b := writeParquet(t, TelCallSchema, TelCallSchema.Names(), nil)
	f, rows := readParquet(t, b)
	assert.Empty(t, rows)
	assert.Len(t, f.Schema().Fields(), len(TelCallSchema.Columns))
}

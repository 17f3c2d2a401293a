package usage

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readAllRecords reads every record, returning the records, their end offsets and the first error.
func readAllRecords(r recordReader) ([][]string, []int64, error) {
	var recs [][]string
	var offs []int64
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return recs, offs, nil
		}
		if err != nil {
			return recs, offs, err
		}
		recs = append(recs, append([]string(nil), rec...))
		offs = append(offs, r.InputOffset())
	}
}

func TestPlainCSVMatchesEncodingCSV(t *testing.T) {
	for name, data := range map[string]string{
		"simple":              "RoomId,Audio\nr1,1\nr2,2\n",
		"no final newline":    "RoomId,Audio\nr1,1\nr2,2",
		"empty lines skipped": "\nRoomId,Audio\n\nr1,1\n\n\nr2,2\n\n",
		"empty fields":        "RoomId,Audio,SD\n,,\nr,1,\n",
		"one column":          "RoomId\nr1\nr2\n",
		"short row":           "RoomId,Audio,SD\nr,1\n",
		"long row":            "RoomId,Audio\nr,1,2\n",
		"spaces kept":         "RoomId, Audio \n r ,1\n",
		"unicode":             "RoomId,Audio\n房间,1\n",
		"only newlines":       "\n\n\n",
		"empty":               "",
	} {
		t.Run(name, func(t *testing.T) {
			fast, ok := newRecordReader(data).(*plainCSV)
			require.True(t, ok, "plain input takes the fast reader")
			gotRecs, gotOffs, gotErr := readAllRecords(fast)
			wantRecs, wantOffs, wantErr := readAllRecords(newRoomReader(data))
			assert.Equal(t, wantRecs, gotRecs)
			if wantErr == nil {
				require.NoError(t, gotErr)
				assert.Equal(t, wantOffs, gotOffs)
				return
			}
			require.Error(t, gotErr)
			assert.Equal(t, wantErr.Error(), gotErr.Error())
			assert.ErrorIs(t, gotErr, csv.ErrFieldCount)
		})
	}
}

func TestRecordReaderFallsBackForQuotesAndCR(t *testing.T) {
	for _, data := range []string{"RoomId,Audio\n\"r\",1\n", "RoomId,Audio\r\nr,1\r\n"} {
		_, ok := newRecordReader(data).(*csv.Reader)
		assert.True(t, ok, "%q goes to encoding/csv", data)
	}
}

func TestCSVWriterMatchesEncodingCSV(t *testing.T) {
	fields := []string{"", "plain", "a,b", `say "hi"`, "line\nbreak", "cr\rhere", " lead", "\tlead", `\.`, "\u00a0nbsp", "\u2028", "trail ", "房间", "12.5"}
	var got, want strings.Builder
	w := NewCSVWriter(&got, fields)
	row := make(Row, len(fields))
	for i, f := range fields {
		row[i] = Str(f)
	}
	require.NoError(t, w.WriteRow(row))
	require.NoError(t, w.Close())
	cw := csv.NewWriter(&want)
	require.NoError(t, cw.Write(fields))
	require.NoError(t, cw.Write(fields))
	cw.Flush()
	require.NoError(t, cw.Error())
	assert.Equal(t, want.String(), got.String())
}

package usage

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzWriteRoomUsage feeds arbitrary answers to the room-usage CSV parser. It never panics. A
// refusal names the row or header at fault and never opens the writer (nothing partial is
// written); an accepted answer becomes one row per room, ordered by room ID, identical in the
// JSON Lines and CSV encodings, with the columns the header announced.
func FuzzWriteRoomUsage(f *testing.F) {
	for _, s := range []string{
		"RoomId,Audio,SD,hd,FullHD,2K,4K\ntest_room,1,2,3,4,5,6\n",
		"RoomId,Audio,SD,HD,FullHD,2K,4K,8K\nb,1,2,3,4,5,6,7\na,0.5,,3,4,5,6,7\n",
		"\ufeffroomid,audio\n\"x,y\",1\n\"q\"\"uote\",2\n",
		"RoomId,Audio\n", "", "  \n", "Room,Audio\na,1\n", "RoomId,Audio\na,-1\n", "RoomId,Audio\na,1,2\n",
		"RoomId,Audio,Audio\na,1,2\n", "RoomId,date\na,1\n", "RoomId,\na,1\n", "RoomId,Audio\n,1\n",
		"RoomId,Audio\r\nz,1\r\ny,2\r\n", "RoomId,Audio\na,1e5\n", "RoomId,Audio\na,.5\n", "RoomId,Audio\n\"a,1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		var c capture
		res, err := WriteRoomUsage("2024-05-09", 1400000001, data, c.open)
		if err != nil {
			require.Zero(t, c.opened, "a refused answer must not open the writer")
			require.Contains(t, err.Error(), "room usage CSV")
			return
		}
		require.Equal(t, 1, c.opened)
		require.Equal(t, res.Columns, c.cols)
		require.Equal(t, RoomUsageSchema.Names(), res.Columns[:len(RoomUsageSchema.Columns)])

		var jsonRooms []string
		sc := bufio.NewScanner(bytes.NewReader(c.jsonl.Bytes()))
		sc.Buffer(nil, len(data)+1<<16)
		for sc.Scan() {
			var m map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "%q", sc.Text())
			require.Len(t, m, len(res.Columns))
			require.Equal(t, "2024-05-09", m["date"])
			room, ok := m["room_id"].(string)
			require.True(t, ok)
			jsonRooms = append(jsonRooms, room)
		}
		require.NoError(t, sc.Err())
		require.Equal(t, res.Rows, int64(len(jsonRooms)))
		for i := 1; i < len(jsonRooms); i++ {
			require.LessOrEqual(t, jsonRooms[i-1], jsonRooms[i], "rows ordered by room ID")
		}

		recs, err := csv.NewReader(strings.NewReader(c.csv.String())).ReadAll()
		require.NoError(t, err)
		require.NotEmpty(t, recs)
		require.Equal(t, res.Columns, recs[0])
		require.Len(t, recs, len(jsonRooms)+1)
		for i, r := range recs[1:] {
			require.Equal(t, jsonRooms[i], r[2], "CSV and JSON Lines hold the same rooms")
		}
	})
}

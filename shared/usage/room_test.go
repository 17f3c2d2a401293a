package usage

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

type capture struct {
	cols   []string
	opened int
	jsonl  bytes.Buffer
	csv    bytes.Buffer
}

func (c *capture) open(cols []string) (RowWriter, error) {
	c.opened++
	c.cols = cols
	return MultiWriter{NewJSONLWriter(&c.jsonl, cols), NewCSVWriter(&c.csv, cols)}, nil
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}

func TestRoomUsageSeedExample(t *testing.T) {
	// The documented answer: note the lower-case hd and the trailing newline.
	var c capture
	res, err := WriteRoomUsage("2023-01-06", 1400017192, "RoomId,Audio,SD,hd,FullHD,2K,4K\ntest_room,1,2,3,4,5,6\n", c.open)
	require.NoError(t, err)
	assert.Equal(t, int64(1), res.Rows)
	assert.Equal(t, []string{"date", "sdk_app_id", "room_id", "audio_seconds", "video_sd_seconds", "video_hd_seconds", "video_fullhd_seconds", "video_2k_seconds", "video_4k_seconds"}, res.Columns)
	assert.Equal(t, `{"date":"2023-01-06","sdk_app_id":1400017192,"room_id":"test_room","audio_seconds":1,"video_sd_seconds":2,"video_hd_seconds":3,"video_fullhd_seconds":4,"video_2k_seconds":5,"video_4k_seconds":6}`+"\n", c.jsonl.String())
	assert.Equal(t, "date,sdk_app_id,room_id,audio_seconds,video_sd_seconds,video_hd_seconds,video_fullhd_seconds,video_2k_seconds,video_4k_seconds\n2023-01-06,1400017192,test_room,1,2,3,4,5,6\n", c.csv.String())
}

func TestRoomUsageOrderQuotesAndExtraColumns(t *testing.T) {
	data := "roomid,4K,Audio,\"SD\",HD,Spatial Audio\n" +
		"zeta,0,10,0,0,7\n" +
		"\"a,comma\",1,2,3,4,5\n" +
		"\"say \"\"hi\"\"\",0,1,0,0,0\n" +
		"mid,0,3,0,0,\n"
	var c capture
	res, err := WriteRoomUsage("2024-05-01", 7, data, c.open)
	require.NoError(t, err)
	assert.Equal(t, int64(4), res.Rows)
	assert.Equal(t, []string{"date", "sdk_app_id", "room_id", "audio_seconds", "video_sd_seconds", "video_hd_seconds", "video_fullhd_seconds", "video_2k_seconds", "video_4k_seconds", "spatial_audio_seconds"}, res.Columns)
	golden(t, "room-extra.jsonl", c.jsonl.Bytes())
	golden(t, "room-extra.csv", c.csv.Bytes())
}

func TestRoomUsageEmptyAndHeaderOnly(t *testing.T) {
	for _, data := range []string{"", "  \n", "RoomId,Audio,SD,hd,FullHD,2K,4K\n"} {
		var c capture
		res, err := WriteRoomUsage("2024-05-01", 7, data, c.open)
		require.NoError(t, err, "%q", data)
		assert.Zero(t, res.Rows)
		assert.Empty(t, c.jsonl.String())
		assert.True(t, strings.HasPrefix(c.csv.String(), "date,sdk_app_id,room_id,"), "CSV keeps its header")
	}
}

func TestRoomUsageRejectsMalformedWithoutWriting(t *testing.T) {
	for name, data := range map[string]string{
		"no RoomId":        "Room,Audio\nr,1\n",
		"short row":        "RoomId,Audio,SD\nr,1\n",
		"long row":         "RoomId,Audio\nr,1,2\n",
		"not a number":     "RoomId,Audio\nr,abc\n",
		"negative":         "RoomId,Audio\nr,-1\n",
		"exponent":         "RoomId,Audio\nr,1e3\n",
		"empty room":       "RoomId,Audio\n,1\n",
		"duplicate column": "RoomId,Audio,audio\nr,1,2\n",
		"bare quote":       "RoomId,Audio\nr\"x,1\n",
		"unnamed column":   "RoomId,%%\nr,1\n",
	} {
		t.Run(name, func(t *testing.T) {
			var c capture
			_, err := WriteRoomUsage("2024-05-01", 7, data, c.open)
			assert.Error(t, err)
			assert.Zero(t, c.opened, "nothing is opened for a malformed answer")
		})
	}
}

func TestRoomUsageLargeUnsortedMatchesSorted(t *testing.T) {
	var sorted, reversed strings.Builder
	sorted.WriteString("RoomId,Audio,SD,hd,FullHD,2K,4K\n")
	reversed.WriteString("RoomId,Audio,SD,hd,FullHD,2K,4K\n")
	const n = 5000
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("room-%06d,%d,%d,0,0,0,0\n", i, i, 2*i)
	}
	for i := range lines {
		sorted.WriteString(lines[i])
		reversed.WriteString(lines[n-1-i])
	}
	var a, b capture
	_, err := WriteRoomUsage("2024-05-01", 7, sorted.String(), a.open)
	require.NoError(t, err)
	_, err = WriteRoomUsage("2024-05-01", 7, reversed.String(), b.open)
	require.NoError(t, err)
	assert.Equal(t, a.jsonl.String(), b.jsonl.String())
	assert.Equal(t, a.csv.String(), b.csv.String())
	assert.True(t, strings.HasPrefix(b.jsonl.String(), `{"date":"2024-05-01","sdk_app_id":7,"room_id":"room-000000",`))
}

// Further columns get plain identifiers with their unit: never a leading digit, never a fixed
// column's name.
func TestRoomUsageFurtherColumnNames(t *testing.T) {
	var c capture
	res, err := WriteRoomUsage("2024-05-01", 7, "RoomId,Audio,8K,Video SD,date,Spatial-Audio\nr,1,2,3,4,5\n", c.open)
	require.NoError(t, err)
	assert.Equal(t, []string{"x_8k_seconds", "x_video_sd_seconds", "date_seconds", "spatial_audio_seconds"}, res.Columns[9:])
	for _, col := range res.Columns {
		assert.Regexp(t, `^[a-z_][a-z0-9_]*$`, col)
	}
}

func BenchmarkRoomUsage(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("RoomId,Audio,SD,hd,FullHD,2K,4K\n")
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&sb, "room-%08d,%d,%d,%d,0,0,0\n", i, i%3600, i%600, i%60)
	}
	data := sb.String()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		open := func(cols []string) (RowWriter, error) {
			return MultiWriter{NewJSONLWriter(discard{}, cols), NewCSVWriter(discard{}, cols)}, nil
		}
		if _, err := WriteRoomUsage("2024-05-01", 7, data, open); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestRoomUsageErrorsNameTheColumn(t *testing.T) {
	var c capture
	_, err := WriteRoomUsage("2024-05-01", 7, "RoomId,Audio,SD\nr1,1,abc\n", c.open)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `column SD is "abc"`)
}

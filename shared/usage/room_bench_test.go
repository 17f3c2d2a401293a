package usage

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// roomCSV returns a room-usage answer of n rooms shaped like DescribeTrtcRoomUsage's Data (room
// IDs in order, six usage columns, about 40 bytes a room).
func roomCSV(n int) string {
	var sb strings.Builder
	sb.Grow(n * 44)
	sb.WriteString("RoomId,Audio,SD,hd,FullHD,2K,4K\n")
	b := make([]byte, 0, 64)
	for i := range n {
		b = append(b[:0], "room-"...)
		b = strconv.AppendInt(b, int64(10000000+i), 10)
		for _, v := range []int{i % 86400, i % 3600, i % 600, i % 60, 0, i % 7} {
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(v), 10)
		}
		sb.Write(append(b, '\n'))
	}
	return sb.String()
}

// BenchmarkRoomUsageRows parses room-usage answers of 10k, 100k and 1M rooms and writes them as
// JSON Lines and CSV (to io.Discard-like sinks): the CPU side of the large-answer target. The
// MB/s figure is answer bytes per second.
func BenchmarkRoomUsageRows(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		data := roomCSV(n)
		b.Run(fmt.Sprintf("rooms=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				open := func(cols []string) (RowWriter, error) {
					return MultiWriter{NewJSONLWriter(discard{}, cols), NewCSVWriter(discard{}, cols)}, nil
				}
				if _, err := WriteRoomUsage("2024-05-01", 1400000001, data, open); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRoomUsageUnsorted is the slow path: rooms out of order, so offsets are sorted.
func BenchmarkRoomUsageUnsorted(b *testing.B) {
	lines := strings.Split(strings.TrimSuffix(roomCSV(100_000), "\n"), "\n")
	header, rows := lines[0], lines[1:]
	slices.Reverse(rows)
	data := header + "\n" + strings.Join(rows, "\n") + "\n"
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		open := func(cols []string) (RowWriter, error) {
			return MultiWriter{NewJSONLWriter(discard{}, cols), NewCSVWriter(discard{}, cols)}, nil
		}
		if _, err := WriteRoomUsage("2024-05-01", 1400000001, data, open); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoomUsageParquet parses room-usage answers and writes them as Parquet only (to a
// discarding sink), reporting the file's size and the largest live heap seen while writing: the
// writer holds one row group, so the peak does not grow with the rooms.
func BenchmarkRoomUsageParquet(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		data := roomCSV(n)
		b.Run(fmt.Sprintf("rooms=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var peak uint64
			var size int64
			for b.Loop() {
				out := &countingDiscard{}
				open := func(cols []string) (RowWriter, error) {
					w, err := NewParquetWriter(out, RoomUsageSchema, cols)
					return heapWatch{w, &peak}, err
				}
				if _, err := WriteRoomUsage("2024-05-01", 1400000001, data, open); err != nil {
					b.Fatal(err)
				}
				size = out.n
			}
			b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
			b.ReportMetric(float64(size)/1e6, "file-MB")
		})
	}
}

type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// heapWatch samples the live heap every 64Ki rows.
type heapWatch struct {
	*ParquetWriter
	peak *uint64
}

func (h heapWatch) WriteRow(r Row) error {
	if h.rows%(64<<10) == 0 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		*h.peak = max(*h.peak, ms.HeapAlloc)
	}
	return h.ParquetWriter.WriteRow(r)
}

// BenchmarkRoomUsageRowsTallied is BenchmarkRoomUsageRows with the Tally every run writes beside
// the encoders (measure sums and the sign check): what the quality checks and restatement totals
// cost.
func BenchmarkRoomUsageRowsTallied(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		data := roomCSV(n)
		b.Run(fmt.Sprintf("rooms=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var tl *Tally
				open := func(cols []string) (RowWriter, error) {
					tl = NewTally(RoomUsageSchema, cols)
					return MultiWriter{NewJSONLWriter(discard{}, cols), NewCSVWriter(discard{}, cols), tl}, nil
				}
				if _, err := WriteRoomUsage("2024-05-01", 1400000001, data, open); err != nil {
					b.Fatal(err)
				}
				if tl.Measures()["audio_seconds"] <= 0 {
					b.Fatal("no audio seconds summed")
				}
			}
		})
	}
}

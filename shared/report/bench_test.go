package report

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
	"github.com/tcusage/tcusage/shared/usage"
)

// writeRoomDay writes a room-usage day of n rooms for one app into dir as a file store holds it
// (the data file in format f, streamed to disk, and its manifest) and returns the file's size.
func writeRoomDay(b *testing.B, dir string, n int, f usage.Format) int64 {
	b.Helper()
	d := day(fixDate)
	part, err := snapshot.PartitionDir("", Rooms, d)
	if err != nil {
		b.Fatal(err)
	}
	key := part + "app=" + fixApp1 + "/part-00000." + f.Ext()
	path := filepath.Join(dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(out, h), 1<<20)
	cols := usage.RoomUsageSchema.Names()
	w, err := usage.NewWriter(f, bw, usage.RoomUsageSchema, cols)
	if err != nil {
		b.Fatal(err)
	}
	num := func(v int) usage.Value { return usage.Value{Text: strconv.Itoa(v), Number: true} }
	for i := range n {
		row := usage.Row{usage.Str(fixDate), usage.Int(1400000001), usage.Str("room-" + strconv.Itoa(i*7919%1_000_003)),
			num(i % 3607), num(i % 601), num(i % 97), num(0), num(i % 13), num(0)}
		if err := w.WriteRow(row); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	st, err := out.Stat()
	if err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	m := &snapshot.Manifest{
		SchemaVersion: snapshot.ManifestSchemaVersion, Dataset: Rooms, DatasetVersion: snapshot.Version(Rooms), Date: d,
		Origin: snapshot.Origin{Service: "trtc", Action: "DescribeTrtcRoomUsage", APIVersion: "2019-07-22"}, GeneratedAt: fixNow,
		Status: snapshot.StatusComplete, Apps: []string{fixApp1}, RequestIDs: []string{"req"},
		Files: []snapshot.FileEntry{{Key: key, App: fixApp1, Format: f, Rows: int64(n), Columns: cols, Bytes: st.Size(),
			SHA256: hex.EncodeToString(h.Sum(nil)), ContentType: f.ContentType()}},
	}
	body, err := m.Encode()
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(part+snapshot.ManifestName)), body, 0o644); err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// peakHeap samples the live heap every millisecond until stop is called, and returns the
// largest value seen above the heap at the start.
func peakHeap() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak - base
	}
}

// BenchmarkBuildDayRooms builds the report of a room-usage day of 10k to 1M rooms, from JSON
// Lines and from Parquet: MB/s of data file read, and the peak heap above the start (which must
// not grow with the rooms: the rows are folded as they stream, the top rooms are a bounded heap).
func BenchmarkBuildDayRooms(b *testing.B) {
	for _, f := range []usage.Format{usage.JSONL, usage.CSV, usage.Parquet} {
		for _, n := range []int{10_000, 100_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/rooms=%d", f, n), func(b *testing.B) {
				dir := b.TempDir()
				size := writeRoomDay(b, dir, n, f)
				st, err := file.New(dir)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(size)
				var peak uint64
				b.ResetTimer()
				for b.Loop() {
					stop := peakHeap()
					d, err := Options{TrendDays: 1}.BuildDay(context.Background(), st, "", day(fixDate), fixNow)
					peak = max(peak, stop())
					if err != nil {
						b.Fatal(err)
					}
					if d.Rooms.RoomsSeen != int64(n) || len(d.Rooms.Top) != 20 {
						b.Fatalf("%d rooms seen, %d top", d.Rooms.RoomsSeen, len(d.Rooms.Top))
					}
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(size)/(1<<20), "file-MB")
			})
		}
	}
}

// BenchmarkIdleCheck: what an idle invocation's report step costs, deciding that a day's page is
// current, when the day's CCC manifest lists 10,000 apps: by the manifests' entity tags (COS), or
// by reading and decoding the manifests (a store without tags).
func BenchmarkIdleCheck(b *testing.B) {
	const apps = 10000
	rows := make(map[string][]string, apps)
	for i := range apps {
		app := strconv.Itoa(1400000000 + i)
		rows[app] = []string{telRow(fixDate, app, 100, 50, 10, 5, 0, 7)}
	}
	for _, tagged := range []bool{true, false} {
		b.Run(fmt.Sprintf("tags=%v", tagged), func(b *testing.B) {
			st := newMemStore()
			st.tagged = tagged
			putDay(b, st, fixPrefix, TelCall, fixDate, dayData{rows: rows})
			publishAll(b, st, fixDate)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				p, err := Refresh(ctx, st, fixPrefix, []Commit{{Day: day(fixDate)}}, fixNow)
				if err != nil || len(p.Skipped) != 1 {
					b.Fatalf("the page should be current: %v, %+v", err, p)
				}
			}
		})
	}
}

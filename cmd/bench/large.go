package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/emulator"
)

// roomAnswer returns a DescribeTrtcRoomUsage answer of n rooms (about 40 bytes a room, like the
// emulator's) and the size of its CSV.
func roomAnswer(n int) ([]byte, int) {
	var sb strings.Builder
	sb.Grow(n*44 + 128)
	sb.WriteString(`{"Response":{"Data":"`)
	csvStart := sb.Len()
	sb.WriteString(`RoomId,Audio,SD,hd,FullHD,2K,4K\n`)
	for i := range n {
		sb.WriteString("room_")
		sb.WriteString(strconv.Itoa(10000000 + i))
		for _, v := range []int{i % 86400, i % 3600, i % 600, i % 60, 0, i % 7} {
			sb.WriteByte(',')
			sb.WriteString(strconv.Itoa(v))
		}
		sb.WriteString(`\n`)
	}
	csvLen := sb.Len() - csvStart - (n + 1) // each escaped newline is one byte of CSV
	sb.WriteString(`","RequestId":"bench-large"}}`)
	return []byte(sb.String()), csvLen
}

// large runs the roomusage binary on one app-day whose answer has n rooms, served from a loopback
// server in this process, and reports the time from Invoke to answer (fetch, decode, parse, write
// JSON Lines and CSV, commit to the file store) and the function's peak RSS.
func large(ctx context.Context, out io.Writer, sizes []int) error {
	dir, err := os.MkdirTemp(os.Getenv("BENCH_DIR"), "tcusage-large-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bins, err := buildFunctions(ctx, dir, map[string]string{"roomusage": "./functions/roomusage"})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\n### Large answers: roomusage binary, one app-day, answer served on loopback")
	fmt.Fprintln(out, "\n| rooms | answer (JSON) | Invoke → answer | CSV MB/s (end to end) | peak RSS | RSS ÷ answer |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|")
	for _, n := range sizes {
		body, csvLen := roomAnswer(n)
		ctx, cancel := context.WithCancel(ctx)
		addr, err := serve(ctx, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
		}))
		if err != nil {
			cancel()
			return err
		}
		date := calendar.Of(time.Now(), calendar.Zone).Add(-1)
		env := []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir,
			"TCUSAGE_API_ENDPOINT=" + addr, "TCUSAGE_API_TIMEOUT=5m",
			"TENCENTCLOUD_SECRET_ID=" + emulator.TestSecretID, "TENCENTCLOUD_SECRET_KEY=" + emulator.TestSecretKey,
			"TCUSAGE_SDK_APP_IDS=" + benchApp, "TCUSAGE_SINK=file://" + filepath.Join(dir, "store"+strconv.Itoa(n)), "TCUSAGE_RESTATE_DAYS=0",
		}
		if r := os.Getenv("TCUSAGE_REPORTS"); r != "" { // off: without rendering the day's report
			env = append(env, "TCUSAGE_REPORTS="+r)
		}
		inv, err := invokeOnce(ctx, bins["roomusage"], env, timerPayload(date), 10*time.Minute)
		cancel()
		if err != nil {
			return err
		}
		if inv.Error != "" {
			return fmt.Errorf("roomusage answered an error: %s", inv.Error)
		}
		if !strings.Contains(string(inv.Payload), fmt.Sprintf(`"rows":%d`, n)) {
			return fmt.Errorf("roomusage answer does not report %d rows: %s", n, inv.Payload)
		}
		fmt.Fprintf(out, "| %d | %s | %s | %.0f | %s | %.2f× |\n", n, mb(int64(len(body))), ms(inv.Answer),
			float64(csvLen)/(1<<20)/inv.Answer.Seconds(), mb(inv.PeakRSS), float64(inv.PeakRSS)/float64(len(body)))
	}
	return nil
}

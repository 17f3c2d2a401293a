package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// scale reports how time and memory grow: daily runs of 1, 10, 100 and 200 apps (each in its own
// process, so that its peak RSS is its own) and room-usage answers of 10k, 100k and 1M rooms.
func scale(ctx context.Context, out io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\n### Cost against apps: daily run, all four functions, one date, latency 30 ms (one process per row; RSS includes the two in-process emulators)")
	fmt.Fprintln(out, "\n| apps | bound | wall | wall ÷ bound | Go heap peak | process peak RSS (VmHWM) |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|")
	for _, n := range []int{1, 10, 100, 200} {
		cmd := exec.CommandContext(ctx, self, "daily", "-json", "-apps", strconv.Itoa(n))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("daily -apps %d: %w: %s", n, err, stderr.String())
		}
		var r dailyResult
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("daily -apps %d: %w", n, err)
		}
		fmt.Fprintf(out, "| %d | %s | %s | %.3f | %s | %s |\n", n, r.Bound.Round(time.Millisecond), r.Wall.Round(time.Millisecond),
			float64(r.Wall)/float64(r.Bound), mb(int64(r.HeapPeak)), mb(r.PeakRSS))
	}
	fmt.Fprintln(out, "\n### Cost against rows")
	return large(ctx, out, []int{10_000, 100_000, 1_000_000})
}

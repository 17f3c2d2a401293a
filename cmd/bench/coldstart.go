package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/emulator"
)

// benchApp is the app the cold-start and large-answer runs use.
const benchApp = "1400000001"

// coldStart measures process start → first Invoke answer for a one-app timer event of telcall
// (emulator on loopback, file store), the hello-world floor on the same runtime, and a Node.js
// handler doing the same call with the official SDK.
func coldStart(ctx context.Context, out io.Writer, n int, nodeDir string) error {
	dir, err := os.MkdirTemp(os.Getenv("BENCH_DIR"), "tcusage-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bins, err := buildFunctions(ctx, dir, map[string]string{"telcall": "./functions/telcall", "hello": "./cmd/bench/hello"})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	addr, err := startEmulator(ctx, emulator.Config{NoRateLimits: true})
	if err != nil {
		return err
	}
	date := calendar.Of(time.Now(), calendar.Zone).Add(-1)
	payload := timerPayload(date)

	type subject struct {
		name  string
		times []time.Duration
		rss   []int64
	}
	goFn := &subject{name: "telcall (Go, shared/scf)"}
	hello := &subject{name: "hello world (Go, shared/scf)"}
	node := &subject{name: "Node.js + tencentcloud-sdk-nodejs"}
	nodeSDK, _ := filepath.Abs(nodeDir)
	haveNode := false
	if _, err := os.Stat(filepath.Join(nodeSDK, "node_modules", "tencentcloud-sdk-nodejs")); err == nil {
		if _, err := exec.LookPath("node"); err == nil {
			haveNode = true
		}
	}
	dayStart := date.Start().Unix()

	for i := range n {
		sink := filepath.Join(dir, "store"+strconv.Itoa(i))
		env := []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir,
			"TCUSAGE_API_ENDPOINT=" + addr,
			"TENCENTCLOUD_SECRET_ID=" + emulator.TestSecretID, "TENCENTCLOUD_SECRET_KEY=" + emulator.TestSecretKey,
			"TCUSAGE_SDK_APP_IDS=" + benchApp, "TCUSAGE_SINK=file://" + sink, "TCUSAGE_RESTATE_DAYS=0",
		}
		if f := os.Getenv("TCUSAGE_FORMAT"); f != "" { // e.g. all, to include the Parquet writer
			env = append(env, "TCUSAGE_FORMAT="+f)
		}
		if r := os.Getenv("TCUSAGE_REPORTS"); r != "" { // off: without rendering the day's report
			env = append(env, "TCUSAGE_REPORTS="+r)
		}
		for _, s := range []*subject{hello, goFn} {
			bin := bins["hello"]
			if s == goFn {
				bin = bins["telcall"]
			}
			inv, err := invokeOnce(ctx, bin, env, payload, time.Minute)
			if err != nil {
				return err
			}
			if inv.Error != "" {
				return fmt.Errorf("%s answered an error: %s", s.name, inv.Error)
			}
			s.times, s.rss = append(s.times, inv.Answer), append(s.rss, inv.PeakRSS)
		}
		if haveNode {
			took, rss, err := nodeColdStart(ctx, nodeSDK, addr, dayStart, filepath.Join(dir, "node.jsonl"))
			if err != nil {
				return err
			}
			node.times, node.rss = append(node.times, took), append(node.rss, rss)
		}
	}

	fmt.Fprintf(out, "\n### Cold start: process start → first Invoke answer (one-app timer event, %d runs each)\n\n", n)
	fmt.Fprintln(out, "| subject | median | p90 | min | peak RSS (median) | median ÷ hello |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|")
	subjects := []*subject{hello, goFn}
	if haveNode {
		subjects = append(subjects, node)
	}
	for _, s := range subjects {
		ratio := float64(median(s.times)) / float64(median(hello.times))
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %.2f× |\n", s.name, ms(median(s.times)), ms(percentile(s.times, 0.9)),
			ms(percentile(s.times, 0)), mb(medianInt(s.rss)), ratio)
	}
	if haveNode {
		fmt.Fprintf(out, "\nNode.js ÷ telcall (median): %.1f×\n", float64(median(node.times))/float64(median(goFn.times)))
	} else {
		fmt.Fprintf(out, "\nNode.js: skipped (no %s; run .ci/node-sdk.sh)\n", nodeSDK)
	}
	return nil
}

func medianInt(v []int64) int64 {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = time.Duration(x)
	}
	return int64(median(d))
}

// startEmulator serves an emulator on a loopback port until ctx ends.
func startEmulator(ctx context.Context, cfg emulator.Config) (string, error) {
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- emulator.ListenAndServe(ctx, "127.0.0.1:0", cfg, func(a string) { ready <- a }) }()
	select {
	case a := <-ready:
		return a, nil
	case err := <-done:
		return "", fmt.Errorf("start the emulator: %w", err)
	case <-time.After(10 * time.Second):
		return "", fmt.Errorf("start the emulator: not listening after 10 s")
	}
}

// nodeColdStart runs the Node.js handler with the official SDK once against the emulator: its
// time to an answer and its peak RSS.
func nodeColdStart(ctx context.Context, nodeSDK, addr string, dayStart int64, out string) (time.Duration, int64, error) {
	script, _ := filepath.Abs("cmd/bench/testdata/node_coldstart.js")
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Env = append(os.Environ(), "TCUSAGE_NODE_SDK_DIR="+nodeSDK, "EMULATOR_ADDR="+addr,
		"EMULATOR_SECRET_ID="+emulator.TestSecretID, "EMULATOR_SECRET_KEY="+emulator.TestSecretKey,
		"DAY_START="+strconv.FormatInt(dayStart, 10), "APP="+benchApp, "OUT="+out)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	b, err := cmd.Output()
	took := time.Since(start)
	if err != nil || strings.TrimSpace(string(b)) != "ok" {
		return 0, 0, fmt.Errorf("node handler: %v: %s", err, stderr.String())
	}
	return took, maxRSS(cmd.ProcessState), nil
}

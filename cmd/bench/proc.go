package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/scf"
	"github.com/tcusage/tcusage/shared/scfevent"
)

// buildFunctions builds the given packages like cmd/pack and returns name → binary path.
func buildFunctions(ctx context.Context, dir string, pkgs map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for name, pkg := range pkgs {
		bin := filepath.Join(dir, name)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, pkg)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s: %w: %s", pkg, err, b)
		}
		out[name] = bin
	}
	return out, nil
}

// invocation is one process started, invoked once and measured.
type invocation struct {
	Answer  time.Duration // process start to the Invoke answer
	PeakRSS int64         // VmHWM after the answer, bytes
	Payload []byte
	Error   string
}

// invokeOnce starts bin as the Go1 runtime would (port in _LAMBDA_SERVER_PORT), dials it as soon
// as it listens, sends one Invoke with payload, reads VmHWM and kills it.
func invokeOnce(ctx context.Context, bin string, env []string, payload []byte, timeout time.Duration) (invocation, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return invocation{}, err
	}
	port := lis.Addr().(*net.TCPAddr).Port
	lis.Close()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(slices.Clone(env), "_LAMBDA_SERVER_PORT="+strconv.Itoa(port), "TCUSAGE_RUNTIME_HOST=127.0.0.1")
	cmd.Stdout, cmd.Stderr = nil, nil
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return invocation{}, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var conn net.Conn
	for {
		conn, err = net.Dial("tcp", addr)
		if err == nil {
			break
		}
		if time.Since(start) > 10*time.Second {
			return invocation{}, fmt.Errorf("%s did not listen within 10 s: %w", bin, err)
		}
		time.Sleep(50 * time.Microsecond)
	}
	client := rpc.NewClient(conn)
	defer client.Close()
	dl := time.Now().Add(timeout)
	req := &scf.InvokeRequest{Payload: payload, RequestId: "bench", Deadline: scf.Timestamp{Seconds: dl.Unix(), Nanos: int64(dl.Nanosecond())},
		FunctionName: filepath.Base(bin), MemoryLimitInMb: 128, TimeLimitInMs: int32(timeout / time.Millisecond)}
	var resp scf.InvokeResponse
	if err := client.Call("Function.Invoke", req, &resp); err != nil {
		return invocation{}, fmt.Errorf("invoke %s: %w", bin, err)
	}
	inv := invocation{Answer: time.Since(start), Payload: resp.Payload}
	if resp.Error != nil {
		inv.Error = resp.Error.Message
	}
	inv.PeakRSS, err = vmHWM(cmd.Process.Pid)
	return inv, err
}

// vmHWM reads a process's peak resident set size from /proc/<pid>/status.
func vmHWM(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// maxRSS returns a finished command's peak RSS (wait4 rusage), bytes.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}

// timerPayload is a timer event whose Message overrides the date.
func timerPayload(date calendar.Day) []byte {
	msg, _ := json.Marshal(map[string]string{"date": date.String()})
	b, _ := json.Marshal(scfevent.Timer{Type: "Timer", TriggerName: "bench", Time: time.Now().UTC().Truncate(time.Second), Message: string(msg)})
	return b
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

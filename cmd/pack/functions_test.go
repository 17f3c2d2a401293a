package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/emulator/emulatortest"
	"github.com/tcusage/tcusage/shared/scf"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// TestPackedFunctionsAnswerTheRuntimeProtocol packs the four real functions, takes each binary
// out of its zip, starts it as SCF's Go1 runtime does (_LAMBDA_SERVER_PORT) and drives it over
// net/rpc: Ping, then a timer invocation against the emulator that writes a snapshot.
func TestPackedFunctionsAnswerTheRuntimeProtocol(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four binaries")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the packed binaries are linux/amd64")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	names := []string{"telcall", "trtcusage", "roomusage", "essbill"}
	targets, err := functionTargets(root, names)
	require.NoError(t, err)
	out := t.TempDir()
	var stderr bytes.Buffer
	b := builder{Dir: root, Out: out, Go: "go", Stderr: &stderr}

	emu := emulatortest.NewServer(t, emulator.Config{TimeScale: 0.001})
	sink := t.TempDir()
	for _, tg := range targets {
		t.Run(tg.Name, func(t *testing.T) {
			res, err := b.pack(context.Background(), tg)
			require.NoError(t, err, stderr.String())
			assert.LessOrEqual(t, res.BinarySize, int64(16<<20), "a stripped function binary stays within 16 MB (docs/performance.md)")

			bin := unzipMain(t, res.ZipPath)
			port := freePort(t)
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(),
				"_LAMBDA_SERVER_PORT="+port, "TCUSAGE_RUNTIME_HOST=127.0.0.1",
				"TCUSAGE_API_ENDPOINT="+emu.Addr,
				"TENCENTCLOUD_SECRET_ID="+emulator.TestSecretID, "TENCENTCLOUD_SECRET_KEY="+emulator.TestSecretKey,
				"TCUSAGE_API_RATE=DescribeTrtcRoomUsage=1/20ms",
				"TCUSAGE_SDK_APP_IDS=1400000001", "TCUSAGE_ESS_APP_ID=ess_app_demo",
				"TCUSAGE_SINK=file://"+sink, "HOME="+t.TempDir(),
			)
			var logs syncBuffer
			cmd.Stdout, cmd.Stderr = &logs, &logs
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

			client := dial(t, "127.0.0.1:"+port)
			defer client.Close()
			require.NoError(t, client.Call("Function.Ping", &scf.PingRequest{}, &scf.PingResponse{}))

			// The binary runs on the real clock (so does the emulator here): yesterday is a day
			// every API serves, whatever the date.
			now := time.Now()
			day := calendar.Of(now, calendar.Zone).Add(-1).String()
			payload := []byte(`{"Type":"Timer","TriggerName":"daily","Time":"` + now.UTC().Format(time.RFC3339) + `","Message":"{\"date\":\"` + day + `\"}"}`)
			req := &scf.InvokeRequest{Payload: payload, RequestId: "req-" + tg.Name, Deadline: scf.TimestampOf(time.Now().Add(time.Minute))}
			var resp scf.InvokeResponse
			require.NoError(t, client.Call("Function.Invoke", req, &resp))
			require.Nil(t, resp.Error, "logs:\n%s", logs.String())
			var sum struct {
				Dataset    string
				Partitions []struct{ Date, Status string }
			}
			require.NoError(t, json.Unmarshal(resp.Payload, &sum))
			assert.Equal(t, tg.Name, sum.Dataset)
			require.Len(t, sum.Partitions, 1)
			assert.Equal(t, "complete", sum.Partitions[0].Status)
			_, err = os.Stat(filepath.Join(sink, tg.Name, snapshot.Version(tg.Name), "dt="+day, "_manifest.json"))
			assert.NoError(t, err)
			assert.Contains(t, logs.String(), `"request_id":"req-`+tg.Name+`"`, "logs carry the invocation's request ID")
		})
	}
}

// syncBuffer is a buffer the child's output can be written to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func unzipMain(t *testing.T, zipPath string) string {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	require.NoError(t, err)
	defer zr.Close()
	require.Len(t, zr.File, 1)
	f := zr.File[0]
	require.Equal(t, "main", f.Name)
	rc, err := f.Open()
	require.NoError(t, err)
	defer rc.Close()
	path := filepath.Join(t.TempDir(), "main")
	w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, f.Mode())
	require.NoError(t, err)
	_, err = io.Copy(w, rc)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return path
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func dial(t *testing.T, addr string) *rpc.Client {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := rpc.Dial("tcp", addr)
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("function did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package tcloud

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// roomUsageBody returns a DescribeTrtcRoomUsage answer with n rooms (about 40 bytes each).
func roomUsageBody(n int) string {
	var sb strings.Builder
	sb.Grow(n*44 + 64)
	sb.WriteString(`{"Response":{"Data":"RoomId,Audio,SD,hd,FullHD,2K,4K\n`)
	for i := range n {
		sb.WriteString("room-")
		sb.WriteString(strconv.Itoa(10000000 + i))
		sb.WriteString(",")
		sb.WriteString(strconv.Itoa(i % 86400))
		sb.WriteString(",0,")
		sb.WriteString(strconv.Itoa(i % 600))
		sb.WriteString(`,0,0,0\n`)
	}
	sb.WriteString(`","RequestId":"bench"}}`)
	return sb.String()
}

// BenchmarkCallRoomUsage is a whole Client.Call of a 1M-room answer (about 40 MB) over an
// in-memory transport: signing, the SDK's body read and checks, and decoding. B/op is what one
// call allocates.
func BenchmarkCallRoomUsage(b *testing.B) {
	body := roomUsageBody(1_000_000)
	c, err := New(Config{
		Credentials: testCreds(""),
		Endpoint:    "127.0.0.1:9",
		Limits:      map[string]Limit{"DescribeTrtcRoomUsage": {}},
		Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{
				StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header:        http.Header{"Content-Type": {"application/json"}},
				ContentLength: int64(len(body)),
				Body:          io.NopCloser(strings.NewReader(body)),
			}, nil
		}),
	})
	if err != nil {
		b.Fatal(err)
	}
	req := tcapi.TRTCRoomUsageRequest{SDKAppID: 1400000001, StartTime: "2024-05-01 00:00", EndTime: "2024-05-01 23:59"}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var resp tcapi.TRTCRoomUsageResponse
		if err := c.Call(context.Background(), tcapi.DescribeTrtcRoomUsage, req, &resp); err != nil {
			b.Fatal(err)
		}
	}
}

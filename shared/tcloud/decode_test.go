package tcloud

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// Large answers take the transport's own decoding; what the caller gets must not change.
func TestLargeAnswersDecodeAsSmallOnes(t *testing.T) {
	csv := "RoomId,Audio\n" + strings.Repeat("room-\u623f\"q\",1\n", 20000) // > predecodeMin
	data, err := json.Marshal(csv)
	require.NoError(t, err)
	tests := []struct {
		name     string
		answer   string
		resp     any
		wantCode string
		check    func(t *testing.T, resp any)
	}{
		{
			name:   "room usage",
			answer: `{"Response":{"Data":` + string(data) + `,"RequestId":"r-big"}}`,
			resp:   &tcapi.TRTCRoomUsageResponse{},
			check: func(t *testing.T, resp any) {
				r := resp.(*tcapi.TRTCRoomUsageResponse)
				require.NotNil(t, r.Data)
				assert.Equal(t, csv, *r.Data)
				assert.Equal(t, "r-big", r.RequestID)
			},
		},
		{
			name:   "other action",
			answer: `{"Response":{"Total":1,"Details":[],"Pad":` + string(data) + `,"RequestId":"r-ess"}}`,
			resp:   &tcapi.BillUsageDetailResponse{},
			check: func(t *testing.T, resp any) {
				r := resp.(*tcapi.BillUsageDetailResponse)
				require.NotNil(t, r.Total)
				assert.Equal(t, int64(1), *r.Total)
				assert.Equal(t, "r-ess", r.RequestID)
			},
		},
		{
			name:     "error answer",
			answer:   `{"Response":{"Error":{"Code":"InvalidParameter","Message":` + string(data[:100]) + `"},"Pad":` + string(data) + `,"RequestId":"r-err"}}`,
			resp:     &tcapi.TRTCRoomUsageResponse{},
			wantCode: "InvalidParameter",
		},
		{
			name:     "undecodable answer",
			answer:   `{"Response":{"Data":12,"Pad":` + string(data) + `,"RequestId":"r-bad"}}`,
			resp:     &tcapi.TRTCRoomUsageResponse{},
			wantCode: CodeDecodeError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTCServer(t, nil, ok(tt.answer))
			c := newTestClient(t, srv, nil)
			err := c.Call(context.Background(), tcapi.DescribeTrtcRoomUsage, tcapi.TRTCRoomUsageRequest{SDKAppID: 1, StartTime: "2024-05-01 00:00", EndTime: "2024-05-01 23:59"}, tt.resp)
			if tt.wantCode != "" {
				var ae *APIError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, tt.wantCode, ae.Code)
				return
			}
			require.NoError(t, err)
			tt.check(t, tt.resp)
		})
	}
}

// TestPredecodeTakesLargeAnswersAndPassesTheRestThrough checks what the transport does itself:
// a large successful answer is decoded into the target and the SDK gets a stand-in; errors,
// small answers and other statuses reach the SDK unchanged.
func TestPredecodeTakesLargeAnswersAndPassesTheRestThrough(t *testing.T) {
	csvData := "RoomId,Audio\n" + strings.Repeat("room,1\n", 20000)
	big, err := json.Marshal(map[string]any{"Response": map[string]any{"Data": csvData, "RequestId": "rid-1"}})
	require.NoError(t, err)
	respOf := func(status int, body []byte) *http.Response {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
	}

	var out tcapi.TRTCRoomUsageResponse
	info := &attemptInfo{target: &out}
	resp := respOf(http.StatusOK, big)
	predecode(resp, info)
	decoded, derr := info.predecoded()
	require.True(t, decoded)
	require.NoError(t, derr)
	require.NotNil(t, out.Data)
	assert.Equal(t, csvData, *out.Data)
	assert.Equal(t, "rid-1", out.RequestID)
	stub, _ := io.ReadAll(resp.Body)
	assert.JSONEq(t, `{"Response":{"RequestId":"rid-1"}}`, string(stub))

	errBody := append([]byte(`{"Response":{"Error":{"Code":"InternalError","Message":"x"},"RequestId":"rid-2","Pad":"`), bytes.Repeat([]byte("p"), 70000)...)
	errBody = append(errBody, `"}}`...)
	for name, r := range map[string]*http.Response{
		"error answer": respOf(http.StatusOK, errBody),
		"small answer": respOf(http.StatusOK, []byte(`{"Response":{"Data":"RoomId\n","RequestId":"r"}}`)),
		"other status": respOf(http.StatusBadGateway, big),
	} {
		t.Run(name, func(t *testing.T) {
			var o tcapi.TRTCRoomUsageResponse
			info := &attemptInfo{target: &o}
			want, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(want))
			predecode(r, info)
			decoded, _ := info.predecoded()
			assert.False(t, decoded)
			got, _ := io.ReadAll(r.Body)
			assert.Equal(t, want, got, "the SDK sees the body unchanged")
		})
	}
}

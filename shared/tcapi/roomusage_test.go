package tcapi

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// plainRoomUsage has TRTCRoomUsageResponse's fields and no UnmarshalJSON: the reference decoding.
type plainRoomUsage struct {
	Data      *string `json:"Data"`
	RequestID string  `json:"RequestId"`
}

func TestRoomUsageDecodingMatchesEncodingJSON(t *testing.T) {
	for name, body := range map[string]string{
		"seed":            `{"Data":"RoomId,Audio,SD,hd,FullHD,2K,4K\ntest_room,1,2,3,4,5,6\n","RequestId":"r1"}`,
		"escapes":         `{"RequestId":"r2","Data":"a\"b\\c\/d\te\rf\bg\fh\n"}`,
		"unicode escape":  `{"Data":"\u623f\u95f4,1\n\ud83d\ude00","RequestId":"r3"}`,
		"utf8":            `{"Data":"房间,1\n","RequestId":"r4"}`,
		"invalid utf8":    "{\"Data\":\"r\xff\xfe,1\",\"RequestId\":\"r5\"}",
		"empty":           `{"Data":"","RequestId":"r6"}`,
		"null":            `{"Data":null,"RequestId":"r7"}`,
		"absent":          `{"RequestId":"r8"}`,
		"number":          `{"Data":12,"RequestId":"r9"}`,
		"bad request id":  `{"Data":"x","RequestId":5}`,
		"unknown fields":  `{"Extra":[1,2,{"a":"b"}],"Data":"x","RequestId":"r10"}`,
		"duplicate Data":  `{"Data":"first","Data":"second","RequestId":"r11"}`,
		"case folded key": `{"data":"lower","requestid":"r12"}`,
		"not an object":   `[1]`,
	} {
		t.Run(name, func(t *testing.T) {
			var want plainRoomUsage
			wantErr := json.Unmarshal([]byte(body), &want)
			var got TRTCRoomUsageResponse
			gotErr := got.DecodeJSON([]byte(body))
			if wantErr != nil {
				require.Error(t, gotErr)
				var wantType, gotType *json.UnmarshalTypeError
				assert.Equal(t, errorsAs(wantErr, &wantType), errorsAs(gotErr, &gotType), "the same kind of error: %v / %v", wantErr, gotErr)
				assert.Equal(t, strings.ReplaceAll(wantErr.Error(), "plainRoomUsage", "TRTCRoomUsageResponse"), gotErr.Error())
				return
			}
			require.NoError(t, gotErr)
			assert.Equal(t, want.Data, got.Data)
			assert.Equal(t, want.RequestID, got.RequestID)
		})
	}
}

func errorsAs(err error, target **json.UnmarshalTypeError) bool {
	e, ok := err.(*json.UnmarshalTypeError)
	*target = e
	return ok
}

// roomUsageBody returns the Response member of a DescribeTrtcRoomUsage answer with n rooms (about
// 40 bytes each).
func roomUsageBody(n int) []byte {
	var sb strings.Builder
	sb.Grow(n*44 + 64)
	sb.WriteString(`{"Data":"RoomId,Audio,SD,hd,FullHD,2K,4K\n`)
	for i := range n {
		sb.WriteString("room-" + strconv.Itoa(10000000+i) + "," + strconv.Itoa(i%86400) + ",0," + strconv.Itoa(i%600) + `,0,0,0\n`)
	}
	sb.WriteString(`","RequestId":"bench"}`)
	return []byte(sb.String())
}

// BenchmarkDecodeRoomUsage compares decoding a 1M-room answer with encoding/json's own decoding
// (unquote into bytes, then copy into a string) and with TRTCRoomUsageResponse.DecodeJSON.
func BenchmarkDecodeRoomUsage(b *testing.B) {
	body := roomUsageBody(1_000_000)
	for _, c := range []struct {
		name   string
		decode func([]byte) error
	}{
		{"encoding-json", func(b []byte) error { return json.Unmarshal(b, &plainRoomUsage{}) }},
		{"DecodeJSON", func(b []byte) error { return (&TRTCRoomUsageResponse{}).DecodeJSON(b) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

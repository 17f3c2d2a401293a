package source_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/source"
	"github.com/tcusage/tcusage/shared/tcloud"
	"github.com/tcusage/tcusage/shared/usage"
)

// answerServer answers every API call with the same body (the fuzzer's), up to a number of calls
// per round, then with an API error: a source that pages never loops for long.
type answerServer struct {
	mu    sync.Mutex
	body  []byte
	calls int
}

func (s *answerServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body := s.body
	s.calls++
	if s.calls > 20 {
		body = []byte(`{"Response":{"Error":{"Code":"InternalError","Message":"enough"},"RequestId":"r-stop"}}`)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-TC-RequestId", "r-fuzz")
	w.Write(body)
}

func (s *answerServer) set(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.calls = b, 0
}

type captured struct {
	opened int
	cols   []string
	jsonl  bytes.Buffer
	csv    bytes.Buffer
}

func (c *captured) open(cols []string) (usage.RowWriter, error) {
	c.opened++
	c.cols = cols
	return usage.MultiWriter{usage.NewJSONLWriter(&c.jsonl, cols), usage.NewCSVWriter(&c.csv, cols)}, nil
}

// FuzzAPIAnswer sends arbitrary bytes as the answer of each of the five actions, through the real
// client (SDK transport, signing, response decoding) to the source that turns them into rows. It
// never panics. A refused answer opens no writer (nothing partial is written) and says what is
// wrong; an accepted one gives exactly the rows counted, as valid JSON Lines and CSV with the
// announced columns.
func FuzzAPIAnswer(f *testing.F) {
	seeds := []struct {
		src  uint8
		body string
	}{
		{0, `{"Response":{"TelCallOutCount":1,"TelCallInCount":2,"VOIPCallInCount":3,"AsrOfflineCount":4,"AsrRealtimeCount":5,"SeatUsedCount":6,"RequestId":"r"}}`},
		{0, `{"Response":{"TelCallOutCount":-1,"RequestId":"r"}}`},
		{0, `{"Response":{"TelCallOutCount":1.5}}`},
		{1, `{"Response":{"Usages":[{"SdkAppId":"1400000001","SdkAppIdTrtcTimeUsages":[{"TimeKey":"2024-05-09 00:00:00","VideoTimeSd":1,"VideoTimeHd":2,"VideoTimeHdp":3,"AudioTime":4,"AudioVideoTime":5}]}],"RequestId":"r"}}`},
		{1, `{"Response":{"Usages":[{"SdkAppId":"9","SdkAppIdTrtcTimeUsages":[]}]}}`},
		{1, `{"Response":{"Usages":[{"TotalNum":2,"SdkAppId":"1400000001","SdkAppIdTrtcTimeUsages":[{"TimeKey":"2024-05-08 23:55:00","AudioTime":4}]}],"RequestId":"r"}}`},
		{2, `{"Response":{"UsageKey":["Audio","SD"],"UsageList":[{"TimeKey":"2024-05-09 00:05:00","UsageValue":[1.5,2]}],"RequestId":"r"}}`},
		{2, `{"Response":{"UsageKey":["Audio","Audio"],"UsageList":[]}}`},
		{3, `{"Response":{"Data":"RoomId,Audio,SD,hd,FullHD,2K,4K\ntest_room,1,2,3,4,5,6\n","RequestId":"r"}}`},
		{3, `{"Response":{"Data":null}}`},
		{4, `{"Response":{"Total":1,"Details":[{"FlowId":"f","CostTime":1715184000,"CostType":1,"UseCount":1,"QuotaType":"CloudEnterprise"}],"RequestId":"r"}}`},
		{4, `{"Response":{"Total":100000000,"Details":[]}}`},
		{4, `{"Response":{"Total":0,"Details":[]}}`},
		{0, `{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"},"RequestId":"r"}}`},
		{1, `<html>502 Bad Gateway</html>`},
		{2, `{"Response":{"UsageKey":["Audio"],"UsageList":[{"TimeKey":"2024-05-09 00:05:00","UsageValue":[`},
		{3, `{"Response":[]}`},
		{4, ``},
	}
	for _, s := range seeds {
		f.Add(s.src, []byte(s.body))
	}
	srv := &answerServer{}
	ts := httptest.NewServer(srv)
	f.Cleanup(ts.Close)
	noPacing := map[string]tcloud.Limit{tcloud.DefaultLimitKey: {}}
	for _, a := range []string{"DescribeTelCallInfo", "DescribeTrtcInteractiveTime", "DescribeTrtcUsage", "DescribeTrtcRoomUsage", "ChannelDescribeBillUsageDetail"} {
		noPacing[a] = tcloud.Limit{}
	}
	client, err := tcloud.New(tcloud.Config{
		Credentials: credential.Credentials{SecretID: "AKIDfuzzfuzzfuzzfuzzfuzz", SecretKey: "fuzzfuzzfuzzfuzzfuzzfuzz"},
		Endpoint:    ts.Listener.Addr().String(), Timeout: 5 * time.Second,
		Retry: tcloud.RetryPolicy{MaxAttempts: 1}, Limits: noPacing,
	})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		var src source.Source
		app := "1400000001"
		switch which % 5 {
		case 0:
			src = source.TelCall{}
		case 1:
			src = &source.TRTC{Mode: source.TRTCInteractive}
		case 2:
			src = &source.TRTC{Mode: source.TRTCUsage}
		case 3:
			src = source.RoomUsage{}
		case 4:
			src, app = &source.ESSBill{}, "ess_app_demo"
		}
		srv.set(body)
		var c captured
		q := source.Query{Day: calendar.Date(2024, 5, 9), App: app, Open: c.open}
		res, err := src.Fetch(context.Background(), client, q)
		if err != nil {
			require.Zero(t, c.opened, "a refused answer must not open the writer: %v", err)
			require.NotEmpty(t, err.Error())
			require.LessOrEqual(t, len(err.Error()), 2000, "error messages stay bounded")
			return
		}
		require.Equal(t, 1, c.opened)
		require.Equal(t, res.Columns, c.cols)
		require.Equal(t, src.Schema().Names(), res.Columns[:len(src.Schema().Columns)])
		require.NotEmpty(t, res.RequestIDs)

		var lines int64
		sc := bufio.NewScanner(bytes.NewReader(c.jsonl.Bytes()))
		sc.Buffer(nil, len(body)+1<<16)
		for sc.Scan() {
			var m map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "%q", sc.Text())
			require.Len(t, m, len(res.Columns))
			lines++
		}
		require.NoError(t, sc.Err())
		require.Equal(t, res.Rows, lines)
		recs, err := csv.NewReader(strings.NewReader(c.csv.String())).ReadAll()
		require.NoError(t, err)
		require.Equal(t, res.Columns, recs[0])
		require.Equal(t, res.Rows, int64(len(recs)-1))
	})
}

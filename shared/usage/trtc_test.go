package usage

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/tcapi"
)

func texts(rows []Row) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		for _, v := range r {
			out[i] = append(out[i], v.Text)
		}
	}
	return out
}

// The seed document's second example: a one-day query for app 1400243510.
const seedInteractiveOneDay = `{"Usages":[{"TotalNum":2,"SdkAppId":"1400243510","SdkAppIdTrtcTimeUsages":[
 {"AudioVideoTime":56820,"VideoTimeSd":0,"VideoTimeHd":0,"VideoTimeHdp":0,"AudioTime":0,"TimeKey":"2020-09-08 09:55:00"},
 {"AudioVideoTime":14706996,"VideoTimeSd":0,"VideoTimeHd":0,"VideoTimeHdp":0,"AudioTime":0,"TimeKey":"2020-09-07 09:50:00"}]}],
 "RequestId":"644956b8-9f7c-44c5-b833-31d91dba1b24"}`

func TestTrtcInteractiveRows(t *testing.T) {
	var r tcapi.TRTCInteractiveTimeResponse
	require.NoError(t, json.Unmarshal([]byte(seedInteractiveOneDay), &r))
	rows, err := TRTCInteractiveRows("2020-09-08", 1400243510, &r)
	require.NoError(t, err)
	got := texts(rows.Rows)
	require.Len(t, got, 10, "two points × five usage types")
	assert.Equal(t, 1, rows.OutsideDay, "the 2020-09-07 point of a 2020-09-08 query is kept and counted")
	// Sorted by time, then usage type order.
	assert.Equal(t, []string{"2020-09-08", "1400243510", "2020-09-07T09:50:00+08:00", "5m", "audio", "0"}, got[0])
	assert.Equal(t, []string{"2020-09-08", "1400243510", "2020-09-07T09:50:00+08:00", "5m", "audio_video", "14706996"}, got[1])
	assert.Equal(t, []string{"2020-09-08", "1400243510", "2020-09-08T09:55:00+08:00", "5m", "fullhd", "0"}, got[9])
}

func TestTrtcInteractiveRowsDaily(t *testing.T) {
	body := `{"Usages":[{"SdkAppId":"7","SdkAppIdTrtcTimeUsages":[{"TimeKey":"2020-09-07","AudioTime":8435963,"VideoTimeSd":3633229,"VideoTimeHd":7266458,"VideoTimeHdp":10899687}]}]}`
	var r tcapi.TRTCInteractiveTimeResponse
	require.NoError(t, json.Unmarshal([]byte(body), &r))
	rows, err := TRTCInteractiveRows("2020-09-07", 7, &r)
	require.NoError(t, err)
	assert.Zero(t, rows.OutsideDay)
	got := texts(rows.Rows)
	assert.Equal(t, []string{"2020-09-07", "7", "2020-09-07T00:00:00+08:00", "1d", "sd", "3633229"}, got[2])
	assert.Equal(t, "10899687", got[4][5])
}

func TestTrtcInteractiveRowsRejects(t *testing.T) {
	for name, body := range map[string]string{
		"wrong app":    `{"Usages":[{"SdkAppId":"total","SdkAppIdTrtcTimeUsages":[]}]}`,
		"bad time key": `{"Usages":[{"SdkAppId":"7","SdkAppIdTrtcTimeUsages":[{"TimeKey":"07/09/2020"}]}]}`,
		"repeated key": `{"Usages":[{"SdkAppId":"7","SdkAppIdTrtcTimeUsages":[{"TimeKey":"2020-09-07 00:05:00"},{"TimeKey":"2020-09-07 00:05:00"}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			var r tcapi.TRTCInteractiveTimeResponse
			require.NoError(t, json.Unmarshal([]byte(body), &r))
			_, err := TRTCInteractiveRows("2020-09-07", 7, &r)
			assert.Error(t, err)
		})
	}
}

func TestTrtcInteractiveRowsCheckTotalNum(t *testing.T) {
	const point = `{"TimeKey":"2024-05-01 00:05:00","AudioTime":1}`
	const point2 = `{"TimeKey":"2024-05-01 00:10:00","AudioTime":2}`
	for _, tc := range []struct {
		name, usages string
		wantErr      bool
	}{
		{"whole", `{"TotalNum":2,"SdkAppId":"7","SdkAppIdTrtcTimeUsages":[` + point + `,` + point2 + `]}`, false},
		{"no TotalNum", `{"SdkAppId":"7","SdkAppIdTrtcTimeUsages":[` + point + `]}`, false},
		{"empty day", `{"TotalNum":0,"SdkAppId":"7","SdkAppIdTrtcTimeUsages":[]}`, false},
		{"truncated", `{"TotalNum":2,"SdkAppId":"7","SdkAppIdTrtcTimeUsages":[` + point + `]}`, true},
		{"all lost", `{"TotalNum":2,"SdkAppId":"7","SdkAppIdTrtcTimeUsages":[]}`, true},
		{"more than counted", `{"TotalNum":1,"SdkAppId":"7","SdkAppIdTrtcTimeUsages":[` + point + `,` + point2 + `]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r tcapi.TRTCInteractiveTimeResponse
			require.NoError(t, json.Unmarshal([]byte(`{"Usages":[`+tc.usages+`],"RequestId":"req-42"}`), &r))
			rows, err := TRTCInteractiveRows("2024-05-01", 7, &r)
			if !tc.wantErr {
				require.NoError(t, err)
				assert.Len(t, rows.Rows, 5*len(r.Usages[0].SDKAppIDTRTCTimeUsages))
				return
			}
			require.ErrorIs(t, err, ErrTotalNum)
			for _, s := range []string{"app 7", "2024-05-01", "req-42"} {
				assert.Contains(t, err.Error(), s, "the error names the app, the day and the request")
			}
			assert.Empty(t, rows.Rows, "no rows from a truncated answer")
		})
	}
}

func TestTrtcRowsCountPointsOutsideTheDay(t *testing.T) {
	body := `{"UsageKey":["Audio"],"UsageList":[
	 {"TimeKey":"2024-04-30 23:55:00","UsageValue":[1]},
	 {"TimeKey":"2024-05-01 00:00:00","UsageValue":[1]},
	 {"TimeKey":"2024-05-01 23:55:00","UsageValue":[1]},
	 {"TimeKey":"2024-05-02 00:00:00","UsageValue":[1]}]}`
	var r tcapi.TRTCUsageResponse
	require.NoError(t, json.Unmarshal([]byte(body), &r))
	rows, err := TRTCUsageRows("2024-05-01", 9, &r)
	require.NoError(t, err)
	assert.Equal(t, 2, rows.OutsideDay, "the point before midnight and the one at the next midnight")
	require.Len(t, rows.Rows, 4, "every point is kept")
	assert.Equal(t, "2024-04-30T23:55:00+08:00", rows.Rows[0][2].Text)
	assert.Equal(t, "2024-05-01", rows.Rows[0][0].Text, "filed under the day queried")
}

func TestTrtcUsageRows(t *testing.T) {
	body := `{"UsageKey":["Audio","SD","HD","FullHD","2K","4K","8K"],"UsageList":[
	 {"TimeKey":"2024-05-01 00:05:00","TimeStampKey":1714493100,"UsageValue":[1.5,0.1,0,0,0,0,2]},
	 {"TimeKey":"2024-05-01 00:00:00","TimeStampKey":1714492800,"UsageValue":[10,0,0,0,0,0,0]}]}`
	var r tcapi.TRTCUsageResponse
	require.NoError(t, json.Unmarshal([]byte(body), &r))
	rows, err := TRTCUsageRows("2024-05-01", 9, &r)
	require.NoError(t, err)
	assert.Zero(t, rows.OutsideDay)
	got := texts(rows.Rows)
	require.Len(t, got, 14)
	assert.Equal(t, []string{"2024-05-01", "9", "2024-05-01T00:00:00+08:00", "5m", "audio", "600"}, got[0])
	assert.Equal(t, []string{"2024-05-01", "9", "2024-05-01T00:05:00+08:00", "5m", "audio", "90"}, got[7])
	assert.Equal(t, "6", got[8][5], "0.1 minute is 6 seconds, not 6.000000000000001")
	assert.Equal(t, "8k", got[13][4], "unknown usage keys are kept")
}

func TestTrtcUsageRowsRejects(t *testing.T) {
	for name, body := range map[string]string{
		"width":        `{"UsageKey":["Audio","SD"],"UsageList":[{"TimeKey":"2024-05-01 00:00:00","UsageValue":[1]}]}`,
		"repeated key": `{"UsageKey":["Audio","audio"],"UsageList":[]}`,
		"negative":     `{"UsageKey":["Audio"],"UsageList":[{"TimeKey":"2024-05-01 00:00:00","UsageValue":[-1]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			var r tcapi.TRTCUsageResponse
			require.NoError(t, json.Unmarshal([]byte(body), &r))
			_, err := TRTCUsageRows("2024-05-01", 9, &r)
			assert.Error(t, err)
		})
	}
}

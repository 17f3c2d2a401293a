package usage

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/tcapi"
)

func TestTelCallRow(t *testing.T) {
	var r tcapi.TelCallInfoResponse
	require.NoError(t, json.Unmarshal([]byte(`{"TelCallOutCount":12,"TelCallInCount":3,"SeatUsedCount":4,"VOIPCallInCount":5,"AsrOfflineCount":6,"AsrRealtimeCount":7,"RequestId":"r1"}`), &r))
	row, err := TelCallRow("2024-05-01", 1400000001, &r)
	require.NoError(t, err)
	require.Len(t, row, len(TelCallSchema.Columns))
	var got []string
	for _, v := range row {
		got = append(got, v.Text)
	}
	// Column order: date, app, outbound, inbound, voip, asr offline, asr realtime, seats.
	assert.Equal(t, []string{"2024-05-01", "1400000001", "12", "3", "5", "6", "7", "4"}, got)
}

func TestTelCallRowRejectsIncompleteAnswers(t *testing.T) {
	for name, body := range map[string]string{
		"missing seats": `{"TelCallOutCount":1,"TelCallInCount":1,"VOIPCallInCount":1,"AsrOfflineCount":1,"AsrRealtimeCount":1}`,
		"negative":      `{"TelCallOutCount":-1,"TelCallInCount":1,"SeatUsedCount":1,"VOIPCallInCount":1,"AsrOfflineCount":1,"AsrRealtimeCount":1}`,
		"empty":         `{}`,
	} {
		t.Run(name, func(t *testing.T) {
			var r tcapi.TelCallInfoResponse
			require.NoError(t, json.Unmarshal([]byte(body), &r))
			_, err := TelCallRow("2024-05-01", 1, &r)
			assert.Error(t, err)
		})
	}
	_, err := TelCallRow("2024-05-01", 1, nil)
	assert.Error(t, err)
}

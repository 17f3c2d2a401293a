package usage

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMeasuresAreTheAmountsWithAUnit(t *testing.T) {
	assert.Equal(t, []string{"outbound_minutes", "inbound_minutes", "voip_minutes", "asr_offline_minutes", "asr_realtime_minutes", "seats_used"}, TelCallSchema.Measures())
	assert.Equal(t, []string{"seconds"}, TRTCUsageSchema.Measures())
	assert.Equal(t, []string{"audio_seconds", "video_sd_seconds", "video_hd_seconds", "video_fullhd_seconds", "video_2k_seconds", "video_4k_seconds"}, RoomUsageSchema.Measures())
	assert.Equal(t, []string{"use_count"}, ESSBillSchema.Measures(), "cost_time_unix is a point in time, not an amount")
	assert.True(t, RoomUsageSchema.IsMeasure("spatial_audio_seconds"), "a further room-usage column is seconds")
	assert.False(t, RoomUsageSchema.IsMeasure("room_id"))
	assert.False(t, TelCallSchema.IsMeasure("unknown"), "a closed schema has no further columns")
}

func TestCurrentColumnMapsRoomUsageV1ToV2(t *testing.T) {
	for v1, v2 := range map[string]string{
		"audio": "audio_seconds", "sd": "video_sd_seconds", "hd": "video_hd_seconds", "fullhd": "video_fullhd_seconds",
		"2k": "video_2k_seconds", "4k": "video_4k_seconds", "spatial_audio": "spatial_audio_seconds", "8k": "x_8k_seconds",
		"room_id": "room_id", "date": "date", "sdk_app_id": "sdk_app_id",
	} {
		assert.Equal(t, v2, CurrentColumn("roomusage", "v1", v1), v1)
		// v2's own names are not renamed again, nor are other datasets' columns.
		assert.Equal(t, v1, CurrentColumn("roomusage", "v2", v1), v1)
		assert.Equal(t, v1, CurrentColumn("telcall", "v1", v1), v1)
	}
	// The mapping agrees with how v2 names a header that v1 named after it.
	cols, err := RoomUsageColumns([]string{"RoomId", "Audio", "2K", "Spatial Audio", "8K"})
	assert.NoError(t, err)
	assert.Equal(t, []string{"audio_seconds", "video_2k_seconds", "spatial_audio_seconds", "x_8k_seconds"},
		[]string{CurrentColumn("roomusage", "v1", "audio"), CurrentColumn("roomusage", "v1", "2k"), CurrentColumn("roomusage", "v1", "spatial_audio"), CurrentColumn("roomusage", "v1", "8k")})
	assert.Subset(t, cols, []string{"audio_seconds", "video_2k_seconds", "spatial_audio_seconds", "x_8k_seconds"})
}

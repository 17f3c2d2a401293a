package tcapi

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
)

// Room usage (DescribeTrtcRoomUsage) serves days from RoomUsageFirstDay on, and only about the
// last RoomUsageWindowDays days.
var RoomUsageFirstDay = calendar.Date(2023, time.April, 1)

// RoomUsageWindowDays: see RoomUsageFirstDay.
const RoomUsageWindowDays = 90

// ParseSDKAppID parses an SdkAppId as every action takes it: a whole number from 1 to 2^63-1
// (CCC declares SdkAppId an Integer, int64; TRTC a UInteger, uint64; only the numbers both accept
// name an application).
func ParseSDKAppID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 || id > math.MaxInt64 {
		return 0, fmt.Errorf("%q is not an SdkAppId (a whole number from 1 to %d)", clip(s), int64(math.MaxInt64))
	}
	return id, nil
}

// clip shortens a value quoted in an error, so that a huge or hostile value cannot flood logs.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

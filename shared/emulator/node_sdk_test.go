package emulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// TestNodeSDK calls every action with the official Node.js SDK (installed by .ci/node-sdk.sh) to
// show that the emulator accepts what a second, independent client implementation sends. It needs
// node on PATH and TCUSAGE_NODE_SDK_DIR pointing at the install; otherwise it is skipped.
func TestNodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH")
	}
	dir := os.Getenv("TCUSAGE_NODE_SDK_DIR")
	if dir == "" {
		t.Skip("TCUSAGE_NODE_SDK_DIR is not set (run .ci/node-sdk.sh and export it)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "tencentcloud-sdk-nodejs", "package.json")); err != nil {
		t.Skipf("tencentcloud-sdk-nodejs is not installed under TCUSAGE_NODE_SDK_DIR: %v", err)
	}
	s := newTestServer(t, Config{})
	// A day with 5-minute points for 1400000001 and a second page of ESS records (data varies per
	// day: the latest such day).
	day := findDay(t, yesterday(), func(d Date) bool {
		n := 0
		for _, org := range s.Data().ESSOrgs("ess_app_demo") {
			n += len(s.Data().ESSRecords("ess_app_demo", org, d))
		}
		return n >= 20 && len(s.Data().TRTC5Min(1400000001, d)) > 0
	})
	script, err := filepath.Abs(filepath.Join("testdata", "node_sdk_check.js"))
	require.NoError(t, err)

	cmd := exec.CommandContext(t.Context(), node, script)
	cmd.Env = append(os.Environ(),
		"EMULATOR_ADDR="+s.Addr,
		"EMULATOR_SECRET_ID="+TestSecretID,
		"EMULATOR_SECRET_KEY="+TestSecretKey,
		"EMULATOR_DAY="+day.String(),
		"EMULATOR_DAY_START="+strconv.FormatInt(day.Start().Unix(), 10),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct {
		Checks []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
		Results struct {
			TelCall        tcapi.TelCallInfoResponse         `json:"telCall"`
			InteractiveDay tcapi.TRTCInteractiveTimeResponse `json:"interactiveDay"`
			Usage          tcapi.TRTCUsageResponse           `json:"usage"`
			Bill           tcapi.BillUsageDetailResponse     `json:"bill"`
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out), "node output: %s\nstderr: %s", stdout.String(), stderr.String())
	for _, c := range out.Checks {
		assert.True(t, c.OK, "%s: %s", c.Name, c.Detail)
	}
	require.NoError(t, runErr, "stderr: %s", stderr.String())
	assert.Len(t, out.Checks, 9)

	// The Node client saw the ground truth.
	data := s.Data()
	r := out.Results
	want := data.TelCallRange([]int64{1400000001, 1400000002}, day, day)
	require.NotNil(t, r.TelCall.TelCallOutCount)
	assert.Equal(t, want.TelCallOut, *r.TelCall.TelCallOutCount)
	assert.Equal(t, want.SeatUsed, *r.TelCall.SeatUsedCount)

	require.Len(t, r.InteractiveDay.Usages, 1)
	var sum TRTCSeconds
	for _, p := range r.InteractiveDay.Usages[0].SDKAppIDTRTCTimeUsages {
		sum = sum.Add(TRTCSeconds{AudioVideo: p.AudioVideoTime, Audio: p.AudioTime, SD: p.VideoTimeSd, HD: p.VideoTimeHd, FullHD: p.VideoTimeHdp})
	}
	dayWant := data.TRTCDay(1400000001, day)
	dayWant.TwoK, dayWant.FourK = 0, 0
	assert.Equal(t, dayWant, sum)

	pts := data.TRTC5Min(1400000001, day)
	require.Len(t, r.Usage.UsageList, len(pts))
	for i, p := range r.Usage.UsageList {
		assert.Equal(t, pts[i].UsageMinutes(), p.UsageValue)
		assert.Equal(t, pts[i].Start.Format(time.DateTime), p.TimeKey)
	}

	var all []tcapi.ChannelBillUsageDetail
	for _, org := range slices.Sorted(slices.Values(data.ESSOrgs("ess_app_demo"))) {
		all = append(all, data.ESSRecords("ess_app_demo", org, day)...)
	}
	slices.SortStableFunc(all, func(a, b tcapi.ChannelBillUsageDetail) int { return cmp.Compare(a.CostTime, b.CostTime) })
	require.NotNil(t, r.Bill.Total)
	assert.Equal(t, int64(len(all)), *r.Bill.Total)
	assert.Equal(t, all[10:20], r.Bill.Details)

	// What the Node SDK put on the wire.
	for _, rec := range s.Requests() {
		assert.Equal(t, rec.Service+".tencentcloudapi.com", rec.Host)
	}
}

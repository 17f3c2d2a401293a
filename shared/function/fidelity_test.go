package function_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/function"
)

// TCUSAGE_API_REGION picks the TRTC region: room usage is served in ap-singapore (international
// site), TRTC's daily actions only in ap-guangzhou, and CCC takes no region.
func TestAPIRegionIsConfigurable(t *testing.T) {
	e := newTestEnv(t, emulator.Config{International: true})
	e.vars["TCUSAGE_API_REGION"] = "ap-singapore"
	_, err := invoke(t, e.build(function.Room), timerEvent(`{"date":"2024-05-09"}`))
	require.NoError(t, err)
	reqs := e.emu.Requests()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		assert.Equal(t, "ap-singapore", r.Region)
		assert.Empty(t, r.Code)
	}

	// CCC takes no region: telcall sends none.
	e.emu.ClearRequests()
	_, err = invoke(t, e.build(function.TelCall), timerEvent(`{"date":"2024-05-09"}`))
	require.NoError(t, err)
	for _, r := range e.emu.Requests() {
		assert.Empty(t, r.Region)
	}

	// trtcusage's actions serve ap-guangzhou only: it refuses to start, naming the variable.
	_, err = function.New(function.TRTC, func(k string) string { return e.vars[k] }, function.Options{Home: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "TCUSAGE_API_REGION")
	assert.Contains(t, err.Error(), "ap-guangzhou")
	e.vars["TCUSAGE_API_REGION"] = "ap-mars"
	_, err = function.New(function.Room, func(k string) string { return e.vars[k] }, function.Options{Home: t.TempDir()})
	assert.ErrorContains(t, err, "TCUSAGE_API_REGION")

	// A domestic account is not served in ap-singapore: the emulator refuses, the run fails.
	d := newTestEnv(t, emulator.Config{})
	d.vars["TCUSAGE_API_REGION"] = "ap-singapore"
	_, err = invoke(t, d.build(function.Room), timerEvent(`{"date":"2024-05-09"}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "UnsupportedRegion")
}

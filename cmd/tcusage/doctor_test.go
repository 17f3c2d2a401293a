package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// doctor against the embedded emulator: a table, no failure, exit 0; a function named but not
// configured fails with exit 1; --json prints the checks.
func TestDoctorCommand(t *testing.T) {
	code, out, errOut := runCmd(t, nil, "doctor", "--emulator")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Regexp(t, `(?m)^roomusage +reading tcapi.RoomUsageEndInclusive +ok`, out)
	assert.Regexp(t, `(?m)^essbill +bucket writable +ok`, out)
	assert.Contains(t, out, " 0 fail")

	t.Setenv("HOME", t.TempDir()) // no profile file either: nothing real is reached
	code, out, errOut = runCmd(t, nil, "doctor", "--function", "essbill", "--json")
	require.Equal(t, exitFailed, code, "no credentials and no configuration: stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, errOut, "1 check(s) failed")
	var report struct {
		Checks []struct{ Check, Status, Detail string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &report))
	require.NotEmpty(t, report.Checks)
	assert.Equal(t, "credentials", report.Checks[0].Check)
	assert.Equal(t, "fail", report.Checks[0].Status)

	code, _, _ = runCmd(t, nil, "doctor", "--function", "nosuch")
	assert.Equal(t, exitUsage, code)
	code, _, _ = runCmd(t, nil, "doctor", "extra")
	assert.Equal(t, exitUsage, code)
}

package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/emulator/emulatortest"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/scf"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// TestCAMPoliciesAllowWhatTheFunctionsSend runs the four functions on the COS front, one after
// the other, twice (a first delivery, which renders the day's report from the datasets delivered
// so far; then a run that finds the day done and checks that its page is current), and checks
// every request each one sent against its own rendered policy: the object action of the method
// on the key, or a listing of the prefix. TestCAMPoliciesRenderToWhatTheyNeed checks the keys the
// code builds; this one takes them from the wire, so a request the code adds without its grant
// (which COS would refuse with 403) fails here.
func TestCAMPoliciesAllowWhatTheFunctionsSend(t *testing.T) {
	const prefix = "usage/tcusage"
	at := time.Date(2024, 5, 10, 2, 0, 0, 0, emulator.Beijing())
	origin := time.Now()
	clock := func() time.Time { return at.Add(time.Since(origin)) }
	role := emulator.Credential{SecretID: "AKIDwireTestRunRole0000000000001", SecretKey: "wire-test-secret-key-0000000001", Token: "wire-test-session-token"}
	emu := emulatortest.NewServer(t, emulator.Config{Now: clock, TimeScale: 0.001, Credentials: []emulator.Credential{role}})
	cs := costest.New(t, costest.Options{SecretID: role.SecretID, SecretKey: role.SecretKey, Token: role.Token})
	vars := map[string]string{
		"TENCENTCLOUD_SECRETID": role.SecretID, "TENCENTCLOUD_SECRETKEY": role.SecretKey, "TENCENTCLOUD_SESSIONTOKEN": role.Token,
		"TCUSAGE_API_ENDPOINT": emu.Addr, "TCUSAGE_API_RATE": wireRates(),
		"TCUSAGE_SINK": cs.SinkURL(prefix), "TCUSAGE_COS_ENDPOINT": cs.Endpoint,
		"TCUSAGE_SDK_APP_IDS": "1400000001,1400000002", "TCUSAGE_ESS_APP_ID": "ess_app_demo", "TCUSAGE_ESS_ORG_OPEN_IDS": "org_alpha,org_beta",
		"TCUSAGE_FORMAT": "all", "TCUSAGE_RESTATE_DAYS": "0",
	}
	fns := map[string]*function.Function{}
	for _, s := range function.All() {
		fn, err := function.New(s, func(k string) string { return vars[k] }, function.Options{Home: t.TempDir(), Now: clock, TempDir: t.TempDir()})
		require.NoError(t, err)
		fns[s.Name] = fn
	}
	event, err := json.Marshal(map[string]string{"Type": "Timer", "TriggerName": "daily", "Time": at.UTC().Format(time.RFC3339), "Message": `{"date":"2024-05-09"}`})
	require.NoError(t, err)

	sent := map[string]int{} // per method, over every function and round
	for round := 1; round <= 2; round++ {
		for _, r := range roles {
			fn := fns[r.function]
			require.NotNil(t, fn, "a role for every function: %s", r.function)
			cs.ResetRequests()
			ctx := scf.NewContext(context.Background(), &scf.InvocationContext{RequestID: "wire", Environment: vars})
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			_, err := scf.Invoke(ctx, fn.Handle, event)
			cancel()
			require.NoError(t, err, "%s, round %d", r.function, round)
			rp := renderPolicy(t, r, prefix)
			reqs := cs.Requests()
			require.NotEmpty(t, reqs)
			for _, q := range reqs {
				sent[q.Method]++
				assert.NotEqual(t, http.StatusForbidden, q.Status, "%s: %s %s", r.function, q.Method, q.Key)
				if err := allowedOnTheWire(rp, q); err != nil {
					t.Errorf("%s, round %d: %v", r.function, round, err)
				}
			}
		}
	}
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete} {
		assert.NotZero(t, sent[m], "no %s was sent: the runs did not exercise what the policies grant", m)
	}
}

// allowedOnTheWire reports why the policy would refuse the request q, or nil.
func allowedOnTheWire(rp renderedPolicy, q costest.Request) error {
	if q.Key == "" { // a bucket request: only listings, each within a granted prefix
		p, ok := q.Query["prefix"]
		if q.Method != http.MethodGet || !ok || len(p) != 1 {
			return fmt.Errorf("%s on the bucket (%v): no grant covers it", q.Method, q.Query)
		}
		if !rp.mayList(p[0]) {
			return fmt.Errorf("list %q: not a granted prefix", p[0])
		}
		return nil
	}
	action := map[string]string{
		http.MethodGet: "name/cos:GetObject", http.MethodHead: "name/cos:HeadObject",
		http.MethodPut: "name/cos:PutObject", http.MethodDelete: "name/cos:DeleteObject",
	}[q.Method]
	if action == "" || len(q.Query) > 0 {
		return fmt.Errorf("%s %s?%s: no grant covers it", q.Method, q.Key, q.Query.Encode())
	}
	if !rp.allows(action, q.Key) {
		return fmt.Errorf("%s %s: not granted", strings.TrimPrefix(action, "name/"), q.Key)
	}
	return nil
}

// wireRates paces the client well under the emulator's limits at TimeScale 0.001.
func wireRates() string {
	var rates []string
	for _, a := range tcapi.Actions() {
		rates = append(rates, fmt.Sprintf("%s=1/%dus", a.Name, 3*a.Limit.Every().Microseconds()/1000+1))
	}
	return strings.Join(rates, ",")
}

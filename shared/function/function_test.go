package function_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/emulator/emulatortest"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/scf"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// now is when these tests run: 02:00 on 2024-05-10 in Beijing, so "yesterday" is 2024-05-09.
// The test clock starts there and advances in real time, so that pacing and deadlines behave.
var now = time.Date(2024, 5, 10, 2, 0, 0, 0, emulator.Beijing())

var clockStart = time.Now()

func clock() time.Time { return now.Add(time.Since(clockStart)) }

const httpToken = "s3cret-http-token-for-tests"

func tokenSum() string {
	s := sha256.Sum256([]byte(httpToken))
	return hex.EncodeToString(s[:])
}

type testEnv struct {
	t    *testing.T
	emu  *emulatortest.Server
	dir  string
	vars map[string]string
}

func newTestEnv(t *testing.T, cfg emulator.Config) *testEnv {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = clock
	}
	if cfg.TimeScale == 0 {
		cfg.TimeScale = 0.001
	}
	emu := emulatortest.NewServer(t, cfg)
	dir := t.TempDir()
	return &testEnv{t: t, emu: emu, dir: dir, vars: map[string]string{
		"TENCENTCLOUD_SECRET_ID":    emulator.TestSecretID,
		"TENCENTCLOUD_SECRET_KEY":   emulator.TestSecretKey,
		"TCUSAGE_API_ENDPOINT":      emu.Addr,
		"TCUSAGE_API_RATE":          "*=1/1ms,DescribeTrtcRoomUsage=1/20ms,DescribeTrtcUsage=1/1ms",
		"TCUSAGE_SINK":              "file://" + dir,
		"TCUSAGE_SDK_APP_IDS":       "1400000001,1400000002",
		"TCUSAGE_ESS_APP_ID":        "ess_app_demo",
		"TCUSAGE_ESS_ORG_OPEN_IDS":  "org_alpha,org_beta,org_gamma",
		"TCUSAGE_HTTP_TOKEN_SHA256": tokenSum(),
		"TCUSAGE_RESTATE_DAYS":      "1",
	}}
}

func (e *testEnv) build(spec function.Spec) *function.Function {
	e.t.Helper()
	fn, err := function.New(spec, func(k string) string { return e.vars[k] }, function.Options{
		Home: e.t.TempDir(), Now: clock, TempDir: e.t.TempDir(),
	})
	require.NoError(e.t, err)
	return fn
}

// invoke runs the handler on a raw event, as the runtime does.
func invoke(t *testing.T, fn *function.Function, event string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return scf.Invoke(ctx, fn.Handle, []byte(event))
}

func timerEvent(message string) string {
	m, _ := json.Marshal(message)
	return `{"Type":"Timer","TriggerName":"daily","Time":"2024-05-09T18:00:00Z","Message":` + string(m) + `}`
}

func urlEvent(query url.Values, headers map[string]string) string {
	q := map[string]any{}
	for k, v := range query {
		if len(v) == 1 {
			q[k] = v[0]
		} else {
			q[k] = v
		}
	}
	h := map[string]string{"accept": "*/*", "x-scf-remote-addr": "203.0.113.7"}
	for k, v := range headers {
		h[k] = v
	}
	b, _ := json.Marshal(map[string]any{"httpMethod": "GET", "path": "/", "queryString": q, "headers": h, "body": ""})
	return string(b)
}

func apigwEvent(query url.Values, headers map[string]string) string {
	q := map[string]any{}
	for k, v := range query {
		q[k] = v
	}
	b, _ := json.Marshal(map[string]any{
		"httpMethod": "GET", "path": "/usage", "queryString": q, "headers": headers,
		"headerParameters": map[string]any{}, "pathParameters": map[string]any{}, "queryStringParameters": map[string]any{},
		"requestContext": map[string]any{"serviceId": "service-x", "path": "/usage", "httpMethod": "GET", "requestId": "gw-1", "identity": map[string]any{}, "sourceIp": "203.0.113.8", "stage": "release"},
	})
	return string(b)
}

func auth() map[string]string { return map[string]string{"authorization": "Bearer " + httpToken} }

func httpAnswer(t *testing.T, fn *function.Function, event string) scfevent.HTTPResponse {
	t.Helper()
	out, err := invoke(t, fn, event)
	require.NoError(t, err)
	var r scfevent.HTTPResponse
	require.NoError(t, json.Unmarshal(out, &r))
	return r
}

// readJSONL reads a data file of the partition and returns its rows.
func readJSONL(t *testing.T, dir, dataset, date, app string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, dataset, snapshot.Version(dataset), "dt="+date, "app="+app, "part-00000.jsonl"))
	require.NoError(t, err)
	var rows []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		var m map[string]any
		require.NoError(t, d.Decode(&m))
		rows = append(rows, m)
	}
	return rows
}

func manifest(t *testing.T, dir, dataset, date string) *snapshot.Manifest {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, dataset, snapshot.Version(dataset), "dt="+date, "_manifest.json"))
	require.NoError(t, err)
	defer f.Close()
	m, err := snapshot.DecodeManifest(f)
	require.NoError(t, err)
	return m
}

func num(t *testing.T, v any) int64 {
	t.Helper()
	n, err := strconv.ParseInt(string(v.(json.Number)), 10, 64)
	require.NoError(t, err)
	return n
}

func day(s string) emulator.Date {
	d, err := emulator.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestTelCallTimerMatchesGroundTruth(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.TelCall)
	out, err := invoke(t, fn, timerEvent(""))
	require.NoError(t, err)
	var sum struct {
		Partitions []struct{ Date, Status string }
	}
	require.NoError(t, json.Unmarshal(out, &sum))
	require.Len(t, sum.Partitions, 2, "yesterday and one restatement day")
	assert.Equal(t, "2024-05-09", sum.Partitions[0].Date)
	assert.Equal(t, "2024-05-08", sum.Partitions[1].Date)

	data := e.emu.Data()
	for _, date := range []string{"2024-05-08", "2024-05-09"} {
		m := manifest(t, e.dir, "telcall", date)
		assert.Equal(t, snapshot.StatusComplete, m.Status)
		assert.Equal(t, "DescribeTelCallInfo", m.Origin.Action)
		assert.Equal(t, "2020-02-10", m.Origin.APIVersion)
		assert.Len(t, m.RequestIDs, 2)
		assert.Len(t, m.Files, 4)
		// A China day starts at 16:00 UTC the day before.
		wantStart := map[string]string{"2024-05-08": "2024-05-07T16:00:00Z", "2024-05-09": "2024-05-08T16:00:00Z"}[date]
		wantEnd := map[string]string{"2024-05-08": "2024-05-08T16:00:00Z", "2024-05-09": "2024-05-09T16:00:00Z"}[date]
		assert.Equal(t, wantStart, m.Window.StartUTC)
		assert.Equal(t, wantEnd, m.Window.EndUTC)
		for _, app := range []int64{1400000001, 1400000002} {
			rows := readJSONL(t, e.dir, "telcall", date, strconv.FormatInt(app, 10))
			require.Len(t, rows, 1)
			want := data.TelCall(app, day(date))
			r := rows[0]
			assert.Equal(t, date, r["date"])
			assert.Equal(t, app, num(t, r["sdk_app_id"]))
			assert.Equal(t, want.TelCallOut, num(t, r["outbound_minutes"]))
			assert.Equal(t, want.TelCallIn, num(t, r["inbound_minutes"]))
			assert.Equal(t, want.VOIPCallIn, num(t, r["voip_minutes"]))
			assert.Equal(t, want.AsrOffline, num(t, r["asr_offline_minutes"]))
			assert.Equal(t, want.AsrRealtime, num(t, r["asr_realtime_minutes"]))
			assert.Equal(t, want.SeatUsed, num(t, r["seats_used"]))
		}
	}
	// One call per app per day, each for exactly one app and one whole local day.
	reqs := e.emu.Requests()
	require.Len(t, reqs, 4)
	for _, r := range reqs {
		var body struct {
			StartTimeStamp, EndTimeStamp int64
			SdkAppIdList                 []int64
		}
		require.NoError(t, json.Unmarshal(r.Body, &body))
		assert.Len(t, body.SdkAppIdList, 1)
		assert.Equal(t, int64(86399), body.EndTimeStamp-body.StartTimeStamp)
		assert.Equal(t, 0, time.Unix(body.StartTimeStamp, 0).In(emulator.Beijing()).Hour())
	}
}

func TestTimerRerunSkipsThenForcedRerunIsByteIdentical(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.Room)
	_, err := invoke(t, fn, timerEvent(`{"date":"2024-05-09"}`))
	require.NoError(t, err)
	first := manifest(t, e.dir, "roomusage", "2024-05-09")
	calls := len(e.emu.Requests())
	answered := 0
	for _, r := range e.emu.Requests() {
		if r.Code == "" {
			answered++
		}
	}
	require.Equal(t, 2, answered, "one answered call per app (a call refused by the rate limit is retried)")

	// A second run in the same cycle (an SCF retry, another timer firing) finds the work done.
	_, err = invoke(t, fn, timerEvent(`{"date":"2024-05-09"}`))
	require.NoError(t, err)
	assert.Len(t, e.emu.Requests(), calls, "no API call for app-days already delivered today")

	// An HTTP save forces a refetch: identical data is recognised and nothing is rewritten, the
	// manifest included.
	raw := func() []byte {
		b, err := os.ReadFile(filepath.Join(e.dir, "roomusage", snapshot.Version("roomusage"), "dt=2024-05-09", snapshot.ManifestName))
		require.NoError(t, err)
		return b
	}
	before := raw()
	r := httpAnswer(t, fn, urlEvent(url.Values{"date": {"2024-05-09"}, "save": {"true"}}, auth()))
	require.Equal(t, 200, r.StatusCode, r.Body)
	assert.Greater(t, len(e.emu.Requests()), calls, "the save fetched again")
	second := manifest(t, e.dir, "roomusage", "2024-05-09")
	assert.Equal(t, first, second)
	assert.Equal(t, string(before), string(raw()), "the manifest is byte-identical")
}

func TestTrtcInteractiveRowsSumToTheDay(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.TRTC)
	_, err := invoke(t, fn, timerEvent(`{"date":"2024-05-09","apps":["1400000002"]}`))
	require.NoError(t, err)
	m := manifest(t, e.dir, "trtcusage", "2024-05-09")
	assert.Equal(t, "DescribeTrtcInteractiveTime", m.Origin.Action)
	assert.Equal(t, snapshot.StatusPartial, m.Status, "only one of two configured apps delivered")
	assert.Equal(t, []string{"1400000001"}, m.AppsPending)

	rows := readJSONL(t, e.dir, "trtcusage", "2024-05-09", "1400000002")
	sums := map[string]int64{}
	points := map[string]bool{}
	for _, r := range rows {
		sums[r["usage_type"].(string)] += num(t, r["seconds"])
		points[r["time"].(string)] = true
		assert.Equal(t, "5m", r["granularity"])
	}
	// The emulator's series has gaps (and zero points, which are kept): exactly its points.
	wantPoints := map[string]bool{}
	for _, p := range e.emu.Data().TRTC5Min(1400000002, day("2024-05-09")) {
		wantPoints[p.Start.Format(time.RFC3339)] = true
	}
	assert.Equal(t, wantPoints, points)
	assert.Less(t, len(points), 288, "a day with gaps")
	assert.Empty(t, m.Origin.Details, "no point outside the day")
	want := e.emu.Data().TRTCDay(1400000002, day("2024-05-09"))
	assert.Equal(t, int64(want.Audio), sums["audio"])
	assert.Equal(t, int64(want.AudioVideo), sums["audio_video"])
	assert.Equal(t, int64(want.SD), sums["sd"])
	assert.Equal(t, int64(want.HD), sums["hd"])
	assert.Equal(t, int64(want.FullHD), sums["fullhd"])
}

func TestTrtcFallsBackWhenInteractiveTimeIsOffline(t *testing.T) {
	e := newTestEnv(t, emulator.Config{InteractiveTimeOffline: true})
	fn := e.build(function.TRTC)
	_, err := invoke(t, fn, timerEvent(`{"date":"2024-05-09"}`))
	require.NoError(t, err)
	m := manifest(t, e.dir, "trtcusage", "2024-05-09")
	assert.Equal(t, "DescribeTrtcUsage", m.Origin.Action)
	assert.Equal(t, "DescribeTrtcInteractiveTime", m.Origin.Details["fallback_from"])
	assert.NotEmpty(t, m.Origin.Details["fallback_reason"])
	assert.Equal(t, snapshot.StatusComplete, m.Status)

	// The old action was tried once; every later call went straight to the replacement.
	var old, replacement int
	for _, r := range e.emu.Requests() {
		switch r.Action {
		case "DescribeTrtcInteractiveTime":
			old++
		case "DescribeTrtcUsage":
			replacement++
		}
	}
	assert.Equal(t, 1, old)
	assert.Equal(t, 2, replacement)

	rows := readJSONL(t, e.dir, "trtcusage", "2024-05-09", "1400000001")
	var audio float64
	for _, r := range rows {
		if r["usage_type"] == "audio" {
			v, err := r["seconds"].(json.Number).Float64()
			require.NoError(t, err)
			audio += v
		}
	}
	var wantMinutes float64
	for _, p := range e.emu.Data().TRTC5Min(1400000001, day("2024-05-09")) {
		wantMinutes += emulator.Minutes(p.Audio)
	}
	assert.InDelta(t, wantMinutes*60, audio, 0.01)

	// Forcing the old action surfaces the error instead.
	e.vars["TCUSAGE_TRTC_ACTION"] = "interactive"
	_, err = invoke(t, e.build(function.TRTC), timerEvent(`{"date":"2024-05-08"}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ActionOffline")
}

func TestRoomUsageMatchesGroundTruth(t *testing.T) {
	e := newTestEnv(t, emulator.Config{Rooms: 400})
	fn := e.build(function.Room)
	_, err := invoke(t, fn, timerEvent(`{"date":"2024-05-09"}`))
	require.NoError(t, err)
	for _, app := range []uint64{1400000001, 1400000002} {
		want := e.emu.Data().Rooms(app, day("2024-05-09"))
		slices.SortStableFunc(want, func(a, b emulator.RoomUsage) int { return strings.Compare(a.RoomID, b.RoomID) })
		rows := readJSONL(t, e.dir, "roomusage", "2024-05-09", strconv.FormatUint(app, 10))
		require.Len(t, rows, len(want))
		for i, w := range want {
			r := rows[i]
			assert.Equal(t, w.RoomID, r["room_id"])
			assert.Equal(t, int64(w.Audio), num(t, r["audio_seconds"]))
			assert.Equal(t, int64(w.SD), num(t, r["video_sd_seconds"]))
			assert.Equal(t, int64(w.HD), num(t, r["video_hd_seconds"]))
			assert.Equal(t, int64(w.FullHD), num(t, r["video_fullhd_seconds"]))
			assert.Equal(t, int64(w.TwoK), num(t, r["video_2k_seconds"]))
			assert.Equal(t, int64(w.FourK), num(t, r["video_4k_seconds"]))
		}
		// The CSV twin holds the same rooms, quoted where needed.
		b, err := os.ReadFile(filepath.Join(e.dir, "roomusage", "v2", "dt=2024-05-09", "app="+strconv.FormatUint(app, 10), "part-00000.csv"))
		require.NoError(t, err)
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		require.NoError(t, err)
		require.Len(t, recs, len(want)+1)
		assert.Equal(t, []string{"date", "sdk_app_id", "room_id", "audio_seconds", "video_sd_seconds", "video_hd_seconds", "video_fullhd_seconds", "video_2k_seconds", "video_4k_seconds"}, recs[0])
		for i, w := range want {
			assert.Equal(t, w.RoomID, recs[i+1][2])
		}
	}
	// One call per app-day, each covering 00:00 to 23:59.
	for _, r := range e.emu.Requests() {
		var body struct{ StartTime, EndTime string }
		require.NoError(t, json.Unmarshal(r.Body, &body))
		assert.Equal(t, "2024-05-09 00:00", body.StartTime)
		assert.Equal(t, "2024-05-09 23:59", body.EndTime)
		assert.Equal(t, "ap-guangzhou", r.Region)
	}
}

func TestESSPagesThroughEveryRecord(t *testing.T) {
	e := newTestEnv(t, emulator.Config{ESSRecordsPerDay: 120})
	fn := e.build(function.ESS)
	_, err := invoke(t, fn, timerEvent(`{"from":"2024-05-08","to":"2024-05-09"}`))
	require.NoError(t, err)
	data := e.emu.Data()
	for _, date := range []string{"2024-05-08", "2024-05-09"} {
		// Each sub-customer has its own partition, holding only its records.
		var rows []map[string]any
		var want []string
		refunds := 0
		for _, org := range []string{"org_alpha", "org_beta", "org_gamma"} {
			orgRows := readJSONL(t, e.dir, "essbill", date, org)
			for _, r := range orgRows {
				assert.Equal(t, org, r["proxy_organization_open_id"])
				assert.Equal(t, "ess_app_demo", r["app_id"])
			}
			rows = append(rows, orgRows...)
			for _, r := range data.ESSRecords("ess_app_demo", org, day(date)) {
				want = append(want, fmt.Sprintf("%s|%s|%d|%d|%d", org, r.FlowID, r.CostTime, r.UseCount, r.CostType))
				if r.CostType == 2 {
					refunds++
					assert.Negative(t, r.UseCount)
				}
			}
		}
		var got []string
		gotRefunds := 0
		for _, r := range rows {
			got = append(got, fmt.Sprintf("%s|%s|%d|%d|%d", r["proxy_organization_open_id"], r["flow_id"], num(t, r["cost_time_unix"]), num(t, r["use_count"]), num(t, r["cost_type"])))
			if num(t, r["cost_type"]) == 2 {
				gotRefunds++
			}
			ts, err := time.Parse(time.RFC3339, r["cost_time"].(string))
			require.NoError(t, err)
			assert.Equal(t, num(t, r["cost_time_unix"]), ts.Unix())
		}
		slices.Sort(want)
		slices.Sort(got)
		assert.Equal(t, want, got)
		assert.Equal(t, refunds, gotRefunds, "refunds are kept")
	}
	// One query per organisation and day, in pages of 50: as many pages as the records need, and
	// one (answering Total 0) for an idle organisation-day.
	wantPages := map[string]int{}
	for _, date := range []string{"2024-05-08", "2024-05-09"} {
		for _, org := range []string{"org_alpha", "org_beta", "org_gamma"} {
			n := len(data.ESSRecords("ess_app_demo", org, day(date)))
			wantPages[org+" "+date] = max(1, (n+49)/50)
		}
	}
	gotPages := map[string]int{}
	for _, r := range e.emu.Requests() {
		var body struct {
			Agent              struct{ ProxyOrganizationOpenId string }
			StartTime, EndTime string
			Offset, Limit      int64
		}
		require.NoError(t, json.Unmarshal(r.Body, &body))
		assert.Equal(t, int64(50), body.Limit)
		assert.Equal(t, body.StartTime, body.EndTime, "one day per query")
		d, err := time.ParseInLocation("20060102", body.StartTime, emulator.Beijing())
		require.NoError(t, err)
		key := body.Agent.ProxyOrganizationOpenId + " " + d.Format(time.DateOnly)
		assert.Equal(t, int64(gotPages[key]), body.Offset, "pages in order")
		gotPages[key]++
	}
	assert.Equal(t, wantPages, gotPages)
}

func TestHTTPQueriesBothTriggerShapes(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.TelCall)

	r := httpAnswer(t, fn, urlEvent(url.Values{"from": {"2024-05-08"}, "to": {"2024-05-09"}, "app": {"1400000002"}}, auth()))
	require.Equal(t, 200, r.StatusCode, r.Body)
	assert.Equal(t, "application/json; charset=utf-8", r.Headers["Content-Type"])
	var ans struct {
		Dataset    string
		Rows       []map[string]any
		RequestIDs []string `json:"request_ids"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.Body), &ans))
	assert.Equal(t, "telcall", ans.Dataset)
	require.Len(t, ans.Rows, 2)
	assert.Equal(t, "2024-05-08", ans.Rows[0]["date"])
	assert.Equal(t, float64(e.emu.Data().TelCall(1400000002, day("2024-05-08")).TelCallOut), ans.Rows[0]["outbound_minutes"])
	assert.Len(t, ans.RequestIDs, 2)
	// A query without save=true writes no data: only the lease it held while calling the API.
	store, _ := fn.Store()
	objs, err := store.List(context.Background(), "")
	require.NoError(t, err)
	for _, o := range objs {
		assert.True(t, snapshot.IsLeaseKey(o.Key), "a query without save=true wrote %s", o.Key)
	}

	r = httpAnswer(t, fn, apigwEvent(url.Values{"date": {"2024-05-09"}, "format": {"csv"}}, map[string]string{"Authorization": "Bearer " + httpToken}))
	require.Equal(t, 200, r.StatusCode, r.Body)
	assert.Equal(t, "text/csv; charset=utf-8", r.Headers["Content-Type"])
	recs, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 3, "header and one row per configured app")
	assert.Equal(t, "sdk_app_id", recs[0][1])
	assert.Equal(t, []string{"1400000001", "1400000002"}, []string{recs[1][1], recs[2][1]})
}

func TestHTTPRefusals(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.TelCall)
	type errAnswer struct {
		Error struct{ Code, Message string }
	}
	check := func(event string, status int, code string) errAnswer {
		t.Helper()
		r := httpAnswer(t, fn, event)
		require.Equal(t, status, r.StatusCode, r.Body)
		var a errAnswer
		require.NoError(t, json.Unmarshal([]byte(r.Body), &a), r.Body)
		assert.Equal(t, code, a.Error.Code)
		assert.NotContains(t, r.Body, emulator.TestSecretKey)
		assert.NotContains(t, r.Body, httpToken)
		return a
	}
	check(urlEvent(url.Values{}, nil), 401, "Unauthorized")
	check(urlEvent(url.Values{}, map[string]string{"authorization": "Bearer wrong"}), 401, "Unauthorized")
	check(urlEvent(url.Values{}, map[string]string{"authorization": "Basic " + httpToken}), 401, "Unauthorized")
	a := check(urlEvent(url.Values{"date": {"2024-13-01"}}, auth()), 400, "InvalidParameter")
	assert.Contains(t, a.Error.Message, "date")
	a = check(urlEvent(url.Values{"app": {"1400000099"}}, auth()), 400, "InvalidParameter")
	assert.Contains(t, a.Error.Message, "not a configured app")
	check(urlEvent(url.Values{"date": {"2024-05-10"}}, auth()), 400, "InvalidParameter")
	check(urlEvent(url.Values{"limit": {"5"}}, auth()), 400, "InvalidParameter")

	post := strings.Replace(urlEvent(url.Values{}, auth()), `"GET"`, `"POST"`, 1)
	check(post, 405, "MethodNotAllowed")

	// Without a configured token, HTTP is off and says how to turn it on.
	delete(e.vars, "TCUSAGE_HTTP_TOKEN_SHA256")
	fn = e.build(function.TelCall)
	a = check(urlEvent(url.Values{}, auth()), 403, "HTTPDisabled")
	assert.Contains(t, a.Error.Message, "TCUSAGE_HTTP_TOKEN_SHA256")
}

func TestHTTPUpstreamErrorCarriesTheRequestID(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	e.vars["TCUSAGE_SDK_APP_IDS"] = "1400000001,1400009999" // the second is unknown to the cloud
	fn := e.build(function.TelCall)
	r := httpAnswer(t, fn, urlEvent(url.Values{"app": {"1400009999"}}, auth()))
	require.Equal(t, 502, r.StatusCode, r.Body)
	var a struct {
		Error struct {
			Code, Message string
			RequestID     string `json:"request_id"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(r.Body), &a))
	assert.Equal(t, "Upstream.InvalidParameterValue.InstanceNotExist", a.Error.Code)
	assert.NotEmpty(t, a.Error.RequestID)

	// The timer fails loudly and leaves that day without a manifest; the good app is not lost.
	_, err := invoke(t, fn, timerEvent(`{"date":"2024-05-09"}`))
	require.Error(t, err)
	_, statErr := os.Stat(filepath.Join(e.dir, "telcall", "v1", "dt=2024-05-09", "_manifest.json"))
	assert.True(t, os.IsNotExist(statErr))
}

func TestTrtcSeedExampleThroughHTTP(t *testing.T) {
	// The seed document's one-day example (app 1400243510 on 2020-09-08), reproduced by the
	// emulator and normalised by the function.
	e := newTestEnv(t, emulator.Config{})
	e.vars["TCUSAGE_SDK_APP_IDS"] = "1400243510"
	fn := e.build(function.TRTC)
	r := httpAnswer(t, fn, urlEvent(url.Values{"date": {"2020-09-08"}}, auth()))
	require.Equal(t, 200, r.StatusCode, r.Body)
	var ans struct{ Rows []map[string]any }
	require.NoError(t, json.Unmarshal([]byte(r.Body), &ans))
	got := map[string]float64{}
	for _, row := range ans.Rows {
		got[row["time"].(string)+" "+row["usage_type"].(string)] = row["seconds"].(float64)
	}
	assert.Equal(t, float64(14706996), got["2020-09-07T09:50:00+08:00 audio_video"])
	assert.Equal(t, float64(56820), got["2020-09-08T09:55:00+08:00 audio_video"])
	assert.Len(t, ans.Rows, 10)
}

func TestConfigurationErrorsAtStartup(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	e.vars["TCUSAGE_SINK"] = "s3://bucket"
	_, err := function.New(function.TelCall, func(k string) string { return e.vars[k] }, function.Options{Home: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "TCUSAGE_SINK")

	delete(e.vars, "TENCENTCLOUD_SECRET_ID")
	delete(e.vars, "TENCENTCLOUD_SECRET_KEY")
	e.vars["TCUSAGE_SINK"] = "file://" + t.TempDir()
	_, err = function.New(function.TelCall, func(k string) string { return e.vars[k] }, function.Options{Home: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "TENCENTCLOUD_SECRETID")
}

func TestRoomUsageStopsBeforeTheDeadlineAndContinues(t *testing.T) {
	var apps []uint64
	var ids []string
	for i := uint64(1); i <= 12; i++ {
		apps = append(apps, 1400000100+i)
		ids = append(ids, strconv.FormatUint(1400000100+i, 10))
	}
	e := newTestEnv(t, emulator.Config{SDKAppIDs: apps, Rooms: 5})
	e.vars["TCUSAGE_SDK_APP_IDS"] = strings.Join(ids, ",")
	e.vars["TCUSAGE_API_RATE"] = "DescribeTrtcRoomUsage=1/100ms"
	fn, err := function.New(function.Room, func(k string) string { return e.vars[k] }, function.Options{
		Home: t.TempDir(), Now: clock, TempDir: t.TempDir(),
		Latency: 5 * time.Millisecond, Margin: 400 * time.Millisecond,
	})
	require.NoError(t, err)

	run := func() (export.Summary, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		out, err := scf.Invoke(ctx, fn.Handle, []byte(timerEvent(`{"date":"2024-05-09"}`)))
		var sum export.Summary
		if err == nil {
			require.NoError(t, json.Unmarshal(out, &sum))
		}
		return sum, err
	}
	// 12 app-days at one per 100 ms do not fit in 1.5 s with a 400 ms margin: the run commits what
	// it fetched and leaves the rest for the next invocation, which is progress, not a failure.
	sum, err := run()
	require.NoError(t, err)
	require.NotEmpty(t, sum.Pending, "app-days left for the next invocation")
	m := manifest(t, e.dir, "roomusage", "2024-05-09")
	assert.Equal(t, snapshot.StatusPartial, m.Status)
	require.NotEmpty(t, m.AppsPending)
	done := len(m.Apps)
	assert.Greater(t, done, 0)
	assert.Equal(t, 12, done+len(m.AppsPending))
	assert.Len(t, sum.Pending, len(m.AppsPending))
	for _, f := range m.Files {
		assert.Contains(t, m.Apps, f.App, "only delivered apps have files")
	}

	for i := 0; i < 3 && len(sum.Pending) > 0; i++ {
		sum, err = run()
		require.NoError(t, err)
	}
	require.NoError(t, err)
	m = manifest(t, e.dir, "roomusage", "2024-05-09")
	assert.Equal(t, snapshot.StatusComplete, m.Status)
	assert.Equal(t, ids, m.Apps)
	assert.Len(t, e.emu.Requests(), 12, "each app-day was fetched once across the invocations")
	// The provenance of apps delivered by earlier invocations is kept.
	assert.Len(t, m.AppRequestIDs, 12)
	assert.Len(t, m.RequestIDs, 12)
	assert.Len(t, m.FetchedAt, 12)
	for _, id := range ids {
		assert.Equal(t, "DescribeTrtcRoomUsage", m.AppActions[id])
	}
}

func TestDaysAreChinaDaysWhateverTheConfiguredZone(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	e.vars["TCUSAGE_TIMEZONE"] = "America/New_York"
	fn := e.build(function.TelCall)
	_, err := invoke(t, fn, timerEvent(`{"date":"2024-05-08"}`))
	require.NoError(t, err)
	for _, r := range e.emu.Requests() {
		var body struct{ StartTimeStamp, EndTimeStamp int64 }
		require.NoError(t, json.Unmarshal(r.Body, &body))
		assert.Equal(t, "2024-05-08T00:00:00+08:00", time.Unix(body.StartTimeStamp, 0).In(emulator.Beijing()).Format(time.RFC3339))
		assert.Equal(t, "2024-05-08T23:59:59+08:00", time.Unix(body.EndTimeStamp, 0).In(emulator.Beijing()).Format(time.RFC3339))
	}
	m := manifest(t, e.dir, "telcall", "2024-05-08")
	assert.Equal(t, "2024-05-07T16:00:00Z", m.Window.StartUTC)
	assert.Equal(t, "2024-05-08T16:00:00Z", m.Window.EndUTC)
	rows := readJSONL(t, e.dir, "telcall", "2024-05-08", "1400000001")
	assert.Equal(t, e.emu.Data().TelCall(1400000001, day("2024-05-08")).TelCallOut, num(t, rows[0]["outbound_minutes"]))

	// The zone still decides which day is yesterday: at 02:00 on 2024-05-10 in Beijing it is
	// 14:00 on 2024-05-09 in New York, so yesterday there is 2024-05-08.
	e.vars["TCUSAGE_RESTATE_DAYS"] = "0"
	out, err := invoke(t, e.build(function.TelCall), timerEvent(""))
	require.NoError(t, err)
	assert.Contains(t, string(out), `"date":"2024-05-08"`)
}

func TestCredentialsAreReadAgainAtEachInvocation(t *testing.T) {
	e := newTestEnv(t, emulator.Config{Credentials: []emulator.Credential{
		{SecretID: emulator.TestSecretID, SecretKey: emulator.TestSecretKey},
		{SecretID: "AKIDrenewedRunRoleKey000000000000001", SecretKey: "renewed-secret-key-000000000000001", Token: "renewed-session-token"},
	}})
	fn := e.build(function.TelCall)
	_, err := invoke(t, fn, timerEvent(`{"date":"2024-05-09","apps":["1400000001"]}`))
	require.NoError(t, err)

	// The next invocation carries the run role's renewed keys in its environment, as SCF does.
	ctx := scf.NewContext(context.Background(), &scf.InvocationContext{RequestID: "r2", Environment: map[string]string{
		"TENCENTCLOUD_SECRETID":     "AKIDrenewedRunRoleKey000000000000001",
		"TENCENTCLOUD_SECRETKEY":    "renewed-secret-key-000000000000001",
		"TENCENTCLOUD_SESSIONTOKEN": "renewed-session-token",
	}})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = scf.Invoke(ctx, fn.Handle, []byte(timerEvent(`{"date":"2024-05-08","apps":["1400000001"]}`)))
	require.NoError(t, err)
	reqs := e.emu.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, emulator.TestSecretID, reqs[0].SecretID)
	assert.Equal(t, "AKIDrenewedRunRoleKey000000000000001", reqs[1].SecretID, "the renewed key signed the second call")
	assert.Empty(t, reqs[1].Code, "with its session token")
}

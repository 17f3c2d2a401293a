package enginetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/emulator/emulatortest"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/tables"
	"github.com/tcusage/tcusage/shared/usage"
)

// TestDuckDBTrtcSecondsAfterFallback: trtcusage history written by DescribeTrtcInteractiveTime
// (whole seconds) followed by a day written after the fallback to DescribeTrtcUsage (minutes × 60,
// so fractional seconds). DuckDB infers the type of `seconds` from a sample of the first rows; the
// test shows what that does to the fallback day, and that reading with the documented types gives
// the emulator's figures exactly.
func TestDuckDBTrtcSecondsAfterFallback(t *testing.T) {
	// More whole-second files than DuckDB samples by default (read_json's maximum_sample_files is
	// 32): 11 days × 3 apps.
	const interactiveDays = 11
	now := middayClock()
	yesterday := calendar.Of(now(), calendar.Zone).Add(-1).String()
	first, fallbackDay := addDays(yesterday, -interactiveDays), yesterday
	dir := t.TempDir()

	data := writeFallbackHistory(t, dir, now, first, fallbackDay)

	// The manifests' files, oldest day first, as a reader following them would list them.
	files := map[usage.Format][]string{}
	for day := first; day <= fallbackDay; day = addDays(day, 1) {
		m := readManifest(t, dir, "trtcusage", day)
		require.Equal(t, snapshot.StatusComplete, m.Status)
		wantAction := "DescribeTrtcInteractiveTime"
		if day == fallbackDay {
			wantAction = "DescribeTrtcUsage"
		}
		for _, app := range m.Apps {
			require.Equal(t, wantAction, m.AppActions[app], "%s app %s", day, app)
		}
		for _, f := range m.Files {
			files[f.Format] = append(files[f.Format], filepath.Join(dir, filepath.FromSlash(f.Key)))
		}
	}

	// Ground truth of the fallback day, in milliseconds per app and usage type: each 5-minute
	// point's minutes (rounded to 2 decimals by the API) × 60.
	want := map[string]int64{}
	fractional := false
	for _, app := range sdkApps {
		for _, p := range data.TRTC5Min(uint64(app), emuDay(t, fallbackDay)) {
			for i, typ := range []string{"audio", "sd", "hd", "fullhd", "2k", "4k"} {
				ms := int64(math.Round(p.UsageMinutes()[i] * 60000))
				want[fmt.Sprint(app, " ", typ)] += ms
				fractional = fractional || ms%1000 != 0
			}
		}
	}
	require.True(t, fractional, "the fallback day has fractional seconds")

	db := openDuckDB(t)
	fallbackMillis := func(src string) map[string]int64 { return sumMillis(t, db, src, fallbackDay) }

	for _, f := range formats {
		list := sqlList(files[f.format])
		require.Len(t, files[f.format], 3*(interactiveDays+1))

		// Inferred: the sample holds only whole seconds, so `seconds` becomes BIGINT and every
		// fractional value of the fallback day is rounded to a whole second, without an error.
		inferred := f.reader + "(" + list + ", hive_partitioning = true)"
		if f.format == "csv" {
			// The dialect given (sniffing it is slow), the types still inferred.
			inferred = f.reader + "(" + list + `, hive_partitioning = true, header = true, delim = ',', quote = '"', escape = '"')`
		}
		assert.Equal(t, "BIGINT", columnType(t, db, inferred, "seconds"), "%s: DuckDB's guess for seconds", f.format)
		assert.NotEqual(t, want, fallbackMillis(inferred), "%s: inferred as BIGINT, the fallback day's fractions are lost", f.format)

		// Typed as docs/schemas.md says (decimal seconds, to the millisecond): exact.
		typed := "read_json(" + list + ", hive_partitioning = true, columns = " + trtcColumns + ")"
		if f.format == "csv" {
			typed = "read_csv(" + list + `, hive_partitioning = true, header = true, delim = ',', quote = '"', escape = '"', columns = ` + trtcColumns + ")"
		}
		assert.Equal(t, "DECIMAL(18,3)", columnType(t, db, typed, "seconds"), f.format)
		assert.Equal(t, want, fallbackMillis(typed), "%s: typed, the fallback day's seconds are the emulator's", f.format)
	}

	checkTypedFallback(t, db, dir, files[usage.Parquet], want, fallbackMillis)
}

// checkTypedFallback: Parquet carries the type, so nothing is guessed and nothing rounded; the
// shipped views type seconds as DECIMAL(18,3) in every format, so they are exact too.
func checkTypedFallback(t *testing.T, db *sql.DB, dir string, parquetFiles []string, want map[string]int64, millis func(string) map[string]int64) {
	pq := "read_parquet(" + sqlList(parquetFiles) + ", hive_partitioning = true)"
	assert.Equal(t, "DOUBLE", columnType(t, db, pq, "seconds"))
	assert.Equal(t, want, millis(pq), "parquet: the fallback day's seconds are the emulator's")
	for _, f := range usage.Formats {
		defs, err := tables.Definition{Schema: usage.TRTCUsageSchema, Dialect: tables.DuckDB, Format: f, Base: dir}.SQL()
		require.NoError(t, err)
		_, err = db.Exec(defs)
		require.NoError(t, err)
		assert.Equal(t, want, millis("trtcusage"), "%s view: the fallback day's seconds are the emulator's", f)
	}
}

// sumMillis sums seconds per app and usage type of one day of a trtcusage source, in
// milliseconds.
func sumMillis(t *testing.T, db *sql.DB, src, day string) map[string]int64 {
	got := map[string]int64{}
	eachRow(t, db, `SELECT app, usage_type, CAST(round(sum(seconds) * 1000) AS BIGINT) FROM `+src+
		` WHERE dt = DATE '`+day+`' GROUP BY ALL`, func(scan func(...any)) {
		var app int64
		var typ string
		var ms int64
		scan(&app, &typ, &ms)
		got[fmt.Sprint(app, " ", typ)] = ms
	})
	return got
}

// writeFallbackHistory runs the trtcusage function over [first, fallbackDay): first against an
// emulator that serves DescribeTrtcInteractiveTime, then, for fallbackDay, against one where it
// is offline (TCUSAGE_TRTC_ACTION=auto falls back to DescribeTrtcUsage). It returns the ground
// truth, the same for both emulators.
func writeFallbackHistory(t *testing.T, dir string, now func() time.Time, first, fallbackDay string) emulator.Data {
	var data emulator.Data
	for _, step := range []struct {
		offline  bool
		override plan.Override
	}{
		{false, plan.Override{From: first, To: addDays(fallbackDay, -1)}},
		{true, plan.Override{Date: fallbackDay}},
	} {
		emu := emulatortest.NewServer(t, emulator.Config{TimeScale: 0.001, InteractiveTimeOffline: step.offline, Now: now})
		data = emu.Data() // the same ground truth for both: it depends on the apps only
		env := map[string]string{
			"TENCENTCLOUD_SECRET_ID":  emulator.TestSecretID,
			"TENCENTCLOUD_SECRET_KEY": emulator.TestSecretKey,
			"TCUSAGE_API_ENDPOINT":    emu.Addr,
			"TCUSAGE_API_RATE":        "*=1/1ms",
			"TCUSAGE_SINK":            "file://" + dir,
			"TCUSAGE_SDK_APP_IDS":     "1400000001,1400000002,1400000003",
			"TCUSAGE_TRTC_ACTION":     "auto",
			"TCUSAGE_FORMAT":          "all",
		}
		fn, err := function.New(function.TRTC, func(k string) string { return env[k] }, function.Options{
			Home: t.TempDir(), TempDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), Now: now,
		})
		require.NoError(t, err)
		msg, err := json.Marshal(step.override)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err = fn.Handle(ctx, scfevent.Event{Timer: &scfevent.Timer{
			Type: "Timer", TriggerName: "enginetest", Time: now().UTC().Truncate(time.Second), Message: string(msg),
		}})
		cancel()
		require.NoError(t, err)
	}

	return data
}

// trtcColumns is trtcusage's schema (docs/schemas.md) as DuckDB types: seconds are decimal, to
// the millisecond; time keeps its offset.
var trtcColumns = "{" + strings.Join([]string{
	"date: 'DATE'", "sdk_app_id: 'BIGINT'", "time: 'TIMESTAMPTZ'", "granularity: 'VARCHAR'",
	"usage_type: 'VARCHAR'", "seconds: 'DECIMAL(18,3)'",
}, ", ") + "}"

// columnType returns the type DuckDB gives one column of a query's result.
func columnType(t *testing.T, db *sql.DB, src, column string) string {
	t.Helper()
	var typ string
	require.NoError(t, db.QueryRow("SELECT column_type FROM (DESCRIBE SELECT * FROM "+src+") WHERE column_name = "+sqlString(column)).Scan(&typ))
	return typ
}

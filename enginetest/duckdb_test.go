package enginetest

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver (cgo)
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// formats are the two text formats the functions write, and the DuckDB table function that
// reads each with its own type inference.
var formats = []fileFormat{
	{"jsonl", "read_json_auto"},
	{"csv", "read_csv_auto"},
}

// allFormats adds Parquet, whose types are in the files.
var allFormats = append(slices.Clone(formats), fileFormat{"parquet", "read_parquet"})

type fileFormat struct {
	format usage.Format
	reader string
}

// tablesOf returns the loaded table of dataset in every format.
func tablesOf(dataset string) []string {
	out := make([]string, len(allFormats))
	for i, f := range allFormats {
		out[i] = table(dataset, f.format)
	}
	return out
}

// TestDuckDBReadsSnapshots writes three days of all four datasets with the project's own
// functions (one restated), loads every dataset in every format into DuckDB exactly as the
// manifests list them, and checks what DuckDB computes against the emulator's ground truth.
func TestDuckDBReadsSnapshots(t *testing.T) {
	start := time.Now()
	e := produceSnapshots(t)
	produced := time.Since(start)

	t.Run("restatement recorded, other days untouched", func(t *testing.T) { checkRestatement(t, e) })

	start = time.Now()
	db := openDuckDB(t)
	for _, ds := range datasets {
		for _, f := range allFormats {
			// A table, not a view: every file is parsed once, with the types inferred over all of
			// them, and the checks below query it many times.
			q := fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM %s(%s, hive_partitioning = true)",
				table(ds, f.format), f.reader, sqlList(e.files(ds, f.format)))
			t0 := time.Now()
			_, err := db.Exec(q)
			require.NoError(t, err, "load %s %s", ds, f.format)
			t.Logf("load %s %s: %s", ds, f.format, time.Since(t0).Round(time.Millisecond))
		}
	}
	loaded := time.Since(start)

	start = time.Now()
	t.Run("rows are those the manifests count", func(t *testing.T) { checkRowCounts(t, db, e) })
	t.Run("hive partitions dt and app", func(t *testing.T) { checkPartitions(t, db, e) })
	t.Run("telcall", func(t *testing.T) { checkTelCall(t, db, e, tablesOf("telcall")) })
	t.Run("trtcusage", func(t *testing.T) { checkTrtc(t, db, e, tablesOf("trtcusage")) })
	t.Run("roomusage", func(t *testing.T) { checkRoomUsage(t, db, e, tablesOf("roomusage")) })
	t.Run("essbill", func(t *testing.T) { checkESS(t, db, e, tablesOf("essbill")) })
	t.Run("consumer stumbling blocks", func(t *testing.T) { checkStumblingBlocks(t, db, e) })
	t.Run("parquet is typed", func(t *testing.T) { checkParquetTypes(t, db) })
	t.Run("the change log and the newest-day pointer", func(t *testing.T) { checkChangeLog(t, db, e) })
	t.Run("a glob also reads partitions without a manifest", func(t *testing.T) { checkGlob(t, db, e) })
	// After checkGlob, which leaves a day without a manifest for the views to ignore.
	t.Run("the shipped DuckDB views", func(t *testing.T) { checkShippedViews(t, e) })
	t.Logf("snapshots written in %s, loaded into DuckDB in %s, checked in %s",
		produced.Round(time.Millisecond), loaded.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// checkRestatement: the forced re-run of yesterday, final by then, restated it in every dataset:
// its manifest records the change (the files that changed, with the first delivery's hashes and
// rows), and the other days were written nothing.
func checkRestatement(t *testing.T, e *exported) {
	for _, ds := range datasets {
		for _, day := range e.days {
			before, after := e.before[ds][day], e.manifests[ds][day]
			if day != e.restated {
				assert.Equal(t, before, after, "%s %s: not restated, not rewritten", ds, day)
				continue
			}
			require.Len(t, after.Changes, 1, "%s %s: the afternoon changed the figures", ds, day)
			c := after.Changes[0]
			assert.Equal(t, 1, c.Seq)
			assert.True(t, c.GeneratedAt.Equal(after.GeneratedAt))
			changed := map[string]snapshot.FileChange{}
			for _, f := range c.Files {
				changed[f.Key] = f
			}
			require.NotEmpty(t, changed, "%s %s", ds, day)
			prev := map[string]snapshot.FileEntry{}
			for _, f := range before.Files {
				prev[f.Key] = f
			}
			for _, f := range after.Files {
				fc, ok := changed[f.Key]
				if !ok {
					assert.Equal(t, prev[f.Key].SHA256, f.SHA256, "%s: not listed as changed, so the same bytes", f.Key)
					continue
				}
				assert.Equal(t, prev[f.Key].SHA256, fc.PreviousSHA256, f.Key)
				assert.Equal(t, f.SHA256, fc.SHA256, f.Key)
				assert.Equal(t, prev[f.Key].Rows, fc.RowsBefore, f.Key)
				assert.Equal(t, f.Rows, fc.RowsAfter, f.Key)
			}
		}
	}
}

// checkChangeLog: DuckDB reads the change log and the pointers as JSON: the restatement's day
// totals are the first, partial figures and the final ones DuckDB sums from the files, and every
// dataset's pointer names yesterday.
func checkChangeLog(t *testing.T, db *sql.DB, e *exported) {
	logs := filepath.Join(e.dir, "*", snapshot.ChangesDirName, "*.json")
	assert.Equal(t, int64(len(datasets)), queryInt(t, db, "SELECT count(*) FROM read_json_auto("+sqlString(logs)+")"), "one restatement per dataset")
	totals := map[string][2]float64{}
	eachRow(t, db, `SELECT dataset, strftime(CAST(date AS DATE), '%Y-%m-%d'), m.measure, m.before, m.after
		FROM (SELECT dataset, date, unnest(measures) AS m FROM read_json_auto(`+sqlString(logs)+`)) WHERE m.app IS NULL`,
		func(scan func(...any)) {
			var ds, day, measure string
			var before, after float64
			scan(&ds, &day, &measure, &before, &after)
			require.Equal(t, e.restated, day)
			totals[ds+" "+measure] = [2]float64{before, after}
		})
	var partial, final float64
	for _, app := range sdkApps {
		for _, p := range e.data.AsOf(e.partialAt).TRTC5Min(uint64(app), emuDay(t, e.restated)) {
			partial += float64(p.AudioVideo + p.Audio + p.SD + p.HD + p.FullHD)
		}
	}
	eachRow(t, db, "SELECT CAST(sum(seconds) AS DOUBLE) FROM trtcusage_parquet WHERE dt = "+sqlString(e.restated), func(scan func(...any)) { scan(&final) })
	assert.Equal(t, [2]float64{partial, final}, totals["trtcusage seconds"], "trtcusage's day total before and after")
	var minutes float64
	eachRow(t, db, "SELECT CAST(sum(outbound_minutes) AS DOUBLE) FROM telcall_parquet WHERE dt = "+sqlString(e.restated), func(scan func(...any)) { scan(&minutes) })
	assert.Equal(t, minutes, totals["telcall outbound_minutes"][1], "telcall's day total after")
	assert.Less(t, totals["telcall outbound_minutes"][0], minutes, "the morning's minutes were fewer")

	pointers := filepath.Join(e.dir, "*", snapshot.LatestName)
	got := queryStrings(t, db, "SELECT dataset || ' ' || strftime(CAST(date AS DATE), '%Y-%m-%d') || ' ' || manifest FROM read_json_auto("+sqlString(pointers)+") ORDER BY 1")
	var want []string
	for _, ds := range datasets {
		key, err := snapshot.ManifestKey("", ds, e.manifests[ds][e.restated].Date)
		require.NoError(t, err)
		want = append(want, ds+" "+e.restated+" "+key)
	}
	slices.Sort(want)
	assert.Equal(t, want, got)
}

// activeOrgs are the ESS sub-customers with a record on any exported day, sorted.
func activeOrgs(t *testing.T, e *exported) []string {
	var out []string
	for _, org := range essOrgs {
		for _, day := range e.days {
			if len(e.data.ESSRecords(essApp, org, emuDay(t, day))) > 0 {
				out = append(out, org)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// checkRowCounts: each table holds exactly the rows the manifests announce, so the restated day
// is not counted twice.
func checkRowCounts(t *testing.T, db *sql.DB, e *exported) {
	for _, ds := range datasets {
		for _, f := range allFormats {
			var want int64
			for _, day := range e.days {
				for _, fe := range e.manifests[ds][day].Files {
					if fe.Format == f.format {
						want += fe.Rows
					}
				}
			}
			require.Positive(t, want, "%s %s", ds, f.format)
			assert.Equal(t, want, queryInt(t, db, "SELECT count(*) FROM "+table(ds, f.format)), "%s %s", ds, f.format)
		}
	}
}

// checkPartitions: DuckDB recognises dt as a DATE and app as a number for SdkAppIds (a string for
// the ESS sub-customer), and both agree with the row's own date and app columns.
func checkPartitions(t *testing.T, db *sql.DB, e *exported) {
	appColumn := map[string]string{"telcall": "sdk_app_id", "trtcusage": "sdk_app_id", "roomusage": "sdk_app_id", "essbill": "proxy_organization_open_id"}
	for _, ds := range datasets {
		wantApp := "BIGINT"
		if ds == "essbill" {
			wantApp = "VARCHAR"
		}
		for _, f := range allFormats {
			tb := table(ds, f.format)
			types := columnTypes(t, db, tb)
			assert.Equal(t, "DATE", types["dt"], "%s dt", tb)
			assert.Equal(t, wantApp, types["app"], "%s app", tb)
			assert.Equal(t, "DATE", types["date"], "%s date", tb)
			assert.Equal(t, types[appColumn[ds]], types["app"], "%s: app has the type of %s", tb, appColumn[ds])

			assert.Equal(t, e.days, queryStrings(t, db, "SELECT DISTINCT strftime(dt, '%Y-%m-%d') FROM "+tb+" ORDER BY 1"), tb)
			apps := queryStrings(t, db, "SELECT DISTINCT CAST(app AS VARCHAR) FROM "+tb+" ORDER BY 1")
			if ds == "essbill" {
				assert.Equal(t, activeOrgs(t, e), apps, "%s: the sub-customers with records (an idle one has no row to carry its partition)", tb)
			} else {
				assert.Equal(t, []string{"1400000001", "1400000002", "1400000003"}, apps, tb)
			}
			assert.Zero(t, queryInt(t, db, "SELECT count(*) FROM "+tb+" WHERE date IS DISTINCT FROM dt"), "%s: date = dt", tb)
			assert.Zero(t, queryInt(t, db, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s IS DISTINCT FROM app", tb, appColumn[ds])), "%s: %s = app", tb, appColumn[ds])
		}
	}
}

// checkTelCall: every app-day's figures, and the minutes per app over the days, are the
// emulator's.
func checkTelCall(t *testing.T, db *sql.DB, e *exported, srcs []string) {
	want := map[string]emulator.TelCallCounts{}
	wantMinutes := map[int64]int64{}
	for _, app := range sdkApps {
		for _, day := range e.days {
			c := e.data.TelCall(app, emuDay(t, day))
			want[fmt.Sprint(app, " ", day)] = c
			wantMinutes[app] += c.TelCallOut + c.TelCallIn + c.VOIPCallIn + c.AsrOffline + c.AsrRealtime
		}
	}
	for _, tb := range srcs {
		got := map[string]emulator.TelCallCounts{}
		eachRow(t, db, `SELECT app, strftime(dt, '%Y-%m-%d'), outbound_minutes, inbound_minutes, voip_minutes,
			asr_offline_minutes, asr_realtime_minutes, seats_used FROM `+tb, func(scan func(...any)) {
			var app int64
			var day string
			var c emulator.TelCallCounts
			scan(&app, &day, &c.TelCallOut, &c.TelCallIn, &c.VOIPCallIn, &c.AsrOffline, &c.AsrRealtime, &c.SeatUsed)
			got[fmt.Sprint(app, " ", day)] = c
		})
		assert.Equal(t, want, got, tb)

		gotMinutes := map[int64]int64{}
		eachRow(t, db, `SELECT app, sum(outbound_minutes + inbound_minutes + voip_minutes + asr_offline_minutes
			+ asr_realtime_minutes) FROM `+tb+` GROUP BY app`, func(scan func(...any)) {
			var app, minutes int64
			scan(&app, &minutes)
			gotMinutes[app] = minutes
		})
		assert.Equal(t, wantMinutes, gotMinutes, "%s: minutes per app", tb)
	}
}

// trtcTotal is what the checks compare per app-day and usage type.
type trtcTotal struct {
	Points     int64
	Seconds    float64
	First, End time.Time
}

// checkTrtc: per app, day and usage type, the emulator's five-minute points (a series with gaps;
// none on an idle app-day, which then has no row), from its first to its last, whose seconds sum
// to the emulator's day; and the total seconds per app-day.
func checkTrtc(t *testing.T, db *sql.DB, e *exported, srcs []string) {
	want := map[string]trtcTotal{}
	wantTotal := map[string]float64{}
	for _, app := range sdkApps {
		for _, day := range e.days {
			d := emuDay(t, day)
			pts := e.data.TRTC5Min(uint64(app), d)
			if len(pts) == 0 {
				continue
			}
			s := e.data.TRTCDay(uint64(app), d)
			// DescribeTrtcInteractiveTime has no 2K/4K figures: those types are not written.
			byType := map[string]uint64{"audio": s.Audio, "audio_video": s.AudioVideo, "sd": s.SD, "hd": s.HD, "fullhd": s.FullHD}
			for typ, sec := range byType {
				want[fmt.Sprint(app, " ", day, " ", typ)] = trtcTotal{
					Points: int64(len(pts)), Seconds: float64(sec), First: pts[0].Start, End: pts[len(pts)-1].Start,
				}
				wantTotal[fmt.Sprint(app, " ", day)] += float64(sec)
			}
		}
	}
	for _, tb := range srcs {
		got := map[string]trtcTotal{}
		eachRow(t, db, `SELECT app, strftime(dt, '%Y-%m-%d'), usage_type, count(*), CAST(sum(seconds) AS DOUBLE), min(time), max(time)
			FROM `+tb+` WHERE granularity = '5m' GROUP BY ALL`, func(scan func(...any)) {
			var app int64
			var day, typ string
			var v trtcTotal
			scan(&app, &day, &typ, &v.Points, &v.Seconds, &v.First, &v.End)
			got[fmt.Sprint(app, " ", day, " ", typ)] = v
		})
		require.Len(t, got, len(want), tb)
		for k, w := range want {
			g := got[k]
			assert.Equal(t, w.Points, g.Points, "%s %s points", tb, k)
			assert.Equal(t, w.Seconds, g.Seconds, "%s %s seconds", tb, k)
			// Both formats yield the same instants, whatever type DuckDB gave the column.
			assert.True(t, w.First.Equal(g.First), "%s %s: first point %s, want %s", tb, k, g.First, w.First)
			assert.True(t, w.End.Equal(g.End), "%s %s: last point %s, want %s", tb, k, g.End, w.End)
		}
		assert.Zero(t, queryInt(t, db, "SELECT count(*) FROM "+tb+" WHERE granularity <> '5m'"), tb)

		gotTotal := map[string]float64{}
		eachRow(t, db, "SELECT app, strftime(dt, '%Y-%m-%d'), CAST(sum(seconds) AS DOUBLE) FROM "+tb+" GROUP BY ALL", func(scan func(...any)) {
			var app int64
			var day string
			var sec float64
			scan(&app, &day, &sec)
			gotTotal[fmt.Sprint(app, " ", day)] = sec
		})
		assert.Equal(t, wantTotal, gotTotal, "%s: total seconds per app-day", tb)
	}
}

// roomTotal is one app-day of room usage, summed.
type roomTotal struct {
	Rooms                              int64
	Audio, SD, HD, FullHD, TwoK, FourK float64
}

// checkRoomUsage: every room (IDs with commas and quotes included) with its six figures, and per
// app-day the number of rooms and the summed seconds per class.
func checkRoomUsage(t *testing.T, db *sql.DB, e *exported, srcs []string) {
	want := map[string]emulator.RoomUsage{}
	wantTotal := map[string]roomTotal{}
	for _, app := range sdkApps {
		for _, day := range e.days {
			rooms := e.data.Rooms(uint64(app), emuDay(t, day))
			if len(rooms) == 0 {
				continue // an app-day without rooms has no row
			}
			var s roomTotal
			for _, r := range rooms {
				want[fmt.Sprint(app, " ", day, " ", r.RoomID)] = r
				s.Rooms++
				s.Audio, s.SD, s.HD, s.FullHD = s.Audio+float64(r.Audio), s.SD+float64(r.SD), s.HD+float64(r.HD), s.FullHD+float64(r.FullHD)
				s.TwoK, s.FourK = s.TwoK+float64(r.TwoK), s.FourK+float64(r.FourK)
			}
			wantTotal[fmt.Sprint(app, " ", day)] = s
		}
	}
	tricky := 0
	for k := range want {
		if strings.ContainsAny(k, `,"`) {
			tricky++
		}
	}
	require.Positive(t, tricky, "the emulator's room IDs include commas and quotes")

	for _, tb := range srcs {
		got := map[string]emulator.RoomUsage{}
		// v2's column names are plain identifiers: no quoting (v1's 2k and 4k needed it).
		eachRow(t, db, `SELECT app, strftime(dt, '%Y-%m-%d'), room_id, CAST(audio_seconds AS BIGINT), CAST(video_sd_seconds AS BIGINT),
			CAST(video_hd_seconds AS BIGINT), CAST(video_fullhd_seconds AS BIGINT), CAST(video_2k_seconds AS BIGINT),
			CAST(video_4k_seconds AS BIGINT) FROM `+tb,
			func(scan func(...any)) {
				var app int64
				var day string
				var r emulator.RoomUsage
				scan(&app, &day, &r.RoomID, &r.Audio, &r.SD, &r.HD, &r.FullHD, &r.TwoK, &r.FourK)
				got[fmt.Sprint(app, " ", day, " ", r.RoomID)] = r
			})
		assert.Equal(t, want, got, tb)

		gotTotal := map[string]roomTotal{}
		eachRow(t, db, `SELECT app, strftime(dt, '%Y-%m-%d'), count(DISTINCT room_id), CAST(sum(audio_seconds) AS DOUBLE),
			CAST(sum(video_sd_seconds) AS DOUBLE), CAST(sum(video_hd_seconds) AS DOUBLE), CAST(sum(video_fullhd_seconds) AS DOUBLE),
			CAST(sum(video_2k_seconds) AS DOUBLE), CAST(sum(video_4k_seconds) AS DOUBLE) FROM `+tb+` GROUP BY ALL`, func(scan func(...any)) {
			var app int64
			var day string
			var s roomTotal
			scan(&app, &day, &s.Rooms, &s.Audio, &s.SD, &s.HD, &s.FullHD, &s.TwoK, &s.FourK)
			gotTotal[fmt.Sprint(app, " ", day)] = s
		})
		assert.Equal(t, wantTotal, gotTotal, "%s: rooms and seconds per app-day", tb)
	}
}

// essTotal is one sub-customer's day of ESS records, summed.
type essTotal struct {
	Records, UseCount, Refunds, Deductions, CostTimeUnix int64
}

// checkESS: per day and sub-customer, the number of records, the summed use_count (refunds
// negative), the refunds and the summed consumption times; and per day the records and use_count.
func checkESS(t *testing.T, db *sql.DB, e *exported, srcs []string) {
	want := map[string]essTotal{}
	wantDay := map[string][2]int64{}
	refunds := 0
	for _, day := range e.days {
		for _, org := range essOrgs {
			var s essTotal
			for _, r := range e.data.ESSRecords(essApp, org, emuDay(t, day)) {
				s.Records++
				s.UseCount += r.UseCount
				s.CostTimeUnix += r.CostTime
				switch r.CostType {
				case 1:
					s.Deductions++
				case 2:
					s.Refunds++
					refunds++
					require.Negative(t, r.UseCount, "a refund's UseCount")
				}
			}
			if s.Records == 0 {
				continue // an idle organisation-day has no row
			}
			want[day+" "+org] = s
			wantDay[day] = [2]int64{wantDay[day][0] + s.Records, wantDay[day][1] + s.UseCount}
		}
	}
	require.Positive(t, refunds, "the ground truth has refunds over these days")

	for _, tb := range srcs {
		got := map[string]essTotal{}
		eachRow(t, db, `SELECT strftime(dt, '%Y-%m-%d'), proxy_organization_open_id, count(*), sum(use_count),
			count(*) FILTER (WHERE cost_type = 2 AND use_count < 0), count(*) FILTER (WHERE cost_type = 1 AND use_count > 0),
			sum(epoch(cost_time))::BIGINT FROM `+tb+` GROUP BY ALL`, func(scan func(...any)) {
			var day, org string
			var s essTotal
			scan(&day, &org, &s.Records, &s.UseCount, &s.Refunds, &s.Deductions, &s.CostTimeUnix)
			got[day+" "+org] = s
		})
		assert.Equal(t, want, got, tb)

		gotDay := map[string][2]int64{}
		eachRow(t, db, "SELECT strftime(dt, '%Y-%m-%d'), count(*), sum(use_count) FROM "+tb+" GROUP BY ALL", func(scan func(...any)) {
			var day string
			var n, use int64
			scan(&day, &n, &use)
			gotDay[day] = [2]int64{n, use}
		})
		assert.Equal(t, wantDay, gotDay, "%s: records and use_count per day", tb)
		assert.Zero(t, queryInt(t, db, "SELECT count(*) FROM "+tb+" WHERE cost_time_unix <> epoch(cost_time)"), "%s: cost_time = cost_time_unix", tb)
	}
}

// checkStumblingBlocks pins what FINDINGS.md tells consumers, so that a change of DuckDB's
// inference (or of the files) shows up here.
func checkStumblingBlocks(t *testing.T, db *sql.DB, e *exported) {
	// 1. v1's room-usage columns 2k and 4k had to be quoted (unquoted, 2k is the integer literal 2
	// aliased as "k": no error, a wrong answer). v2's names are plain identifiers.
	var two int64
	require.NoError(t, db.QueryRow("SELECT 2k FROM "+table("roomusage", "csv")+" LIMIT 1").Scan(&two))
	assert.EqualValues(t, 2, two, "unquoted 2k is still the literal 2")
	for _, f := range allFormats {
		cols := queryColumns(t, db, "SELECT video_2k_seconds, video_4k_seconds FROM "+table("roomusage", f.format)+" LIMIT 1")
		assert.Equal(t, []string{"video_2k_seconds", "video_4k_seconds"}, cols, f.format)
	}

	// 2. The same column gets a different type per format.
	jsonTypes, csvTypes := columnTypes(t, db, table("trtcusage", "jsonl")), columnTypes(t, db, table("trtcusage", "csv"))
	assert.Equal(t, "TIMESTAMP", jsonTypes["time"], "JSON: the +08:00 offset is applied and dropped (naive UTC)")
	assert.Equal(t, "TIMESTAMP WITH TIME ZONE", csvTypes["time"])
	jsonTypes, csvTypes = columnTypes(t, db, table("essbill", "jsonl")), columnTypes(t, db, table("essbill", "csv"))
	assert.Equal(t, "HUGEINT", jsonTypes["use_count"], "JSON: negative refunds next to positive counts")
	assert.Equal(t, "BIGINT", csvTypes["use_count"])
	assert.Equal(t, "TIMESTAMP", jsonTypes["cost_time"])
	assert.Equal(t, "TIMESTAMP WITH TIME ZONE", csvTypes["cost_time"])

	// 3. Casting a JSON timestamp to a date gives the UTC day: the first 8 hours of each Beijing
	// day land on the day before. Converting through the zone gives the partition's day back.
	var points int64 // five rows (usage types) per point before 08:00
	for _, app := range sdkApps {
		for _, day := range e.days {
			for _, p := range e.data.TRTC5Min(uint64(app), emuDay(t, day)) {
				if p.Start.Hour() < 8 {
					points += 5
				}
			}
		}
	}
	require.Positive(t, points)
	assert.Equal(t, points, queryInt(t, db, "SELECT count(*) FROM "+table("trtcusage", "jsonl")+" WHERE CAST(time AS DATE) <> dt"))
	assert.Zero(t, queryInt(t, db, "SELECT count(*) FROM "+table("trtcusage", "jsonl")+
		" WHERE CAST(timezone('Asia/Shanghai', timezone('UTC', time)) AS DATE) <> dt"))
	assert.Zero(t, queryInt(t, db, "SELECT count(*) FROM "+table("trtcusage", "csv")+
		" WHERE CAST(timezone('Asia/Shanghai', time) AS DATE) <> dt"))

	// ESS cost_time is written in UTC: a record before 08:00 Beijing time has the previous UTC day.
	var early int64
	for _, day := range e.days {
		for _, org := range essOrgs {
			for _, r := range e.data.ESSRecords(essApp, org, emuDay(t, day)) {
				if time.Unix(r.CostTime, 0).In(emulator.Beijing()).Hour() < 8 {
					early++
				}
			}
		}
	}
	for _, f := range formats {
		tb := table("essbill", f.format)
		assert.Equal(t, early, queryInt(t, db, "SELECT count(*) FROM "+tb+" WHERE CAST(cost_time AS DATE) <> dt"), tb)
	}

	// 4. An empty string is "" in JSON and an empty cell in CSV, which DuckDB reads as NULL.
	empty := queryInt(t, db, "SELECT count(*) FROM "+table("essbill", "jsonl")+" WHERE remark = ''")
	require.Positive(t, empty, "some remarks are empty")
	assert.Zero(t, queryInt(t, db, "SELECT count(*) FROM "+table("essbill", "jsonl")+" WHERE remark IS NULL"))
	assert.Equal(t, empty, queryInt(t, db, "SELECT count(*) FROM "+table("essbill", "csv")+" WHERE remark IS NULL"))
	assert.Zero(t, queryInt(t, db, "SELECT count(*) FROM "+table("essbill", "csv")+" WHERE remark = ''"))
}

// checkGlob: reading dt=*/app=*/part-00000.* gives the same rows as the manifests' lists today,
// but also picks up a partition whose manifest was never written (an interrupted run), which
// the layout says to ignore.
func checkGlob(t *testing.T, db *sql.DB, e *exported) {
	glob := func(ds string, f usage.Format) int64 {
		pattern := filepath.Join(e.dir, ds, snapshot.Version(ds), "dt=*", "app=*", "part-00000."+string(f))
		reader := "read_json_auto(" + sqlString(pattern)
		if f == "parquet" {
			reader = "read_parquet(" + sqlString(pattern)
		}
		if f == "csv" {
			// The files' dialect, given: sniffing it costs about 0.5 s per trtcusage file.
			reader = "read_csv_auto(" + sqlString(pattern) + `, delim = ',', quote = '"', escape = '"', header = true`
		}
		return queryInt(t, db, "SELECT count(*) FROM "+reader+", hive_partitioning = true)")
	}
	for _, ds := range datasets {
		for _, f := range allFormats {
			assert.Equal(t, queryInt(t, db, "SELECT count(*) FROM "+table(ds, f.format)), glob(ds, f.format), "%s %s", ds, f.format)
		}
	}

	// A day after the last complete one, with a data file but no manifest.
	src := filepath.Join(e.dir, "telcall", snapshot.Version("telcall"), "dt="+e.days[len(e.days)-1], "app=1400000001", "part-00000.jsonl")
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	stray := filepath.Join(e.dir, "telcall", snapshot.Version("telcall"), "dt=2099-01-01", "app=1400000001", "part-00000.jsonl")
	require.NoError(t, os.MkdirAll(filepath.Dir(stray), 0o755))
	require.NoError(t, os.WriteFile(stray, b, 0o644))
	listed := queryInt(t, db, "SELECT count(*) FROM "+table("telcall", "jsonl"))
	assert.Equal(t, listed+1, glob("telcall", "jsonl"), "the glob reads the unfinished day too")
}

// ---- helpers ----

func openDuckDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "") // in-memory
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	// One connection: every statement sees the same session settings (the pool would otherwise
	// give each its own DuckDB connection, each with its own SET values).
	db.SetMaxOpenConns(1)
	var version string
	require.NoError(t, db.QueryRow("SELECT version()").Scan(&version))
	t.Logf("DuckDB %s", version)
	return db
}

func table(dataset string, f usage.Format) string { return dataset + "_" + string(f) }

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sqlList is a list literal of SQL strings, as DuckDB's readers take for a list of files.
func sqlList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = sqlString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// eachRow runs q and calls fn for every row with a scan function that fails the test on error.
func eachRow(t *testing.T, db *sql.DB, q string, fn func(scan func(...any))) {
	t.Helper()
	rows, err := db.Query(q)
	require.NoError(t, err, q)
	defer rows.Close()
	for rows.Next() {
		fn(func(dest ...any) { require.NoError(t, rows.Scan(dest...), q) })
	}
	require.NoError(t, rows.Err(), q)
}

func queryInt(t *testing.T, db *sql.DB, q string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.QueryRow(q).Scan(&n), q)
	return n
}

func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	var out []string
	eachRow(t, db, q, func(scan func(...any)) {
		var s string
		scan(&s)
		out = append(out, s)
	})
	return out
}

func queryColumns(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	require.NoError(t, err, q)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	return cols
}

// columnTypes returns the DuckDB type of every column of a table.
func columnTypes(t *testing.T, db *sql.DB, tb string) map[string]string {
	t.Helper()
	out := map[string]string{}
	eachRow(t, db, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = "+sqlString(tb), func(scan func(...any)) {
		var name, typ string
		scan(&name, &typ)
		out[name] = typ
	})
	require.NotEmpty(t, out, tb)
	return out
}

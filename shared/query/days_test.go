package query

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// A manifest's per-file sums stand in for the file only when they are exactly what reading it
// adds up.
func TestManifestSums(t *testing.T) {
	telcall := usage.TelCallSchema
	cols := telcall.Names()
	all := map[string]float64{}
	for i, m := range telcall.Measures() {
		all[m] = float64(i*1000 + 7)
	}
	with := func(name string, v float64) map[string]float64 {
		out := map[string]float64{}
		for k, x := range all {
			out[k] = x
		}
		out[name] = v
		return out
	}
	room := usage.RoomUsageSchema
	for _, c := range []struct {
		name   string
		schema usage.Schema
		entry  snapshot.FileEntry
		want   []int64
	}{
		{"integer measures", telcall, snapshot.FileEntry{Columns: cols, Rows: 1, Measures: all}, []int64{7, 1007, 2007, 3007, 4007, 5007}},
		{"no rows", telcall, snapshot.FileEntry{Columns: cols, Measures: with(telcall.Measures()[0], 0)}, []int64{0, 1007, 2007, 3007, 4007, 5007}},
		{"negative (a refund)", usage.ESSBillSchema, snapshot.FileEntry{Columns: usage.ESSBillSchema.Names(), Rows: 3, Measures: map[string]float64{"use_count": -4}}, []int64{-4}},
		{"columns not recorded", telcall, snapshot.FileEntry{Rows: 1, Measures: all}, nil},
		{"sums not recorded", telcall, snapshot.FileEntry{Columns: cols, Rows: 1}, nil},
		{"a measure's sum missing", telcall, snapshot.FileEntry{Columns: cols, Rows: 1, Measures: map[string]float64{"outbound_minutes": 1}}, nil},
		{"not an integer", telcall, snapshot.FileEntry{Columns: cols, Rows: 1, Measures: with("inbound_minutes", 2.5)}, nil},
		{"too large for float64", telcall, snapshot.FileEntry{Columns: cols, Rows: 1, Measures: with("inbound_minutes", 1e13)}, nil},
		{"decimal measures", room, snapshot.FileEntry{Columns: room.Names(), Rows: 1, Measures: map[string]float64{"audio_seconds": 1}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, manifestSums(c.schema, c.schema.Version, c.entry))
		})
	}
}

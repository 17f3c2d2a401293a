package source

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// The external sort must give exactly what the stable in-memory sort gives, ties included,
// whether it spills or not, and leave no temporary files behind.
func TestESSSorterMatchesAStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ records, runSize int }{{0, 4}, {3, 4}, {4, 4}, {100, 7}, {1000, 64}, {500, 1000}} {
		t.Run(strconv.Itoa(tc.records)+"/"+strconv.Itoa(tc.runSize), func(t *testing.T) {
			var recs []usage.ESSRecord
			for i := range tc.records {
				recs = append(recs, usage.ESSRecord{AppID: "app", OrgOpenID: "org", ChannelBillUsageDetail: tcapi.ChannelBillUsageDetail{
					FlowID:   "flow" + strconv.Itoa(rng.IntN(5)), // many ties
					CostTime: 1700000000 + int64(rng.IntN(10)),
					CostType: 1 + int64(rng.IntN(2)), UseCount: int64(rng.IntN(3)),
					Remark: "arrival " + strconv.Itoa(i), // tells tied records apart
				}})
			}
			want := slices.Clone(recs)
			slices.SortStableFunc(want, usage.CompareESS)

			dir := t.TempDir()
			s := &essSorter{dir: dir, size: tc.runSize}
			for _, r := range recs {
				require.NoError(t, s.add(r))
			}
			var got []usage.ESSRecord
			require.NoError(t, s.each(func(r usage.ESSRecord) error { got = append(got, r); return nil }))
			if len(want) == 0 {
				assert.Empty(t, got)
			} else {
				assert.Equal(t, want, got)
			}
			if tc.records > tc.runSize {
				assert.NotEmpty(t, s.runs, "spilled to runs")
			}
			s.close()
			left, err := filepath.Glob(filepath.Join(dir, "*"))
			require.NoError(t, err)
			assert.Empty(t, left, "runs removed")
			_, err = os.Stat(dir)
			require.NoError(t, err)
		})
	}
}

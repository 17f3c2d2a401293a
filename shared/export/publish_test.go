package export

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// recorder is a Publisher that records what it is given, and whether the run's lease was held
// while it ran.
type recorder struct {
	mu        sync.Mutex
	calls     [][]Committed
	leaseHeld []bool
	r         *Runner
	err       error
}

func (p *recorder) Publish(ctx context.Context, days []Committed) error {
	_, err := snapshot.ReadLease(ctx, p.r.Store, p.r.Prefix, p.r.Dataset())
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, days)
	p.leaseHeld = append(p.leaseHeld, err == nil)
	return p.err
}

// Publishers see each committed day once, newest first, with the manifest in force after the
// day's last chunk, while the run still holds the lease; a run with nothing to do publishes
// nothing; a failed publisher fails the run without undoing the commit.
func TestPublishersRunAfterTheCommitsUnderTheLease(t *testing.T) {
	apps := []string{"1", "2", "3", "4", "5"}
	r := newTestRunner(t, slowSource{}, apps)
	r.ChunkApps = 2 // three commits a day
	p := &recorder{r: r}
	r.Publishers = []Publisher{p}
	may8 := may9.Add(-1)
	w := plan.Window{Days: []calendar.Day{may9, may8}, Apps: apps}
	_, err := r.Run(context.Background(), w, Options{})
	require.NoError(t, err)

	require.Len(t, p.calls, 1)
	require.Equal(t, []bool{true}, p.leaseHeld)
	days := p.calls[0]
	require.Len(t, days, 2)
	for i, want := range []calendar.Day{may9, may8} {
		assert.Equal(t, want, days[i].Day)
		assert.True(t, days[i].Changed)
		assert.Equal(t, snapshot.StatusComplete, days[i].Manifest.Status)
		assert.Equal(t, apps, days[i].Manifest.Apps, "the manifest after the day's last chunk")
		stored, err := snapshot.ReadManifest(context.Background(), r.Store, "", "telcall", want)
		require.NoError(t, err)
		assert.Equal(t, stored.GeneratedAt, days[i].Manifest.GeneratedAt)
		key, _ := snapshot.ManifestKey("", "telcall", want)
		assert.Equal(t, key, days[i].ManifestKey)
	}

	_, err = r.Run(context.Background(), w, Options{})
	require.NoError(t, err)
	assert.Len(t, p.calls, 1, "nothing to do: nothing published")

	p.err = errors.New("report bucket refused")
	sum, err := r.Run(context.Background(), plan.Window{Days: []calendar.Day{may9}, Apps: apps}, Options{Force: true})
	require.ErrorIs(t, err, ErrPublish)
	assert.NotErrorIs(t, err, ErrStore)
	require.Len(t, p.calls, 2)
	assert.False(t, p.calls[1][0].Changed, "the same data again: no file changed")
	assert.Equal(t, snapshot.StatusComplete, sum.Partitions[len(sum.Partitions)-1].Status)
}

// A publisher cut short by the invocation's deadline defers its work to a later run: the run,
// whose data is committed, does not fail for it.
func TestPublisherOutOfTimeIsDeferred(t *testing.T) {
	apps := []string{"1", "2"}
	r := newTestRunner(t, slowSource{}, apps)
	r.Publishers = []Publisher{PublisherFunc(func(ctx context.Context, _ []Committed) error {
		<-ctx.Done() // a render that needs more time than is left
		return ctx.Err()
	})}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	sum, err := r.Run(ctx, plan.Window{Days: []calendar.Day{may9}, Apps: apps}, Options{})
	require.NoError(t, err)
	require.Len(t, sum.Partitions, 1)
	assert.Equal(t, snapshot.StatusComplete, sum.Partitions[0].Status)
}

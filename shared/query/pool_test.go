package query

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestForEachCallsEachIndexOnceAndStopsAtTheFirstError(t *testing.T) {
	var seen [1000]atomic.Int32
	var running, most atomic.Int32
	err := forEach(context.Background(), len(seen), 7, func(_ context.Context, i int) error {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		seen[i].Add(1)
		running.Add(-1)
		return nil
	})
	assert.NoError(t, err)
	for i := range seen {
		assert.Equal(t, int32(1), seen[i].Load(), "index %d", i)
	}
	assert.LessOrEqual(t, most.Load(), int32(7), "at most the workers at once")

	boom := errors.New("boom")
	var calls atomic.Int32
	err = forEach(context.Background(), 100000, 4, func(ctx context.Context, i int) error {
		calls.Add(1)
		if i == 10 {
			return boom
		}
		return nil
	})
	assert.ErrorIs(t, err, boom)
	// Once the error is in, the feeder stops: a handful of indexes may still go out while it
	// notices (each of its selects picks between a worker and the end at random), not thousands.
	assert.Less(t, calls.Load(), int32(200), "indexes handed out after the first error")
}

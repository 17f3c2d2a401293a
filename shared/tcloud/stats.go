package tcloud

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Stats counts a Client's work since New.
type Stats struct {
	Calls       int64            // Call invocations
	Succeeded   int64            // calls that returned nil
	Failed      int64            // calls that returned an error
	Attempts    int64            // HTTP attempts, retries included
	Retries     int64            // attempts after a retryable failure
	ByCode      map[string]int64 // failed attempts by error code
	PacingWait  time.Duration    // total time waited for rate limiters
	BackoffWait time.Duration    // total backoff delay between attempts
}

// String summarises the counts on one line, codes sorted.
func (s Stats) String() string {
	var codes []string
	for _, k := range slices.Sorted(maps.Keys(s.ByCode)) {
		codes = append(codes, fmt.Sprintf("%s=%d", k, s.ByCode[k]))
	}
	return fmt.Sprintf("calls=%d ok=%d failed=%d attempts=%d retries=%d pacing=%s backoff=%s codes=[%s]",
		s.Calls, s.Succeeded, s.Failed, s.Attempts, s.Retries, s.PacingWait, s.BackoffWait, strings.Join(codes, " "))
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.ByCode = maps.Clone(c.stats.ByCode)
	return s
}

func (c *Client) count(f func(*Stats)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.stats)
}

package query

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/usage"
)

func TestParseQuery(t *testing.T) {
	lim := plan.Limits{Latest: calendar.Date(2024, 5, 9)}
	apps := []string{"1400000001", "1400000002", "1400000010"}
	q, err := ParseQuery(map[string][]string{}, apps, lim)
	require.NoError(t, err)
	assert.Equal(t, Query{From: calendar.Date(2024, 5, 9), To: calendar.Date(2024, 5, 9), Apps: apps, Format: usage.JSONL}, q)

	q, err = ParseQuery(map[string][]string{"from": {"2024-05-01"}, "to": {"2024-05-02"}, "app": {"1400000010,1400000002", "1400000002"}, "format": {"CSV"}, "save": {"true"}}, apps, lim)
	require.NoError(t, err)
	assert.Equal(t, Query{From: calendar.Date(2024, 5, 1), To: calendar.Date(2024, 5, 2), Apps: []string{"1400000002", "1400000010"}, Format: usage.CSV, Save: true}, q)
}

func TestParseQueryRefuses(t *testing.T) {
	lim := plan.Limits{Latest: calendar.Date(2024, 5, 9), Earliest: calendar.Date(2024, 1, 1)}
	apps := []string{"1400000001"}
	cases := []struct {
		q     map[string][]string
		field string
	}{
		{map[string][]string{"dat": {"2024-05-01"}}, "dat"},
		{map[string][]string{"date": {"2024-05-01", "2024-05-02"}}, "date"},
		{map[string][]string{"date": {"2024-05-01"}, "from": {"2024-05-01"}}, "date"},
		{map[string][]string{"from": {"2024-05-01"}}, "from"},
		{map[string][]string{"date": {"tomorrow"}}, "date"},
		{map[string][]string{"date": {"2024-05-10"}}, "date"},
		{map[string][]string{"date": {"2023-12-31"}}, "date"},
		{map[string][]string{"from": {"2024-05-09"}, "to": {"2024-05-01"}}, "from"},
		{map[string][]string{"from": {"2024-01-01"}, "to": {"2024-05-01"}}, "to"},
		{map[string][]string{"app": {"../../etc"}}, "app"},
		{map[string][]string{"app": {"1400000009"}}, "app"},
		{map[string][]string{"app": {""}}, "app"},
		{map[string][]string{"format": {"xml"}}, "format"},
		{map[string][]string{"save": {"maybe"}}, "save"},
		{map[string][]string{strings.Repeat("x", 500): {"1"}}, strings.Repeat("x", 64) + "…"},
	}
	for _, tc := range cases {
		_, err := ParseQuery(tc.q, apps, lim)
		var ie *plan.InputError
		require.True(t, errors.As(err, &ie), "%v: %v", tc.q, err)
		assert.Equal(t, tc.field, ie.Field, "%v", tc.q)
	}
}

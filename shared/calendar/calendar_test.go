package calendar

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	d, err := Parse("2024-02-29")
	require.NoError(t, err)
	assert.Equal(t, "2024-02-29", d.String())
	assert.Equal(t, time.Date(2024, 2, 28, 16, 0, 0, 0, time.UTC), d.Start().UTC())
	assert.Equal(t, time.Date(2024, 2, 29, 15, 59, 59, 0, time.UTC), d.Last().UTC())
	assert.Equal(t, time.Date(2024, 2, 29, 16, 0, 0, 0, time.UTC), d.End().UTC())
	assert.Equal(t, Date(2024, time.February, 29), d, "== works on days however they were made")
	for _, bad := range []string{"", "2024-2-29", "2023-02-29", "2024-02-30", "24-02-29", "2024/02/29", "2024-02-29T00:00:00Z", " 2024-02-29"} {
		_, err := Parse(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestArithmetic(t *testing.T) {
	d := Date(2024, time.February, 28)
	assert.Equal(t, "2024-02-29", d.Add(1).String())
	assert.Equal(t, "2024-03-01", d.Add(2).String())
	assert.Equal(t, "2023-12-31", Date(2024, time.January, 1).Add(-1).String())
	assert.Equal(t, 366, Date(2025, time.January, 1).Sub(Date(2024, time.January, 1)))
	assert.Equal(t, -2, d.Sub(d.Add(2)))
	assert.True(t, d.Before(d.Add(1)))
	assert.True(t, d.Add(1).After(d))
	assert.Equal(t, 0, d.Compare(Date(2024, 2, 28)))
	assert.Equal(t, []Day{d, d.Add(1), d.Add(2)}, Days(d, d.Add(2)))
	assert.Empty(t, Days(d.Add(1), d))
	assert.True(t, Day{}.IsZero())
	assert.False(t, d.IsZero())
}

// Of takes the calendar date in the given zone: at 23:30 UTC it is already tomorrow in China,
// and at 01:00 in Kiritimati (UTC+14) it is still yesterday in China.
func TestOf(t *testing.T) {
	utc := time.Date(2024, 5, 10, 23, 30, 0, 0, time.UTC)
	assert.Equal(t, "2024-05-11", Of(utc, Zone).String())
	assert.Equal(t, "2024-05-10", Of(utc, time.UTC).String())
	kiritimati := time.FixedZone("UTC+14", 14*3600)
	assert.Equal(t, "2024-05-11", Of(time.Date(2024, 5, 10, 11, 0, 0, 0, time.UTC), kiritimati).String())
}

func TestZoneIsUTCPlus8AllYear(t *testing.T) {
	for _, m := range []time.Month{time.January, time.July} {
		_, off := time.Date(2026, m, 1, 12, 0, 0, 0, Zone).Zone()
		assert.Equal(t, 8*3600, off)
	}
	assert.Equal(t, "Asia/Shanghai", Zone.String(), "manifests name the zone")
}

func TestText(t *testing.T) {
	b, err := json.Marshal(struct{ D Day }{Date(2024, 5, 9)})
	require.NoError(t, err)
	assert.JSONEq(t, `{"D":"2024-05-09"}`, string(b))
	var back struct{ D Day }
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, Date(2024, 5, 9), back.D)
	assert.Error(t, json.Unmarshal([]byte(`{"D":"2024-13-01"}`), &back))
	_, err = json.Marshal(struct{ D Day }{})
	assert.Error(t, err, "the zero Day is not written as a date")
}

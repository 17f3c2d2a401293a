package usage

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// microScale is the fixed point of measure sums: values are summed exactly in millionths.
const microScale = 1_000_000

// Tally is a RowWriter that encodes nothing: written beside a file's encoders, it sums each
// measure column of the rows (Column.Measure, and every further column of an open schema) and
// counts negative values of the measures that may not be negative. Sums are exact to a
// millionth (values with more decimals are rounded there), so that files of unchanged data give
// equal sums, and restatements compare them without reading a file again.
type Tally struct {
	names    []string
	idx      []int
	signed   []bool
	micros   []int64
	floats   []float64 // the same sums in floating point, used past int64's range
	overflow []bool
	negative []int64
	firstNeg []string
	rows     int64
}

var _ RowWriter = (*Tally)(nil)

// NewTally returns a tally of the measures of dataset s among columns (the file's columns).
func NewTally(s Schema, columns []string) *Tally {
	t := &Tally{}
	for i, name := range columns {
		j := slices.IndexFunc(s.Columns, func(c Column) bool { return c.Name == name })
		switch {
		case j >= 0 && s.Columns[j].Measure:
			t.add(name, i, s.Columns[j].Signed)
		case j < 0 && s.Open:
			t.add(name, i, false) // a further usage column: decimal seconds
		}
	}
	t.micros = make([]int64, len(t.names))
	t.floats = make([]float64, len(t.names))
	t.overflow = make([]bool, len(t.names))
	t.negative = make([]int64, len(t.names))
	t.firstNeg = make([]string, len(t.names))
	return t
}

func (t *Tally) add(name string, i int, signed bool) {
	t.names = append(t.names, name)
	t.idx = append(t.idx, i)
	t.signed = append(t.signed, signed)
}

// WriteRow adds the row's measures. A value that is not a number is an error: the encoders
// would write it, and the sums would be wrong.
func (t *Tally) WriteRow(r Row) error {
	t.rows++
	for k, i := range t.idx {
		if i >= len(r) || r[i].Text == "" {
			continue // no figure
		}
		m, f, err := parseMicros(r[i].Text)
		if err != nil {
			return fmt.Errorf("row %d column %s: %w", t.rows, t.names[k], err)
		}
		t.floats[k] += f
		if sum, ok := addInt64(t.micros[k], m); ok {
			t.micros[k] = sum
		} else {
			t.overflow[k] = true
		}
		if f < 0 && !t.signed[k] {
			if t.negative[k] == 0 {
				t.firstNeg[k] = fmt.Sprintf("%s in row %d", r[i].Text, t.rows)
			}
			t.negative[k]++
		}
	}
	return nil
}

// Close implements RowWriter; there is nothing to flush.
func (t *Tally) Close() error { return nil }

// Measures returns each measure's sum over the rows written, by column name (nil when the file
// has no measure column).
func (t *Tally) Measures() map[string]float64 {
	if len(t.names) == 0 {
		return nil
	}
	out := make(map[string]float64, len(t.names))
	for k, name := range t.names {
		if t.overflow[k] {
			out[name] = RoundMeasure(t.floats[k])
		} else {
			out[name] = float64(t.micros[k]) / microScale
		}
	}
	return out
}

// Checks returns the CheckNonNegative outcome for app: fail naming each column with negative
// values, ok when there were none; nothing when every measure may be negative.
func (t *Tally) Checks(app string) []Check {
	var checked, bad []string
	for k, name := range t.names {
		if t.signed[k] {
			continue
		}
		checked = append(checked, name)
		if t.negative[k] > 0 {
			bad = append(bad, fmt.Sprintf("%s: %d negative value(s), first %s", name, t.negative[k], t.firstNeg[k]))
		}
	}
	switch {
	case len(checked) == 0:
		return nil
	case len(bad) > 0:
		return []Check{{Name: CheckNonNegative, App: app, Status: CheckFail, Detail: strings.Join(bad, "; ")}}
	}
	return []Check{{Name: CheckNonNegative, App: app, Status: CheckOK}}
}

// RoundMeasure rounds a measure to a millionth, the precision of the sums Tally records.
func RoundMeasure(v float64) float64 { return math.Round(v*microScale) / microScale }

// parseMicros parses a decimal number into millionths (rounded half away from zero past six
// decimals) and a float64. Plain decimals ("-12.345") take a fast exact path; anything else
// strconv accepts (an exponent) goes through float64.
func parseMicros(s string) (int64, float64, error) {
	if m, ok := plainMicros(s); ok {
		return m, float64(m) / microScale, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, 0, fmt.Errorf("%q is not a number", clipText(s))
	}
	if math.Abs(f) >= math.MaxInt64/microScale {
		return 0, f, nil // summed in floating point only (see overflow)
	}
	return int64(math.Round(f * microScale)), f, nil
}

// plainMicros parses [-]digits[.digits] into millionths without floating point; false when s is
// not that shape or too large.
func plainMicros(s string) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	var w int64
	i := 0
	for ; i < len(s) && s[i] != '.'; i++ {
		if s[i] < '0' || s[i] > '9' || i >= 12 {
			return 0, false
		}
		w = w*10 + int64(s[i]-'0')
	}
	if i == 0 || i == len(s)-1 { // no whole part, or a dot with nothing after it
		return 0, false
	}
	var f int64
	digits := 0
	round := false
	if i < len(s) {
		for _, c := range []byte(s[i+1:]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			switch {
			case digits < 6:
				f = f*10 + int64(c-'0')
			case digits == 6:
				round = c >= '5' // half away from zero
			}
			digits++
		}
	}
	for ; digits < 6; digits++ {
		f *= 10
	}
	if round {
		f++
	}
	m := w*microScale + f
	if neg {
		m = -m
	}
	return m, true
}

// addInt64 adds without overflowing; false when the sum does not fit.
func addInt64(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

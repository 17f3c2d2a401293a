package report

import (
	"math"
	"strconv"
	"strings"
)

// Units of figures, as in the dataset schemas.
const (
	UnitSecond = "second" // shown as minutes
	UnitMinute = "minute"
	UnitSeat   = "seat"
	UnitUnit   = "unit" // ESS package units
	UnitCount  = "count"
)

// groupThousands writes the integer part of s with comma separators.
func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// formatNumber writes v with thousands separators and the given number of decimals; negative
// numbers get a true minus sign.
func formatNumber(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	intPart, frac, hasFrac := strings.Cut(s, ".")
	out := groupThousands(intPart)
	if hasFrac {
		out += "." + frac
	}
	if v < 0 && strings.Trim(s, "0.") != "" {
		out = "−" + out
	}
	return out
}

// formatCount writes a whole number of items (rows, rooms, units, seats, minutes).
func formatCount(v float64) string {
	if v == math.Trunc(v) {
		return formatNumber(v, 0)
	}
	return formatNumber(v, 1)
}

// formatMinutes writes a duration in seconds as minutes: whole minutes from 100 on, one decimal
// below.
func formatMinutes(seconds float64) string {
	m := seconds / 60
	if math.Abs(m) >= 100 || m == math.Trunc(m) {
		return formatNumber(math.Round(m), 0)
	}
	return trimZero(formatNumber(m, 1))
}

// formatHours writes a duration in seconds as hours with one decimal.
func formatHours(seconds float64) string { return formatNumber(seconds/3600, 1) }

// formatValue writes a figure of the given unit without its unit.
func formatValue(v float64, unit string) string {
	if unit == UnitSecond {
		return formatMinutes(v)
	}
	return formatCount(v)
}

// unitLabel is the short unit shown after a figure of the given unit.
func unitLabel(unit string) string {
	switch unit {
	case UnitSecond, UnitMinute:
		return "min"
	case UnitSeat:
		return "seats"
	case UnitUnit:
		return "units"
	}
	return ""
}

// formatBytes writes a size for people (B, KiB, MiB, GiB).
func formatBytes(n int64) string {
	const k = 1024
	switch {
	case n < k:
		return formatNumber(float64(n), 0) + " B"
	case n < k*k:
		return formatNumber(float64(n)/k, 1) + " KiB"
	case n < k*k*k:
		return formatNumber(float64(n)/(k*k), 1) + " MiB"
	}
	return formatNumber(float64(n)/(k*k*k), 1) + " GiB"
}

// compact writes an axis label: 950, 1.2k, 34k, 1.5M.
func compact(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trimZero(strconv.FormatFloat(v/1e9, 'f', 1, 64)) + "G"
	case a >= 1e6:
		return trimZero(strconv.FormatFloat(v/1e6, 'f', 1, 64)) + "M"
	case a >= 1e3:
		return trimZero(strconv.FormatFloat(v/1e3, 'f', 1, 64)) + "k"
	}
	return trimZero(strconv.FormatFloat(v, 'f', 1, 64))
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

// rawNumber writes v exactly (shortest round-trip form), for data- attributes.
func rawNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

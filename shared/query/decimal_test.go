package query

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ratOf parses a plain decimal (a string or a json.Number) exactly, as the reference the sums
// are checked against.
func ratOf(t *testing.T, v any) *big.Rat {
	t.Helper()
	s := fmt.Sprint(v)
	r, ok := new(big.Rat).SetString(s)
	require.True(t, ok, "%q", s)
	return r
}

func TestDecimalSumsExactly(t *testing.T) {
	cases := [][]string{
		{"0.1", "0.2"},                       // 0.3, never 0.30000000000000004
		{"1", "2.5", "-3", "0.125"},          // scales mixed
		{"9223372036854775807", "1"},         // past int64
		{"-9223372036854775808", "-1", "1"},  // past int64 below
		{"123456789012345678901234567890.5"}, // big from the start
		{"0.000000000000000000001", "1"},     // scale past an int64's digits
		{"-0.5", "0.5"},                      // zero
		{"", "7"},                            // a null figure adds nothing
		{"007", "00.50"},                     // leading and trailing zeros
	}
	for _, c := range cases {
		var d decimal
		want := new(big.Rat)
		for _, s := range c {
			require.NoError(t, d.add(s), s)
			if s != "" {
				want.Add(want, ratOf(t, s))
			}
		}
		assert.Equal(t, 0, ratOf(t, d.String()).Cmp(want), "%v: got %s, want %s", c, d, want.FloatString(30))
	}
}

func TestDecimalRandomSumsMatchBigRat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var d, e decimal
		want := new(big.Rat)
		for i := range 50 {
			s := strconv.FormatInt(rng.Int64N(1<<62)-(1<<61), 10)
			if places := rng.IntN(6); places > 0 && len(s) > places+1 {
				s = s[:len(s)-places] + "." + s[len(s)-places:]
			}
			require.NoError(t, d.add(s), s)
			want.Add(want, ratOf(t, s))
			var one decimal
			require.NoError(t, one.add(s))
			if i%2 == 0 {
				e.plus(one)
			} else {
				require.NoError(t, e.add(s))
			}
		}
		assert.Equal(t, 0, ratOf(t, d.String()).Cmp(want))
		assert.Equal(t, 0, d.cmp(e), "%s vs %s", d, e)
	}
}

func TestDecimalRefusesWhatIsNotAPlainNumber(t *testing.T) {
	for _, s := range []string{"-", ".", "1.", ".5", "1e5", "0x10", "1,5", " 1", "NaN", "--1", "1.2.3"} {
		var d decimal
		assert.ErrorIs(t, d.add(s), errNotDecimal, s)
	}
}

func TestDecimalCompare(t *testing.T) {
	parse := func(s string) decimal {
		var d decimal
		require.NoError(t, d.add(s))
		return d
	}
	assert.Equal(t, -1, parse("1.5").cmp(parse("2")))
	assert.Equal(t, 1, parse("2.0001").cmp(parse("2")))
	assert.Equal(t, 0, parse("2.000").cmp(parse("2")))
	assert.Equal(t, 1, parse("99999999999999999999999").cmp(parse("-1")))
	assert.Equal(t, "0", parse("-0.0").String())
}

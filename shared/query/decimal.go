package query

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// decimal is an exact sum of plain decimal numbers (the figures the files hold: integers, and
// decimals as the API gave them, any number of digits): unscaled × 10^-scale, in an int64 while
// it fits and a big.Int after. Sums never round, so that a group's figure is exactly the sum of
// its rows.
type decimal struct {
	small int64
	big   *big.Int // non-nil once the value outgrew small
	scale int
}

// errNotDecimal is a value that is not a plain decimal number.
var errNotDecimal = errors.New("not a plain decimal number")

// maxScale bounds the decimal places a figure may have.
const maxScale = 30

// pow10 holds the powers of ten an int64 can hold.
var pow10 = func() [19]int64 {
	var p [19]int64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// add adds the number s: [-]digits[.digits]. An empty s (a null figure) adds nothing.
func (d *decimal) add(s string) error {
	if s == "" {
		return nil
	}
	neg := s[0] == '-'
	digits := s
	if neg {
		digits = s[1:]
	}
	intPart, frac := digits, ""
	for i := 0; i < len(digits); i++ {
		if digits[i] == '.' {
			intPart, frac = digits[:i], digits[i+1:]
			break
		}
	}
	if intPart == "" || !allDigits(intPart) || !allDigits(frac) || (frac == "" && len(intPart) < len(digits)) || len(frac) > maxScale {
		return fmt.Errorf("%.40q: %w", s, errNotDecimal)
	}
	if len(frac) > d.scale {
		d.rescale(len(frac))
	}
	// The value as an integer at d's scale: intPart, frac, and zeros for the missing places.
	pad := d.scale - len(frac)
	if n := len(intPart) + len(frac) + pad; n <= 18 && d.big == nil {
		v, _ := strconv.ParseInt(intPart+frac, 10, 64)
		v *= pow10[pad]
		if neg {
			v = -v
		}
		if sum := d.small + v; (v > 0 && sum < d.small) || (v < 0 && sum > d.small) {
			d.toBig()
		} else {
			d.small = sum
			return nil
		}
	}
	v, _ := new(big.Int).SetString(intPart+frac, 10)
	if pad > 0 {
		v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(pad)), nil))
	}
	if neg {
		v.Neg(v)
	}
	d.toBig()
	d.big.Add(d.big, v)
	return nil
}

// addInt adds the integer v.
func (d *decimal) addInt(v int64) {
	d.plus(decimal{small: v})
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// rescale raises d's scale to scale, keeping its value.
func (d *decimal) rescale(scale int) {
	up := scale - d.scale
	d.scale = scale
	if d.big == nil && up < len(pow10) {
		if v, ok := mul64(d.small, pow10[up]); ok {
			d.small = v
			return
		}
	}
	d.toBig()
	d.big.Mul(d.big, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(up)), nil))
}

// mul64 returns a×b and whether it fits in an int64.
func mul64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	return c, c/b == a && !(a == -1 && b == math.MinInt64) && !(b == -1 && a == math.MinInt64)
}

func (d *decimal) toBig() {
	if d.big == nil {
		d.big = big.NewInt(d.small)
		d.small = 0
	}
}

// plus adds another sum.
func (d *decimal) plus(o decimal) {
	if o.scale > d.scale {
		d.rescale(o.scale)
	}
	if o.scale < d.scale {
		o = o.copy()
		o.rescale(d.scale)
	}
	if d.big == nil && o.big == nil {
		if sum := d.small + o.small; !((o.small > 0 && sum < d.small) || (o.small < 0 && sum > d.small)) {
			d.small = sum
			return
		}
	}
	d.toBig()
	d.big.Add(d.big, o.bigInt())
}

func (d decimal) copy() decimal {
	if d.big != nil {
		d.big = new(big.Int).Set(d.big)
	}
	return d
}

func (d decimal) bigInt() *big.Int {
	if d.big != nil {
		return d.big
	}
	return big.NewInt(d.small)
}

// cmp compares two sums: -1, 0 or +1.
func (d decimal) cmp(o decimal) int {
	if d.big == nil && o.big == nil && d.scale == o.scale {
		switch {
		case d.small < o.small:
			return -1
		case d.small > o.small:
			return 1
		}
		return 0
	}
	a, b := d.copy(), o.copy()
	if a.scale < b.scale {
		a.rescale(b.scale)
	} else {
		b.rescale(a.scale)
	}
	return a.bigInt().Cmp(b.bigInt())
}

// appendText appends the sum as a plain decimal number, without trailing zeros after the point.
func (d decimal) appendText(b []byte) []byte {
	var s string
	if d.big == nil {
		s = strconv.FormatInt(d.small, 10)
	} else {
		s = d.big.String()
	}
	if d.scale == 0 {
		return append(b, s...)
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
		b = append(b, '-')
	}
	for len(s) <= d.scale {
		s = "0" + s
	}
	intPart, frac := s[:len(s)-d.scale], s[len(s)-d.scale:]
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if neg && intPart == "0" && frac == "" {
		b = b[:len(b)-1] // -0 is 0
	}
	b = append(b, intPart...)
	if frac != "" {
		b = append(append(b, '.'), frac...)
	}
	return b
}

func (d decimal) String() string { return string(d.appendText(nil)) }

package num

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The formatters below write numbers for people: messages, terminal tables, figures and
// the report page. They differ on purpose, each suiting where it is used, and each name
// says how. Format is the one for files.

// Plain writes v in its shortest exact form, as Format does, but NaN as NaN: a number
// quoted in a message as its user wrote it (Inf, -Inf, NaN, 0.95).
func Plain(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// SigG writes v with digits significant digits in %g form (so with an exponent when
// that is shorter), NaN as NA: summary tables in the terminal.
func SigG(v float64, digits int) string {
	if math.IsNaN(v) {
		return "NA"
	}
	return fmt.Sprintf("%.*g", digits, v)
}

// Fixed writes v with prec decimals, NaN as NA: Rhat and ESS columns in the terminal.
func Fixed(v float64, prec int) string {
	if math.IsNaN(v) {
		return "NA"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

// Short writes a threshold or a diagnostic value in a message: four significant digits
// without trailing zeros (1.05, 0.2969), whole numbers from 1000 (48395), and three
// significant digits with an exponent from 1e6 or below 1e-3 (2.3e+07); NaN as NA,
// infinities as Inf and -Inf.
func Short(v float64) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	switch {
	case math.Abs(v) >= 1e6 || (v != 0 && math.Abs(v) < 1e-3):
		return fmt.Sprintf("%.3g", v)
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4g", v)
}

// Digits4 writes a diagnostic value in a table column: whole numbers as such (4, 48395),
// others with four significant digits in fixed notation, trailing zeros kept (1.077,
// 0.2969, 0.5000), and three significant digits with an exponent from 1e6 or below 0.01
// (2.3e+07, 0.00333); NaN as NA, infinities as Inf and -Inf.
func Digits4(v float64) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	a := math.Abs(v)
	switch {
	case v == math.Trunc(v) && a < 1e9:
		return fmt.Sprintf("%.0f", v)
	case a >= 1e6 || a < 0.01:
		return fmt.Sprintf("%.3g", v)
	}
	intDigits := 0
	if a >= 1 {
		intDigits = int(math.Floor(math.Log10(a))) + 1
	}
	return fmt.Sprintf("%.*f", max(0, 4-intDigits), v)
}

// PercentSig writes a fraction as a percentage with three significant digits (0.0123 →
// 1.23%), for messages.
func PercentSig(f float64) string {
	return fmt.Sprintf("%.3g%%", 100*f)
}

// Percent writes a share as a percentage with one decimal and a typographic minus
// (U+2212), never −0.0%, for figure labels.
func Percent(v float64) string {
	s := fmt.Sprintf("%.1f%%", 100*v)
	if s == "-0.0%" {
		return "0.0%"
	}
	return strings.Replace(s, "-", "−", 1)
}

// Sig writes v with n significant digits for a figure or the report page: fixed notation
// without an exponent for everyday magnitudes (0.982, 149, 1,230,000), commas between
// thousands from 10 000, an exponent only below 1e-4 or from 1e9 (2.5e−05), and a
// typographic minus (U+2212). Non-finite values are written as fmt.Sprint does.
func Sig(v float64, n int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	if v == 0 {
		return "0"
	}
	a := math.Abs(v)
	if a >= 1e9 || a < 1e-4 {
		return strings.Replace(fmt.Sprintf("%.*e", n-1, v), "-", "−", 1)
	}
	e := int(math.Floor(math.Log10(a)))
	if e >= n {
		// Round large numbers to n significant digits too: 1234567 → 1,230,000.
		unit := math.Pow10(e - n + 1)
		v = math.Round(v/unit) * unit
	}
	dec := max(0, n-1-e)
	s := fmt.Sprintf("%.*f", dec, v)
	if a >= 1e4 {
		s = thousands(s)
	}
	return strings.Replace(s, "-", "−", 1)
}

// thousands puts commas into the integer part of a formatted number.
func thousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

// Tick writes an axis tick value: thousands as k, millions as M, billions as B, with as
// many decimals as the tick step needs (12k, 2.5M, 0.25), and a typographic minus.
func Tick(v, step float64) string {
	if step <= 0 || math.IsNaN(step) {
		step = math.Abs(v)
	}
	if math.Abs(v) < step*1e-9 {
		return "0"
	}
	unit, div := "", 1.0
	switch a := max(math.Abs(v), step); {
	case a >= 1e9:
		unit, div = "B", 1e9
	case a >= 1e6:
		unit, div = "M", 1e6
	case a >= 1e4:
		unit, div = "k", 1e3
	}
	s := step / div
	dec := 0
	for dec < 6 && math.Abs(s*math.Pow10(dec)-math.Round(s*math.Pow10(dec))) > 1e-6*s*math.Pow10(dec) {
		dec++
	}
	out := fmt.Sprintf("%.*f", dec, v/div)
	return strings.Replace(out, "-", "−", 1) + unit
}

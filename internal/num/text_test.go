package num

import (
	"math"
	"testing"
)

func TestDigits4(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {4, "4"}, {48394.763066074782, "48395"}, {1.0765877, "1.077"}, {18.6668, "18.67"},
		{0.29690819615033137, "0.2969"}, {0.9666666666666667, "0.9667"}, {0.00333, "0.00333"},
		{2.3e7 + 0.5, "2.3e+07"}, {math.NaN(), "NA"}, {math.Inf(1), "Inf"}, {math.Inf(-1), "-Inf"},
	} {
		if got := Digits4(tt.v); got != tt.want {
			t.Errorf("Digits4(%v) = %q; want %q", tt.v, got, tt.want)
		}
	}
}

func TestTickSig(t *testing.T) {
	for _, c := range []struct {
		v, step float64
		want    string
	}{
		{12000, 2000, "12k"}, {2.5e6, 5e5, "2.5M"}, {0.25, 0.05, "0.25"}, {-1500, 500, "−1500"},
		{0, 0.1, "0"}, {1.02, 0.02, "1.02"}, {3e9, 1e9, "3B"}, {7.5, 2.5, "7.5"},
	} {
		if got := Tick(c.v, c.step); got != c.want {
			t.Errorf("Tick(%v, %v) = %q; want %q", c.v, c.step, got, c.want)
		}
	}
	for _, c := range []struct {
		v    float64
		n    int
		want string
	}{
		{0.98219, 3, "0.982"}, {149.345, 3, "149"}, {1234567.8, 3, "1,230,000"}, {-0.0156, 3, "−0.0156"},
		{12345, 5, "12,345"}, {2.5e-5, 2, "2.5e−05"}, {0, 3, "0"},
	} {
		if got := Sig(c.v, c.n); got != c.want {
			t.Errorf("Sig(%v, %d) = %q; want %q", c.v, c.n, got, c.want)
		}
	}
}

func TestMessageFormats(t *testing.T) {
	for _, c := range []struct {
		name, got, want string
	}{
		{"Plain(0.95)", Plain(0.95), "0.95"},
		{"Plain(NaN)", Plain(math.NaN()), "NaN"},
		{"Plain(+Inf)", Plain(math.Inf(1)), "Inf"},
		{"Plain(-Inf)", Plain(math.Inf(-1)), "-Inf"},
		{"SigG(1234.5678, 4)", SigG(1234.5678, 4), "1235"},
		{"SigG(12345.6, 4)", SigG(12345.6, 4), "1.235e+04"},
		{"SigG(NaN, 4)", SigG(math.NaN(), 4), "NA"},
		{"Fixed(1.00449, 3)", Fixed(1.00449, 3), "1.004"},
		{"Fixed(NaN, 0)", Fixed(math.NaN(), 0), "NA"},
		{"Short(1.05)", Short(1.05), "1.05"},
		{"Short(0.5)", Short(0.5), "0.5"},
		{"Short(48394.76)", Short(48394.76), "48395"},
		{"Short(2.3e7)", Short(2.3e7), "2.3e+07"},
		{"Short(0.0004567)", Short(0.0004567), "0.000457"},
		{"Short(NaN)", Short(math.NaN()), "NA"},
		{"Short(-Inf)", Short(math.Inf(-1)), "-Inf"},
		{"PercentSig(0.0123)", PercentSig(0.0123), "1.23%"},
		{"PercentSig(0.5)", PercentSig(0.5), "50%"},
		{"Percent(0.1234)", Percent(0.1234), "12.3%"},
		{"Percent(-0.0001)", Percent(-0.0001), "0.0%"},
		{"Percent(-0.25)", Percent(-0.25), "−25.0%"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q; want %q", c.name, c.got, c.want)
		}
	}
}

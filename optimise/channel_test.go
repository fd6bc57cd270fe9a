package optimise

import "testing"

func TestChannelWithDefaults(t *testing.T) {
	for _, c := range []struct{ in, want Channel }{
		{Channel{Term: "m_tv"}, Channel{Term: "m_tv", Name: "m_tv", SpendCol: "m_tv"}},
		{Channel{Term: "m_tv", Name: "tv"}, Channel{Term: "m_tv", Name: "tv", SpendCol: "tv"}},
		{Channel{Term: "m_tv", SpendCol: "spend"}, Channel{Term: "m_tv", Name: "m_tv", SpendCol: "spend"}},
	} {
		got := c.in.WithDefaults()
		if got.Term != c.want.Term || got.Name != c.want.Name || got.SpendCol != c.want.SpendCol {
			t.Errorf("%+v.WithDefaults() = %+v; want %+v", c.in, got, c.want)
		}
	}
}

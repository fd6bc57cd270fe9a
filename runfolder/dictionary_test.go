package runfolder

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestDictionaryRoundTrip(t *testing.T) {
	rows := []DictionaryRow{
		{Term: "m_tv", Unit: "GBP k", Cadence: "weekly", Source: "agency, monthly export", Rationale: "reach"},
		{Term: "kpi", Unit: "orders"},
	}
	var buf bytes.Buffer
	if err := WriteDictionary(&buf, rows); err != nil {
		t.Fatal(err)
	}
	want := "term,unit,cadence,source,transform,rationale\nm_tv,GBP k,weekly,\"agency, monthly export\",,reach\nkpi,orders,,,,\n"
	if buf.String() != want {
		t.Errorf("file =\n%s\nwant\n%s", buf.String(), want)
	}
	back, err := ReadDictionary(&buf)
	if err != nil || !reflect.DeepEqual(back, rows) {
		t.Errorf("read back %+v, %v; want %+v", back, err, rows)
	}
	if _, err := ReadDictionary(strings.NewReader("term,unit\nm_tv,GBP\n")); err == nil {
		t.Error("a wrong header was read")
	}
}

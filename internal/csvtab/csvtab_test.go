package csvtab

import (
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	rows, err := Read(strings.NewReader("a,b\n1,2\n3,4\n"), []string{"a", "b"})
	if err != nil || len(rows) != 2 || rows[1][0] != "3" {
		t.Fatalf("Read = %v, %v; want two rows", rows, err)
	}
	for _, bad := range []string{"", "a,c\n1,2\n", "b,a\n", "a,b\n1,2,3\n"} {
		if _, err := Read(strings.NewReader(bad), []string{"a", "b"}); err == nil {
			t.Errorf("Read(%q): no error; want one", bad)
		}
	}
	if _, err := Read(strings.NewReader("x,y\n"), []string{"a", "b"}); err == nil || !strings.Contains(err.Error(), "header a,b") {
		t.Errorf("wrong header: error %v; want it to name the header a,b", err)
	}
}

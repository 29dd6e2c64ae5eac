package release

import (
	"strings"
	"testing"
)

func TestVersionOrder(t *testing.T) {
	order := []string{"v0.9.9", "v1.0.0-rc.1", "v1.0.0-rc.2", "v1.0.0", "v1.0.1", "v1.2.0", "v10.0.0"}
	for i := range order {
		for j := range order {
			a, _ := ParseVersion(order[i])
			b, err := ParseVersion(order[j])
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("%s vs %s: %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	for _, bad := range []string{"1.2.3", "v1.2", "v1.2.x", "v01.2.3", "", "v-1.2.3", "dev", "6d531d2-dirty"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if v, _ := ParseVersion("v1.2.3-rc.1"); v.String() != "v1.2.3-rc.1" {
		t.Error(v)
	}
}

func TestParseManifest(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	good := `{"version":"v1.2.3","channel":"stable","artifacts":[{"name":"sn27_1.2.3_linux_amd64","kind":"binary","os":"linux","arch":"amd64","size":10,"sha256":"` + sum + `"}]}`
	m, err := ParseManifest([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := m.Find(KindBinary, "linux", "amd64"); !ok || a.Size != 10 {
		t.Fatal("find")
	}
	if _, ok := m.Find(KindBinary, "linux", "arm64"); ok {
		t.Fatal("found arm64")
	}
	for _, bad := range []string{
		strings.Replace(good, `"v1.2.3"`, `"1.2.3"`, 1),
		strings.Replace(good, `"stable"`, `""`, 1),
		strings.Replace(good, `"sn27_1.2.3_linux_amd64"`, `"../sn27"`, 1),
		strings.Replace(good, sum, "AB", 1),
		strings.Replace(good, `"size":10`, `"size":0`, 1),
		`{`,
	} {
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"version":"v1.2.3","channel":"stable","artifacts":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseManifest(b); err == nil {
			if _, err := ParseVersion(m.Version); err != nil {
				t.Fatal("a parsed manifest has a bad version")
			}
		}
	})
}

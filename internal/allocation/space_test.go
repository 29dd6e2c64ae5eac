package allocation

import (
	"strings"
	"testing"

	"github.com/sn27/sn27/internal/docker"
)

func TestShortfall(t *testing.T) {
	const gib = 1 << 30
	one := docker.Space{RootFree: 30 * gib, DiskDir: "/d", DiskFree: 30 * gib, SameFS: true}
	promised := one
	promised.Outstanding, promised.Rentals = 8*gib, 2
	two := docker.Space{RootFree: 12 * gib, DiskDir: "/d", DiskFree: 40 * gib}
	for _, tc := range []struct {
		name                string
		sp                  docker.Space
		root, data, reserve int64
		want                string // "" fits; else a part of the refusal
	}{
		{"fits", one, 10 * gib, 10 * gib, 5 * gib, ""},
		{"exactly fits", one, 10 * gib, 15 * gib, 5 * gib, ""},
		{"one byte over", one, 10 * gib, 15*gib + 1, 5 * gib, "needs 25.0 GiB (/data 15.0 GiB, root filesystem 10.0 GiB)"},
		{"others' promises count", promised, 10 * gib, 10 * gib, 5 * gib, "8.0 GiB promised to 2 other rentals"},
		{"reserve counts", one, 10 * gib, 10 * gib, 11 * gib, "11.0 GiB kept for the host"},
		{"no disk dir: /data is a plain volume", docker.Space{RootFree: 12 * gib}, 10 * gib, 100 * gib, gib, ""},
		{"two filesystems, both fit", two, 10 * gib, 35 * gib, gib, ""},
		{"two filesystems, root short", two, 12 * gib, 10 * gib, gib, "the root filesystem needs 12.0 GiB"},
		{"two filesystems, /data short", two, 10 * gib, 40 * gib, gib, "/data needs 40.0 GiB"},
	} {
		got := shortfall(tc.sp, tc.root, tc.data, tc.reserve)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: shortfall = %q; want %q", tc.name, got, tc.want)
		}
	}
}

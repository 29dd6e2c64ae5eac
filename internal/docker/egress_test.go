package docker

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// blockedBy reports what the policy does with a new connection to a:
// "return" (let out), "reject", or "" when no rule matches (let out).
func verdictFor(p egressPolicy, a netip.Addr, port int, proto string) string {
	for _, r := range p.rules()[1:] { // [0] is the conntrack rule
		dst := netip.MustParsePrefix(r[1])
		if !dst.Contains(a) {
			continue
		}
		if slices.Contains(r, "--dport") && (r[3] != proto || r[len(r)-3] != "53" || port != 53) {
			continue
		}
		return strings.ToLower(r[slices.Index(r, "-j")+1])
	}
	return ""
}

func TestEgressPolicy(t *testing.T) {
	v4 := newEgressPolicy(false, prefixes("10.1.2.0/24", "fd00:1::/64"), addrs("10.255.255.53", "127.0.0.53", "8.8.8.8", "fd00::53"),
		prefixes("192.0.2.0/24", "10.0.0.0/16", "fd00::/64"))
	v6 := newEgressPolicy(true, prefixes("10.1.2.0/24", "fd00:1::/64"), addrs("10.255.255.53", "fd00::53", "::1"), prefixes("2001:db8:5::/64", "fd00::/64"))
	for _, tc := range []struct {
		p     egressPolicy
		addr  string
		port  int
		proto string
		want  string
	}{
		{v4, "169.254.169.254", 80, "tcp", "reject"},        // AWS/GCP/Azure metadata
		{v4, "169.254.170.2", 80, "tcp", "reject"},          // ECS task metadata
		{v4, "100.100.100.200", 80, "tcp", "reject"},        // Alibaba metadata (CGNAT)
		{v4, "192.0.0.192", 80, "tcp", "reject"},            // Oracle metadata
		{v4, "192.168.1.1", 22, "tcp", "reject"},            // LAN
		{v4, "172.17.0.2", 22, "tcp", "reject"},             // a docker0 container
		{v4, "127.0.0.1", 22, "tcp", "reject"},              // loopback
		{v4, "224.0.0.251", 5353, "udp", "reject"},          // multicast
		{v4, "255.255.255.255", 67, "udp", "reject"},        // broadcast
		{v4, "192.0.2.7", 80, "tcp", "reject"},              // the host's on-link (public) network
		{v4, "10.1.2.3", 80, "tcp", "return"},               // allow-cidr
		{v4, "10.1.3.3", 80, "tcp", "reject"},               // next to it
		{v4, "10.255.255.53", 53, "udp", "return"},          // the host's resolver
		{v4, "10.255.255.53", 53, "tcp", "return"},          // over TCP too
		{v4, "10.255.255.53", 80, "tcp", "reject"},          // but nothing else of it
		{v4, "203.0.113.80", 80, "tcp", ""},                 // the internet
		{v4, "1.1.1.1", 443, "tcp", ""},                     // the internet
		{v6, "fd00:ec2::254", 80, "tcp", "reject"},          // AWS IPv6 metadata
		{v6, "fe80::1", 80, "tcp", "reject"},                // link-local
		{v6, "::ffff:169.254.169.254", 80, "tcp", "reject"}, // v4-mapped
		{v6, "::1", 22, "tcp", "reject"},
		{v6, "ff02::1", 22, "udp", "reject"},
		{v6, "2001:db8:5::9", 22, "tcp", "reject"}, // on-link
		{v6, "fd00:1::5", 22, "tcp", "return"},     // allow-cidr
		{v6, "fd00::53", 53, "udp", "return"},      // resolver
		{v6, "2606:4700::1111", 443, "tcp", ""},
	} {
		fam := "v4"
		if tc.p.v6 {
			fam = "v6"
		}
		if got := verdictFor(tc.p, netip.MustParseAddr(tc.addr), tc.port, tc.proto); got != tc.want {
			t.Errorf("%s %s %s/%d = %q; want %q", fam, tc.addr, tc.proto, tc.port, got, tc.want)
		}
	}
	// A loopback or public resolver gets no hole: Docker never forwards
	// to the first, the second is out anyway. The on-link 10.0.0.0/16
	// lies inside 10/8 and adds no rule.
	if len(v4.nameservers) != 1 || len(v4.blocked) != len(blockedV4)+1 {
		t.Errorf("v4 nameservers %v blocked %v", v4.nameservers, v4.blocked)
	}
	if r := v4.rules()[0]; strings.Join(r, " ") != "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN" {
		t.Errorf("first rule %q; want replies let through first", r)
	}
	if r := v6.rules(); !slices.Contains(r[len(r)-1], "icmp6-adm-prohibited") {
		t.Errorf("v6 reject %q", r[len(r)-1])
	}
}

func TestParseAllowCIDRs(t *testing.T) {
	got, err := ParseAllowCIDRs([]string{"10.1.2.3/24", " 192.168.5.5 ", "", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	if want := prefixes("10.1.2.0/24", "192.168.5.5/32", "fd00::/8"); !slices.Equal(got, want) {
		t.Errorf("ParseAllowCIDRs = %v; want %v", got, want)
	}
	for _, bad := range []string{"10.1.2.3/33", "lan", "10.1.2.3/24; rm -rf /"} {
		if _, err := ParseAllowCIDRs([]string{bad}); err == nil {
			t.Errorf("ParseAllowCIDRs(%q) = nil error", bad)
		}
	}
}

func TestParseNameservers(t *testing.T) {
	got := parseNameservers([]byte("# comment\nsearch example\nnameserver 10.255.255.53\nnameserver fe80::1%eth0\nnameserver ::ffff:8.8.8.8\nnameserver bogus\noptions ndots:0\n"))
	if want := addrs("10.255.255.53", "fe80::1", "8.8.8.8"); !slices.Equal(got, want) {
		t.Errorf("parseNameservers = %v; want %v", got, want)
	}
}

func FuzzParseNameservers(f *testing.F) {
	f.Add([]byte("nameserver 10.0.0.2\nnameserver fd00::53%eth0\n"))
	f.Add([]byte("nameserver\nnameserver 1.2.3.4.5\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ns := parseNameservers(b)
		if len(ns) > 16 {
			t.Fatalf("%d nameservers; want at most 16", len(ns))
		}
		for _, a := range ns {
			if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
				t.Fatalf("nameserver %v not normalised", a)
			}
		}
		for _, v6 := range []bool{false, true} {
			for _, r := range newEgressPolicy(v6, nil, ns, nil).rules() {
				for _, arg := range r {
					if strings.ContainsAny(arg, " \n;") || arg == "" {
						t.Fatalf("rule argument %q", arg)
					}
				}
			}
		}
	})
}

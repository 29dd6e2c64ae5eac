package docker

import (
	"bufio"
	"bytes"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
)

// Blocked destinations of a rental's own connections, by family: every
// range that is not the public internet and that a miner's host may route
// to. Replies to connections made to the rental (SSH through the published
// port, from anywhere) are never blocked.
var (
	blockedV4 = []string{
		"0.0.0.0/8",      // "this network"
		"10.0.0.0/8",     // RFC 1918 private
		"100.64.0.0/10",  // CGNAT (RFC 6598); Alibaba's metadata 100.100.100.200
		"127.0.0.0/8",    // loopback
		"169.254.0.0/16", // link-local: AWS/GCP/Azure/OpenStack metadata 169.254.169.254, ECS 169.254.170.2
		"172.16.0.0/12",  // RFC 1918 private (Docker's own bridges too)
		"192.0.0.0/24",   // IETF protocol assignments; Oracle's metadata 192.0.0.192
		"192.168.0.0/16", // RFC 1918 private
		"198.18.0.0/15",  // benchmarking
		"224.0.0.0/4",    // multicast
		"240.0.0.0/4",    // reserved and broadcast
	}
	blockedV6 = []string{
		"::/128",         // unspecified
		"::1/128",        // loopback
		"::ffff:0:0/96",  // IPv4-mapped: the v4 ranges in disguise
		"64:ff9b:1::/48", // local-use NAT64 (RFC 8215)
		"fc00::/7",       // unique local; AWS's IPv6 metadata fd00:ec2::254
		"fe80::/10",      // link-local
		"ff00::/8",       // multicast
	}
)

// egressPolicy is what the egress chain of one address family lets
// through and blocks.
type egressPolicy struct {
	v6          bool
	allow       []netip.Prefix // --miner.rental.allow-cidr
	nameservers []netip.Addr   // the host's resolvers inside blocked ranges: port 53 only
	blocked     []netip.Prefix // fixed ranges plus the host's on-link networks
}

// newEgressPolicy builds the policy of one family from the operator's
// allow list, the host's resolvers and its on-link networks.
func newEgressPolicy(v6 bool, allow []netip.Prefix, nameservers []netip.Addr, onLink []netip.Prefix) egressPolicy {
	p := egressPolicy{v6: v6}
	fixed := blockedV4
	if v6 {
		fixed = blockedV6
	}
	for _, s := range fixed {
		p.blocked = append(p.blocked, netip.MustParsePrefix(s))
	}
	for _, n := range onLink {
		if n.Addr().Is6() == v6 && !coveredBy(n, p.blocked) {
			p.blocked = append(p.blocked, n.Masked())
		}
	}
	for _, a := range allow {
		if a.Addr().Is6() == v6 {
			p.allow = append(p.allow, a.Masked())
		}
	}
	for _, ns := range nameservers {
		ns = ns.Unmap()
		if ns.Is6() != v6 || ns.IsLoopback() {
			continue // Docker's resolver never forwards to a loopback server
		}
		if inAny(ns, p.blocked) && !inAny(ns, p.allow) {
			p.nameservers = append(p.nameservers, ns)
		}
	}
	return p
}

// rules are the chain's rules in order: established traffic and the
// allowed ranges return to Docker's rules (which let the rental out), DNS
// to the host's resolvers too, and a new connection to a blocked range is
// rejected at once, so the renter's tool fails fast with "prohibited".
func (p egressPolicy) rules() [][]string {
	reject := []string{"-j", "REJECT", "--reject-with", "icmp-admin-prohibited"}
	if p.v6 {
		reject = []string{"-j", "REJECT", "--reject-with", "icmp6-adm-prohibited"}
	}
	r := [][]string{{"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"}}
	for _, a := range p.allow {
		r = append(r, []string{"-d", a.String(), "-j", "RETURN"})
	}
	for _, ns := range p.nameservers {
		host := netip.PrefixFrom(ns, ns.BitLen()).String()
		r = append(r,
			[]string{"-d", host, "-p", "udp", "-m", "udp", "--dport", "53", "-j", "RETURN"},
			[]string{"-d", host, "-p", "tcp", "-m", "tcp", "--dport", "53", "-j", "RETURN"})
	}
	for _, b := range p.blocked {
		r = append(r, append([]string{"-d", b.String()}, reject...))
	}
	return r
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// coveredBy reports whether n lies inside one of ps.
func coveredBy(n netip.Prefix, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Bits() <= n.Bits() && p.Contains(n.Addr()) {
			return true
		}
	}
	return false
}

// resolvConfFiles are read for the host's nameservers: Docker forwards a
// rental's DNS queries to these from the rental's own network namespace,
// so a resolver on a private address (a cloud VPC's, say) must stay
// reachable on port 53. systemd-resolved's stub (127.0.0.53) names its
// upstreams in the second file, which Docker reads then too.
var resolvConfFiles = []string{"/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"}

// hostNameservers lists the nameservers of resolvConfFiles.
func hostNameservers() []netip.Addr {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, f := range resolvConfFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, a := range parseNameservers(b) {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// parseNameservers reads the "nameserver" lines of a resolv.conf (at most
// 64 KiB and 16 servers are looked at; zones like %eth0 are dropped).
func parseNameservers(b []byte) []netip.Addr {
	if len(b) > 64<<10 {
		b = b[:64<<10]
	}
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() && len(out) < 16 {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil {
			continue
		}
		out = append(out, a.WithZone("").Unmap())
	}
	return out
}

// hostOnLink lists the networks of the host's own interfaces (its LAN:
// neighbours it reaches without a router, public or not), leaving out
// loopback and the bridges and veths of containers. Networks wider than
// /8 (IPv4) or /32 (IPv6) are left out: no LAN is that wide, and such a
// rule would cut rentals off the internet.
func hostOnLink() []netip.Prefix {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 || containerInterface(ifc.Name) {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			addr, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			addr = addr.Unmap()
			bits, _ := ipn.Mask.Size()
			if addr.Is4() && bits < 8 || addr.Is6() && bits < 32 || addr.IsLinkLocalUnicast() {
				continue // link-local is blocked whole already
			}
			out = append(out, netip.PrefixFrom(addr, bits).Masked())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// containerInterface reports whether an interface belongs to Docker or to
// sn27 (bridges and the host ends of veth pairs), not to the host's LAN.
func containerInterface(name string) bool {
	for _, p := range []string{"docker", "br-", "veth", "sn27-"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

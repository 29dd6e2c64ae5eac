package docker

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
)

// needIptables skips unless the test can change the host firewall.
func needIptables(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("changes the host firewall (skipped with -short)")
	}
	if os.Geteuid() != 0 {
		t.Skip("iptables needs root")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("no iptables")
	}
	if out, err := exec.Command("iptables", "-w", "5", "-n", "-L", "INPUT").CombinedOutput(); err != nil {
		t.Skipf("iptables does not work here (an unprivileged container has no CAP_NET_ADMIN): %v: %.200s", err, out)
	}
}

// hostLANAddr is an IPv4 address of the host outside Docker's bridges, or
// "" when it has none.
func hostLANAddr(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 || ifc.Flags&net.FlagUp == 0 {
			continue
		}
		if n := ifc.Name; strings.HasPrefix(n, "docker") || strings.HasPrefix(n, "br-") || strings.HasPrefix(n, "veth") || strings.HasPrefix(n, "sn27-") {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return ""
}

// testRentalNet names a rental network of the tests' own, so they neither
// see nor disturb a miner's on the same host.
var testRentalNet = rentalNet{network: "sn27-test-rentals", bridge: "sn27-test0", chain: "SN27-TEST-ISOLATION", egress: "SN27-TEST-EGRESS"}

// newNetTestClient is a client on testRentalNet whose rules and network go
// when the test ends.
func newNetTestClient(t *testing.T) *Client {
	t.Helper()
	needIptables(t)
	c := newTestClient(t)
	c.rnet = testRentalNet
	t.Cleanup(func() {
		if err := c.RemoveRentalIsolation(context.Background()); err != nil {
			t.Errorf("RemoveRentalIsolation: %v", err)
		}
	})
	return c
}

// iptablesRules lists a chain's rules.
func iptablesRules(t *testing.T, chain string) []string {
	t.Helper()
	if exec.Command("iptables", "-w", "5", "-n", "-L", chain).Run() != nil {
		return nil // no such chain (DOCKER-USER under a daemon run with --iptables=false)
	}
	out, err := exec.Command("iptables", "-w", "5", "-S", chain).Output()
	if err != nil {
		t.Fatalf("iptables -S %s: %v", chain, err)
	}
	var rules []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(l, "-A ") {
			rules = append(rules, l)
		}
	}
	return rules
}

// TestRentalNetworkIsolation checks that a rental on RentalNetwork cannot
// open a connection to the host (a server on 0.0.0.0 reached through the
// bridge gateway or the host's LAN address) nor to another rental, while
// the same probe from a container on the default bridge gets through;
// that SSH through the published port and egress still work; and that
// the rules are idempotent, checked and repaired, and leave foreign rules
// alone. TestRentalCannotReachLAN covers forwarded traffic to the LAN.
func TestRentalNetworkIsolation(t *testing.T) {
	c := newNetTestClient(t)
	rn := testRentalNet
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for i := range 2 {
		start := time.Now()
		if err := c.EnsureRentalNetwork(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("EnsureRentalNetwork #%d took %s", i+1, time.Since(start).Round(time.Millisecond))
	}
	if err := c.CheckIsolation(ctx); err != nil {
		t.Fatalf("CheckIsolation after EnsureRentalNetwork: %v", err)
	}
	jumps, before := 0, 0
	for _, r := range iptablesRules(t, "INPUT") {
		switch {
		case r == "-A INPUT -j "+rn.chain:
			jumps++
		case jumps == 0 && !strings.HasPrefix(r, "-A INPUT -j SN27-"):
			before++
		}
	}
	if jumps != 1 || before != 0 {
		t.Errorf("INPUT %q; want one jump to %s, before any rule but other SN27 jumps", iptablesRules(t, "INPUT"), rn.chain)
	}
	if rules := iptablesRules(t, rn.chain); len(rules) != 2 || !strings.HasSuffix(rules[0], "-j ACCEPT") || !strings.HasSuffix(rules[1], "-i "+rn.bridge+" -j DROP") {
		t.Errorf("%s = %q; want the conntrack accept, then the drop", rn.chain, rules)
	}
	if first, err := jumpIsFirst(ctx, "iptables", "DOCKER-USER", rn.egressJump()); err != nil || !first {
		t.Errorf("DOCKER-USER %q; want the jump to %s first (%v)", iptablesRules(t, "DOCKER-USER"), rn.egress, err)
	}

	n, err := c.api.NetworkInspect(ctx, rn.network, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels[NetworkLabel] != "1" || n.Options["com.docker.network.bridge.enable_icc"] != "false" {
		t.Errorf("network labels %v options %v", n.Labels, n.Options)
	}

	// A server on all the host's addresses.
	hostPort := serveTCP(t, "tcp4", "0.0.0.0:0")

	key, pub := keyPair(t, "net@test")
	rental, rentalPort := netContainer(t, c, rn.network, pub)
	rental2, _ := netContainer(t, c, rn.network, pub)
	plain, _ := netContainer(t, c, "", pub)

	// The gateways as the containers see them: a daemon's first start
	// reports the default bridge's IPAM without a Gateway, but a running
	// container's settings always name it.
	gateway := containerGateway(t, c, rental, rn.network)
	plainGW := containerGateway(t, c, plain, "bridge")
	targets := []struct{ name, rentalAddr, plainAddr string }{{"bridge gateway", gateway, plainGW}}
	if lan := hostLANAddr(t); lan != "" {
		targets = append(targets, struct{ name, rentalAddr, plainAddr string }{"host LAN address", lan, lan})
	}
	for _, tg := range targets {
		if !connects(t, c, plain, tg.plainAddr, hostPort) {
			t.Errorf("default bridge container cannot reach the host's %s %s:%s; the probe proves nothing", tg.name, tg.plainAddr, hostPort)
		}
		if connects(t, c, rental, tg.rentalAddr, hostPort) {
			t.Errorf("rental reached the host's %s %s:%s", tg.name, tg.rentalAddr, hostPort)
		}
	}
	in, err := c.api.ContainerInspect(ctx, rental)
	if err != nil {
		t.Fatal(err)
	}
	rentalIP := in.NetworkSettings.Networks[rn.network].IPAddress
	sshWait(t, key, rentalPort, "true") // sshd is listening
	if connects(t, c, rental2, rentalIP, "22") {
		t.Errorf("one rental reached another's sshd at %s:22", rentalIP)
	}
	// Egress (names resolved through the host's resolvers, which may sit
	// on a private address): where the default bridge gets out, the
	// rental does too.
	if connects(t, c, plain, "deb.debian.org", "80") {
		if !connects(t, c, rental, "deb.debian.org", "80") {
			t.Error("the rental cannot reach deb.debian.org:80; the default bridge can")
		}
	} else {
		t.Log("no egress from the default bridge either; egress not checked")
	}

	// Repair: a rule removed, and a foreign rule put before the jump (it
	// stays: not ours).
	if err := exec.Command("iptables", "-w", "5", "-D", rn.chain, "-i", rn.bridge, "-j", "DROP").Run(); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckIsolation(ctx); !errors.Is(err, ErrNotIsolated) {
		t.Errorf("CheckIsolation without the drop = %v; want ErrNotIsolated", err)
	}
	if !connects(t, c, rental, gateway, hostPort) {
		t.Error("without the drop rule the rental still cannot reach the host; the probe proves nothing")
	}
	ruleBefore := []string{"INPUT", "-i", rn.bridge, "-p", "tcp", "--dport", "1", "-j", "ACCEPT"}
	foreign := []string{"DOCKER-USER", "-i", rn.bridge, "-p", "tcp", "--dport", "1", "-j", "RETURN"}
	for _, r := range [][]string{ruleBefore, foreign} {
		if err := exec.Command("iptables", append([]string{"-w", "5", "-I"}, r...)...).Run(); err != nil {
			t.Fatal(err)
		}
		defer exec.Command("iptables", append([]string{"-w", "5", "-D"}, r...)...).Run()
	}
	if err := c.CheckIsolation(ctx); !errors.Is(err, ErrNotIsolated) {
		t.Errorf("CheckIsolation with rules before the jumps = %v; want ErrNotIsolated", err)
	}
	if err := c.EnsureRentalNetwork(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckIsolation(ctx); err != nil {
		t.Errorf("CheckIsolation after the repair: %v", err)
	}
	if first, err := jumpIsFirst(ctx, "iptables", "INPUT", []string{"-j", rn.chain}); err != nil || !first {
		t.Errorf("INPUT after the repair %q; want the jump first", iptablesRules(t, "INPUT"))
	}
	for _, r := range [][]string{ruleBefore, foreign} {
		if err := exec.Command("iptables", append([]string{"-w", "5", "-C"}, r...)...).Run(); err != nil {
			t.Errorf("the repair removed a rule that is not ours: %q", r)
		}
	}
	if connects(t, c, rental, gateway, hostPort) {
		t.Error("after the repair the rental reaches the host")
	}
	if _, err := sshRun(ctx, key, rentalPort, "true"); err != nil {
		t.Errorf("ssh to the rental through the published port: %v", err)
	}
}

// serveTCP accepts (and closes) connections on addr until the test ends and
// returns the port.
func serveTCP(t *testing.T, netw, addr string) string {
	t.Helper()
	ln, err := net.Listen(netw, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// netContainer starts a container of the test image on network ("" for
// the default bridge), removed when the test ends.
func netContainer(t *testing.T, c *Client, network, pub string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	port := freePort(t)
	id, _, err := c.Create(ctx, ContainerSpec{
		Name: testName(t) + "-" + strconv.Itoa(port), Image: testImage, Labels: map[string]string{"io.sn27.test": "network"},
		SSHHostPort: port, AuthorizedKey: pub, Network: network,
	})
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, c, id)
	return id, port
}

// containerGateway is the gateway a running container has on network.
func containerGateway(t *testing.T, c *Client, id, network string) string {
	t.Helper()
	in, err := c.api.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ep, ok := in.NetworkSettings.Networks[network]; ok && ep.Gateway != "" {
		return ep.Gateway
	}
	t.Fatalf("container %s has no gateway on %s: %+v", id, network, in.NetworkSettings.Networks)
	return ""
}

// connects reports whether bash in the container opens a TCP connection
// to addr:port within 3 s (address and port are arguments, not shell
// text).
func connects(t *testing.T, c *Client, id, addr, port string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.exec(ctx, id, []string{"timeout", "3", "bash", "-c", `exec 3<>"/dev/tcp/$0/$1"`, addr, port}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.ExitCode == 0
}

// TestRemoveRentalIsolation checks that the rules, the chain and the
// network go, and that a second call is harmless.
func TestRemoveRentalIsolation(t *testing.T) {
	c := newNetTestClient(t)
	rn := testRentalNet
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.EnsureRentalNetwork(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := c.RemoveRentalIsolation(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range iptablesRules(t, "INPUT") {
		if strings.Contains(r, rn.chain) {
			t.Errorf("INPUT still has %q", r)
		}
	}
	for _, r := range iptablesRules(t, "DOCKER-USER") {
		if strings.Contains(r, rn.bridge) {
			t.Errorf("DOCKER-USER still has %q", r)
		}
	}
	if exec.Command("iptables", "-w", "5", "-n", "-L", rn.chain).Run() == nil {
		t.Errorf("chain %s still exists", rn.chain)
	}
	if _, err := c.api.NetworkInspect(ctx, rn.network, network.InspectOptions{}); err == nil {
		t.Errorf("network %s still exists", rn.network)
	}
	if err := c.CheckIsolation(ctx); !errors.Is(err, ErrNotIsolated) {
		t.Errorf("CheckIsolation after removal = %v; want ErrNotIsolated", err)
	}
}

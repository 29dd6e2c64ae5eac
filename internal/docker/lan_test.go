package docker

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lanHost is a "LAN host" of the test's own: a network namespace behind a
// veth pair, with a private address, and the cloud metadata address and a
// CGNAT address routed to it by the host, serving HTTP on port. Traffic
// from a container to it is forwarded by the host, as traffic to a real
// LAN neighbour or metadata service is.
type lanHost struct {
	port    string
	private string // 10.233.X.2
	targets []lanTarget
	v6      string // fd53:27:X::2 ("" when the host has no IPv6)
}

type lanTarget struct{ name, addr string }

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newLANHost makes the namespace, the veth pair, the addresses and routes,
// and the HTTP server; all of it goes when the test ends.
func newLANHost(t *testing.T) *lanHost {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command (iproute2)")
	}
	// A /24 that no interface of the host uses.
	x := 0
	for cand := 233; cand < 250 && x == 0; cand++ {
		if !hostUses(t, netip.MustParsePrefix(fmt.Sprintf("10.233.%d.0/24", cand))) {
			x = cand
		}
	}
	if x == 0 {
		t.Fatal("no free 10.233.X.0/24 for the LAN host")
	}
	id := strconv.Itoa(os.Getpid() % 100000)
	ns, hostIf, nsIf := "sn27t-lan-"+id, "s27lh"+id, "s27ln"+id
	h := &lanHost{private: fmt.Sprintf("10.233.%d.2", x)}
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", hostIf).Run() // takes the routes and the peer
		_ = exec.Command("ip", "netns", "del", ns).Run()
	})
	run(t, "ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", ns)
	run(t, "ip", "addr", "add", fmt.Sprintf("10.233.%d.1/24", x), "dev", hostIf)
	run(t, "ip", "link", "set", hostIf, "up")
	in := func(args ...string) { t.Helper(); run(t, append([]string{"ip", "netns", "exec", ns}, args...)...) }
	in("ip", "link", "set", "lo", "up")
	in("ip", "addr", "add", h.private+"/24", "dev", nsIf)
	in("ip", "addr", "add", "169.254.169.254/32", "dev", "lo")
	in("ip", "addr", "add", "100.64.233.2/32", "dev", "lo")
	in("ip", "link", "set", nsIf, "up")
	in("ip", "route", "add", "default", "via", fmt.Sprintf("10.233.%d.1", x))
	h.targets = append(h.targets, lanTarget{"LAN host (RFC 1918)", h.private})
	for _, tg := range []lanTarget{{"cloud metadata", "169.254.169.254"}, {"CGNAT address", "100.64.233.2"}} {
		// Never take over a route the host already has.
		if out, err := exec.Command("ip", "route", "add", tg.addr+"/32", "via", h.private, "dev", hostIf).CombinedOutput(); err != nil {
			t.Logf("%s %s not routed to the LAN host (the host has a route of its own): %v %s", tg.name, tg.addr, err, out)
			continue
		}
		h.targets = append(h.targets, tg)
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv6/conf/all/disable_ipv6"); err == nil && strings.TrimSpace(string(b)) == "0" {
		v6 := fmt.Sprintf("fd53:27:%x", x)
		if exec.Command("ip", "-6", "addr", "add", v6+"::1/64", "dev", hostIf, "nodad").Run() == nil {
			in("ip", "-6", "addr", "add", v6+"::2/64", "dev", nsIf, "nodad")
			h.v6 = v6 + "::2"
		}
	}
	h.port = serveHTTPIn(t, ns)
	return h
}

// hostUses reports whether a host interface has an address in p.
func hostUses(t *testing.T, p netip.Prefix) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ap, ok := netip.AddrFromSlice(ipn.IP); ok && p.Contains(ap.Unmap()) {
				return true
			}
		}
	}
	return false
}

// serveHTTPIn listens on every address of the named network namespace
// (IPv4 and IPv6) and answers HTTP until the test ends. The socket is made
// on an OS thread moved into the namespace; the thread is never reused.
func serveHTTPIn(t *testing.T, ns string) string {
	t.Helper()
	type res struct {
		ln  net.Listener
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			ch <- res{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- res{err: fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		ln, err := net.Listen("tcp", ":0")
		ch <- res{ln, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "lan host")
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(r.ln)
	t.Cleanup(func() { srv.Close() })
	return strconv.Itoa(r.ln.Addr().(*net.TCPAddr).Port)
}

// hostGets reports whether the host itself gets the LAN host's page.
func hostGets(addr, port string) bool {
	cl := http.Client{Timeout: 3 * time.Second}
	resp, err := cl.Get("http://" + net.JoinHostPort(addr, port) + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// containerGets reports whether the container gets the LAN host's page
// over HTTP (bash's /dev/tcp, a request and the status line read back).
func containerGets(t *testing.T, c *Client, id, addr, port string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	script := `exec 3<>"/dev/tcp/$0/$1" || exit 1; printf 'GET / HTTP/1.0\r\n\r\n' >&3; read -r line <&3; case "$line" in *" 200 "*) exit 0;; esac; exit 1`
	res, err := c.exec(ctx, id, []string{"timeout", "3", "bash", "-c", script, addr, port}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.ExitCode == 0
}

// TestRentalCannotReachLAN sends real forwarded traffic: the host and a
// container on Docker's default bridge get a page from a LAN host in a
// network namespace (at a private address, at 169.254.169.254 and at a
// CGNAT address), a rental gets none of them; without the egress chain
// the rental would (the probe proves something); --miner.rental.allow-cidr
// opens exactly the range named; over IPv6 the rental has no route at all
// while the host reaches the LAN host.
func TestRentalCannotReachLAN(t *testing.T) {
	c := newNetTestClient(t)
	rn := testRentalNet
	h := newLANHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.EnsureRentalNetwork(ctx); err != nil {
		t.Fatal(err)
	}
	_, pub := keyPair(t, "lan@test")
	rental, _ := netContainer(t, c, rn.network, pub)
	plain, _ := netContainer(t, c, "", pub)

	for _, tg := range h.targets {
		if !hostGets(tg.addr, h.port) {
			t.Errorf("the host cannot reach the %s at %s:%s; the probe proves nothing", tg.name, tg.addr, h.port)
		}
		if !containerGets(t, c, plain, tg.addr, h.port) {
			t.Errorf("a default bridge container cannot reach the %s at %s:%s; the probe proves nothing", tg.name, tg.addr, h.port)
		}
		if containerGets(t, c, rental, tg.addr, h.port) {
			t.Errorf("the rental reached the %s at %s:%s", tg.name, tg.addr, h.port)
		}
	}
	t.Logf("LAN host targets: %v", h.targets)

	// The egress chain is what stops it: without the jump the rental
	// gets through.
	if err := exec.Command("iptables", append([]string{"-w", "5", "-D", "DOCKER-USER"}, rn.egressJump()...)...).Run(); err != nil {
		t.Fatal(err)
	}
	if !containerGets(t, c, rental, h.private, h.port) {
		t.Error("without the egress jump the rental still cannot reach the LAN host; the probe proves nothing")
	}
	if err := c.CheckIsolation(ctx); err == nil {
		t.Error("CheckIsolation without the egress jump = nil; want ErrNotIsolated")
	}

	// An operator opens the LAN host's address, and only that.
	allow, err := ParseAllowCIDRs([]string{h.private + "/32"})
	if err != nil {
		t.Fatal(err)
	}
	c.SetAllowCIDRs(allow)
	if err := c.CheckIsolation(ctx); err == nil {
		t.Error("CheckIsolation after the allow list changed = nil; want the rules found stale")
	}
	if err := c.EnsureRentalNetwork(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckIsolation(ctx); err != nil {
		t.Errorf("CheckIsolation after the repair: %v", err)
	}
	if !containerGets(t, c, rental, h.private, h.port) {
		t.Errorf("allow-cidr %s/32: the rental cannot reach it", h.private)
	}
	for _, tg := range h.targets[1:] {
		if containerGets(t, c, rental, tg.addr, h.port) {
			t.Errorf("allow-cidr %s/32 also opened the %s at %s", h.private, tg.name, tg.addr)
		}
	}
	c.SetAllowCIDRs(nil)
	if err := c.EnsureRentalNetwork(ctx); err != nil {
		t.Fatal(err)
	}
	if containerGets(t, c, rental, h.private, h.port) {
		t.Error("the allow list emptied, the rental still reaches the LAN host")
	}

	if h.v6 == "" {
		t.Log("the host has no IPv6: IPv6 not checked")
		return
	}
	if !hostGets(h.v6, h.port) {
		t.Errorf("the host cannot reach the LAN host at [%s]:%s", h.v6, h.port)
	}
	if containerGets(t, c, rental, h.v6, h.port) {
		t.Errorf("the rental reached the LAN host at [%s]:%s over IPv6", h.v6, h.port)
	}
	if _, err := exec.LookPath("ip6tables"); err == nil && exec.Command("ip6tables", "-w", "5", "-n", "-L", "INPUT").Run() == nil {
		parent := egressParent(ctx, "ip6tables")
		if first, err := jumpIsFirst(ctx, "ip6tables", parent, rn.egressJump()); err != nil || !first {
			t.Errorf("ip6tables %s: want the jump to %s first (%v)", parent, rn.egress, err)
		}
		out, _ := exec.Command("ip6tables", "-w", "5", "-S", rn.egress).Output()
		for _, want := range []string{"-d fc00::/7", "-d fe80::/10", "-d ::ffff:0.0.0.0/96"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("ip6tables %s lacks %q:\n%s", rn.egress, want, out)
			}
		}
	}
}

// TestIsolationSurvivesDockerdRestart restarts the daemon (the command in
// SN27_TEST_RESTART_DOCKERD, which make fresh-check sets for its throwaway
// dockerd; the host's daemon is never restarted by a test) and checks that
// the rules hold without the miner doing anything: CheckIsolation passes,
// and the rental, started again by its restart policy, still cannot reach
// the LAN host while a default-bridge container can.
func TestIsolationSurvivesDockerdRestart(t *testing.T) {
	restart := strings.Fields(os.Getenv("SN27_TEST_RESTART_DOCKERD"))
	if len(restart) == 0 {
		t.Skip("SN27_TEST_RESTART_DOCKERD not set: make fresh-check runs this against its throwaway dockerd")
	}
	c := newNetTestClient(t)
	rn := testRentalNet
	h := newLANHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := c.EnsureRentalNetwork(ctx); err != nil {
		t.Fatal(err)
	}
	_, pub := keyPair(t, "restart@test")
	rental, _ := netContainer(t, c, rn.network, pub)
	plain, _ := netContainer(t, c, "", pub)
	if containerGets(t, c, rental, h.private, h.port) || !containerGets(t, c, plain, h.private, h.port) {
		t.Fatal("before the restart: the rental reaches the LAN host, or the default bridge does not")
	}
	start := time.Now()
	if out, err := exec.Command(restart[0], restart[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("restart dockerd (%s): %v: %s", strings.Join(restart, " "), err, out)
	}
	for c.Ping(ctx) != nil {
		if ctx.Err() != nil {
			t.Fatal("dockerd did not come back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	running := func(id string) bool {
		in, err := c.api.ContainerInspect(ctx, id)
		return err == nil && in.State != nil && in.State.Running
	}
	for !running(rental) || !running(plain) {
		if ctx.Err() != nil {
			t.Fatal("the containers did not come back after the restart")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("dockerd restarted, containers running again, in %v", time.Since(start).Round(time.Millisecond))
	if err := c.CheckIsolation(ctx); err != nil {
		t.Errorf("CheckIsolation after a dockerd restart: %v", err)
	}
	if !containerGets(t, c, plain, h.private, h.port) {
		t.Error("after the restart the default bridge cannot reach the LAN host; the probe proves nothing")
	}
	for _, tg := range h.targets {
		if containerGets(t, c, rental, tg.addr, h.port) {
			t.Errorf("after a dockerd restart the rental reached the %s at %s", tg.name, tg.addr)
		}
	}
}

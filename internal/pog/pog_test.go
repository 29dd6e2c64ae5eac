package pog

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestMerkleEverySizeAndIndex(t *testing.T) {
	for size := 1; size <= 37; size++ {
		leaves := make([]Hash, size)
		for i := range leaves {
			leaves[i] = Leaf(uint64(i), []byte{byte(i), byte(size)})
		}
		tr, err := NewTree(leaves)
		if err != nil {
			t.Fatal(err)
		}
		for i := range size {
			p, err := tr.Path(i)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyPath(tr.Root(), size, i, leaves[i], p); err != nil {
				t.Fatalf("size %d leaf %d: %v", size, i, err)
			}
			if size > 1 {
				// The same leaf claimed at another index, a changed leaf, a
				// changed path, a short path: all refused.
				if err := VerifyPath(tr.Root(), size, (i+1)%size, leaves[i], p); err == nil {
					t.Fatalf("size %d: leaf %d verified at index %d", size, i, (i+1)%size)
				}
				bad := leaves[i]
				bad[0] ^= 1
				if VerifyPath(tr.Root(), size, i, bad, p) == nil {
					t.Fatal("changed leaf verified")
				}
				q := append([]Hash(nil), p...)
				q[len(q)-1][5] ^= 1
				if VerifyPath(tr.Root(), size, i, leaves[i], q) == nil {
					t.Fatal("changed path verified")
				}
				if VerifyPath(tr.Root(), size, i, leaves[i], p[:len(p)-1]) == nil {
					t.Fatal("short path verified")
				}
			}
		}
	}
	if _, err := NewTree(nil); err == nil {
		t.Fatal("empty tree built")
	}
}

func TestNewTreeParallelSameRoot(t *testing.T) {
	for _, n := range []int{1, 4095, 8193, 50001} {
		leaves := make([]Hash, n)
		for i := range leaves {
			leaves[i] = Leaf(uint64(i), nil)
		}
		a, _ := NewTree(leaves)
		b, _ := NewTreeParallel(leaves, 7)
		if a.Root() != b.Root() {
			t.Fatalf("%d leaves: roots differ", n)
		}
		pa, _ := a.Path(n - 1)
		if VerifyPath(b.Root(), n, n-1, leaves[n-1], pa) != nil {
			t.Fatalf("%d leaves: path does not verify", n)
		}
	}
}

func TestElemExactAndSpread(t *testing.T) {
	var sum, sq float64
	const n = 1 << 14
	for i := range uint32(n) {
		v := Elem(42, i, i*7)
		if v < -1 || v >= 1 {
			t.Fatalf("Elem = %v out of [-1,1)", v)
		}
		if f := float64(v) * (1 << 23); f != math.Trunc(f) {
			t.Fatalf("Elem = %v is not a multiple of 2^-23", v)
		}
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	if mean, vr := sum/n, sq/n; math.Abs(mean) > 0.03 || math.Abs(vr-1.0/3) > 0.02 {
		t.Fatalf("mean %v variance %v, want about 0 and 1/3", mean, vr)
	}
	if Elem(1, 2, 3) == Elem(2, 2, 3) || Elem(1, 2, 3) == Elem(1, 3, 2) {
		t.Fatal("seeds or positions do not change elements")
	}
	// Pinned values: the OpenCL kernel is tested against these functions,
	// and these pins keep the functions themselves from drifting.
	if got := Mix(0x0123456789abcdef); got != 0xb2c058e4ebb5112c {
		t.Fatalf("Mix = %#x", got)
	}
}

// product computes row i of A·B in float32 as a device would.
func product(sa, sb uint64, n, i int) []float32 {
	row := make([]float32, n)
	for k := range n {
		a := Elem(sa, uint32(i), uint32(k))
		for j := range n {
			row[j] += a * Elem(sb, uint32(k), uint32(j))
		}
	}
	return row
}

func TestCheckRow(t *testing.T) {
	const n, sa, sb = 96, 11, 22
	rows := make([][]byte, n)
	leaves := make([]Hash, n)
	for i := range n {
		rows[i] = RowBytes(product(sa, sb, n, i))
		leaves[i] = RowLeaf(i, rows[i])
	}
	tr, _ := NewTree(leaves)
	all := make([]int, n)
	for j := range all {
		all[j] = j
	}
	p, _ := tr.Path(5)
	if err := CheckRow(tr.Root(), n, 5, rows[5], p, sa, sb, all); err != nil {
		t.Fatalf("honest row: %v", err)
	}
	// Wrong seeds, a wrong value behind a right root, a truncated row.
	if err := CheckRow(tr.Root(), n, 5, rows[5], p, sa, sb+1, all); err == nil || !strings.Contains(err.Error(), "recomputed") {
		t.Fatalf("other seed: %v", err)
	}
	bad := append([]byte(nil), rows[5]...)
	bad[40] ^= 0x40
	if err := CheckRow(tr.Root(), n, 5, bad, p, sa, sb, all); err == nil || !strings.Contains(err.Error(), "merkle") {
		t.Fatalf("changed row: %v", err)
	}
	if err := CheckRow(tr.Root(), n, 5, rows[5][:8], p, sa, sb, all); err == nil {
		t.Fatal("short row accepted")
	}
	if err := CheckRow(tr.Root(), n, 5, rows[5], p, sa, sb, []int{n}); err == nil {
		t.Fatal("column out of range accepted")
	}
}

func TestCheckChunk(t *testing.T) {
	const chunks, words, rounds, fs, ps = 20, 64, 3, 7, 9
	dig := make([]uint64, chunks)
	leaves := make([]Hash, chunks)
	for c := range chunks {
		dig[c] = ChunkDigest(ps, uint64(c), ChunkWords(fs, rounds, uint64(c), words, nil))
		leaves[c] = ChunkLeaf(c, dig[c])
	}
	tr, _ := NewTree(leaves)
	p, _ := tr.Path(13)
	if err := CheckChunk(tr.Root(), chunks, 13, dig[13], p, fs, rounds, words, ps, nil); err != nil {
		t.Fatal(err)
	}
	if CheckChunk(tr.Root(), chunks, 13, dig[13], p, fs, rounds-1, words, ps, nil) == nil {
		t.Fatal("digest of fewer rounds accepted")
	}
	if CheckChunk(tr.Root(), chunks, 13, dig[13]^1, p, fs, rounds, words, ps, nil) == nil {
		t.Fatal("wrong digest accepted")
	}
	if CheckChunk(tr.Root(), chunks, 12, dig[13], p, fs, rounds, words, ps, nil) == nil {
		t.Fatal("digest at another index accepted")
	}
}

func TestDefaultTable(t *testing.T) {
	tb := DefaultTable()
	if tb.Version < 1 || len(tb.Usable(false)) == 0 || len(tb.Usable(true)) != len(tb.Models) {
		t.Fatalf("table %+v", tb)
	}
	for _, m := range tb.Usable(false) {
		if m.TestOnly || m.Type != "gpu" {
			t.Fatalf("%s usable without test models", m.Name)
		}
	}
	names := map[string]bool{}
	for _, m := range tb.Models {
		if names[m.Name] {
			t.Fatalf("%s twice", m.Name)
		}
		names[m.Name] = true
	}
}

func TestClaimedAndIdentify(t *testing.T) {
	ms := DefaultTable().Usable(false)
	h100, ok := Claimed(ms, "NVIDIA H100 80GB HBM3")
	if !ok || h100.Name != "NVIDIA H100 80GB HBM3" {
		t.Fatalf("claimed H100 → %q", h100.Name)
	}
	if m, ok := Claimed(ms, "NVIDIA GeForce RTX 4090"); !ok || m.Name != "NVIDIA RTX 4090" {
		t.Fatalf("4090 → %q %v", m.Name, ok)
	}
	if _, ok := Claimed(ms, "NVIDIA B200"); ok {
		t.Fatal("an unknown model matched")
	}
	gib := func(g float64) uint64 { return uint64(g * (1 << 30)) }
	for _, tc := range []struct {
		name    string
		m       Measured
		claimed string
		want    string
	}{
		{"h100 as claimed", Measured{"gpu", "NVIDIA H100 80GB HBM3", gib(79.1), 30000, 2000}, "NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"},
		{"a 4090 claiming an H100", Measured{"gpu", "NVIDIA H100 80GB HBM3", gib(23.6), 60000, 900}, "NVIDIA H100 80GB HBM3", "NVIDIA RTX 4090"},
		{"too slow for any 80 GB model", Measured{"gpu", "NVIDIA H100 80GB HBM3", gib(79.1), 500, 2000}, "NVIDIA H100 80GB HBM3", Unknown},
		{"a CPU is never a GPU", Measured{"cpu", "NVIDIA H100 80GB HBM3", gib(79.1), 30000, 2000}, "NVIDIA H100 80GB HBM3", Unknown},
		{"no VRAM band", Measured{"gpu", "x", gib(200), 30000, 2000}, "", Unknown},
		{"tie settled by the device name", Measured{"gpu", "NVIDIA A100-SXM4-80GB", gib(79.1), 12000, 1500}, "", "NVIDIA A100-SXM4-80GB"},
	} {
		got, _ := Identify(ms, tc.m, tc.claimed)
		if got.Name != tc.want {
			t.Errorf("%s: identified %q, want %q", tc.name, got.Name, tc.want)
		}
	}
}

func TestPlanFor(t *testing.T) {
	h100, _ := Claimed(DefaultTable().Models, "NVIDIA H100 80GB HBM3")
	p, err := PlanFor(h100, 80<<30, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if p.N%32 != 0 || p.N < 20000 || 12*float64(p.N)*float64(p.N) > 0.3*float64(80<<30) {
		t.Fatalf("n = %d", p.N)
	}
	if got := float64(p.Bytes()) / float64(80<<30); got < MemShare-0.001 || got > MemShare {
		t.Fatalf("fills %.3f of the claim", got)
	}
	if p.PassDeadline <= 0 || p.PassDeadline > 2*time.Second || p.WorkDeadline < 2*time.Second {
		t.Fatalf("deadlines work %v pass %v", p.WorkDeadline, p.PassDeadline)
	}
	if _, err := PlanFor(h100, 100, 0); err == nil {
		t.Fatal("a 100-byte claim planned")
	}
}

func TestVerdictSigningBytesIgnoreSignature(t *testing.T) {
	v := Verdict{Version: 1, Hotkey: "5F", Validator: "5G", Block: 9, Passed: true, Model: "m", GPUs: 2,
		Devices: []DeviceVerdict{{N: 64, WorkRoot: Hash{1}}}}
	a, _ := v.SigningBytes()
	v.Signature = "abcd"
	b, _ := v.SigningBytes()
	if string(a) != string(b) || !strings.HasPrefix(string(a), signingPrefix) {
		t.Fatal("signature changes the signed bytes")
	}
	// A decoded and re-encoded verdict signs the same bytes.
	js, _ := json.Marshal(v)
	var w Verdict
	if err := json.Unmarshal(js, &w); err != nil {
		t.Fatal(err)
	}
	c, _ := w.SigningBytes()
	if string(c) != string(a) {
		t.Fatalf("round trip changed the signed bytes:\n%s\n%s", a, c)
	}
	if Credit(v, []Model{{Name: "m", Score: 2}}) != 4 || Credit(Verdict{Model: "m", GPUs: 2}, []Model{{Name: "m", Score: 2}}) != 0 {
		t.Fatal("credit")
	}
	if Credit(Verdict{Passed: true, Model: "m", GPUs: 12}, []Model{{Name: "m", Score: 1}}) != 8 {
		t.Fatal("credit is not capped at 8 GPUs")
	}
}

func FuzzParseTable(f *testing.F) {
	f.Add(modelsJSON)
	f.Add([]byte(`{"version":1,"models":[{"name":"x","match":["x"],"type":"gpu","vram_gib":[1,2],"fp32_gflops":[1,2],"mem_gbps":[1,2],"expect_gflops":1,"rounds":1,"words":64}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := ParseTable(b)
		if err != nil {
			return
		}
		for _, m := range tb.Models {
			if _, err := PlanFor(m, 1<<30, time.Millisecond); err != nil && !strings.Contains(err.Error(), "chunks") {
				t.Fatalf("a table that parsed cannot plan: %v", err)
			}
		}
	})
}

func FuzzVerifyPath(f *testing.F) {
	f.Add(5, 3, []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, size, i int, junk []byte) {
		var path []Hash
		for len(junk) >= 32 {
			var h Hash
			copy(h[:], junk)
			path = append(path, h)
			junk = junk[32:]
		}
		if size > 1<<20 {
			size = 1 << 20
		}
		_ = VerifyPath(Hash{}, size, i, Hash{}, path)
	})
}

func FuzzResponse(f *testing.F) {
	f.Add([]byte(`{"results":[{"device":0,"root":"` + strings.Repeat("ab", 32) + `"}]}`))
	f.Add([]byte(`{"opened":[{"device":0,"items":[{"index":1,"row":"AAAA","path":["` + strings.Repeat("00", 32) + `"]}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Response
		if json.Unmarshal(b, &r) != nil {
			return
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}

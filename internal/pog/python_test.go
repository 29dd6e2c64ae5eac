package pog

import (
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
)

// TestMerkleAgainstPython: Python's hashlib, following the leaf and node
// format docs/proof-of-gpu.md gives, builds the same roots (every tree size
// from 1 to 13, odd levels carried up) as NewTree.
func TestMerkleAgainstPython(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python3; skipped with -short")
	}
	const script = `
import hashlib, struct, sys
def leaf(i, p): return hashlib.sha256(b"\x00" + struct.pack("<Q", i) + p).digest()
def node(l, r): return hashlib.sha256(b"\x01" + l + r).digest()
for size in range(1, 14):
    level = [leaf(i, bytes([i, size]) * 3) for i in range(size)]
    while len(level) > 1:
        level = [node(level[k], level[k+1]) if k + 1 < len(level) else level[k] for k in range(0, len(level), 2)]
    print(level[0].hex())
`
	out, err := exec.Command("python3", "-c", script).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 13 {
		t.Fatalf("python printed %d roots", len(lines))
	}
	for size := 1; size <= 13; size++ {
		leaves := make([]Hash, size)
		for i := range leaves {
			p := []byte{byte(i), byte(size), byte(i), byte(size), byte(i), byte(size)}
			leaves[i] = Leaf(uint64(i), p)
		}
		tr, _ := NewTree(leaves)
		if r := tr.Root(); hex.EncodeToString(r[:]) != lines[size-1] {
			t.Errorf("size %d: root %x, python %s", size, r, lines[size-1])
		}
	}
}

package pog

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Hash is a SHA-256 digest.
type Hash [32]byte

// Leaf hashes leaf i's payload: sha256(0x00 ‖ i as 8 bytes LE ‖ payload).
// The index is part of the leaf, so a row cannot be opened at another place.
func Leaf(i uint64, payload []byte) Hash {
	h := sha256.New()
	var pre [9]byte
	binary.LittleEndian.PutUint64(pre[1:], i)
	h.Write(pre[:])
	h.Write(payload)
	var out Hash
	h.Sum(out[:0])
	return out
}

// node hashes two children: sha256(0x01 ‖ left ‖ right).
func node(l, r Hash) Hash {
	var b [65]byte
	b[0] = 1
	copy(b[1:], l[:])
	copy(b[33:], r[:])
	return sha256.Sum256(b[:])
}

// Tree is a Merkle tree over leaf hashes. A level of odd length carries its
// last node up unchanged.
type Tree struct {
	levels [][]Hash // levels[0] = leaves; last = [root]
}

// NewTree builds the tree over leaves (at least one).
func NewTree(leaves []Hash) (*Tree, error) { return NewTreeParallel(leaves, 1) }

// NewTreeParallel builds the same tree as NewTree with up to workers
// goroutines per level (the prover's trees have a million leaves and a
// deadline).
func NewTreeParallel(leaves []Hash, workers int) (*Tree, error) {
	if len(leaves) == 0 {
		return nil, errors.New("merkle tree of no leaves")
	}
	t := &Tree{levels: [][]Hash{leaves}}
	for cur := leaves; len(cur) > 1; {
		next := make([]Hash, (len(cur)+1)/2)
		level := func(lo, hi int) {
			for i := lo; i < hi; i++ {
				if 2*i+1 < len(cur) {
					next[i] = node(cur[2*i], cur[2*i+1])
				} else {
					next[i] = cur[2*i]
				}
			}
		}
		if w := min(workers, len(next)/4096); w > 1 {
			var wg sync.WaitGroup
			for g := range w {
				wg.Go(func() { level(g*len(next)/w, (g+1)*len(next)/w) })
			}
			wg.Wait()
		} else {
			level(0, len(next))
		}
		t.levels = append(t.levels, next)
		cur = next
	}
	return t, nil
}

// Root is the tree's root.
func (t *Tree) Root() Hash { return t.levels[len(t.levels)-1][0] }

// Size is the number of leaves.
func (t *Tree) Size() int { return len(t.levels[0]) }

// Path returns leaf i's siblings from the bottom up (levels where the node
// was carried up contribute none).
func (t *Tree) Path(i int) ([]Hash, error) {
	if i < 0 || i >= t.Size() {
		return nil, fmt.Errorf("merkle path: leaf %d of %d", i, t.Size())
	}
	var path []Hash
	for _, lv := range t.levels[:len(t.levels)-1] {
		sib := i ^ 1
		if sib < len(lv) {
			path = append(path, lv[sib])
		}
		i /= 2
	}
	return path, nil
}

// VerifyPath checks that leaf is at index i of a tree of size leaves with
// the given root.
func VerifyPath(root Hash, size, i int, leaf Hash, path []Hash) error {
	if size <= 0 || i < 0 || i >= size {
		return fmt.Errorf("merkle: leaf %d of a tree of %d", i, size)
	}
	h, used := leaf, 0
	for n := size; n > 1; n = (n + 1) / 2 {
		sib := i ^ 1
		if sib < n {
			if used >= len(path) {
				return fmt.Errorf("merkle: path of leaf %d too short (%d hashes)", i, len(path))
			}
			if i&1 == 0 {
				h = node(h, path[used])
			} else {
				h = node(path[used], h)
			}
			used++
		}
		i /= 2
	}
	if used != len(path) {
		return fmt.Errorf("merkle: path of %d hashes, %d expected", len(path), used)
	}
	if h != root {
		return errors.New("merkle: path does not lead to the committed root")
	}
	return nil
}

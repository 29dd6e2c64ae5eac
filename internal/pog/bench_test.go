package pog

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkVerifyGPU is the validator's CPU cost for one GPU of the
// claimed model at the plan's sizes: MinOpenings rows of C opened, 8
// elements of each recomputed (plus its leaf and path), and MinOpenings
// memory chunks made again and checked. One op = one GPU verified.
func BenchmarkVerifyGPU(b *testing.B) {
	for _, name := range []string{"NVIDIA H100 80GB HBM3", "NVIDIA RTX 4090"} {
		m, _ := Claimed(DefaultTable().Models, name)
		p, err := PlanFor(m, uint64(m.VRAMGiB[0]*(1<<30)), 50*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			const sa, sb, fs, ps = 1, 2, 3, 4
			rnd := rand.New(rand.NewPCG(1, 2))
			n := p.N
			// A tree of n rows in which the opened rows hold the right values
			// at the checked columns (the rest of C is never looked at).
			rows := rnd.Perm(n)[:MinOpenings]
			cols := make([][]int, len(rows))
			payload := map[int][]byte{}
			leaves := make([]Hash, n)
			for i := range leaves {
				leaves[i] = Leaf(uint64(i), []byte{byte(i)})
			}
			for r, i := range rows {
				cols[r] = rnd.Perm(n)[:8]
				row := make([]byte, 4*n)
				for _, j := range cols[r] {
					var ref float64
					for k := range n {
						ref += float64(Elem(sa, uint32(i), uint32(k))) * float64(Elem(sb, uint32(k), uint32(j)))
					}
					binary.LittleEndian.PutUint32(row[4*j:], math.Float32bits(float32(ref)))
				}
				payload[i] = row
				leaves[i] = RowLeaf(i, row)
			}
			tr, _ := NewTree(leaves)
			chunkIdx := rnd.Perm(p.Chunks)[:MinOpenings]
			dig := map[int]uint64{}
			cleaves := make([]Hash, p.Chunks)
			for c := range cleaves {
				cleaves[c] = Leaf(uint64(c), nil)
			}
			for _, c := range chunkIdx {
				dig[c] = ChunkDigest(ps, uint64(c), ChunkWords(fs, p.Rounds, uint64(c), p.Words, nil))
				cleaves[c] = ChunkLeaf(c, dig[c])
			}
			ctr, _ := NewTree(cleaves)
			b.ReportMetric(float64(n), "n")
			b.ResetTimer()
			for b.Loop() {
				for r, i := range rows {
					path, _ := tr.Path(i)
					if err := CheckRow(tr.Root(), n, i, payload[i], path, sa, sb, cols[r]); err != nil {
						b.Fatal(err)
					}
				}
				buf := make([]uint64, 0, p.Words)
				for _, c := range chunkIdx {
					path, _ := ctr.Path(c)
					if err := CheckChunk(ctr.Root(), p.Chunks, c, dig[c], path, fs, p.Rounds, p.Words, ps, buf); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

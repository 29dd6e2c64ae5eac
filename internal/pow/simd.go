package pow

import (
	"encoding/binary"
	"unsafe"
)

// Layout of the state the generated kernels read: slots of 8 uint64 lanes
// (64 bytes), each one constant replicated. Keep in step with asm/main.go.
const (
	slotInit   = 0  // 16 slots: v0..v15 before round 1 (v0 = h0+h4, columns 1-3 done)
	slotM      = 16 // 16 slots: message words (word 0 is per lane)
	slotBase0  = 32 // word-0 bits of the positions outside the table
	slotH0     = 33
	slotTarget = 34
	slotRot24  = 35 // VPSHUFB masks (AVX2)
	slotRot16  = 36
	slotCount  = 37
)

// Table sizes: the first mask positions are enumerated into a table of at
// least minTable entries where the charsets allow, at most maxTable.
const (
	minTable = 4096
	maxTable = 1 << 16
)

// simdState is the 64-byte aligned state of a generated kernel, followed by
// the kernel's scratch memory.
type simdState struct {
	buf  []uint64
	slot *[slotCount * 8]uint64
}

func newSIMDState() simdState {
	buf := make([]uint64, slotCount*8+scratchBytes/8+8)
	off := 0
	for uintptr(unsafe.Pointer(&buf[off]))%64 != 0 {
		off++
	}
	return simdState{buf: buf, slot: (*[slotCount * 8]uint64)(buf[off:])}
}

func (s *simdState) set(slot int, v uint64) {
	for i := 0; i < 8; i++ {
		s.slot[slot*8+i] = v
	}
}

// rotMask returns VPSHUFB indices that rotate each 64-bit lane right by
// 8*bytes bits.
func rotMask(bytes int) uint64 {
	var b [8]byte
	for i := range b {
		b[i] = byte((i + bytes) % 8)
	}
	return binary.LittleEndian.Uint64(b[:])
}

// simdScan is the part of a scanner that drives a generated kernel.
type simdScan struct {
	st     simdState
	search func(st, tab *uint64, n int) int
	group  int      // candidates per kernel group
	tab    []uint64 // word-0 bits of the first k positions, position 0 fastest
	k      int      // positions in the table
	w0, w1 uint64   // message words 0 and 1 with the password bytes zeroed
	pend   []uint64 // candidates (full word 0) waiting for a group
	pendM1 uint64   // their word 1
}

// initSIMD prepares the generated kernel; it returns false when no kernel
// applies (the caller then uses the scalar path).
func (sc *scanner) initSIMD() bool {
	words := (len(sc.buf) + 7) / 8
	search, group := searchFunc(sc.kernel, words)
	if search == nil {
		return false
	}
	s := &sc.simd
	s.search, s.group = search, group
	s.st = newSIMDState()
	k := &sc.k
	init := [16]uint64{
		k.h[0] + k.h[4], k.pre[0], k.pre[4], k.pre[8],
		k.h[4], k.pre[1], k.pre[5], k.pre[9],
		iv[0], k.pre[2], k.pre[6], k.pre[10],
		iv[4] ^ k.t0, k.pre[3], k.pre[7], k.pre[11],
	}
	for i, v := range init {
		s.st.set(slotInit+i, v)
	}
	for i, v := range k.m {
		s.st.set(slotM+i, v)
	}
	s.st.set(slotH0, k.h[0])
	s.st.set(slotTarget, k.target0)
	for i := 0; i < 8; i++ { // VPSHUFB indexes bytes of a 128-bit lane
		s.st.slot[slotRot24*8+i] = rotMask(3) + uint64(i%2)*0x0808080808080808
		s.st.slot[slotRot16*8+i] = rotMask(2) + uint64(i%2)*0x0808080808080808
	}
	d := len(sc.t.Positions)
	w := firstWords(sc.buf)
	for i := 0; i < d; i++ {
		w[i/8] &^= 0xff << (8 * (i % 8))
	}
	s.w0, s.w1 = w[0], w[1]
	// Table of the first k positions (all in word 0).
	size := 1
	for s.k < min(d, 8) && size < minTable && size*sc.base[s.k] <= maxTable {
		size *= sc.base[s.k]
		s.k++
	}
	s.tab = make([]uint64, size)
	for i := range s.tab {
		var v uint64
		rest := i
		for p := 0; p < s.k; p++ {
			v |= uint64(sc.t.Positions[p][rest%sc.base[p]]) << (8 * p)
			rest /= sc.base[p]
		}
		s.tab[i] = v
	}
	s.pend = make([]uint64, 0, group)
	return true
}

// rowWords returns words 0 (without the table's positions) and 1 of the
// candidates of table row row.
func (sc *scanner) rowWords(row uint64) (uint64, uint64) {
	w := [2]uint64{sc.simd.w0, sc.simd.w1}
	for p := sc.simd.k; p < len(sc.base); p++ {
		b := uint64(sc.base[p])
		w[p/8] |= uint64(sc.t.Positions[p][row%b]) << (8 * (p % 8))
		row /= b
	}
	return w[0], w[1]
}

// scanSIMD hashes candidates start .. start+n-1 with the generated kernel.
func (sc *scanner) scanSIMD(start, n uint64) (string, bool) {
	s := &sc.simd
	size := uint64(len(s.tab))
	end := start + n
	for idx := start; idx < end; {
		row, off := idx/size, idx%size
		cnt := min(size-off, end-idx)
		base0, m1 := sc.rowWords(row)
		full := cnt / uint64(s.group) * uint64(s.group)
		if full > 0 {
			if pw, ok := sc.searchRow(off, full, base0, m1); ok {
				return pw, true
			}
		}
		for i := off + full; i < off+cnt; i++ { // the row's tail waits for a group
			if len(s.pend) > 0 && m1 != s.pendM1 {
				if pw, ok := sc.flushPending(); ok {
					return pw, true
				}
			}
			s.pend = append(s.pend, s.tab[i]|base0)
			s.pendM1 = m1
			if len(s.pend) == s.group {
				if pw, ok := sc.flushPending(); ok {
					return pw, true
				}
			}
		}
		idx += cnt
	}
	return sc.flushPending()
}

// searchRow runs the kernel over table entries off .. off+cnt-1 (cnt a
// multiple of the group) with the row's base0 and word 1.
func (sc *scanner) searchRow(off, cnt, base0, m1 uint64) (string, bool) {
	s := &sc.simd
	s.st.set(slotBase0, base0)
	s.st.set(slotM+1, m1)
	g := uint64(s.group)
	for cnt > 0 {
		i := s.search(&s.st.slot[0], &s.tab[off], int(cnt))
		if i < 0 {
			return "", false
		}
		for l := uint64(i); l < uint64(i)+g; l++ {
			if pw, ok := sc.confirm(s.tab[off+l]|base0, m1); ok {
				return pw, true
			}
		}
		off += uint64(i) + g
		cnt -= uint64(i) + g
	}
	return "", false
}

// flushPending hashes the waiting candidates, padding the group with
// repeats of the first.
func (sc *scanner) flushPending() (string, bool) {
	s := &sc.simd
	if len(s.pend) == 0 {
		return "", false
	}
	for len(s.pend) < s.group {
		s.pend = append(s.pend, s.pend[0])
	}
	s.st.set(slotBase0, 0)
	s.st.set(slotM+1, s.pendM1)
	i := s.search(&s.st.slot[0], &s.pend[0], s.group)
	var pw string
	ok := false
	if i >= 0 {
		for _, m0 := range s.pend {
			if pw, ok = sc.confirm(m0, s.pendM1); ok {
				break
			}
		}
	}
	s.pend = s.pend[:0]
	return pw, ok
}

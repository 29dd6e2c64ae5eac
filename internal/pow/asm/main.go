// Command asm generates the SIMD mask-search kernels of package pow with avo
// (github.com/mmcloughlin/avo): kernel_amd64.s and its Go declarations.
//
// Every kernel hashes many candidates at once, one per 64-bit lane: 8 per
// ZMM register with AVX-512, 4 per YMM register with AVX2, and several such
// batches interleaved so the four independent G functions of a BLAKE2b round
// are not the only parallelism the CPU sees. Per candidate it computes only
// word 0 of the BLAKE2b-512 digest of one final block and compares it with
// the target; the Go side confirms a hit with a full hash.
//
// The work is described once as a small in-place vector IR (add, xor, or,
// rotate) and compiled: dead code is removed (the last round needs only what
// output word 0 needs), adds of message words known to be zero are never
// emitted (one variant per number of non-zero words), and a register
// allocator that spills the value used farthest in the future maps the IR
// onto 32 ZMM or 16 YMM registers, using memory operands where it can.
//
// Candidate generation stays in registers and L1: word 0 of a candidate is a
// table entry (the first mask positions, built once per challenge) ORed with
// the row's base (the other positions of word 0); word 1 is constant in a
// row.
//
// Run with `go generate ./internal/pow`.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Layout of the state the kernels read (pow.simdState): slots of 64 bytes,
// each a constant replicated in 8 lanes (AVX2 reads the first 4). Keep in
// step with kernel_amd64.go.
const (
	slotInit   = 0  // 16 slots: v0..v15 before round 1 (v0 = h0+h4, columns 1-3 done)
	slotM      = 16 // 16 slots: message words (word 0 unused: it is per lane)
	slotBase0  = 32 // bits of word 0 from the positions outside the table
	slotH0     = 33
	slotTarget = 34
	slotRot24  = 35 // VPSHUFB masks for AVX2 rotations
	slotRot16  = 36
	slotCount  = 37
)

var sigma = [12][16]int{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
}

// isa describes one instruction set the kernels are generated for.
type isa struct {
	name    string // AVX512 or AVX2
	lanes   int    // 64-bit lanes per register
	regs    []VecPhysical
	batches int // register-sized batches hashed together
}

func main() {
	ConstraintExpr("amd64")
	zmm := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
	ymm := []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}
	isas := []isa{
		{name: "AVX512", lanes: 8, regs: zmm, batches: 2},
		{name: "AVX2", lanes: 4, regs: ymm, batches: 1},
	}
	for _, s := range isas {
		for _, words := range []int{3, 4, 16} {
			kernel(s, words)
		}
	}
	Generate()
}

// kernel emits search<ISA>W<words>: words is how many leading message words
// may be non-zero (the rest are padding and never added).
func kernel(s isa, words int) {
	group := s.lanes * s.batches
	name := fmt.Sprintf("search%sW%d", s.name, words)
	TEXT(name, 0, "func(st *uint64, tab *uint64, n int) int")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s hashes the candidates tab[i] | base0 for 0 <= i < n (n a multiple", name),
		fmt.Sprintf("of %d) and returns the first i of the group of %d holding a candidate whose", group, group),
		"digest word 0 equals the target, or -1. Message words past the first "+fmt.Sprint(words)+" must be zero.",
	)
	prog := program(s, words)
	prog = eliminateDead(prog)
	code, spills := allocate(prog, len(s.regs))

	vecBytes := 8 * s.lanes
	// Locals: per-batch word 0 vectors and spill slots, aligned to 64 bytes.
	local := AllocLocal(64 + vecBytes*(s.batches+spills))
	st := Load(Param("st"), RAX)
	tab := Load(Param("tab"), RBX)
	n := Load(Param("n"), RCX)
	XORQ(RDX, RDX) // i
	LEAQ(local, R8)
	ADDQ(Imm(63), R8)
	ANDQ(I32(-64), R8)

	e := emitter{s: s, st: st.(GPPhysical), frame: R8, code: code}
	Label(name + "_loop")
	CMPQ(RDX, n)
	JAE(LabelRef(name + "_none"))
	Comment("word 0 of each lane: table entry | base0")
	tmp := s.regs[0]
	for b := 0; b < s.batches; b++ {
		e.mov(Mem{Base: tab, Index: RDX, Scale: 8, Disp: b * vecBytes}, tmp)
		e.or(e.slot(slotBase0), tmp)
		e.mov(tmp, e.m0(b))
	}
	e.run()
	Comment("any lane hit?")
	if s.name == "AVX512" {
		KORTESTW(K1, K1)
	} else {
		TESTQ(R10, R10)
	}
	JNZ(LabelRef(name + "_hit"))
	ADDQ(U32(group), RDX)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_hit")
	Store(RDX, ReturnIndex(0))
	VZEROUPPER()
	RET()
	Label(name + "_none")
	MOVQ(I32(-1), RDX)
	Store(RDX, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// Operand kinds of the IR.
const (
	srcVar   = iota // a variable
	srcConst        // a slot of the state
	srcM0           // word 0 of a batch (frame)
)

type src struct {
	kind, n int
}

// Operations of the IR. All but opSRL and opCmp update dst in place.
const (
	opAdd  = iota // dst += src
	opXor         // dst ^= src
	opOr          // dst |= src
	opRor         // dst = dst >>> imm (AVX-512)
	opShuf        // dst = VPSHUFD imm of dst (AVX2 rotate by 32)
	opPshb        // dst = VPSHUFB src of dst (AVX2 rotate by 24, 16)
	opSRL         // dst = src >> imm (defines dst)
	opCmp         // lane mask of dst == target into the hit flags; dst dies
)

type ins struct {
	op, dst int
	s       src
	imm     int
}

// program returns the IR of one group: for each batch b, variable 16*b+i is
// v[i]; temporaries follow.
func program(s isa, words int) []ins {
	var p []ins
	nvars := 16 * s.batches
	temp := func() int { nvars++; return nvars - 1 }
	v := func(b, i int) int { return 16*b + i }
	// State variables start as constants (the allocator loads them on first
	// use); an initial "definition" is implicit.
	msg := func(b, x int) (src, bool) {
		switch {
		case x == 0:
			return src{srcM0, b}, true
		case x < words:
			return src{srcConst, slotM + x}, true
		}
		return src{}, false
	}
	ror := func(b, x, n int) {
		if s.name == "AVX512" {
			p = append(p, ins{op: opRor, dst: v(b, x), imm: n})
			return
		}
		switch n {
		case 32:
			p = append(p, ins{op: opShuf, dst: v(b, x), imm: 0xb1})
		case 24:
			p = append(p, ins{op: opPshb, dst: v(b, x), s: src{srcConst, slotRot24}})
		case 16:
			p = append(p, ins{op: opPshb, dst: v(b, x), s: src{srcConst, slotRot16}})
		case 63:
			t := temp()
			p = append(p,
				ins{op: opSRL, dst: t, s: src{srcVar, v(b, x)}, imm: 63},
				ins{op: opAdd, dst: v(b, x), s: src{srcVar, v(b, x)}},
				ins{op: opOr, dst: v(b, x), s: src{srcVar, t}},
			)
		}
	}
	// g emits the steps of G(a, b, c, d, m[x], m[y]) for every batch; step
	// k of all four G functions of a half round is emitted together.
	type gfn struct{ a, b, c, d, x, y int }
	half := func(gs []gfn, first bool) { // first: round 1's columns
		for step := 0; step < 4; step++ {
			for _, g := range gs {
				for bt := 0; bt < s.batches; bt++ {
					switch step {
					case 0, 2:
						x := g.x
						if step == 2 {
							x = g.y
						}
						if m, ok := msg(bt, x); ok {
							p = append(p, ins{op: opAdd, dst: v(bt, g.a), s: m})
						}
						if !(first && step == 0 && g.a == 0) { // v0 = h0+h4 already
							p = append(p, ins{op: opAdd, dst: v(bt, g.a), s: src{srcVar, v(bt, g.b)}})
						}
						p = append(p, ins{op: opXor, dst: v(bt, g.d), s: src{srcVar, v(bt, g.a)}})
						ror(bt, g.d, map[int]int{0: 32, 2: 16}[step])
					case 1, 3:
						p = append(p, ins{op: opAdd, dst: v(bt, g.c), s: src{srcVar, v(bt, g.d)}})
						p = append(p, ins{op: opXor, dst: v(bt, g.b), s: src{srcVar, v(bt, g.c)}})
						ror(bt, g.b, map[int]int{1: 24, 3: 63}[step])
					}
				}
			}
		}
	}
	for r := 0; r < 12; r++ {
		sg := sigma[r]
		cols := []gfn{{0, 4, 8, 12, sg[0], sg[1]}}
		if r > 0 { // round 1's other columns do not depend on the candidate
			cols = append(cols, gfn{1, 5, 9, 13, sg[2], sg[3]}, gfn{2, 6, 10, 14, sg[4], sg[5]}, gfn{3, 7, 11, 15, sg[6], sg[7]})
		}
		half(cols, r == 0)
		half([]gfn{
			{0, 5, 10, 15, sg[8], sg[9]}, {1, 6, 11, 12, sg[10], sg[11]},
			{2, 7, 8, 13, sg[12], sg[13]}, {3, 4, 9, 14, sg[14], sg[15]},
		}, false)
	}
	for b := 0; b < s.batches; b++ {
		p = append(p,
			ins{op: opXor, dst: v(b, 0), s: src{srcVar, v(b, 8)}},
			ins{op: opXor, dst: v(b, 0), s: src{srcConst, slotH0}},
			ins{op: opCmp, dst: v(b, 0), imm: b},
		)
	}
	return p
}

// reads returns the variables ins reads.
func (in ins) reads() []int {
	var r []int
	if in.op != opSRL {
		r = append(r, in.dst)
	}
	if in.s.kind == srcVar {
		r = append(r, in.s.n)
	}
	return r
}

// eliminateDead drops instructions whose result nothing reads.
func eliminateDead(p []ins) []ins {
	live := map[int]bool{}
	keep := make([]bool, len(p))
	for i := len(p) - 1; i >= 0; i-- {
		in := p[i]
		if in.op != opCmp && !live[in.dst] {
			continue
		}
		keep[i] = true
		if in.op == opSRL || in.op == opCmp {
			delete(live, in.dst)
		}
		for _, r := range in.reads() {
			live[r] = true
		}
	}
	var out []ins
	for i, in := range p {
		if keep[i] {
			out = append(out, in)
		}
	}
	return out
}

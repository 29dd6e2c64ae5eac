package main

import (
	"fmt"
	"sort"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// loc is where a machine operand lives: a register, or memory (a state
// slot, a batch's word 0 or a spill slot in the frame).
type loc struct {
	reg  int // register index, or -1 for memory
	kind int // srcConst, srcM0 or locSpill when reg < 0
	n    int
}

const locSpill = 100

func inReg(r int) loc { return loc{reg: r} }

// mins is one machine instruction over register indices.
type mins struct {
	op   int // an IR op, or mLoad / mStore
	a    loc // first source (may be memory)
	b    int // second source register (in-place ops), -1 if none
	dst  loc // destination (register, or memory for mStore)
	imm  int
	cmpB int // batch of opCmp
}

const (
	mLoad  = 100 + iota // dst reg = a (memory)
	mStore              // dst memory = a (register)
)

// allocate maps the IR's variables onto nregs registers. Among the
// variables held in registers it evicts the one read or written farthest in
// the future, storing it to a spill slot if its memory copy is stale.
// Variables below nstate start as their state slot; the others
// (temporaries) have no memory copy until spilled.
func allocate(p []ins, nregs, nstate int) ([]mins, int) {
	uses := map[int][]int{} // var -> instruction indices that touch it
	for i, in := range p {
		seen := map[int]bool{}
		for _, v := range append(in.reads(), in.dst) {
			if !seen[v] {
				uses[v] = append(uses[v], i)
				seen[v] = true
			}
		}
	}
	nextUse := func(v, i int) int { // first use after instruction i
		u := uses[v]
		k := sort.SearchInts(u, i+1)
		if k == len(u) {
			return 1 << 30
		}
		return u[k]
	}
	reg := map[int]int{} // var -> register
	holder := make([]int, nregs)
	for r := range holder {
		holder[r] = -1
	}
	dirty := map[int]bool{} // memory copy stale
	spill := map[int]int{}  // var -> spill slot
	var code []mins
	home := func(v int) loc {
		if s, ok := spill[v]; ok {
			return loc{reg: -1, kind: locSpill, n: s}
		}
		if v >= nstate {
			panic(fmt.Sprintf("temporary %d read before it was written", v))
		}
		return loc{reg: -1, kind: srcConst, n: slotInit + v%16}
	}
	where := func(v int) loc {
		if r, ok := reg[v]; ok {
			return inReg(r)
		}
		if dirty[v] {
			panic(fmt.Sprintf("variable %d lost", v))
		}
		return home(v)
	}
	alloc := func(i int, keep ...int) int {
		for r, v := range holder {
			if v < 0 {
				return r
			}
		}
		victim, far := -1, -1
		for r, v := range holder {
			skip := false
			for _, k := range keep {
				skip = skip || k == v
			}
			if nu := nextUse(v, i-1); !skip && nu > far {
				victim, far = r, nu
			}
		}
		v := holder[victim]
		if dirty[v] {
			if _, ok := spill[v]; !ok {
				spill[v] = len(spill)
			}
			code = append(code, mins{op: mStore, a: inReg(victim), b: -1, dst: home(v)})
			dirty[v] = false
		}
		delete(reg, v)
		holder[victim] = -1
		return victim
	}
	bind := func(v, r int) { reg[v] = r; holder[r] = v }
	// ensure puts v in a register, loading it if needed.
	ensure := func(i, v int, keep ...int) int {
		if r, ok := reg[v]; ok {
			return r
		}
		r := alloc(i, append(keep, v)...)
		code = append(code, mins{op: mLoad, a: where(v), b: -1, dst: inReg(r)})
		bind(v, r)
		return r
	}
	operand := func(s src) loc {
		switch s.kind {
		case srcVar:
			return where(s.n)
		default:
			return loc{reg: -1, kind: s.kind, n: s.n}
		}
	}
	for i, in := range p {
		switch in.op {
		case opAdd, opXor, opOr:
			if r, ok := reg[in.dst]; ok {
				code = append(code, mins{op: in.op, a: operand(in.s), b: r, dst: inReg(r)})
				break
			}
			if in.s.kind == srcVar {
				if rs, ok := reg[in.s.n]; ok && in.s.n != in.dst {
					r := alloc(i, in.s.n, in.dst)
					code = append(code, mins{op: in.op, a: where(in.dst), b: rs, dst: inReg(r)})
					bind(in.dst, r)
					break
				}
			}
			r := ensure(i, in.dst, srcVars(in)...)
			code = append(code, mins{op: in.op, a: operand(in.s), b: r, dst: inReg(r)})
		case opRor, opShuf, opPshb:
			r := ensure(i, in.dst)
			code = append(code, mins{op: in.op, a: operand(in.s), b: r, dst: inReg(r), imm: in.imm})
		case opSRL:
			a := operand(in.s)
			r := alloc(i, in.dst, in.s.n)
			code = append(code, mins{op: opSRL, a: a, b: -1, dst: inReg(r), imm: in.imm})
			bind(in.dst, r)
		case opCmp:
			r := ensure(i, in.dst)
			code = append(code, mins{op: opCmp, a: loc{reg: -1, kind: srcConst, n: slotTarget}, b: r, dst: inReg(r), cmpB: in.imm})
		}
		if in.op != opCmp {
			dirty[in.dst] = true
		}
		// Free the registers of variables this instruction used last.
		for _, v := range append(in.reads(), in.dst) {
			if r, ok := reg[v]; ok && nextUse(v, i) == 1<<30 {
				delete(reg, v)
				holder[r] = -1
				dirty[v] = false
			}
		}
	}
	return code, len(spill)
}

func srcVars(in ins) []int {
	if in.s.kind == srcVar {
		return []int{in.s.n}
	}
	return nil
}

// emitter turns machine instructions into avo calls.
type emitter struct {
	s     isa
	st    GPPhysical // state pointer
	frame GPPhysical // 64-byte aligned frame
	code  []mins
}

func (e *emitter) slot(i int) Mem { return Mem{Base: e.st, Disp: 64 * i} }
func (e *emitter) m0(b int) Mem   { return Mem{Base: e.frame, Disp: b * 8 * e.s.lanes} }
func (e *emitter) spill(k int) Mem {
	return Mem{Base: e.frame, Disp: (e.s.batches + k) * 8 * e.s.lanes}
}

func (e *emitter) op(l loc) Op {
	if l.reg >= 0 {
		return e.s.regs[l.reg]
	}
	switch l.kind {
	case srcConst:
		return e.slot(l.n)
	case srcM0:
		return e.m0(l.n)
	case locSpill:
		return e.spill(l.n)
	}
	panic("bad location")
}

func (e *emitter) avx512() bool { return e.s.name == "AVX512" }

func (e *emitter) mov(a, b Op) {
	if e.avx512() {
		VMOVDQU64(a, b)
	} else {
		VMOVDQU(a, b)
	}
}

func (e *emitter) or(a, b Op) {
	if e.avx512() {
		VPORQ(a, b, b)
	} else {
		VPOR(a, b, b)
	}
}

// run emits the hashing of one group and leaves the hits in K1 (AVX-512)
// or R10 (AVX2).
func (e *emitter) run() {
	if !e.avx512() {
		XORQ(R10, R10)
	}
	for _, m := range e.code {
		switch m.op {
		case mLoad, mStore:
			e.mov(e.op(m.a), e.op(m.dst))
		case opAdd:
			VPADDQ(e.op(m.a), e.s.regs[m.b], e.op(m.dst))
		case opXor:
			if e.avx512() {
				VPXORQ(e.op(m.a), e.s.regs[m.b], e.op(m.dst))
			} else {
				VPXOR(e.op(m.a), e.s.regs[m.b], e.op(m.dst))
			}
		case opOr:
			if e.avx512() {
				VPORQ(e.op(m.a), e.s.regs[m.b], e.op(m.dst))
			} else {
				VPOR(e.op(m.a), e.s.regs[m.b], e.op(m.dst))
			}
		case opRor:
			VPRORQ(U8(m.imm), e.s.regs[m.b], e.op(m.dst))
		case opShuf:
			VPSHUFD(U8(m.imm), e.s.regs[m.b], e.op(m.dst))
		case opPshb:
			VPSHUFB(e.op(m.a), e.s.regs[m.b], e.op(m.dst))
		case opSRL:
			VPSRLQ(U8(m.imm), e.op(m.a), e.op(m.dst))
		case opCmp:
			if e.avx512() {
				VPCMPEQQ(e.op(m.a), e.s.regs[m.b], []Register{K1, K2, K3, K4}[m.cmpB])
			} else {
				VPCMPEQQ(e.op(m.a), e.s.regs[m.b], e.s.regs[m.b])
				VMOVMSKPD(e.s.regs[m.b], R9L)
				ORQ(R9, R10)
			}
		}
	}
	if e.avx512() {
		for b := 1; b < e.s.batches; b++ {
			KORW(K1, []Register{K1, K2, K3, K4}[b], K1)
		}
	}
}

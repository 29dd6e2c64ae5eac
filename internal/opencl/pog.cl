/*
 * Proof of GPU kernels: internal/pog's seeded data made on the device, an
 * fp32 matrix product, and the memory fill and pass. Every integer step is
 * the one of internal/pog (prng.go), so results agree bit for bit.
 *
 * Matrix layout ("panels"): the host pads n to MP rows, NP columns and KP
 * (a multiple of TK) inner steps. A is kept K-major in panels of PA rows:
 * element (i, k) is at (i / PA) * KP * PA + k * PA + i % PA, so the rows a
 * work-group (GPU) or a work-item (CPU) needs for one k are contiguous.
 * B is kept the same way in panels of PB columns: (k, j) is at
 * (j / PB) * KP * PB + k * PB + j % PB. Padding is zero, which adds exact
 * zeros to every sum. C is n x n, row-major, written without padding.
 *
 * Build options (-D), chosen per device type by the host (pog.go):
 *   TILED=1  GPU kernel: a work-group of LX x LY work-items computes a TM x
 *            TN tile of C (TM = RM*LY, TN = RN*LX) from TK-deep tiles of A
 *            and B staged in local memory; each work-item keeps RM x RN
 *            sums in registers. PA = TM, PB = TN.
 *   TILED=0  CPU kernel: each work-item computes RM rows x NV vectors of VW
 *            columns of C in registers, straight from its panels (PA = RM,
 *            PB = NV*VW); no local memory, no barrier. PoCL runs the
 *            work-items of a group one after the other on one core.
 *   PV       64-bit lanes per vector in gen, fill and pass (1 on GPUs,
 *            the native long vector width on CPUs).
 *   PU       vectors per work-item in fill and pass (1 on GPUs, 8 on CPUs).
 */

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

#define GOLDEN 0x9e3779b97f4a7c15UL
#define ODD2 0xd1b54a32d192ed03UL

/* pog.Mix (splitmix64's finaliser), for ulong and ulong vectors alike. */
#define MIX(x) \
	do { \
		(x) ^= (x) >> 30; \
		(x) *= 0xbf58476d1ce4e5b9UL; \
		(x) ^= (x) >> 27; \
		(x) *= 0x94d049bb133111ebUL; \
		(x) ^= (x) >> 31; \
	} while (0)

inline ulong mix(ulong x)
{
	MIX(x);
	return x;
}

/* pog.Elem: a multiple of 2^-23 in [-1, 1), exact in float. */
inline float elem(ulong seed, uint i, uint j)
{
	ulong h = mix(seed ^ mix(((ulong)i << 32) | (ulong)j));
	int v = (int)(uint)(h >> 40) - (1 << 23);
	return (float)v * 0x1p-23f;
}

/* Vectors of PV 64-bit lanes (gen, fill and pass). */
#if PV == 1
typedef ulong ulongv;
#define LANES ((ulongv)0)
#define LOADV(p) (*(p))
#define STOREV(v, p) (*(p) = (v))
#elif PV == 2
typedef ulong2 ulongv;
#define LANES ((ulongv)(0, 1))
#elif PV == 4
typedef ulong4 ulongv;
#define LANES ((ulongv)(0, 1, 2, 3))
#elif PV == 8
typedef ulong8 ulongv;
#define LANES ((ulongv)(0, 1, 2, 3, 4, 5, 6, 7))
#elif PV == 16
typedef ulong16 ulongv;
#define LANES ((ulongv)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#endif
#if PV > 1
#define LOADV(p) CAT(vload, PV)(0, (p))
#define STOREV(v, p) CAT(vstore, PV)((v), 0, (p))
#endif

/*
 * gen writes one padded matrix in panel layout: count = panels * kp * pw
 * elements. Element r of row k of panel p is outer index x = p * pw + r
 * (a row i of A, or a column j of B) and inner index k; it is
 * Elem(seed, x, k) for A (swap = 0) and Elem(seed, k, x) for B (swap = 1),
 * and zero outside n x n. With pw = 1 it writes a row-major A, with one
 * panel of pw = n a row-major B.
 *
 * A work-item makes PV neighbouring elements g0 + PV * id ..., as one
 * vector when they are one row of a panel (pw a multiple of PV), else one
 * by one; elements from count on are not written.
 */
inline float gen1(ulong g, ulong seed, uint n, uint kp, uint pw, uint swap)
{
	const ulong panel = (ulong)kp * pw;
	const ulong p = g / panel;
	const uint rem = (uint)(g - p * panel);
	const uint k = rem / pw;
	const uint x = (uint)(p * pw) + rem % pw;
	if (x >= n || k >= n)
		return 0.0f;
	return swap ? elem(seed, k, x) : elem(seed, x, k);
}

__kernel void gen(__global float *restrict out, ulong seed, uint n, uint kp, uint pw, uint swap, ulong g0, ulong count)
{
	const ulong g = g0 + (ulong)get_global_id(0) * PV;
#if PV > 1
	if (pw % PV == 0 && g + PV <= count) {
		const ulong panel = (ulong)kp * pw;
		const ulong p = g / panel;
		const uint rem = (uint)(g - p * panel);
		const uint k = rem / pw;
		const ulongv x = (ulongv)(p * pw + rem % pw) + LANES;
		ulongv h = swap ? ((ulongv)((ulong)k << 32) | x) : ((x << 32) | (ulong)k);
		MIX(h);
		h ^= seed;
		MIX(h);
		const CAT(int, PV) v = CAT(convert_int, PV)(h >> 40) - (1 << 23);
		const CAT(float, PV) f = CAT(convert_float, PV)(v) * 0x1p-23f;
		const CAT(int, PV) inside = CAT(convert_int, PV)(x < (ulong)n) & (k < n ? -1 : 0);
		CAT(vstore, PV)(select((CAT(float, PV))(0.0f), f, inside), 0, out + g);
		return;
	}
#endif
	for (uint l = 0; l < PV && g + l < count; l++)
		out[g + l] = gen1(g + l, seed, n, kp, pw, swap);
}

#if TILED

/*
 * GPU SGEMM. Work-item (tx, ty) of the group owns rows ty*4 + q*(TM/(RM/4))
 * + {0..3} and columns tx*4 + q*(TN/(RN/4)) + {0..3} of the tile (groups
 * of four, interleaved), so that the float4 reads of a warp from local
 * memory are contiguous and the stores to C coalesce. The next tiles of A
 * and B are loaded from global memory into registers while the current
 * ones are multiplied (one local buffer, two barriers per TK steps).
 * Rows of tiles from ib0 on (launches are split by rows).
 */
#define WG (LX * LY)
#define RA (RM / 4)
#define RB (RN / 4)
#define SA (TM / RA) /* stride between a work-item's groups of four rows */
#define SB (TN / RB)
#define LA (TK * TM / 4 / WG) /* float4 loads of the A tile per work-item */
#define LB (TK * TN / 4 / WG)

__kernel __attribute__((reqd_work_group_size(LX, LY, 1)))
void sgemm(__global const float *restrict A, __global const float *restrict B, __global float *restrict C, uint n, uint kp, uint ib0)
{
	__local float4 as[TK * TM / 4];
	__local float4 bs[TK * TN / 4];
	const uint tx = get_local_id(0), ty = get_local_id(1);
	const uint tid = ty * LX + tx;
	const uint gi = get_group_id(1) + ib0, gj = get_group_id(0);
	const __global float4 *a = (const __global float4 *)(A + (size_t)gi * kp * TM);
	const __global float4 *b = (const __global float4 *)(B + (size_t)gj * kp * TN);

	float4 acc[RM][RB];
#pragma unroll
	for (int r = 0; r < RM; r++)
#pragma unroll
		for (int q = 0; q < RB; q++)
			acc[r][q] = (float4)(0.0f);

	float4 na[LA], nb[LB];
#pragma unroll
	for (int l = 0; l < LA; l++)
		na[l] = a[tid + l * WG];
#pragma unroll
	for (int l = 0; l < LB; l++)
		nb[l] = b[tid + l * WG];

	for (uint k0 = 0; k0 < kp; k0 += TK) {
		barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
		for (int l = 0; l < LA; l++)
			as[tid + l * WG] = na[l];
#pragma unroll
		for (int l = 0; l < LB; l++)
			bs[tid + l * WG] = nb[l];
		barrier(CLK_LOCAL_MEM_FENCE);
		if (k0 + TK < kp) {
			const __global float4 *an = a + (size_t)(k0 + TK) * (TM / 4);
			const __global float4 *bn = b + (size_t)(k0 + TK) * (TN / 4);
#pragma unroll
			for (int l = 0; l < LA; l++)
				na[l] = an[tid + l * WG];
#pragma unroll
			for (int l = 0; l < LB; l++)
				nb[l] = bn[tid + l * WG];
		}
#pragma unroll
		for (int kk = 0; kk < TK; kk++) {
			float4 fa[RA], fb[RB];
#pragma unroll
			for (int q = 0; q < RA; q++)
				fa[q] = as[kk * (TM / 4) + ty + q * (SA / 4)];
#pragma unroll
			for (int q = 0; q < RB; q++)
				fb[q] = bs[kk * (TN / 4) + tx + q * (SB / 4)];
#pragma unroll
			for (int q = 0; q < RA; q++) {
#pragma unroll
				for (int s = 0; s < RB; s++) {
					acc[4 * q + 0][s] = fma((float4)(fa[q].s0), fb[s], acc[4 * q + 0][s]);
					acc[4 * q + 1][s] = fma((float4)(fa[q].s1), fb[s], acc[4 * q + 1][s]);
					acc[4 * q + 2][s] = fma((float4)(fa[q].s2), fb[s], acc[4 * q + 2][s]);
					acc[4 * q + 3][s] = fma((float4)(fa[q].s3), fb[s], acc[4 * q + 3][s]);
				}
			}
		}
	}

#pragma unroll
	for (int q = 0; q < RA; q++) {
#pragma unroll
		for (int e = 0; e < 4; e++) {
			const uint i = gi * TM + q * SA + ty * 4 + e;
			if (i >= n)
				continue;
#pragma unroll
			for (int s = 0; s < RB; s++) {
				const uint j = gj * TN + s * SB + tx * 4;
				__global float *c = C + (size_t)i * n + j;
				float4 v = acc[4 * q + e][s];
				if (j + 4 <= n) {
					vstore4(v, 0, c);
				} else {
					if (j < n)
						c[0] = v.s0;
					if (j + 1 < n)
						c[1] = v.s1;
					if (j + 2 < n)
						c[2] = v.s2;
				}
			}
		}
	}
}

#else /* !TILED */

/*
 * CPU SGEMM: RM x (NV * VW) sums in vector registers, the B row of NV
 * vectors loaded once per k and each A element broadcast. Both panels are
 * read front to back, which hardware prefetchers follow.
 */
typedef CAT(float, VW) floatv;
#define VLOAD CAT(vload, VW)
#define VSTORE CAT(vstore, VW)
#define RN (NV * VW)

__kernel __attribute__((reqd_work_group_size(LX, LY, 1)))
void sgemm(__global const float *restrict A, __global const float *restrict B, __global float *restrict C, uint n, uint kp, uint ib0)
{
	const uint jb = get_global_id(0), ib = get_global_id(1) + ib0;
	const __global float *a = A + (size_t)ib * kp * RM;
	const __global float *b = B + (size_t)jb * kp * RN;

	floatv acc[RM][NV];
#pragma unroll
	for (int r = 0; r < RM; r++)
#pragma unroll
		for (int v = 0; v < NV; v++)
			acc[r][v] = (floatv)(0.0f);

	for (uint k = 0; k < kp; k += TK) {
#pragma unroll
		for (int kk = 0; kk < TK; kk++) {
			floatv bv[NV];
#pragma unroll
			for (int v = 0; v < NV; v++)
				bv[v] = VLOAD(v, b);
#pragma unroll
			for (int r = 0; r < RM; r++) {
				floatv av = (floatv)(a[r]);
#pragma unroll
				for (int v = 0; v < NV; v++)
					acc[r][v] = fma(av, bv[v], acc[r][v]);
			}
			a += RM;
			b += RN;
		}
	}

#pragma unroll
	for (int r = 0; r < RM; r++) {
		const uint i = ib * RM + r;
		if (i >= n)
			break;
#pragma unroll
		for (int v = 0; v < NV; v++) {
			const uint j = jb * RN + v * VW;
			__global float *c = C + (size_t)i * n + j;
			if (j + VW <= n) {
				VSTORE(acc[r][v], 0, c);
			} else if (j < n) {
				float t[VW];
				VSTORE(acc[r][v], 0, t);
				for (uint l = 0; j + l < n; l++)
					c[l] = t[l];
			}
		}
	}
}

#endif /* TILED */

/*
 * Memory fill and pass. One buffer holds cb chunks, chunk indexes c0 ..
 * c0+cb-1, words 0 .. words-1 each. Chunks are laid out in groups of w
 * (the last group may be narrower, wg = min(w, cb - g*w)): word t of local
 * chunk c, in group g = c / w, is at
 *
 *   g * w * words + t * wg + c % w.
 *
 * GPUs take w = cb (word t of chunk c at t * cb + c): the work-items of a
 * warp take neighbouring chunks and read neighbouring words. CPUs take
 * w = PU * PV: one work-item's chunks are one group, read front to back.
 *
 * A work-item takes PU * PV neighbouring chunks (w is a multiple of that):
 * PU vectors of PV lanes, PU independent chains of Mix to hide its latency.
 * The last work-item may have fewer chunks and goes lane by lane.
 */
#define PL (PU * PV) /* chunks per work-item */

/* The address of word t of local chunk c (see above). */
inline size_t word_at(uint c, uint t, uint cb, uint w, uint words)
{
	const uint g = c / w;
	const uint wg = min(w, cb - g * w);
	return (size_t)g * w * words + (size_t)t * wg + (c - g * w);
}

/*
 * fill writes words t0 .. t0+rows-1 of the buffer's chunks (pog.FillWord):
 * work-item i takes row t0 + i / items and chunks (i % items) * PL ...
 */
__kernel void fill(__global ulong *restrict buf, ulong seed, uint rounds, ulong c0, uint cb, uint w, uint words, uint t0, uint rows)
{
	const uint items = (cb + PL - 1) / PL;
	const ulong i = get_global_id(0);
	if (i >= (ulong)items * rows)
		return;
	const uint t = t0 + (uint)(i / items);
	const uint c = (uint)(i % items) * PL;
	__global ulong *p = buf + word_at(c, t, cb, w, words);
	if (c + PL <= cb) {
		ulongv x[PU];
#pragma unroll
		for (int u = 0; u < PU; u++) {
			x[u] = seed + ((ulongv)(c0 + c + u * PV) + LANES) * GOLDEN + (ulong)t * ODD2;
			MIX(x[u]);
		}
		for (uint r = 0; r < rounds; r++) {
#pragma unroll
			for (int u = 0; u < PU; u++) {
				x[u] += GOLDEN;
				MIX(x[u]);
			}
		}
#pragma unroll
		for (int u = 0; u < PU; u++)
			STOREV(x[u], p + u * PV);
	} else {
		for (uint l = 0; c + l < cb; l++) {
			ulong x = seed + (c0 + c + l) * GOLDEN + (ulong)t * ODD2;
			MIX(x);
			for (uint r = 0; r < rounds; r++) {
				x += GOLDEN;
				MIX(x);
			}
			p[l] = x;
		}
	}
}

/*
 * pass folds words t0 .. t1-1 of each chunk into its digest state
 * (pog.ChunkDigest), state[c0 + c]; at t0 = 0 it starts from
 * Mix(seed ^ chunk).
 */
__kernel void pass(__global const ulong *restrict buf, __global ulong *restrict state, ulong seed, ulong c0, uint cb, uint w, uint words, uint t0, uint t1)
{
	const uint c = (uint)get_global_id(0) * PL;
	if (c >= cb)
		return;
	const uint g = c / w;
	const uint wg = min(w, cb - g * w);
	const __global ulong *p = buf + word_at(c, t0, cb, w, words);
	__global ulong *s = state + c0 + c;
	if (c + PL <= cb) {
		ulongv h[PU];
#pragma unroll
		for (int u = 0; u < PU; u++) {
			if (t0 == 0) {
				h[u] = seed ^ ((ulongv)(c0 + c + u * PV) + LANES);
				MIX(h[u]);
			} else {
				h[u] = LOADV(s + u * PV);
			}
		}
		for (uint t = t0; t < t1; t++, p += wg) {
#pragma unroll
			for (int u = 0; u < PU; u++) {
				h[u] ^= LOADV(p + u * PV);
				MIX(h[u]);
			}
		}
#pragma unroll
		for (int u = 0; u < PU; u++)
			STOREV(h[u], s + u * PV);
	} else {
		for (uint l = 0; c + l < cb; l++) {
			ulong h = t0 == 0 ? mix(seed ^ (c0 + c + l)) : s[l];
			const __global ulong *q = p + l;
			for (uint t = t0; t < t1; t++, q += wg)
				h = mix(h ^ *q);
			s[l] = h;
		}
	}
}

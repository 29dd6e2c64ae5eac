/*
 * SN27 challenge search: hashcat mode 610, BLAKE2b-512(password . salt), mask
 * attack. The message is one block (password and salt together at most 128
 * bytes, password at most 16 bytes), so only message words 0 and 1 vary.
 *
 * Candidate numbering is internal/pow's (position 0 varies fastest, each
 * position runs through its charset in order), split in two:
 *
 *   index = (first_index / inner_count + k) * inner_count + j
 *
 * j numbers the inner positions 0..a-1 (a <= 4); their bytes, packed
 * little-endian, are inner[j] (the host pads the table to a multiple of VEC
 * with copies of its last entry). k = get_global_id(1) numbers the groups
 * of this launch; outer[2k], outer[2k+1] are message words 0 and 1 with the
 * outer positions' bytes and the salt set and the inner bytes zero.
 *
 * Each work-item hashes VEC candidates, j = VEC*get_global_id(0) + lane, as
 * one vector (built with -DVEC=n from the device's native vector width for
 * long: 8 with AVX-512, 4 with AVX2, 1 on GPUs). There is no division and
 * no branch on the hashing path.
 *
 * There are two kernels, search and search32 (see search_body).
 *
 * cfg[0..13] are message words 2..15, cfg[14] the message length, cfg[15]
 * the first word of the wanted digest. Only that word is compared here: a
 * match sets found (atomically, the first one wins) and result = {j, k},
 * and the host checks the full digest (and searches the launch again on the
 * CPU in the 2^-64 case of a first-word-only match).
 */

#ifndef VEC
#define VEC 1
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

#if VEC == 1
typedef ulong u64v;
typedef long s64v;
#define LOAD_INNER(j, p) ((ulong)(p)[j])
#define ANY(x) (x)
#else
typedef CAT(ulong, VEC) u64v;
typedef CAT(long, VEC) s64v;
#define LOAD_INNER(j, p) CAT(convert_ulong, VEC)(CAT(vload, VEC)((j), (p)))
#define ANY(x) any(x)
#endif

#define IV0 0x6a09e667f3bcc908UL
#define IV1 0xbb67ae8584caa73bUL
#define IV2 0x3c6ef372fe94f82bUL
#define IV3 0xa54ff53a5f1d36f1UL
#define IV4 0x510e527fade682d1UL
#define IV5 0x9b05688c2b3e6c1fUL
#define IV6 0x1f83d9abfb41bd6bUL
#define IV7 0x5be0cd19137e2179UL
/* h[0]: IV0 xor the parameter block (64-byte digest, no key, fanout 1, depth 1). */
#define H0 (IV0 ^ 0x01010040UL)

#define ROTR(x, n) rotate((x), (u64v)(64 - (n)))
#define G(a, b, c, d, x, y) \
	a = a + b + (x); d = ROTR(d ^ a, 32); c = c + d; b = ROTR(b ^ c, 24); \
	a = a + b + (y); d = ROTR(d ^ a, 16); c = c + d; b = ROTR(b ^ c, 63);

/*
 * search_body is both kernels: search takes any one-block message, and
 * search32 messages of at most 32 bytes (SN27's: up to 16 password bytes
 * and a 16-byte salt), whose words 4..15 are zero; the compiler then drops
 * the additions of those words, about a tenth of the work.
 */
inline void search_body(__constant ulong *cfg,
                        __global const uint *inner,
                        __global const ulong *outer,
                        const uint inner_count,
                        const ulong first_index,
                        const ulong lo,
                        const ulong hi,
                        __global volatile uint *found,
                        __global uint *result,
                        const bool short_message)
{
	const uint jv = get_global_id(0);
	const uint k = get_global_id(1);

	const u64v m0 = (u64v)(outer[2 * k]) | LOAD_INNER(jv, inner);
	const ulong m1 = outer[2 * k + 1];
	const ulong m2 = cfg[0], m3 = cfg[1];
#define TAIL(i) (short_message ? 0UL : cfg[i])
	const ulong m4 = TAIL(2), m5 = TAIL(3), m6 = TAIL(4), m7 = TAIL(5), m8 = TAIL(6), m9 = TAIL(7);
	const ulong m10 = TAIL(8), m11 = TAIL(9), m12 = TAIL(10), m13 = TAIL(11), m14 = TAIL(12), m15 = TAIL(13);

	u64v v0 = H0, v1 = IV1, v2 = IV2, v3 = IV3, v4 = IV4, v5 = IV5, v6 = IV6, v7 = IV7;
	u64v v8 = IV0, v9 = IV1, v10 = IV2, v11 = IV3, v12 = IV4 ^ cfg[14], v13 = IV5, v14 = ~IV6, v15 = IV7;

	/* round 0 */
	G(v0, v4, v8, v12, m0, m1); G(v1, v5, v9, v13, m2, m3); G(v2, v6, v10, v14, m4, m5); G(v3, v7, v11, v15, m6, m7);
	G(v0, v5, v10, v15, m8, m9); G(v1, v6, v11, v12, m10, m11); G(v2, v7, v8, v13, m12, m13); G(v3, v4, v9, v14, m14, m15);
	/* round 1 */
	G(v0, v4, v8, v12, m14, m10); G(v1, v5, v9, v13, m4, m8); G(v2, v6, v10, v14, m9, m15); G(v3, v7, v11, v15, m13, m6);
	G(v0, v5, v10, v15, m1, m12); G(v1, v6, v11, v12, m0, m2); G(v2, v7, v8, v13, m11, m7); G(v3, v4, v9, v14, m5, m3);
	/* round 2 */
	G(v0, v4, v8, v12, m11, m8); G(v1, v5, v9, v13, m12, m0); G(v2, v6, v10, v14, m5, m2); G(v3, v7, v11, v15, m15, m13);
	G(v0, v5, v10, v15, m10, m14); G(v1, v6, v11, v12, m3, m6); G(v2, v7, v8, v13, m7, m1); G(v3, v4, v9, v14, m9, m4);
	/* round 3 */
	G(v0, v4, v8, v12, m7, m9); G(v1, v5, v9, v13, m3, m1); G(v2, v6, v10, v14, m13, m12); G(v3, v7, v11, v15, m11, m14);
	G(v0, v5, v10, v15, m2, m6); G(v1, v6, v11, v12, m5, m10); G(v2, v7, v8, v13, m4, m0); G(v3, v4, v9, v14, m15, m8);
	/* round 4 */
	G(v0, v4, v8, v12, m9, m0); G(v1, v5, v9, v13, m5, m7); G(v2, v6, v10, v14, m2, m4); G(v3, v7, v11, v15, m10, m15);
	G(v0, v5, v10, v15, m14, m1); G(v1, v6, v11, v12, m11, m12); G(v2, v7, v8, v13, m6, m8); G(v3, v4, v9, v14, m3, m13);
	/* round 5 */
	G(v0, v4, v8, v12, m2, m12); G(v1, v5, v9, v13, m6, m10); G(v2, v6, v10, v14, m0, m11); G(v3, v7, v11, v15, m8, m3);
	G(v0, v5, v10, v15, m4, m13); G(v1, v6, v11, v12, m7, m5); G(v2, v7, v8, v13, m15, m14); G(v3, v4, v9, v14, m1, m9);
	/* round 6 */
	G(v0, v4, v8, v12, m12, m5); G(v1, v5, v9, v13, m1, m15); G(v2, v6, v10, v14, m14, m13); G(v3, v7, v11, v15, m4, m10);
	G(v0, v5, v10, v15, m0, m7); G(v1, v6, v11, v12, m6, m3); G(v2, v7, v8, v13, m9, m2); G(v3, v4, v9, v14, m8, m11);
	/* round 7 */
	G(v0, v4, v8, v12, m13, m11); G(v1, v5, v9, v13, m7, m14); G(v2, v6, v10, v14, m12, m1); G(v3, v7, v11, v15, m3, m9);
	G(v0, v5, v10, v15, m5, m0); G(v1, v6, v11, v12, m15, m4); G(v2, v7, v8, v13, m8, m6); G(v3, v4, v9, v14, m2, m10);
	/* round 8 */
	G(v0, v4, v8, v12, m6, m15); G(v1, v5, v9, v13, m14, m9); G(v2, v6, v10, v14, m11, m3); G(v3, v7, v11, v15, m0, m8);
	G(v0, v5, v10, v15, m12, m2); G(v1, v6, v11, v12, m13, m7); G(v2, v7, v8, v13, m1, m4); G(v3, v4, v9, v14, m10, m5);
	/* round 9 */
	G(v0, v4, v8, v12, m10, m2); G(v1, v5, v9, v13, m8, m4); G(v2, v6, v10, v14, m7, m6); G(v3, v7, v11, v15, m1, m5);
	G(v0, v5, v10, v15, m15, m11); G(v1, v6, v11, v12, m9, m14); G(v2, v7, v8, v13, m3, m12); G(v3, v4, v9, v14, m13, m0);
	/* round 10 */
	G(v0, v4, v8, v12, m0, m1); G(v1, v5, v9, v13, m2, m3); G(v2, v6, v10, v14, m4, m5); G(v3, v7, v11, v15, m6, m7);
	G(v0, v5, v10, v15, m8, m9); G(v1, v6, v11, v12, m10, m11); G(v2, v7, v8, v13, m12, m13); G(v3, v4, v9, v14, m14, m15);
	/* round 11 */
	G(v0, v4, v8, v12, m14, m10); G(v1, v5, v9, v13, m4, m8); G(v2, v6, v10, v14, m9, m15); G(v3, v7, v11, v15, m13, m6);
	G(v0, v5, v10, v15, m1, m12); G(v1, v6, v11, v12, m0, m2); G(v2, v7, v8, v13, m11, m7); G(v3, v4, v9, v14, m5, m3);


	const s64v hit = (H0 ^ v0 ^ v8) == (u64v)(cfg[15]);
	if (!ANY(hit)) {
		return;
	}
#if VEC == 1
	const long hits[1] = {hit};
#else
	long hits[VEC];
	CAT(vstore, VEC)(hit, 0, hits);
#endif
	for (uint lane = 0; lane < VEC; lane++) {
		const uint j = jv * VEC + lane;
		const ulong index = first_index + (ulong)k * inner_count + j;
		if (hits[lane] && j < inner_count && index >= lo && index < hi && atomic_cmpxchg(found, 0u, 1u) == 0u) {
			result[0] = j;
			result[1] = k;
		}
	}
}

__kernel void search(__constant ulong *cfg, __global const uint *inner, __global const ulong *outer,
                     const uint inner_count, const ulong first_index, const ulong lo, const ulong hi,
                     __global volatile uint *found, __global uint *result)
{
	search_body(cfg, inner, outer, inner_count, first_index, lo, hi, found, result, false);
}

__kernel void search32(__constant ulong *cfg, __global const uint *inner, __global const ulong *outer,
                       const uint inner_count, const ulong first_index, const ulong lo, const ulong hi,
                       __global volatile uint *found, __global uint *result)
{
	search_body(cfg, inner, outer, inner_count, first_index, lo, hi, found, result, true);
}

// Makes and checks cross-implementation vectors with tle compiled to
// WebAssembly (npm @ideallabs/timelock_wasm_wrapper@0.3.0, the Rust crate of
// ideal-lab5/timelock). Run from a folder where that package is installed:
//
//	npm install @ideallabs/timelock_wasm_wrapper@0.3.0
//	node gen.mjs make  > rust_quicknet_1000.json   # ciphertexts made by Rust
//	node gen.mjs check < go_quicknet_1000.json     # Rust decrypts Go's
//
// That build writes V and W as [u8; 32] without the u64 length that the
// Vec<u8> of the rev pinned by subtensor has; this script converts.
import fs from 'fs';
import crypto from 'crypto';
const dir = './node_modules/@ideallabs/timelock_wasm_wrapper';
const m = await import(`${dir}/timelock_wasm_wrapper.js`);
m.initSync({ module: fs.readFileSync(`${dir}/timelock_wasm_wrapper_bg.wasm`) });

const pk = Buffer.from('83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a', 'hex');
const round = 1000n;
const sig = Buffer.from('b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39', 'hex');
const rb = Buffer.alloc(8); rb.writeBigUInt64BE(round);
const id = crypto.createHash('sha256').update(rb).digest();

const len32 = Buffer.from('2000000000000000', 'hex');
// wasm layout (U ‖ V ‖ W ‖ …) → pinned layout (U ‖ u64le(32) ‖ V ‖ u64le(32) ‖ W ‖ …)
const toPinned = (b) => Buffer.concat([b.subarray(0, 96), len32, b.subarray(96, 128), len32, b.subarray(128)]);
const toWasm = (b) => Buffer.concat([b.subarray(0, 96), b.subarray(104, 136), b.subarray(144)]);

// SCALE WeightsTlockPayload{hotkey: [1..32], uids: [0,1,2], values: [65535,100,0], version_key: 2}
const hotkey = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
const payload = Buffer.concat([Buffer.from([32 << 2]), hotkey,
  Buffer.from([3 << 2, 0, 0, 1, 0, 2, 0]), Buffer.from([3 << 2, 0xff, 0xff, 100, 0, 0, 0]),
  Buffer.from('0200000000000000', 'hex')]);
const messages = [Buffer.from('this is a test'), payload, Buffer.alloc(0)];

if (process.argv[2] === 'make') {
  const vectors = messages.map((msg) => {
    const esk = crypto.randomBytes(32);
    const ct = Buffer.from(m.tle(Array.from(id), Array.from(msg), Array.from(esk), Array.from(pk)));
    const back = Buffer.from(m.tld(Array.from(ct), Array.from(sig)));
    if (!back.equals(msg)) throw new Error('wasm round trip failed');
    return { plaintext: msg.toString('hex'), ciphertext: toPinned(ct).toString('hex'), wasm_ciphertext: ct.toString('hex') };
  });
  console.log(JSON.stringify({ source: '@ideallabs/timelock_wasm_wrapper@0.3.0 tle()', round: Number(round), signature: sig.toString('hex'), vectors }, null, 1));
} else {
  const input = JSON.parse(fs.readFileSync(0, 'utf8'));
  for (const v of input.vectors) {
    const ct = toWasm(Buffer.from(v.ciphertext, 'hex'));
    const pt = Buffer.from(m.tld(Array.from(ct), Array.from(Buffer.from(input.signature, 'hex'))));
    if (pt.toString('hex') !== v.plaintext) throw new Error(`mismatch for ${v.plaintext}`);
  }
  console.log(`rust decrypted ${input.vectors.length} go ciphertexts`);
}

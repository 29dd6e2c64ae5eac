// Signs or verifies with polkadot.js (@polkadot/util-crypto sr25519, the
// Rust schnorrkel compiled to wasm): an implementation we did not write.
// Reads one JSON request on stdin, prints one JSON answer.
//   {"op":"sign","uri":"//Alice","message":"..."}        -> {"address","signature"}
//   {"op":"verify","address":"5...","message":"...","signature":"0x..."} -> {"valid"}
//   {"op":"address","uri":"//Alice"}                      -> {"address"}
//   {"op":"era","current":N,"period":P}                  -> {"era"} (0x-hex, mortal era encoding)
const { cryptoWaitReady, signatureVerify } = require('@polkadot/util-crypto');
const { Keyring } = require('@polkadot/keyring');
const { stringToU8a, u8aToHex } = require('@polkadot/util');

let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', async () => {
  await cryptoWaitReady();
  const req = JSON.parse(input);
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  let out;
  if (req.op === 'sign') {
    const kp = keyring.addFromUri(req.uri);
    out = { address: kp.address, signature: u8aToHex(kp.sign(stringToU8a(req.message))) };
  } else if (req.op === 'verify') {
    out = { valid: signatureVerify(stringToU8a(req.message), req.signature, req.address).isValid };
  } else if (req.op === 'era') {
    const { TypeRegistry } = require('@polkadot/types');
    out = { era: new TypeRegistry().createType('ExtrinsicEra', { current: req.current, period: req.period }).toHex() };
  } else if (req.op === 'address') {
    out = { address: keyring.addFromUri(req.uri).address };
  } else {
    throw new Error('unknown op ' + req.op);
  }
  process.stdout.write(JSON.stringify(out));
});

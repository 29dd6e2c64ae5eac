// Decodes signed extrinsics with @polkadot/types, given the runtime metadata
// they were built for (no node involved): TypeRegistry + Metadata from the
// metadata bytes, registry.setMetadata, createType('Extrinsic', hex). For each
// extrinsic it also rebuilds the v4 signing payload the way polkadot.js signs
// (ExtrinsicPayload from the decoded era, nonce, tip, mode and the given spec
// and transaction versions, genesis and era block hashes; blake2-256 when over
// 256 bytes) and checks the signature over it with signatureVerify.
// Args on stdin: {"cases":[{"metadata":"0x6d657461...","extrinsics":["0x..."],
// "spec_version":N,"tx_version":N,"genesis":"0x..","block_hash":"0x.."}]}.
// Prints [{"metadata_version","ss58","signed_extensions":[...],
// "extrinsics":[{"hex","version","signed","section","method","call_index",
// "args":[{"name","type","value"}],"signer","era","nonce","tip","mode",
// "metadata_hash","signature","payload","valid","error"}]}].
const { TypeRegistry, Metadata } = require('@polkadot/types');
const { u8aToHex } = require('@polkadot/util');
const { blake2AsU8a, cryptoWaitReady, signatureVerify } = require('@polkadot/util-crypto');

function decodeOne(registry, c, hex) {
  const ex = registry.createType('Extrinsic', hex);
  const args = ex.method.args.map((a, i) => ({
    name: ex.method.meta.fields[i].name.unwrapOr('').toString(),
    type: a.toRawType(),
    value: a.toString(),
  }));
  const out = {
    hex: ex.toHex(),
    version: ex.version,
    signed: ex.isSigned,
    section: ex.method.section,
    method: ex.method.method,
    call_index: u8aToHex(ex.method.callIndex),
    args,
  };
  if (!ex.isSigned) {
    return out;
  }
  const payload = registry.createType('ExtrinsicPayload', {
    method: ex.method.toHex(),
    era: ex.era,
    nonce: ex.nonce,
    tip: ex.tip,
    mode: ex.mode,
    metadataHash: ex.metadataHash,
    specVersion: c.spec_version,
    transactionVersion: c.tx_version,
    genesisHash: c.genesis,
    blockHash: c.block_hash,
  }, { version: 4 });
  const bytes = payload.toU8a({ method: true });
  const msg = bytes.length > 256 ? blake2AsU8a(bytes) : bytes;
  return Object.assign(out, {
    signer: ex.signer.toString(),
    era: u8aToHex(ex.era.toU8a()),
    nonce: ex.nonce.toNumber(),
    tip: ex.tip.toString(),
    mode: ex.mode === undefined ? -1 : ex.mode.toNumber(),
    metadata_hash: ex.metadataHash === undefined ? null : ex.metadataHash.toHex(),
    signature: ex.signature.toHex(),
    payload: u8aToHex(bytes),
    valid: signatureVerify(msg, ex.signature, ex.signer.toString()).isValid,
  });
}

let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', async () => {
  const req = JSON.parse(input);
  await cryptoWaitReady();
  const res = req.cases.map((c) => {
    const registry = new TypeRegistry();
    const metadata = new Metadata(registry, c.metadata);
    registry.setMetadata(metadata, undefined, undefined, true);
    return {
      metadata_version: metadata.version,
      ss58: registry.chainSS58,
      signed_extensions: registry.signedExtensions,
      extrinsics: c.extrinsics.map((hex) => {
        try {
          return decodeOne(registry, c, hex);
        } catch (e) {
          return { error: String(e && e.stack || e) };
        }
      }),
    };
  });
  process.stdout.write(JSON.stringify(res));
});

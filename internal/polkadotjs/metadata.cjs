// Lists what @polkadot/types reads from runtime metadata bytes, one line per
// item, for comparison with another decoder. Args on stdin:
// {"metadata":["0x6d657461...", ...]} (state_getMetadata bytes, V14, V15 or
// V16). Prints [{"version","roundtrip","lines":[...]}, ...] where roundtrip says whether toHex() of the decoded metadata
// gives back the input, and lines are (type IDs in decimal, bytes in hex):
//   call <pallet>.<call> <pallet index> <call index> <arg name>:<type id>,...
//   event|error <pallet>.<name> <pallet index> <variant index>
//   storage <pallet>.<item> <Optional|Default> <Plain|hasher,hasher,...> <key type> <value type> <default>
//   constant <pallet>.<name> <type id> <value>
//   extension <identifier> <type id> <additional signed / implicit type id>
//   extrinsic_versions <v,v,...>
//   api <trait>.<method> <input name>:<type id>,... <output type id>
// and for V16 only:
//   api_version <trait> <version>
//   extensions_by_version <version> <index,index,...>
//   associated_type <pallet>.<name> <type id>
//   view_function <pallet>.<name> <id> <input name>:<type id>,... <output type id>
//   deprecated <kind> <pallet>.<name> <DeprecatedWithoutNote|Deprecated:note>
// V14 and V15 are read in their own form (not polkadot.js's conversion to
// V16, which drops the additional-signed types).
const { TypeRegistry, Metadata } = require('@polkadot/types');
const { u8aToHex } = require('@polkadot/util');

function deprecation(d) {
  if (d.isNotDeprecated) return null;
  if (d.isDeprecatedWithoutNote) return 'DeprecatedWithoutNote';
  return 'Deprecated:' + d.asDeprecated.note.toString();
}

function summarize(hex) {
  const registry = new TypeRegistry();
  const metadata = new Metadata(registry, hex);
  const roundtrip = metadata.toHex() === hex.toLowerCase();
  const version = metadata.version;
  const md = metadata[`asV${version}`];
  const lookup = md.lookup;
  const variants = (ty) => lookup.getSiType(ty).def.asVariant.variants;
  const lines = [];
  const v16 = version >= 16;
  for (const p of md.pallets) {
    const pn = p.name.toString();
    const pi = p.index.toNumber();
    if (p.calls.isSome) {
      const calls = p.calls.unwrap();
      for (const v of variants(calls.type)) {
        const args = v.fields.map((f) => `${f.name.unwrapOr('').toString()}:${f.type.toString()}`).join(',');
        lines.push(`call ${pn}.${v.name} ${pi} ${v.index.toNumber()} ${args}`);
      }
      if (v16) {
        const vs = variants(calls.type);
        for (const [idx, d] of calls.deprecationInfo.entries()) {
          const v = vs.find((x) => x.index.toNumber() === idx.toNumber());
          lines.push(`deprecated call ${pn}.${v ? v.name : idx} ${d.isDeprecatedWithoutNote ? 'DeprecatedWithoutNote' : 'Deprecated:' + d.asDeprecated.note.toString()}`);
        }
      }
    }
    for (const [kind, opt] of [['event', p.events], ['error', p.errors]]) {
      if (opt.isSome) {
        for (const v of variants(opt.unwrap().type)) {
          lines.push(`${kind} ${pn}.${v.name} ${pi} ${v.index.toNumber()}`);
        }
      }
    }
    if (p.storage.isSome) {
      for (const item of p.storage.unwrap().items) {
        const t = item.type;
        const shape = t.isMap
          ? `${t.asMap.hashers.map((h) => h.type).join(',')} ${t.asMap.key.toString()} ${t.asMap.value.toString()}`
          : `Plain - ${t.asPlain.toString()}`;
        lines.push(`storage ${pn}.${item.name} ${item.modifier.type} ${shape} ${u8aToHex(item.fallback)}`);
        if (v16) {
          const d = deprecation(item.deprecationInfo);
          if (d) lines.push(`deprecated storage ${pn}.${item.name} ${d}`);
        }
      }
    }
    for (const c of p.constants) {
      lines.push(`constant ${pn}.${c.name} ${c.type.toString()} ${u8aToHex(c.value)}`);
    }
    if (v16) {
      const d = deprecation(p.deprecationInfo);
      if (d) lines.push(`deprecated pallet ${pn} ${d}`);
      for (const a of p.associatedTypes) {
        lines.push(`associated_type ${pn}.${a.name} ${a.type.toString()}`);
      }
      for (const f of p.viewFunctions) {
        const ins = f.inputs.map((i) => `${i.name}:${i.type.toString()}`).join(',');
        lines.push(`view_function ${pn}.${f.name} ${u8aToHex(f.id)} ${ins} ${f.output.toString()}`);
      }
    }
  }
  const x = md.extrinsic;
  if (v16) {
    for (const e of x.transactionExtensions) {
      lines.push(`extension ${e.identifier} ${e.type.toString()} ${e.implicit.toString()}`);
    }
    lines.push(`extrinsic_versions ${Array.from(x.versions).join(',')}`);
    for (const [v, idx] of x.transactionExtensionsByVersion.entries()) {
      lines.push(`extensions_by_version ${v.toNumber()} ${idx.map((i) => i.toNumber()).join(',')}`);
    }
  } else {
    for (const e of x.signedExtensions) {
      lines.push(`extension ${e.identifier} ${e.type.toString()} ${e.additionalSigned.toString()}`);
    }
    lines.push(`extrinsic_versions ${x.version.toNumber()}`);
  }
  if (version >= 15) {
    for (const api of md.apis) {
      for (const m of api.methods) {
        const ins = m.inputs.map((i) => `${i.name}:${i.type.toString()}`).join(',');
        lines.push(`api ${api.name}.${m.name} ${ins} ${m.output.toString()}`);
      }
      if (v16) {
        lines.push(`api_version ${api.name} ${api.version.toNumber()}`);
      }
    }
  }
  return { version, roundtrip, lines };
}

let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  process.stdout.write(JSON.stringify(req.metadata.map(summarize)));
});

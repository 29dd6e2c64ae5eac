// Reads get_neurons_lite of a subnet through @polkadot/api and decodes it
// with polkadot.js's own SCALE types (the layout of subtensor's
// rpc_info/neuron_info.rs). Args on stdin: {"ws":"ws://...","netuid":1}.
// Prints a JSON array of neurons.
const { ApiPromise, WsProvider } = require('@polkadot/api');

const types = {
  AxonInfo: { block: 'u64', version: 'u32', ip: 'u128', port: 'u16', ip_type: 'u8', protocol: 'u8', placeholder1: 'u8', placeholder2: 'u8' },
  PrometheusInfo: { block: 'u64', version: 'u32', ip: 'u128', port: 'u16', ip_type: 'u8' },
  NeuronInfoLite: {
    hotkey: 'AccountId32', coldkey: 'AccountId32', uid: 'Compact<u16>', netuid: 'Compact<u16>', active: 'bool',
    axon_info: 'AxonInfo', prometheus_info: 'PrometheusInfo', stake: 'Vec<(AccountId32, Compact<u64>)>',
    rank: 'Compact<u16>', emission: 'Compact<u64>', incentive: 'Compact<u16>', consensus: 'Compact<u16>',
    trust: 'Compact<u16>', validator_trust: 'Compact<u16>', dividends: 'Compact<u16>', last_update: 'Compact<u64>',
    validator_permit: 'bool', pruning_score: 'Compact<u16>',
  },
};

let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', async () => {
  const req = JSON.parse(input);
  const api = await ApiPromise.create({ provider: new WsProvider(req.ws), types, noInitWarn: true });
  try {
    const arg = api.createType('u16', req.netuid).toHex(true);
    const raw = await api.rpc.state.call('NeuronInfoRuntimeApi_get_neurons_lite', arg);
    let neurons;
    try {
      const inner = api.createType('Bytes', raw.toU8a(true));
      neurons = api.createType('Vec<NeuronInfoLite>', inner.toU8a(true));
    } catch (e) {
      neurons = api.createType('Vec<NeuronInfoLite>', raw.toU8a(true));
    }
    const out = neurons.map((n) => ({
      uid: n.uid.toNumber(), netuid: n.netuid.toNumber(), hotkey: n.hotkey.toString(), coldkey: n.coldkey.toString(),
      active: n.active.isTrue, axon_version: n.axon_info.version.toNumber(), axon_ip: n.axon_info.ip.toString(),
      axon_port: n.axon_info.port.toNumber(), stake: n.stake.reduce((s, [, v]) => s + BigInt(v.toString()), 0n).toString(),
      rank: n.rank.toNumber(), emission: n.emission.toString(), incentive: n.incentive.toNumber(),
      consensus: n.consensus.toNumber(), trust: n.trust.toNumber(), validator_trust: n.validator_trust.toNumber(),
      dividends: n.dividends.toNumber(), last_update: n.last_update.toString(),
      validator_permit: n.validator_permit.isTrue, pruning_score: n.pruning_score.toNumber(),
    }));
    process.stdout.write(JSON.stringify(out));
  } finally {
    await api.disconnect();
  }
});

// Connects to a node with @polkadot/api's ApiPromise (the full start-up a
// wallet or explorer does: metadata, runtime version subscription, chain
// properties, genesis hash), reads System.Account of the sender, and sends
// Balances.transfer_keep_alive signed by polkadot.js (mortal era, nonce from
// the node), waiting until it is in a block.
// Args on stdin: {"ws":"ws://...","from":"//Alice","to":"5...","amount":"123"}.
// Prints {"chain","spec_version","ss58","decimals","symbol","from","free_before",
// "nonce_before","block_hash","events":[...],"free_after"}.
const { ApiPromise, WsProvider } = require('@polkadot/api');
const { Keyring } = require('@polkadot/keyring');
const { cryptoWaitReady } = require('@polkadot/util-crypto');

let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', async () => {
  const req = JSON.parse(input);
  await cryptoWaitReady();
  const provider = new WsProvider(req.ws, false);
  await provider.connect();
  const api = await ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: true });
  try {
    const from = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 }).addFromUri(req.from);
    const before = await api.query.system.account(from.address);
    const chain = (await api.rpc.system.chain()).toString();
    const tx = api.tx.balances.transferKeepAlive(req.to, req.amount);
    const res = await new Promise((resolve, reject) => {
      let unsub;
      tx.signAndSend(from, (r) => {
        if (r.dispatchError) {
          reject(new Error('dispatch error ' + r.dispatchError.toString()));
        } else if (r.status.isInBlock || r.status.isFinalized) {
          if (unsub) unsub();
          resolve({
            block: (r.status.isInBlock ? r.status.asInBlock : r.status.asFinalized).toHex(),
            events: r.events.map(({ event }) => event.section + '.' + event.method),
          });
        } else if (r.status.isInvalid || r.status.isDropped || r.status.isUsurped) {
          reject(new Error('transaction ' + r.status.type));
        }
      }).then((u) => { unsub = u; }, reject);
    });
    const after = await api.query.system.account(from.address);
    process.stdout.write(JSON.stringify({
      chain,
      spec_version: api.runtimeVersion.specVersion.toNumber(),
      ss58: api.registry.chainSS58,
      decimals: api.registry.chainDecimals[0],
      symbol: api.registry.chainTokens[0],
      genesis: api.genesisHash.toHex(),
      from: from.address,
      free_before: before.data.free.toString(),
      nonce_before: before.nonce.toNumber(),
      block_hash: res.block,
      events: res.events,
      free_after: after.data.free.toString(),
    }));
  } finally {
    await api.disconnect();
  }
});

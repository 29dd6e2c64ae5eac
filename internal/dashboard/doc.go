// Package dashboard serves a read-only web view of an SN27 validator: the
// network summary, a sortable miners table (with each miner's latest
// proof-of-GPU verdict), the newest proof-of-GPU verdicts, the allocated
// miners and small charts, all rendered on the server with html/template
// and inline SVG. The CSS is embedded, so the pages work offline and
// without JavaScript; they reload themselves every Config.Refresh through
// <meta http-equiv=refresh>.
//
// Data comes from a [Source], which the caller satisfies with the
// validator's store, chain client and scorer. The [Server] collects one
// snapshot of the source every Config.Refresh (and on the first request if
// none exists yet) and serves every page from the latest snapshot. Charts
// over time come from an in-memory ring of the last snapshots, so they
// start empty when the process starts.
//
// Pages and the JSON endpoints behind them:
//
//	/              overview: summary, miners table, charts, proof-of-GPU verdicts
//	/allocations   allocated miners
//	/api/summary   network summary and the solve-time histogram
//	/api/miners    miners table rows (same ?sort=&dir= as /)
//	/api/allocations
//	/api/history   the snapshot ring: weights and challenge counts over time
//	/api/verdicts  the newest proof-of-GPU verdicts (the miners' rows carry
//	               their latest as gpu_proof)
//
// Only the sort parameters are read from requests, and they are checked
// against a fixed list. Every value from the chain or the store (hotkeys,
// GPU names, verdicts' reasons) is escaped by html/template or, inside the SVG charts, by
// html.EscapeString.
package dashboard

// Package renter rents miners' machines on behalf of the validator's owner:
// the SN27 renter (the reference's register.py), run on the validator's
// machine with the validator's hotkey and SQLite store.
//
// It lists the miners whose hardware specs the validator stored, picks one
// that meets a request, asks it first whether it could serve the request
// (Allocate with checking), then allocates, decrypts the SSH credentials and
// records the allocation. Each allocation has its own fresh RSA-2048 key
// pair: the public key travels in the Allocate synapse and identifies the
// renter to the miner, the private key is kept under Config.KeysDir (PEM,
// mode 0600, in a 0700 directory) named by the miner's hotkey, so that
// actions (restart, pause, unpause, exchange_key) and deallocation work
// after a restart. The store's allocation row and a details file next to the
// key hold host, port, username, deadline and key path, never the password
// or the private key.
//
// Candidates are ordered by the miner's stake, highest first (stake is what
// the network trusts), then by free resources (GPU memory, GPU count, CPU
// cores, available RAM, free disk), then by hotkey; a miner that refuses is
// skipped and the next one asked.
//
// A Service allocates or deallocates one miner for one request at a time:
// a concurrent request for the same miner fails at once with ErrBusy
// (allocations also with ErrAlreadyAllocated), and never touches the renter
// key of the request under way.
package renter

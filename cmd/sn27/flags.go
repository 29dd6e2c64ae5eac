package main

import (
	"github.com/spf13/pflag"

	"github.com/sn27/sn27/internal/hashcat"
)

// addHashcatFlags registers the Python miner's --miner.hashcat.* flags.
func addHashcatFlags(fs *pflag.FlagSet, cfg *hashcat.Config) {
	fs.StringVar(&cfg.Path, "miner.hashcat.path", cfg.Path, "path of the hashcat binary")
	fs.IntVar(&cfg.WorkloadProfile, "miner.hashcat.workload.profile", cfg.WorkloadProfile, "hashcat workload profile: 1 low, 2 economic, 3 high, 4 insane")
	fs.StringVar(&cfg.ExtendedOptions, "miner.hashcat.extended.options", cfg.ExtendedOptions, "extra hashcat options, separated by spaces (e.g. -O)")
	fs.StringVar(&cfg.DeviceTypes, "miner.hashcat.device.types", cfg.DeviceTypes, "hashcat -D device types: 1 CPU, 2 GPU, 3 other, comma-separated; empty lets hashcat choose")
}

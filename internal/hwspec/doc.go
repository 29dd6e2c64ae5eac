// Package hwspec reads the hardware report a miner answers to a Specs query
// (SN27's "specs": cpu, gpu, hard_disk, ram, has_docker) and decides whether
// a report meets a renter's requirement.
//
// Hardware is read from configurable roots (Config.ProcRoot, Config.SysRoot,
// like node_exporter's --path.procfs and --path.sysfs) so tests point them
// at fixtures in testdata/. GPUs are read by running nvidia-smi with a
// timeout and bounded output; its CSV is parsed by ParseNvidiaSMI. The slow
// parts of a report (the GPU query and the RAM and disk speed probes) are
// cached for Config.CacheFor.
//
// Units, as the reference Python miner sends them:
//   - cpu.count: physical cores; cpu.frequency: MHz.
//   - gpu.capacity and gpu.details[].capacity: MiB (nvidia-smi memory.total);
//     gpu.graphics_speed and gpu.memory_speed: MHz.
//   - hard_disk.total/free/used and ram.*: bytes.
//   - *.read_speed and *.write_speed: MB/s where 1 MB = 2^20 bytes.
package hwspec

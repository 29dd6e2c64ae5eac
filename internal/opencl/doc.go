// Package opencl runs our own OpenCL kernels in process on any OpenCL
// device (NVIDIA's and AMD's drivers, or PoCL on CPUs): the mode-610 search
// and proof of GPU's work.
//
// It searches SN27 challenges (hashcat mode 610: BLAKE2b-512 of password
// then salt, mask attack) with search.cl.
//
// The system's ICD loader (libOpenCL.so.1) is loaded at run time with
// github.com/ebitengine/purego, without cgo: a machine without OpenCL runs
// the same binary, and New and Devices fail with an error matching
// ErrUnavailable. purego makes the Go linker emit a dynamically linked
// executable (it needs ld-linux and libc to dlopen); build with -tags
// noopencl for a fully static binary without this solver.
//
// New builds the kernel once for one device and keeps context, queue,
// kernel and buffers; Solver.SolveRange searches any range of the keyspace
// in internal/pow's candidate order, so hybrid splits along hashcat's
// --skip/--limit (on hashcat.Ordered targets) keep working.
//
// Proof of GPU (pog.go, pog.cl; docs/proof-of-gpu.md): a Prover generates
// the seeded matrices of internal/pog on the device, multiplies them in fp32
// with a register-tiled SGEMM (local-memory tiles on GPUs, wide vectors and
// no barriers on CPUs), and fills and digests the memory step's chunks, bit
// for bit as internal/pog computes them. DeviceInfos reports identities
// (PCI bus id, UUID) where the driver's extensions do. The sgemm benchmark
// runs CLBlast's SGEMM beside ours when libclblast.so.1 is installed.
package opencl

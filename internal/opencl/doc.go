// Package opencl searches SN27 challenges (hashcat mode 610: BLAKE2b-512 of
// password then salt, mask attack) with our own OpenCL kernel, search.cl, in
// process, on any OpenCL device: NVIDIA's and AMD's drivers, or PoCL on CPUs.
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
package opencl

// Package docker holds the test of the sn27 container image that
// Dockerfile and build.sh in this directory make from a release tarball
// (make image TARBALL=...; see README.md). It has no code of its own.
package docker

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// selfCommand is how the user runs this sn27 again: "sn27" when the sn27 on
// the PATH is this executable, else its path (./bin/sn27 after `make run`),
// so that the commands the devnet prints run as printed.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "sn27"
	}
	onPath, _ := exec.LookPath("sn27")
	wd, _ := os.Getwd()
	return commandFor(exe, onPath, wd)
}

// commandFor is selfCommand's choice for the executable exe, the PATH's
// sn27 onPath ("" none) and the working directory wd.
func commandFor(exe, onPath, wd string) string {
	if onPath != "" {
		a, errA := os.Stat(exe)
		b, errB := os.Stat(onPath)
		if errA == nil && errB == nil && os.SameFile(a, b) {
			return "sn27"
		}
	}
	if wd != "" {
		if rel, err := filepath.Rel(wd, exe); err == nil && !strings.HasPrefix(rel, "..") {
			return "./" + rel
		}
	}
	return exe
}

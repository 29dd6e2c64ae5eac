// Command sn27 is the SN27 Compute Subnet node: miner, validator, renter
// tools and proof-of-work utilities in one binary.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if exe := takeRestart(); exe != "" {
		// --auto-update installed a release: it takes this process's place.
		err := syscall.Exec(exe, os.Args, os.Environ())
		fmt.Fprintf(os.Stderr, "sn27: updated %s but could not start it (%v); exiting for the service manager to restart it\n", exe, err)
		os.Exit(exitRestartFailed)
	}
	os.Exit(code)
}

// Command zhifu works with Alipay open-platform payments: it generates and
// converts keys, signs requests, verifies (and explains) signatures, and
// runs a local Alipay sandbox.
// Run "zhifu help" for the commands; internal/cli implements them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"zhifu/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Command dsamstan fits Bayesian marketing-mix models with CmdStan.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

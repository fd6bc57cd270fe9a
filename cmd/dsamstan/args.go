package main

import "github.com/spf13/cobra"

// exactArgs is cobra.ExactArgs whose error is a usage error naming what was expected.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return flagErrorf("%s needs %s (got %d arguments)", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

// minArgs is cobra.MinimumNArgs as a usage error.
func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return flagErrorf("%s needs %s", cmd.CommandPath(), what)
		}
		return nil
	}
}

// configArgs accepts the config file either as the one argument or as --config FILE, as
// DSAMbayes's runner spells it; giving both, or neither, is a usage error.
func configArgs(cmd *cobra.Command, args []string) error {
	flag := cmd.Flags().Lookup("config")
	given := flag != nil && flag.Changed
	switch {
	case len(args) > 1:
		return flagErrorf("%s needs one CONFIG (got %d arguments)", cmd.CommandPath(), len(args))
	case len(args) == 1 && given:
		return flagErrorf("%s got the config twice, as %q and as --config %q; give it once", cmd.CommandPath(), args[0], flag.Value.String())
	case len(args) == 0 && !given:
		return flagErrorf("%s needs CONFIG (or --config FILE)", cmd.CommandPath())
	case given && flag.Value.String() == "":
		return flagErrorf("%s: --config is empty; give the config file", cmd.CommandPath())
	}
	return nil
}

// configPath is the config file configArgs accepted.
func configPath(cmd *cobra.Command, args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return cmd.Flags().Lookup("config").Value.String()
}

package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/flagvalue"
)

// flagError says a flag parse error in our words: the flag, the value,
// and what it takes ("--fps "abc" is not a number"), not strconv's.
func flagError(c *cobra.Command, err error) error {
	var bad *pflag.InvalidValueError
	if errors.As(err, &bad) {
		name, value := "--"+bad.GetFlag().Name, bad.GetValue()
		var num *strconv.NumError
		switch {
		case errors.As(err, &num) && num.Err == strconv.ErrRange:
			err = fmt.Errorf("%s %q is out of range", name, value)
		case errors.As(err, &num):
			err = fmt.Errorf("%s %q is not %s", name, value, flagvalue.KindOf(bad.GetFlag().Value.Type()))
		case bad.GetFlag().Value.Type() == "duration":
			err = fmt.Errorf("%s %q is not a duration (e.g. 90s, 5m, 1h)", name, value)
		default:
			err = fmt.Errorf("%s %q: %v", name, value, errors.Unwrap(err))
		}
	}
	if name, ok := strings.CutPrefix(err.Error(), "unknown flag: --"); ok {
		if owners := flagOwners(c.Root(), name); len(owners) > 0 {
			err = fmt.Errorf("%s has no flag --%s (%s take it)", c.CommandPath(), name, strings.Join(owners, ", "))
		}
	}
	return usageErrorf("%v (see '%s --help')", err, c.CommandPath())
}

// flagOwners names the commands that have flag name: a flag given to the
// wrong command (probe --crf) is told where it belongs.
func flagOwners(root *cobra.Command, name string) []string {
	var owners []string
	for _, c := range root.Commands() {
		if c.Flags().Lookup(name) != nil {
			owners = append(owners, c.Name())
		}
	}
	return owners
}

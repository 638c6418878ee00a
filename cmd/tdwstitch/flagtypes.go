package main

import (
	"errors"
	"fmt"
	"strconv"

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
	return usageErrorf("%v (see '%s --help')", err, c.CommandPath())
}

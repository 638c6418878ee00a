package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// enumFlag is a string flag that takes one of a fixed set of values: its
// help shows them (--gaps hold|drop|fail), a wrong one is said with the
// choices, and shell completion offers them.
type enumFlag struct {
	value   *string
	choices []string
	name    string // the placeholder in help when the choices are too many to list there
}

func (e *enumFlag) String() string { return *e.value }

func (e *enumFlag) Set(v string) error {
	if !slices.Contains(e.choices, v) {
		return fmt.Errorf("want one of %s", strings.Join(e.choices, ", "))
	}
	*e.value = v
	return nil
}

func (e *enumFlag) Type() string {
	if e.name != "" {
		return e.name
	}
	return strings.Join(e.choices, "|")
}

// enumVar defines an enumFlag with a default value. More than four
// choices are listed in the usage, under an upper-case placeholder.
func enumVar(fs *pflag.FlagSet, p *string, name, value string, choices []string, usage string) {
	*p = value
	e := &enumFlag{value: p, choices: choices}
	if len(choices) > 4 {
		e.name = strings.ToUpper(name)
		usage += ": " + strings.Join(choices, ", ")
	}
	fs.Var(e, name, usage)
}

// completeEnums registers shell completion of every enum flag of c and
// its subcommands: their choices, without file names.
func completeEnums(c *cobra.Command) {
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if e, ok := f.Value.(*enumFlag); ok {
			c.RegisterFlagCompletionFunc(f.Name, cobra.FixedCompletions(e.choices, cobra.ShellCompDirectiveNoFileComp))
		}
	})
	for _, sub := range c.Commands() {
		completeEnums(sub)
	}
}

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
			err = fmt.Errorf("%s %q is not %s", name, value, kindOf(bad.GetFlag().Value.Type()))
		case bad.GetFlag().Value.Type() == "duration":
			err = fmt.Errorf("%s %q is not a duration (e.g. 90s, 5m, 1h)", name, value)
		default:
			err = fmt.Errorf("%s %q: %v", name, value, errors.Unwrap(err))
		}
	}
	return usageErrorf("%v (see '%s --help')", err, c.CommandPath())
}

// kindOf names what a numeric flag type takes.
func kindOf(typ string) string {
	switch {
	case strings.HasPrefix(typ, "float"):
		return "a number"
	case strings.HasPrefix(typ, "int"), strings.HasPrefix(typ, "uint"):
		return "a whole number"
	case typ == "bool":
		return "true or false"
	}
	return "a " + typ
}

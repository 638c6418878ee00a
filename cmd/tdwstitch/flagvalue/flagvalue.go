// Package flagvalue holds the CLI's flag value types: choices shown in help,
// refused by name and completed in the shell, and what a typed flag takes
// in words, for error messages.
package flagvalue

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Enum is a string flag that takes one of a fixed set of values: its
// help shows them (--gaps hold|drop|fail), a wrong one is said with the
// choices, and shell completion offers them.
type Enum struct {
	value   *string
	choices []string
	name    string // the placeholder in help when the choices are too many to list there
}

func (e *Enum) String() string { return *e.value }

func (e *Enum) Set(v string) error {
	if !slices.Contains(e.choices, v) {
		return fmt.Errorf("want one of %s", strings.Join(e.choices, ", "))
	}
	*e.value = v
	return nil
}

func (e *Enum) Type() string {
	if e.name != "" {
		return e.name
	}
	return strings.Join(e.choices, "|")
}

// EnumVar defines an Enum with a default value. More than four
// choices are listed in the usage, under an upper-case placeholder.
func EnumVar(fs *pflag.FlagSet, p *string, name, value string, choices []string, usage string) {
	*p = value
	e := &Enum{value: p, choices: choices}
	if len(choices) > 4 {
		e.name = strings.ToUpper(name)
		usage += ": " + strings.Join(choices, ", ")
	}
	fs.Var(e, name, usage)
}

// CompleteEnums registers shell completion of every enum flag of c and
// its subcommands: their choices, without file names.
func CompleteEnums(c *cobra.Command) {
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if e, ok := f.Value.(*Enum); ok {
			c.RegisterFlagCompletionFunc(f.Name, cobra.FixedCompletions(e.choices, cobra.ShellCompDirectiveNoFileComp))
		}
	})
	for _, sub := range c.Commands() {
		CompleteEnums(sub)
	}
}

// KindOf names what a numeric flag type takes.
func KindOf(typ string) string {
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

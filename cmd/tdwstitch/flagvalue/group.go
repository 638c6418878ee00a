package flagvalue

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// groupKey is the flag annotation that files a flag under a help group:
// the group's title and its place among the command's groups.
const groupKey = "tdwstitch_group"

// Group files the named flags of fs under title in help ("Socket:",
// "Limits:"), groups in the order they were first named: a command with
// thirty flags reads as a few short lists. A name fs lacks is a bug.
func Group(fs *pflag.FlagSet, title string, names ...string) {
	rank := -1
	seen := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) {
		if g := f.Annotations[groupKey]; len(g) == 2 {
			seen[g[0]] = true
			if g[0] == title {
				fmt.Sscan(g[1], &rank)
			}
		}
	})
	if rank < 0 {
		rank = len(seen)
	}
	for _, name := range names {
		if fs.Lookup(name) == nil {
			panic("flagvalue.Group: no flag --" + name)
		}
		fs.SetAnnotation(name, groupKey, []string{title, fmt.Sprint(rank)})
	}
}

// Usages renders fs's flags for help: those in no group under "Flags:",
// then each group under its title.
func Usages(fs *pflag.FlagSet) string {
	var titles []string
	sets := map[string]*pflag.FlagSet{}
	ranks := map[string]int{}
	fs.VisitAll(func(f *pflag.Flag) {
		title, rank := "Flags", -1
		if g := f.Annotations[groupKey]; len(g) == 2 {
			title = g[0]
			fmt.Sscan(g[1], &rank)
		}
		if sets[title] == nil {
			sets[title] = pflag.NewFlagSet(title, pflag.ContinueOnError)
			titles, ranks[title] = append(titles, title), rank
		}
		sets[title].AddFlag(f)
	})
	slices.SortStableFunc(titles, func(a, b string) int { return cmp.Compare(ranks[a], ranks[b]) })
	var b strings.Builder
	for _, t := range titles {
		fmt.Fprintf(&b, "\n\n%s:\n%s", t, strings.TrimRight(sets[t].FlagUsages(), " \n"))
	}
	return b.String()
}

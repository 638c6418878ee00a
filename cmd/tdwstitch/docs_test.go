package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestCLIDocsMatchHelp: docs/cli.md documents every flag each command's
// --help shows, with its short form, and no flag that is not there: the
// reference page cannot drift from the binary. Its format: a section
// "## tdwstitch COMMAND" per command, a table row per flag naming it in
// backticks (`-o`, `--output`).
func TestCLIDocsMatchHelp(t *testing.T) {
	text, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := docFlags(string(text))
	root := newRootCmd(ioStreams{Out: new(strings.Builder), Err: new(strings.Builder)})
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		inHelp := map[string]bool{}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" {
				return
			}
			inHelp["--"+f.Name] = true
			if f.Shorthand != "" {
				inHelp["-"+f.Shorthand] = true
			}
		})
		docs, ok := documented[c.Name()]
		if !ok {
			t.Errorf("docs/cli.md has no section '## tdwstitch %s'", c.Name())
			continue
		}
		for _, f := range sortedKeys(inHelp) {
			if _, ok := docs[f]; !ok {
				t.Errorf("tdwstitch %s %s: in --help, not in docs/cli.md", c.Name(), f)
			}
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			// The value's placeholder (FILE, N, hold|drop|fail) reads the same.
			name, _ := pflag.UnquoteUsage(f)
			if row, ok := docs["--"+f.Name]; ok && name != "" && !strings.Contains(row, "`"+name+"`") {
				t.Errorf("tdwstitch %s --%s: docs/cli.md does not name its value `%s` as --help does:\n%s", c.Name(), f.Name, name, row)
			}
		})
		for _, f := range sortedKeys(docs) {
			if _, ok := inHelp[f]; !ok {
				t.Errorf("tdwstitch %s %s: in docs/cli.md, not in --help", c.Name(), f)
			}
		}
	}
	for name := range documented {
		if c, _, err := root.Find([]string{name}); err != nil || c == root {
			t.Errorf("docs/cli.md documents a command 'tdwstitch %s' that does not exist", name)
		}
	}
}

// docFlags reads docs/cli.md's flag tables: command name -> the flags
// (and short forms) its table rows name in backticks -> the row (its
// escaped pipes unescaped).
func docFlags(text string) map[string]map[string]string {
	section := regexp.MustCompile("^## tdwstitch ([a-z]+)\\s*$")
	flag := regexp.MustCompile("^\\|\\s*((?:`-[a-zA-Z0-9-]+`(?:,\\s*)?)+)\\s*\\|")
	names := regexp.MustCompile("`(-[a-zA-Z0-9-]+)`")
	out := map[string]map[string]string{}
	var cur map[string]string
	for _, line := range strings.Split(text, "\n") {
		if m := section.FindStringSubmatch(line); m != nil {
			cur = map[string]string{}
			out[m[1]] = cur
			continue
		}
		if strings.HasPrefix(line, "## ") {
			cur = nil
		}
		if m := flag.FindStringSubmatch(line); m != nil && cur != nil {
			for _, n := range names.FindAllStringSubmatch(m[1], -1) {
				cur[n[1]] = strings.ReplaceAll(line, `\|`, "|")
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestHelpShowsWhatApplies: every command's help has examples whose flags
// are that command's; probe does not offer the encoding's own flags;
// serve's flags come in groups, socket and limits first, and speak of no
// RUN_DIR it does not have.
func TestHelpShowsWhatApplies(t *testing.T) {
	root := newRootCmd(ioStreams{Out: new(strings.Builder), Err: new(strings.Builder)})
	example := regexp.MustCompile(`(?m)^\s+tdwstitch ([a-z]+)(.*)$`)
	for _, c := range append(root.Commands(), root) {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if c.Example == "" {
			t.Errorf("%s: no examples", c.CommandPath())
		}
		for _, m := range example.FindAllStringSubmatch(c.Example, -1) {
			sub, _, err := root.Find([]string{m[1]})
			if err != nil || sub == root {
				t.Errorf("%s example %q: no command %s", c.CommandPath(), m[0], m[1])
				continue
			}
			for _, word := range strings.Fields(m[2]) {
				name, isFlag := strings.CutPrefix(word, "--")
				if isFlag && sub.Flags().Lookup(strings.SplitN(name, "=", 2)[0]) == nil {
					t.Errorf("%s example %q: %s has no flag %s", c.CommandPath(), strings.TrimSpace(m[0]), sub.CommandPath(), word)
				}
			}
		}
	}
	help := func(args ...string) string {
		_, out, _ := cli(t, append(args, "--help")...)
		return out
	}
	probe := help("probe")
	for _, encodeOnly := range []string{"--crf", "--preset", "--stall-timeout", "--mosaic", "--preview", "--depth-planes"} {
		if strings.Contains(probe, encodeOnly+" ") {
			t.Errorf("probe --help offers %s, which only encoding uses", encodeOnly)
		}
	}
	if !strings.Contains(probe, "streams checked at once") {
		t.Errorf("probe --help: --jobs does not say it checks streams:\n%s", probe)
	}
	serve := help("serve")
	socket, limits, frames := strings.Index(serve, "\nSocket:\n"), strings.Index(serve, "\nLimits:\n"), strings.Index(serve, "\nFrames, audio and timing:\n")
	if socket < 0 || limits < socket || frames < limits || strings.Contains(serve, "RUN_DIR") {
		t.Errorf("serve --help: want the groups Socket, Limits, then the encoding's, and no RUN_DIR:\n%s", serve)
	}
}

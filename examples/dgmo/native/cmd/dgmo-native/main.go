// dgmo-native is DGMO's Go components as one multi-call program, the Windows build: every Go
// executable carries its own runtime, so one program instead of three keeps the Windows
// distribution small. `dgmo-native TOOL [ARG...]` runs TOOL (file-watcher, process-manager or
// system-info) exactly as its own program would run with ARG...: os.Args becomes TOOL ARG..., so
// its flags, usage text, output and exit status are the separate program's (cmd/file-watcher,
// cmd/process-manager, cmd/system-info, the Linux builds).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"dgmo.dev/native/internal/filewatcher"
	"dgmo.dev/native/internal/processmanager"
	"dgmo.dev/native/internal/systeminfo"
)

// tools are the programs dgmo-native can be, each with its Main and a line of usage.
var tools = []struct {
	name  string
	main  func()
	about string
}{
	{"file-watcher", filewatcher.Main, "print one JSON line per created, modified or removed file"},
	{"process-manager", processmanager.Main, "run a command, restarting it on failure"},
	{"system-info", systeminfo.Main, "print facts about the machine as JSON"},
}

// names lists the tools, comma-separated.
func names() string {
	var n []string
	for _, t := range tools {
		n = append(n, t.name)
	}
	return strings.Join(n, ", ")
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: dgmo-native TOOL [ARG...]\n\nRuns TOOL with ARG... (TOOL --help: its own usage). TOOL is one of:\n\n")
	for _, t := range tools {
		fmt.Fprintf(w, "  %-16s %s\n", t.name, t.about)
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintf(os.Stderr, "dgmo-native: no tool given (usage: dgmo-native TOOL [ARG...], TOOL one of %s)\n", names())
		os.Exit(2)
	}
	switch os.Args[1] {
	case "-h", "-help", "--help":
		usage(os.Stdout)
		os.Exit(0)
	}
	for _, t := range tools {
		if t.name == os.Args[1] {
			os.Args = append([]string{t.name}, os.Args[2:]...)
			// The flag set was named after os.Args[0] at start; it is the tool's now. (The tools
			// set their own usage text, so only the name changes.)
			flag.CommandLine.Init(t.name, flag.ExitOnError)
			t.main()
			return
		}
	}
	fmt.Fprintf(os.Stderr, "dgmo-native: unknown tool %q (known: %s)\n", os.Args[1], names())
	os.Exit(2)
}

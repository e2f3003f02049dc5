// Package systeminfo is the system-info tool: cmd/system-info on Linux, `dgmo-native system-info`
// on Windows (cmd/dgmo-native).
//
// system-info prints facts about the machine as one JSON object.
// DGMO's `sysinfo` command runs it through the launcher's `dgmo-sysinfo` entry.
// The keys are the same on every platform; where the facts come from is not: /proc on Linux
// (facts_proc.go), the Windows API on Windows (facts_windows.go). A fact that cannot be had is
// empty (0, "" or [] for the load average), never fatal.
package systeminfo

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
)

type info struct {
	OS          string   `json:"os"`
	Arch        string   `json:"arch"`
	Hostname    string   `json:"hostname"`
	Kernel      string   `json:"kernel"`
	CPUs        int      `json:"cpus"`
	MemTotalKiB uint64   `json:"mem_total_kib"`
	MemAvailKiB uint64   `json:"mem_available_kib"`
	UptimeSec   float64  `json:"uptime_seconds"`
	LoadAvg     []string `json:"load_average"`
	GoVersion   string   `json:"go_version"`
	PID         int      `json:"pid"`
}

// Main runs system-info with os.Args (os.Args[0] is not used) and returns when it is done
// (or exits, with status 1 or 2, on an error).
func Main() {
	pretty := flag.Bool("pretty", false, "indent the JSON output")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: system-info [--pretty]\n\nPrints the OS, CPU count, memory, kernel, uptime and load as JSON.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "system-info: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	i := collect()
	enc := json.NewEncoder(os.Stdout)
	if *pretty {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(i); err != nil {
		fmt.Fprintf(os.Stderr, "system-info: %v\n", err)
		os.Exit(1)
	}
}

// collect gathers the facts: the portable ones here, the rest from the platform (osFacts).
func collect() info {
	i := info{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), PID: os.Getpid()}
	i.Hostname, _ = os.Hostname()
	osFacts(&i)
	if i.LoadAvg == nil {
		i.LoadAvg = []string{}
	}
	return i
}

// system-info prints facts about the machine as one JSON object.
// DGMO's `sysinfo` command runs it through the launcher's `dgmo-sysinfo` entry.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
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

func main() {
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
	i := info{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), PID: os.Getpid()}
	i.Hostname, _ = os.Hostname()
	i.Kernel = firstLine("/proc/sys/kernel/osrelease")
	mem := meminfo()
	i.MemTotalKiB, i.MemAvailKiB = mem["MemTotal"], mem["MemAvailable"]
	if f := strings.Fields(firstLine("/proc/uptime")); len(f) > 0 {
		i.UptimeSec, _ = strconv.ParseFloat(f[0], 64)
	}
	if f := strings.Fields(firstLine("/proc/loadavg")); len(f) >= 3 {
		i.LoadAvg = f[:3]
	} else {
		i.LoadAvg = []string{}
	}
	enc := json.NewEncoder(os.Stdout)
	if *pretty {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(i); err != nil {
		fmt.Fprintf(os.Stderr, "system-info: %v\n", err)
		os.Exit(1)
	}
}

// firstLine returns the first line of a file, or "" when it cannot be read
// (a chroot without /proc, say): missing facts are empty, not fatal.
func firstLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	if s.Scan() {
		return strings.TrimSpace(s.Text())
	}
	return ""
}

func meminfo() map[string]uint64 {
	out := map[string]uint64{}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return out
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) >= 2 {
			if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				out[strings.TrimSuffix(f[0], ":")] = v
			}
		}
	}
	return out
}

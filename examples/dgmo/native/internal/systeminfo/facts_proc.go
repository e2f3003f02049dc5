//go:build !windows

// Linux (and any other non-Windows build): the facts come from /proc. Without /proc (a chroot,
// say) they stay empty.
package systeminfo

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// osFacts fills the kernel release, memory, uptime and load average from /proc.
func osFacts(i *info) {
	i.Kernel = firstLine("/proc/sys/kernel/osrelease")
	mem := meminfo()
	i.MemTotalKiB, i.MemAvailKiB = mem["MemTotal"], mem["MemAvailable"]
	if f := strings.Fields(firstLine("/proc/uptime")); len(f) > 0 {
		i.UptimeSec, _ = strconv.ParseFloat(f[0], 64)
	}
	if f := strings.Fields(firstLine("/proc/loadavg")); len(f) >= 3 {
		i.LoadAvg = f[:3]
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

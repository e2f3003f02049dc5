// On Windows the facts are the Windows API's, never the Linux host's: under wine the Linux
// /proc is readable (through Z:), and these tests check that none of it leaks in.
package systeminfo

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"unsafe"
)

func TestTheKernelIsTheWindowsVersion(t *testing.T) {
	i := collect()
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(i.Kernel) {
		t.Errorf("kernel %q, want a Windows version (major.minor.build)", i.Kernel)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil { // under wine, via Z:
		if strings.TrimSpace(string(b)) == i.Kernel {
			t.Errorf("kernel %q is the Linux host's /proc release", i.Kernel)
		}
	}
	if len(i.LoadAvg) != 0 {
		t.Errorf("load_average %v: Windows has none", i.LoadAvg)
	}
}

// The structures are handed to Windows with their size in them: they must be the C layout.
func TestStructuresHaveTheWindowsLayout(t *testing.T) {
	if s := unsafe.Sizeof(osVersionInfo{}); s != 276 {
		t.Errorf("sizeof OSVERSIONINFOW = %d, want 276", s)
	}
	if s := unsafe.Sizeof(memoryStatusEx{}); s != 64 {
		t.Errorf("sizeof MEMORYSTATUSEX = %d, want 64", s)
	}
}

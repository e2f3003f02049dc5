//go:build linux

// On Linux the facts are /proc's.
package systeminfo

import (
	"os"
	"strings"
	"testing"
)

func TestTheKernelIsProcs(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Skip("no /proc here")
	}
	if got, want := collect().Kernel, strings.TrimSpace(string(b)); got != want {
		t.Errorf("kernel %q, want %q", got, want)
	}
	if l := collect().LoadAvg; len(l) != 3 {
		t.Errorf("load_average %v, want three figures", l)
	}
}

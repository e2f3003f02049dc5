// Watching and killing a pid on Linux, for the tests: a process is gone when /proc no longer
// has it or it is a zombie (re-parented to an init that has not reaped it yet).
package processmanager

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

type proc struct{ pid int }

// watchProc watches pid; whatever still runs at the end of the test is killed.
func watchProc(t *testing.T, pid int) *proc {
	p := &proc{pid}
	t.Cleanup(func() {
		if !p.gone(0) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return p
}

// gone waits up to d for the process to end.
func (p *proc) gone(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/stat")
		if err != nil {
			return true
		}
		// pid (comm) STATE ...: comm may hold spaces and parentheses, the state follows the last ')'.
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && (f[0] == "Z" || f[0] == "X") {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A signal sent to process-manager is passed on; the command's death by it is reported and
// becomes process-manager's status (128+n), and it is not restarted.
func TestASignalIsPassedOnAndReported(t *testing.T) {
	dir := t.TempDir()
	cmd := supervisor(t, dir, "tree", nil, "--restarts", "3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	childPID, grandchildPID := pids(t, dir)
	watchProc(t, grandchildPID)
	child := watchProc(t, childPID)
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd.Wait()); code != 143 {
		t.Errorf("exit status %d, want 143 (SIGTERM)", code)
	}
	rs := reports(t, dir)
	if len(rs) != 2 || keys(rs[1]) != "attempt,event,signal,status" || rs[1]["signal"] != "terminated" || rs[1]["status"] != 143.0 {
		t.Errorf("reports %v, want a start and an exit by SIGTERM", rs)
	}
	if !child.gone(5 * time.Second) {
		t.Error("the command still runs")
	}
}

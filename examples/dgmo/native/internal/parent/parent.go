// Package parent tells a DGMO component when the process that started it is gone, so that the
// component stops rather than run on unowned after dgmo was killed without passing a signal on.
// The expected parent is DGMO_PARENT_PID when dgmo set it (the CLI names itself there), else the
// parent at start. How "gone" is decided differs by platform (parent_unix.go, parent_windows.go).
package parent

import (
	"os"
	"strconv"
)

// ExpectedPID is the process that started this component: DGMO_PARENT_PID when dgmo set it (on
// Linux the launcher execs the component, so dgmo itself is the parent; if dgmo died before the
// component started, the component already has another parent and stops at its first check),
// else the parent at start.
func ExpectedPID() int {
	if pid, err := strconv.Atoi(os.Getenv("DGMO_PARENT_PID")); err == nil && pid > 0 {
		return pid
	}
	return os.Getppid()
}

// WatchExpected watches ExpectedPID.
func WatchExpected() *Watcher { return Watch(ExpectedPID()) }

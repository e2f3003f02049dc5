//go:build !windows

// On Unix an orphan is re-parented (to init or a subreaper), so os.Getppid changing away from the
// expected pid is the signal; no handle or polling of the parent itself is needed.
package parent

import "os"

// Watcher remembers the expected parent.
type Watcher struct{ pid int }

// Watch starts watching pid.
func Watch(pid int) *Watcher { return &Watcher{pid: pid} }

// Gone reports whether this process's parent is no longer the expected one.
func (w *Watcher) Gone() bool { return os.Getppid() != w.pid }

// On Windows a process is not re-parented: os.Getppid keeps returning the pid recorded at
// creation after that parent died (and the pid may even be reused). So the watcher opens a
// handle to the expected parent once, at start, and polls it (WaitForSingleObject with a zero
// timeout). Holding the handle keeps the pid from being reused while we watch. A pid that cannot
// be opened at start, or whose process was created after this one (the pid was reused before we
// opened it, so it cannot be the process that started us), counts as gone at once.
package parent

import "syscall"

// processQueryLimitedInformation is PROCESS_QUERY_LIMITED_INFORMATION (not in package syscall):
// enough for GetProcessTimes on another user's or an elevated process.
const processQueryLimitedInformation = 0x1000

// Watcher holds a handle to the expected parent (0 when it was gone at start).
type Watcher struct {
	h   syscall.Handle
	pid int
}

// Watch opens pid for waiting. The handle is never closed: it lives as long as the process.
func Watch(pid int) *Watcher {
	w := &Watcher{pid: pid}
	if pid <= 0 {
		return w
	}
	h, err := syscall.OpenProcess(syscall.SYNCHRONIZE|processQueryLimitedInformation, false, uint32(pid))
	if err != nil {
		return w
	}
	if createdAfterUs(h) {
		syscall.CloseHandle(h)
		return w
	}
	w.h = h
	return w
}

// Gone reports whether the expected parent has exited (or was never there).
func (w *Watcher) Gone() bool {
	if w.h == 0 {
		return true
	}
	ev, err := syscall.WaitForSingleObject(w.h, 0)
	return err == nil && ev == syscall.WAIT_OBJECT_0
}

// createdAfterUs: the process behind h started later than this one, so it is not our parent.
// When either creation time cannot be read, the process is given the benefit of the doubt.
func createdAfterUs(h syscall.Handle) bool {
	var theirs, ours, exit, kernel, user syscall.Filetime
	if syscall.GetProcessTimes(h, &theirs, &exit, &kernel, &user) != nil {
		return false
	}
	self, _ := syscall.GetCurrentProcess()
	if syscall.GetProcessTimes(self, &ours, &exit, &kernel, &user) != nil {
		return false
	}
	return theirs.Nanoseconds() > ours.Nanoseconds()
}

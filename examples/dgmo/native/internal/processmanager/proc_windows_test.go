// Watching and killing a pid on Windows, for the tests: a handle is opened at once (so the pid
// cannot be reused while the test looks at it) and waited on.
package processmanager

import (
	"syscall"
	"testing"
	"time"
	"unsafe"
)

type proc struct{ h syscall.Handle }

// watchProc opens pid; whatever still runs at the end of the test is terminated.
func watchProc(t *testing.T, pid int) *proc {
	t.Helper()
	h, err := syscall.OpenProcess(syscall.SYNCHRONIZE|syscall.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		t.Fatalf("OpenProcess %d: %v", pid, err)
	}
	p := &proc{h}
	t.Cleanup(func() {
		if !p.gone(0) {
			syscall.TerminateProcess(h, 1)
		}
		syscall.CloseHandle(h)
	})
	return p
}

// gone waits up to d for the process to end.
func (p *proc) gone(d time.Duration) bool {
	ev, err := syscall.WaitForSingleObject(p.h, uint32(d.Milliseconds()))
	return err == nil && ev == syscall.WAIT_OBJECT_0
}

// The limit structure is handed to SetInformationJobObject by size: it must be the x64 layout.
func TestJobLimitStructureHasTheX64Layout(t *testing.T) {
	var info jobObjectExtendedLimitInformation
	if s := unsafe.Sizeof(info); s != 144 {
		t.Errorf("sizeof JOBOBJECT_EXTENDED_LIMIT_INFORMATION = %d, want 144", s)
	}
	if s := unsafe.Sizeof(info.BasicLimitInformation); s != 64 {
		t.Errorf("sizeof JOBOBJECT_BASIC_LIMIT_INFORMATION = %d, want 64", s)
	}
	if o := unsafe.Offsetof(info.BasicLimitInformation.LimitFlags); o != 16 {
		t.Errorf("offset of LimitFlags = %d, want 16", o)
	}
	if o := unsafe.Offsetof(info.IoInfo); o != 64 {
		t.Errorf("offset of IoInfo = %d, want 64", o)
	}
	if o := unsafe.Offsetof(info.ProcessMemoryLimit); o != 112 {
		t.Errorf("offset of ProcessMemoryLimit = %d, want 112", o)
	}
}

// Windows has no parent-death signal. Instead every command runs in one job object with
// JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, whose only handle process-manager holds (not inheritable):
// when process-manager exits or is killed, Windows closes that handle and kills everything in
// the job, the command and whatever it started (children inherit the job; breakaway is not
// allowed). The command is created suspended and resumed only once it is in the job, so not
// even its first instructions can start a process outside it.
//
// There are no signals to pass on: Process.Signal(os.Interrupt) is not supported on Windows. A
// console Ctrl+C or Ctrl+Break already reaches the command itself, which shares the console, so
// the first one is left to the command (it may clean up and exit, as under a shell); a second one,
// a close/logoff/shutdown event (SIGTERM) or a parent gone terminates it (exit status 1).
package processmanager

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"unsafe"
)

var (
	kernel32                     = syscall.NewLazyDLL("kernel32.dll")
	ntdll                        = syscall.NewLazyDLL("ntdll.dll")
	procCreateJobObjectW         = kernel32.NewProc("CreateJobObjectW")
	procSetInformationJobObject  = kernel32.NewProc("SetInformationJobObject")
	procAssignProcessToJobObject = kernel32.NewProc("AssignProcessToJobObject")
	procNtResumeProcess          = ntdll.NewProc("NtResumeProcess")
)

const (
	createSuspended                 = 0x00000004 // CREATE_SUSPENDED
	jobObjectExtendedLimitInfoClass = 9          // JobObjectExtendedLimitInformation (a JOBOBJECTINFOCLASS)
	jobObjectLimitKillOnJobClose    = 0x00002000 // JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	processSetQuota                 = 0x0100     // PROCESS_SET_QUOTA (AssignProcessToJobObject)
	processTerminate                = 0x0001     // PROCESS_TERMINATE (AssignProcessToJobObject)
	processSuspendResume            = 0x0800     // PROCESS_SUSPEND_RESUME (NtResumeProcess)
)

// jobObjectBasicLimitInformation is JOBOBJECT_BASIC_LIMIT_INFORMATION. Go lays the fields out
// as C does (LARGE_INTEGER as int64, SIZE_T and ULONG_PTR as uintptr, DWORD as uint32, each
// aligned to its size): 64 bytes on x64, LimitFlags at offset 16.
type jobObjectBasicLimitInformation struct {
	PerProcessUserTimeLimit int64
	PerJobUserTimeLimit     int64
	LimitFlags              uint32
	MinimumWorkingSetSize   uintptr
	MaximumWorkingSetSize   uintptr
	ActiveProcessLimit      uint32
	Affinity                uintptr
	PriorityClass           uint32
	SchedulingClass         uint32
}

// ioCounters is IO_COUNTERS: six ULONGLONGs.
type ioCounters struct {
	ReadOperationCount, WriteOperationCount, OtherOperationCount uint64
	ReadTransferCount, WriteTransferCount, OtherTransferCount    uint64
}

// jobObjectExtendedLimitInformation is JOBOBJECT_EXTENDED_LIMIT_INFORMATION (144 bytes on x64).
type jobObjectExtendedLimitInformation struct {
	BasicLimitInformation jobObjectBasicLimitInformation
	IoInfo                ioCounters
	ProcessMemoryLimit    uintptr
	JobMemoryLimit        uintptr
	PeakProcessMemoryUsed uintptr
	PeakJobMemoryUsed     uintptr
}

// job is the one job object of this process-manager, made at the first start.
var job syscall.Handle

// newKillOnCloseJob makes an unnamed job object that kills its processes when its last handle
// closes.
func newKillOnCloseJob() (syscall.Handle, error) {
	r, _, err := procCreateJobObjectW.Call(0, 0)
	if r == 0 {
		return 0, fmt.Errorf("CreateJobObjectW: %w", err)
	}
	h := syscall.Handle(r)
	var info jobObjectExtendedLimitInformation
	info.BasicLimitInformation.LimitFlags = jobObjectLimitKillOnJobClose
	r, _, err = procSetInformationJobObject.Call(uintptr(h), jobObjectExtendedLimitInfoClass,
		uintptr(unsafe.Pointer(&info)), unsafe.Sizeof(info))
	if r == 0 {
		syscall.CloseHandle(h)
		return 0, fmt.Errorf("SetInformationJobObject: %w", err)
	}
	return h, nil
}

// prepare makes cmd start suspended (started resumes it once it is in the job).
func prepare(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: createSuspended}
}

// started puts the suspended command into the job and resumes it. The pid cannot have been
// reused in between: the command has not run, and os/exec holds a handle to it.
func started(cmd *exec.Cmd) error {
	if job == 0 {
		h, err := newKillOnCloseJob()
		if err != nil {
			return err
		}
		job = h
	}
	p, err := syscall.OpenProcess(processSetQuota|processTerminate|processSuspendResume, false, uint32(cmd.Process.Pid))
	if err != nil {
		return fmt.Errorf("OpenProcess: %w", err)
	}
	defer syscall.CloseHandle(p)
	if r, _, err := procAssignProcessToJobObject.Call(uintptr(job), uintptr(p)); r == 0 {
		return fmt.Errorf("AssignProcessToJobObject: %w", err)
	}
	if st, _, _ := procNtResumeProcess.Call(uintptr(p)); st != 0 {
		return fmt.Errorf("NtResumeProcess: NTSTATUS 0x%08x", uint32(st))
	}
	return nil
}

// interrupts counts the console's Ctrl+C/Ctrl+Break events seen while a command runs.
var interrupts int

// stop ends the command: Windows cannot deliver s, so it is terminated, except at the first
// console interrupt, which the command received from the console too.
func stop(p *os.Process, s os.Signal) {
	if s == os.Interrupt {
		interrupts++
		if interrupts == 1 {
			return
		}
	}
	p.Kill()
}

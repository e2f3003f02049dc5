// Windows: the facts come from the Windows API, never from /proc. (Under wine a read of
// "/proc/..." can succeed, through the Z: drive that maps the Linux root, and would report the
// Linux host as if it were Windows.) kernel is the Windows version as RtlGetVersion gives it,
// "major.minor.build" (e.g. 10.0.19045; RtlGetVersion, unlike GetVersionEx, is not capped by
// the program's manifest); uptime from GetTickCount64; memory from GlobalMemoryStatusEx.
// Windows has no load average: load_average stays [] (as on Linux without /proc).
package systeminfo

import (
	"fmt"
	"syscall"
	"unsafe"
)

var (
	kernel32                 = syscall.NewLazyDLL("kernel32.dll")
	ntdll                    = syscall.NewLazyDLL("ntdll.dll")
	procGetTickCount64       = kernel32.NewProc("GetTickCount64")
	procGlobalMemoryStatusEx = kernel32.NewProc("GlobalMemoryStatusEx")
	procRtlGetVersion        = ntdll.NewProc("RtlGetVersion")
)

// osVersionInfo is OSVERSIONINFOW (276 bytes).
type osVersionInfo struct {
	OSVersionInfoSize uint32
	MajorVersion      uint32
	MinorVersion      uint32
	BuildNumber       uint32
	PlatformID        uint32
	CSDVersion        [128]uint16
}

// memoryStatusEx is MEMORYSTATUSEX (64 bytes).
type memoryStatusEx struct {
	Length               uint32
	MemoryLoad           uint32
	TotalPhys            uint64
	AvailPhys            uint64
	TotalPageFile        uint64
	AvailPageFile        uint64
	TotalVirtual         uint64
	AvailVirtual         uint64
	AvailExtendedVirtual uint64
}

// osFacts fills the Windows version, memory and uptime.
func osFacts(i *info) {
	v := osVersionInfo{OSVersionInfoSize: uint32(unsafe.Sizeof(osVersionInfo{}))}
	if st, _, _ := procRtlGetVersion.Call(uintptr(unsafe.Pointer(&v))); st == 0 {
		i.Kernel = fmt.Sprintf("%d.%d.%d", v.MajorVersion, v.MinorVersion, v.BuildNumber)
	}
	m := memoryStatusEx{Length: uint32(unsafe.Sizeof(memoryStatusEx{}))}
	if r, _, _ := procGlobalMemoryStatusEx.Call(uintptr(unsafe.Pointer(&m))); r != 0 {
		i.MemTotalKiB, i.MemAvailKiB = m.TotalPhys/1024, m.AvailPhys/1024
	}
	// GetTickCount64 returns a ULONGLONG in RAX: on amd64 (and arm64) r holds all of it.
	ms, _, _ := procGetTickCount64.Call()
	i.UptimeSec = float64(ms) / 1000
}

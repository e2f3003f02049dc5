// Linux: the command gets a parent-death signal (SIGTERM), so the kernel stops it should
// process-manager die by SIGKILL; stopping passes the received signal on unchanged.
package processmanager

import (
	"os"
	"os/exec"
	"syscall"
)

// prepare sets up cmd before it starts.
func prepare(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// started finishes setting up a started cmd; nothing is left to do on Linux.
func started(cmd *exec.Cmd) error { return nil }

// stop passes s on to the command.
func stop(p *os.Process, s os.Signal) { p.Signal(s) }

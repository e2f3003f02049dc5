// Package processmanager is the process-manager tool: cmd/process-manager on Linux,
// `dgmo-native process-manager` on Windows (cmd/dgmo-native).
//
// process-manager runs a command, forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT to it (on Windows,
// where they cannot be forwarded, it terminates the command instead), restarts it when it fails
// (up to --restarts times, with a growing delay) and exits with its last status.
// Each start and exit is reported as a JSON line on stderr. The command never outlives it: on
// Linux it is started with a parent-death signal (SIGTERM), on Windows it runs in a job object
// that is killed when process-manager's handle to it closes (child_linux.go, child_windows.go);
// and should process-manager's own parent die without passing a signal on, process-manager
// stops the command and exits (package parent says when).
package processmanager

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"dgmo.dev/native/internal/parent"
)

type report struct {
	Event   string `json:"event"`
	Attempt int    `json:"attempt"`
	PID     int    `json:"pid,omitempty"`
	Status  *int   `json:"status,omitempty"`
	Signal  string `json:"signal,omitempty"`
}

// Main runs process-manager with os.Args (os.Args[0] is not used); it never returns: it exits
// with the command's last status.
func Main() {
	restarts := flag.Int("restarts", 0, "restart a failing command this many times")
	delay := flag.Duration("delay", 200*time.Millisecond, "delay before the first restart (doubles each time)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: process-manager [--restarts N] [--delay D] -- COMMAND [ARG...]\n\nRuns COMMAND, restarting it on failure; exits with its last status.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "process-manager: no command given (see --help)")
		os.Exit(2)
	}
	if *restarts < 0 {
		fmt.Fprintln(os.Stderr, "process-manager: --restarts must be 0 or more")
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	owner := parent.WatchExpected()
	orphaned := time.NewTicker(500 * time.Millisecond)
	defer orphaned.Stop()
	enc := json.NewEncoder(os.Stderr)
	wait := *delay
	for attempt := 1; ; attempt++ {
		cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		prepare(cmd)
		if err := cmd.Start(); err != nil {
			fmt.Fprintf(os.Stderr, "process-manager: cannot start %s: %v\n", flag.Arg(0), err)
			os.Exit(127)
		}
		if err := started(cmd); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			fmt.Fprintf(os.Stderr, "process-manager: cannot supervise %s: %v\n", flag.Arg(0), err)
			os.Exit(1)
		}
		enc.Encode(report{Event: "started", Attempt: attempt, PID: cmd.Process.Pid})
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		stopped := false
		var err error
	waiting:
		for {
			select {
			case s := <-sigs:
				stopped = true
				stop(cmd.Process, s)
			case <-orphaned.C:
				if !stopped && owner.Gone() {
					stopped = true
					stop(cmd.Process, syscall.SIGTERM)
				}
			case err = <-done:
				break waiting
			}
		}
		status := 0
		r := report{Event: "exited", Attempt: attempt}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			ws := exitErr.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				r.Signal = ws.Signal().String()
				status = 128 + int(ws.Signal())
			} else {
				status = ws.ExitStatus()
			}
		}
		r.Status = &status
		enc.Encode(r)
		if status == 0 || stopped || attempt > *restarts {
			os.Exit(status)
		}
		time.Sleep(wait)
		wait *= 2
	}
}

// Tests of dgmo-native's dispatch: the test binary runs its main when DN_TEST_ROLE=main (with the
// arguments it was given), so each case runs dgmo-native as a program, on Linux and under wine.
// What the tools themselves do is tested in their packages; here only that TOOL picks the tool,
// its arguments reach it and its usage, output and exit status are its own.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	switch os.Getenv("DN_TEST_ROLE") {
	case "main": // dgmo-native; whatever it starts is the child
		os.Setenv("DN_TEST_ROLE", "child")
		main()
		os.Exit(0)
	case "child": // a command for process-manager: exits with DN_TEST_EXIT
		code, _ := strconv.Atoi(os.Getenv("DN_TEST_EXIT"))
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// run runs dgmo-native with args: its exit status, stdout and stderr.
func run(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DGMO_PARENT_PID=") && !strings.HasPrefix(kv, "DN_TEST_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, "DN_TEST_ROLE=main"), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// oneLineNamingTheTools checks that s is one line that names every tool.
func oneLineNamingTheTools(t *testing.T, s string) {
	t.Helper()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") || !strings.HasPrefix(s, "dgmo-native: ") {
		t.Errorf("stderr %q, want one line from dgmo-native", s)
	}
	for _, tool := range []string{"file-watcher", "process-manager", "system-info"} {
		if !strings.Contains(s, tool) {
			t.Errorf("stderr %q does not name %s", s, tool)
		}
	}
}

func TestNoToolIsAUsageError(t *testing.T) {
	code, out, errOut := run(t, nil)
	if code != 2 || out != "" {
		t.Errorf("exit status %d, stdout %q; want 2 and nothing", code, out)
	}
	oneLineNamingTheTools(t, errOut)
}

func TestAnUnknownToolIsAUsageError(t *testing.T) {
	for _, tool := range []string{"frobnicate", "sysinfo", "--pretty", ""} {
		code, out, errOut := run(t, nil, tool, "--pretty")
		if code != 2 || out != "" {
			t.Errorf("%q: exit status %d, stdout %q; want 2 and nothing", tool, code, out)
		}
		oneLineNamingTheTools(t, errOut)
		if !strings.Contains(errOut, strconv.Quote(tool)) {
			t.Errorf("%q: stderr %q does not name it", tool, errOut)
		}
	}
}

func TestHelpListsTheTools(t *testing.T) {
	for _, h := range []string{"-h", "--help"} {
		code, out, errOut := run(t, nil, h)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "usage: dgmo-native TOOL") {
			t.Errorf("%s: exit status %d, stdout %q, stderr %q; want 0 and the usage on stdout", h, code, out, errOut)
		}
		for _, tool := range []string{"file-watcher", "process-manager", "system-info"} {
			if !strings.Contains(out, "\n  "+tool+" ") {
				t.Errorf("%s: the usage does not list %s: %q", h, tool, out)
			}
		}
	}
}

func TestSystemInfoPrintsItsJSON(t *testing.T) {
	const wantKeys = "arch,cpus,go_version,hostname,kernel,load_average,mem_available_kib,mem_total_kib,os,pid,uptime_seconds"
	for _, args := range [][]string{{"system-info"}, {"system-info", "--pretty"}} {
		code, out, errOut := run(t, nil, args...)
		if code != 0 || errOut != "" {
			t.Fatalf("%v: exit status %d, stderr %q", args, code, errOut)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%v: not one JSON object: %q", args, out)
		}
		var k []string
		for key := range m {
			k = append(k, key)
		}
		sort.Strings(k)
		if got := strings.Join(k, ","); got != wantKeys {
			t.Errorf("%v: keys %s, want %s", args, got, wantKeys)
		}
		if pretty := strings.Contains(out, "\n  \""); pretty != (len(args) == 2) {
			t.Errorf("%v: indented %v: %q", args, pretty, out)
		}
	}
}

// The tool's own flags, usage text (naming the tool, not dgmo-native) and errors.
func TestTheToolsArgumentsAndUsageAreItsOwn(t *testing.T) {
	for _, c := range []struct {
		args   []string
		code   int
		stderr string // its start
	}{
		{[]string{"system-info", "--help"}, 0, "usage: system-info [--pretty]\n"},
		{[]string{"system-info", "--bogus"}, 2, "flag provided but not defined: -bogus\nusage: system-info [--pretty]\n"},
		{[]string{"system-info", "extra"}, 2, "system-info: unexpected argument \"extra\"\n"},
		{[]string{"process-manager"}, 2, "process-manager: no command given (see --help)\n"},
		{[]string{"process-manager", "--restarts", "-1", "--", "x"}, 2, "process-manager: --restarts must be 0 or more\n"},
		{[]string{"process-manager", "-h"}, 0, "usage: process-manager [--restarts N]"},
		{[]string{"file-watcher"}, 2, "file-watcher: no path given (see --help)\n"},
		{[]string{"file-watcher", "--interval", "0s", "."}, 2, "file-watcher: --interval must be positive\n"},
		{[]string{"file-watcher", "--help"}, 0, "usage: file-watcher [--interval D]"},
	} {
		code, out, errOut := run(t, nil, c.args...)
		if code != c.code || out != "" || !strings.HasPrefix(errOut, c.stderr) {
			t.Errorf("%v: exit status %d, stdout %q, stderr %q; want %d, nothing and %q...", c.args, code, out, errOut, c.code, c.stderr)
		}
	}
}

// file-watcher with a path that is not there fails (status 1) naming it.
func TestFileWatcherGetsItsPaths(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	code, out, errOut := run(t, nil, "file-watcher", "--timeout", "1ms", missing)
	if code != 1 || out != "" || !strings.HasPrefix(errOut, "file-watcher: ") || !strings.Contains(errOut, "missing") {
		t.Errorf("exit status %d, stdout %q, stderr %q; want 1 and an error about %s", code, out, errOut, missing)
	}
	code, out, errOut = run(t, nil, "file-watcher", "--timeout", "100ms", t.TempDir())
	if code != 0 || out != "" || errOut != "" {
		t.Errorf("an empty directory for 100ms: exit status %d, stdout %q, stderr %q; want 0 and nothing", code, out, errOut)
	}
}

// process-manager runs the command after --, and exits with its status.
func TestProcessManagerRunsTheCommand(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, []string{"DN_TEST_EXIT=3"}, "process-manager", "--restarts", "1", "--delay", "10ms", "--", exe)
	if code != 3 {
		t.Errorf("exit status %d, want 3 (the command's); stderr %q", code, errOut)
	}
	var events []string
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		var r struct{ Event string }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not a JSON report on stderr: %q", line)
		}
		events = append(events, r.Event)
	}
	if got := strings.Join(events, ","); got != "started,exited,started,exited" {
		t.Errorf("reports %s, want two starts and exits (--restarts 1)", got)
	}
}

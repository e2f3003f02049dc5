// Tests of process-manager as a whole: its JSON reports, its exit status, and that the command
// does not outlive it (killed outright, or when the parent named in DGMO_PARENT_PID goes away).
// The test binary plays every process the tests need, so no other program is involved and the
// same tests run on Linux and, cross-compiled, under wine: TestMain looks at PM_TEST_ROLE and
// becomes the supervisor (process-manager's own Main), or one of the commands it supervises.
// The platform parts (watching and killing a pid) are in proc_linux_test.go and
// proc_windows_test.go.
package processmanager

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every helper process sleeps at most this long, so a test that fails leaks nothing for long.
const helperLife = 60 * time.Second

func TestMain(m *testing.M) {
	switch os.Getenv("PM_TEST_ROLE") {
	case "":
		os.Exit(m.Run())
	case "supervisor": // process-manager itself, supervising PM_TEST_CHILD_ROLE
		os.Setenv("PM_TEST_ROLE", os.Getenv("PM_TEST_CHILD_ROLE"))
		Main()
	case "exit": // a command that exits with PM_TEST_EXIT at once
		code, _ := strconv.Atoi(os.Getenv("PM_TEST_EXIT"))
		os.Exit(code)
	case "tree": // a command that starts a grandchild, writes "PID GRANDCHILD-PID" to PM_TEST_PIDFILE and sleeps
		exe, _ := os.Executable()
		g := exec.Command(exe)
		g.Env = append(os.Environ(), "PM_TEST_ROLE=sleep")
		if err := g.Start(); err != nil {
			os.Exit(3)
		}
		f := os.Getenv("PM_TEST_PIDFILE")
		os.WriteFile(f+".tmp", []byte(strconv.Itoa(os.Getpid())+" "+strconv.Itoa(g.Process.Pid)), 0o644)
		os.Rename(f+".tmp", f)
		time.Sleep(helperLife)
	case "sleep":
		time.Sleep(helperLife)
	}
	os.Exit(0)
}

// supervisor returns process-manager (this binary in the supervisor role) with args, running
// this binary in childRole as its command; its stdout and stderr go to files in dir (a file,
// not a pipe: a command that outlives it must not keep Wait waiting for the pipe's end).
func supervisor(t *testing.T, dir, childRole string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append(args, "--", exe)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DGMO_PARENT_PID=") && !strings.HasPrefix(kv, "PM_TEST_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PM_TEST_ROLE=supervisor", "PM_TEST_CHILD_ROLE="+childRole,
		"PM_TEST_PIDFILE="+filepath.Join(dir, "pids"))
	cmd.Env = append(cmd.Env, env...)
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdout.Close(); stderr.Close() })
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd
}

// reports reads the JSON lines process-manager wrote to dir/stderr, each as a generic object so
// that the exact keys can be checked.
func reports(t *testing.T, dir string) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	s := bufio.NewScanner(f)
	for s.Scan() {
		var r map[string]any
		if err := json.Unmarshal(s.Bytes(), &r); err != nil {
			t.Fatalf("not a JSON report on stderr: %q", s.Text())
		}
		out = append(out, r)
	}
	return out
}

// exitCode runs or waits for cmd's result: its exit status, failing the test if it did not exit.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// pids waits for the tree command's pid file: its own pid and its grandchild's.
func pids(t *testing.T, dir string) (child, grandchild int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, "pids")); err == nil {
			f := strings.Fields(string(b))
			if len(f) == 2 {
				child, _ = strconv.Atoi(f[0])
				grandchild, _ = strconv.Atoi(f[1])
				return child, grandchild
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the supervised command never wrote its pid file")
	return 0, 0
}

// keys is the sorted key set of a report, to compare its shape.
func keys(r map[string]any) string {
	var k []string
	for key := range r {
		k = append(k, key)
	}
	sort.Strings(k)
	return strings.Join(k, ",")
}

func TestReportsEachStartAndExitAndExitsWithTheLastStatus(t *testing.T) {
	dir := t.TempDir()
	cmd := supervisor(t, dir, "exit", []string{"PM_TEST_EXIT=3"}, "--restarts", "1", "--delay", "10ms")
	if code := exitCode(t, cmd.Run()); code != 3 {
		t.Fatalf("exit status %d, want 3 (the command's)", code)
	}
	rs := reports(t, dir)
	if len(rs) != 4 {
		t.Fatalf("%d reports, want 4 (two starts, two exits): %v", len(rs), rs)
	}
	for i, r := range rs {
		attempt := float64(i/2 + 1)
		if i%2 == 0 {
			if keys(r) != "attempt,event,pid" || r["event"] != "started" || r["attempt"] != attempt || r["pid"].(float64) <= 0 {
				t.Errorf("report %d = %v, want a start of attempt %v with a pid", i, r, attempt)
			}
		} else if keys(r) != "attempt,event,status" || r["event"] != "exited" || r["attempt"] != attempt || r["status"] != 3.0 {
			t.Errorf("report %d = %v, want the exit of attempt %v with status 3", i, r, attempt)
		}
	}
}

func TestASuccessIsNotRestarted(t *testing.T) {
	dir := t.TempDir()
	cmd := supervisor(t, dir, "exit", []string{"PM_TEST_EXIT=0"}, "--restarts", "2", "--delay", "10ms")
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
	if rs := reports(t, dir); len(rs) != 2 || rs[1]["status"] != 0.0 {
		t.Fatalf("reports %v, want one start and one exit with status 0", rs)
	}
}

// Killing process-manager outright (SIGKILL, TerminateProcess: nothing it can catch) must take
// its command with it: the parent-death signal on Linux, the job object on Windows. On Windows
// the command's own child goes too (it is in the job); Linux makes no such promise, so there the
// grandchild is only cleaned up.
func TestTheCommandDiesWithAKilledSupervisor(t *testing.T) {
	dir := t.TempDir()
	cmd := supervisor(t, dir, "tree", nil)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	childPID, grandchildPID := pids(t, dir)
	child, grandchild := watchProc(t, childPID), watchProc(t, grandchildPID)
	if child.gone(0) || grandchild.gone(0) {
		t.Fatal("the command or its child is gone before the supervisor was killed")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if !child.gone(10 * time.Second) {
		t.Error("the command still runs 10s after its supervisor was killed")
	}
	if runtime.GOOS == "windows" && !grandchild.gone(10*time.Second) {
		t.Error("the command's child still runs 10s after the supervisor was killed (not in the job?)")
	}
}

// When the parent named in DGMO_PARENT_PID is gone (dgmo killed without passing a signal on),
// process-manager stops the command and exits. (On Linux the named process is not even its
// parent, so it stops at its first check; on Windows it stops once the process has exited.)
func TestStopsWhenTheNamedParentIsGone(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dgmo := exec.Command(exe)
	dgmo.Env = append(os.Environ(), "PM_TEST_ROLE=sleep")
	if err := dgmo.Start(); err != nil {
		t.Fatal(err)
	}
	defer dgmo.Process.Kill()
	dir := t.TempDir()
	cmd := supervisor(t, dir, "tree", []string{"DGMO_PARENT_PID=" + strconv.Itoa(dgmo.Process.Pid)})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	childPID, grandchildPID := pids(t, dir)
	child, grandchild := watchProc(t, childPID), watchProc(t, grandchildPID)
	dgmo.Process.Kill()
	dgmo.Wait()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var code int
	select {
	case err := <-done:
		code = exitCode(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("process-manager still runs 15s after its named parent died")
	}
	want := 1 // TerminateProcess's exit code
	if runtime.GOOS != "windows" {
		want = 128 + 15 // SIGTERM
	}
	if code != want {
		t.Errorf("exit status %d, want %d", code, want)
	}
	if rs := reports(t, dir); len(rs) != 2 || rs[1]["event"] != "exited" || rs[1]["status"] != float64(want) {
		t.Errorf("reports %v, want a start and an exit with status %d", rs, want)
	}
	if !child.gone(10 * time.Second) {
		t.Error("the command still runs after process-manager stopped")
	}
	if runtime.GOOS == "windows" && !grandchild.gone(10*time.Second) {
		t.Error("the command's child still runs after process-manager stopped (not in the job?)")
	}
}

// Tests of file-watcher as a program (the test binary runs its Main when FW_TEST_MAIN is set, and
// sleeps for a minute when FW_TEST_SLEEP is): it reports a created, a modified and a removed
// file as JSON lines, and stops when its parent is gone, on Linux and under wine.
package filewatcher

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv("FW_TEST_MAIN") != "" {
		Main()
		os.Exit(0)
	}
	if os.Getenv("FW_TEST_SLEEP") != "" {
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestReportsCreatedModifiedRemoved(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(f, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "--interval", "50ms", "--count", "3", "--timeout", "30s", dir)
	cmd.Env = append(os.Environ(), "FW_TEST_MAIN=1", "DGMO_PARENT_PID=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	next := func(want, path string) {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("file-watcher ended before reporting %s %s", want, path)
		}
		var e event
		if err := json.Unmarshal(lines.Bytes(), &e); err != nil || e.Event != want || e.Path != path {
			t.Fatalf("got %s, want %s of %s", lines.Text(), want, path)
		}
	}
	time.Sleep(300 * time.Millisecond) // the first scan is the baseline
	// Files appear whole (written beside, then renamed in): a scan between a create and its
	// write would otherwise see an empty file and then a modified one.
	staging := t.TempDir()
	put := func(path, text string) {
		t.Helper()
		tmp := filepath.Join(staging, filepath.Base(path))
		if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	g := filepath.Join(dir, "b.txt")
	put(g, "new")
	next("created", g)
	put(f, "longer")
	next("modified", f)
	os.Remove(g)
	next("removed", g)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("file-watcher after --count 3: %v", err)
	}
}

// When the parent named in DGMO_PARENT_PID is gone (dgmo killed, nothing passed on), the watcher
// stops at its next scan. (On Linux the named process is not even its parent, so it stops at its
// first scan; on Windows once the process has exited.)
func TestStopsWhenTheNamedParentIsGone(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dgmo := exec.Command(exe)
	dgmo.Env = append(os.Environ(), "FW_TEST_SLEEP=1")
	if err := dgmo.Start(); err != nil {
		t.Fatal(err)
	}
	defer dgmo.Process.Kill()
	cmd := exec.Command(exe, "--interval", "50ms", t.TempDir())
	cmd.Env = append(os.Environ(), "FW_TEST_MAIN=1", "DGMO_PARENT_PID="+strconv.Itoa(dgmo.Process.Pid))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	dgmo.Process.Kill()
	dgmo.Wait()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("file-watcher stopped with %v, want status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("file-watcher still runs 10s after its named parent died")
	}
}

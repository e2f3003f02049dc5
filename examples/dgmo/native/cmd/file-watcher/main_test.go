// Tests of file-watcher as a program (the test binary runs its main when FW_TEST_MAIN is set):
// it reports a created, a modified and a removed file as JSON lines, on Linux and under wine.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv("FW_TEST_MAIN") != "" {
		main()
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
	g := filepath.Join(dir, "b.txt")
	os.WriteFile(g, []byte("new"), 0o644)
	next("created", g)
	os.WriteFile(f, []byte("longer"), 0o644)
	next("modified", f)
	os.Remove(g)
	next("removed", g)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("file-watcher after --count 3: %v", err)
	}
}

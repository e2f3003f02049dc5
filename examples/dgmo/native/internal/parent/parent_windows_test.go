// On Windows the parent is gone when the process behind the handle opened at start has exited;
// a pid that cannot be opened, or whose process is younger than the watcher, is gone at once.
package parent

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// watchRole (PARENT_TEST_ROLE=watch) watches PARENT_TEST_PID: "alive" or "gone" at once, then
// "gone" when it goes (within a minute).
func watchRole() {
	pid, _ := strconv.Atoi(os.Getenv("PARENT_TEST_PID"))
	w := Watch(pid)
	if w.Gone() {
		fmt.Println("gone")
		return
	}
	fmt.Println("alive")
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if w.Gone() {
			fmt.Println("gone")
			return
		}
	}
}

// helper starts this test binary in role with env.
func helper(t *testing.T, role string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), "PARENT_TEST_ROLE="+role), env...)
	return cmd
}

// A watcher started after the watched process sees it alive, then gone once it is killed.
func TestGoneWhenTheWatchedProcessExits(t *testing.T) {
	dgmo := helper(t, "sleep")
	if err := dgmo.Start(); err != nil {
		t.Fatal(err)
	}
	defer dgmo.Process.Kill()
	w := helper(t, "watch", "PARENT_TEST_PID="+strconv.Itoa(dgmo.Process.Pid))
	out, err := w.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Process.Kill()
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "alive" {
		t.Fatalf("the watcher first said %q, want alive", lines.Text())
	}
	dgmo.Process.Kill()
	dgmo.Wait()
	seen := make(chan string, 1)
	go func() { lines.Scan(); seen <- lines.Text() }()
	select {
	case s := <-seen:
		if s != "gone" {
			t.Fatalf("the watcher said %q, want gone", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher did not notice the exit within 10s")
	}
	w.Wait()
}

// A process younger than the watcher cannot be the one that started it (its pid was reused).
func TestAYoungerProcessIsNotTheParent(t *testing.T) {
	younger := helper(t, "sleep")
	if err := younger.Start(); err != nil {
		t.Fatal(err)
	}
	defer younger.Process.Kill()
	if !Watch(younger.Process.Pid).Gone() {
		t.Error("a process started after the watcher counts as its parent")
	}
}

func TestAPidThatIsNotThereIsGone(t *testing.T) {
	for _, pid := range []int{0, 0x7ffffff0} {
		if !Watch(pid).Gone() {
			t.Errorf("pid %#x counts as alive", pid)
		}
	}
}

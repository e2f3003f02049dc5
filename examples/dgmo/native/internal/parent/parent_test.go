// Tests of the expected parent's pid. Whether it is gone is tested per platform
// (parent_unix_test.go, parent_windows_test.go).
package parent

import (
	"os"
	"testing"
	"time"
)

// TestMain lets the test binary be a helper process: PARENT_TEST_ROLE=sleep sleeps (at most a
// minute); =watch reports on stdout whether PARENT_TEST_PID is gone ("alive", then "gone").
func TestMain(m *testing.M) {
	switch os.Getenv("PARENT_TEST_ROLE") {
	case "sleep":
		time.Sleep(time.Minute)
		os.Exit(0)
	case "watch":
		watchRole()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestExpectedPIDIsDGMOParentPIDWhenSet(t *testing.T) {
	t.Setenv("DGMO_PARENT_PID", "12345")
	if got := ExpectedPID(); got != 12345 {
		t.Errorf("ExpectedPID() = %d, want 12345", got)
	}
	for _, bad := range []string{"", "0", "-4", "x"} {
		t.Setenv("DGMO_PARENT_PID", bad)
		if got := ExpectedPID(); got != os.Getppid() {
			t.Errorf("DGMO_PARENT_PID=%q: ExpectedPID() = %d, want the parent %d", bad, got, os.Getppid())
		}
	}
}

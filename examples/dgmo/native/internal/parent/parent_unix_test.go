//go:build !windows

// On Unix the parent is gone when this process has another parent.
package parent

import (
	"os"
	"testing"
)

func watchRole() {}

func TestGoneIsAnotherParent(t *testing.T) {
	if Watch(os.Getppid()).Gone() {
		t.Error("the actual parent counts as gone")
	}
	other := 1
	if os.Getppid() == 1 {
		other = 2
	}
	if !Watch(other).Gone() {
		t.Errorf("pid %d, not the parent, does not count as gone", other)
	}
}

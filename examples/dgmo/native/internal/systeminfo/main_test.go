// Tests of system-info's output: one JSON object with the same keys on every platform (DGMO's
// sysinfo command merges it as is). The platform facts are checked in facts_proc_test.go and
// facts_windows_test.go.
package systeminfo

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// TestMain runs system-info's own Main when SI_TEST_MAIN is set, so the test can check what the
// program prints.
func TestMain(m *testing.M) {
	if os.Getenv("SI_TEST_MAIN") != "" {
		Main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const wantKeys = "arch,cpus,go_version,hostname,kernel,load_average,mem_available_kib,mem_total_kib,os,pid,uptime_seconds"

// printed runs the program and decodes its output.
func printed(t *testing.T) map[string]any {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "SI_TEST_MAIN=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("system-info: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("not one JSON object: %q", out)
	}
	return m
}

func TestPrintsOneObjectWithTheKeys(t *testing.T) {
	m := printed(t)
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	if got := strings.Join(k, ","); got != wantKeys {
		t.Fatalf("keys %s, want %s", got, wantKeys)
	}
	if m["os"] != runtime.GOOS || m["arch"] != runtime.GOARCH || m["go_version"] != runtime.Version() {
		t.Errorf("os/arch/go_version = %v/%v/%v", m["os"], m["arch"], m["go_version"])
	}
	if _, ok := m["load_average"].([]any); !ok {
		t.Errorf("load_average = %v, want an array (empty when there is none)", m["load_average"])
	}
	if c, _ := m["cpus"].(float64); c < 1 {
		t.Errorf("cpus = %v", m["cpus"])
	}
	if m["kernel"] == "" {
		t.Error("no kernel")
	}
	if mem, _ := m["mem_total_kib"].(float64); mem <= 0 {
		t.Errorf("mem_total_kib = %v", m["mem_total_kib"])
	}
	if a, _ := m["mem_available_kib"].(float64); a <= 0 || a > m["mem_total_kib"].(float64) {
		t.Errorf("mem_available_kib = %v (total %v)", m["mem_available_kib"], m["mem_total_kib"])
	}
	if up, _ := m["uptime_seconds"].(float64); up <= 0 {
		t.Errorf("uptime_seconds = %v", m["uptime_seconds"])
	}
}

// Package filewatcher is the file-watcher tool: cmd/file-watcher on Linux, `dgmo-native
// file-watcher` on Windows (cmd/dgmo-native).
//
// file-watcher reports changes under the given paths as JSON lines
// ({"event":"created|modified|removed","path":...}). It polls (standard library only,
// no cgo), which also works on network and overlay filesystems where inotify is unreliable.
package filewatcher

import (
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"dgmo.dev/native/internal/parent"
)

type stamp struct {
	size  int64
	mtime time.Time
	dir   bool
}

type event struct {
	Event string `json:"event"`
	Path  string `json:"path"`
}

// Main runs file-watcher with os.Args (os.Args[0] is not used) and returns when it is done
// (or exits, with status 1 or 2, on an error).
func Main() {
	interval := flag.Duration("interval", 500*time.Millisecond, "time between scans")
	count := flag.Int("count", 0, "exit after this many events (0: run until interrupted)")
	timeout := flag.Duration("timeout", 0, "exit after this long (0: no limit)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: file-watcher [--interval D] [--count N] [--timeout D] PATH...\n\nPrints one JSON line per created, modified or removed file under PATH.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "file-watcher: no path given (see --help)")
		os.Exit(2)
	}
	if *interval <= 0 {
		fmt.Fprintln(os.Stderr, "file-watcher: --interval must be positive")
		os.Exit(2)
	}
	for _, p := range flag.Args() {
		if _, err := os.Stat(p); err != nil {
			fmt.Fprintf(os.Stderr, "file-watcher: %v\n", err)
			os.Exit(1)
		}
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	// dgmo passes its signals on; should it die without doing so (SIGKILL, or TerminateProcess on
	// Windows), the watcher notices at the next scan and stops rather than run on unowned.
	// (On Windows only os.Interrupt, from Ctrl+C/Ctrl+Break, and SIGTERM, from a console close,
	// logoff or shutdown, are ever delivered; SIGHUP is a constant that never arrives.)
	owner := parent.WatchExpected()
	var deadline <-chan time.Time
	if *timeout > 0 {
		deadline = time.After(*timeout)
	}
	enc := json.NewEncoder(os.Stdout)
	prev := scan(flag.Args())
	seen := 0
	ticker := time.NewTicker(*interval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-deadline:
			return
		case <-ticker.C:
		}
		if owner.Gone() {
			return
		}
		cur := scan(flag.Args())
		for _, e := range diff(prev, cur) {
			if err := enc.Encode(e); err != nil {
				os.Exit(1)
			}
			seen++
			if *count > 0 && seen >= *count {
				return
			}
		}
		prev = cur
	}
}

func scan(roots []string) map[string]stamp {
	out := map[string]stamp{}
	for _, root := range roots {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // vanished while walking: the next scan reports it
			}
			if info, err := d.Info(); err == nil {
				out[p] = stamp{info.Size(), info.ModTime(), d.IsDir()}
			}
			return nil
		})
	}
	return out
}

func diff(prev, cur map[string]stamp) []event {
	var out []event
	for p, s := range cur {
		old, ok := prev[p]
		switch {
		case !ok:
			out = append(out, event{"created", p})
		case !s.dir && (old.size != s.size || !old.mtime.Equal(s.mtime)):
			out = append(out, event{"modified", p})
		}
	}
	for p := range prev {
		if _, ok := cur[p]; !ok {
			out = append(out, event{"removed", p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

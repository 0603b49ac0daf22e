package main

import (
	"context"
	"strings"
	"testing"
)

// TestWatchFlags: paths given with --watch, --watch-reads and --watch-exec
// reach the sensor's options, checked before anything is loaded: a
// relative one is refused with the sensor's reason.
func TestWatchFlags(t *testing.T) {
	for _, flag := range []string{"--watch", "--watch-reads", "--watch-exec"} {
		err := run(context.Background(), []string{"--standalone", "--state", t.TempDir(), "--max-memory", "512MiB", "--max-cpu", "0", flag, "opt/app/secrets/"})
		if err == nil || !strings.Contains(err.Error(), `"opt/app/secrets/" is not absolute`) {
			t.Errorf("%s with a relative path: %v", flag, err)
		}
	}
}

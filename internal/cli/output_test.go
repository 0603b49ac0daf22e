package cli

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteOutputDevice: writing to /dev/null writes through the device and
// leaves it a device (a rename would have replaced it with a file).
func TestWriteOutputDevice(t *testing.T) {
	if err := writeOutput(io.Discard, os.DevNull, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().IsRegular() {
		t.Fatalf("%s became a regular file", os.DevNull)
	}
	// A regular file is replaced atomically, and nothing is left beside it.
	p := filepath.Join(t.TempDir(), "out.json")
	if err := writeOutput(io.Discard, p, func(w io.Writer) error { _, err := io.WriteString(w, "{}"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "{}" {
		t.Fatalf("out.json = %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".vigil-out-*")); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

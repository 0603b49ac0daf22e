package detect

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/sensor"
)

func TestJSONLogRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.jsonl")
	s, err := NewJSONLog(path, 1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		a := &Alert{RuleID: "VGL-RT-001", Title: "t", Output: "o", Action: ActionAlert, Event: sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{PID: int32(i), Name: "bash"}}}
		if err := s.Append(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(&Alert{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	for _, name := range []string{path, path + ".1", path + ".2"} {
		info, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() > 1024 || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %d bytes, mode %v", name, info.Size(), info.Mode().Perm())
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("path.3 kept: %v", err)
	}
	// The newest file ends with the last alert, each line is an alert.
	f, _ := os.Open(path)
	defer f.Close()
	sc := bufio.NewScanner(f)
	var last Alert
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatal(err)
		}
	}
	if last.Event.Process.PID != 39 || last.RuleID != "VGL-RT-001" {
		t.Fatalf("last line %+v", last)
	}
}

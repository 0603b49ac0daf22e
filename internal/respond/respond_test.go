package respond

import (
	"errors"
	"testing"
	"time"
)

func TestParseAction(t *testing.T) {
	tests := []struct {
		in   string
		want Action
		err  error
	}{
		{"", ActionAlert, nil},
		{"alert", ActionAlert, nil},
		{"kill", ActionKill, nil},
		{"quarantine", ActionQuarantine, nil},
		{"isolate", ActionIsolate, nil},
		{"restore", "", ErrUnknownAction},
		{"KILL", "", ErrUnknownAction},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAction(tt.in)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("ParseAction(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	r := New(Options{})
	if r.qdir != DefaultQuarantineDir || r.now == nil || r.DryRun() {
		t.Errorf("New(Options{}) = %+v", r)
	}
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))
	rec := New(Options{DryRun: true, Now: func() time.Time { return at }}).record(ActionKill, "x")
	if !rec.DryRun || !rec.Time.Equal(at) || rec.Time.Location() != time.UTC {
		t.Errorf("record = %+v", rec)
	}
}

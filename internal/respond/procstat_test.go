package respond

import (
	"errors"
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    procStat
		wantErr bool
	}{
		{
			name: "plain",
			in:   "1234 (sleep) S 1000 1234 1000 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 987654 8192 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
			want: procStat{Comm: "sleep", State: 'S', PPID: 1000, Flags: 4194304, StartTicks: 987654},
		},
		{
			name: "comm with spaces and parentheses",
			in:   "77 (a) b) (c) R 2 77 0 0 -1 2097216 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0",
			want: procStat{Comm: "a) b) (c", State: 'R', PPID: 2, Flags: 2097216, StartTicks: 55},
		},
		{name: "empty", in: "", wantErr: true},
		{name: "no comm", in: "12 sleep S 1", wantErr: true},
		{name: "truncated", in: "12 (x) S 1 2 3", wantErr: true},
		{name: "bad start", in: "1 (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5 0", wantErr: true},
		{name: "bad state", in: "1 (x) SS 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseStat = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parseStat = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReadStatSelf(t *testing.T) {
	st, err := readStat(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != int32(os.Getppid()) || st.StartTicks == 0 {
		t.Errorf("readStat(self) = %+v, want ppid %d and a start time", st, os.Getppid())
	}
	if _, err := readStat(-7); !errors.Is(err, ErrGone) {
		t.Errorf("readStat(-7) error = %v, want ErrGone", err)
	}
}

func TestTicksOf(t *testing.T) {
	for _, tt := range []struct{ ns, ticks uint64 }{
		{0, 0}, {9_999_999, 0}, {10_000_000, 1}, {1_234_567_890, 123},
	} {
		if got := ticksOf(tt.ns); got != tt.ticks {
			t.Errorf("ticksOf(%d) = %d, want %d", tt.ns, got, tt.ticks)
		}
	}
}

// FuzzParseStat: /proc/PID/stat carries a comm the process chose.
func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1234 (sleep) S 1000 1234 1000 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 987654 8192 100"))
	f.Add([]byte("77 (a) b) (c) R 2 77 0 0 -1 2097216 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0"))
	f.Add([]byte(")("))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseStat(b)
		if err != nil {
			return
		}
		if len(st.Comm) > len(b) {
			t.Fatalf("comm %q longer than input", st.Comm)
		}
	})
}

package hostinv

import (
	"reflect"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    procStat
		wantErr bool
	}{
		{
			name: "plain",
			in:   "1234 (sshd) S 1 1234 1234 0 -1 4194560 1035 0 0 0 3 1 0 0 20 0 1 0 4521 15163392 1867 18446744073709551615 1 1 0 0 0 0 0 4096 81926 0 0 0 17 1 0 0 0 0 0\n",
			want: procStat{comm: "sshd", state: "S", ppid: 1, startTicks: 4521},
		},
		{
			name: "name with spaces and parens",
			in:   "77 (a (b) c) R 5 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0",
			want: procStat{comm: "a (b) c", state: "R", ppid: 5, startTicks: 99},
		},
		{name: "no name", in: "1 sshd S 1", wantErr: true},
		{name: "too short", in: "1 (x) S 1 2 3", wantErr: true},
		{name: "bad ppid", in: "1 (x) S p 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0", wantErr: true},
		{name: "bad start", in: "1 (x) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 -3 0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseProcStatus(t *testing.T) {
	in := "Name:\tnginx\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t33\t0\t33\t33\nGid:\t33\t33\t33\t33\nVmRSS:\t    5120 kB\n"
	want := procStatus{uid: 33, euid: 0, gid: 33, rss: 5120 * 1024}
	if got := parseProcStatus([]byte(in)); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := parseProcStatus([]byte("Uid: x\nVmRSS: -4 kB\n")); got != (procStatus{}) {
		t.Errorf("malformed status gave %+v", got)
	}
}

func TestSplitCmdline(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"\x00", nil},
		{"/usr/sbin/sshd\x00-D\x00", []string{"/usr/sbin/sshd", "-D"}},
		{"nginx: master process /usr/sbin/nginx", []string{"nginx: master process /usr/sbin/nginx"}},
		{"a\x00\x00b\x00", []string{"a", "", "b"}},
	}
	for _, tt := range tests {
		if got := splitCmdline([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitCmdline(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTicksDuration(t *testing.T) {
	if got := ticksDuration(250); got != 2500*time.Millisecond {
		t.Errorf("250 ticks = %v", got)
	}
	if got := ticksDuration(^uint64(0)); got <= 0 {
		t.Errorf("max ticks = %v, want positive", got)
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte("1234 (sshd) S 1 1234 1234 0 -1 4194560 1035 0 0 0 3 1 0 0 20 0 1 0 4521 15163392 1867"))
	f.Add([]byte("1 ()) ( R 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 18446744073709551615"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseProcStat(data)
		if err == nil && st.state == "" {
			t.Fatalf("no state in %+v", st)
		}
		_ = parseProcStatus(data)
	})
}

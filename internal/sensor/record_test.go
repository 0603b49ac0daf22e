package sensor

import (
	"reflect"
	"testing"
	"time"
)

func sampleRecords() []*record {
	h := header{flags: hfTTY, ktime: 5, start: 100 * tickNS, cgroup: 7, capEff: 1, capPrm: 3, result: -2,
		tid: 11, pid: 10, ppid: 1, uid: 1000, gid: 1000, euid: 0, egid: 0, mntNS: 4026531840, pidNS: 4026531836, comm: "bash"}
	with := func(k uint16, r record) *record { r.header = h; r.kind = k; return &r }
	return []*record{
		with(rkExec, record{filename: "/bin/ls", dname: "ls", argv: []string{"ls", "-l", ""}}),
		with(rkFork, record{childPID: 12, childStart: 200 * tickNS}),
		with(rkExit, record{exitCode: 256}),
		with(rkConnect, record{fd: 3, family: 2, sockType: 1, proto: 6, sport: 4000, dport: 80,
			saddr: [16]byte{127, 0, 0, 1}, daddr: [16]byte{127, 0, 0, 1}, uaddr: []byte{2, 0, 0, 80, 127, 0, 0, 1}}),
		with(rkTCPState, record{family: 10, sport: 1, dport: 2, oldState: 7, newState: 2, saddr: [16]byte{15: 1}}),
		with(rkOpen, record{fileFlags: 0o101, mode: 0o644, path: "/etc/shadow"}),
		with(rkRename, record{path: "/etc/a", path2: "/etc/b"}),
		with(rkSetUID, record{credArgs: [3]int64{0, -1, -1}}),
		with(rkPtrace, record{request: 16, target: 99}),
		with(rkMemfd, record{fileFlags: 1, name: "x"}),
		with(rkMount, record{mountFlags: 4096, source: "/dev/sda1", mtarget: "/mnt", fstype: "ext4"}),
		with(rkBPF, record{cmd: 5, attr: make([]byte, attrSize)}),
		with(rkModule, record{fd: 3, name: "evil.ko", modArgs: "a=1"}),
		with(rkOpen, record{path: "/etc/shadow", path2: "//etc/shadow"}), // resolved from its file
		with(rkLink, record{mode: 1, path: "../etc/shadow", path2: "/tmp/s"}),
		with(rkTruncate, record{path: "/var/log/auth.log"}),
		with(rkChmod, record{mode: 0o4755, path: "/tmp/x"}),
		with(rkSetns, record{nsInum: 4026531840, nsType: 0x20000, target: 0}),
	}
}

// TestRecordFlags: the header flags of io_uring submissions, opens by
// handle and files of another mount namespace become what rules read.
func TestRecordFlags(t *testing.T) {
	en := newEnricher(Options{ProcRoot: t.TempDir()}.withDefaults(), time.Time{})
	open := func(flags uint32, path, path2 string) *record {
		return &record{header: header{kind: rkOpen, flags: flags, pid: 10, tid: 10, mntNS: 1, comm: "x"}, path: path, path2: path2}
	}
	for _, c := range []struct {
		r    *record
		want map[string]any
	}{
		{open(hfIOURing, "/etc/shadow", ""), map[string]any{"via": "io_uring"}},
		{open(hfByHandle, "/srv/x", ""), map[string]any{"via": "open_by_handle_at"}},
		{open(hfOtherMnt, "/etc/hostname", "/proc/1/root/etc/hostname"), map[string]any{"openedAs": "/proc/1/root/etc/hostname"}},
	} {
		ev, ok := en.event(c.r)
		if !ok || !reflect.DeepEqual(ev.Args, c.want) {
			t.Errorf("%+v: delivered %v, args %v, want %v", c.r, ok, ev.Args, c.want)
		}
	}
	// Unwatched, and none of those: dropped.
	if _, ok := en.event(open(0, "/srv/x", "")); ok {
		t.Error("an unwatched open was delivered")
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, want := range sampleRecords() {
		t.Run(string(recordKinds[want.kind]), func(t *testing.T) {
			b := encodeRecord(want)
			got, err := decodeRecord(b)
			if err != nil {
				t.Fatal(err)
			}
			want.size = uint16(len(b))
			if want.kind == rkExec {
				want.argv = []string{"ls", "-l", ""}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	good := encodeRecord(sampleRecords()[0])
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", good[:50]},
		{"unknown kind", func() []byte { b := clone(good); b[0] = 99; return b }()},
		{"size beyond buffer", func() []byte { b := clone(good); le.PutUint16(b[2:], 60000); return b }()},
		{"size below header", func() []byte { b := clone(good); le.PutUint16(b[2:], 10); return b }()},
		{"short body", func() []byte { b := clone(good[:hdrSize+10]); le.PutUint16(b[2:], uint16(len(b))); return b }()},
		{"argv overflow", func() []byte { b := clone(good); le.PutUint32(b[hdrSize:], 5000); return b }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeRecord(tt.b); err == nil {
				t.Error("no error")
			}
		})
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(encodeRecord(r))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		if int(r.size) > len(b) || len(r.argv) > argvSize {
			t.Fatalf("decoded beyond the buffer: size %d of %d", r.size, len(b))
		}
		// A decoded record must enrich without panicking.
		o := Options{ProcRoot: t.TempDir()}.withDefaults()
		newEnricher(o, time.Time{}).event(r)
	})
}

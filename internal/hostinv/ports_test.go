package hostinv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// hexEndpoint formats an address and port as the kernel does in
// /proc/net/{tcp,udp}[6]: 32-bit words in host byte order.
func hexEndpoint(addr string, port uint16) string {
	raw := netip.MustParseAddr(addr).AsSlice()
	var b strings.Builder
	for i := 0; i < len(raw); i += 4 {
		fmt.Fprintf(&b, "%08X", binary.NativeEndian.Uint32(raw[i:]))
	}
	return fmt.Sprintf("%s:%04X", b.String(), port)
}

// socketRow formats one row of a socket table.
func socketRow(sl int, local string, lport uint16, state int, uid, inode int) string {
	remote := "0.0.0.0"
	if strings.Contains(local, ":") {
		remote = "::"
	}
	return fmt.Sprintf("%4d: %s %s %02X 00000000:00000000 00:00000000 00000000 %5d        0 %d 1 0000000000000000 100 0 0 10 0\n",
		sl, hexEndpoint(local, lport), hexEndpoint(remote, 0), state, uid, inode)
}

const tcpHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

func TestParseNetSockets(t *testing.T) {
	in := tcpHeader +
		socketRow(0, "0.0.0.0", 22, stateListen, 0, 1617) +
		socketRow(1, "127.0.0.1", 5432, stateListen, 106, 2201) +
		socketRow(2, "10.0.0.5", 41234, 0x01, 1000, 0) +
		"   3: garbage\n" +
		"   4: 0100007F:ZZZZ 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1\n" +
		socketRow(5, "::", 443, stateListen, 33, 3001) +
		socketRow(6, "fe80::1", 53, stateClose, 101, 3002)
	var got []socket
	probs, err := parseNetSockets(strings.NewReader(in), func(s socket) { got = append(got, s) })
	if err != nil {
		t.Fatal(err)
	}
	want := []socket{
		{addr: netip.MustParseAddr("0.0.0.0"), port: 22, state: stateListen, uid: 0, inode: 1617},
		{addr: netip.MustParseAddr("127.0.0.1"), port: 5432, state: stateListen, uid: 106, inode: 2201},
		{addr: netip.MustParseAddr("10.0.0.5"), port: 41234, state: 1, uid: 1000, inode: 0},
		{addr: netip.MustParseAddr("::"), port: 443, state: stateListen, uid: 33, inode: 3001},
		{addr: netip.MustParseAddr("fe80::1"), port: 53, state: stateClose, uid: 101, inode: 3002},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if len(probs) != 2 || probs[0].line != 5 || probs[1].line != 6 {
		t.Errorf("problems %v, want lines 5 and 6", probs)
	}
}

func TestParseHexEndpointRealRow(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("skipping: the literal row is from a little-endian machine")
	}
	addr, port, err := parseHexEndpoint("0100007F:0CEA")
	if err != nil || addr.String() != "127.0.0.1" || port != 3306 {
		t.Errorf("got %v %d %v, want 127.0.0.1 3306", addr, port, err)
	}
	addr, _, err = parseHexEndpoint("0000000000000000FFFF00000100007F:0016")
	if err != nil || addr.String() != "::ffff:127.0.0.1" {
		t.Errorf("got %v %v, want ::ffff:127.0.0.1", addr, err)
	}
}

func TestParseNetSocketsLongLine(t *testing.T) {
	in := tcpHeader + strings.Repeat("x", maxSocketLine+10) + "\n"
	if _, err := parseNetSockets(strings.NewReader(in), func(socket) {}); err == nil {
		t.Error("no error for an over-long line")
	}
}

func TestParseSocketLink(t *testing.T) {
	tests := []struct {
		in   string
		ino  uint64
		isOK bool
	}{
		{"socket:[12345]", 12345, true},
		{"pipe:[12345]", 0, false},
		{"socket:[]", 0, false},
		{"socket:[12", 0, false},
		{"/dev/null", 0, false},
	}
	for _, tt := range tests {
		ino, ok := parseSocketLink(tt.in)
		if ino != tt.ino || ok != tt.isOK {
			t.Errorf("parseSocketLink(%q) = %d, %v", tt.in, ino, ok)
		}
	}
}

func TestDedupePorts(t *testing.T) {
	ports := []Port{
		{Proto: "tcp", Address: "0.0.0.0", Port: 80, PID: 0},
		{Proto: "tcp", Address: "0.0.0.0", Port: 80, PID: 812, Process: "nginx"},
		{Proto: "tcp", Address: "0.0.0.0", Port: 80, PID: 800, Process: "nginx"},
		{Proto: "tcp", Address: "0.0.0.0", Port: 22, PID: 500, Process: "sshd"},
	}
	got := dedupePorts(ports)
	want := []Port{
		{Proto: "tcp", Address: "0.0.0.0", Port: 22, PID: 500, Process: "sshd"},
		{Proto: "tcp", Address: "0.0.0.0", Port: 80, PID: 800, Process: "nginx"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func FuzzParseNetSockets(f *testing.F) {
	f.Add([]byte(tcpHeader + socketRow(0, "0.0.0.0", 22, stateListen, 0, 1617) + socketRow(1, "::1", 631, stateListen, 0, 99)))
	f.Add([]byte("0: 0100007F:0CEA 00000000:0000 0A 0:0 0:0 0 0 0 1\n"))
	f.Add([]byte("0: :1 : 0A a b c 4294967296 0 -1\n\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		probs, _ := parseNetSockets(bytes.NewReader(data), func(s socket) {
			if !s.addr.IsValid() {
				t.Fatalf("invalid address in %+v", s)
			}
		})
		if len(probs) > maxLineProblems+1 {
			t.Fatalf("%d problems, limit %d", len(probs), maxLineProblems+1)
		}
	})
}

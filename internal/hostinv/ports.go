package hostinv

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Port is a listening TCP socket or a bound, unconnected UDP socket.
type Port struct {
	// Proto is the proc table it came from: "tcp", "tcp6", "udp", "udp6".
	Proto   string `json:"proto"`
	Address string `json:"address"`
	Port    uint16 `json:"port"`
	// UID owns the socket.
	UID uint32 `json:"uid"`
	// PID is the lowest collected process holding the socket open; 0 when
	// none was found (process not collected, or its descriptors unreadable).
	PID     int    `json:"pid,omitempty"`
	Process string `json:"process,omitempty"`
}

// Socket states of /proc/net tables (include/net/tcp_states.h).
const (
	stateListen = 0x0A // TCP_LISTEN
	stateClose  = 0x07 // TCP_CLOSE: an unconnected UDP socket
)

// socket is one row of a /proc/net/{tcp,udp}[6] table.
type socket struct {
	addr  netip.Addr
	port  uint16
	state int
	uid   uint32
	inode uint64
}

// socketTables lists the proc tables read and the state that makes a
// socket of each one a listening socket.
var socketTables = []struct {
	proto  string
	listen int
}{
	{"tcp", stateListen},
	{"tcp6", stateListen},
	{"udp", stateClose},
	{"udp6", stateClose},
}

// collectPorts reads the socket tables and finds the processes holding
// the listening sockets.
func (c *collector) collectPorts(ctx context.Context) {
	var ports []Port
	inodes := map[uint64][]int{} // inode → indexes into ports
	for _, tab := range socketTables {
		name := filepath.Join(c.opts.Proc, "net", tab.proto)
		f, err := os.Open(name)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				c.problem("port", name, err)
			}
			continue
		}
		probs, err := parseNetSockets(f, func(s socket) {
			if s.state != tab.listen || len(ports) >= c.opts.MaxEntries {
				return
			}
			if s.inode != 0 {
				inodes[s.inode] = append(inodes[s.inode], len(ports))
			}
			ports = append(ports, Port{Proto: tab.proto, Address: s.addr.String(), Port: s.port, UID: s.uid})
		})
		f.Close()
		c.lineProblems("port", name, probs)
		if err != nil {
			c.problem("port", name, err)
		}
	}
	if len(ports) == 0 {
		return
	}
	owners := c.socketOwners(ctx, inodes)
	names := map[int]string{}
	for _, p := range c.snap.Processes {
		names[p.PID] = p.Name
	}
	for ino, idx := range inodes {
		if pid, ok := owners[ino]; ok {
			for _, i := range idx {
				ports[i].PID, ports[i].Process = pid, names[pid]
			}
		}
	}
	c.snap.Ports = dedupePorts(ports)
}

// socketOwners maps each wanted socket inode to the lowest collected PID
// with a descriptor on it, reading /proc/PID/fd links. Processes whose
// descriptors cannot be read for lack of privilege are counted in one
// problem.
func (c *collector) socketOwners(ctx context.Context, want map[uint64][]int) map[uint64]int {
	owners := map[uint64]int{}
	denied := 0
	for i, p := range c.snap.Processes { // ascending PIDs
		if len(owners) == len(want) || (i%64 == 0 && ctx.Err() != nil) {
			break
		}
		dir := filepath.Join(c.opts.Proc, strconv.Itoa(p.PID), "fd")
		inos, err := socketInodes(dir, c.opts.MaxFDs)
		if errors.Is(err, fs.ErrPermission) {
			denied++
		}
		for _, ino := range inos {
			if _, ok := want[ino]; !ok {
				continue
			}
			if _, seen := owners[ino]; !seen {
				owners[ino] = p.PID
			}
		}
	}
	if denied > 0 {
		c.problem("port", filepath.Join(c.opts.Proc, "*", "fd"), fmt.Errorf("descriptors of %d processes: %w", denied, fs.ErrPermission))
	}
	return owners
}

// socketInodes returns the inodes of the sockets among the first max
// descriptors in dir. Unreadable descriptors are skipped; the error is the
// first failure other than a descriptor closed meanwhile.
func socketInodes(dir string, max int) ([]uint64, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	names, _ := d.Readdirnames(max)
	d.Close()
	var out []uint64
	var first error
	for _, n := range names {
		target, err := os.Readlink(filepath.Join(dir, n))
		if err != nil {
			if first == nil && !errors.Is(err, fs.ErrNotExist) {
				first = err
			}
			continue
		}
		if ino, ok := parseSocketLink(target); ok {
			out = append(out, ino)
		}
	}
	return out, first
}

// parseSocketLink parses a descriptor link target "socket:[12345]".
func parseSocketLink(target string) (uint64, bool) {
	s, ok := strings.CutPrefix(target, "socket:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	ino, err := strconv.ParseUint(s, 10, 64)
	return ino, err == nil
}

// dedupePorts sorts ports and keeps one per protocol, address and port
// (several sockets can share one with SO_REUSEPORT), preferring an owner
// with the lowest PID.
func dedupePorts(ports []Port) []Port {
	slices.SortFunc(ports, func(a, b Port) int {
		return cmp.Or(
			cmp.Compare(portKey(a), portKey(b)),
			cmp.Compare(ownerRank(a.PID), ownerRank(b.PID)),
		)
	})
	return slices.CompactFunc(ports, func(a, b Port) bool { return portKey(a) == portKey(b) })
}

// ownerRank orders known owners by PID before unknown ones.
func ownerRank(pid int) int {
	if pid == 0 {
		return int(^uint(0) >> 1)
	}
	return pid
}

// portKey identifies a listening port: "tcp/0.0.0.0/22".
func portKey(p Port) string {
	return p.Proto + "/" + p.Address + "/" + strconv.Itoa(int(p.Port))
}

// maxSocketRows bounds the rows read from one socket table.
const maxSocketRows = 1 << 22

// maxSocketLine bounds one row of a socket table (real rows are ~150 bytes).
const maxSocketLine = 4096

// parseNetSockets streams a /proc/net/{tcp,udp}[6] table, calling fn for
// every row. The header and malformed rows are skipped, the latter
// reported; the error is a read failure, an over-long line or too many rows.
func parseNetSockets(r io.Reader, fn func(socket)) ([]lineProblem, error) {
	var probs []lineProblem
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxSocketLine), maxSocketLine)
	n := 0
	for sc.Scan() {
		if n++; n > maxSocketRows {
			return probs, fmt.Errorf("%w: over %d rows", ErrTooManyEntries, maxSocketRows)
		}
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] == "sl" {
			continue
		}
		s, err := parseSocketRow(f)
		if err != nil {
			probs = addProblem(probs, n, err.Error())
			continue
		}
		fn(s)
	}
	return probs, sc.Err()
}

// parseSocketRow parses the fields of one socket table row:
// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
func parseSocketRow(f []string) (socket, error) {
	if len(f) < 10 {
		return socket{}, fmt.Errorf("socket row has %d fields, want at least 10", len(f))
	}
	addr, port, err := parseHexEndpoint(f[1])
	if err != nil {
		return socket{}, err
	}
	state, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil {
		return socket{}, fmt.Errorf("bad socket state %q", truncate(f[3], 16))
	}
	uid, err := parseID(f[7])
	if err != nil {
		return socket{}, err
	}
	inode, err := strconv.ParseUint(f[9], 10, 64)
	if err != nil {
		return socket{}, fmt.Errorf("bad inode %q", truncate(f[9], 32))
	}
	return socket{addr: addr, port: port, state: int(state), uid: uid, inode: inode}, nil
}

// parseHexEndpoint parses "0100007F:1F90": an address printed as 32-bit
// words in host byte order, and a port in hex.
func parseHexEndpoint(s string) (netip.Addr, uint16, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return netip.Addr{}, 0, fmt.Errorf("bad endpoint %q", truncate(s, 64))
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("bad port %q", truncate(hexPort, 16))
	}
	raw, err := hex.DecodeString(hexAddr)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.Addr{}, 0, fmt.Errorf("bad address %q", truncate(hexAddr, 64))
	}
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return addr, uint16(port), nil
}

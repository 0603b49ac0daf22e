package hostinv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Kernel describes the running kernel.
type Kernel struct {
	// Release is the kernel release ("6.1.0-18-amd64").
	Release string `json:"release,omitempty"`
	// Version is the kernel build version ("#1 SMP PREEMPT_DYNAMIC ...").
	Version string `json:"version,omitempty"`
	// Arch is the machine hardware name ("x86_64"), from uname when
	// available, else Go's GOARCH.
	Arch string `json:"arch,omitempty"`
}

// maxProcLine bounds the small proc files read for one value.
const maxProcLine = 64 << 10

// collectSystem fills the host identity: OS, kernel, hostname, machine ID,
// boot time and IP addresses.
func (c *collector) collectSystem(context.Context) {
	c.collectOS()
	s := c.snap
	s.Kernel.Release = c.procValue("sys/kernel/osrelease")
	s.Kernel.Version = c.procValue("sys/kernel/version")
	s.Kernel.Arch = machineArch()
	s.Hostname = c.procValue("sys/kernel/hostname")
	if s.Hostname == "" {
		if data, ok := c.readFile("system", "etc/hostname"); ok {
			s.Hostname = firstLine(data)
		}
	}
	s.MachineID = c.machineID()
	if data, err := readProcFile(filepath.Join(c.opts.Proc, "stat"), c.opts.MaxFileSize); err == nil {
		if bt, ok := parseBootTime(data); ok {
			s.BootTime = bt
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		c.problem("system", filepath.Join(c.opts.Proc, "stat"), err)
	}
	if c.opts.Root == "/" {
		ips, err := interfaceIPs()
		if err != nil {
			c.problem("system", "", fmt.Errorf("list interfaces: %w", err))
		}
		s.IPs = ips
	}
}

// procValue returns the first line of a small proc file, or "" when it
// cannot be read.
func (c *collector) procValue(name string) string {
	data, err := readProcFile(filepath.Join(c.opts.Proc, name), maxProcLine)
	if err != nil {
		return ""
	}
	return firstLine(data)
}

// machineID reads the systemd (or D-Bus) machine ID.
func (c *collector) machineID() string {
	for _, name := range []string{"etc/machine-id", "var/lib/dbus/machine-id"} {
		data, ok := c.readFile("system", name)
		if !ok {
			continue
		}
		if id := firstLine(data); validMachineID(id) {
			return id
		}
	}
	return ""
}

// validMachineID reports whether id is 32 lowercase hex digits, not all zero.
func validMachineID(id string) bool {
	if len(id) != 32 || strings.Trim(id, "0") == "" {
		return false
	}
	for _, r := range id {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// firstLine returns the first line of data without surrounding space.
func firstLine(data []byte) string {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	return strings.TrimSpace(string(data))
}

// parseBootTime finds the "btime" line of /proc/stat.
func parseBootTime(data []byte) (time.Time, bool) {
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "btime" {
			sec, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || sec <= 0 {
				return time.Time{}, false
			}
			return time.Unix(sec, 0).UTC(), true
		}
	}
	return time.Time{}, false
}

// interfaceIPs lists the addresses of the non-loopback interfaces of the
// machine the caller runs on, sorted.
func interfaceIPs() ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var addrs []net.Addr
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		a, err := ifc.Addrs()
		if err != nil {
			continue
		}
		addrs = append(addrs, a...)
	}
	return ipStrings(addrs), nil
}

// ipStrings returns the distinct non-loopback IPs of addrs, sorted.
func ipStrings(addrs []net.Addr) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range addrs {
		var ip net.IP
		switch v := a.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if ip == nil || ip.IsLoopback() || ip.IsUnspecified() {
			continue
		}
		s := ip.String()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// readProcFile reads a file of the proc filesystem (whose sizes read as
// zero), failing past limit bytes.
func readProcFile(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, limit)
}

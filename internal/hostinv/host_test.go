package hostinv

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"
)

// TestCollectHost inventories the machine running the test.
func TestCollectHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("skipping: the host inventory reads Linux's /proc, not available on %s", runtime.GOOS)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	start := time.Now()
	s, err := Collect(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("collected %d processes, %d ports, %d users, %d services, %d modules, %d problems in %v",
		len(s.Processes), len(s.Ports), len(s.Users), len(s.Services), len(s.Modules), len(s.Problems), time.Since(start))
	for _, p := range s.Problems {
		t.Logf("problem: %+v", p)
	}

	if s.Kernel.Release == "" || s.Kernel.Arch == "" {
		t.Errorf("kernel %+v", s.Kernel)
	}
	if s.Hostname == "" {
		t.Error("no hostname")
	}
	if s.BootTime.IsZero() || s.BootTime.After(time.Now()) {
		t.Errorf("boot time %v", s.BootTime)
	}
	if _, err := os.Stat("/etc/os-release"); err == nil && s.OS.ID == "" {
		t.Errorf("OS %+v with /etc/os-release present", s.OS)
	}

	self := findProcess(s, os.Getpid())
	if self == nil {
		t.Fatalf("own process %d not found", os.Getpid())
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !sameFile(t, self.Exe, exe) {
		t.Errorf("own exe %q, want %q", self.Exe, exe)
	}
	if self.StartTime.Before(s.BootTime) || self.StartTime.After(time.Now().Add(time.Minute)) {
		t.Errorf("own start time %v (boot %v)", self.StartTime, s.BootTime)
	}
	if len(self.Cmdline) == 0 || self.RSS <= 0 || self.PPID <= 0 {
		t.Errorf("own process %+v", self)
	}

	hasRoot := false
	for _, u := range s.Users {
		hasRoot = hasRoot || (u.Name == "root" && u.UID == 0)
	}
	if !hasRoot {
		t.Error("no user root with UID 0")
	}

	var mine *Port
	for i, p := range s.Ports {
		if p.Proto == "tcp" && p.Address == "127.0.0.1" && int(p.Port) == port {
			mine = &s.Ports[i]
		}
	}
	if mine == nil {
		t.Fatalf("listening port 127.0.0.1:%d not found in %+v", port, s.Ports)
	}
	if mine.PID != os.Getpid() || mine.Process != self.Name {
		t.Errorf("port owned by %d %q, want %d %q", mine.PID, mine.Process, os.Getpid(), self.Name)
	}

	seen := map[[2]string]bool{}
	for _, it := range s.Items() {
		k := [2]string{it.Kind, it.Key}
		if seen[k] {
			t.Errorf("duplicate item key %v", k)
		}
		seen[k] = true
	}
}

func findProcess(s *Snapshot, pid int) *Process {
	for i := range s.Processes {
		if s.Processes[i].PID == pid {
			return &s.Processes[i]
		}
	}
	return nil
}

// sameFile reports whether two paths name the same file once links are
// resolved.
func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	return errA == nil && errB == nil && ra == rb
}

func TestIPStrings(t *testing.T) {
	addrs := []net.Addr{
		&net.IPNet{IP: net.ParseIP("10.0.0.5"), Mask: net.CIDRMask(24, 32)},
		&net.IPNet{IP: net.ParseIP("127.0.0.1"), Mask: net.CIDRMask(8, 32)},
		&net.IPAddr{IP: net.ParseIP("fe80::1")},
		&net.IPNet{IP: net.ParseIP("10.0.0.5"), Mask: net.CIDRMask(16, 32)},
		&net.IPNet{IP: net.IPv6unspecified},
		&net.UnixAddr{Name: "/x"},
	}
	got := ipStrings(addrs)
	if want := []string{"10.0.0.5", "fe80::1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

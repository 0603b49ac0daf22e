package respond

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the helper processes the isolation test runs
// inside a network namespace.
const (
	helperEnv = "VIGIL_RESPOND_HELPER" // "listen" or "dial"
	addrEnv   = "VIGIL_RESPOND_ADDR"   // for "dial"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "listen":
		os.Exit(helperListen())
	case "dial":
		os.Exit(helperDial(os.Getenv(addrEnv)))
	}
	os.Exit(m.Run())
}

// helperListen listens on every address of its namespace, prints
// "ready PID PORT" and answers each connection with "ok".
func helperListen() int {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("ready %d %d\n", os.Getpid(), ln.Addr().(*net.TCPAddr).Port)
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		fmt.Fprintln(c, "ok")
		c.Close()
	}
}

// helperDial exits 0 when addr answers "ok" within a second.
func helperDial(addr string) int {
	if err := dialOK(addr, time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// dialOK connects to addr and expects the listener's "ok".
func dialOK(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read from %s: %w", addr, err)
	}
	if strings.TrimSpace(line) != "ok" {
		return fmt.Errorf("%s answered %q", addr, line)
	}
	return nil
}

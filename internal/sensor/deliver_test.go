package sensor

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

// Deliver narrows the events to the kinds asked for, in the kernel too,
// and widening it again brings the others back.
func TestDeliver(t *testing.T) {
	c := startSensor(t, Options{Kinds: []Kind{KindExec, KindFork, KindExit, KindConnect, KindTCPState}}, true)
	c.s.Deliver([]Kind{KindExec})
	dial := func() uint16 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
		return uint16(ln.Addr().(*net.TCPAddr).Port)
	}
	quiet := dial()
	run(t, exec.Command("/bin/true", "vigil-deliver-1"))
	c.waitFor(t, "exec", func(e Event) bool {
		return e.Kind == KindExec && len(e.Process.Args) > 1 && e.Process.Args[1] == "vigil-deliver-1"
	})
	c.none(t, "undelivered kinds", func(e Event) bool {
		return e.Kind == KindFork || e.Kind == KindExit || e.Kind == KindConnect || e.Kind == KindTCPState
	})
	if st := c.s.Stats(); st.Events[KindTCPState] != 0 {
		t.Errorf("tcp_state events: %d", st.Events[KindTCPState])
	}
	c.s.Deliver(nil)
	port := dial()
	c.waitFor(t, "connect", func(e Event) bool {
		return e.Kind == KindConnect && e.Network.DstPort == port && e.Process.PID == int32(os.Getpid())
	})
	c.none(t, "connect while not delivered", func(e Event) bool { return e.Kind == KindConnect && e.Network.DstPort == quiet })
}

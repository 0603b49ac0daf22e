package auth

import (
	"fmt"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestThrottle(c *clock) *Throttle {
	return NewThrottle(&ThrottleOptions{Now: c.Now})
}

// try runs one attempt for user from addr ending as given; it reports
// whether the attempt was admitted and the wait when not.
func try(th *Throttle, user, addr string, success bool) (bool, time.Duration) {
	a, wait := th.Begin(user, addr)
	if a == nil {
		return false, wait
	}
	a.Done(success)
	return true, 0
}

func TestThrottleLockoutGrows(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	th := newTestThrottle(c)
	// Spread the addresses so only the user's counter locks.
	addr := func(i int) string { return fmt.Sprintf("192.0.2.%d", i) }
	n := 0
	fail5 := func() {
		t.Helper()
		for range 5 {
			n++
			if ok, _ := try(th, "alice", addr(n), false); !ok {
				t.Fatalf("attempt %d refused before the limit", n)
			}
		}
	}
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute} {
		fail5()
		ok, wait := try(th, "alice", addr(99), true)
		if ok || wait != want {
			t.Fatalf("lockout %d: admitted=%v wait=%v; want refused for %v", i+1, ok, wait, want)
		}
		// Case does not matter.
		if ok, _ := try(th, "ALICE", addr(98), true); ok {
			t.Fatal("ALICE admitted while alice is locked")
		}
		c.Advance(want - time.Second)
		if ok, _ := try(th, "alice", addr(99), true); ok {
			t.Fatal("admitted before the lockout ended")
		}
		c.Advance(time.Second)
	}
	// Capped at MaxLockout (1h): 16, 32, 60, 60 minutes.
	for _, want := range []time.Duration{16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour} {
		fail5()
		if _, wait := try(th, "alice", addr(99), true); wait != want {
			t.Fatalf("wait = %v; want %v", wait, want)
		}
		c.Advance(want)
	}
	// Another user is not affected.
	if ok, _ := try(th, "bob", addr(97), true); !ok {
		t.Error("bob refused")
	}
}

func TestThrottleSuccessResetsUser(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	th := newTestThrottle(c)
	for round := range 3 {
		for i := range 4 {
			if ok, _ := try(th, "alice", fmt.Sprintf("198.51.100.%d", round*10+i), false); !ok {
				t.Fatalf("round %d attempt %d refused", round, i)
			}
		}
		if ok, _ := try(th, "alice", "203.0.113.1", true); !ok {
			t.Fatalf("round %d: successful login refused", round)
		}
	}
	// Without the success the fifth failure locks.
	for i := range 5 {
		try(th, "alice", fmt.Sprintf("198.51.100.%d", 100+i), false)
	}
	if ok, _ := try(th, "alice", "203.0.113.1", true); ok {
		t.Error("admitted after 5 failures")
	}
}

func TestThrottlePerAddress(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	th := newTestThrottle(c)
	// One address spraying five users is locked out for all of them.
	for i := range 5 {
		try(th, fmt.Sprintf("user%d", i), "192.0.2.7:4711", false)
	}
	if ok, wait := try(th, "user9", "192.0.2.7:1234", true); ok || wait != time.Minute {
		t.Errorf("sixth user from the same address: admitted=%v wait=%v", ok, wait)
	}
	if ok, _ := try(th, "user9", "192.0.2.8", true); !ok {
		t.Error("another address refused")
	}
	// A success does not clear the address's record.
	th2 := newTestThrottle(c)
	for i := range 4 {
		try(th2, fmt.Sprintf("user%d", i), "192.0.2.7", false)
	}
	try(th2, "mallory", "192.0.2.7", true)
	try(th2, "user5", "192.0.2.7", false)
	if ok, _ := try(th2, "user6", "192.0.2.7", true); ok {
		t.Error("a success laundered the address's failures")
	}
}

func TestThrottleIPv6Prefix(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	th := newTestThrottle(c)
	for i := range 5 {
		try(th, fmt.Sprintf("u%d", i), fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1), false)
	}
	if ok, _ := try(th, "u9", "2001:db8:1:2:ffff::1", true); ok {
		t.Error("same /64 admitted")
	}
	if ok, _ := try(th, "u9", "2001:db8:1:3::1", true); !ok {
		t.Error("another /64 refused")
	}
	if got := addrKey("::ffff:192.0.2.1"); got != "192.0.2.1" {
		t.Errorf("addrKey(v4-mapped) = %q", got)
	}
}

func TestThrottleWindowExpires(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	th := newTestThrottle(c)
	for range 4 {
		try(th, "alice", "192.0.2.1", false)
	}
	c.Advance(16 * time.Minute)
	for i := range 4 {
		if ok, _ := try(th, "alice", "192.0.2.1", false); !ok {
			t.Fatalf("attempt %d after the window refused", i)
		}
	}
}

func TestThrottleCountsInFlight(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	th := newTestThrottle(c)
	var open []*Attempt
	for i := range 5 {
		a, _ := th.Begin("alice", fmt.Sprintf("192.0.2.%d", i))
		if a == nil {
			t.Fatalf("attempt %d refused", i)
		}
		open = append(open, a)
	}
	if a, wait := th.Begin("alice", "192.0.2.50"); a != nil || wait <= 0 {
		t.Fatal("sixth parallel attempt admitted")
	}
	for _, a := range open {
		a.Done(false)
		a.Done(false) // a second Done is ignored
	}
	if _, wait := th.Begin("alice", "192.0.2.50"); wait != time.Minute {
		t.Errorf("after 5 failures: wait %v; want 1m", wait)
	}
}

func TestThrottleBounded(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	th := NewThrottle(&ThrottleOptions{Now: c.Now, MaxEntries: 3})
	for i := range 10 {
		try(th, fmt.Sprintf("user%d", i), fmt.Sprintf("192.0.2.%d", i), false)
	}
	if th.users.len() != 3 || th.addrs.len() != 3 {
		t.Errorf("entries: %d users, %d addresses; want 3 each", th.users.len(), th.addrs.len())
	}
	// The most recent are kept.
	if th.users.get("user9") == nil || th.users.get("user0") != nil {
		t.Error("eviction is not least-recently-used")
	}
}

package auth

import (
	"container/list"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ThrottleOptions configure NewThrottle; zero fields take the defaults.
type ThrottleOptions struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxFailures within Window lock the key out; 0 means 5.
	MaxFailures int
	// Window after the first counted failure in which failures add up;
	// 0 means 15 minutes.
	Window time.Duration
	// Lockout is the first lockout; each further one doubles it up to
	// MaxLockout. 0 means 1 minute; MaxLockout 0 means 1 hour.
	Lockout, MaxLockout time.Duration
	// MaxEntries bounds the users and the addresses tracked (each); the
	// least recently used entry is evicted past it. 0 means 10,000.
	MaxEntries int
}

// Throttle limits password guessing per user name and per remote address.
// After MaxFailures failed logins within Window a key is locked out for a
// time that doubles with each further lockout. A successful login clears
// its user's record but not its address's, so one valid account cannot
// launder guesses against others. Attempts in flight count against the
// limit, so parallel requests cannot slip past it.
//
// State lives in memory, bounded by MaxEntries; a restart forgets it.
type Throttle struct {
	o     ThrottleOptions
	mu    sync.Mutex
	users *lru
	addrs *lru
}

type throttleEntry struct {
	key         string
	failures    int
	inflight    int
	windowStart time.Time
	lockedUntil time.Time
	lockouts    int
	lastFailure time.Time
}

// NewThrottle returns a Throttle.
func NewThrottle(o *ThrottleOptions) *Throttle {
	var opts ThrottleOptions
	if o != nil {
		opts = *o
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 5
	}
	if opts.Window <= 0 {
		opts.Window = 15 * time.Minute
	}
	if opts.Lockout <= 0 {
		opts.Lockout = time.Minute
	}
	if opts.MaxLockout <= 0 {
		opts.MaxLockout = time.Hour
	}
	opts.MaxLockout = max(opts.MaxLockout, opts.Lockout)
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
	}
	return &Throttle{o: opts, users: newLRU(opts.MaxEntries), addrs: newLRU(opts.MaxEntries)}
}

// Attempt is one login attempt admitted by Begin; call Done exactly once.
type Attempt struct {
	t          *Throttle
	user, addr string
	once       sync.Once
}

// Begin admits a login attempt for user from remote address addr (an IP,
// with or without a port), or refuses it with how long to wait.
func (t *Throttle) Begin(user, addr string) (*Attempt, time.Duration) {
	uk, ak := userKey(user), addrKey(addr)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.o.Now()
	var wait time.Duration
	for _, e := range []*throttleEntry{t.users.get(uk), t.addrs.get(ak)} {
		if e == nil {
			continue
		}
		t.expire(e, now)
		switch {
		case now.Before(e.lockedUntil):
			wait = max(wait, e.lockedUntil.Sub(now))
		case e.failures+e.inflight >= t.o.MaxFailures:
			wait = max(wait, time.Second) // others in flight use up the allowance
		}
	}
	if wait > 0 {
		return nil, wait
	}
	t.users.add(uk).inflight++
	t.addrs.add(ak).inflight++
	return &Attempt{t: t, user: uk, addr: ak}, 0
}

// Done ends the attempt: a failure counts against its user and address;
// a success clears its user's record.
func (a *Attempt) Done(success bool) {
	a.once.Do(func() { a.t.done(a.user, a.addr, success) })
}

func (t *Throttle) done(uk, ak string, success bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.o.Now()
	for _, e := range []*throttleEntry{t.users.get(uk), t.addrs.get(ak)} {
		if e != nil && e.inflight > 0 {
			e.inflight--
		}
	}
	if success {
		t.users.remove(uk)
		return
	}
	t.fail(t.users.add(uk), now)
	t.fail(t.addrs.add(ak), now)
}

// expire forgets failures outside the window and lockout history after a
// quiet period.
func (t *Throttle) expire(e *throttleEntry, now time.Time) {
	if now.Before(e.lockedUntil) {
		return
	}
	if now.Sub(e.windowStart) > t.o.Window {
		e.failures = 0
	}
	if e.lockouts > 0 && now.Sub(e.lastFailure) > t.o.MaxLockout+t.o.Window {
		e.lockouts = 0
	}
}

func (t *Throttle) fail(e *throttleEntry, now time.Time) {
	t.expire(e, now)
	if e.failures == 0 {
		e.windowStart = now
	}
	e.failures++
	e.lastFailure = now
	if e.failures < t.o.MaxFailures {
		return
	}
	e.lockouts++
	d := t.o.Lockout
	for i := 1; i < e.lockouts && d < t.o.MaxLockout; i++ {
		d *= 2
	}
	e.lockedUntil = now.Add(min(d, t.o.MaxLockout))
	e.failures = 0
}

// userKey folds case: "Alice" and "alice" share an allowance.
func userKey(user string) string { return strings.ToLower(user) }

// addrKey drops the port and groups IPv6 addresses by /64, the block one
// host usually controls.
func addrKey(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		addr = ap.Addr().String()
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// lru is a bounded map of entries, least recently used evicted first.
type lru struct {
	max   int
	order *list.List // front: most recent
	items map[string]*list.Element
}

func newLRU(n int) *lru {
	return &lru{max: n, order: list.New(), items: map[string]*list.Element{}}
}

func (l *lru) get(key string) *throttleEntry {
	el, ok := l.items[key]
	if !ok {
		return nil
	}
	l.order.MoveToFront(el)
	return el.Value.(*throttleEntry)
}

func (l *lru) add(key string) *throttleEntry {
	if e := l.get(key); e != nil {
		return e
	}
	for l.order.Len() >= l.max {
		last := l.order.Back()
		l.order.Remove(last)
		delete(l.items, last.Value.(*throttleEntry).key)
	}
	e := &throttleEntry{key: key}
	l.items[key] = l.order.PushFront(e)
	return e
}

func (l *lru) remove(key string) {
	if el, ok := l.items[key]; ok {
		l.order.Remove(el)
		delete(l.items, key)
	}
}

func (l *lru) len() int { return l.order.Len() }

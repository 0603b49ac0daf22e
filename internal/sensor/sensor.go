package sensor

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Sensor is a running Source: the eBPF programs (Mode "ebpf") or, when
// they cannot load, the process connector (Mode "degraded: <why>").
type Sensor struct {
	opts   Options
	mode   string
	events chan Event
	en     *enricher
	back   backend

	stop    chan struct{}
	done    chan struct{}
	closeMu sync.Once
	err     error

	byKind       [rkMax]atomic.Uint64
	decodeErrors atomic.Uint64
}

var _ Source = (*Sensor)(nil)

// backend is where records come from.
type backend interface {
	// read blocks for the next raw record; it returns errClosed after
	// close.
	read() ([]byte, error)
	// kernelDrops returns the records the kernel could not queue, by
	// record kind.
	kernelDrops() [rkMax]uint64
	close() error
}

var errClosed = errors.New("sensor closed")

// New starts a sensor: the eBPF programs if they load and attach,
// otherwise the process connector in degraded mode (Mode says why). It
// fails only if neither works, or the options are invalid.
func New(opts Options) (*Sensor, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	boot, err := bootTime()
	if err != nil {
		return nil, err
	}
	s := &Sensor{opts: o, events: make(chan Event, o.EventBuffer), stop: make(chan struct{}), done: make(chan struct{})}
	s.en = newEnricher(o, boot)

	reason := o.Degraded
	if reason == "" {
		b, err := loadEBPF(o)
		if err == nil {
			s.back, s.mode = b, "ebpf"
		} else {
			reason = err.Error()
		}
	}
	if s.back == nil {
		b, err := openConnector(o.ProcRoot)
		if err != nil {
			return nil, fmt.Errorf("start degraded sensor (eBPF unavailable: %s): %w", reason, err)
		}
		s.back, s.mode = b, "degraded: "+reason
	}
	if kb, ok := s.back.(*ebpfBackend); ok {
		s.en.known, s.en.forget = kb.cgroupKnown, kb.cgroupsForgotten
	}
	// Walk /proc after the programs are attached, so that a process is
	// either found here or seen being created.
	if err := s.en.scan(); err != nil {
		s.back.close()
		return nil, fmt.Errorf("scan processes: %w", err)
	}
	go s.run()
	return s, nil
}

// bootTime is the wall-clock time when CLOCK_BOOTTIME was 0.
func bootTime() (time.Time, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return time.Time{}, fmt.Errorf("read boot clock: %w", err)
	}
	return time.Now().Add(-time.Duration(ts.Nano())), nil
}

func (s *Sensor) run() {
	defer close(s.done)
	defer close(s.events)
	r := &record{} // reused: the events keep only what decodeInto makes new
	for {
		raw, err := s.back.read()
		if err != nil {
			if !errors.Is(err, errClosed) {
				s.err = err
			}
			return
		}
		if err := decodeInto(r, raw); err != nil {
			s.decodeErrors.Add(1)
			continue
		}
		ev, ok := s.en.event(r)
		if !ok {
			continue
		}
		s.byKind[r.kind].Add(1)
		select {
		case s.events <- ev:
		case <-s.stop:
			return
		}
	}
}

// Deliver limits the events to kinds (nil: every kind the options
// enable), for a consumer that judges only some: the programs stop
// reporting the other kinds, except forks and exits, which still keep the
// process cache current but are not made into events. It may be called
// at any time, from any goroutine.
func (s *Sensor) Deliver(kinds []Kind) {
	mask := uint64(allKinds)
	if kinds != nil {
		mask = 0
		for rk, k := range recordKinds {
			if slices.Contains(kinds, k) {
				mask |= 1 << rk
			}
		}
	}
	s.en.deliver.Store(mask)
	if b, ok := s.back.(*ebpfBackend); ok {
		// Best effort: what the kernel still sends is dropped here.
		_ = b.setUnwanted(allKinds &^ mask &^ (1<<rkExec | 1<<rkFork | 1<<rkExit))
	}
}

// Events implements Source.
func (s *Sensor) Events() <-chan Event { return s.events }

// Mode implements Source: "ebpf" or "degraded: <why>".
func (s *Sensor) Mode() string { return s.mode }

// Close detaches the programs (or closes the connector) and ends Events.
func (s *Sensor) Close() error {
	s.closeMu.Do(func() {
		close(s.stop)
		err := s.back.close()
		<-s.done
		s.err = errors.Join(err, s.err)
	})
	return s.err
}

// Stats are the sensor's counters since it started.
type Stats struct {
	Mode string `json:"mode"`
	// Events counts the events delivered, by kind.
	Events map[Kind]uint64 `json:"events"`
	// KernelDrops counts the records the kernel could not put in the ring
	// buffer because it was full, by kind; KernelDropsTotal sums them.
	KernelDrops      map[Kind]uint64 `json:"kernelDrops"`
	KernelDropsTotal uint64          `json:"kernelDropsTotal"`
	// DecodeErrors counts malformed records.
	DecodeErrors uint64 `json:"decodeErrors"`
}

// Stats returns the counters. The kernel's drop counters are read from
// their per-CPU map on each call.
func (s *Sensor) Stats() Stats {
	st := Stats{Mode: s.mode, Events: map[Kind]uint64{}, KernelDrops: map[Kind]uint64{}, DecodeErrors: s.decodeErrors.Load()}
	for k := rkExec; k < rkMax; k++ {
		if n := s.byKind[k].Load(); n > 0 {
			st.Events[recordKinds[k]] += n
		}
	}
	drops := s.back.kernelDrops()
	for k := rkExec; k < rkMax; k++ {
		if drops[k] > 0 {
			st.KernelDrops[recordKinds[k]] += drops[k]
			st.KernelDropsTotal += drops[k]
		}
	}
	return st
}

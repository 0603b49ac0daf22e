package guard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/respond"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// The response modes (Options.Response).
const (
	// ResponseOff raises alerts and takes no action.
	ResponseOff = "off"
	// ResponseDryRun performs every check of a rule's action and records
	// what it would do, changing nothing.
	ResponseDryRun = "dry-run"
	// ResponseOn carries the actions out.
	ResponseOn = "on"
)

// Errors.
var (
	// ErrOptions is wrapped by every Options.Validate error.
	ErrOptions = errors.New("invalid guard options")
	// ErrRunning: Run was called while another Run is in progress.
	ErrRunning = errors.New("guard already running")
	// ErrSensorStopped: the sensor ended its event stream before Close.
	ErrSensorStopped = errors.New("sensor stopped")
	// ErrNoContainer: an isolate action was asked for a process that is
	// not in a container; the host is never isolated.
	ErrNoContainer = errors.New("not in a container")
	// ErrOtherMountNS: a quarantine action named a path of a process in
	// another mount namespace (a container), where the same path names a
	// different file than it does for the guard.
	ErrOtherMountNS = errors.New("path is in another mount namespace")
	// ErrNoTarget: the event names no file to quarantine.
	ErrNoTarget = errors.New("no file to act on")
)

// Options configure New. The zero value watches with the sensor's
// defaults, uses the built-in rules only and takes no action.
type Options struct {
	// Sensor configures the sensor, which falls back to degraded mode
	// itself when eBPF is unavailable (Mode says so).
	Sensor sensor.Options
	// RulesDir holds extra rule files laid over the built-in library
	// (same ids replace built-in rules) and reloaded when they change.
	// "" means the built-in rules only.
	RulesDir string
	// Response is ResponseOff (or ""), ResponseDryRun or ResponseOn.
	Response string
	// QuarantineDir is the responder's quarantine directory; "" means
	// respond.DefaultQuarantineDir.
	QuarantineDir string
	// AlertLog is a JSON-lines file every alert is appended to, rotated
	// by size (AlertLogMaxBytes, 0 = 64 MiB; AlertLogKeep old files).
	// "" means none.
	AlertLog         string
	AlertLogMaxBytes int64
	AlertLogKeep     int
	// Sinks receive every alert too (the agent's stream to the server).
	// The caller owns them: Close does not close them.
	Sinks []Sink
	// Now stamps alerts and records and drives the repeat window; nil
	// means time.Now.
	Now func() time.Time
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch o.Response {
	case "", ResponseOff, ResponseDryRun, ResponseOn:
	default:
		return fmt.Errorf("%w: response %q (want off, dry-run or on)", ErrOptions, o.Response)
	}
	if o.RulesDir != "" {
		info, err := os.Stat(o.RulesDir)
		if err != nil {
			return fmt.Errorf("%w: rules directory: %w", ErrOptions, err)
		}
		if !info.IsDir() {
			return fmt.Errorf("%w: rules directory %s is not a directory", ErrOptions, o.RulesDir)
		}
	}
	if o.AlertLogMaxBytes < 0 || o.AlertLogKeep < 0 {
		return fmt.Errorf("%w: negative alert log size or count", ErrOptions)
	}
	for i, s := range o.Sinks {
		if s == nil {
			return fmt.Errorf("%w: sink %d is nil", ErrOptions, i)
		}
	}
	return o.Sensor.Validate()
}

// source is where events come from: the sensor, or a test's fake.
type source interface {
	sensor.Source
	Stats() sensor.Stats
}

// Guard runs the sensor, the rules and the responder. Its methods are
// safe for concurrent use; Run is called once at a time.
type Guard struct {
	opts  Options
	now   func() time.Time
	src   source
	base  *detect.Ruleset
	eng   atomic.Pointer[detect.Engine]
	resp  *respond.Responder // nil when the response is off
	sinks []Sink
	owned []io.Closer // the sinks New opened
	lim   *limiter
	mntNS uint32 // the guard's mount namespace, 0 if unknown

	// actOn, when set, limits actions to the events it accepts (alerts
	// are raised for all). Tests use it so that an enforcing guard acts
	// only on their own processes, never on others' on the same host.
	actOn func(*sensor.Event) bool

	running atomic.Bool
	closed  atomic.Bool
	once    sync.Once
	err     error

	st counters
}

// New loads the rules (built-ins, then RulesDir over them), opens the
// alert log, prepares the responder and starts the sensor. Events are
// read and judged by Run.
func New(opts Options) (*Guard, error) {
	g, err := build(opts)
	if err != nil {
		return nil, err
	}
	s, err := sensor.New(opts.Sensor)
	if err != nil {
		g.closeSinks()
		return nil, fmt.Errorf("start sensor: %w", err)
	}
	g.src = s
	g.deliver(g.eng.Load())
	return g, nil
}

// deliver has the sensor make events of the kinds e's rules judge only:
// the others (forks and exits, with the built-in rules) would be built
// to be thrown away.
func (g *Guard) deliver(e *detect.Engine) {
	if d, ok := g.src.(interface{ Deliver([]sensor.Kind) }); ok {
		d.Deliver(e.Kinds())
	}
}

// build makes everything but the event source.
func build(opts Options) (*Guard, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Response == "" {
		opts.Response = ResponseOff
	}
	g := &Guard{opts: opts, now: opts.Now, lim: newLimiter(repeatWindow, maxTracked)}
	if g.now == nil {
		g.now = time.Now
	}
	g.st.init()
	base, err := detect.Builtin()
	if err != nil {
		return nil, fmt.Errorf("built-in rules: %w", err)
	}
	g.base = base
	rs := base
	if opts.RulesDir != "" {
		over, err := detect.Load(os.DirFS(opts.RulesDir), ".")
		if err != nil {
			return nil, fmt.Errorf("rules %s: %w", opts.RulesDir, err)
		}
		rs = base.With(over)
	}
	e, err := detect.New(rs, g.engineOptions())
	if err != nil {
		return nil, fmt.Errorf("compile rules: %w", err)
	}
	g.eng.Store(e)
	if opts.Response != ResponseOff {
		g.resp = respond.New(respond.Options{DryRun: opts.Response == ResponseDryRun, QuarantineDir: opts.QuarantineDir, Now: g.now})
	}
	g.mntNS = ownMountNS()
	if opts.AlertLog != "" {
		log, err := NewFileSink(opts.AlertLog, opts.AlertLogMaxBytes, opts.AlertLogKeep)
		if err != nil {
			return nil, err
		}
		g.sinks = append(g.sinks, log)
		g.owned = append(g.owned, log)
	}
	g.sinks = append(g.sinks, opts.Sinks...)
	return g, nil
}

func (g *Guard) engineOptions() *detect.Options { return &detect.Options{Now: g.now} }

// ownMountNS is the inode of the guard's mount namespace (0 if unknown).
func ownMountNS() uint32 { return mountNSOf("self") }

// mountNSOf is the inode of the mount namespace of /proc/<pid> (0 if
// unknown).
func mountNSOf(pid string) uint32 {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+pid+"/ns/mnt", &st); err != nil {
		return 0
	}
	return uint32(st.Ino)
}

// Run reads the sensor's events until ctx ends (then it returns nil) or
// the sensor stops on its own (ErrSensorStopped). Each event is matched
// against the rules in force; each alert — once per rule, process and
// repeat window — gets its rule's action carried out according to the
// response mode, the record attached, and is written to every sink. With
// a RulesDir, the directory is watched and reloaded while Run runs; an
// edit that does not load keeps the rules in force (Stats counts it).
func (g *Guard) Run(ctx context.Context) error {
	if !g.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer g.running.Store(false)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	if g.opts.RulesDir != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.watch(ctx)
		}()
	}
	events := g.src.Events()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				if g.closed.Load() {
					return nil
				}
				return ErrSensorStopped
			}
			g.handle(&ev)
		}
	}
}

// watch reloads RulesDir on change until ctx ends.
func (g *Guard) watch(ctx context.Context) {
	err := detect.Watch(ctx, g.opts.RulesDir, func(e *detect.Engine, err error) {
		if err != nil {
			// The engine passed with an error may be the base alone (when
			// the directory breaks before the first load): keep ours.
			g.st.reloadFailed(err)
			return
		}
		g.deliver(e)
		g.eng.Store(e)
		g.st.reloads.Add(1)
	}, &detect.WatchOptions{Base: g.base, Engine: g.engineOptions()})
	if err != nil {
		g.st.reloadFailed(err)
	}
}

// handle judges one event. It is counted once judged (alerts counted and
// written), so a count that moved means the event's effects are visible.
func (g *Guard) handle(ev *sensor.Event) {
	defer g.st.events.Add(1)
	alerts := g.eng.Load().Match(ev)
	if len(alerts) == 0 {
		return
	}
	now := g.now()
	for i := range alerts {
		a := &alerts[i]
		k := limitKey{rule: a.RuleID, pid: a.Event.Process.PID, start: a.Event.Process.StartTime}
		if !g.lim.allow(k, now) {
			g.st.count(&g.st.suppressed, a.RuleID)
			continue
		}
		g.st.count(&g.st.alerts, a.RuleID)
		out := &Alert{Alert: *a, Response: g.act(a)}
		for _, s := range g.sinks {
			if err := s.Write(out); err != nil {
				g.st.sinkFailed(err)
			}
		}
	}
}

// Mode is the sensor's mode: "ebpf" or "degraded: <why>".
func (g *Guard) Mode() string { return g.src.Mode() }

// Rules returns the rules in force, sorted by id.
func (g *Guard) Rules() []*detect.Rule { return g.eng.Load().Rules() }

// Close stops the sensor (Run then returns nil) and closes the alert log.
// The caller's Sinks are left open.
func (g *Guard) Close() error {
	g.once.Do(func() {
		g.closed.Store(true)
		var errs []error
		if g.src != nil {
			errs = append(errs, g.src.Close())
		}
		errs = append(errs, g.closeSinks())
		g.err = errors.Join(errs...)
	})
	return g.err
}

func (g *Guard) closeSinks() error {
	var errs []error
	for _, c := range g.owned {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

package main

import (
	"context"
	"fmt"
	"github.com/vigil-sec/vigil/bench/internal/procstat"
	"io"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/agentpb"
	"google.golang.org/protobuf/proto"
)

// config is agentsim run's flags.
type config struct {
	label      string
	agentAddr  string
	serverName string
	apiURL     string
	adminUser  string
	adminPass  string
	caPin      string

	agents             int
	enrollConcurrency  int
	connectConcurrency int
	snapConcurrency    int
	heartbeat          time.Duration // 0: the server's
	deltaEvery         time.Duration // 0: the server's inventory interval
	spreadHeartbeats   bool
	eventsRate         float64
	eventsBatch        int
	window             int
	warmup, duration   time.Duration
	setupTimeout       time.Duration

	queryRate    float64
	queryClients int

	serverPID int
	watchUID  int // also measure this user's processes (PostgreSQL); -1: none
	out       string
	shape     fleetShape
}

// sim is one run of the simulator.
type sim struct {
	cfg    config
	log    io.Writer
	pkgs   *pkgCache
	agents []*simAgent

	snapSem         chan struct{}
	serverInventory atomic.Int64
	deltasOn        atomic.Bool
	measuring       atomic.Bool

	connected     atomic.Int64
	reconnects    atomic.Int64
	renumbered    atomic.Int64
	resent        atomic.Int64
	sent          atomic.Int64
	heartbeats    atomic.Int64
	hbWindow      atomic.Int64
	deltasSkipped atomic.Int64
	snapAcked     atomic.Int64
	snapPackages  atomic.Int64
	snapItems     atomic.Int64
	snapAssets    atomic.Int64
	snapBytes     atomic.Int64

	// Window counters.
	eventsOffered atomic.Int64
	eventsShed    atomic.Int64
	eventsAcked   atomic.Int64 // acknowledged inside the window
	deltasAcked   atomic.Int64
	eventsTL      timeline

	enrollLat, connectLat, snapLat, deltaLat, eventsLat, hbSendLat latencies
	errs                                                           errorLog
}

func (s *sim) logf(format string, args ...any) {
	fmt.Fprintf(s.log, "agentsim[%s] %s "+format+"\n", append([]any{s.cfg.label, time.Now().Format("15:04:05")}, args...)...)
}

func (s *sim) deltaEvery() time.Duration {
	if s.cfg.deltaEvery > 0 {
		return s.cfg.deltaEvery
	}
	if d := time.Duration(s.serverInventory.Load()); d > 0 {
		return d
	}
	return 5 * time.Minute
}

func (s *sim) noteSnapshot(inv *agentpb.Inventory) {
	var pk, it int
	for _, r := range inv.GetAssets() {
		pk += len(r.GetPackages())
		it += len(r.GetItems())
	}
	s.snapPackages.Add(int64(pk))
	s.snapItems.Add(int64(it))
	s.snapAssets.Add(int64(len(inv.GetAssets())))
	s.snapBytes.Add(int64(proto.Size(inv)))
}

// noteAck accounts for one acknowledged message.
func (s *sim) noteAck(a *simAgent, p *pending, now time.Time, welcome bool) {
	lat := now.Sub(p.sent)
	in := s.measuring.Load()
	switch p.kind {
	case kindSnapshot:
		if a.snap.CompareAndSwap(snapSent, snapAcked) {
			s.snapAcked.Add(1)
			<-s.snapSem
		}
		if !welcome {
			s.snapLat.add(lat)
		}
	case kindDelta:
		if in {
			s.deltasAcked.Add(1)
			if !welcome {
				s.deltaLat.add(lat)
			}
		}
	case kindEvents:
		if in {
			s.eventsAcked.Add(int64(p.events))
			s.eventsTL.add(now, int64(p.events))
			if !welcome {
				s.eventsLat.add(lat)
			}
		}
	}
}

// Result is what one run measured; agentsim report turns results into
// BACKBONE.md.
type Result struct {
	Label   string    `json:"label"`
	Store   string    `json:"store"`
	Started time.Time `json:"started"`
	Config  struct {
		Agents            int     `json:"agents"`
		HeartbeatSeconds  float64 `json:"heartbeat_s"`
		DeltaSeconds      float64 `json:"delta_s"`
		EventsRate        float64 `json:"events_rate"`
		EventsBatch       int     `json:"events_batch"`
		EventBytes        int     `json:"event_bytes"`
		Window            int     `json:"window"`
		Packages          [2]int  `json:"packages"`
		Processes         int     `json:"processes"`
		Containers        int     `json:"containers"`
		Images            int     `json:"images"`
		WarmupSeconds     float64 `json:"warmup_s"`
		DurationSeconds   float64 `json:"duration_s"`
		SnapshotParallel  int     `json:"snapshot_parallel"`
		EnrollConcurrency int     `json:"enroll_concurrency"`
	} `json:"config"`
	Enroll struct {
		OK      int     `json:"ok"`
		Failed  int     `json:"failed"`
		Seconds float64 `json:"seconds"`
		Latency Summary `json:"latency"`
	} `json:"enroll"`
	Connect struct {
		Connected int     `json:"connected"`
		Seconds   float64 `json:"seconds"`
		Latency   Summary `json:"latency"`
	} `json:"connect"`
	Snapshot struct {
		Acked    int64   `json:"acked"`
		Seconds  float64 `json:"seconds"`
		Packages int64   `json:"packages"`
		Items    int64   `json:"items"`
		Assets   int64   `json:"assets"`
		Bytes    int64   `json:"bytes"`
		Latency  Summary `json:"latency"`
	} `json:"snapshot"`
	Window struct {
		Seconds          float64   `json:"seconds"`
		ConnectedMin     int64     `json:"connected_min"`
		ConnectedEnd     int64     `json:"connected_end"`
		Heartbeats       int64     `json:"heartbeats"`
		HeartbeatSend    Summary   `json:"heartbeat_send"`
		DeltasAcked      int64     `json:"deltas_acked"`
		DeltasSkipped    int64     `json:"deltas_skipped"`
		DeltaLatency     Summary   `json:"delta_latency"`
		EventsOffered    int64     `json:"events_offered"`
		EventsShed       int64     `json:"events_shed"`
		EventsAcked      int64     `json:"events_acked"`
		EventsPerSecond  float64   `json:"events_per_s"`
		EventsPerSec10s  []float64 `json:"events_per_s_10s"`
		EventsLatency    Summary   `json:"events_latency"`
		Reconnects       int64     `json:"reconnects"`
		SilentAgents     int       `json:"silent_agents"`
		SilentError      string    `json:"silent_error,omitempty"`
		AssetsInStore    int       `json:"assets_in_store"`
		AssetsCountError string    `json:"assets_count_error,omitempty"`
	} `json:"window"`
	Errors        map[string]int    `json:"errors"`
	ErrorExamples map[string]string `json:"error_examples"`
	Server        struct {
		PID             int     `json:"pid"`
		CPUSetupSeconds float64 `json:"cpu_setup_s"`
		CPUWindowPct    float64 `json:"cpu_window_pct"`
		RSSPeakKiB      int64   `json:"rss_peak_kib"`
		RSSEndKiB       int64   `json:"rss_end_kib"`
		RSSWindowMaxKiB int64   `json:"rss_window_max_kib"`
	} `json:"server"`
	Postgres *struct {
		CPUWindowPct float64 `json:"cpu_window_pct"`
		RSSSumKiB    int64   `json:"rss_sum_kib"`
	} `json:"postgres,omitempty"`
	Sim struct {
		CPUWindowPct float64 `json:"cpu_window_pct"`
		RSSPeakKiB   int64   `json:"rss_peak_kib"`
	} `json:"sim"`
	MachineBusyWindowPct float64      `json:"machine_busy_window_pct"` // of all CPUs
	Query                *QueryResult `json:"query,omitempty"`
	QueryError           string       `json:"query_error,omitempty"`
}

// run drives the whole benchmark.
func (s *sim) run(ctx context.Context) (*Result, error) {
	c := s.cfg
	res := &Result{Label: c.label, Started: time.Now().UTC()}
	rc := &res.Config
	rc.Agents, rc.EventsRate, rc.EventsBatch, rc.Window = c.agents, c.eventsRate, c.eventsBatch, c.window
	rc.EventBytes, rc.Packages, rc.Processes = c.shape.eventBytes, [2]int{c.shape.minPkgs, c.shape.maxPkgs}, c.shape.procs
	rc.Containers, rc.Images = c.shape.containers, c.shape.images
	rc.WarmupSeconds, rc.DurationSeconds = c.warmup.Seconds(), c.duration.Seconds()
	rc.SnapshotParallel, rc.EnrollConcurrency = c.snapConcurrency, c.enrollConcurrency
	serverCPU := startCPU(c.serverPID)

	api := newAPIClient(c.apiURL, c.queryClients+4)
	if err := api.waitHealthy(ctx, time.Minute); err != nil {
		return nil, err
	}
	if err := api.login(ctx, c.adminUser, c.adminPass); err != nil {
		return nil, err
	}
	token, err := api.enrollToken(ctx, c.agents+10)
	if err != nil {
		return nil, err
	}

	// 1. Enrollment.
	s.logf("enrolling %d agents (%d at a time)", c.agents, c.enrollConcurrency)
	s.agents = make([]*simAgent, c.agents)
	for i := range s.agents {
		s.agents[i] = newSimAgent(s, i)
	}
	t0 := time.Now()
	var failed atomic.Int64
	work := make(chan *simAgent)
	var wg sync.WaitGroup
	for range c.enrollConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range work {
				t := time.Now()
				var err error
				for try := 0; try < 3; try++ {
					if err = a.enroll(ctx, token); err == nil || ctx.Err() != nil {
						break
					}
					time.Sleep(time.Second)
				}
				if err != nil {
					failed.Add(1)
					s.errs.add("enroll", err)
					continue
				}
				s.enrollLat.add(time.Since(t))
			}
		}()
	}
	for _, a := range s.agents {
		work <- a
	}
	close(work)
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res.Enroll.Seconds = time.Since(t0).Seconds()
	res.Enroll.Failed = int(failed.Load())
	res.Enroll.OK = c.agents - res.Enroll.Failed
	res.Enroll.Latency = s.enrollLat.summary()
	s.logf("enrolled %d in %.1f s (p99 %.0f ms), %d failed", res.Enroll.OK, res.Enroll.Seconds, res.Enroll.Latency.P99, res.Enroll.Failed)

	// 2. Connection ramp; snapshots flow as agents connect.
	runCtx, stopAgents := context.WithCancel(ctx)
	defer stopAgents()
	ramp := make(chan struct{}, c.connectConcurrency)
	var agentsWG sync.WaitGroup
	t1 := time.Now()
	enrolled := 0
	for _, a := range s.agents {
		if a.id == "" {
			continue
		}
		enrolled++
		agentsWG.Add(1)
		go func() { defer agentsWG.Done(); a.run(runCtx, ramp) }()
	}
	defer agentsWG.Wait()
	defer stopAgents()

	// Peak RSS sampling of the server and the simulator.
	var simPeak atomic.Int64
	var serverWindowMax atomic.Int64
	sampler, stopSampler := context.WithCancel(ctx)
	defer stopSampler()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-sampler.Done():
				return
			case <-t.C:
			}
			if r, _, err := procstat.Mem(os.Getpid()); err == nil && r > simPeak.Load() {
				simPeak.Store(r)
			}
			if s.measuring.Load() && c.serverPID > 0 {
				if r, _, err := procstat.Mem(c.serverPID); err == nil && r > serverWindowMax.Load() {
					serverWindowMax.Store(r)
				}
			}
		}
	}()

	deadline := time.Now().Add(c.setupTimeout)
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	waitFor := func(what string, done func() bool) bool {
		for !done() {
			if time.Now().After(deadline) {
				s.logf("gave up waiting for %s after the setup timeout", what)
				return false
			}
			select {
			case <-ctx.Done():
				return false
			case <-progress.C:
				s.logf("%s: connected %d/%d, snapshots acknowledged %d (%d packages)", what, s.connected.Load(), enrolled, s.snapAcked.Load(), s.snapPackages.Load())
			case <-time.After(100 * time.Millisecond):
			}
		}
		return true
	}
	waitFor("connecting", func() bool { return s.connected.Load() >= int64(enrolled) })
	res.Connect.Seconds = time.Since(t1).Seconds()
	res.Connect.Connected = int(s.connected.Load())
	res.Connect.Latency = s.connectLat.summary()
	s.logf("%d connected in %.1f s (p99 %.0f ms)", res.Connect.Connected, res.Connect.Seconds, res.Connect.Latency.P99)
	waitFor("snapshots", func() bool { return s.snapAcked.Load() >= int64(enrolled) })
	res.Snapshot.Seconds = time.Since(t1).Seconds()
	res.Snapshot.Acked = s.snapAcked.Load()
	res.Snapshot.Packages, res.Snapshot.Items = s.snapPackages.Load(), s.snapItems.Load()
	res.Snapshot.Assets, res.Snapshot.Bytes = s.snapAssets.Load(), s.snapBytes.Load()
	res.Snapshot.Latency = s.snapLat.summary()
	s.logf("%d snapshots acknowledged %.1f s after the first connection (%d packages, %d items, %.0f MiB)",
		res.Snapshot.Acked, res.Snapshot.Seconds, res.Snapshot.Packages, res.Snapshot.Items, float64(res.Snapshot.Bytes)/(1<<20))
	res.Server.CPUSetupSeconds, _ = serverCPU.stop()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	// 3. Steady state: heartbeats (running since each connection), deltas,
	// events; a warm-up, then the measured window with the query load.
	s.deltasOn.Store(true)
	rc.DeltaSeconds = s.deltaEvery().Seconds()
	rc.HeartbeatSeconds = time.Duration(s.agents[0].hbEvery.Load()).Seconds()
	for _, a := range s.agents {
		select {
		case a.ackSig <- struct{}{}: // arm the delta timers
		default:
		}
	}
	evCtx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	go s.dispatch(evCtx)
	s.logf("steady state: warm-up %s, then measuring for %s", c.warmup, c.duration)
	sleepCtx(ctx, c.warmup)

	secs := int(c.duration / time.Second)
	s.eventsTL.begin(time.Now(), secs)
	s.eventsOffered.Store(0)
	s.eventsShed.Store(0)
	srvCPU := startCPU(c.serverPID)
	simCPU := startCPU(os.Getpid())
	busy0, wall0 := machineBusy(), time.Now()
	var pg0 float64
	if c.watchUID >= 0 {
		pg0 = uidCPU(c.watchUID)
	}
	s.measuring.Store(true)
	wstart := time.Now()
	minConnected := s.connected.Load()
	qctx, stopQuery := context.WithTimeout(ctx, c.duration)
	defer stopQuery()
	qdone := make(chan struct{})
	if c.queryRate > 0 {
		go func() {
			defer close(qdone)
			q := newQueryLoad(api, c.queryRate, c.queryClients, c.shape.seed)
			qr, err := q.run(qctx)
			if err != nil {
				res.QueryError = err.Error()
				return
			}
			res.Query = &qr
		}()
	} else {
		close(qdone)
	}
	tick := time.NewTicker(time.Second)
	for time.Since(wstart) < c.duration && ctx.Err() == nil {
		<-tick.C
		if n := s.connected.Load(); n < minConnected {
			minConnected = n
		}
		if el := time.Since(wstart); int(el.Seconds())%30 == 0 {
			s.logf("window %3.0f s: connected %d, events acked %d (%.0f/s), deltas %d, heartbeats %d",
				el.Seconds(), s.connected.Load(), s.eventsAcked.Load(), float64(s.eventsAcked.Load())/el.Seconds(), s.deltasAcked.Load(), s.hbWindow.Load())
		}
	}
	tick.Stop()
	s.measuring.Store(false)
	<-qdone
	w := &res.Window
	w.Seconds = time.Since(wstart).Seconds()
	_, res.Server.CPUWindowPct = srvCPU.stop()
	_, res.Sim.CPUWindowPct = simCPU.stop()
	res.MachineBusyWindowPct = 100 * (machineBusy() - busy0) / time.Since(wall0).Seconds() / float64(numCPU())
	if c.watchUID >= 0 {
		res.Postgres = &struct {
			CPUWindowPct float64 `json:"cpu_window_pct"`
			RSSSumKiB    int64   `json:"rss_sum_kib"`
		}{100 * (uidCPU(c.watchUID) - pg0) / w.Seconds, uidRSS(c.watchUID)}
	}
	stopEvents()
	w.ConnectedMin, w.ConnectedEnd = minConnected, s.connected.Load()
	w.Heartbeats, w.HeartbeatSend = s.hbWindow.Load(), s.hbSendLat.summary()
	w.DeltasAcked, w.DeltasSkipped, w.DeltaLatency = s.deltasAcked.Load(), s.deltasSkipped.Load(), s.deltaLat.summary()
	w.EventsOffered, w.EventsShed, w.EventsAcked = s.eventsOffered.Load(), s.eventsShed.Load(), s.eventsAcked.Load()
	w.EventsPerSecond = float64(w.EventsAcked) / w.Seconds
	w.EventsPerSec10s = s.eventsTL.buckets(10)
	w.EventsLatency = s.eventsLat.summary()
	w.Reconnects = s.reconnects.Load()
	s.logf("window done: %.0f events/s acknowledged (offered %d, shed %d), connected min %d", w.EventsPerSecond, w.EventsOffered, w.EventsShed, w.ConnectedMin)

	// Facts from the server: agents it considers silent, assets it holds.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if n, err := api.count(cctx, "/api/v1/agents", url.Values{"silent": {"true"}}); err != nil {
		w.SilentError = err.Error()
	} else {
		w.SilentAgents = n
	}
	if n, err := api.count(cctx, "/api/v1/assets", url.Values{}); err != nil {
		w.AssetsCountError = err.Error()
	} else {
		w.AssetsInStore = n
	}
	if c.serverPID > 0 {
		res.Server.PID = c.serverPID
		res.Server.RSSEndKiB, res.Server.RSSPeakKiB, _ = procstat.Mem(c.serverPID)
		res.Server.RSSWindowMaxKiB = serverWindowMax.Load()
	}
	res.Sim.RSSPeakKiB = simPeak.Load()
	res.Errors, res.ErrorExamples = s.errs.snapshot()
	s.logf("done: %d silent agents, %d assets in the store", w.SilentAgents, w.AssetsInStore)
	return res, nil
}

// dispatch hands event batches to connected agents round-robin at the
// configured aggregate rate. A batch no agent can take (every one tried
// has its window of unacknowledged messages full) is shed and counted:
// the server is not keeping up.
func (s *sim) dispatch(ctx context.Context) {
	c := s.cfg
	if c.eventsRate <= 0 || len(s.agents) == 0 {
		return
	}
	per := float64(c.eventsBatch) / c.eventsRate // seconds per batch
	start := time.Now()
	sent := 0
	rr := 0
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		owed := int(time.Since(start).Seconds()/per) - sent
		for ; owed > 0; owed-- {
			sent++
			ok := false
			for try := 0; try < 64 && !ok; try++ {
				a := s.agents[rr%len(s.agents)]
				rr++
				if !a.connected.Load() || a.snap.Load() != snapAcked {
					continue
				}
				select {
				case a.events <- c.eventsBatch:
					ok = true
				default:
				}
			}
			if ok {
				s.eventsOffered.Add(int64(c.eventsBatch))
			} else {
				s.eventsShed.Add(int64(c.eventsBatch))
			}
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
